"""`manage.py mail_policyd`: the outgoing-limit policy service for Postfix (mail/policyd.py).

Listens on MAIL_POLICY_HOST:MAIL_POLICY_PORT (loopback; `--port` overrides), counts in
Redis (REDIS_URL) and writes the mail log to the database. SIGHUP reloads the limits and
counters; SIGTERM stops after writing what is buffered.
"""

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

from mail import policyd
from mail.services.sending import mail_log_drain, sending_account


def _with_fresh_connection(function):
    """Database work from the service's threads: drop a connection the server closed."""

    def call(*args):
        close_old_connections()
        return function(*args)

    return call


class Command(BaseCommand):
    help = "Serve the outgoing-limit policy service that Postfix asks at each recipient."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_POLICY_HOST)
        parser.add_argument("--port", type=int, default=settings.MAIL_POLICY_PORT)

    def handle(self, *args, host, port, **options):
        import redis
        import redis.asyncio

        logging.getLogger("mail.policyd").setLevel(logging.INFO)
        sync_redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        service = policyd.PolicyService(
            redis=redis.asyncio.Redis.from_url(
                settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
            ),
            lookup=_with_fresh_connection(sending_account),
            drain=_with_fresh_connection(lambda: mail_log_drain(client=sync_redis)),
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
