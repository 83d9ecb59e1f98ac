"""The test rig: real servers for the test session, started from their system binaries.

Loaded as a pytest plugin (`addopts = "-p tests.rig"` in pyproject.toml). Before
pytest-django configures Django, it starts PostgreSQL and Redis on free loopback ports in
a private temp directory and exports their URLs (DATABASE_URL, REDIS_URL, ...), which the
settings read. At the end of the session (also on Ctrl-C, errors and interpreter exit) it
stops them and removes the directory.

Ordering: pytest-django sets Django up in its `pytest_load_initial_conftests` hook. Our
implementation of that hook is a *wrapper*; pluggy runs the part of every wrapper before
its `yield` ahead of all ordinary implementations, whatever the plugin registration order,
so the servers are up and the environment is exported before Django reads its settings.

Environment:
  PANEL_TEST_DATABASE_URL  use this PostgreSQL instead of starting one (the role must be
                           allowed to create the test_ database)
  PANEL_TEST_REDIS_URL     use this Redis instead of starting one
  PANEL_TEST_KEEP_RIG=1    keep the rig directory (data, server logs) after the session

Adding a server (Dovecot, Postfix, PowerDNS, Keystone, SMTP sink ...): subclass `Server`,
decorate it with `@register`, list its dependencies in `requires`, and set `lazy = True`
if only some tests need it; those call `rig.require("<name>")` (e.g. from a session
fixture) to start it on first use. Every started server is stopped in reverse order.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import ClassVar, NamedTuple

import pytest

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class RigError(pytest.UsageError):
    """A server of the rig cannot run. The session fails; it is never skipped."""


# -- helpers ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_binary(name: str, *, extra_globs: tuple[str, ...] = (), package: str) -> Path:
    """Locate a server binary on PATH, then in `extra_globs`; fail with an install hint."""
    found = shutil.which(name)
    if found:
        return Path(found)
    candidates = [Path(p) for pattern in extra_globs for p in glob.glob(pattern)]
    candidates = [p for p in candidates if os.access(p, os.X_OK)]
    if candidates:
        return max(candidates, key=_version_key)
    where = " or ".join(["PATH", *extra_globs])
    raise RigError(
        f"test rig: `{name}` not found on {where}. The tests need a real server; install it "
        f"with `apt-get install -y {package}` (or run .ci/run, which installs what is missing)."
    )


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(path)))


def _die_with_parent(sig: int) -> Callable[[], None]:
    """preexec_fn: the child gets `sig` if the test process dies (even by SIGKILL)."""

    def preexec() -> None:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(sig))  # PR_SET_PDEATHSIG

    return preexec


def system_tool(name: str) -> str:
    """Path of an admin tool (runuser, useradd), also when sbin is not on PATH."""
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/sbin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RigError(f"test rig: `{name}` not found (package util-linux / passwd).")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) or "(empty log)"


# -- servers ---------------------------------------------------------------------------

SERVERS: dict[str, type[Server]] = {}


def register(cls: type[Server]) -> type[Server]:
    """Add a server class to the rig, in start order."""
    SERVERS[cls.name] = cls
    return cls


class Server:
    """One real server of the rig.

    Subclasses set `name`, implement `start()` (blocking until the server answers) and
    `env()`, and usually use `spawn()` so that `stop()` needs no override.
    """

    name: ClassVar[str] = ""
    #: env var with the URL of an existing server to use instead of starting one
    external_env: ClassVar[str | None] = None
    #: names of servers that must run first
    requires: ClassVar[tuple[str, ...]] = ()
    #: started on demand by `rig.require(name)` rather than at session start
    lazy: ClassVar[bool] = False
    #: signal that stops the process (also sent if the test process dies)
    stop_signal: ClassVar[int] = signal.SIGTERM

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.dir = rig.dir / self.name
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / f"{self.name}.log"
        self.url = ""
        self.version = ""
        self.external = False

    # The interface every server implements.
    def start(self) -> None:
        raise NotImplementedError

    def use_existing(self, url: str) -> None:
        """Point at an already running server (from `external_env`)."""
        self.url = url
        self.external = True

    def env(self) -> dict[str, str]:
        """Environment variables exported to the settings and to child processes."""
        return {}

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def describe(self) -> str:
        origin = f"existing, from {self.external_env}" if self.external else "started"
        return f"{self.name} {self.version} at {self.url} ({origin})".replace("  ", " ")

    # Helpers for subclasses.
    def spawn(
        self, argv: list[str], *, user: str | None = None, env: dict | None = None
    ) -> subprocess.Popen:
        """Start the server process in the foreground, logging to `self.log`.

        It gets its own session, so a Ctrl-C in the terminal reaches pytest only and the
        rig stops the servers in order after Django has dropped its test database.
        """
        extra = {}
        if user and os.geteuid() == 0:
            account = pwd.getpwnam(user)
            extra = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
                preexec_fn=_die_with_parent(self.stop_signal),
                env=env,
                **extra,
            )
        return self.proc

    def wait_until_ready(self, check: Callable[[], object]) -> None:
        """Call `check` until it stops raising; fail if the process exits or time runs out."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RigError(
                    f"test rig: {self.name} exited with code {self.proc.returncode} while "
                    f"starting. Last lines of {self.log}:\n{log_tail(self.log)}"
                )
            try:
                check()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RigError(
                        f"test rig: {self.name} did not answer within {STARTUP_TIMEOUT:.0f}s "
                        f"({exc}). Last lines of {self.log}:\n{log_tail(self.log)}"
                    ) from exc
            time.sleep(0.02)


