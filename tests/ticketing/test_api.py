"""The Ticket office Manager API, as an integrator script meets it: nested creates that
answer 201 with the object and then live at a flat URL, errors naming the field at fault
(and nothing changed), the fields in display order, what a date has held, sold and left,
putting an event on sale, and the orders with their filters and actions."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from panel.celery import app as celery_app
from ticketing import services
from ticketing.models import Event, FormField, Order, Tariff, Ticket, TicketForm, TicketOffice

from .conftest import full_answers

ENVELOPE = {"code", "detail", "fields"}
LEFT = ("held", "sold", "available")
TICKET_KEYS = {
    "id",
    "zone",
    "tariff",
    "price",
    "holder_name",
    "answers",
    "checked_in_at",
    "cancelled",
}


def counts(obj, keys=("capacity", "held", "sold", "available")) -> list[int]:
    return [obj[key] for key in keys]


def assert_error(response, status, *, code=None, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == ENVELOPE
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert body["fields"].get(field), body
    return body


@pytest.fixture
def api(shop_world, client_for):
    """The organiser's client, with `url(rest)` under /ticketing/."""
    client = client_for(shop_world["legal"])
    base = f"/api/v1/organisations/{shop_world['org'].pk}/ticketing/"
    client.url = lambda rest="": base + rest
    return client


def buy(world, items, *, payment="later", name="Grace Hopper", email="grace@example.test"):
    """An order through the shop's services, answering the forms that tariffs ask."""
    basket, _key = services.basket_create(office=world["office"], items=items)
    tickets = services.basket_tickets(basket)
    entries = [
        {"tariff": t.tariff_id, "answers": full_answers(world) if t.tariff.form_id else {}}
        for t in tickets
    ]
    services.basket_answers_set(basket=basket, entries=entries)
    return services.checkout(basket=basket, name=name, email=email, payment=payment)


# -- offices -----------------------------------------------------------------------------------


def test_an_office_is_created_changed_and_deleted(api):
    created = api.post(
        api.url("offices/"), {"name": "Opéra", "slug": "opera", "currency": "eur"}, format="json"
    )
    assert created.status_code == 201, created.content
    office = created.json()
    assert (office["name"], office["slug"], office["currency"]) == ("Opéra", "opera", "EUR")
    assert api.get(api.url(f"offices/{office['id']}/")).json() == office
    listed = api.get(api.url("offices/")).json()
    assert [o["name"] for o in listed["results"]] == ["Opéra", "Théâtre du Jorat"]

    changed = api.patch(
        api.url(f"offices/{office['id']}/"), {"contact_phone": "+41 21 000 00 00"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["contact_phone"] == "+41 21 000 00 00"
    assert changed.json()["slug"] == "opera"

    refused = api.delete(
        api.url(f"offices/{office['id']}/"), {"confirm_name": "Opera"}, format="json"
    )
    assert_error(refused, 400, field="confirm_name")
    deleted = api.delete(api.url(f"offices/{office['id']}/?confirm_name=Opéra"))
    assert deleted.status_code == 204
    assert_error(api.get(api.url(f"offices/{office['id']}/")), 404, code="not_found")


def test_bad_office_input_names_every_field_and_creates_nothing(api):
    response = api.post(
        api.url("offices/"),
        {"name": "Opéra", "slug": "Not a slug!", "currency": "XYZ", "hold_minutes": 1},
        format="json",
    )
    body = assert_error(response, 400)
    assert set(body["fields"]) == {"slug", "currency", "hold_minutes"}
    assert not TicketOffice.objects.filter(name="Opéra").exists()


def test_a_shop_address_already_taken_is_a_conflict(api, shop_world):
    response = api.post(api.url("offices/"), {"name": "Copy", "slug": "jorat"}, format="json")
    assert_error(response, 409, code="slug_taken", field="slug")


def test_the_currency_stays_once_tickets_are_ordered(api, shop_world):
    buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}], payment="free")
    response = api.patch(
        api.url(f"offices/{shop_world['office'].pk}/"), {"currency": "EUR"}, format="json"
    )
    assert_error(response, 400, field="currency")
    assert TicketOffice.objects.get(pk=shop_world["office"].pk).currency == "CHF"


