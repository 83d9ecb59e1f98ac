"""A guest's invitation in the public shop API, as a guest's app uses it: read it, accept
with the form answered per place or decline, download the PDFs; refusals name each place
and field (400) or say why not (409); any key but the guest's own answers the 404 of an
address that names nothing."""

import datetime
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ticketing import services
from ticketing.models import EventDate, Ticket
from ticketing.services.sales import counted

from .conftest import invite
from .test_pdf import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(guest_world):
    return guest_world


@pytest.fixture
def app():
    return APIClient()


def address(world, path="", *, key=None, slug=None):
    key = key or world["guest"].link_key
    return f"/api/v1/shop/{slug or world['office'].slug}/guests/{key}/{path}"


def entry(world, name, *, terms=True) -> dict:
    answers = {str(world["attendee"].pk): name}
    if terms:
        answers[str(world["terms"].pk)] = ["the terms"]
    return {"answers": answers}


def answer(app, world, body, status=200, **kwargs):
    response = app.post(address(world, "answer/", **kwargs), body, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def held(guest) -> int:
    return Ticket.objects.filter(counted(), guest=guest).count()


def test_the_invitation_shows_the_event_the_places_and_the_form(world, app):
    response = app.get(address(world))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["name"] == "Grace Hopper" and body["status"] == "invited"
    assert body["event"] == {"id": world["event"].pk, "title": "Le Misanthrope",
                             "venue": "Mézières"}  # fmt: skip
    assert body["date"]["id"] == world["date"].pk and body["date"]["cancelled"] is False
    assert (body["zone"], body["tariff"]) == ("Balcony", "Guests")
    assert (body["places"], body["places_accepted"], body["closed"]) == (2, 0, None)
    assert [f["label"] for f in body["fields"]] == ["Attendee name", "I accept"]
    assert body["tickets"] == []
    assert "grace@example.test" not in response.content.decode()


def test_missing_answers_are_named_per_place_and_field_and_nothing_changes(world, app):
    body = {"accept": True, "places": 2,
            "tickets": [entry(world, "Ada Lovelace", terms=False), {"answers": {}}]}  # fmt: skip
    refused = answer(app, world, body, status=400)
    assert refused["code"] == "answers_invalid"
    terms, attendee = world["terms"].pk, world["attendee"].pk
    assert set(refused["fields"]) == {
        f"tickets.0.answers.{terms}", f"tickets.1.answers.{terms}",
        f"tickets.1.answers.{attendee}",
    }  # fmt: skip
    assert held(world["guest"]) == 0
    assert app.get(address(world)).json()["status"] == "invited"


def test_accepting_gives_the_tickets_with_their_names_and_pdfs(world, app):
    body = {"accept": True, "places": 2,
            "tickets": [entry(world, "Ada Lovelace"), entry(world, "Alan Turing")]}  # fmt: skip
    accepted = answer(app, world, body)
    assert accepted == app.get(address(world)).json()
    assert (accepted["status"], accepted["places_accepted"]) == ("accepted", 2)
    ada, alan = accepted["tickets"]
    assert (ada["name"], alan["name"]) == ("Ada Lovelace", "Alan Turing")
    assert {a["label"]: a["value"] for a in alan["answers"]} == {
        "I accept": ["the terms"], "Attendee name": "Alan Turing",
    }  # fmt: skip
    pdf = app.get(urlsplit(alan["download_url"]).path)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment; filename=")
    assert "no-store" in pdf["Cache-Control"]
    assert "Alan Turing" in pdf_text(pdf.content)
    assert held(world["guest"]) == 2


def test_places_left_out_follow_the_answers_given(world, app):
    accepted = answer(app, world, {"accept": True, "tickets": [entry(world, "Ada Lovelace")]})
    assert accepted["places_accepted"] == 1
    # Accepting again without places nor answers keeps what is held.
    again = answer(app, world, {"accept": True})
    assert again["places_accepted"] == 1 and again["tickets"][0]["name"] == "Ada Lovelace"


def test_declining_frees_the_places(world, app):
    answer(app, world, {"accept": True, "places": 2,
                        "tickets": [entry(world, "Ada"), entry(world, "Alan")]})  # fmt: skip
    declined = answer(app, world, {"accept": False})
    assert (declined["status"], declined["places_accepted"]) == ("declined", 0)
    assert declined["tickets"] == []
    assert held(world["guest"]) == 0


def test_bad_input_is_refused_by_field(world, app):
    too_many = answer(app, world, {"accept": True, "places": 3}, status=400)
    assert list(too_many["fields"]) == ["places"]
    assert list(answer(app, world, {}, status=400)["fields"]) == ["accept"]
    assert list(answer(app, world, {"accept": True, "tickets": "x"}, status=400)["fields"]) == [
        "tickets"
    ]
    assert held(world["guest"]) == 0


def test_a_full_zone_answers_409_with_what_is_left(world, app):
    services.basket_create(
        office=world["office"], items=[{"tariff": world["free"].pk, "quantity": 19}]
    )
    body = {"accept": True, "places": 2,
            "tickets": [entry(world, "Ada"), entry(world, "Alan")]}  # fmt: skip
    refused = answer(app, world, body, status=409)
    assert refused["code"] == "sold_out"
    assert refused["available"] == [{"tariff": world["guests"].pk, "available": 1}]
    assert held(world["guest"]) == 0


def test_a_cancelled_date_or_a_started_event_answers_409(world, app):
    started = invite(world, "late@example.test", places=1)
    body = {"accept": True, "tickets": [entry(world, "Ada")]}
    EventDate.objects.filter(pk=world["date"].pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    assert answer(app, world, body, status=409, key=started.link_key)["code"] == "answers_closed"
    assert app.get(address(world, key=started.link_key)).json()["closed"] == "answers_closed"
    services.date_cancel(access=world["access"], date=world["date"])
    assert answer(app, world, body, status=409)["code"] == "event_cancelled"
    shown = app.get(address(world)).json()
    assert shown["closed"] == "event_cancelled" and shown["date"]["cancelled"] is True


def test_any_wrong_key_answers_the_404_of_an_unknown_address(world, app):
    unknown = app.get("/api/v1/shop/jorat/nothing-here/")
    assert unknown.status_code == 404
    other = invite(world, "other@example.test", places=1)
    theirs = answer(app, world, {"accept": True, "tickets": [entry(world, "Eve")]},
                    key=other.link_key)["tickets"][0]["id"]  # fmt: skip
    services.office_create(access=world["access"], name="Rival", slug="rival")
    body = {"accept": True, "tickets": [entry(world, "Ada")]}
    for response in (
        app.get(address(world, key="not-a-key")),
        app.post(address(world, "answer/", key="not-a-key"), body, format="json"),
        app.get(address(world, slug="rival")),
        app.post(address(world, "answer/", slug="rival"), body, format="json"),
        app.get(address(world, slug="no-such-shop")),
        app.get(address(world, f"tickets/{theirs}/pdf/")),  # another guest's ticket
        app.get(address(world, f"tickets/{theirs}/pdf/", key="not-a-key")),
    ):
        assert response.status_code == 404, response.request["PATH_INFO"]
        assert response.json() == unknown.json(), response.request["PATH_INFO"]
    assert held(world["guest"]) == 0


def test_a_script_answers_without_a_csrf_token_within_the_rate(world, settings):
    settings.TICKETING_SHOP_RATE = "2/min"
    script = APIClient(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")
    answer(script, world, {"accept": False})
    assert script.get(address(world)).status_code == 200
    refused = script.post(address(world, "answer/"), {"accept": True, "places": 1}, format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1
    assert held(world["guest"]) == 0
