"""The DKIM signer: a milter that Postfix's submission service hands every message to.

For a logged-in customer it checks that each address of the From header belongs to the
login (the same `mail_sender_logins` view Postfix reads for MAIL FROM) and refuses the
message otherwise, then signs it with the DKIM key of the From domain, where the panel
holds one that is served, and adds the DKIM-Signature header. A domain without such a key
is sent unsigned (the DNS diagnostic says so).

Keys stay sealed in the database: the signer unseals them in memory, and keeps what it
looked up for MAIL_DKIM_CACHE_SECONDS. The signature itself is dkimpy's, relaxed/relaxed,
so header folding by Postfix or receivers does not break it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import getaddresses

import anyio
import anyio.to_thread
import dkim
from django.conf import settings
from django.db import close_old_connections, connection
from kilter.protocol.messages import (
    Accept,
    ActionFlags,
    Header,
    ProtocolFlags,
    ReplyCode,
    Stage,
)
from kilter.service import START, Runner, Session
from kilter.service.options import (
    examine_body,
    examine_headers,
    examine_sender,
    modify_flags,
    request_macros,
)

logger = logging.getLogger("mail.dkim")

#: the login macro Postfix sends with MAIL FROM when the client has authenticated
LOGIN_MACRO = "{auth_authen}"


@dataclass(frozen=True)
class SigningKey:
    domain: str
    selector: str
    private_key: bytes


class Lookups:
    """The database questions of the signer, each answer kept for `ttl` seconds."""

    def __init__(self, ttl: float | None = None) -> None:
        self.ttl = settings.MAIL_DKIM_CACHE_SECONDS if ttl is None else ttl
        self._cache: dict[tuple, tuple[float, object]] = {}

    def _cached(self, key: tuple, compute):
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        close_old_connections()
        value = compute()
        self._cache[key] = (now, value)
        return value

    def may_send_as(self, login: str, address: str) -> bool:
        """Whether `login` may use `address` as a sender (mail_sender_logins)."""
        local_part, _at, domain = address.lower().rpartition("@")

        def compute():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM mail_sender_logins"
                    " WHERE local_part = %s AND domain = %s AND login = %s",
                    [local_part, domain, login.lower()],
                )
                return cursor.fetchone() is not None

        return self._cached(("sender", login.lower(), address.lower()), compute)

    def signing_key(self, login: str, domain_name: str) -> SigningKey | None:
        """The served key of `domain_name` in the login's organisation, unsealed."""

        def compute():
            from domains.models import Domain

            from .dns_records import dkim_private_key_pem, dkim_signing_key_of
            from .models import Address

            local_part, _at, login_domain = login.lower().rpartition("@")
            address = (
                Address.objects.filter(local_part=local_part, service__domain=login_domain)
                .only("organisation_id")
                .first()
            )
            if address is None:
                return None
            domain = Domain.objects.filter(
                organisation_id=address.organisation_id, name=domain_name.lower()
            ).first()
            key = dkim_signing_key_of(domain) if domain else None
            if key is None:
                return None
            try:
                pem = dkim_private_key_pem(key)
            except ValueError:
                logger.error("The DKIM key %s cannot be unsealed; signing skipped", key)
                return None
            return SigningKey(domain.name, key.selector, pem.encode())

        return self._cached(("key", login.lower(), domain_name.lower()), compute)


def from_addresses(headers: list[tuple[str, bytes]]) -> list[str]:
    """The addresses of the From header(s), lowercased."""
    values = []
    for name, value in headers:
        if name.lower() == "from":
            text = value.decode("utf-8", "replace")
            values.append(str(make_header(decode_header(text))))
    return [address.lower() for _name, address in getaddresses(values) if "@" in address]


def raw_message(headers: list[tuple[str, bytes]], body: bytes) -> bytes:
    """The message as it will be sent, CRLF line ends, for the signature."""
    lines = []
    for name, value in headers:
        value = value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        lines.append(name.encode("ascii") + b":" + value + b"\r\n")
    return b"".join(lines) + b"\r\n" + body


def signature_header(message: bytes, key: SigningKey) -> bytes:
    """The DKIM-Signature header's value (after the colon), folded with LF for Postfix."""
    signed = dkim.sign(
        message,
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
    )
    name, _colon, value = signed.partition(b":")
    assert name.strip().lower() == b"dkim-signature", signed[:40]
    return value.rstrip(b"\r\n").replace(b"\r\n", b"\n")


def refusal(text: str) -> ReplyCode:
    return ReplyCode(f"550 5.7.1 {text}".encode() + b"\0")


def make_filter(lookups: Lookups):
    """The kilter filter: check the From header, then sign."""

    @request_macros(Stage.ENVELOPE_FROM, LOGIN_MACRO)
    @examine_sender()
    @examine_headers(leading_space=True)
    @examine_body()
    # End-of-headers is asked for: without it the header iterator takes the first body
    # chunk as its end, and that chunk is lost to the body iterator.
    @modify_flags(
        set_actions=ActionFlags.ADD_HEADERS, unset_options=ProtocolFlags.NO_END_OF_HEADERS
    )
    async def sign(session: Session):
        await session.envelope_from()
        login = session.macros.get(LOGIN_MACRO, "")
        headers: list[tuple[str, bytes]] = []
        chunks = []
        # The body context is entered first: the runner tells Postfix to skip the body
        # of a message that no filter is waiting for when its first chunk arrives.
        async with session.body as body:
            async with session.headers as iterator:
                async for header in iterator:
                    headers.append((header.name, bytes(header.value)))
            async for chunk in body:
                chunks.append(bytes(chunk))
        if not login:
            return Accept()  # not a customer's submission: nothing to check or sign
        senders = from_addresses(headers)
        for sender in senders:
            if not await anyio.to_thread.run_sync(lookups.may_send_as, login, sender):
                logger.info("Refused From %s for login %s", sender, login)
                return refusal(f"<{sender}> in From is not an address of {login}")
        if not senders:
            return Accept()
        domain = senders[0].rpartition("@")[2]
        key = await anyio.to_thread.run_sync(lookups.signing_key, login, domain)
        if key is None:
            return Accept()
        value = signature_header(raw_message(headers, b"".join(chunks)), key)
        await session.headers.insert(Header("DKIM-Signature", value), START)
        logger.debug("Signed mail from %s with %s._domainkey.%s", login, key.selector, domain)
        return Accept()

    return sign


async def serve(host: str, port: int, *, lookups: Lookups | None = None, ready=None) -> None:
    """Listen on host:port until cancelled."""
    runner = Runner(make_filter(lookups or Lookups()))
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port, reuse_port=False)
    logger.info("DKIM signer listening on %s:%s", host, port)
    if ready is not None:
        ready()
    await listener.serve(runner)