def test_an_office_with_orders_to_come_is_not_deleted(api, shop_world):
    buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}], payment="free")
    office = shop_world["office"]
    response = api.delete(
        api.url(f"offices/{office.pk}/"), {"confirm_name": office.name}, format="json"
    )
    assert_error(response, 409, code="has_orders")
    assert TicketOffice.objects.filter(pk=office.pk).exists()


# -- forms and fields --------------------------------------------------------------------------


def test_a_form_created_under_its_office_lives_at_its_own_url(api, shop_world):
    office = shop_world["office"]
    created = api.post(api.url(f"offices/{office.pk}/forms/"), {"name": "Diet"}, format="json")
    assert created.status_code == 201, created.content
    form = created.json()
    assert (form["office"], form["name"], form["fields"]) == (office.pk, "Diet", [])
    assert api.get(api.url(f"forms/{form['id']}/")).json() == form

    renamed = api.patch(api.url(f"forms/{form['id']}/"), {"name": "Meals"}, format="json")
    assert renamed.json()["name"] == "Meals"
    listed = api.get(api.url(f"offices/{office.pk}/forms/")).json()["results"]
    assert [f["name"] for f in listed] == ["Attendee", "Meals"]
    assert api.delete(api.url(f"forms/{form['id']}/")).status_code == 204
    assert not TicketForm.objects.filter(pk=form["id"]).exists()


