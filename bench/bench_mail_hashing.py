"""Benchmark: the cost of hashing one mailbox password, per Dovecot scheme.

Bulk creation from CSV hashes one password per address, so this cost bounds how fast a
file of addresses can be created. The baseline is SHA512-CRYPT, the default scheme,
measured in the same run.

    .venv/bin/python bench/bench_mail_hashing.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

import django  # noqa: E402

django.setup()

from mail.passwords import SCHEMES, check_password, hash_password  # noqa: E402

ROUNDS = {"SHA512-CRYPT": 200, "ARGON2ID": 20}


def per_hash_ms(scheme: str, rounds: int) -> float:
    timings = []
    for i in range(rounds):
        start = time.perf_counter()
        stored = hash_password(f"Correct-horse-{i}", scheme)
        timings.append(time.perf_counter() - start)
    assert check_password(f"Correct-horse-{rounds - 1}", stored)
    return statistics.median(timings) * 1000


def main() -> None:
    baseline = per_hash_ms("SHA512-CRYPT", ROUNDS["SHA512-CRYPT"])
    print(f"{'scheme':<14}{'ms/hash':>9}{'ratio':>8}{'addresses/s':>13}")
    for scheme in SCHEMES:
        ms = baseline if scheme == "SHA512-CRYPT" else per_hash_ms(scheme, ROUNDS[scheme])
        print(f"{scheme:<14}{ms:>9.2f}{ms / baseline:>8.2f}{1000 / ms:>13.0f}")
    print("(median of repeated hashes; baseline = SHA512-CRYPT, the default, same run)")


if __name__ == "__main__":
    main()