def ensure_os_user(name: str) -> pwd.struct_passwd | None:
    """The OS account a server runs as when the rig runs as root (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            [system_tool("useradd"), "-r", "-M", "-s", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


@register
class PostgresServer(Server):
    """PostgreSQL: initdb as the `postgres` user, trust auth on 127.0.0.1, no fsync."""

    name = "postgresql"
    external_env = "PANEL_TEST_DATABASE_URL"
    stop_signal = signal.SIGQUIT  # immediate shutdown: the data is thrown away anyway
    os_user = "postgres"

    def start(self) -> None:
        initdb = find_binary(
            "initdb", extra_globs=("/usr/lib/postgresql/*/bin/initdb",), package="postgresql"
        )
        bindir = initdb.resolve().parent
        postgres = bindir / "postgres"
        if not os.access(postgres, os.X_OK):
            raise RigError(f"test rig: {postgres} is missing next to {initdb}.")

        account = ensure_os_user(self.os_user)
        self.dir.mkdir()
        if account:
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        data = self.dir / "data"
        as_user = [system_tool("runuser"), "-u", self.os_user, "--"] if account else []
        result = subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync",
             "--no-instructions"],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise RigError(f"test rig: initdb failed:\n{result.stdout}\n{result.stderr}")

        port = free_port()
        self.spawn(
            [postgres, "-D", data, "-p", port, "-k", self.dir,
             "-c", "listen_addresses=127.0.0.1",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200", "-c", "logging_collector=off"],
            user=self.os_user if account else None,
        )  # fmt: skip
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        self.wait_until_ready(self._connect)

    def use_existing(self, url: str) -> None:
        super().use_existing(url)
        self.wait_until_ready(self._connect)

    def _connect(self) -> None:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=2) as conn:
            self.version = str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url}


@register
class RedisServer(Server):
    """Redis: `redis-server` from PATH, no persistence."""

    name = "redis"
    external_env = "PANEL_TEST_REDIS_URL"

    def start(self) -> None:
        binary = find_binary("redis-server", package="redis-server")
        self.dir.mkdir()
        port = free_port()
        self.spawn(
            [binary, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", self.dir, "--logfile", ""],
        )  # fmt: skip
        self.url = f"redis://127.0.0.1:{port}/0"
        self.wait_until_ready(self._ping)

    def use_existing(self, url: str) -> None:
        super().use_existing(url)
        self.wait_until_ready(self._ping)

    def _ping(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=2)
        try:
            self.version = client.info("server")["redis_version"]
        finally:
            client.close()

    def env(self) -> dict[str, str]:
        # The settings derive the broker and cache from REDIS_URL; set them too, so a value
        # left in the developer's shell cannot point the tests at another server.
        return {"REDIS_URL": self.url, "CELERY_BROKER_URL": self.url, "PANEL_CACHE_URL": self.url}


# -- mail servers (lazy) ---------------------------------------------------------------
#
# Dovecot and Postfix run from the configuration the project ships in deploy/, with its
# @@PLACEHOLDERS@@ filled in, and read the test database through the mail_* views. The
# tests that use them need committed rows (transactional_db), and must stop them before
# pytest-django drops the test database (servers still connected would block the DROP):
# see tests/integration/test_mail_servers.py.

DEPLOY_DIR = Path(__file__).resolve().parent.parent / "deploy"


class DeployConfig:
    """The shipped configuration files of deploy/, filled in for a private server."""

    @staticmethod
    def fill(source: Path, target: Path, values: dict[str, object]) -> Path:
        """Copy `source` to `target`, replacing each @@NAME@@ with values[NAME]."""
        text = source.read_text()
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", str(value))
        left = sorted(set(re.findall(r"@@[A-Z0-9_]+@@", text)))
        if left:
            raise RigError(
                f"test rig: {source} uses placeholders the rig does not fill: {', '.join(left)}."
            )
        target.write_text(text)
        return target


def database_url_for_tests() -> str:
    """The URL of the test database as pytest-django set it up (its NAME is then
    `test_...`), for processes of the panel that the tests start."""
    from django.db import connections

    params = connections["default"].settings_dict
    return (
        f"postgres://{params['USER']}:{params['PASSWORD'] or ''}@"
        f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
    )


def redis_database_url(number: int) -> str:
    """The rig's Redis with another database number, for tests that must not share
    database 0 with the servers the rig started (the policy service counts there)."""
    from django.conf import settings

    return settings.REDIS_URL.rsplit("/", 1)[0] + f"/{number}"


class MailDatabase:
    """How the mail servers reach the test database: the panel's own connection settings,
    read when a server starts (pytest-django has then switched NAME to `test_...`)."""

    #: a role that may only read the views, as deploy/README.md recommends for production;
    #: used when the rig runs PostgreSQL itself (a superuser creates it)
    role = "panel_mail"
    role_password = "rig-mail-password"
    views = ("mail_domains", "mail_mailboxes", "mail_users", "mail_virtual_aliases",
             "mail_recipient_access", "mail_sieve_scripts")  # fmt: skip

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


def _read_line(port: int, expect: bytes) -> None:
    """Connect to a loopback port and check the server's greeting (readiness probe)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        greeting = sock.recv(512)
    if not greeting.startswith(expect):
        raise ConnectionError(f"unexpected greeting on port {port}: {greeting!r}")