def test_a_field_is_created_changed_and_deleted(api, shop_world):
    form = shop_world["form"]
    created = api.post(
        api.url(f"forms/{form.pk}/fields/"),
        {
            "label": "Meal",
            "type": "radio",
            "required": True,
            "options": ["Meat", "Vegetarian"],
            "url": "https://jorat.example.test/menu",
            "position": 2,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    field = created.json()
    assert field["form"] == form.pk
    assert (field["type"], field["options"], field["position"]) == (
        "radio",
        ["Meat", "Vegetarian"],
        2,
    )
    assert api.get(api.url(f"fields/{field['id']}/")).json() == field

    changed = api.patch(
        api.url(f"fields/{field['id']}/"), {"position": None, "label": "Dinner"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["label"], changed.json()["position"]) == ("Dinner", None)
    assert changed.json()["options"] == ["Meat", "Vegetarian"]
    assert api.delete(api.url(f"fields/{field['id']}/")).status_code == 204
    assert not FormField.objects.filter(pk=field["id"]).exists()


def test_bad_field_input_names_the_fields_and_creates_nothing(api, shop_world):
    form = shop_world["form"]
    response = api.post(
        api.url(f"forms/{form.pk}/fields/"),
        {"label": "Colour", "type": "colour", "position": -1},
        format="json",
    )
    assert set(assert_error(response, 400)["fields"]) == {"type", "position"}
    response = api.post(
        api.url(f"forms/{form.pk}/fields/"),
        {"label": "Meal", "type": "select", "options": [], "url": "ftp://x"},
        format="json",
    )
    assert set(assert_error(response, 400)["fields"]) == {"options", "url"}
    assert form.fields.count() == 2


def test_fields_are_listed_in_display_order_1_2_3_then_unnumbered_then_0(api, shop_world):
    access, form = shop_world["access"], shop_world["form"]
    form.fields.all().delete()
    for label, position in [
        ("last", 0),
        ("unnumbered A", None),
        ("third", 3),
        ("first", 1),
        ("unnumbered B", None),
        ("second", 2),
        ("also last", 0),
    ]:
        services.field_create(access=access, form=form, label=label, type="text", position=position)
    expected = ["first", "second", "third", "unnumbered A", "unnumbered B", "last", "also last"]
    listed = api.get(api.url(f"forms/{form.pk}/fields/")).json()
    assert [f["label"] for f in listed["results"]] == expected
    assert [f["label"] for f in api.get(api.url(f"forms/{form.pk}/")).json()["fields"]] == expected


# -- events, dates, zones, tariffs -------------------------------------------------------------


def test_an_event_is_built_from_scratch_and_put_on_sale(api, shop_world):
    office = shop_world["office"]
    created = api.post(
        api.url(f"offices/{office.pk}/events/"), {"title": "Tartuffe"}, format="json"
    )
    assert created.status_code == 201, created.content
    event = created.json()
    assert (event["title"], event["status"], event["venue"]) == ("Tartuffe", "draft", "")

    too_early = api.patch(api.url(f"events/{event['id']}/"), {"status": "on_sale"}, format="json")
    assert_error(too_early, 400, field="status")
    assert Event.objects.get(pk=event["id"]).status == "draft"

    starts = timezone.now() + datetime.timedelta(days=10)
    date = api.post(
        api.url(f"events/{event['id']}/dates/"),
        {
            "starts_at": starts.isoformat(),
            "ends_at": (starts + datetime.timedelta(hours=2)).isoformat(),
        },
        format="json",
    )
    assert date.status_code == 201, date.content
    date = date.json()
    assert (date["event"], date["capacity"], date["zones"]) == (event["id"], 0, [])
    zone = api.post(
        api.url(f"dates/{date['id']}/zones/"), {"name": "Stalls", "capacity": 50}, format="json"
    )
    assert zone.status_code == 201, zone.content
    zone = zone.json()
    assert (zone["date"], zone["capacity"], zone["available"], zone["tariffs"]) == (
        date["id"],
        50,
        50,
        [],
    )
    tariff = api.post(
        api.url(f"zones/{zone['id']}/tariffs/"),
        {"name": "Full price", "price": "32.50", "cap": 20, "form": shop_world["form"].pk},
        format="json",
    )
    assert tariff.status_code == 201, tariff.content
    tariff = tariff.json()
    assert (tariff["zone"], tariff["price"], tariff["cap"], tariff["form"]) == (
        zone["id"],
        "32.50",
        20,
        shop_world["form"].pk,
    )
    assert (tariff["min_per_order"], tariff["max_per_order"], tariff["public"]) == (1, 10, True)
    assert tariff["available"] == 20
    assert api.get(api.url(f"tariffs/{tariff['id']}/")).json() == tariff

    on_sale = api.patch(api.url(f"events/{event['id']}/"), {"status": "on_sale"}, format="json")
    assert on_sale.status_code == 200, on_sale.content
    assert on_sale.json()["status"] == "on_sale"
    assert api.get(api.url(f"events/{event['id']}/")).json()["status"] == "on_sale"


def test_bad_catalogue_input_names_the_fields(api, shop_world):
    event, zone = shop_world["event"], shop_world["stalls"]
    starts = timezone.now() + datetime.timedelta(days=3)
    response = api.post(
        api.url(f"events/{event.pk}/dates/"),
        {
            "starts_at": starts.isoformat(),
            "ends_at": (starts - datetime.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert_error(response, 400, field="ends_at")
    assert_error(
        api.post(api.url(f"dates/{shop_world['date'].pk}/zones/"), {"name": "Pit"}, format="json"),
        400,
        field="capacity",
    )
    other_form = services.form_create(
        access=shop_world["access"],
        office=services.office_create(access=shop_world["access"], name="Other", slug="other"),
        name="Elsewhere",
    )
    response = api.post(
        api.url(f"zones/{zone.pk}/tariffs/"),
        {
            "name": "Odd",
            "price": "-1",
            "form": other_form.pk,
            "min_per_order": 5,
            "max_per_order": 2,
        },
        format="json",
    )
    assert set(assert_error(response, 400)["fields"]) >= {"price", "form", "max_per_order"}
    assert zone.tariffs.count() == 2
    assert_error(
        api.patch(api.url(f"events/{event.pk}/"), {"status": "sold"}, format="json"),
        400,
        field="status",
    )


def test_a_zone_does_not_shrink_below_what_is_taken(api, shop_world):
    buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 5}], payment="free")
    balcony = shop_world["balcony"]
    assert_error(
        api.patch(api.url(f"zones/{balcony.pk}/"), {"capacity": 4}, format="json"),
        400,
        field="capacity",
    )
    changed = api.patch(api.url(f"zones/{balcony.pk}/"), {"capacity": 5}, format="json")
    assert (changed.json()["capacity"], changed.json()["available"]) == (5, 0)


def test_the_date_answers_what_is_held_sold_and_left_after_a_sale(api, shop_world):
    w = shop_world
    buy(w, [{"tariff": w["free"].pk, "quantity": 2}], payment="free")
    pending = buy(w, [{"tariff": w["student"].pk, "quantity": 1}], payment="later")
    services.basket_create(office=w["office"], items=[{"tariff": w["full"].pk, "quantity": 3}])

    date = api.get(api.url(f"dates/{w['date'].pk}/")).json()
    assert counts(date) == [120, 4, 2, 114]
    zones = {z["name"]: z for z in date["zones"]}
    assert counts(zones["Stalls"]) == [100, 4, 0, 96]
    assert counts(zones["Balcony"]) == [20, 0, 2, 18]
    tariffs = {t["name"]: t for z in date["zones"] for t in z["tariffs"]}
    assert counts(tariffs["Full price"], LEFT) == [3, 0, 96]
    # The student tariff is capped at 10: one of them is held by the unpaid order.
    assert counts(tariffs["Student"], LEFT) == [1, 0, 9]
    assert counts(tariffs["Invitation"], LEFT) == [0, 2, 18]
    assert tariffs["Invitation"]["price"] == "0.00"

    api.post(api.url(f"orders/{pending.pk}/mark-paid/"), format="json")
    student = api.get(api.url(f"tariffs/{w['student'].pk}/")).json()
    assert counts(student, LEFT) == [0, 1, 9]
    listed = api.get(api.url(f"events/{w['event'].pk}/dates/")).json()
    assert listed["count"] == 1
    assert listed["results"][0]["sold"] == 3


def test_what_has_tickets_is_not_deleted(api, shop_world):
    buy(shop_world, [{"tariff": shop_world["student"].pk, "quantity": 1}])
    for path in (
        f"tariffs/{shop_world['student'].pk}/",
        f"zones/{shop_world['stalls'].pk}/",
        f"dates/{shop_world['date'].pk}/",
        f"events/{shop_world['event'].pk}/",
    ):
        assert_error(api.delete(api.url(path)), 409, code="has_tickets")
    assert Tariff.objects.filter(pk=shop_world["student"].pk).exists()
    assert api.delete(api.url(f"tariffs/{shop_world['free'].pk}/")).status_code == 204
    assert api.delete(api.url(f"zones/{shop_world['balcony'].pk}/")).status_code == 204


def test_cancelling_a_date_frees_its_seats_and_cancels_its_orders(api, shop_world):
    order = buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 2}], payment="free")
    response = api.post(api.url(f"dates/{shop_world['date'].pk}/cancel/"), format="json")
    assert response.status_code == 200, response.content
    date = response.json()
    assert date["cancelled_at"] is not None
    assert (date["held"], date["sold"], date["available"]) == (0, 0, 120)
    assert api.get(api.url(f"orders/{order.pk}/")).json()["status"] == "cancelled"


