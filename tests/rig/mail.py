"""The mail servers (lazy): an SMTP sink, Dovecot, the outgoing-limit policy service, the
DKIM signer, the newsletter receiver and Postfix.

Dovecot and Postfix run from the configuration the project ships in deploy/, with its
@@PLACEHOLDERS@@ filled in, and read the test database through the mail_* views. The
tests that use them need committed rows (transactional_db), and must stop them before
pytest-django drops the test database (servers still connected would block the DROP):
see tests/integration/test_mail_servers.py."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar, NamedTuple

from .core import (
    DEPLOY_DIR,
    DeployConfig,
    Rig,
    RigError,
    Server,
    _read_line,
    database_url_for_tests,
    ensure_os_user,
    find_binary,
    free_port,
    log_tail,
    register,
)


class MailDatabase:
    """How the mail servers reach the test database: the panel's own connection settings,
    read when a server starts (pytest-django has then switched NAME to `test_...`)."""

    #: a role that may only read the views, as deploy/README.md recommends for production;
    #: used when the rig runs PostgreSQL itself (a superuser creates it)
    role = "panel_mail"
    role_password = "rig-mail-password"
    views = ("mail_domains", "mail_mailboxes", "mail_users", "mail_virtual_aliases",
             "mail_recipient_access", "mail_sieve_scripts", "mail_sender_logins")  # fmt: skip

    @classmethod
    def placeholders(cls, rig: Rig) -> dict[str, object]:
        """The @@PG...@@ values of deploy/, after checking that the views are there."""
        import psycopg
        from django.db import connections

        params = connections["default"].settings_dict
        if params["ENGINE"] != "django.db.backends.postgresql":
            raise RigError("test rig: the mail servers need the rig's PostgreSQL database.")
        conninfo = {
            "host": params["HOST"] or "127.0.0.1",
            "port": params["PORT"] or 5432,
            "dbname": params["NAME"],
            "user": params["USER"],
            "password": params["PASSWORD"] or "",
        }
        with psycopg.connect(**conninfo, autocommit=True, connect_timeout=5) as conn:
            missing = [
                view
                for view in cls.views
                if conn.execute("SELECT to_regclass(%s)", [view]).fetchone()[0] is None
            ]
            if missing:
                raise RigError(
                    f"test rig: database {conninfo['dbname']!r} has no {', '.join(missing)}. "
                    "Start the mail servers after the test database exists: from a fixture "
                    "that depends on `django_db_setup` (or `transactional_db`)."
                )
            if not rig.require("postgresql").external:
                conninfo["user"], conninfo["password"] = cls.role, cls.role_password
                cls._create_reader_role(conn)
        return {
            "PGHOST": conninfo["host"],
            "PGPORT": conninfo["port"],
            "PGDATABASE": conninfo["dbname"],
            "PGUSER": conninfo["user"],
            "PGPASSWORD": conninfo["password"],
        }

    @classmethod
    def _create_reader_role(cls, conn) -> None:
        """Grant only SELECT on the views: this proves that the servers need nothing else
        (a view reads its tables with its owner's rights)."""
        from psycopg import sql

        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [cls.role]).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(cls.role), sql.Literal(cls.role_password)
            )
        )
        conn.execute(
            sql.SQL("GRANT SELECT ON {} TO {}").format(
                sql.SQL(", ").join(map(sql.Identifier, cls.views)), sql.Identifier(cls.role)
            )
        )


class SinkMessage(NamedTuple):
    """A message the SMTP sink received."""

    rcpt_tos: tuple[str, ...]
    data: bytes
    mail_from: str


