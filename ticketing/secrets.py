"""The codes of the ticket office: order codes, ticket secrets, and the keys that open a
basket or an order page.

- A ticket's secret is 26 characters of an alphabet without look-alikes (no 0/O, 1/I),
  130 bits derived with HMAC from the ticket's random nonce and the panel's secret key.
  Only its SHA-256 is stored: a copy of the database alone forges no ticket, the PDF can
  be drawn again from the nonce, and a door scanner can check a code offline against the
  list of hashes without ever holding the secrets themselves.
- An order page is opened by a token derived the same way from the order, so nothing
  is stored for it and it cannot be guessed from the short order code.
- A basket key is random and kept hashed.
- A guest's link key is derived like a ticket's secret from the guest's nonce, so every
  invitation and reminder can carry it while only its hash is stored.
"""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

#: 32 symbols: the letters without I and O, the digits without 0 and 1.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TICKET_SECRET_LENGTH = 26  # 26 x 5 bits = 130 bits
ORDER_CODE_LENGTH = 6


def _encode(raw: bytes, length: int) -> str:
    number = int.from_bytes(raw, "big")
    symbols = []
    for _position in range(length):
        number, index = divmod(number, 32)
        symbols.append(ALPHABET[index])
    return "".join(symbols)


def _key() -> str:
    return getattr(settings, "TICKETING_SECRET_KEY", "") or settings.SECRET_KEY


def random_code(length: int = ORDER_CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _position in range(length))


def new_nonce() -> str:
    return secrets.token_hex(16)


def ticket_secret(nonce: str) -> str:
    digest = hmac.new(_key().encode(), f"ticket:{nonce}".encode(), hashlib.sha256).digest()
    return _encode(digest, TICKET_SECRET_LENGTH)


def secret_hash(secret: str) -> str:
    """What is stored of a secret, and what a scanner compares: the SHA-256 of the code
    as printed (upper case, without spaces)."""
    return hashlib.sha256(secret.strip().upper().encode()).hexdigest()


def order_token(order) -> str:
    return salted_hmac(
        "ticketing.order-page", f"{order.pk}:{order.code}", secret=_key(), algorithm="sha256"
    ).hexdigest()[:32]


def order_token_valid(order, token: str | None) -> bool:
    return bool(token) and constant_time_compare(order_token(order), token)


def new_basket_key() -> str:
    return secrets.token_urlsafe(24)


def basket_key_hash(key: str) -> str:
    return hashlib.sha256(str(key).encode()).hexdigest()


def guest_key(nonce: str) -> str:
    """The key of a guest's personal link (URL-safe, 128 bits)."""
    digest = hmac.new(_key().encode(), f"guest:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