# -- orders ------------------------------------------------------------------------------------


def test_orders_are_filtered_by_status_date_and_search(api, shop_world):
    w = shop_world
    paid = buy(w, [{"tariff": w["free"].pk, "quantity": 1}], payment="free", name="Ada Byron")
    pending = buy(
        w,
        [{"tariff": w["student"].pk, "quantity": 1}],
        name="Alan Turing",
        email="alan@bletchley.test",
    )
    other_date = services.date_create(
        access=w["access"], event=w["event"], starts_at=timezone.now() + datetime.timedelta(days=60)
    )
    orders = api.url(f"offices/{w['office'].pk}/orders/")

    def codes(**params):
        response = api.get(orders, params)
        assert response.status_code == 200, response.content
        return [o["code"] for o in response.json()["results"]]

    assert codes() == [pending.code, paid.code]
    assert codes(status="paid") == [paid.code]
    assert codes(status="pending") == [pending.code]
    assert codes(search="bletchley") == [pending.code]
    assert codes(search="ada") == [paid.code]
    assert codes(search=paid.code.lower()) == [paid.code]
    assert codes(date=w["date"].pk) == [pending.code, paid.code]
    assert codes(date=other_date.pk) == []
    assert_error(api.get(orders, {"status": "lost"}), 400, field="status")