@register
class SmtpSink(Server):
    """An in-process SMTP server (aiosmtpd) that keeps every message it receives in
    `messages`; Postfix relays all mail for outside domains to it. It accepts every
    recipient, except those a test told it to refuse (`refuse`), as a remote server
    that does not know them (5xx) or cannot take mail now (4xx)."""

    name = "smtp_sink"
    lazy = True

    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.messages: list[SinkMessage] = []
        self.port = 0
        self._controller = None
        self._refusals: dict[str, str] = {}

    def start(self) -> None:
        import logging

        try:
            import aiosmtpd
            from aiosmtpd.controller import Controller
        except ImportError as exc:
            raise RigError(
                "test rig: aiosmtpd is missing; install the dev extras "
                "(`pip install -e '.[dev]'`, which `make venv` does)."
            ) from exc

        messages, refusals = self.messages, self._refusals

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
                refusal = refusals.get(address.lower())
                if refusal:
                    return refusal
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd)
                data = envelope.original_content or envelope.content
                messages.append(SinkMessage(tuple(envelope.rcpt_tos), data, envelope.mail_from))
                return "250 OK: kept by the test sink"

        # aiosmtpd logs every connection at INFO; keep failing tests' output readable.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()  # returns once the server answers
        self.version = aiosmtpd.__version__
        self.url = f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def refuse(self, address: str, reply: str) -> None:
        """Answer `reply` (e.g. "550 5.1.1 No such user", "450 4.2.0 Try again later") to
        RCPT TO `address` from now on, until `accept_all()`."""
        if not re.fullmatch(r"[45]\d\d .+", reply):
            raise ValueError(f"not an SMTP refusal: {reply!r}")
        self._refusals[address.lower()] = reply

    def accept_all(self) -> None:
        """Accept every recipient again, as the sink does by default."""
        self._refusals.clear()

    def received(self, needle: str | bytes) -> list[SinkMessage]:
        """The messages whose data contains `needle` (e.g. a unique subject)."""
        needle = needle.encode() if isinstance(needle, str) else needle
        return [message for message in list(self.messages) if needle in message.data]


@register
class DovecotServer(Server):
    """Dovecot 2.3 (IMAP + LMTP) from deploy/dovecot, reading the test database.

    Mail is stored under the panel's MAIL_STORE_ROOT (inside the rig directory), owned by
    the `vmail` account, which is created if missing. Runs as root: Dovecot switches each
    mail process to vmail.
    """

    name = "dovecot"
    lazy = True
    # Sieve sends the responders' replies to the sink (Postfix starts after Dovecot).
    requires = ("smtp_sink",)
    mail_user = "vmail"

    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.imap_port = 0
        self.lmtp_port = 0
        self.mail_root = Path()
        self.auth_socket = Path()

    def start(self) -> None:
        from django.conf import settings

        binary = find_binary("dovecot", extra_globs=("/usr/sbin/dovecot",), package="dovecot-imapd")
        self._check_modules(binary)
        if os.geteuid() != 0:
            raise RigError("test rig: dovecot must start as root (it switches users per mailbox).")
        account = ensure_os_user(self.mail_user)

        self.mail_root = Path(settings.MAIL_STORE_ROOT)
        if not self.mail_root.resolve().is_relative_to(self.rig.dir.resolve()):
            raise RigError(
                f"test rig: MAIL_STORE_ROOT ({self.mail_root}) is outside the rig directory; "
                "unset PANEL_MAIL_STORE_ROOT for the tests (the rig gives it to vmail)."
            )
        self.dir.mkdir()
        self.mail_root.mkdir(parents=True, exist_ok=True)
        os.chown(self.mail_root, account.pw_uid, account.pw_gid)
        self.mail_root.chmod(0o770)

        self.imap_port, self.lmtp_port = free_port(), free_port()
        self.auth_socket = self.dir / "postfix-auth"
        panel_dir = self.dir / "panel"
        panel_dir.mkdir()
        values = {
            **MailDatabase.placeholders(self.rig),
            "CONFIG_DIR": panel_dir,
            "LISTEN": "127.0.0.1",
            "IMAP_PORT": self.imap_port,
            "LMTP_HOST": "127.0.0.1",
            "LMTP_PORT": self.lmtp_port,
            "MAIL_ROOT": self.mail_root,
            "VMAIL_UID": account.pw_uid,
            "VMAIL_GID": account.pw_gid,
            "VMAIL_USER": self.mail_user,
            "SUBMISSION_HOST": f"127.0.0.1:{self.rig.require('smtp_sink').port}",
            "POSTFIX_AUTH_SOCKET": self.auth_socket,
        }
        for source in ("dovecot.conf", "dovecot-sql.conf.ext", "dovecot-dict-sieve.conf.ext"):
            DeployConfig.fill(DEPLOY_DIR / "dovecot" / source, panel_dir / source, values)
        # The SQL files hold the database password: auth reads its file as root, the dict
        # process as Dovecot's internal account (deploy/README.md says the same).
        (panel_dir / "dovecot-sql.conf.ext").chmod(0o600)
        internal = ensure_os_user("dovecot")
        dict_conf = panel_dir / "dovecot-dict-sieve.conf.ext"
        os.chown(dict_conf, 0, internal.pw_gid if internal else 0)
        dict_conf.chmod(0o640)

        # Test-only settings around the shipped file: private directories, plaintext
        # logins on loopback, no delay after a failed login, no IMAPS (no certificate).
        conf = self.dir / "dovecot.conf"
        conf.write_text(
            f"base_dir = {self.dir / 'run'}\n"
            f"state_dir = {self.dir / 'state'}\n"
            f"log_path = {self.log}\n"
            "ssl = no\n"
            "disable_plaintext_auth = no\n"
            "auth_failure_delay = 0\n"
            "auth_verbose = yes\n"
            f"!include {panel_dir / 'dovecot.conf'}\n"
            "service imap-login {\n"
            "  inet_listener imaps {\n"
            "    port = 0\n"
            "  }\n"
            "}\n"
            # No growing penalty (up to 15 s) after repeated failures from one IP: the tests
            # fail logins on purpose. Closing anvil's socket to the auth process turns it
            # off (Dovecot 2.3 applies it even to login_trusted_networks).
            "service anvil {\n"
            "  unix_listener anvil-auth-penalty {\n"
            "    mode = 0\n"
            "  }\n"
            "}\n"
        )
        self.spawn([binary, "-F", "-c", conf])
        self.version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True
        ).stdout.split()[0]
        self.url = f"imap://127.0.0.1:{self.imap_port}"
        self.wait_until_ready(self._ready)

    def _check_modules(self, binary: Path) -> None:
        """The SQL driver and the LMTP server come in packages of their own."""
        doveconf = shutil.which("doveconf") or binary.parent / "doveconf"
        result = subprocess.run([doveconf, "-h", "mail_plugin_dir"], capture_output=True, text=True)
        modules = Path(result.stdout.strip() or "/usr/lib/dovecot/modules")
        for path, package in (
            (modules / "auth" / "libdriver_pgsql.so", "dovecot-pgsql"),
            (modules.parent / "lmtp", "dovecot-lmtpd"),
            (modules.parent / "imap", "dovecot-imapd"),
            (modules / "lib90_sieve_plugin.so", "dovecot-sieve"),
            (modules / "dict" / "libdriver_pgsql.so", "dovecot-pgsql"),
        ):
            if not path.exists():
                raise RigError(
                    f"test rig: {path} is missing; install it with `apt-get install -y "
                    f"{package}` (or run .ci/run, which installs what is missing)."
                )

    def _ready(self) -> None:
        _read_line(self.imap_port, b"* OK")
        _read_line(self.lmtp_port, b"220 ")


