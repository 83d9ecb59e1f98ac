"""Benchmark: scans per second at one door (one check-in list) through the Manager API,
against the same number of plain order lookups (the baseline, measured in the same run).

It starts the rig's PostgreSQL and Redis, runs the panel under gunicorn as
docker-compose.yml deploys it (sync workers, connections kept 60 s, no DEBUG), and sends
BENCH_DEVICES concurrent scanners at it over HTTP with one personal access token. Each
device scans sold tickets of its own, one after the other (POST checkin-lists/<id>/
scans/), and every REPEAT_EVERY-th request sends its previous scan again (a retry with
the same scan_id, which must answer the same and record nothing). The baseline is the
same devices reading an order each (GET orders/<id>/): an authenticated read of about
the same size that takes no lock and writes nothing. It prints both rates, their ratio
(1.0: a scan costs no more than a read), the latencies, the SQL queries of a scan, and
checks in the database that every ticket came in once at most and that the retries
recorded nothing.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/ticketing_checkin.py

BENCH_DEVICES (20), BENCH_WORKERS (gunicorn workers, 4), BENCH_SECONDS (10 per
measured run) and BENCH_TICKETS (8,000 sold tickets) change the load.
"""

import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

from bench.support.serving import GunicornServer, tree_cpu_seconds  # noqa: E402
from tests.rig import Rig, free_port  # noqa: E402

rig = Rig()
rig.require("postgresql")
rig.require("redis")
scratch = Path(tempfile.mkdtemp(prefix="panel-bench-"))
# Every device uses the same token: the API's limit per user would stop the bench itself.
os.environ["PANEL_API_RATE_USER"] = "100000000/min"
os.environ["PANEL_DEBUG"] = "0"
os.environ.setdefault("PANEL_ALLOWED_HOSTS", "127.0.0.1,testserver")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from panel.access import access_for  # noqa: E402
from panel.models import Membership, Organisation, Role, User  # noqa: E402
from panel.services.tokens import token_create  # noqa: E402
from ticketing import secrets, services  # noqa: E402
from ticketing.models import Scan, Ticket  # noqa: E402

DEVICES = int(os.environ.get("BENCH_DEVICES", 20))
WORKERS = int(os.environ.get("BENCH_WORKERS", 4))
SECONDS = float(os.environ.get("BENCH_SECONDS", 10))
TICKETS = int(os.environ.get("BENCH_TICKETS", 8000))
RAMP_SECONDS = 1.0
WARM_UP_SECONDS = 3.0
REPEAT_EVERY = 10
PER_ORDER = 100
CORES = len(os.sched_getaffinity(0))


def build() -> dict:
    """An office with one event on sale, TICKETS sold (free, paid at once) in orders of
    PER_ORDER, the door's check-in list, a warm-up list, and a read-write token."""
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user(email="owner@bench.test", password=None)
    org = Organisation.objects.create(name="Bench")
    Membership.objects.create(organisation=org, user=owner, role=Role.LEGAL_REPRESENTATIVE)
    access = access_for(owner, org)
    office = services.office_create(access=access, name="Bench", slug="bench", currency="CHF")
    event = services.event_create(access=access, office=office, title="Door")
    date = services.date_create(
        access=access, event=event, starts_at=timezone.now() + timezone.timedelta(days=1)
    )
    zone = services.zone_create(access=access, date=date, name="Hall", capacity=TICKETS)
    tariff = services.tariff_create(
        access=access, zone=zone, name="Free", price="0", max_per_order=PER_ORDER
    )
    services.event_update(access=access, event=event, status="on_sale")
    orders = []
    for start in range(0, TICKETS, PER_ORDER):
        quantity = min(PER_ORDER, TICKETS - start)
        basket, _key = services.basket_create(
            office=office, items=[{"tariff": tariff.pk, "quantity": quantity}]
        )
        order = services.checkout(
            basket=basket, name="Door guest", email="guest@bench.test", payment="free"
        )
        orders.append(order.pk)
    tickets = list(Ticket.objects.filter(zone=zone).order_by("pk").values_list("nonce", "order_id"))
    _token, token = token_create(actor=owner, name="door", scopes=["read", "write"])
    door = services.checkin_list_create(access=access, event=event, name="Main door")
    warm = services.checkin_list_create(access=access, event=event, name="Warm-up")
    return {
        "org": org.pk,
        "owner": owner,
        "token": token,
        "door": door.pk,
        "warm": warm.pk,
        "secrets": [secrets.ticket_secret(nonce) for nonce, _order in tickets],
        "orders": orders,
    }


