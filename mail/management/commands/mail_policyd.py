"""`manage.py mail_policyd`: the outgoing-limit policy service for Postfix (mail/policyd.py).

Listens on MAIL_POLICY_HOST:MAIL_POLICY_PORT (loopback; `--port` overrides), counts in
Redis (REDIS_URL), and starts a child process that moves the mail log from Redis to the
database. SIGHUP reloads the limits and counters; SIGTERM stops after writing what is
buffered.

Only one may run per Redis: each keeps its senders' windows in memory, so two would each
let an address send its whole limit. A lock in Redis makes a second one wait, then fail.
If the log mover dies, the service exits with an error for its supervisor to restart it.
"""

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

from mail import policyd
from mail.services.sending import mail_log_drain, sending_account

STOP_SECONDS = 10
LOCK_KEY = "panel:mail:policyd-lock"
#: the lock outlives a killed service by this long, at most; a new one waits that long
LOCK_SECONDS = 30
LOCK_WAIT_SECONDS = LOCK_SECONDS + 5
DATABASE_CONNECT_TIMEOUT = 5

logger = logging.getLogger("mail.policyd")


def _with_fresh_connection(function):
    """Database work of the service: drop a connection the server has closed first."""

    def call(*args):
        close_old_connections()
        return function(*args)

    return call


def _move_log(parent: int) -> None:
    """The log mover process: dies with the service, drains until told to stop."""
    import redis

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the service died before the line above
        return
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    policyd.move_log_forever(_with_fresh_connection(lambda: mail_log_drain(client=client)))
    connections.close_all()


class Command(BaseCommand):
    help = "Serve the outgoing-limit policy service that Postfix asks at each recipient."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_POLICY_HOST)
        parser.add_argument("--port", type=int, default=settings.MAIL_POLICY_PORT)

    def handle(self, *args, host, port, **options):
        import redis
        import redis.asyncio

        logging.getLogger("mail.policyd").setLevel(logging.INFO)
        token = f"{socket.gethostname()}:{os.getpid()}"
        self._lock(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2), token)
        database = connections.settings["default"]
        # One thread makes every lookup: keep its connection, checked before each use.
        database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"] = None, True
        if database["ENGINE"] == "django.db.backends.postgresql":
            database.setdefault("OPTIONS", {})["connect_timeout"] = DATABASE_CONNECT_TIMEOUT
        connections.close_all()  # nothing shared with the forked log mover
        mover = multiprocessing.get_context("fork").Process(
            target=_move_log, args=(os.getpid(),), name="mail_policyd log mover", daemon=True
        )
        mover.start()
        client = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        service = policyd.PolicyService(
            redis=client,
            lookup=_with_fresh_connection(sending_account),
            fail_open=settings.MAIL_POLICY_FAIL_OPEN,
            limit_cache_seconds=settings.MAIL_POLICY_LIMIT_CACHE_SECONDS,
            thread_cleanup=connections.close_all,
        )

        async def watch() -> str | None:
            if mover.exitcode is not None:
                return f"the log mover stopped (exit code {mover.exitcode})"
            try:
                owner = await client.get(LOCK_KEY)
                if owner is None:
                    await client.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS)
                elif owner.decode() != token:
                    return f"another policy service ({owner.decode()}) runs on this Redis"
                else:
                    await client.expire(LOCK_KEY, LOCK_SECONDS)
            except redis.RedisError:
                pass  # the service's own health check reports Redis
            return None

        def ready(server):
            self.stdout.write(f"mail_policyd: listening on {host}:{port}", ending="\n")
            self.stdout.flush()

        try:
            problem = asyncio.run(policyd.run(service, host, port, ready, watch))
        except OSError as exc:
            raise CommandError(f"mail_policyd: cannot listen on {host}:{port}: {exc}") from exc
        finally:
            mover.terminate()  # SIGTERM: it moves what is left, then exits
            mover.join(STOP_SECONDS)
            if mover.is_alive():
                mover.kill()
            self._unlock(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2), token)
        if problem:
            raise CommandError(f"mail_policyd: {problem}")

    def _lock(self, client, token: str) -> None:
        """Take the lock, waiting for one a killed service left behind to expire."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not client.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS):
            if time.monotonic() > deadline:
                owner = (client.get(LOCK_KEY) or b"?").decode()
                raise CommandError(
                    f"mail_policyd: another policy service ({owner}) runs on this Redis; "
                    "only one may count the outgoing limits."
                )
            time.sleep(1)

    @staticmethod
    def _unlock(client, token: str) -> None:
        try:
            if (client.get(LOCK_KEY) or b"").decode() == token:
                client.delete(LOCK_KEY)
        except Exception:
            logger.warning("policy service: could not release its lock in Redis")