class PanelCommandServer(Server):
    """A long-running command of the panel (`manage.py <command>`) as a process of its
    own on a free loopback port, with the test database and the rig's Redis. Start it
    after the test database exists (Postfix requires it); `restart()` starts it again on
    the same port (after a test stopped it)."""

    lazy = True
    #: the management command, and the variable that gives it its port
    command: ClassVar[str] = ""
    port_env: ClassVar[str] = ""
    #: test-only settings of the command
    extra_env: ClassVar[dict[str, str]] = {}

    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.port = 0

    def start(self) -> None:
        self.dir.mkdir(exist_ok=True)
        self.port = self.port or free_port()
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="panel.settings.test",
            DATABASE_URL=database_url_for_tests(),
            **{self.port_env: str(self.port)},
            **self.extra_env,
        )
        manage = DEPLOY_DIR.parent / "manage.py"
        self.spawn([sys.executable, manage, self.command], env=env)
        self.version = "panel"
        self.url = f"{self.command}://127.0.0.1:{self.port}"
        self.wait_until_ready(lambda: socket.create_connection(("127.0.0.1", self.port), 1).close())

    def restart(self) -> None:
        self.stop()
        self.start()


@register
class PolicyServer(PanelCommandServer):
    """The panel's outgoing-limit policy service (`manage.py mail_policyd`).
    `reload()` sends it SIGHUP and waits until it has dropped its cached limits and
    counters."""

    name = "mail_policyd"
    command = "mail_policyd"
    port_env = "PANEL_MAIL_POLICY_PORT"

    def reload(self) -> None:
        before = self.log.read_text().count("will be read again")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.log.read_text().count("will be read again") == before:
            if time.monotonic() > deadline:
                raise RigError(f"test rig: mail_policyd did not reload:\n{log_tail(self.log)}")
            time.sleep(0.02)


@register
class DkimSignerServer(PanelCommandServer):
    """The panel's DKIM signer (`manage.py mail_dkim_milter`), the milter of Postfix's
    submission service. It keeps no lookup for long here, so a key a test has just
    activated signs the next message."""

    name = "mail_dkim"
    command = "mail_dkim_milter"
    port_env = "PANEL_MAIL_DKIM_MILTER_PORT"
    extra_env = {"PANEL_MAIL_DKIM_CACHE": "0"}


