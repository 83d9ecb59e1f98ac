"""Exactly one entry, proved with real PostgreSQL: scanners in parallel threads, each with
its own database connection, scan through the Manager API at once. The results are
counted in the database, not only in the answers."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from ticketing import secrets, services
from ticketing.models import Scan, Ticket

from .concurrency import at_once, rush_event

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/organisations/{org}/ticketing/"


@pytest.fixture
def door(transactional_db):
    """One sold ticket of an event with two doors that forbid re-entry."""
    rush = rush_event()
    legal, org, access, office = rush["legal"], rush["org"], rush["access"], rush["office"]
    event, date = rush["event"], rush["date"]
    zone = services.zone_create(access=access, date=date, name="Floor", capacity=10)
    tariff = services.tariff_create(access=access, zone=zone, name="Free", price=Decimal("0"))
    services.event_update(access=access, event=event, status="on_sale")
    basket, _key = services.basket_create(
        office=office, items=[{"tariff": tariff.pk, "quantity": 1}]
    )
    order = services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="free")
    ticket = order.tickets.get()
    lists = [
        services.checkin_list_create(access=access, event=event, name=name)
        for name in ("Gate A", "Gate B")
    ]
    return {
        "legal": legal,
        "api": API.format(org=org.pk),
        "ticket": ticket,
        "secret": secrets.ticket_secret(ticket.nonce),
        "lists": lists,
    }


def in_parallel(door, jobs) -> list[dict]:
    """Every job at once, each an authenticated API client with its own connection;
    returns the bodies."""

    def client(_number):
        api = APIClient()
        api.force_authenticate(user=door["legal"])
        return api

    return at_once(jobs, client)


def scanning(door, checkin_list, scan_id):
    def job(client):
        response = client.post(
            door["api"] + f"checkin-lists/{checkin_list.pk}/scans/",
            {"secret": door["secret"], "scan_id": scan_id, "gate": checkin_list.name},
            format="json",
        )
        assert response.status_code == 201, response.content
        return response.json()

    return job


def test_50_parallel_scans_of_one_ticket_give_one_valid(door):
    gate = door["lists"][0]
    answers = in_parallel(door, [scanning(door, gate, f"device-{n}") for n in range(50)])
    assert Counter(a["result"] for a in answers) == {"valid": 1, "already_used": 49}
    [valid] = [a for a in answers if a["result"] == "valid"]
    assert {a["first_entry_at"] for a in answers if a["result"] == "already_used"} == {
        valid["scanned_at"]
    }
    assert Scan.objects.count() == 50
    assert Scan.objects.filter(result="valid").count() == 1
    ticket = Ticket.objects.get(pk=door["ticket"].pk)
    assert ticket.checked_in_at == datetime.datetime.fromisoformat(valid["scanned_at"])


def test_one_ticket_at_two_gates_at_once_comes_in_once(door):
    jobs = [scanning(door, gate, f"{gate.name}-{n}") for n in range(25) for gate in door["lists"]]
    answers = in_parallel(door, jobs)
    assert Counter(a["result"] for a in answers) == {"valid": 1, "already_used": 49}
    assert Scan.objects.filter(result="valid").count() == 1
    assert Scan.objects.count() == 50
    per_gate = Counter(Scan.objects.values_list("checkin_list__name", flat=True))
    assert per_gate == {"Gate A": 25, "Gate B": 25}


def test_20_parallel_retries_of_one_scan_id_record_one_scan_and_answer_alike(door):
    gate = door["lists"][0]
    answers = in_parallel(door, [scanning(door, gate, "retry-1")] * 20)
    assert len(answers) == 20
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["result"] == "valid"
    assert Scan.objects.count() == 1
