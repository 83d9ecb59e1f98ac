"""Offline scanning through the Manager API: the data a scanner keeps (hashes, never the
codes, in a bounded number of queries), and the upload of what devices scanned offline:
a retried upload records nothing more, two devices that each let the same ticket in
give one entry and one conflict, and a ticket let in offline is refused online after."""

# The `door` fixture of test_checkin.py, imported, is each test's argument.
# ruff: noqa: F811

import datetime
import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ticketing import services
from ticketing.models import Scan, Ticket

from .test_checkin import _list, _order, _scan, _secret, door  # noqa: F401


def _offline(world, checkin_list):
    response = world["client"].get(
        world["api"] + f"checkin-lists/{checkin_list['id']}/offline-data/"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def _upload(world, checkin_list, scans, status=200):
    response = world["client"].post(
        world["api"] + f"checkin-lists/{checkin_list['id']}/scans/upload/",
        {"scans": scans},
        format="json",
    )
    assert response.status_code == status, response.json()
    return response.json()


def _offline_scan(ticket, scan_id, *, minutes_ago, device, gate, result="valid"):
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return {
        "secret": _secret(ticket), "scan_id": scan_id, "scanned_at": at.isoformat(),
        "result": result, "device": device, "gate": gate,
    }  # fmt: skip


def test_the_offline_data_has_each_admitted_ticket_hashed_and_no_secret(door):
    checkin_list = _list(door, dates=[door["date"].pk])
    _scan(door, checkin_list, _secret(door["balcony_ticket"]), "in-1", gate="Gate A")
    cancelled = _order(door, door["free"], payment="free")
    services.order_cancel(access=door["access"], order=cancelled)

    data = _offline(door, checkin_list)

    assert data["admit_unpaid"] is False and data["allow_reentry"] is False
    assert data["dates"] == [door["date"].pk]
    assert datetime.datetime.fromisoformat(data["generated_at"]) <= timezone.now()
    by_hash = {ticket["hash"]: ticket for ticket in data["tickets"]}
    balcony = by_hash[hashlib.sha256(_secret(door["balcony_ticket"]).encode()).hexdigest()]
    assert balcony["name"] == "Grace Hopper"
    assert (balcony["zone"], balcony["tariff"]) == ("Balcony", "Invitation")
    assert balcony["status"] == "paid"
    assert balcony["checked_in_at"] is not None
    unpaid = by_hash[door["unpaid_ticket"].secret_hash]
    assert (unpaid["status"], unpaid["checked_in_at"]) == ("unpaid", None)
    assert by_hash[cancelled.tickets.get().secret_hash]["status"] == "cancelled"
    # The Sunday ticket is of a date the list does not admit.
    assert door["sunday_ticket"].secret_hash not in by_hash
    assert len(data["tickets"]) == 4
    body = str(data)
    for ticket in Ticket.objects.all():
        assert _secret(ticket) not in body
        assert ticket.nonce not in body


def test_the_offline_data_takes_the_same_queries_for_many_tickets(door):
    checkin_list = _list(door)
    client, url = door["client"], door["api"] + f"checkin-lists/{checkin_list['id']}/offline-data/"
    client.get(url)  # the session, the organisation: warmed up
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(url).json()["tickets"]) == 4
    for _each in range(4):
        _order(door, door["free"], payment="free", quantity=4)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()["tickets"]) == 20
    assert len(many) == len(few)
    assert len(many) <= 12


def test_an_upload_sent_again_records_nothing_more(door):
    checkin_list = _list(door)
    scans = [
        _offline_scan(door["balcony_ticket"], "dev1-1", minutes_ago=5, device="A", gate="Gate A"),
        _offline_scan(door["student_ticket"], "dev1-2", minutes_ago=4, device="A", gate="Gate A"),
    ]
    first = _upload(door, checkin_list, scans)
    assert [s["result"] for s in first["scans"]] == ["valid", "valid"]
    assert all(s["offline"] for s in first["scans"]) and first["conflicts"] == 0
    door["balcony_ticket"].refresh_from_db()
    assert door["balcony_ticket"].checked_in_at == datetime.datetime.fromisoformat(
        scans[0]["scanned_at"]
    )

    # The answer was lost, or the page reloaded mid-upload: the same queue again.
    again = _upload(door, checkin_list, scans)
    assert again == first
    assert Scan.objects.count() == 2


