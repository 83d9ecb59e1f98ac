"""The public shop's API as a buyer's script uses it: browse, hold seats, answer the
forms, check out free, later or by card, and open the order with its token."""

import datetime
import io

import pytest
from pypdf import PdfReader
from rest_framework.test import APIClient

from ticketing import secrets, services
from ticketing.models import Basket, Order, OrderStatus, Ticket

from .conftest import full_answers

pytestmark = pytest.mark.django_db


def url(world, path=""):
    return f"/api/v1/shop/{world['office'].slug}/{path}"


@pytest.fixture
def buyer():
    return APIClient()


def hold(buyer, world, items, status=201):
    response = buyer.post(url(world, "baskets/"), {"items": items}, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def answer(buyer, world, basket, tickets, status=200):
    response = buyer.put(
        url(world, f"baskets/{basket['id']}/answers/"), {"tickets": tickets}, format="json"
    )
    assert response.status_code == status, response.json()
    return response.json()


def check_out(buyer, world, basket, payment, status=201, **headers):
    body = {"name": "Grace Hopper", "email": "Grace@Example.test", "payment": payment}
    response = buyer.post(
        url(world, f"baskets/{basket['id']}/checkout/"), body, format="json", **headers
    )
    assert response.status_code == status, response.json()
    return response.json()


def counts():
    return (Basket.objects.count(), Ticket.objects.count(), Order.objects.count())


def test_events_list_their_dates_and_what_is_left(buyer, shop_world):
    hold(buyer, shop_world, [{"tariff": shop_world["free"].pk, "quantity": 5}])
    response = buyer.get(url(shop_world, "events/"))
    assert response.status_code == 200
    [event] = response.json()["results"]
    assert event["title"] == "Le Misanthrope"
    [date] = event["dates"]
    assert date["id"] == shop_world["date"].pk
    assert date["available"] == 115


def test_an_event_shows_zones_tariffs_what_is_left_and_the_form_in_order(buyer, shop_world):
    hold(buyer, shop_world, [{"tariff": shop_world["student"].pk, "quantity": 4}])
    response = buyer.get(url(shop_world, f"events/{shop_world['event'].pk}/"))
    assert response.status_code == 200
    body = response.json()
    assert body["office"]["currency"] == "CHF"
    [date] = body["dates"]
    stalls, balcony = date["zones"]
    assert (stalls["name"], stalls["available"], balcony["available"]) == ("Stalls", 96, 20)
    tariffs = {t["name"]: t for t in stalls["tariffs"]}
    assert tariffs["Student"]["available"] == 6  # its cap of 10, 4 held
    assert tariffs["Full price"]["available"] == 96
    assert tariffs["Full price"]["price"] == "45.00"
    assert tariffs["Full price"]["on_sale"] is True
    assert [f["label"] for f in tariffs["Full price"]["fields"]] == ["Attendee name", "I accept"]
    assert tariffs["Full price"]["fields"][1]["url"] == "https://jorat.example.test/terms"
    assert tariffs["Student"]["fields"] == []


def test_free_order_from_basket_to_tickets(buyer, shop_world):
    basket = hold(buyer, shop_world, [{"tariff": shop_world["free"].pk, "quantity": 2}])
    assert basket["id"] and basket["expires_at"]
    # The basket's id is its unguessable key, not its row number.
    assert len(basket["id"]) >= 32 and basket["id"] != str(Basket.objects.get().pk)
    [item] = basket["items"]
    assert (item["tariff"], item["quantity"], item["zone"]) == (shop_world["free"].pk, 2, "Balcony")
    assert basket["tickets"] == [{"tariff": shop_world["free"].pk, "answers": {}, "seat": None}] * 2

    body = check_out(buyer, shop_world, basket, "free")
    order = body["order"]
    assert order["status"] == "paid" and order["total"] == "0.00"
    assert order["email"] == "grace@example.test"
    assert [t["name"] for t in order["tickets"]] == ["Grace Hopper", "Grace Hopper"]
    assert all(t["download_url"] for t in order["tickets"])
    assert "secret" not in order["tickets"][0]
    assert "payment_url" not in body

    again = buyer.get(url(shop_world, f"orders/{order['code']}/"), {"token": order["token"]})
    assert again.status_code == 200
    assert again.json()["tickets"] == order["tickets"]
    assert Ticket.objects.filter(order__code=order["code"], expires_at__isnull=True).count() == 2

    ticket = buyer.get(order["tickets"][0]["download_url"])
    assert ticket.status_code == 200
    assert ticket["Content-Type"] == "application/pdf"
    assert ticket.content.startswith(b"%PDF")
    assert order["code"] in PdfReader(io.BytesIO(ticket.content)).pages[0].extract_text()


def test_pay_later_order_with_answers_names_the_attendee(buyer, shop_world):
    basket = hold(
        buyer,
        shop_world,
        [
            {"tariff": shop_world["full"].pk, "quantity": 1},
            {"tariff": shop_world["student"].pk, "quantity": 1},
        ],
    )
    assert basket["total"] == "65.00"
    full, student = basket["items"]
    assert [f["id"] for f in full["fields"]] == [
        shop_world["attendee"].pk,
        shop_world["terms"].pk,
    ]
    answered = answer(
        buyer,
        shop_world,
        basket,
        [
            {"tariff": shop_world["full"].pk, "answers": full_answers(shop_world)},
            {"tariff": shop_world["student"].pk, "answers": {}},
        ],
    )
    assert answered["tickets"][0]["answers"][str(shop_world["attendee"].pk)] == "Ada Lovelace"

    order = check_out(buyer, shop_world, basket, "later")["order"]
    assert order["status"] == "pending" and order["payment_deadline"]
    assert [t["name"] for t in order["tickets"]] == ["Ada Lovelace", "Grace Hopper"]
    assert order["tickets"][0]["answers"] == [
        {"field": shop_world["attendee"].pk, "label": "Attendee name", "value": "Ada Lovelace"},
        {"field": shop_world["terms"].pk, "label": "I accept", "value": ["the terms"]},
    ]
    # Unpaid: no ticket to download yet.
    assert [t["download_url"] for t in order["tickets"]] == [None, None]
    pdf_url = url(shop_world, f"orders/{order['code']}/tickets/{order['tickets'][0]['id']}/pdf/")
    assert buyer.get(pdf_url, {"token": order["token"]}).status_code == 404


def test_card_order_answers_a_payment_page_and_is_paid_by_the_provider(buyer, shop_world):
    basket = hold(buyer, shop_world, [{"tariff": shop_world["student"].pk, "quantity": 2}])
    body = check_out(buyer, shop_world, basket, "card")
    order = body["order"]
    assert order["status"] == "pending"
    assert order["code"] in body["payment_url"]
    assert body["payment_url"].startswith("http://testserver/")
    saved = Order.objects.get(code=order["code"])
    assert saved.payment_provider == "test_card"

    services.order_mark_paid(order=saved, reference="test-card")
    paid = buyer.get(url(shop_world, f"orders/{order['code']}/"), {"token": order["token"]})
    assert paid.json()["status"] == "paid"
    assert Ticket.objects.filter(order=saved, expires_at__isnull=True).count() == 2


def test_the_order_takes_the_language_of_the_request(buyer, shop_world):
    basket = hold(buyer, shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}])
    order = check_out(buyer, shop_world, basket, "free", HTTP_ACCEPT_LANGUAGE="fr-CH,fr;q=0.9")
    assert order["order"]["language"] == "fr"
    assert Order.objects.get(code=order["order"]["code"]).language == "fr"