def call(port, token, method, path, body, expected) -> dict:
    """One request on its own connection (gunicorn's sync workers close each one)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != expected:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data)


def cpu_sample(server: GunicornServer) -> dict[str, float]:
    return {
        "wall": time.perf_counter(),
        "panel": tree_cpu_seconds(server.proc.pid),
        "postgresql": tree_cpu_seconds(rig.servers["postgresql"].proc.pid),
        "redis": tree_cpu_seconds(rig.servers["redis"].proc.pid),
        "client": time.process_time(),
    }


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


class Run:
    """DEVICES threads calling `request(device, n)` for RAMP_SECONDS, then measured for
    SECONDS. `request` returns the answer's result (or "read")."""

    def __init__(self, request) -> None:
        self.request = request
        self.lock = threading.Lock()
        self.recording = False
        self.stopping = False
        self.latencies: list[float] = []
        self.results: Counter = Counter()
        self.errors: list[str] = []

    def device(self, number: int) -> None:
        n = 0
        while not self.stopping:
            began = time.perf_counter()
            try:
                result = self.request(number, n)
            except IndexError:
                self.errors.append("out of tickets: raise BENCH_TICKETS")
                return
            except Exception as error:  # noqa: BLE001 - counted and shown
                self.errors.append(str(error))
                continue
            finally:
                n += 1
            elapsed = time.perf_counter() - began
            with self.lock:
                self.results[result] += 1
                if self.recording:
                    self.latencies.append(elapsed)

    def measure(self, server: GunicornServer, ramp=RAMP_SECONDS, seconds=SECONDS) -> "Figures":
        threads = [threading.Thread(target=self.device, args=(n,)) for n in range(DEVICES)]
        for thread in threads:
            thread.start()
        time.sleep(ramp)
        began = cpu_sample(server)
        self.recording = True
        time.sleep(seconds)
        self.recording = False
        ended = cpu_sample(server)
        self.stopping = True
        for thread in threads:
            thread.join()
        return Figures(self.latencies, began, ended, self.errors, self.results)


class Figures:
    def __init__(self, latencies, began, ended, errors, results) -> None:
        seconds = ended["wall"] - began["wall"]
        self.count = len(latencies)
        self.rate = self.count / seconds if seconds else 0.0
        count = max(self.count, 1)
        self.cpu_ms = {
            name: (ended[name] - began[name]) / count * 1000 for name in began if name != "wall"
        }
        self.cpu_per_request = sum(self.cpu_ms.values()) - self.cpu_ms["client"]
        self.ceiling = CORES * 1000 / self.cpu_per_request if self.cpu_per_request else 0.0
        self.p50 = percentile(latencies, 0.5) * 1000
        self.p99 = percentile(latencies, 0.99) * 1000
        self.errors = errors
        self.results = results

    def row(self, name: str) -> str:
        cpu = "/".join(f"{self.cpu_ms[n]:.1f}" for n in ("panel", "postgresql", "redis", "client"))
        return (
            f"  {name:<24}{self.rate:>9.1f}{self.p50:>8.0f}{self.p99:>8.0f}{cpu:>22}"
            f"{self.ceiling:>9.0f}"
        )


class Scanner:
    """What the devices do at the door: device d scans tickets d, d + DEVICES, ... and
    every REPEAT_EVERY-th request retries its previous scan. Remembers each first
    answer, so that a retry answering otherwise is an error."""

    def __init__(self, port, world, list_id, codes) -> None:
        self.port, self.world, self.list_id, self.codes = port, world, list_id, codes
        self.next = [0] * DEVICES
        self.last: list[tuple[str, str, str] | None] = [None] * DEVICES
        #: first scans answered, per device (each device's own counter: no lock needed)
        self.made = [0] * DEVICES

    @property
    def first_scans(self) -> int:
        return sum(self.made)

    def __call__(self, device: int, n: int) -> str:
        org, list_id = self.world["org"], self.list_id
        path = f"/api/v1/organisations/{org}/ticketing/checkin-lists/{list_id}/scans/"
        last = self.last[device]
        if last is not None and n % REPEAT_EVERY == REPEAT_EVERY - 1:
            scan_id, code, answered = last
            result = call(self.port, self.world["token"], "POST", path,
                          {"secret": code, "scan_id": scan_id}, 201)["result"]  # fmt: skip
            if result != answered:
                raise RuntimeError(f"retry of {scan_id} answered {result}, first {answered}")
            return "retry"
        index = device + self.next[device] * DEVICES
        self.next[device] += 1
        code = self.codes(index)
        scan_id = f"d{device}-{index}"
        result = call(self.port, self.world["token"], "POST", path,
                      {"secret": code, "scan_id": scan_id, "gate": f"Gate {device}"},
                      201)["result"]  # fmt: skip
        self.last[device] = (scan_id, code, result)
        self.made[device] += 1
        return result


