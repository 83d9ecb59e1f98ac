"""Never oversell, proved with real PostgreSQL: buyers in parallel threads, each with its
own database connection and client address, go through the shop API (basket, then
checkout) at once. The results are counted in the database, not only in the answers.

The rig's PostgreSQL takes 300 connections: the 200 buyer threads are released together,
each with its own connection, so every seat is fought over by twice as many buyers."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ticketing import services
from ticketing.models import Basket, Order, OrderStatus, Ticket
from ticketing.services.sales import counted

from .concurrency import at_once, rush_event

pytestmark = pytest.mark.django_db(transaction=True)

BUYERS = 200


@pytest.fixture
def office(transactional_db):
    return rush_event()


def _tariff(office, *, capacity, cap=None, price="0"):
    access = office["access"]
    zone = services.zone_create(access=access, date=office["date"], name="Floor", capacity=capacity)
    tariff = services.tariff_create(
        access=access, zone=zone, name="Standing", price=Decimal(price), cap=cap
    )
    services.event_update(access=access, event=office["event"], status="on_sale")
    return tariff


def _buy(client, tariff_id, payment="free", basket_id=None):
    """One buyer: hold one seat (unless they hold one already), then check out. Returns
    what they were told: "ordered", or the refusal's code."""
    if basket_id is None:
        held = client.post(
            "/api/v1/shop/rush/baskets/",
            {"items": [{"tariff": tariff_id, "quantity": 1}]},
            format="json",
        )
        if held.status_code != 201:
            return held.json()["code"]
        basket_id = held.json()["id"]
    ordered = client.post(
        f"/api/v1/shop/rush/baskets/{basket_id}/checkout/",
        {"name": "Buyer", "email": "buyer@example.test", "payment": payment},
        format="json",
    )
    if ordered.status_code != 201:
        return ordered.json()["code"]
    return "ordered"


def in_parallel(jobs) -> Counter:
    """Every job at once, each buyer with its own client address and connection; how
    many times each outcome came back."""
    return Counter(at_once(jobs, lambda n: APIClient(REMOTE_ADDR=f"10.{n // 250}.{n % 250}.1")))


def seats_taken(zone_id) -> int:
    return Ticket.objects.filter(counted(), zone_id=zone_id).count()


def test_200_buyers_for_100_seats_100_are_sold_and_100_told_sold_out(office):
    tariff = _tariff(office, capacity=100)
    outcomes = in_parallel([lambda c: _buy(c, tariff.pk)] * BUYERS)
    assert outcomes == {"ordered": 100, "sold_out": 100}
    sold = Ticket.objects.filter(zone=tariff.zone, order__status=OrderStatus.PAID)
    assert sold.filter(expires_at__isnull=True, cancelled=False).count() == 100
    assert seats_taken(tariff.zone_id) == 100
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 100
    assert Basket.objects.count() == 100  # a refused buyer holds no basket


def test_a_tariff_cap_holds_inside_a_bigger_zone(office):
    capped = _tariff(office, capacity=300, cap=100, price="30")
    outcomes = in_parallel([lambda c: _buy(c, capped.pk, payment="later")] * BUYERS)
    assert outcomes == {"ordered": 100, "sold_out": 100}
    assert Ticket.objects.filter(counted(), tariff=capped).count() == 100
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 100
    # The rest of the zone is still on sale through another tariff.
    other = services.tariff_create(
        access=office["access"], zone=capped.zone, name="Other", price=Decimal("0"),
        max_per_order=10,
    )  # fmt: skip
    outcomes = in_parallel([lambda c: _buy(c, other.pk)] * 20)
    assert outcomes == {"ordered": 20}
    assert seats_taken(capped.zone_id) == 120


def test_holds_that_expire_free_their_seats_while_others_buy(office):
    """50 baskets hold a seat each; 30 of these holds run out before the rush. 200 new
    buyers, the 30 late holders and the 20 holders still in time then check out at once:
    the 20 in time always get theirs, everyone else shares the 80 seats left, and no job
    ever cleared the expired holds."""
    tariff = _tariff(office, capacity=100)
    keys = [
        services.basket_create(
            office=office["office"], items=[{"tariff": tariff.pk, "quantity": 1}]
        )[1]
        for _n in range(50)
    ]
    late, in_time = keys[:30], keys[30:]
    past = timezone.now() - datetime.timedelta(seconds=1)
    Ticket.objects.filter(pk__in=Ticket.objects.order_by("pk")[:30].values("pk")).update(
        expires_at=past
    )
    assert seats_taken(tariff.zone_id) == 20

    buyers = [("new", lambda c: _buy(c, tariff.pk))] * BUYERS
    buyers += [("late", lambda c, k=k: _buy(c, tariff.pk, basket_id=k)) for k in late]
    buyers += [("in time", lambda c, k=k: _buy(c, tariff.pk, basket_id=k)) for k in in_time]
    outcomes = in_parallel(
        [lambda c, kind=kind, job=job: f"{kind} {job(c)}" for kind, job in buyers]
    )

    assert outcomes["in time ordered"] == 20
    assert outcomes["new ordered"] + outcomes["late ordered"] == 80
    assert outcomes["new sold_out"] + outcomes["late sold_out"] == 150
    assert sum(outcomes.values()) == 250
    assert Ticket.objects.filter(expires_at__isnull=True, cancelled=False).count() == 100
    assert seats_taken(tariff.zone_id) == 100
    assert Order.objects.count() == 100
