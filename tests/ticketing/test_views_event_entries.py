"""The event page's "At the door" card: how many of the sold tickets are in, the valid
entries per quarter hour as a chart and a table, a hint while the event has no
check-in list, the links to the guests and the check-in lists, and bounded queries
whatever the number of scans."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ticketing import secrets, services

from .test_views_orders import buy


def event_url(world):
    return reverse("ticketing:event-detail", args=[world["org"].pk, world["event"].pk])


def quarter_ago(hours=3) -> datetime.datetime:
    moment = timezone.now() - datetime.timedelta(hours=hours)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def code(ticket) -> str:
    return secrets.ticket_secret(ticket.nonce)


@pytest.fixture
def door(shop_world):
    """Four free tickets (paid at once), one order still waiting for payment, a guest
    who took one seat; a check-in list."""
    paid = buy(shop_world, shop_world["free"], 4, payment="free")
    buy(shop_world, shop_world["student"], 1, email="later@example.test")  # not sold yet
    guest = services.guest_create(
        access=shop_world["access"], event=shop_world["event"], name="Grace",
        email="grace@example.test", tariff=shop_world["free"].pk, places=1,
    )  # fmt: skip
    services.guest_answer(guest=guest, accept=True, places=1)
    main = services.checkin_list_create(
        access=shop_world["access"], event=shop_world["event"], name="Main door"
    )
    return {"tickets": list(paid.tickets.order_by("pk")), "guest": guest.tickets.get(),
            "list": main}  # fmt: skip


def scan(door, ticket, scan_id, at, **kwargs):
    return services.scan(
        checkin_list=door["list"], secret=code(ticket), scan_id=scan_id, scanned_at=at, **kwargs
    ).result


def test_the_card_counts_who_is_in_and_the_entries_per_quarter_hour(login, shop_world, door):
    start = quarter_ago()
    tickets = door["tickets"]
    minute = datetime.timedelta(minutes=1)
    assert scan(door, tickets[0], "a", start + minute) == "valid"
    assert scan(door, door["guest"], "b", start + 9 * minute) == "valid"
    assert scan(door, tickets[1], "c", start + 35 * minute) == "valid"
    # Neither a second entry nor an exit counts as an entry.
    assert scan(door, tickets[0], "d", start + 40 * minute) == "already_used"
    assert scan(door, tickets[1], "e", start + 41 * minute, direction="exit") == "exit_refused"

    response = login(shop_world["legal"]).get(event_url(shop_world))
    card = response.context["door"]
    assert (card["checked_in"], card["sold"], card["percent"]) == (3, 5, 60)
    assert [(e["start"], e["entries"]) for e in card["entries"]] == [
        (start, 2),
        (start + datetime.timedelta(minutes=30), 1),
    ]
    assert card["entry_total"] == 3
    assert len(card["chart"]["bars"]) == 3  # the empty quarter in between is a bar of 0
    html = response.content.decode()
    assert "<strong>3</strong> of 5 tickets are in · 60%" in html
    assert 'data-testid="entries-chart"' in html and 'data-testid="entries-table"' in html
    assert 'data-testid="door-hint"' not in html


def test_an_event_without_check_in_list_shows_a_hint_and_the_links(login, shop_world):
    html = login(shop_world["legal"]).get(event_url(shop_world)).content.decode()
    assert 'data-testid="door-hint"' in html and "entries-chart" not in html
    org, event = shop_world["org"].pk, shop_world["event"].pk
    assert reverse("ticketing:guest-list", args=[org, event]) in html
    assert reverse("ticketing:checkin-list-list", args=[org, event]) in html


def test_a_list_without_scans_says_no_entry_yet(login, shop_world, door):
    response = login(shop_world["legal"]).get(event_url(shop_world))
    assert (response.context["door"]["checked_in"], response.context["door"]["sold"]) == (0, 5)
    html = response.content.decode()
    assert 'data-testid="no-entries"' in html and "entries-chart" not in html


def test_the_card_answers_in_bounded_queries(login, shop_world, door):
    zone = shop_world["balcony"]
    zone.capacity = 1_000
    zone.save()
    client = login(shop_world["legal"])
    start = quarter_ago(hours=6)
    scan(door, door["tickets"][0], "first", start)
    client.get(event_url(shop_world))
    with CaptureQueriesContext(connection) as few:
        client.get(event_url(shop_world))
    more = buy(shop_world, shop_world["free"], 20, payment="free").tickets.order_by("pk")
    for index, ticket in enumerate(more):
        scan(door, ticket, f"s{index}", start + datetime.timedelta(minutes=7 * index))
    with CaptureQueriesContext(connection) as many:
        response = client.get(event_url(shop_world))
    assert response.context["door"]["checked_in"] == 21
    assert len(many.captured_queries) <= len(few.captured_queries)