def test_sold_out_answers_409_with_what_is_left_and_holds_nothing(buyer, shop_world):
    hold(buyer, shop_world, [{"tariff": shop_world["student"].pk, "quantity": 8}])
    before = counts()
    refused = hold(
        buyer,
        shop_world,
        [
            {"tariff": shop_world["full"].pk, "quantity": 1},
            {"tariff": shop_world["student"].pk, "quantity": 5},
        ],
        status=409,
    )
    assert refused["code"] == "sold_out"
    assert refused["available"] == [
        {"tariff": shop_world["full"].pk, "available": 92},
        {"tariff": shop_world["student"].pk, "available": 2},
    ]
    assert refused["fields"] == {"items.1.quantity": ["Only 2 left."]}
    assert counts() == before


def test_answers_invalid_names_the_ticket_and_the_field_and_keeps_nothing(buyer, shop_world):
    basket = hold(buyer, shop_world, [{"tariff": shop_world["full"].pk, "quantity": 2}])
    attendee, terms = shop_world["attendee"].pk, shop_world["terms"].pk
    good = {"tariff": shop_world["full"].pk, "answers": full_answers(shop_world)}
    bad = {"tariff": shop_world["full"].pk, "answers": {str(attendee): "Bob", str(terms): []}}
    refused = answer(buyer, shop_world, basket, [good, bad], status=400)
    assert refused["code"] == "answers_invalid"
    assert list(refused["fields"]) == [f"tickets.1.answers.{terms}"]
    assert Ticket.objects.exclude(answers={}).count() == 0

    # The checkout refuses the same way while required answers are missing.
    before = counts()
    refused = check_out(buyer, shop_world, basket, "later", status=400)
    assert refused["code"] == "answers_invalid"
    assert set(refused["fields"]) == {
        f"tickets.{i}.answers.{field}" for i in (0, 1) for field in (attendee, terms)
    }
    assert counts() == before

    answer(buyer, shop_world, basket, [good, good])
    assert check_out(buyer, shop_world, basket, "later")["order"]["status"] == "pending"


