"""Benchmark: orders per second through the public shop's API on one hot zone, against the
same load spread over 50 events (the baseline, measured in the same run).

It starts the rig's PostgreSQL and Redis, runs the panel under gunicorn as
docker-compose.yml deploys it (sync workers, connections kept 60 s, no DEBUG, the shop's
rate limit counted in Redis), and sends BENCH_BUYERS concurrent buyers at it over HTTP.
Each buyer places orders one after the other, as the shop's API asks: hold two seats
(POST baskets/), answer the tariff's form for each ticket (PUT answers/), check out and
pay later (POST checkout/); and again with the answers sent in the checkout, one
request fewer. The buyers either all buy in one zone of one event, where
every basket and checkout takes that zone's row lock (services/sales.py), or each order
goes to one of 50 events, where the locks hardly ever meet. It prints both rates, their
ratio (1.0: the hot zone costs nothing), the latencies, the SQL queries of each step,
and checks in the database that no zone holds more tickets than its capacity.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/ticketing_checkout.py

pretix documents that its old event-wide lock capped it at 300-400 tickets a minute per
event; the goal here is 60 orders a second on one hot zone of this 2-core machine.
BENCH_BUYERS (16), BENCH_WORKERS (gunicorn workers, 4) and BENCH_SECONDS (10 per
measured run) change the load.
"""

import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
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
# Every buyer comes from 127.0.0.1: the limit per address would stop the bench itself.
os.environ["PANEL_TICKETING_SHOP_RATE"] = "100000000/min"
os.environ["PANEL_DEBUG"] = "0"
os.environ.setdefault("PANEL_ALLOWED_HOSTS", "127.0.0.1,testserver")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from panel.access import access_for  # noqa: E402
from panel.models import Membership, Organisation, Role, User  # noqa: E402
from ticketing import services  # noqa: E402
from ticketing.models import Order, Ticket, Zone  # noqa: E402
from ticketing.services.sales import counted  # noqa: E402

BUYERS = int(os.environ.get("BENCH_BUYERS", 16))
WORKERS = int(os.environ.get("BENCH_WORKERS", 4))
SECONDS = float(os.environ.get("BENCH_SECONDS", 10))
RAMP_SECONDS = 1.0
#: orders before the first measured run: each worker's first requests import and
#: compile what Django loads lazily
WARM_UP_SECONDS = 3.0
SPREAD = 50
TICKETS_PER_ORDER = 2
GOAL = 60  # orders per second on the hot zone
CORES = len(os.sched_getaffinity(0))
#: seats per zone: more than a run sells, so every order succeeds
CAPACITY = 100_000


def build() -> dict:
    """An office with one hot event and SPREAD others, each one date, one zone and one
    tariff whose form asks the attendee's name for each ticket."""
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user(email="owner@bench.test", password=None)
    org = Organisation.objects.create(name="Bench")
    Membership.objects.create(organisation=org, user=owner, role=Role.LEGAL_REPRESENTATIVE)
    access = access_for(owner, org)
    office = services.office_create(access=access, name="Bench", slug="bench", currency="CHF")
    form = services.form_create(access=access, office=office, name="Attendee")
    field = services.field_create(
        access=access, form=form, label="Attendee", type="text", required=True,
        show_on_ticket=True,
    )  # fmt: skip
    starts = timezone.now() + timezone.timedelta(days=30)

    def event(title):
        event = services.event_create(access=access, office=office, title=title)
        date = services.date_create(access=access, event=event, starts_at=starts)
        zone = services.zone_create(access=access, date=date, name="Hall", capacity=CAPACITY)
        tariff = services.tariff_create(
            access=access, zone=zone, name="Full", price="25.00", form=form.pk
        )
        services.event_update(access=access, event=event, status="on_sale")
        return tariff.pk

    return {
        "field": field.pk,
        "hot": [event("Hot")],
        "spread": [event(f"Event {n}") for n in range(SPREAD)],
    }


