"""Benchmark: the address list of a Service Mail stays flat from 10 to 10,000 addresses.

It fills one service with 10 addresses (the baseline) and another with 10,000, every
tenth with an alias, a redirection and a linked person, then prints the p50 time of the
address list endpoint (one page of 10 rows) for both, their ratio and the SQL queries per
request. It also prints the password-hashing cost per address in the default scheme,
which is what creating addresses one by one, or from a CSV file, costs at least.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/mail_addresses.py

It uses a throw-away SQLite database, or DATABASE_URL if set to a scratch database (a
PostgreSQL one gives the production figures).
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")
scratch = tempfile.mkdtemp(prefix="panel-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
os.environ["PANEL_CACHE_BACKEND"] = "django.core.cache.backends.locmem.LocMemCache"
os.environ.setdefault("PANEL_ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from mail.models import Address, AddressUser, Alias, ForwardTarget, MailService  # noqa: E402
from mail.passwords import hash_password  # noqa: E402
from panel.models import Membership, Organisation, Role, User  # noqa: E402

SMALL, LARGE, REPEAT = 10, 10_000, 25
# One page of SMALL rows in both cases: the ratio then shows what the data size costs.
PAGE = SMALL
HASH_ROUNDS = 100


def build(size: int) -> tuple[User, MailService]:
    owner = User.objects.create_user(email=f"owner{size}@bench.test", password=None)
    org = Organisation.objects.create(name=f"Bench {size}")
    Membership.objects.create(organisation=org, user=owner, role=Role.LEGAL_REPRESENTATIVE)
    service = MailService.objects.create(
        organisation=org,
        name=f"bench{size}.test",
        domain=f"bench{size}.test",
        plan="premium",
        address_quota=size,
    )
    stored = hash_password("Bench-Password-1")  # one hash: this part measures the list
    addresses = Address.objects.bulk_create(
        (
            Address(
                organisation=org, service=service, local_part=f"user{i:05d}", password_hash=stored
            )
            for i in range(size)
        ),
        batch_size=2000,
    )
    every_tenth = addresses[::10]
    Alias.objects.bulk_create(
        Alias(organisation=org, service=service, address=a, local_part=f"alias{a.local_part}")
        for a in every_tenth
    )
    ForwardTarget.objects.bulk_create(
        ForwardTarget(organisation=org, address=a, email=f"{a.local_part}@far.test")
        for a in every_tenth
    )
    AddressUser.objects.bulk_create(
        AddressUser(organisation=org, address=a, user=owner) for a in every_tenth
    )
    return owner, service


def p50_ms(client: APIClient, url: str) -> tuple[float, int]:
    client.get(url, {"page_size": PAGE})  # warm up
    timings = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url, {"page_size": PAGE})
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, {"page_size": PAGE})
    return statistics.median(timings) * 1000, len(queries)


def hashing_ms() -> float:
    timings = []
    for i in range(HASH_ROUNDS):
        start = time.perf_counter()
        hash_password(f"Bench-Password-{i}")
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}; filling {SMALL} and {LARGE} addresses ...")
    rows = {}
    for size in (SMALL, LARGE):
        owner, service = build(size)
        client = APIClient()
        client.force_authenticate(owner)
        url = (
            f"/api/v1/organisations/{service.organisation_id}/mail/services/{service.pk}/addresses/"
        )
        rows[size] = p50_ms(client, url)
    (small_ms, small_q), (large_ms, large_q) = rows[SMALL], rows[LARGE]
    print(f"{'addresses':<12}{'p50 ms':>9}{'queries':>9}")
    print(f"{SMALL:<12}{small_ms:>9.1f}{small_q:>9}")
    print(f"{LARGE:<12}{large_ms:>9.1f}{large_q:>9}")
    print(
        f"ratio {LARGE}/{SMALL}: {large_ms / small_ms:.2f} (baseline: {SMALL} addresses, same run)"
    )
    per_address = hashing_ms()
    print(
        f"password hashing ({settings.MAIL_PASSWORD_SCHEME}): {per_address:.1f} ms per address, "
        f"{1000 / per_address:.0f} addresses/s on one core"
    )


if __name__ == "__main__":
    main()
