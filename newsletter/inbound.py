"""The receiver of what comes back to the sending engine's addresses: an SMTP server
(aiosmtpd) that the platform's Postfix hands all mail for NEWSLETTER_BOUNCE_DOMAIN to
(deploy/postfix/main.cf). It refuses at RCPT every address that is not one of our signed
ones, so Postfix's address verification refuses a forged one at its own door and never
bounces it back to whoever forged it. Each message accepted goes to
services/bounces.py in a thread (the database code is synchronous), and is answered 250
once written, or 451 when the database failed, so that Postfix tries again (recording is
idempotent).
"""

import asyncio
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.smtp import SMTP
from django.conf import settings
from django.db import close_old_connections

from . import signing
from .services.bounces import inbound_message

logger = logging.getLogger("newsletter.inbound")

#: a bounce quotes at most 50 kB of the email (Postfix's bounce_size_limit), a complaint
#: the whole email: a campaign email with room to spare
MAX_MESSAGE_BYTES = 1024 * 1024
#: messages recorded at once (each holds a database connection)
THREADS = 4
#: a client silent this long is disconnected
IDLE_SECONDS = 60
REFUSED = "550 5.1.1 No such recipient here"
TRY_AGAIN = "451 4.3.0 Could not record the message now; try again later"


class Handler:
    """aiosmtpd's hooks: who may be a recipient, and what to do with a message."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if signing.parse_address(address) is None:
            return REFUSED
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        data = envelope.original_content or envelope.content
        loop = asyncio.get_running_loop()
        try:
            done = await loop.run_in_executor(self.executor, _record, list(envelope.rcpt_tos), data)
        except Exception:
            logger.exception("inbound: a message could not be recorded; Postfix will retry")
            return TRY_AGAIN
        for line in done:
            logger.info("inbound: %s", line)
        return "250 2.0.0 OK"


def _record(recipients: list[str], data: bytes) -> list[str]:
    close_old_connections()  # one the server closed, or one a failed query broke
    return inbound_message(recipients, data)


def hostname() -> str:
    """The name the receiver greets with. Not the host's own: Postfix refuses to deliver
    to a server that answers with its myhostname ("mail loops back to myself"), and the
    receiver may run on Postfix's host."""
    return f"inbound.{settings.NEWSLETTER_BOUNCE_DOMAIN}"


async def serve(host: str, port: int, ready: Callable[[], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT; the messages being recorded then are finished
    first."""
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(THREADS, thread_name_prefix="newsletter-inbound")
    handler = Handler(executor)
    name = hostname()

    def session():
        return SMTP(
            handler, data_size_limit=MAX_MESSAGE_BYTES, enable_SMTPUTF8=True, hostname=name,
            ident="panel newsletter inbound", timeout=IDLE_SECONDS, loop=loop,
        )  # fmt: skip

    server = await loop.create_server(session, host, port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    logger.info("newsletter inbound: listening on %s:%s", host, port)
    if ready is not None:
        ready()
    await stop.wait()
    logger.info("newsletter inbound: stopping")
    server.close()
    await loop.run_in_executor(None, executor.shutdown)
    logger.info("newsletter inbound: stopped")
