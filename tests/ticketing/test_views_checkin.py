"""The door in the Manager: an event's check-in lists (created from their page), the
scanner page, and its scan and search endpoints, with each result a door shows; who
may open them (managers), who gets 403 (viewers) and 404 (other organisations)."""

import json

import pytest
from django.urls import reverse

from panel.models import Role
from tests import factories as f
from ticketing import secrets, services
from ticketing.models import CheckinList, Scan

from .conftest import full_answers


def url(name, *args):
    return reverse(f"ticketing:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def buy(world, tariff, *, payment="free", name="Grace Hopper", answers=None, paid=True):
    basket, _key = services.basket_create(
        office=world["office"], items=[{"tariff": tariff.pk, "quantity": 1}]
    )
    if tariff.form_id:
        services.basket_answers_set(
            basket=basket, entries=[{"tariff": tariff.pk, "answers": answers}]
        )
    order = services.checkout(basket=basket, name=name, email="grace@example.test", payment=payment)
    if paid and order.status == "pending":
        order = services.order_mark_paid(access=world["access"], order=order)
    return order


@pytest.fixture
def door(shop_world):
    """shop_world with a list "Main door", a paid Full price ticket whose form names
    "Ada Lovelace" (an answer shown on the ticket), an unpaid and a cancelled ticket."""
    w = dict(shop_world)
    w["list"] = services.checkin_list_create(access=w["access"], event=w["event"], name="Main door")
    w["ada"] = buy(w, w["full"], payment="later", name="Bob Buyer",
                   answers=full_answers(w, "Ada Lovelace")).tickets.get()  # fmt: skip
    w["unpaid"] = buy(w, w["student"], payment="later", name="Una Paid", paid=False).tickets.get()
    cancelled = buy(w, w["free"], name="Carl Cancel")
    services.order_cancel(access=w["access"], order=cancelled)
    w["cancelled"] = cancelled.tickets.get()
    return w


@pytest.fixture
def people(shop_world):
    org = shop_world["org"]
    viewer = f.MembershipFactory(organisation=org, role=Role.USER, user__email="v@x.test").user
    team = f.TeamFactory(organisation=org, name="Box office")
    f.TeamMemberFactory(team=team, user=viewer)
    f.GrantFactory(
        team=team, product_type="ticketing", product_id=shop_world["office"].pk, level="view"
    )
    outsider = f.UserFactory(email="outsider@x.test")
    f.OrganisationFactory(name="Elsewhere", legal_representative=outsider)
    return {"viewer": viewer, "outsider": outsider}


def post_scan(client, world, scan_id, **data):
    response = client.post(
        url("scanner-scan", world["org"], world["list"]),
        json.dumps({"scan_id": scan_id, **data}),
        content_type="application/json",
    )
    is_json = response["Content-Type"].startswith("application/json")
    return response.status_code, response.json() if is_json else None


def secret(ticket):
    return secrets.ticket_secret(ticket.nonce)


def test_the_lists_page_lists_the_event_lists_and_creates_one(login, door):
    client = login(door["legal"])
    page = client.get(url("checkin-list-list", door["org"], door["event"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Main door" in html
    assert url("scanner", door["org"], door["list"]) in html

    response = client.post(
        url("checkin-list-list", door["org"], door["event"]),
        {"name": "Balcony stairs", "allow_reentry": "on"},
    )
    assert response.status_code == 302
    created = CheckinList.objects.get(name="Balcony stairs")
    assert created.event == door["event"] and created.allow_reentry and not created.admit_unpaid
    after = client.get(response.url).content.decode()
    assert "Check-in list created" in after and "Balcony stairs" in after

    refused = client.post(url("checkin-list-list", door["org"], door["event"]), {"name": " "})
    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    assert CheckinList.objects.filter(event=door["event"]).count() == 2


def test_the_scanner_page_loads_the_reader_served_by_the_panel(login, door):
    client = login(door["legal"])
    page = client.get(url("scanner", door["org"], door["list"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/vendor/qr-scanner/qr-scanner.umd.min.js" in html
    assert "Main door" in html and 'id="scanner-texts"' in html
    assert "Type or paste the code" in html


def test_each_result_the_door_shows(login, door):
    client = login(door["legal"])

    status, valid = post_scan(client, door, "s1", secret=secret(door["ada"]), gate="Gate B")
    assert status == 201
    assert valid["result"] == "valid"
    assert valid["ticket"]["name"] == "Ada Lovelace"
    assert valid["ticket"]["zone"] == "Stalls" and valid["ticket"]["tariff"] == "Full price"
    # No field of the form is marked to be shown at check-in (test_checkin_answers.py).
    assert valid["ticket"]["answers"] == []

    status, again = post_scan(client, door, "s2", secret=secret(door["ada"]).lower())
    assert status == 201
    assert again["result"] == "already_used"
    assert again["first_entry_gate"] == "Gate B"
    assert again["first_entry_time"]  # "20:14", in the office's time zone

    # The same scan id again: the same answer, and no second scan recorded.
    assert post_scan(client, door, "s1", secret=secret(door["ada"]))[1]["result"] == "valid"
    assert Scan.objects.filter(checkin_list=door["list"], scan_id="s1").count() == 1

    assert post_scan(client, door, "s3", secret=secret(door["unpaid"]))[1]["result"] == "unpaid"
    assert post_scan(client, door, "s4", secret=secret(door["cancelled"]))[1]["result"] == (
        "cancelled"
    )
    status, unknown = post_scan(client, door, "s5", secret="NOT-A-TICKET")
    assert (status, unknown["result"], unknown["ticket"]) == (201, "unknown", None)

    balcony_only = services.checkin_list_update(
        access=door["access"], checkin_list=door["list"], zones=[door["balcony"].pk]
    )
    assert balcony_only.zones.count() == 1
    fresh = buy(door, door["student"], payment="later", name="Zoe Zone")
    assert post_scan(client, door, "s6", secret=secret(fresh.tickets.get()))[1]["result"] == (
        "wrong_zone"
    )
    assert Scan.objects.filter(checkin_list=door["list"]).count() == 6


def test_a_bad_scan_names_the_field_and_records_nothing(login, door):
    client = login(door["legal"])
    status, body = post_scan(client, door, "", secret=secret(door["ada"]))
    assert status == 400 and "scan_id" in body["fields"]
    status, body = post_scan(client, door, "x1", secret=secret(door["ada"]), scanned_at="soon")
    assert status == 400 and "scanned_at" in body["fields"]
    response = client.post(
        url("scanner-scan", door["org"], door["list"]), "[1]", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not Scan.objects.exists()


def test_the_device_time_is_kept(login, door):
    client = login(door["legal"])
    status, _body = post_scan(
        client, door, "t1", secret=secret(door["ada"]), scanned_at="2025-06-01T18:14:00+00:00"
    )
    assert status == 201
    scanned = Scan.objects.get(scan_id="t1")
    assert scanned.scanned_at.isoformat() == "2025-06-01T18:14:00+00:00"


def test_the_search_finds_a_ticket_by_the_name_on_it_and_checks_it_in(login, door):
    client = login(door["legal"])
    search = url("scanner-search", door["org"], door["list"])
    found = client.get(search, {"q": "ada lov"}).json()["results"]
    assert [(t["id"], t["name"], t["buyer"]) for t in found] == [
        (door["ada"].pk, "Ada Lovelace", "Bob Buyer")
    ]
    assert found[0]["order_code"] == door["ada"].order.code
    by_code = client.get(search, {"q": door["ada"].order.code}).json()["results"]
    assert [t["id"] for t in by_code] == [door["ada"].pk]
    assert client.get(search, {"q": "nobody here"}).json()["results"] == []

    status, body = post_scan(client, door, "h1", ticket=door["ada"].pk)
    assert (status, body["result"], body["ticket"]["name"]) == (201, "valid", "Ada Lovelace")
    assert client.get(search, {"q": "ada lov"}).json()["results"][0]["checked_in"]
    assert post_scan(client, door, "h2", ticket=door["ada"].pk)[1]["result"] == "already_used"


def test_the_search_does_not_check_in_another_events_ticket(login, door):
    access = door["access"]
    other = services.event_create(access=access, office=door["office"], title="Other play")
    date = services.date_create(access=access, event=other, starts_at=door["date"].starts_at)
    zone = services.zone_create(access=access, date=date, name="Hall", capacity=5)
    tariff = services.tariff_create(access=access, zone=zone, name="Free", price="0")
    services.event_update(access=access, event=other, status="on_sale")
    elsewhere = buy(door, tariff, name="Ada Elsewhere").tickets.get()
    client = login(door["legal"])
    found = client.get(url("scanner-search", door["org"], door["list"]), {"q": "Elsewhere"})
    assert found.json()["results"] == []
    status, _body = post_scan(client, door, "o1", ticket=elsewhere.pk)
    assert status == 404
    assert not Scan.objects.exists()


def test_viewers_get_403_and_other_organisations_404(login, door, people):
    viewer = login(people["viewer"])
    assert viewer.get(url("checkin-list-list", door["org"], door["event"])).status_code == 200
    assert viewer.get(url("scanner", door["org"], door["list"])).status_code == 403
    assert post_scan(viewer, door, "v1", secret=secret(door["ada"]))[0] == 403
    search = url("scanner-search", door["org"], door["list"])
    assert viewer.get(search, {"q": "Ada"}).status_code == 403
    created = viewer.post(url("checkin-list-list", door["org"], door["event"]), {"name": "Mine"})
    assert created.status_code == 403

    outsider = login(people["outsider"])
    for address in (
        url("checkin-list-list", door["org"], door["event"]),
        url("scanner", door["org"], door["list"]),
        search,
    ):
        assert outsider.get(address).status_code == 404
    assert post_scan(outsider, door, "o1", secret=secret(door["ada"]))[0] == 404

    # Another organisation's list under one's own organisation's address: 404 as well.
    elsewhere = f.OrganisationFactory(name="Mine", legal_representative=people["outsider"])
    assert outsider.get(url("scanner", elsewhere, door["list"])).status_code == 404
    assert not Scan.objects.exists()
