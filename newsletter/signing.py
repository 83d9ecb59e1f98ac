"""Short signed tokens of the sending engine, in URLs and in addresses: the return path
of each email (its bounces come back to it), the unsubscribe mailto, the open pixel and
the tracked links. Each names a campaign and a contact (and a link) in lower-case hex,
followed by an HMAC of them, so nobody can forge one or walk through the others; lower
case because mail servers may fold the case of an address.
"""

import functools
import hashlib
import hmac

from django.conf import settings

#: 64 bits of HMAC: enough that guessing one is hopeless, short enough for an address
SIGNATURE_LENGTH = 16


@functools.cache
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"panel.newsletter.signing:" + secret.encode()).digest()


def _signature(purpose: str, numbers: tuple[int, ...]) -> str:
    message = purpose + ":" + ":".join(map(str, numbers))
    digest = hmac.new(_key(settings.SECRET_KEY), message.encode(), hashlib.sha256)
    return digest.hexdigest()[:SIGNATURE_LENGTH]


def sign(purpose: str, *numbers: int) -> str:
    """`purpose` ("b" bounce, "u" unsubscribe, "o" open, "c" click) and its numbers as
    one token: `1f-2a-<signature>`."""
    return "-".join([*(format(number, "x") for number in numbers), _signature(purpose, numbers)])


def unsign(purpose: str, token: str, count: int) -> tuple[int, ...] | None:
    """The `count` numbers of a token signed for `purpose`; None when it is not one."""
    parts = (token or "").lower().split("-")
    if len(parts) != count + 1 or len(parts[-1]) != SIGNATURE_LENGTH:
        return None
    try:
        numbers = tuple(int(part, 16) for part in parts[:-1])
    except ValueError:
        return None
    if not hmac.compare_digest(parts[-1], _signature(purpose, numbers)):
        return None
    return numbers


# -- addresses ---------------------------------------------------------------------------


def return_path(campaign_id: int, contact_id: int) -> str:
    """The envelope sender of one campaign email: its bounce names the contact (VERP)."""
    return f"b-{sign('b', campaign_id, contact_id)}@{settings.NEWSLETTER_BOUNCE_DOMAIN}"


def unsubscribe_mailto(campaign_id: int, contact_id: int) -> str:
    """The address of the List-Unsubscribe mailto: an email to it unsubscribes."""
    return f"u-{sign('u', campaign_id, contact_id)}@{settings.NEWSLETTER_BOUNCE_DOMAIN}"


def message_id(campaign_id: int, contact_id: int) -> str:
    """The Message-ID of one campaign email: the same on every attempt, so a copy can be
    recognised."""
    return f"<c{campaign_id}.r{contact_id}@{settings.NEWSLETTER_BOUNCE_DOMAIN}>"


def parse_address(address: str) -> tuple[str, int, int] | None:
    """("bounce" or "unsubscribe", campaign id, contact id) of an address of ours at the
    bounce domain; None for any other address or a forged one."""
    local, _at, domain = (address or "").strip().strip("<>").rpartition("@")
    if domain.lower() != settings.NEWSLETTER_BOUNCE_DOMAIN.lower():
        return None
    kind, _dash, token = local.lower().partition("-")
    purpose = {"b": "bounce", "u": "unsubscribe"}.get(kind)
    numbers = unsign(kind, token, 2) if purpose else None
    return (purpose, *numbers) if numbers else None


# -- tracking ----------------------------------------------------------------------------


def open_token(campaign_id: int, contact_id: int) -> str:
    return sign("o", campaign_id, contact_id)


def click_token(campaign_id: int, contact_id: int, link_index: int) -> str:
    return sign("c", campaign_id, contact_id, link_index)


def open_url(campaign_id: int, contact_id: int) -> str:
    """The tracking pixel of one email (newsletter/views/tracking.py)."""
    return f"{settings.PANEL_BASE_URL}/n/o/{open_token(campaign_id, contact_id)}.gif"


def click_url(campaign_id: int, contact_id: int, link_index: int) -> str:
    """The tracked form of the campaign's link number `link_index` in one email."""
    return f"{settings.PANEL_BASE_URL}/n/c/{click_token(campaign_id, contact_id, link_index)}"
