"""The rig's core: the `Server` interface, the registry of servers, the helpers every
server uses, and `Rig`, which starts and stops the servers of one session."""

from __future__ import annotations

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
import tempfile
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import ClassVar

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


# -- shipped configuration and the test database --------------------------------------

DEPLOY_DIR = Path(__file__).resolve().parent.parent.parent / "deploy"


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


def _read_line(port: int, expect: bytes) -> None:
    """Connect to a loopback port and check the server's greeting (readiness probe)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        greeting = sock.recv(512)
    if not greeting.startswith(expect):
        raise ConnectionError(f"unexpected greeting on port {port}: {greeting!r}")


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
