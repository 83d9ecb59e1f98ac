"""Hashing of API token secrets: tokens carry 256 random bits, so one SHA-256 suffices."""

import hashlib


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