def full(quantity):
    return lambda world: [{"tariff": world["full"].pk, "quantity": quantity}]


@pytest.mark.parametrize(
    "items, field",
    [
        (lambda world: "three", "items"),
        (lambda world: [], "items"),
        (lambda world: [{"tariff": "full", "quantity": 1}], "items.0.tariff"),
        (lambda world: [{"tariff": 10**30, "quantity": 1}], "items.0.tariff"),
        (lambda world: [{"quantity": 1}], "items.0.tariff"),
        (lambda world: ["full"], "items.0.tariff"),
        (full(-1), "items.0.quantity"),
        (full(1.5), "items.0.quantity"),
        (full(True), "items.0.quantity"),
        (full(11), "items.0.quantity"),  # over the tariff's maximum per order
        (full(0), "items"),
    ],
)
def test_bad_basket_input_names_the_item_and_changes_nothing(buyer, shop_world, items, field):
    before = counts()
    refused = hold(buyer, shop_world, items(shop_world), status=400)
    assert field in refused["fields"], refused
    assert counts() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "", "email": "grace@example.test", "payment": "later"}, "name"),
        ({"name": 12, "email": "grace@example.test", "payment": "later"}, "name"),
        ({"name": "Grace", "email": "not an address", "payment": "later"}, "email"),
        ({"name": "Grace", "email": "grace@example.test", "payment": "free"}, "payment"),
        ({"name": "Grace", "email": "grace@example.test", "payment": "cheque"}, "payment"),
        ({"name": "Grace", "email": "grace@example.test"}, "payment"),
    ],
)
def test_bad_checkout_input_names_the_field_and_changes_nothing(buyer, shop_world, body, field):
    basket = hold(buyer, shop_world, [{"tariff": shop_world["student"].pk, "quantity": 1}])
    before = counts()
    response = buyer.post(url(shop_world, f"baskets/{basket['id']}/checkout/"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert counts() == before
    assert Ticket.objects.get().basket_id is not None


def test_a_basket_is_checked_out_once(buyer, shop_world):
    basket = hold(buyer, shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}])
    check_out(buyer, shop_world, basket, "free")
    again = check_out(buyer, shop_world, basket, "free", status=409)
    assert again["code"] == "basket_ordered"
    assert Order.objects.count() == 1


def test_a_hold_run_out_and_sold_meanwhile_refuses_the_checkout(buyer, shop_world):
    late = hold(buyer, shop_world, [{"tariff": shop_world["free"].pk, "quantity": 20}])
    Ticket.objects.update(expires_at="2000-01-01T00:00:00Z")
    hold(buyer, shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}])
    refused = check_out(buyer, shop_world, late, "free", status=409)
    assert refused["code"] == "sold_out"
    assert not Order.objects.exists()