class SinkMessage(NamedTuple):
    """A message the SMTP sink received."""

    rcpt_tos: tuple[str, ...]
    data: bytes
    mail_from: str


@register
class SmtpSink(Server):
    """An in-process SMTP server (aiosmtpd) that keeps every message it receives in
    `messages`; Postfix relays all mail for outside domains to it."""

    name = "smtp_sink"
    lazy = True

    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.messages: list[SinkMessage] = []
        self.port = 0
        self._controller = None

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

        messages = self.messages

        class Handler:
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


@register
class PolicyServer(Server):
    """The panel's outgoing-limit policy service (`manage.py mail_policyd`), as a process
    of its own on a free loopback port, with the test database and the rig's Redis.

    Start it after the test database exists (Postfix requires it); `reload()` sends it
    SIGHUP and waits until it has dropped its cached limits and counters; `restart()`
    starts it again on the same port (after a test stopped it).
    """

    name = "mail_policyd"
    lazy = True

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
            PANEL_MAIL_POLICY_PORT=str(self.port),
        )
        manage = Path(__file__).resolve().parent.parent / "manage.py"
        self.spawn([sys.executable, manage, "mail_policyd"], env=env)
        self.version = "panel"
        self.url = f"policy://127.0.0.1:{self.port}"
        self.wait_until_ready(lambda: socket.create_connection(("127.0.0.1", self.port), 1).close())

    def restart(self) -> None:
        self.stop()
        self.start()

    def reload(self) -> None:
        before = self.log.read_text().count("will be read again")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.log.read_text().count("will be read again") == before:
            if time.monotonic() > deadline:
                raise RigError(f"test rig: mail_policyd did not reload:\n{log_tail(self.log)}")
            time.sleep(0.02)


