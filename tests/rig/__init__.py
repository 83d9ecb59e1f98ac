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

Layout: `core.py` holds the `Server` interface, the registry and `Rig`; each server lives
in a module of its kind (`databases.py`: PostgreSQL, Redis; `mail.py`: the SMTP sink,
Dovecot, the policy service, the DKIM signer and Postfix; `dns.py`: PowerDNS), imported
here so that they register.

Adding a server (Dovecot, Postfix, PowerDNS, Keystone, SMTP sink ...): subclass `Server`,
decorate it with `@register`, list its dependencies in `requires`, and set `lazy = True`
if only some tests need it; those call `rig.require("<name>")` (e.g. from a session
fixture) to start it on first use. Every started server is stopped in reverse order.
"""

from __future__ import annotations

import atexit
import os
import signal

import pytest

# The server modules register their servers, in start order, when imported.
from . import databases, dns, mail  # noqa: F401
from .core import (  # noqa: F401 (the rig's API for tests, benchmarks and deploy/)
    DEPLOY_DIR,
    SERVERS,
    DeployConfig,
    Rig,
    RigError,
    Server,
    database_url_for_tests,
    ensure_os_user,
    find_binary,
    free_port,
    redis_database_url,
    register,
)
from .databases import PostgresServer, RedisServer  # noqa: F401
from .dns import PowerDnsServer  # noqa: F401
from .mail import (  # noqa: F401
    DkimSignerServer,
    DovecotServer,
    PolicyServer,
    PostfixServer,
    SmtpSink,
)

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
