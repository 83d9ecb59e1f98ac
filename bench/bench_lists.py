"""Benchmark: list endpoints stay flat as an organisation grows.

For each list (members, teams, activity, jobs) it times the API request with a small
organisation (the baseline, 10 rows) and a large one (1,000 rows), in the same run,
and prints the time per request, the SQL queries per request and the ratio large/small.
A list that queries per row shows a query ratio above 1 and a time ratio near 100.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/bench_lists.py

It uses a throw-away SQLite database (or DATABASE_URL if set to a scratch database).
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

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from panel.models import (  # noqa: E402
    ActivityEvent,
    Job,
    Membership,
    Organisation,
    Role,
    Team,
    TeamMember,
    User,
)

SMALL, LARGE, REPEAT = 10, 1000, 15


def build(size: int, tag: str) -> tuple[User, Organisation]:
    owner = User.objects.create_user(email=f"owner-{tag}@bench.test", password=None)
    org = Organisation.objects.create(name=f"Bench {tag}")
    Membership.objects.create(organisation=org, user=owner, role=Role.LEGAL_REPRESENTATIVE)
    users = User.objects.bulk_create(
        User(email=f"p{i}-{tag}@bench.test", password="!") for i in range(size)
    )
    Membership.objects.bulk_create(Membership(organisation=org, user=u) for u in users)
    teams = Team.objects.bulk_create(
        Team(organisation=org, name=f"Team {i}", leader=users[i]) for i in range(size)
    )
    TeamMember.objects.bulk_create(
        TeamMember(organisation=org, team=t, user=u) for t, u in zip(teams, users, strict=True)
    )
    ActivityEvent.objects.bulk_create(
        ActivityEvent(
            organisation=org,
            actor=users[i],
            actor_email=users[i].email,
            code="panel.team.created",
            target_repr=f"Team {i}",
        )
        for i in range(size)
    )
    Job.objects.bulk_create(
        Job(organisation=org, actor=owner, kind="activity_export", status="succeeded")
        for _ in range(size)
    )
    return owner, org


def measure(client: APIClient, url: str) -> tuple[float, int]:
    client.get(url)  # warm up
    timings = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url, {"page_size": SMALL})
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, {"page_size": SMALL})
    return statistics.median(timings) * 1000, len(queries)


def main() -> None:
    call_command("migrate", verbosity=0)
    worlds = {size: build(size, str(size)) for size in (SMALL, LARGE)}
    print(
        f"{'list':<12}{'ms @' + str(SMALL):>10}{'ms @' + str(LARGE):>11}"
        f"{'ratio':>8}{'queries':>10}{'queries':>10}"
    )
    for name in ("members", "teams", "activity", "jobs"):
        row = []
        for size in (SMALL, LARGE):
            owner, org = worlds[size]
            client = APIClient()
            client.force_authenticate(owner)
            row.append(measure(client, f"/api/v1/organisations/{org.pk}/{name}/"))
        (small_ms, small_q), (large_ms, large_q) = row
        print(
            f"{name:<12}{small_ms:>10.1f}{large_ms:>11.1f}{large_ms / small_ms:>8.2f}"
            f"{small_q:>10}{large_q:>10}"
        )
    print(
        f"(one page of {SMALL} rows each time; "
        f"baseline = an organisation of {SMALL} rows, same run)"
    )


if __name__ == "__main__":
    main()
