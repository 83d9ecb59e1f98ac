"""Form answers shown at the door: a question marked "show at check-in" in the field
editor (or the API) has its answer shown under the name on the ticket when the ticket is
scanned, through the API, the scanner page, a door device, the search and the offline
data; a question not marked is never shown there."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from ticketing import secrets, services
from ticketing.models import FormField
from ticketing.services import checkin as door_services

from .conftest import full_answers

API = "/api/v1/organisations/{org}/ticketing/"


def buy(world, *, name, diet="Vegan", allergies="Peanuts", needs=()):
    answers = {
        **full_answers(world, name),
        str(world["diet"].pk): diet,
        str(world["allergies"].pk): allergies,
        str(world["needs"].pk): list(needs),
    }
    basket, _key = services.basket_create(
        office=world["office"], items=[{"tariff": world["full"].pk, "quantity": 1}]
    )
    services.basket_answers_set(
        basket=basket, entries=[{"tariff": world["full"].pk, "answers": answers}]
    )
    order = services.checkout(
        basket=basket, name="Bob Buyer", email="bob@example.test", payment="later"
    )
    services.order_mark_paid(access=world["access"], order=order)
    return order.tickets.get()


@pytest.fixture
def door(shop_world):
    """shop_world's Attendee form with three more questions: "Diet" and "Access needs"
    shown at check-in, "Allergies" not; a list "Main door" and Ada's paid ticket (Vegan,
    Peanuts, a wheelchair place)."""
    w = dict(shop_world)
    access, form = w["access"], w["form"]
    w["diet"] = services.field_create(
        access=access, form=form, label="Diet", type="select",
        options=["Vegetarian", "Vegan"], position=2, show_at_checkin=True,
    )  # fmt: skip
    w["allergies"] = services.field_create(
        access=access, form=form, label="Allergies", type="text", position=3
    )
    w["needs"] = services.field_create(
        access=access, form=form, label="Access needs", type="checkboxes",
        options=["Wheelchair place", "Hearing loop"], position=4, show_at_checkin=True,
    )  # fmt: skip
    w["list"] = services.checkin_list_create(access=access, event=w["event"], name="Main door")
    w["ada"] = buy(w, name="Ada Lovelace", needs=["Wheelchair place", "Hearing loop"])
    return w


ADA_AT_THE_DOOR = [
    {"label": "Diet", "value": "Vegan"},
    {"label": "Access needs", "value": "Wheelchair place, Hearing loop"},
]


def api_client(world):
    client = APIClient()
    client.force_authenticate(user=world["legal"])
    return client


def code(ticket):
    return secrets.ticket_secret(ticket.nonce)


# -- the field editor and the API's fields ----------------------------------------------------


def test_the_field_editor_marks_a_question_to_be_shown_at_checkin(login, shop_world):
    client = login(shop_world["legal"])
    org, form = shop_world["org"].pk, shop_world["form"]
    response = client.post(
        reverse("ticketing:field-create", args=[org, form.pk]),
        {"field-label": "Meal", "field-type": "radio", "field-options": "Fish\nVegetarian",
         "field-show_at_checkin": "on", "field-buyer_can_change": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    meal = FormField.objects.get(label="Meal")
    assert meal.show_at_checkin
    page = client.get(reverse("ticketing:form-detail", args=[org, form.pk])).content.decode()
    assert page.count('data-testid="at-checkin"') == 1  # the meal's row only
    row = page.split(f'id="field-{meal.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "shown at check-in" in row

    edit_url = reverse("ticketing:field-edit", args=[org, meal.pk])
    edit = client.get(edit_url).content.decode()
    assert "Show at check-in" in edit
    box = edit.split('name="show_at_checkin"', 1)[1].split(">", 1)[0]
    assert " checked" in box
    saved = client.post(edit_url, {"label": "Meal", "type": "radio", "options": "Fish\nVegetarian"})
    assert saved.status_code == 302
    meal.refresh_from_db()
    assert not meal.show_at_checkin
    page = client.get(reverse("ticketing:form-detail", args=[org, form.pk])).content.decode()
    assert 'data-testid="at-checkin"' not in page


def test_the_api_reads_and_writes_show_at_checkin(shop_world):
    client = api_client(shop_world)
    base = API.format(org=shop_world["org"].pk)
    created = client.post(
        base + f"forms/{shop_world['form'].pk}/fields/",
        {"label": "Meal", "type": "text", "show_at_checkin": True},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["show_at_checkin"] is True
    field_url = base + f"fields/{created.json()['id']}/"
    changed = client.patch(field_url, {"show_at_checkin": False}, format="json")
    assert changed.status_code == 200 and changed.json()["show_at_checkin"] is False
    assert FormField.objects.get(label="Meal").show_at_checkin is False
    # Left out, it is not shown at check-in; another change keeps it as it is.
    plain = client.post(
        base + f"forms/{shop_world['form'].pk}/fields/",
        {"label": "Seat wish", "type": "text"},
        format="json",
    )
    assert plain.json()["show_at_checkin"] is False
    plain_url = base + f"fields/{plain.json()['id']}/"
    client.patch(plain_url, {"show_at_checkin": True}, format="json")
    moved = client.patch(plain_url, {"position": 7}, format="json")
    assert moved.json()["show_at_checkin"] is True and moved.json()["position"] == 7
    attendee = client.get(base + f"fields/{shop_world['attendee'].pk}/").json()
    assert attendee["show_at_checkin"] is False and attendee["show_on_ticket"] is True


# -- what a scan shows ------------------------------------------------------------------------


def test_an_api_scan_shows_the_marked_answers_and_not_the_others(door):
    client = api_client(door)
    scans = API.format(org=door["org"].pk) + f"checkin-lists/{door['list'].pk}/scans/"
    answer = client.post(scans, {"secret": code(door["ada"]), "scan_id": "a-1"}, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["result"] == "valid"
    assert body["ticket"]["name"] == "Ada Lovelace"
    assert body["ticket"]["answers"] == ADA_AT_THE_DOOR
    assert "Peanuts" not in answer.content.decode()
    again = client.post(scans, {"secret": code(door["ada"]), "scan_id": "a-2"}, format="json")
    assert again.json()["result"] == "already_used"
    assert again.json()["ticket"]["answers"] == ADA_AT_THE_DOOR
    listed = client.get(scans).json()["results"]
    assert [one["ticket"]["answers"] for one in listed] == [ADA_AT_THE_DOOR] * 2


def test_the_scans_list_reads_the_answers_in_a_bounded_number_of_queries(door):
    client = api_client(door)
    scans = API.format(org=door["org"].pk) + f"checkin-lists/{door['list'].pk}/scans/"
    client.post(scans, {"secret": code(door["ada"]), "scan_id": "q-0"}, format="json")
    with CaptureQueriesContext(connection) as one:
        assert client.get(scans).status_code == 200
    for n in range(1, 6):
        ticket = buy(door, name=f"Guest {n}", diet="Vegetarian")
        client.post(scans, {"secret": code(ticket), "scan_id": f"q-{n}"}, format="json")
    with CaptureQueriesContext(connection) as six:
        listed = client.get(scans).json()["results"]
    assert len(listed) == 6
    assert {"label": "Diet", "value": "Vegetarian"} in listed[0]["ticket"]["answers"]
    assert len(six) == len(one)


def test_an_unanswered_or_unmarked_question_shows_nothing(door):
    ticket = buy(door, name="Grace Hopper", diet="", allergies="Gluten")
    client = api_client(door)
    scans = API.format(org=door["org"].pk) + f"checkin-lists/{door['list'].pk}/scans/"
    answer = client.post(scans, {"secret": code(ticket), "scan_id": "g-1"}, format="json")
    assert answer.json()["ticket"]["answers"] == []
    services.field_update(access=door["access"], field=door["allergies"], show_at_checkin=True)
    again = client.post(scans, {"secret": code(ticket), "scan_id": "g-2"}, format="json")
    assert again.json()["ticket"]["answers"] == [{"label": "Allergies", "value": "Gluten"}]


def test_the_scanner_page_endpoint_and_its_search_show_the_marked_answers(login, door):
    client = login(door["legal"])
    org, checkin_list = door["org"].pk, door["list"].pk
    response = client.post(
        reverse("ticketing:scanner-scan", args=[org, checkin_list]),
        json.dumps({"secret": code(door["ada"]), "scan_id": "p-1"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["ticket"]["name"] == "Ada Lovelace"
    assert response.json()["ticket"]["answers"] == ADA_AT_THE_DOOR
    assert "Peanuts" not in response.content.decode()

    found = client.get(reverse("ticketing:scanner-search", args=[org, checkin_list]), {"q": "Bob"})
    [ticket] = found.json()["results"]
    assert ticket["answers"] == ADA_AT_THE_DOOR
    assert "Peanuts" not in found.content.decode()


def test_a_door_device_sees_the_marked_answers_online_and_offline(door):
    _device, key = door_services.device_create(
        access=door["access"], event=door["event"], name="Gate B phone", lists=[door["list"]]
    )
    phone = Client()
    assert phone.get(reverse("door:open", args=[key])).status_code == 302
    response = phone.post(
        reverse("door:scan", args=[door["list"].pk]),
        json.dumps({"secret": code(door["ada"]), "scan_id": "d-1"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["ticket"]["answers"] == ADA_AT_THE_DOOR

    offline = phone.get(reverse("door:offline", args=[door["list"].pk]))
    [ticket] = offline.json()["tickets"]
    assert ticket["name"] == "Ada Lovelace"
    assert ticket["answers"] == ADA_AT_THE_DOOR
    assert "Peanuts" not in offline.content.decode()


def test_the_api_offline_data_carries_the_marked_answers_only(door):
    other = buy(door, name="Grace Hopper", diet="Vegetarian", allergies="Gluten")
    client = api_client(door)
    url = API.format(org=door["org"].pk) + f"checkin-lists/{door['list'].pk}/offline-data/"
    response = client.get(url)
    assert response.status_code == 200
    by_name = {ticket["name"]: ticket["answers"] for ticket in response.json()["tickets"]}
    assert by_name == {
        "Ada Lovelace": ADA_AT_THE_DOOR,
        "Grace Hopper": [{"label": "Diet", "value": "Vegetarian"}],
    }
    body = response.content.decode()
    assert "Peanuts" not in body and "Gluten" not in body
    assert code(other) not in body and code(door["ada"]) not in body


def test_offline_data_without_marked_questions_has_empty_answers(shop_world):
    """No question marked: the answers are not read at all, and none is carried."""
    w = shop_world
    checkin_list = services.checkin_list_create(access=w["access"], event=w["event"], name="Door")
    basket, _key = services.basket_create(
        office=w["office"], items=[{"tariff": w["full"].pk, "quantity": 1}]
    )
    services.basket_answers_set(
        basket=basket, entries=[{"tariff": w["full"].pk, "answers": full_answers(w)}]
    )
    services.checkout(basket=basket, name="Bob", email="bob@example.test", payment="later")
    data = door_services.offline_data(checkin_list=checkin_list)
    assert [ticket["answers"] for ticket in data["tickets"]] == [[]]


def test_a_guests_invitation_scans_with_its_answers_and_no_order(door):
    """A guest's ticket has no order: the API answers it all the same."""
    guest = services.guest_create(
        access=door["access"], event=door["event"], name="Alan Turing",
        email="alan@example.test", tariff=door["full"].pk,
    )  # fmt: skip
    answers = {
        **full_answers(door, "Alan Turing"), str(door["diet"].pk): "Vegetarian",
        str(door["allergies"].pk): "Peanuts",
    }  # fmt: skip
    services.guest_answer(guest=guest, accept=True, places=1, answers=[answers])
    ticket = guest.tickets.get()
    client = api_client(door)
    scans = API.format(org=door["org"].pk) + f"checkin-lists/{door['list'].pk}/scans/"
    answer = client.post(scans, {"secret": code(ticket), "scan_id": "guest-1"}, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["result"] == "valid"
    assert (body["ticket"]["order"], body["ticket"]["order_code"]) == (None, None)
    assert body["ticket"]["answers"] == [{"label": "Diet", "value": "Vegetarian"}]
