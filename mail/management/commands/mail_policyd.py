"""`manage.py mail_policyd`: the outgoing-limit policy service for Postfix (mail/policyd.py).

Listens on MAIL_POLICY_HOST:MAIL_POLICY_PORT (loopback; `--port` overrides), counts in
Redis (REDIS_URL), and starts a child process that moves the mail log from Redis to the
database. SIGHUP reloads the limits and counters; SIGTERM stops after writing what is
buffered.
"""

import asyncio
import ctypes
import logging
import multiprocessing
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

from mail import policyd
from mail.services.sending import mail_log_drain, sending_account

STOP_SECONDS = 10


def _with_fresh_connection(function):
    """Database work of the service: drop a connection the server has closed first."""

    def call(*args):
        close_old_connections()
        return function(*args)

    return call


def _move_log() -> None:
    """The log mover process: dies with the service, drains until told to stop."""
    import redis

    with_parent = ctypes.CDLL(None, use_errno=True).prctl
    with_parent(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: a killed service takes it along
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    policyd.move_log_forever(_with_fresh_connection(lambda: mail_log_drain(client=client)))
    connections.close_all()


class Command(BaseCommand):
    help = "Serve the outgoing-limit policy service that Postfix asks at each recipient."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_POLICY_HOST)
        parser.add_argument("--port", type=int, default=settings.MAIL_POLICY_PORT)

    def handle(self, *args, host, port, **options):
        import redis.asyncio

        logging.getLogger("mail.policyd").setLevel(logging.INFO)
        # One thread makes every lookup: keep its connection (it is checked before use).
        connections.settings["default"]["CONN_MAX_AGE"] = None
        connections.close_all()  # nothing shared with the forked log mover
        mover = multiprocessing.get_context("fork").Process(
            target=_move_log, name="mail_policyd log mover", daemon=True
        )
        mover.start()
        service = policyd.PolicyService(
            redis=redis.asyncio.Redis.from_url(
                settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
            ),
            lookup=_with_fresh_connection(sending_account),
            fail_open=settings.MAIL_POLICY_FAIL_OPEN,
            limit_cache_seconds=settings.MAIL_POLICY_LIMIT_CACHE_SECONDS,
            thread_cleanup=connections.close_all,
        )

        def ready(server):
            self.stdout.write(f"mail_policyd: listening on {host}:{port}", ending="\n")
            self.stdout.flush()

        try:
            asyncio.run(policyd.run(service, host, port, ready))
        except OSError as exc:
            raise CommandError(f"mail_policyd: cannot listen on {host}:{port}: {exc}") from exc
        finally:
            mover.terminate()  # SIGTERM: it moves what is left, then exits
            mover.join(STOP_SECONDS)
            if mover.is_alive():
                mover.kill()