def test_an_order_shows_its_tickets_but_never_their_secrets(api, shop_world):
    order = buy(shop_world, [{"tariff": shop_world["full"].pk, "quantity": 2}])
    response = api.get(api.url(f"orders/{order.pk}/"))
    body = response.json()
    assert (body["code"], body["status"], body["total"], body["currency"]) == (
        order.code,
        "pending",
        "90.00",
        "CHF",
    )
    assert (body["buyer_name"], body["buyer_email"], body["payment_method"]) == (
        "Grace Hopper",
        "grace@example.test",
        "later",
    )
    assert body["payment_deadline"] is not None and body["paid_at"] is None
    assert [set(t) for t in body["tickets"]] == [TICKET_KEYS, TICKET_KEYS]
    ticket = body["tickets"][0]
    assert (ticket["tariff"], ticket["zone"], ticket["price"]) == (
        shop_world["full"].pk,
        shop_world["stalls"].pk,
        "45.00",
    )
    assert ticket["holder_name"] == "Ada Lovelace"
    assert ticket["answers"][str(shop_world["attendee"].pk)] == "Ada Lovelace"
    listed = api.get(api.url(f"offices/{shop_world['office'].pk}/orders/")).content.decode()
    for stored in Ticket.objects.filter(order=order):
        assert stored.nonce not in response.content.decode() + listed
        assert stored.secret_hash not in response.content.decode() + listed


def test_a_pay_later_order_is_marked_paid_and_the_buyer_gets_the_tickets(
    api, shop_world, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    order = buy(shop_world, [{"tariff": shop_world["student"].pk, "quantity": 2}])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            api.url(f"orders/{order.pk}/mark-paid/"), {"reference": "IBAN 42"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paid"
    assert response.json()["paid_at"] is not None
    assert Order.objects.get(pk=order.pk).payment_reference == "IBAN 42"
    assert [m.to for m in mail.outbox] == [["grace@example.test"]]
    assert len(mail.outbox[0].attachments) == 2
    again = api.post(api.url(f"orders/{order.pk}/mark-paid/"), format="json")
    assert again.json()["paid_at"] == response.json()["paid_at"]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        resent = api.post(api.url(f"orders/{order.pk}/resend/"), format="json")
    assert resent.status_code == 200, resent.content
    assert [m.to for m in mail.outbox] == [["grace@example.test"]]


def test_only_a_paid_order_has_tickets_to_resend(api, shop_world):
    order = buy(shop_world, [{"tariff": shop_world["student"].pk, "quantity": 1}])
    assert_error(api.post(api.url(f"orders/{order.pk}/resend/")), 409, code="order_not_paid")


def test_cancelling_an_order_frees_its_seats(api, shop_world):
    w = shop_world
    order = buy(w, [{"tariff": w["free"].pk, "quantity": 20}], payment="free")
    with pytest.raises(services.SoldOut):
        services.basket_create(office=w["office"], items=[{"tariff": w["free"].pk, "quantity": 1}])
    response = api.post(api.url(f"orders/{order.pk}/cancel/"), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert all(t["cancelled"] for t in response.json()["tickets"])
    balcony = api.get(api.url(f"zones/{w['balcony'].pk}/")).json()
    assert (balcony["sold"], balcony["available"]) == (0, 20)
    services.basket_create(office=w["office"], items=[{"tariff": w["free"].pk, "quantity": 20}])
    assert_error(api.post(api.url(f"orders/{order.pk}/mark-paid/")), 409, code="order_cancelled")


def test_orders_are_found_by_the_name_on_a_ticket(api, shop_world):
    """At the door people give their own name, not the buyer's."""
    w = shop_world
    basket, _key = services.basket_create(
        office=w["office"], items=[{"tariff": w["full"].pk, "quantity": 1}]
    )
    services.basket_answers_set(
        basket=basket,
        entries=[{"tariff": w["full"].pk, "answers": full_answers(w, "Hedy Lamarr")}],
    )
    order = services.checkout(basket=basket, name="Grace Hopper", email="g@x.test", payment="later")
    buy(w, [{"tariff": w["free"].pk, "quantity": 1}], payment="free", name="Ada Byron")
    response = api.get(api.url(f"offices/{w['office'].pk}/orders/"), {"search": "lamarr"})
    assert [o["code"] for o in response.json()["results"]] == [order.code]
