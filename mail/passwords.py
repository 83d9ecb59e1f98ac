"""Mailbox passwords, hashed in a scheme Dovecot verifies itself.

The stored value carries Dovecot's `{SCHEME}` prefix, so the scheme can change (setting
`MAIL_PASSWORD_SCHEME`) while older hashes keep working. SHA512-CRYPT is the default:
Dovecot checks it in milliseconds, where ARGON2ID costs about 0.4 s per login.
"""

import os
import warnings

import billiard
from argon2 import PasswordHasher, Type
from argon2.exceptions import VerificationError
from django.conf import settings
from passlib.hash import sha512_crypt

with warnings.catch_warnings():  # deprecated in 3.11, gone in 3.13: then passlib's own code
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import crypt as _system_crypt
    except ImportError:  # pragma: no cover - Python 3.13+
        _system_crypt = None


def _sha512_crypt(raw: str) -> str:
    """SHA512-CRYPT with 5000 rounds (Dovecot's default), by the C library when Python
    still exposes it: twice as fast as passlib's pure-Python code, same result format."""
    if _system_crypt is not None:
        return _system_crypt.crypt(raw, _system_crypt.mksalt(_system_crypt.METHOD_SHA512))
    return sha512_crypt.using(rounds=5000).hash(raw)


# Dovecot's own defaults for ARGON2ID (libsodium's "interactive" limits).
_argon2id = PasswordHasher(time_cost=2, memory_cost=65536, parallelism=1, type=Type.ID)


def _argon2id_verify(raw: str, hashed: str) -> bool:
    try:
        return _argon2id.verify(hashed, raw)
    except VerificationError:
        return False


SCHEMES = {
    "SHA512-CRYPT": _sha512_crypt,
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


#: Below this many passwords, starting worker processes costs more than it saves.
PARALLEL_FROM = 64


def _hash_with(args: tuple[str, str]) -> str:
    raw, scheme = args
    return f"{{{scheme}}}{SCHEMES[scheme](raw)}"


def hash_many(passwords, scheme: str | None = None, *, on_progress=None, processes=None):
    """Hash many passwords on every core (hashing dominates bulk creation), in order.
    `on_progress(done)` is called as results come in."""
    scheme = scheme or settings.MAIL_PASSWORD_SCHEME
    passwords = list(passwords)
    work = [(raw, scheme) for raw in passwords]
    processes = processes or os.cpu_count() or 1
    if len(work) < PARALLEL_FROM or processes == 1:
        results = []
        for item in work:
            results.append(_hash_with(item))
            if on_progress and len(results) % 100 == 0:
                on_progress(len(results))
        return results
    # billiard (Celery's multiprocessing) because a prefork worker's child is daemonic and
    # the standard library refuses children there. fork: the children only hash.
    chunk = max(16, len(work) // (processes * 20))
    results = []
    with billiard.get_context("fork").Pool(processes) as pool:
        for hashed in pool.imap(_hash_with, work, chunksize=chunk):
            results.append(hashed)
            if on_progress and len(results) % 100 == 0:
                on_progress(len(results))
    return results
