"""Encrypting what must be kept for a while but never in clear (passwords of a CSV file
waiting for its Job, credentials of an import). The key derives from SECRET_KEY, so
rotating that key makes pending secrets unreadable: their Jobs then fail and say so."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"panel.secrets:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(value) -> str:
    """JSON-encode and encrypt `value`; the result is safe to store."""
    return _fernet().encrypt(json.dumps(value).encode()).decode()


def unseal(token: str):
    """The value sealed in `token`; ValueError if it was tampered with or the key changed."""
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ValueError("sealed value unreadable") from None