@register
class PostfixServer(Server):
    """Postfix 3.7 from deploy/postfix in its own config and queue directories.

    It listens for SMTP on a free loopback port, delivers the panel's mailboxes to the
    rig's Dovecot by LMTP and relays everything else to the SMTP sink.
    """

    name = "postfix"
    lazy = True
    requires = ("dovecot", "smtp_sink", "mail_policyd")

    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.port = 0
        self.submission_port = 0

    def start(self) -> None:
        postfix = find_binary("postfix", extra_globs=("/usr/sbin/postfix",), package="postfix")
        postconf = postfix.parent / "postconf"
        if os.geteuid() != 0:
            raise RigError("test rig: postfix must start as root.")
        maps = subprocess.run([postconf, "-m"], capture_output=True, text=True).stdout.split()
        if "pgsql" not in maps:
            raise RigError(
                "test rig: Postfix has no pgsql lookup tables; install them with "
                "`apt-get install -y postfix-pgsql` (or run .ci/run)."
            )
        defaults = subprocess.run(
            [postconf, "-dh", "daemon_directory", "meta_directory", "mail_version"],
            capture_output=True,
            text=True,
        ).stdout.split()
        daemon_dir, meta_dir, self.version = Path(defaults[0]), Path(defaults[1]), defaults[2]
        dovecot = self.rig.require("dovecot")
        sink = self.rig.require("smtp_sink")

        etc, spool, data = self.dir / "etc", self.dir / "spool", self.dir / "data"
        etc.mkdir(parents=True)
        self._create_directories(meta_dir / "postfix-files", spool, data)

        self.port, self.submission_port = free_port(), free_port()
        values = {
            **MailDatabase.placeholders(self.rig),
            "LMTP_HOST": "127.0.0.1",
            "LMTP_PORT": dovecot.lmtp_port,
            "DOVECOT_AUTH_SOCKET": dovecot.auth_socket,
            "POLICY_ADDRESS": f"127.0.0.1:{self.rig.require('mail_policyd').port}",
            "SUBMISSION_LISTEN": f"127.0.0.1:{self.submission_port}",
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

    def _run(self, argv: list) -> None:
        result = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
        if result.returncode != 0:
            raise RigError(
                f"test rig: `{' '.join(map(str, argv))}` failed:\n{result.stdout}"
                f"{result.stderr}\nLast lines of {self.log}:\n{log_tail(self.log)}"
            )


# -- DNS server (lazy) ------------------------------------------------------------------


@register
class PowerDnsServer(Server):
    """PowerDNS Authoritative 4.7 from deploy/pdns/pdns.conf, with its own SQLite database.

    It serves DNS (UDP and TCP) and its HTTP API on free loopback ports. It needs nothing
    of the panel's database, so a test may start it at any time (`rig.require("powerdns")`).
    Runs as the `pdns` account when the rig runs as root (created if missing).
    """

    name = "powerdns"
    lazy = True
    os_user = "pdns"
    schema = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
    server_id = "localhost"

    def __init__(self, rig: Rig) -> None:
        super().__init__(rig)
        self.dns_port = 0
        self.api_port = 0
        self.api_url = ""
        self.api_key = ""

    def start(self) -> None:
        import secrets
        import sqlite3

        binary = find_binary(
            "pdns_server", extra_globs=("/usr/sbin/pdns_server",), package="pdns-server"
        )
        module_dir = self._module_dir(binary)
        for path in (module_dir / "libgsqlite3backend.so", self.schema):
            if not path.exists():
                raise RigError(
                    f"test rig: {path} is missing; install it with `apt-get install -y "
                    "pdns-backend-sqlite3` (or run .ci/run, which installs what is missing)."
                )
        account = ensure_os_user(self.os_user)

        # PowerDNS writes the database and its journal, so it owns their directory too.
        data, run = self.dir / "data", self.dir / "run"
        for path in (self.dir, data, run):
            path.mkdir()
        database = data / "pdns.sqlite3"
        with contextlib.closing(sqlite3.connect(database)) as conn:
            conn.executescript(self.schema.read_text())
        if account:
            for path in (data, run, database):
                os.chown(path, account.pw_uid, account.pw_gid)

        self.dns_port, self.api_port = free_port(), free_port()
        self.api_key = secrets.token_urlsafe(24)
        shipped = DeployConfig.fill(
            DEPLOY_DIR / "pdns" / "pdns.conf",
            self.dir / "pdns.conf",
            {
                "SQLITE_DATABASE": database,
                "LOCAL_ADDRESS": "127.0.0.1",
                "DNS_PORT": self.dns_port,
                "API_KEY": self.api_key,
                "API_ADDRESS": "127.0.0.1",
                "API_PORT": self.api_port,
                "API_ALLOW_FROM": "127.0.0.0/8",
            },
        )
        # Test-only settings after the shipped ones (in pdns.conf the last value wins):
        # every change shows in the next answer, a foreground process that logs to stdout,
        # the control socket in the rig directory.
        test_only = [
            "cache-ttl=0",
            "query-cache-ttl=0",
            "negquery-cache-ttl=0",
            "daemon=no",
            "guardian=no",
            "disable-syslog=yes",
            "write-pid=no",
            f"socket-dir={run}",
        ]
        if account:
            test_only += [f"setuid={self.os_user}", f"setgid={self.os_user}"]
        with shipped.open("a") as conf:
            conf.write("\n# -- test rig (tests/rig.py) --\n" + "".join(f"{s}\n" for s in test_only))
        self.version = self._version(binary)
        self.spawn([binary, f"--config-dir={self.dir}"])
        self.api_url = f"http://127.0.0.1:{self.api_port}/api/v1"
        self.url = f"dns://127.0.0.1:{self.dns_port}"
        self.wait_until_ready(self._ready)

    @staticmethod
    def _module_dir(binary: Path) -> Path:
        """Where this pdns_server loads its backends from (its compiled-in default)."""
        result = subprocess.run([binary, "--config=default"], capture_output=True, text=True)
        found = re.search(r"^# module-dir=(.+)$", result.stdout, flags=re.M)
        return Path(found.group(1).strip()) if found else Path("/usr/lib/x86_64-linux-gnu/pdns")

    @staticmethod
    def _version(binary: Path) -> str:
        result = subprocess.run([binary, "--version"], capture_output=True, text=True)
        found = re.search(r"Authoritative Server (\S+)", result.stdout + result.stderr)
        return found.group(1) if found else ""

    def _ready(self) -> None:
        """The API answers with our key, and the DNS side answers a query."""
        import json
        import urllib.request

        import dns.message
        import dns.query

        request = urllib.request.Request(
            f"{self.api_url}/servers/{self.server_id}", headers={"X-API-Key": self.api_key}
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            json.load(response)
        # The API comes up before the DNS workers: any answer (REFUSED for a zone it does
        # not have) shows they are there.
        query = dns.message.make_query("rig.test.", "SOA")
        dns.query.udp(query, "127.0.0.1", port=self.dns_port, timeout=1)

    def env(self) -> dict[str, str]:
        return {
            "PANEL_POWERDNS_API_URL": self.api_url,
            "PANEL_POWERDNS_API_KEY": self.api_key,
            "PANEL_POWERDNS_SERVER_ID": self.server_id,
        }


# -- the rig ---------------------------------------------------------------------------


RIG_DIR_PREFIX = "panel-rig-"


def remove_stale_rig_dirs(parent: Path) -> None:
    """Remove rig directories left by sessions that were killed (their servers died too)."""
    for path in parent.glob(f"{RIG_DIR_PREFIX}*"):
        try:
            os.kill(int((path / "owner.pid").read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue  # not ours to judge: no owner file, or a process we may not signal


class Rig:
    """The servers of one test session, started and stopped together."""

    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        #: where the servers' variables are exported: os.environ for the session's rig
        self.environ = os.environ if environ is None else environ
        self.dir = Path(tempfile.mkdtemp(prefix=RIG_DIR_PREFIX))
        self.dir.chmod(0o755)  # server users must reach their own subdirectory
        (self.dir / "owner.pid").write_text(str(os.getpid()))
        remove_stale_rig_dirs(self.dir.parent)
        self.servers: dict[str, Server] = {}
        self.startup_seconds = 0.0
        self._stopped = False
        # Files the panel writes (media, mail files, zone files) go to the rig, not ./var.
        # static/ exists so that WhiteNoise does not warn about STATIC_ROOT on every request.
        (self.dir / "var" / "static").mkdir(parents=True)
        self.environ["PANEL_VAR_DIR"] = str(self.dir / "var")

    def start(self) -> None:
        """Start every server that is not lazy."""
        began = time.monotonic()
        for name, cls in SERVERS.items():
            if not cls.lazy:
                self.require(name)
        self.startup_seconds = time.monotonic() - began

    def require(self, name: str) -> Server:
        """The running server `name`, started (with what it requires) on first use."""
        if name in self.servers:
            return self.servers[name]
        if self._stopped:
            raise RigError(f"test rig: cannot start {name}, the rig is stopped.")
        if name not in SERVERS:
            raise RigError(f"test rig: no server named {name!r} (known: {', '.join(SERVERS)}).")
        cls = SERVERS[name]
        for dependency in cls.requires:
            self.require(dependency)
        server = cls(self)
        existing = self.environ.get(cls.external_env or "")
        self.servers[name] = server  # registered first, so a failed start is still stopped
        if existing:
            server.use_existing(existing)
        else:
            server.start()
        self.environ.update(server.env())
        return server

    def stop(self) -> None:
        """Stop every server in reverse start order and remove the rig directory."""
        if self._stopped:
            return
        self._stopped = True
        for server in reversed(list(self.servers.values())):
            with contextlib.suppress(Exception):
                server.stop()
        if os.environ.get("PANEL_TEST_KEEP_RIG"):
            print(f"\ntest rig: kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def describe(self) -> list[str]:
        lines = [server.describe() for server in self.servers.values()]
        return [f"rig: {line}" for line in lines] + [
            f"rig: servers ready in {self.startup_seconds:.2f}s, files in {self.dir}"
        ]


rig_key = pytest.StashKey[Rig]()


def _install_signal_handlers(rig: Rig) -> None:
    """SIGTERM/SIGHUP: first one ends the session like Ctrl-C, a second one stops at once."""

    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if received:
            rig.stop()
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        received.append(signum)
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, handler)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser, args):
    options = early_config.known_args_namespace
    if options.help or options.version:
        return (yield)
    rig = Rig()
    early_config.stash[rig_key] = rig
    atexit.register(rig.stop)
    _install_signal_handlers(rig)
    try:
        rig.start()
        return (yield)  # now pytest-django sets Django up, with our environment
    except BaseException:
        rig.stop()
        raise


def pytest_unconfigure(config: pytest.Config) -> None:
    rig = config.stash.get(rig_key, None)
    if rig is not None:
        rig.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    rig = config.stash.get(rig_key, None)
    return rig.describe() if rig is not None else []


@pytest.fixture(scope="session")
def rig(pytestconfig: pytest.Config) -> Rig:
    """The session's rig; `rig.require("name")` starts a lazy server."""
    return pytestconfig.stash[rig_key]
