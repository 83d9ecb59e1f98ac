"""A numbered seat is never sold twice, proved with real PostgreSQL: buyers in parallel
threads, each with its own connection and client address, pick the same seats through
the shop API (basket, then checkout) at once. Exactly one buyer gets each seat; the
others are told `seats_taken`; the database is counted, not only the answers."""

import datetime
from collections import Counter

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ticketing import services
from ticketing.models import Order, OrderStatus, Seat, Ticket
from ticketing.services.sales import counted

from .concurrency import at_once, rush_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hall(transactional_db):
    """The rush event with a numbered zone of 20 seats (row A, 1 to 20), free tickets."""
    office = rush_event()
    access = office["access"]
    zone = services.zone_create(
        access=access, date=office["date"], name="Hall", numbered=True, layout="A: 1-20"
    )
    tariff = services.tariff_create(access=access, zone=zone, name="Seat", price="0")
    services.event_update(access=access, event=office["event"], status="on_sale")
    seats = {int(s.number): s.pk for s in Seat.objects.filter(zone=zone)}
    return {**office, "zone": zone, "tariff": tariff, "seats": seats}


def _buy(client, tariff_id, seat_ids, basket_id=None):
    """One buyer: hold these seats (unless they hold a basket already), then check out.
    Returns "ordered" or the refusal's code."""
    if basket_id is None:
        held = client.post(
            "/api/v1/shop/rush/baskets/",
            {"items": [{"tariff": tariff_id, "seats": seat_ids}]},
            format="json",
        )
        if held.status_code != 201:
            return held.json()["code"]
        basket_id = held.json()["id"]
    ordered = client.post(
        f"/api/v1/shop/rush/baskets/{basket_id}/checkout/",
        {"name": "Buyer", "email": "buyer@example.test", "payment": "free"},
        format="json",
    )
    if ordered.status_code != 201:
        return ordered.json()["code"]
    return "ordered"


def in_parallel(jobs) -> list:
    return at_once(jobs, lambda n: APIClient(REMOTE_ADDR=f"10.{n // 250}.{n % 250}.2"))


def sold_per_seat(zone) -> Counter:
    return Counter(
        Ticket.objects.filter(counted(), zone=zone).values_list("seat__number", flat=True)
    )


def test_60_buyers_for_one_seat_one_gets_it(hall):
    seat = hall["seats"][7]
    outcomes = Counter(in_parallel([lambda c: _buy(c, hall["tariff"].pk, [seat])] * 60))
    assert outcomes == {"ordered": 1, "seats_taken": 59}
    assert sold_per_seat(hall["zone"]) == {"7": 1}
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 1


def test_ten_buyers_for_each_pair_of_seats_exactly_one_wins_each_seat(hall):
    """100 buyers, ten for each of the pairs 1-2, 3-4 ... 19-20, released together: one
    buyer wins each pair, every seat is sold exactly once, and an order holds the whole
    pair its buyer asked for, never half of it."""
    seats, tariff = hall["seats"], hall["tariff"].pk
    jobs = []
    for first in range(1, 21, 2):
        pair = (seats[first], seats[first + 1])
        jobs += [lambda c, pair=pair: (pair, _buy(c, tariff, list(pair)))] * 10
    results = in_parallel(jobs)
    assert Counter(outcome for _pair, outcome in results) == {"ordered": 10, "seats_taken": 90}
    won = sorted(pair for pair, outcome in results if outcome == "ordered")
    assert won == sorted((seats[n], seats[n + 1]) for n in range(1, 21, 2))
    assert sold_per_seat(hall["zone"]) == {str(n): 1 for n in range(1, 21)}
    orders = Order.objects.filter(status=OrderStatus.PAID).prefetch_related("tickets")
    assert sorted(tuple(sorted(t.seat_id for t in o.tickets.all())) for o in orders) == won


def test_late_holders_and_new_buyers_race_for_seats_whose_holds_ran_out(hall):
    """Ten buyers hold a seat each, and their holds run out. Then the ten come back to
    check out while five new buyers per seat pick the same seats: each seat is sold
    exactly once, to a late holder or to a newcomer, and no job cleared anything."""
    seats, tariff = hall["seats"], hall["tariff"].pk
    keys = [
        services.basket_create(
            office=hall["office"], items=[{"tariff": tariff, "seats": [seats[n]]}]
        )[1]
        for n in range(1, 11)
    ]
    Ticket.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    jobs = [lambda c, key=key: _buy(c, tariff, None, basket_id=key) for key in keys]
    for n in range(1, 11):
        jobs += [lambda c, n=n: _buy(c, tariff, [seats[n]])] * 5
    outcomes = Counter(in_parallel(jobs))
    assert outcomes["ordered"] == 10
    assert outcomes["ordered"] + outcomes["seats_taken"] == 60
    assert sold_per_seat(hall["zone"]) == {str(n): 1 for n in range(1, 11)}
    sold = Ticket.objects.filter(zone=hall["zone"], expires_at__isnull=True, cancelled=False)
    assert sold.count() == 10
