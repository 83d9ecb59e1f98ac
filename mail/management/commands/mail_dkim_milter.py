"""`manage.py mail_dkim_milter`: the DKIM signer Postfix's submission service hands every
message to (mail/dkim_signer.py). Listens on MAIL_DKIM_MILTER_HOST:MAIL_DKIM_MILTER_PORT
(loopback; `--port` overrides) and reads the panel's database. SIGTERM and Ctrl-C stop it.
"""

import logging
import signal

import anyio
from django.conf import settings
from django.core.management.base import BaseCommand

from mail import dkim_signer

logger = logging.getLogger("mail.dkim")


class Command(BaseCommand):
    help = "Run the DKIM signer (a milter) for Postfix's submission service."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_DKIM_MILTER_HOST)
        parser.add_argument("--port", type=int, default=settings.MAIL_DKIM_MILTER_PORT)

    def handle(self, *args, host, port, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

        async def main():
            async with anyio.create_task_group() as group:
                group.start_soon(dkim_signer.serve, host, port)
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _signum in signals:
                        logger.info("DKIM signer stopping")
                        group.cancel_scope.cancel()
                        return

        anyio.run(main)
