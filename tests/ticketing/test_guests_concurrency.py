"""Guests and buyers share a zone, proved with real PostgreSQL: guests answering from
their personal page and buyers going through the shop API, all at once in parallel
threads (tests/ticketing/test_shop_concurrency.py's `in_parallel`). The seats are
counted in the database: never more than the zone's capacity."""

from decimal import Decimal

import pytest

from ticketing import services
from ticketing.models import Guest, GuestStatus, OrderStatus, Ticket
from ticketing.services.sales import counted

from .concurrency import rush_event
from .test_shop_concurrency import _buy, in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def zone_world(transactional_db):
    """A 40-seat floor of the "rush" shop, sold free, with 30 guests offered 2 seats each."""
    rush = rush_event()
    access, event, date = rush["access"], rush["event"], rush["date"]
    zone = services.zone_create(access=access, date=date, name="Floor", capacity=40)
    tariff = services.tariff_create(access=access, zone=zone, name="Standing", price=Decimal("0"))
    services.event_update(access=access, event=event, status="on_sale")
    guests = [
        services.guest_create(
            access=access,
            event=event,
            name=f"Guest {n}",
            email=f"guest{n}@example.test",
            tariff=tariff.pk,
            places=2,
        )  # fmt: skip
        for n in range(30)
    ]
    return {"access": access, "zone": zone, "tariff": tariff, "guests": guests}


def _answer(guest, *, accept=True, places=2):
    """One guest on their page: "accepted", or "refused" when the page says why not."""

    def job(client):
        page = client.post(
            f"/shop/rush/guests/{guest.link_key}/",
            {"answer": "accept" if accept else "decline", "places": str(places)},
        )
        if page.status_code == 302:
            return "accepted" if accept else "declined"
        assert page.status_code == 200, page.status_code
        assert "left." in page.content.decode()
        return "refused"

    return job


def _seats(zone) -> int:
    return Ticket.objects.filter(counted(), zone=zone).count()


def test_guests_and_buyers_racing_for_the_last_seats_never_pass_the_capacity(zone_world):
    zone, tariff = zone_world["zone"], zone_world["tariff"]
    # 60 seats asked by guests and 60 by buyers, for 40.
    jobs = [_answer(guest) for guest in zone_world["guests"]]
    jobs += [lambda c: _buy(c, tariff.pk)] * 60
    outcomes = in_parallel(jobs)
    assert _seats(zone) == 40
    guest_seats = Ticket.objects.filter(counted(), zone=zone, guest__isnull=False).count()
    sold = Ticket.objects.filter(counted(), zone=zone, order__status=OrderStatus.PAID).count()
    assert guest_seats + sold == 40
    accepted = Guest.objects.filter(status=GuestStatus.ACCEPTED)
    assert guest_seats == 2 * accepted.count() == 2 * outcomes["accepted"]
    assert sold == outcomes["ordered"]
    assert outcomes["accepted"] + outcomes["refused"] == 30
    assert outcomes["ordered"] + outcomes["sold_out"] == 60


def test_seats_guests_give_back_go_to_buyers_without_overselling(zone_world):
    zone, tariff = zone_world["zone"], zone_world["tariff"]
    first = zone_world["guests"][:20]
    for guest in first:
        services.guest_answer(guest=guest, accept=True, places=2)
    assert _seats(zone) == 40
    # 20 guests decline (40 seats freed) while 10 others accept and 60 buyers buy.
    jobs = [_answer(guest, accept=False) for guest in first]
    jobs += [_answer(guest) for guest in zone_world["guests"][20:]]
    jobs += [lambda c: _buy(c, tariff.pk)] * 60
    outcomes = in_parallel(jobs)
    assert outcomes["declined"] == 20
    assert _seats(zone) <= 40
    guest_seats = Ticket.objects.filter(counted(), zone=zone, guest__isnull=False).count()
    assert guest_seats == 2 * outcomes["accepted"]
    assert guest_seats + outcomes["ordered"] == _seats(zone)
    # Whatever the race left free is on sale again, and nothing more.
    for _seat in range(40 - _seats(zone)):
        assert services.basket_create(
            office=tariff.zone.date.event.office, items=[{"tariff": tariff.pk, "quantity": 1}]
        )
    with pytest.raises(services.SoldOut):
        services.basket_create(
            office=tariff.zone.date.event.office, items=[{"tariff": tariff.pk, "quantity": 1}]
        )
