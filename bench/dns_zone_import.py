"""Benchmark: checking a zone file on import is linear in its lines.

Reads and checks (every record through the panel's rules, the CNAME rule per name) a file
of 1,000 and one of 50,000 A records whose last line is bad, as a PUT of zone-file/ does
before it writes anything, and prints the time per record of each and their ratio
(goal: at most 1.5; it was quadratic, about 25x per record from 1,000 to 4,000 lines).

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/dns_zone_import.py
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

import django  # noqa: E402

django.setup()

from domains import zonefiles  # noqa: E402

ZONE = "bench.example"


def zone_file(records: int) -> str:
    head = [
        "$TTL 3600",
        f"@ SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 3600",
        f"@ NS ns1.{ZONE}.",
        "ns1 A 192.0.2.53",
    ]
    body = [f"h{n} A 192.0.2.1" for n in range(records)]  # short: 50,000 fit the size cap
    return "\n".join([*head, *body, "bad A not-an-address"]) + "\n"


def seconds_per_record(records: int, repeat: int) -> float:
    text = zone_file(records)
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        try:
            zonefiles._clean_file(ZONE, text)
        except zonefiles.ZoneFileInvalid as error:
            assert error.line == records + 5, error.line  # the bad last line, named
        else:
            raise AssertionError("the bad last line was accepted")
        best = min(best, time.perf_counter() - began)
    return best / records


small = seconds_per_record(1_000, repeat=20)
large = seconds_per_record(50_000, repeat=3)
print(f"zone file check, 1,000 records:  {small * 1e6:7.1f} µs per record")
print(f"zone file check, 50,000 records: {large * 1e6:7.1f} µs per record")
print(f"ratio per record, 50,000 / 1,000: {large / small:.2f} (goal <= 1.5)")