def lookup(port, world):
    def request(device: int, n: int) -> str:
        orders = world["orders"]
        order = orders[(device + n * DEVICES) % len(orders)]
        path = f"/api/v1/organisations/{world['org']}/ticketing/orders/{order}/"
        call(port, world["token"], "GET", path, None, 200)
        return "read"

    return request


def queries_per_request(world: dict) -> tuple[int, int, int]:
    """SQL queries of a first scan, its retry, and an order lookup, in this process."""
    client = APIClient()
    client.force_authenticate(user=world["owner"])
    base = f"/api/v1/organisations/{world['org']}/ticketing/"
    body = {"secret": "NOT-A-TICKET-YET", "scan_id": "count-1"}
    counts = []
    for method, path, data in (
        ("post", f"checkin-lists/{world['warm']}/scans/", {**body, "secret": world["secrets"][-1]}),
        ("post", f"checkin-lists/{world['warm']}/scans/", {**body, "secret": world["secrets"][-1]}),
        ("get", f"orders/{world['orders'][0]}/", None),
    ):
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(base + path, data, format="json")
        assert response.status_code in (200, 201), response.content
        counts.append(len(queries))
    # The ticket counted with came in through the warm-up list: take it off the door's.
    world["secrets"].pop()
    return tuple(counts)


def main() -> None:
    started = time.monotonic()
    busy = os.getloadavg()[0]
    world = build()
    queries = queries_per_request(world)
    built = time.monotonic() - started
    server = GunicornServer(port=free_port(), workers=WORKERS, scratch=scratch)
    try:
        warm = Scanner(server.port, world, world["warm"], lambda i: f"WARM{i}")
        Run(warm).measure(server, ramp=WARM_UP_SECONDS, seconds=0)
        Run(lookup(server.port, world)).measure(server, ramp=1.0, seconds=0)
        door = Scanner(server.port, world, world["door"], lambda i: world["secrets"][i])
        scans = Run(door).measure(server)
        reads = Run(lookup(server.port, world)).measure(server)
    finally:
        server.stop()

    print(
        f"{DEVICES} concurrent devices over HTTP with one token, gunicorn with {WORKERS} sync "
        f"workers, PostgreSQL {rig.servers['postgresql'].version}; {SECONDS:.0f} s measured "
        f"each; every {REPEAT_EVERY}th scan a retry of the device's previous scan_id"
    )
    print(f"  {'':<24}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms/request':>22}"
          f"{'ceiling':>9}")  # fmt: skip
    print(scans.row("scans, one list"))
    print(reads.row("order lookups (baseline)"))
    print(f"  CPU: panel / PostgreSQL / Redis / load generator; ceiling: requests/s if the "
          f"request's CPU (load generator aside) had the {CORES} cores to itself")  # fmt: skip
    print(f"  SQL queries: a scan {queries[0]}, its retry {queries[1]}, an order lookup "
          f"{queries[2]}")  # fmt: skip
    print(f"  scan answers: {dict(scans.results)}")
    if busy > CORES:
        print(f"  warning: load average {busy:.1f} on {CORES} cores before the bench started: "
              "the measured rates are low; the CPU per request holds")  # fmt: skip
    problems = []
    for name, figures in (("scans", scans), ("lookups", reads)):
        if figures.errors:
            problems.append(f"{name}: {len(figures.errors)} failed, first: {figures.errors[0]}")
    twice = (
        Scan.objects.filter(result="valid", direction="entry")
        .values("ticket_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if twice:
        problems.append(f"{twice} tickets came in twice")
    stored = Scan.objects.filter(checkin_list_id=world["door"]).count()
    if stored != door.first_scans:
        problems.append(f"{stored} scans stored on the door's list, {door.first_scans} made")
    if scans.results.get("valid", 0) != door.first_scans:
        problems.append(f"not every first scan was valid: {dict(scans.results)}")
    print(f"  scans stored on the door's list: {stored}; tickets in twice, retries recorded "
          f"or refusals: {problems or 'none'}")  # fmt: skip
    ratio = scans.rate / reads.rate if reads.rate else 0.0
    print(
        f"scans {scans.rate:.1f}/s (p99 {scans.p99:.0f} ms) against order lookups "
        f"{reads.rate:.1f}/s (p99 {reads.p99:.0f} ms): ratio {ratio:.2f}"
    )
    print(f"bench: {time.monotonic() - started:.0f} s (building {built:.0f} s)")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    try:
        main()
    finally:
        rig.stop()
        shutil.rmtree(scratch, ignore_errors=True)