@register
class NewsletterInboundServer(PanelCommandServer):
    """The panel's receiver of campaign bounces, complaints and unsubscribe emails
    (`manage.py newsletter_inbound`), to which Postfix hands all mail for the bounce
    domain. The command gets the bounce domain of the tests' settings, so that both sign
    and read the same addresses."""

    name = "newsletter_inbound"
    command = "newsletter_inbound"
    port_env = "PANEL_NEWSLETTER_INBOUND_PORT"

    @property
    def extra_env(self) -> dict[str, str]:  # type: ignore[override]
        from django.conf import settings

        return {"PANEL_NEWSLETTER_BOUNCE_DOMAIN": settings.NEWSLETTER_BOUNCE_DOMAIN}


@register
class PostfixServer(Server):
    """Postfix 3.7 from deploy/postfix in its own config and queue directories.

    It listens for SMTP on a free loopback port, delivers the panel's mailboxes to the
    rig's Dovecot by LMTP, the newsletters' bounce domain to the panel's receiver, and
    relays everything else to the SMTP sink. A message refused with 4xx is given up (and
    bounced) after a few seconds instead of days.
    """

    name = "postfix"
    lazy = True
    requires = ("dovecot", "smtp_sink", "mail_policyd", "mail_dkim", "newsletter_inbound")

    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.port = 0
        self.submission_port = 0

    def start(self) -> None:
        from django.conf import settings

        postfix = find_binary("postfix", extra_globs=("/usr/sbin/postfix",), package="postfix")
        postconf = postfix.parent / "postconf"
        if os.geteuid() != 0:
            raise RigError("test rig: postfix must start as root.")
        # Every postconf reads the rig's own config directory (-c), never /etc/postfix:
        # a fresh machine whose Postfix was installed with "No configuration" has no
        # /etc/postfix/main.cf, and postconf without -c then fails (.ci/run tests that case).
        etc, spool, data = self.dir / "etc", self.dir / "spool", self.dir / "data"
        etc.mkdir(parents=True)
        (etc / "main.cf").write_text("")
        maps = self._query(postconf, etc, "-m").split()
        if "pgsql" not in maps:
            raise RigError(
                "test rig: Postfix has no pgsql lookup tables; install them with "
                "`apt-get install -y postfix-pgsql` (or run .ci/run)."
            )
        defaults = self._query(
            postconf, etc, "-dh", "daemon_directory", "meta_directory", "mail_version"
        ).split()
        daemon_dir, meta_dir, self.version = Path(defaults[0]), Path(defaults[1]), defaults[2]
        dovecot = self.rig.require("dovecot")
        sink = self.rig.require("smtp_sink")

        self._create_directories(meta_dir / "postfix-files", spool, data)

        self.port, self.submission_port = free_port(), free_port()
        values = {
            **MailDatabase.placeholders(self.rig),
            "LMTP_HOST": "127.0.0.1",
            "LMTP_PORT": dovecot.lmtp_port,
            "DOVECOT_AUTH_SOCKET": dovecot.auth_socket,
            "POLICY_ADDRESS": f"127.0.0.1:{self.rig.require('mail_policyd').port}",
            "DKIM_MILTER_ADDRESS": f"127.0.0.1:{self.rig.require('mail_dkim').port}",
            "SUBMISSION_LISTEN": f"127.0.0.1:{self.submission_port}",
            "NEWSLETTER_BOUNCE_DOMAIN": settings.NEWSLETTER_BOUNCE_DOMAIN,
            "NEWSLETTER_INBOUND_HOST": "127.0.0.1",
            "NEWSLETTER_INBOUND_PORT": self.rig.require("newsletter_inbound").port,
        }
        for source in sorted((DEPLOY_DIR / "postfix").glob("pgsql-*.cf")):
            DeployConfig.fill(source, etc / source.name, values)
        shipped = DeployConfig.fill(DEPLOY_DIR / "postfix" / "main.cf", etc / "panel.cf", values)

        # Test-only settings first, then the shipped fragment (which must not override them).
        (etc / "main.cf").write_text(
            "compatibility_level = 3.6\n"
            f"queue_directory = {spool}\n"
            f"data_directory = {data}\n"
            f"maillog_file = {self.log}\n"
            f"maillog_file_prefixes = {self.dir}\n"
            "myhostname = mx.rig.test\n"
            "mydestination =\n"
            "inet_interfaces = 127.0.0.1\n"
            "inet_protocols = ipv4\n"
            "mynetworks = 127.0.0.0/8\n"
            # everything that is not ours goes to the sink, without DNS
            f"relayhost = [127.0.0.1]:{sink.port}\n"
            "smtp_dns_support_level = disabled\n"
            "alias_maps =\n"
            "alias_database =\n"
            "local_recipient_maps =\n"
            "biff = no\n"
            # deliver at once: no delay when many messages arrive together
            "in_flow_delay = 0\n"
            # a recipient refused with 4xx is tried again every second or two and bounced
            # after 4 s (production: 5 days), so the bounce tests see real expiry DSNs
            "maximal_queue_lifetime = 4s\n"
            "bounce_queue_lifetime = 4s\n"
            "queue_run_delay = 1s\n"
            "minimal_backoff_time = 1s\n"
            "maximal_backoff_time = 2s\n"
            # the first RCPT to an address of the bounce domain waits for its probe
            "address_verify_poll_delay = 1s\n"
            "\n" + self._without_tls(shipped.read_text())
        )
        shipped.unlink()
        # Postfix's pristine master.cf, not the system's: that one may enable more listeners
        # (submission ...) whose ports a system Postfix already holds.
        proto = meta_dir / "master.cf.proto"
        master_cf, found = re.subn(
            r"^smtp(\s+)inet", f"127.0.0.1:{self.port}\\1inet", proto.read_text(), count=1,
            flags=re.M,
        )  # fmt: skip
        if not found:
            raise RigError(f"test rig: {proto} has no `smtp inet` service.")
        submission = DeployConfig.fill(DEPLOY_DIR / "postfix" / "master.cf", etc / "sub.cf", values)
        (etc / "master.cf").write_text(master_cf + "\n" + submission.read_text())
        submission.unlink()
        self._run([postconf, "-c", etc, "-F", "*/*/chroot = n"])
        # Postfix re-reads a configuration file every 0.3 s until it is over a second old
        # (so as not to load a half-written one): backdate ours rather than wait.
        past = time.time() - 60
        for path in etc.iterdir():
            os.utime(path, (past, past))

        # The master daemon itself, in the foreground: spawn() then stops it (and it stops
        # its children, being their process group leader), even if pytest is killed. Not
        # `postfix start`: its checks fork about 90 processes (2 s here) for an empty queue;
        # configuration errors still show in the log that a failed start prints.
        self.spawn([daemon_dir / "master", "-c", etc, "-d"])
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.wait_until_ready(lambda: _read_line(self.port, b"220 "))
        self.wait_until_ready(lambda: _read_line(self.submission_port, b"220 "))

    @staticmethod
    def _without_tls(main_cf: str) -> str:
        """There is no certificate here: submission logs in without TLS."""
        for name, shipped, here in (
            ("panel_submission_tls_security_level", "encrypt", "none"),
            ("panel_submission_tls_auth_only", "yes", "no"),
        ):
            main_cf, found = re.subn(rf"^{name} = {shipped}$", f"{name} = {here}", main_cf,
                                     flags=re.M)  # fmt: skip
            if not found:
                raise RigError(f"test rig: deploy/postfix/main.cf no longer sets {name}.")
        return main_cf

    @staticmethod
    def _create_directories(postfix_files: Path, spool: Path, data: Path) -> None:
        """The queue and data directories, with the owners and modes that Postfix's own
        installer (post-install create-missing) reads from its postfix-files list."""
        import grp

        roots = {"$queue_directory": spool, "$data_directory": data}
        names = {"$mail_owner": "postfix", "$setgid_group": "postdrop", "-": "root"}
        for line in postfix_files.read_text().splitlines():
            fields = line.split(":")
            if len(fields) < 5 or fields[1] != "d":
                continue
            root, _slash, child = fields[0].partition("/")
            if root not in roots:
                continue
            path = roots[root] / child
            path.mkdir(parents=True, exist_ok=True)
            user, group = (names.get(name, name) for name in fields[2:4])
            os.chown(path, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
            path.chmod(int(fields[4], 8))

    def _query(self, postconf: Path, etc: Path, *args: str) -> str:
        """What `postconf -c etc ARGS` prints; a RigError with its message if it fails."""
        result = subprocess.run(
            [str(postconf), "-c", str(etc), *args], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RigError(f"test rig: `postconf -c {etc} {' '.join(args)}` failed: "
                           f"{result.stderr.strip()}")  # fmt: skip
        return result.stdout

    def _run(self, argv: list) -> None:
        result = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
        if result.returncode != 0:
            raise RigError(
                f"test rig: `{' '.join(map(str, argv))}` failed:\n{result.stdout}"
                f"{result.stderr}\nLast lines of {self.log}:\n{log_tail(self.log)}"
            )