def test_a_client_over_the_rate_gets_429_in_the_error_envelope(settings, shop_world):
    settings.TICKETING_SHOP_RATE = "3/min"
    eager = APIClient(REMOTE_ADDR="203.0.113.7")
    for _n in range(3):
        assert eager.get(url(shop_world, "events/")).status_code == 200
    refused = eager.post(
        url(shop_world, "baskets/"),
        {"items": [{"tariff": shop_world["free"].pk, "quantity": 1}]},
        format="json",
    )
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1
    assert not Basket.objects.exists()
    # Another address is not slowed down, whatever header the first one sends.
    assert APIClient(REMOTE_ADDR="203.0.113.8").get(url(shop_world, "events/")).status_code == 200
    spoofing = eager.get(url(shop_world, "events/"), HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert spoofing.status_code == 429


def test_the_order_page_token_is_the_one_derived_from_the_order(buyer, shop_world):
    basket = hold(buyer, shop_world, [{"tariff": shop_world["free"].pk, "quantity": 1}])
    order = check_out(buyer, shop_world, basket, "free")["order"]
    saved = Order.objects.get(code=order["code"])
    assert order["token"] == secrets.order_token(saved)
    assert saved.status == OrderStatus.PAID


@pytest.mark.parametrize("payment", ["later", "card"])
def test_each_step_of_an_order_runs_as_many_queries_whatever_its_tickets(
    buyer, shop_world, payment
):
    """A buyer of six tickets costs the database what a buyer of one does."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_of_one_order(quantity):
        counts = []
        with CaptureQueriesContext(connection) as queries:
            basket = hold(
                buyer, shop_world, [{"tariff": shop_world["full"].pk, "quantity": quantity}]
            )
        counts.append(len(queries))
        entry = {"tariff": shop_world["full"].pk, "answers": full_answers(shop_world)}
        with CaptureQueriesContext(connection) as queries:
            answer(buyer, shop_world, basket, [entry] * quantity)
        counts.append(len(queries))
        with CaptureQueriesContext(connection) as queries:
            check_out(buyer, shop_world, basket, payment)
        counts.append(len(queries))
        return counts

    queries_of_one_order(1)  # warm up: content types, sessions...
    assert queries_of_one_order(1) == queries_of_one_order(6)


def test_the_events_list_and_an_event_run_as_many_queries_whatever_their_size(buyer, shop_world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    access, world = shop_world["access"], shop_world

    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            assert buyer.get(url(world, path)).status_code == 200
        return len(captured)

    def grow():
        event = services.event_create(access=access, office=world["office"], title="More")
        for days in (40, 41):
            starts_at = world["date"].starts_at + datetime.timedelta(days=days)
            date = services.date_create(access=access, event=event, starts_at=starts_at)
            zone = services.zone_create(access=access, date=date, name="Pit", capacity=5)
            services.tariff_create(
                access=access, zone=zone, name="Pit", price="5", form=world["form"].pk
            )
        zone = services.zone_create(access=access, date=world["date"], name="Box", capacity=4)
        services.tariff_create(
            access=access, zone=zone, name="Box", price="9", form=world["form"].pk
        )
        services.event_update(access=access, event=event, status="on_sale")

    detail = f"events/{world['event'].pk}/"
    queries("events/")  # warm up
    small = (queries("events/"), queries(detail))
    grow()
    grow()
    assert (queries("events/"), queries(detail)) == small


def test_answers_sent_with_the_checkout_are_set_in_the_same_step(buyer, shop_world):
    full = shop_world["full"].pk
    basket = hold(buyer, shop_world, [{"tariff": full, "quantity": 2}])
    tickets = [
        {"tariff": full, "answers": full_answers(shop_world, "Ada Lovelace")},
        {"tariff": full, "answers": full_answers(shop_world, "Alan Turing")},
    ]
    body = {"name": "Grace Hopper", "email": "grace@example.test", "payment": "later",
            "tickets": tickets}  # fmt: skip
    response = buyer.post(url(shop_world, f"baskets/{basket['id']}/checkout/"), body, format="json")
    assert response.status_code == 201, response.json()
    names = [t["name"] for t in response.json()["order"]["tickets"]]
    assert names == ["Ada Lovelace", "Alan Turing"]
    assert sorted(Ticket.objects.values_list("holder_name", flat=True)) == names


def test_wrong_answers_sent_with_the_checkout_order_nothing(buyer, shop_world):
    full = shop_world["full"].pk
    basket = hold(buyer, shop_world, [{"tariff": full, "quantity": 2}])
    unticked = {str(shop_world["attendee"].pk): "Alan Turing", str(shop_world["terms"].pk): []}
    tickets = [
        {"tariff": full, "answers": full_answers(shop_world)},
        {"tariff": full, "answers": unticked},
    ]
    body = {"name": "Grace Hopper", "email": "grace@example.test", "payment": "later",
            "tickets": tickets}  # fmt: skip
    before = counts()
    response = buyer.post(url(shop_world, f"baskets/{basket['id']}/checkout/"), body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "answers_invalid"
    assert list(error["fields"]) == [f"tickets.1.answers.{shop_world['terms'].pk}"]
    assert counts() == before
    assert list(Ticket.objects.values_list("answers", flat=True)) == [{}, {}]


def test_a_broker_down_does_not_turn_a_paid_order_into_an_error(
    buyer, shop_world, monkeypatch, django_capture_on_commit_callbacks
):
    """The order is committed before its email is queued: the buyer sees their order."""
    from ticketing import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to the broker")

    monkeypatch.setattr(tasks.order_mail_send, "delay", broker_down)
    basket = hold(buyer, shop_world, [{"tariff": shop_world["free"].pk, "quantity": 2}])
    with django_capture_on_commit_callbacks(execute=True):
        order = check_out(buyer, shop_world, basket, "free")["order"]
    assert order["status"] == "paid"
    assert Order.objects.get(code=order["code"]).tickets.count() == 2