def call(port: int, method: str, path: str, body: dict, expected: int) -> dict:
    """One request on its own connection (gunicorn's sync workers close each one)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != expected:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data)


def one_order(port: int, tariff: int, field: int, together: bool) -> tuple[float, float, float]:
    """Hold, answer, check out; the time of each step. `together`: the answers go with
    the checkout (POST checkout/ takes `tickets`), one request fewer, answers step 0."""
    base = "/api/v1/shop/bench/"
    times = [time.perf_counter()]
    basket = call(port, "POST", base + "baskets/",
                  {"items": [{"tariff": tariff, "quantity": TICKETS_PER_ORDER}]}, 201)  # fmt: skip
    times.append(time.perf_counter())
    answers = [{"tariff": tariff, "answers": {str(field): "Ada Lovelace"}}] * TICKETS_PER_ORDER
    body = {"name": "Grace Hopper", "email": "grace@bench.test", "payment": "later"}
    if together:
        body["tickets"] = answers
    else:
        call(port, "PUT", f"{base}baskets/{basket['id']}/answers/", {"tickets": answers}, 200)
    times.append(time.perf_counter())
    call(port, "POST", f"{base}baskets/{basket['id']}/checkout/", body, 201)
    times.append(time.perf_counter())
    return times[1] - times[0], times[2] - times[1], times[3] - times[2]


class Run:
    """BUYERS threads ordering for RAMP_SECONDS, then measured for SECONDS."""

    def __init__(self, port: int, tariffs: list[int], field: int, together=False) -> None:
        self.port, self.tariffs, self.field, self.together = port, tariffs, field, together
        self.lock = threading.Lock()
        self.recording = False
        self.stopping = False
        self.steps: list[tuple[float, float, float]] = []
        #: orders answered 201, measured or not
        self.completed = 0
        self.errors: list[str] = []

    def buyer(self, number: int) -> None:
        n = number
        while not self.stopping:
            tariff = self.tariffs[n % len(self.tariffs)]
            n += BUYERS
            try:
                steps = one_order(self.port, tariff, self.field, self.together)
            except Exception as error:  # noqa: BLE001 - counted and shown
                self.errors.append(str(error))
                continue
            with self.lock:
                self.completed += 1
                if self.recording:
                    self.steps.append(steps)

    def measure(
        self, server: "GunicornServer", ramp: float = RAMP_SECONDS, seconds: float = SECONDS
    ) -> "Figures":
        threads = [threading.Thread(target=self.buyer, args=(n,)) for n in range(BUYERS)]
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
        figures = Figures(self.steps, began, ended, self.errors)
        figures.completed = self.completed
        return figures


def cpu_sample(server: "GunicornServer") -> dict[str, float]:
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


class Figures:
    """One measured run: the rate, latencies, and CPU milliseconds per order of the
    panel (gunicorn and its workers), PostgreSQL, Redis and the load generator."""

    def __init__(self, steps, began, ended, errors) -> None:
        seconds = ended["wall"] - began["wall"]
        self.orders = len(steps)
        self.rate = self.orders / seconds
        orders = max(self.orders, 1)
        self.cpu_ms = {
            name: (ended[name] - began[name]) / orders * 1000 for name in began if name != "wall"
        }
        #: what one order costs the machine, and the rate that gives on CORES idle cores
        self.cpu_per_order = sum(self.cpu_ms.values()) - self.cpu_ms["client"]
        self.whole_machine = CORES * 1000 / self.cpu_per_order if self.cpu_per_order else 0.0
        totals = [sum(s) for s in steps]
        self.p50 = percentile(totals, 0.5) * 1000
        self.p99 = percentile(totals, 0.99) * 1000
        self.step_p50 = [percentile([s[i] for s in steps], 0.5) * 1000 for i in range(3)]
        self.errors = errors

    def row(self, name: str) -> str:
        steps = "/".join(f"{ms:.0f}" if ms >= 0.5 else "-" for ms in self.step_p50)
        cpu = "/".join(f"{self.cpu_ms[n]:.1f}" for n in ("panel", "postgresql", "redis", "client"))
        return (
            f"  {name:<22}{self.rate:>9.1f}{self.rate * TICKETS_PER_ORDER * 60:>13,.0f}"
            f"{self.p50:>8.0f}{self.p99:>8.0f}{steps:>14}{cpu:>22}{self.whole_machine:>9.0f}"
        )


def queries_per_step(world: dict) -> list[int]:
    """The SQL queries of each step of one order, in this process (the same code path)."""
    client = APIClient(REMOTE_ADDR="192.0.2.1")
    tariff, field = world["spread"][0], world["field"]
    base = "/api/v1/shop/bench/"
    counts = []
    with CaptureQueriesContext(connection) as queries:
        basket = client.post(
            base + "baskets/",
            {"items": [{"tariff": tariff, "quantity": TICKETS_PER_ORDER}]},
            format="json",
        ).json()
    counts.append(len(queries))
    answers = [{"tariff": tariff, "answers": {str(field): "Ada"}}] * TICKETS_PER_ORDER
    with CaptureQueriesContext(connection) as queries:
        client.put(f"{base}baskets/{basket['id']}/answers/", {"tickets": answers}, format="json")
    counts.append(len(queries))
    body = {"name": "Grace", "email": "grace@bench.test", "payment": "later"}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"{base}baskets/{basket['id']}/checkout/", body, format="json")
    assert response.status_code == 201, response.content
    counts.append(len(queries))
    return counts


def oversold() -> list[str]:
    """Zones holding more tickets than their capacity (there must be none)."""
    problems = []
    for zone in Zone.objects.all():
        taken = Ticket.objects.filter(counted(), zone=zone).count()
        if taken > zone.capacity:
            problems.append(f"{zone.pk}: {taken} > {zone.capacity}")
    return problems


def main() -> None:
    started = time.monotonic()
    # Before the bench's own processes load the machine.
    busy = os.getloadavg()[0]
    world = build()
    queries = queries_per_step(world)
    server = GunicornServer(port=free_port(), workers=WORKERS, scratch=scratch)
    try:
        warm_up = Run(server.port, world["spread"], world["field"])
        warm_up.measure(server, ramp=WARM_UP_SECONDS, seconds=0)
        hot = Run(server.port, world["hot"], world["field"]).measure(server)
        spread = Run(server.port, world["spread"], world["field"]).measure(server)
        hot_together = Run(server.port, world["hot"], world["field"], True).measure(server)
        spread_together = Run(server.port, world["spread"], world["field"], True).measure(server)
    finally:
        server.stop()

    print(
        f"{BUYERS} concurrent buyers over HTTP, gunicorn with {WORKERS} sync workers, "
        f"PostgreSQL {rig.servers['postgresql'].version}; an order = hold {TICKETS_PER_ORDER} "
        f"seats, answer a form per ticket, check out (pay later); {SECONDS:.0f} s measured each"
    )
    print(f"  {'':<22}{'orders/s':>9}{'tickets/min':>13}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'steps p50 ms':>14}{'CPU ms/order':>22}{'ceiling':>9}")  # fmt: skip
    print(hot.row("one hot zone"))
    print(spread.row(f"spread over {SPREAD} events"))
    print("  the answers sent with the checkout (POST checkout/ with `tickets`):")
    print(hot_together.row("one hot zone"))
    print(spread_together.row(f"spread over {SPREAD} events"))
    print(f"  steps: hold / answers / checkout; CPU: panel / PostgreSQL / Redis / load "
          f"generator; ceiling: orders/s if the order's CPU (load generator aside) had the "
          f"{CORES} cores to itself")  # fmt: skip
    print(f"  SQL queries per step: hold {queries[0]}, answers {queries[1]}, "
          f"checkout {queries[2]}")  # fmt: skip
    if busy > CORES:
        print(
            f"  warning: load average {busy:.1f} on {CORES} cores before the bench started: "
            "other processes took part of the machine, the measured rates are low; the CPU "
            "per order holds"
        )
    runs = {"hot": hot, "spread": spread, "hot, together": hot_together,
            "spread, together": spread_together}  # fmt: skip
    for name, figures in runs.items():
        if figures.errors:
            print(f"  {name}: {len(figures.errors)} failed orders, first: {figures.errors[0]}")
    problems = oversold()
    # and the warm-up's orders, and the one counting queries
    answered = warm_up.completed + sum(figures.completed for figures in runs.values()) + 1
    if Order.objects.count() != answered:
        problems.append(f"{Order.objects.count()} orders in the database, {answered} answered")
    print(f"  orders in the database: {Order.objects.count()}; zones over capacity or "
          f"orders lost: {problems or 'none'}")  # fmt: skip
    for label, one, baseline in (
        ("answers apart", hot, spread),
        ("answers with the checkout", hot_together, spread_together),
    ):
        verdict = "met" if one.rate >= GOAL else "NOT met"
        print(
            f"{label}: one hot zone {one.rate:.1f} orders/s "
            f"({one.rate * TICKETS_PER_ORDER * 60:,.0f} tickets/min); spread over {SPREAD} "
            f"events {baseline.rate:.1f} orders/s; ratio {one.rate / baseline.rate:.2f}; "
            f"goal {GOAL} orders/s on one hot zone: {verdict}"
        )
    print(f"bench: {time.monotonic() - started:.0f} s")
    if problems or any(figures.errors for figures in runs.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    try:
        main()
    finally:
        rig.stop()
        shutil.rmtree(scratch, ignore_errors=True)
