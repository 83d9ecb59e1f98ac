"""`manage.py newsletter_inbound`: the receiver Postfix hands the bounces, complaints and
unsubscribe emails of newsletter campaigns to (newsletter/inbound.py). Listens on
NEWSLETTER_INBOUND_HOST:NEWSLETTER_INBOUND_PORT (loopback; `--port` overrides) for the
addresses at NEWSLETTER_BOUNCE_DOMAIN, and writes to the panel's database. SIGTERM and
Ctrl-C stop it, once the messages being recorded are written.
"""

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from newsletter import inbound

DATABASE_CONNECT_TIMEOUT = 5


class Command(BaseCommand):
    help = "Receive the bounces, complaints and unsubscribe emails of newsletter campaigns."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.NEWSLETTER_INBOUND_HOST)
        parser.add_argument("--port", type=int, default=settings.NEWSLETTER_INBOUND_PORT)

    def handle(self, *args, host, port, **options):
        for name in ("newsletter.inbound", "newsletter.services.bounces"):
            logging.getLogger(name).setLevel(logging.INFO)
        # aiosmtpd logs every connection and command at INFO
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        database = connections.settings["default"]
        # A few threads record every message: each keeps its connection, checked before use.
        database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"] = None, True
        if database["ENGINE"] == "django.db.backends.postgresql":
            database.setdefault("OPTIONS", {})["connect_timeout"] = DATABASE_CONNECT_TIMEOUT

        def ready():
            self.stdout.write(
                f"newsletter_inbound: listening on {host}:{port} "
                f"for {settings.NEWSLETTER_BOUNCE_DOMAIN}"
            )
            self.stdout.flush()

        try:
            asyncio.run(inbound.serve(host, port, ready))
        except OSError as exc:
            raise CommandError(
                f"newsletter_inbound: cannot listen on {host}:{port}: {exc}"
            ) from exc
