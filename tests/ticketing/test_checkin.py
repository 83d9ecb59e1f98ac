"""Access control: check-in lists and what a door answers for each ticket, through the
Manager API as a scanner calls it, with the database checked behind every answer."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from panel.errors import InvalidInput
from ticketing import secrets, services
from ticketing.models import Scan, Ticket

API = "/api/v1/organisations/{org}/ticketing/"


def _order(world, tariff, *, payment="later", paid=True, quantity=1):
    basket, _key = services.basket_create(
        office=world["office"], items=[{"tariff": tariff.pk, "quantity": quantity}]
    )
    order = services.checkout(
        basket=basket, name="Grace Hopper", email="grace@example.test", payment=payment
    )
    if paid and order.status == "pending":
        order = services.order_mark_paid(access=world["access"], order=order)
    return order


def _secret(ticket) -> str:
    return secrets.ticket_secret(ticket.nonce)


@pytest.fixture
def door(shop_world):
    """shop_world with a paid Balcony ticket, a paid Student (Stalls) ticket, a pending
    Student ticket, a second date with its own ticket, and an API client for the
    organiser."""
    w = dict(shop_world)
    w["client"] = APIClient()
    w["client"].force_authenticate(user=w["legal"])
    w["api"] = API.format(org=w["org"].pk)
    w["balcony_ticket"] = _order(w, w["free"], payment="free").tickets.get()
    w["student_ticket"] = _order(w, w["student"]).tickets.get()
    w["unpaid_ticket"] = _order(w, w["student"], paid=False).tickets.get()
    access = w["access"]
    w["sunday"] = services.date_create(
        access=access, event=w["event"], starts_at=w["date"].starts_at + datetime.timedelta(days=1)
    )
    pit = services.zone_create(access=access, date=w["sunday"], name="Pit", capacity=10)
    w["sunday_tariff"] = services.tariff_create(
        access=access, zone=pit, name="Sunday", price=Decimal("0")
    )
    w["sunday_ticket"] = _order(w, w["sunday_tariff"], payment="free").tickets.get()
    return w


def _list(world, **data):
    data = {"name": "Main door", **data}
    response = world["client"].post(
        world["api"] + f"events/{world['event'].pk}/checkin-lists/", data, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _scan(world, checkin_list, secret, scan_id, **extra):
    response = world["client"].post(
        world["api"] + f"checkin-lists/{checkin_list['id']}/scans/",
        {"secret": secret, "scan_id": scan_id, **extra},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_sold_ticket_comes_in_once_then_is_already_used_with_its_first_entry(door):
    checkin_list = _list(door)
    ticket = door["balcony_ticket"]
    first = _scan(door, checkin_list, _secret(ticket), "a-1", gate="Gate A")
    assert first["result"] == "valid"
    assert first["ticket"]["id"] == ticket.pk
    assert first["ticket"]["name"] == "Grace Hopper"
    assert first["ticket"]["zone_name"] == "Balcony"
    assert first["ticket"]["tariff_name"] == "Invitation"
    assert first["ticket"]["order_code"] == ticket.order.code
    assert first["first_entry_at"] is None
    ticket.refresh_from_db()
    assert ticket.checked_in_at is not None

    # The code as a person might type it: lower case, spaces around.
    again = _scan(door, checkin_list, f"  {_secret(ticket).lower()} ", "b-1", gate="Gate B")
    assert again["result"] == "already_used"
    assert again["first_entry_gate"] == "Gate A"
    assert datetime.datetime.fromisoformat(again["first_entry_at"]) == ticket.checked_in_at
    assert Scan.objects.filter(ticket=ticket).count() == 2
    ticket.refresh_from_db()
    assert datetime.datetime.fromisoformat(first["scanned_at"]) == ticket.checked_in_at


def test_the_device_time_is_kept_and_the_first_entry_is_that_time(door):
    checkin_list = _list(door)
    at = (timezone.now() - datetime.timedelta(minutes=3)).replace(microsecond=0)
    answer = _scan(
        door, checkin_list, _secret(door["balcony_ticket"]), "t-1", scanned_at=at.isoformat()
    )
    assert datetime.datetime.fromisoformat(answer["scanned_at"]) == at
    door["balcony_ticket"].refresh_from_db()
    assert door["balcony_ticket"].checked_in_at == at


def test_a_list_for_one_date_refuses_the_other_dates_tickets(door):
    checkin_list = _list(door, dates=[door["date"].pk])
    assert _scan(door, checkin_list, _secret(door["sunday_ticket"]), "d-1")["result"] == (
        "wrong_date"
    )
    assert _scan(door, checkin_list, _secret(door["balcony_ticket"]), "d-2")["result"] == "valid"
    door["sunday_ticket"].refresh_from_db()
    assert door["sunday_ticket"].checked_in_at is None


def test_a_list_for_one_zone_or_tariff_refuses_the_others(door):
    by_zone = _list(door, name="Stalls door", zones=[door["stalls"].pk])
    assert _scan(door, by_zone, _secret(door["balcony_ticket"]), "z-1")["result"] == "wrong_zone"
    assert _scan(door, by_zone, _secret(door["student_ticket"]), "z-2")["result"] == "valid"
    by_tariff = _list(door, name="Invitations", tariffs=[door["free"].pk])
    assert _scan(door, by_tariff, _secret(door["sunday_ticket"]), "t-1")["result"] == ("wrong_zone")


def test_unpaid_tickets_are_refused_unless_the_list_admits_them(door):
    strict = _list(door)
    secret = _secret(door["unpaid_ticket"])
    answer = _scan(door, strict, secret, "u-1")
    assert answer["result"] == "unpaid"
    assert answer["ticket"]["id"] == door["unpaid_ticket"].pk
    lenient = _list(door, name="Box office door", admit_unpaid=True)
    assert _scan(door, lenient, secret, "u-2")["result"] == "valid"


def test_cancelled_tickets_are_refused(door):
    checkin_list = _list(door)
    order = door["student_ticket"].order
    services.order_cancel(access=door["access"], order=order)
    assert _scan(door, checkin_list, _secret(door["student_ticket"]), "c-1")["result"] == (
        "cancelled"
    )


def test_garbage_and_another_events_ticket_are_unknown_and_show_no_ticket(door):
    checkin_list = _list(door)
    access = door["access"]
    other = services.event_create(access=access, office=door["office"], title="Other show")
    date = services.date_create(access=access, event=other, starts_at=door["date"].starts_at)
    zone = services.zone_create(access=access, date=date, name="Hall", capacity=5)
    tariff = services.tariff_create(access=access, zone=zone, name="Free", price=Decimal("0"))
    services.event_update(access=access, event=other, status="on_sale")
    elsewhere = _order(door, tariff, payment="free").tickets.get()

    for scan_id, code in [("g-1", "NOT-A-TICKET"), ("g-2", _secret(elsewhere))]:
        answer = _scan(door, checkin_list, code, scan_id)
        assert answer["result"] == "unknown"
        assert answer["ticket"] is None
    elsewhere.refresh_from_db()
    assert elsewhere.checked_in_at is None
    assert Scan.objects.filter(result="unknown", ticket__isnull=True).count() == 2


def test_a_seat_only_held_in_a_basket_is_unknown(door):
    checkin_list = _list(door)
    basket, _key = services.basket_create(
        office=door["office"], items=[{"tariff": door["free"].pk, "quantity": 1}]
    )
    held = basket.held_tickets[0]
    assert _scan(door, checkin_list, _secret(held), "h-1")["result"] == "unknown"


def test_an_unpaid_order_past_its_deadline_is_unknown(door):
    lenient = _list(door, admit_unpaid=True)
    ticket = door["unpaid_ticket"]
    Ticket.objects.filter(pk=ticket.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert _scan(door, lenient, _secret(ticket), "e-1")["result"] == "unknown"


def test_exit_and_re_entry_on_a_list_that_allows_it(door):
    checkin_list = _list(door, allow_reentry=True)
    secret = _secret(door["balcony_ticket"])
    assert _scan(door, checkin_list, secret, "r-1", gate="North")["result"] == "valid"
    assert _scan(door, checkin_list, secret, "r-2")["result"] == "already_used"
    out = _scan(door, checkin_list, secret, "r-3", direction="exit")
    assert (out["result"], out["direction"]) == ("valid", "exit")
    assert _scan(door, checkin_list, secret, "r-4", direction="exit")["result"] == "exit_refused"
    back = _scan(door, checkin_list, secret, "r-5")
    assert back["result"] == "valid"
    assert back["first_entry_gate"] == "North"
    door["balcony_ticket"].refresh_from_db()
    first = Scan.objects.get(scan_id="r-1")
    assert door["balcony_ticket"].checked_in_at == first.scanned_at


def test_without_re_entry_an_exit_is_refused_and_the_ticket_stays_used(door):
    no_reentry = _list(door)
    secret = _secret(door["balcony_ticket"])
    assert _scan(door, no_reentry, secret, "n-1")["result"] == "valid"
    assert _scan(door, no_reentry, secret, "n-2", direction="exit")["result"] == "exit_refused"
    assert _scan(door, no_reentry, secret, "n-3")["result"] == "already_used"
    # Another door of the same event does not let it in a second time either.
    side_door = _list(door, name="Side door")
    assert _scan(door, side_door, secret, "n-4")["result"] == "already_used"


def test_a_ticket_stays_used_after_the_list_it_entered_by_is_deleted(door):
    first_list = _list(door)
    secret = _secret(door["balcony_ticket"])
    assert _scan(door, first_list, secret, "x-1")["result"] == "valid"
    deleted = door["client"].delete(door["api"] + f"checkin-lists/{first_list['id']}/")
    assert deleted.status_code == 204
    assert _scan(door, _list(door, name="Side door"), secret, "x-2")["result"] == "already_used"


def test_the_same_scan_id_answers_the_same_and_records_nothing_more(door):
    checkin_list = _list(door)
    secret = _secret(door["balcony_ticket"])
    first = _scan(door, checkin_list, secret, "same-1", gate="A")
    again = _scan(door, checkin_list, secret, "same-1", gate="A")
    assert again == first
    assert first["result"] == "valid"
    assert Scan.objects.filter(scan_id="same-1").count() == 1
    # A refused scan repeated is the same refusal, and another list has its own ids.
    garbage = _scan(door, checkin_list, "NOPE", "same-2")
    assert _scan(door, checkin_list, "NOPE", "same-2") == garbage
    other = _list(door, name="Side door")
    assert _scan(door, other, secret, "same-1")["result"] == "already_used"
    assert Scan.objects.count() == 3


def test_a_list_naming_another_events_date_zone_or_tariff_is_refused(door):
    access = door["access"]
    other = services.event_create(access=access, office=door["office"], title="Other show")
    date = services.date_create(access=access, event=other, starts_at=door["date"].starts_at)
    zone = services.zone_create(access=access, date=date, name="Hall", capacity=5)
    tariff = services.tariff_create(access=access, zone=zone, name="Free", price=Decimal("0"))
    url = door["api"] + f"events/{door['event'].pk}/checkin-lists/"
    response = door["client"].post(
        url,
        {"name": "Mixed", "dates": [door["date"].pk, date.pk], "zones": [zone.pk],
         "tariffs": [tariff.pk]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"dates", "zones", "tariffs"}
    assert str(date.pk) in response.json()["fields"]["dates"][0]
    assert door["event"].checkin_lists.count() == 0
    with pytest.raises(InvalidInput) as error:
        services.checkin_list_create(access=access, event=door["event"], name="")
    assert set(error.value.fields) == {"name"}


def test_a_list_is_read_changed_and_deleted(door):
    checkin_list = _list(door, dates=[door["date"].pk])
    url = door["api"] + f"checkin-lists/{checkin_list['id']}/"
    shown = door["client"].get(url).json()
    assert shown["dates"] == [door["date"].pk]
    assert (shown["zones"], shown["tariffs"], shown["allow_reentry"]) == ([], [], False)
    changed = door["client"].patch(url, {"dates": [], "allow_reentry": True}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["dates"], changed.json()["allow_reentry"]) == ([], True)
    assert changed.json()["name"] == "Main door"
    # Admitting every date now, the Sunday ticket comes in.
    assert _scan(door, checkin_list, _secret(door["sunday_ticket"]), "s-1")["result"] == "valid"
    listed = door["client"].get(door["api"] + f"events/{door['event'].pk}/checkin-lists/")
    assert [item["name"] for item in listed.json()["results"]] == ["Main door"]
    assert door["client"].delete(url).status_code == 204
    assert door["client"].get(url).status_code == 404
    assert Scan.objects.count() == 0


def test_bad_scan_input_names_the_field_and_records_nothing(door):
    checkin_list = _list(door)
    url = door["api"] + f"checkin-lists/{checkin_list['id']}/scans/"
    response = door["client"].post(
        url, {"secret": "", "scan_id": "x" * 65, "direction": "sideways"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"secret", "scan_id", "direction"}
    secret = _secret(door["balcony_ticket"])
    tomorrow = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    for when in ("0405-04-07T12:49:43+20:45", tomorrow):
        response = door["client"].post(
            url, {"secret": secret, "scan_id": "s", "scanned_at": when}, format="json"
        )
        assert response.status_code == 400
        assert set(response.json()["fields"]) == {"scanned_at"}
    assert Scan.objects.count() == 0
    door["balcony_ticket"].refresh_from_db()
    assert door["balcony_ticket"].checked_in_at is None


def test_scans_are_listed_latest_first_with_filters_in_bounded_queries(door):
    checkin_list = _list(door)
    base = timezone.now() - datetime.timedelta(hours=1)
    tickets = [door["balcony_ticket"], door["student_ticket"], door["sunday_ticket"]]
    for n, ticket in enumerate(tickets):
        at = (base + datetime.timedelta(minutes=n)).isoformat()
        _scan(door, checkin_list, _secret(ticket), f"l-{n}", scanned_at=at)
    _scan(door, checkin_list, _secret(door["unpaid_ticket"]), "l-3")
    _scan(door, checkin_list, "GARBAGE", "l-4")
    url = door["api"] + f"checkin-lists/{checkin_list['id']}/scans/"

    def listed(**params):
        response = door["client"].get(url, params)
        assert response.status_code == 200, response.json()
        return [item["scan_id"] for item in response.json()["results"]]

    assert listed() == ["l-4", "l-3", "l-2", "l-1", "l-0"]
    assert listed(result="valid") == ["l-2", "l-1", "l-0"]
    assert listed(result="unpaid") == ["l-3"]
    since = (base + datetime.timedelta(minutes=1)).isoformat()
    until = (base + datetime.timedelta(minutes=2)).isoformat()
    assert listed(since=since, until=until) == ["l-1"]
    assert listed(search=door["student_ticket"].order.code.lower()) == ["l-1"]
    assert listed(search="hopper") == ["l-3", "l-2", "l-1", "l-0"]

    with CaptureQueriesContext(connection) as few:
        listed()
    for n in range(5):
        _scan(door, checkin_list, f"MORE{n}", f"m-{n}")
    _scan(door, checkin_list, _secret(door["balcony_ticket"]), "m-used")
    with CaptureQueriesContext(connection) as many:
        assert len(listed()) == 11
    assert len(many) == len(few)


def test_a_viewer_reads_the_scans_but_may_not_scan(door):
    from panel.models import Role
    from tests import factories as f

    checkin_list = _list(door)
    viewer = f.MembershipFactory(organisation=door["org"], role=Role.USER).user
    f.GrantFactory(team=None, user=viewer, organisation=door["org"], product_type="ticketing",
                   product_id=door["office"].pk, level="view")  # fmt: skip
    client = APIClient()
    client.force_authenticate(user=viewer)
    url = door["api"] + f"checkin-lists/{checkin_list['id']}/scans/"
    refused = client.post(url, {"secret": _secret(door["balcony_ticket"]), "scan_id": "v"})
    assert refused.status_code == 403
    assert client.get(url).status_code == 200
    assert Scan.objects.count() == 0
    door["balcony_ticket"].refresh_from_db()
    assert door["balcony_ticket"].checked_in_at is None