def test_two_offline_devices_letting_one_ticket_in_give_one_entry_and_one_conflict(door):
    checkin_list = _list(door)
    ticket = door["balcony_ticket"]
    # Device B scanned first by its clock, but device A uploads first: A's entry stays.
    a = _upload(door, checkin_list, [
        _offline_scan(ticket, "A-1", minutes_ago=2, device="A", gate="Gate A"),
    ])  # fmt: skip
    b = _upload(door, checkin_list, [
        _offline_scan(ticket, "B-1", minutes_ago=3, device="B", gate="Gate B"),
    ])  # fmt: skip
    assert a["scans"][0]["result"] == "valid" and a["conflicts"] == 0
    [conflict] = b["scans"]
    assert b["conflicts"] == 1
    assert conflict["result"] == "already_used" and conflict["conflict"] is True
    assert conflict["first_entry_gate"] == "Gate A"
    assert conflict["first_entry_at"] == a["scans"][0]["scanned_at"]
    assert Scan.objects.filter(ticket=ticket, result="valid").count() == 1
    assert Scan.objects.filter(ticket=ticket, conflict=True).count() == 1

    listed = (
        door["client"]
        .get(door["api"] + f"checkin-lists/{checkin_list['id']}/scans/", {"conflict": "true"})
        .json()
    )
    assert [s["scan_id"] for s in listed["results"]] == ["B-1"]
    every = door["client"].get(door["api"] + f"checkin-lists/{checkin_list['id']}/scans/").json()
    assert every["count"] == 2


def test_an_entry_online_first_makes_the_offline_upload_a_conflict(door):
    checkin_list = _list(door)
    ticket = door["balcony_ticket"]
    online = _scan(door, checkin_list, _secret(ticket), "on-1", gate="Gate A")
    assert online["result"] == "valid"
    b = _upload(door, checkin_list, [
        _offline_scan(ticket, "B-1", minutes_ago=10, device="B", gate="Gate B"),
    ])  # fmt: skip
    assert b["scans"][0]["result"] == "already_used" and b["conflicts"] == 1
    ticket.refresh_from_db()
    assert ticket.checked_in_at == datetime.datetime.fromisoformat(online["scanned_at"])


def test_an_offline_entry_uploaded_then_an_online_scan_is_already_used(door):
    checkin_list = _list(door)
    ticket = door["student_ticket"]
    _upload(door, checkin_list, [
        _offline_scan(ticket, "off-1", minutes_ago=1, device="A", gate="Gate A"),
    ])  # fmt: skip
    online = _scan(door, checkin_list, _secret(ticket), "on-1", gate="Gate B")
    assert online["result"] == "already_used"
    assert online["first_entry_gate"] == "Gate A"
    assert online["conflict"] is False


def test_a_scan_refused_offline_stays_refused_and_is_no_entry(door):
    checkin_list = _list(door)
    ticket = door["balcony_ticket"]
    # Unknown offline (the data was older than the sale): the door turned them away.
    answer = _upload(door, checkin_list, [
        _offline_scan(ticket, "A-1", minutes_ago=1, device="A", gate="Gate A", result="unknown"),
    ])  # fmt: skip
    assert answer["scans"][0]["result"] == "unknown" and answer["conflicts"] == 0
    ticket.refresh_from_db()
    assert ticket.checked_in_at is None
    assert _scan(door, checkin_list, _secret(ticket), "on-1")["result"] == "valid"


@pytest.mark.parametrize(
    "scans, field",
    [
        ([], "at least 1"),
        ([{"secret": "X", "scan_id": "a", "result": "valid"}], "0: scanned_at"),
        ([{"secret": "X", "scan_id": "a", "scanned_at": "2026-01-01T10:00:00Z"}], "0: result"),
    ],
)
def test_a_malformed_upload_is_refused_and_records_nothing(door, scans, field):
    checkin_list = _list(door)
    body = _upload(door, checkin_list, scans, status=400)
    assert field in " ".join(body["fields"]["scans"])
    assert Scan.objects.count() == 0


def test_someone_of_another_organisation_gets_no_offline_data(door):
    from tests import factories as f

    checkin_list = _list(door)
    stranger = f.UserFactory()
    f.OrganisationFactory(legal_representative=stranger)
    door["client"].force_authenticate(user=stranger)
    response = door["client"].get(door["api"] + f"checkin-lists/{checkin_list['id']}/offline-data/")
    assert response.status_code == 404
