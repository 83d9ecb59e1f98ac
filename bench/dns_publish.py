"""Benchmark: from an API record change to PowerDNS serving it, and exporting big zones.

It starts a private PowerDNS (the test rig's, configured from deploy/pdns), then:

1. changes one A record 200 times through the panel's API (PATCH records/) and, after
   each change, asks PowerDNS over UDP until the new address is served. It prints the p50
   and p95 of that delay, and their ratio to the same change sent straight to PowerDNS's
   HTTP API (the baseline, measured in the same run: the panel's own cost is the ratio);
2. exports a 10,000-record zone as a BIND file through the API, and prints the time and
   its ratio per record to exporting a 100-record zone.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/dns_publish.py

Needs pdns-server and pdns-backend-sqlite3 (as the tests do); uses a scratch SQLite
database.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

from tests.rig import Rig  # noqa: E402

rig = Rig()
powerdns = rig.require("powerdns")
scratch = tempfile.mkdtemp(prefix="panel-bench-")
os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
os.environ["PANEL_CACHE_BACKEND"] = "django.core.cache.backends.locmem.LocMemCache"
os.environ["PANEL_DNS_PUBLISHER"] = "powerdns"
os.environ["PANEL_API_RATE_USER"] = "1000000/min"
os.environ.setdefault("PANEL_ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from domains.models import Domain, RRset  # noqa: E402
from panel.models import Membership, Organisation, Role, User  # noqa: E402

CHANGES = 200


def served_a(name: str) -> list[str]:
    response = dns.query.udp(
        dns.message.make_query(name, "A"), "127.0.0.1", port=powerdns.dns_port, timeout=2
    )
    return [item.to_text() for rrset in response.answer for item in rrset]


def wait_served(name: str, address: str) -> None:
    deadline = time.monotonic() + 10
    while address not in served_a(name):
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} never served {address}")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user(email="owner@bench.test", password=None)
    org = Organisation.objects.create(name="Bench")
    Membership.objects.create(organisation=org, user=owner, role=Role.LEGAL_REPRESENTATIVE)
    client = APIClient()
    client.force_authenticate(owner)
    base = f"/api/v1/organisations/{org.pk}/domains/"
    for name in ("bench.test", "raw.test", "big.test", "small.test"):
        assert client.post(base, {"name": name, "kind": "normal"}, format="json").status_code == 201

    # 1. The panel's path: API -> checks -> database -> PowerDNS API -> served.
    panel = []
    for i in range(CHANGES):
        address = f"192.0.2.{i % 250 + 1}" if i % 2 else f"198.51.100.{i % 250 + 1}"
        start = time.perf_counter()
        response = client.patch(
            f"{base}bench.test/records/",
            [{"name": "www", "type": "A", "ttl": 60, "records": [address]}],
            format="json",
        )
        assert response.status_code == 200, response.content
        wait_served("www.bench.test", address)
        panel.append(time.perf_counter() - start)

    # Baseline: the same change sent straight to PowerDNS's API.
    session = requests.Session()
    session.headers["X-API-Key"] = powerdns.api_key
    url = f"{powerdns.api_url}/servers/localhost/zones/raw.test."
    raw = []
    for i in range(CHANGES):
        address = f"192.0.2.{i % 250 + 1}" if i % 2 else f"198.51.100.{i % 250 + 1}"
        start = time.perf_counter()
        rrset = {
            "name": "www.raw.test.",
            "type": "A",
            "ttl": 60,
            "changetype": "REPLACE",
            "records": [{"content": address, "disabled": False}],
        }
        assert session.patch(url, json={"rrsets": [rrset]}, timeout=5).status_code == 204
        wait_served("www.raw.test", address)
        raw.append(time.perf_counter() - start)

    # 2. Exports.
    def fill(name, count):
        domain = Domain.objects.get(name=name)
        RRset.objects.bulk_create(
            RRset(
                organisation=org,
                domain=domain,
                name=f"host{i}.{name}",
                type="A",
                ttl=3600,
                records=[f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"],
            )
            for i in range(count)
        )

    def export_seconds(name):
        start = time.perf_counter()
        response = client.get(f"{base}{name}/zone-file/")
        assert response.status_code == 200, response.status_code
        return time.perf_counter() - start

    fill("big.test", 10_000)
    fill("small.test", 100)
    export_seconds("small.test")  # warm up
    small = statistics.median(export_seconds("small.test") for _ in range(5))
    big = export_seconds("big.test")

    p50, p95 = percentile(panel, 0.5), percentile(panel, 0.95)
    raw50, raw95 = percentile(raw, 0.5), percentile(raw, 0.95)
    print(f"{CHANGES} record changes, from the request to PowerDNS serving the new answer:")
    print(f"  panel API  p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms")
    print(f"  PowerDNS   p50 {raw50 * 1000:6.1f} ms  p95 {raw95 * 1000:6.1f} ms  (baseline)")
    print(f"  ratio      p50 {p50 / raw50:.2f}  p95 {p95 / raw95:.2f}")
    per_big, per_small = big / 10_000 * 1000, small / 100 * 1000
    print(f"export of a 10,000-record zone: {big * 1000:.0f} ms")
    print(
        f"  {per_big:.3f} ms per record, vs {per_small:.3f} ms for a 100-record zone: "
        f"ratio {per_big / per_small:.2f}"
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        rig.stop()
