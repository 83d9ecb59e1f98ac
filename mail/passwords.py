"""Mailbox passwords, hashed in a scheme Dovecot verifies itself.

The stored value carries Dovecot's `{SCHEME}` prefix, so the scheme can change (setting
`MAIL_PASSWORD_SCHEME`) while older hashes keep working. SHA512-CRYPT is the default:
Dovecot checks it in milliseconds, where ARGON2ID costs about 0.4 s per login.
"""

from argon2 import PasswordHasher, Type
from argon2.exceptions import VerificationError
from django.conf import settings
from passlib.hash import sha512_crypt

# Dovecot's own defaults for ARGON2ID (libsodium's "interactive" limits).
_argon2id = PasswordHasher(time_cost=2, memory_cost=65536, parallelism=1, type=Type.ID)


def _argon2id_verify(raw: str, hashed: str) -> bool:
    try:
        return _argon2id.verify(hashed, raw)
    except VerificationError:
        return False


SCHEMES = {
    "SHA512-CRYPT": lambda raw: sha512_crypt.using(rounds=5000).hash(raw),
    "ARGON2ID": _argon2id.hash,
}
VERIFIERS = {
    "SHA512-CRYPT": sha512_crypt.verify,
    "ARGON2ID": _argon2id_verify,
}


def hash_password(raw: str, scheme: str | None = None) -> str:
    """`{SCHEME}hash` of a mailbox password."""
    scheme = scheme or settings.MAIL_PASSWORD_SCHEME
    return f"{{{scheme}}}{SCHEMES[scheme](raw)}"


def check_password(raw: str, stored: str) -> bool:
    """Whether `raw` matches a `{SCHEME}hash` value."""
    if not stored.startswith("{") or "}" not in stored:
        return False
    scheme, _sep, hashed = stored[1:].partition("}")
    verify = VERIFIERS.get(scheme)
    return bool(verify and verify(raw, hashed))
