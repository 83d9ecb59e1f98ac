"""The shop API reveals nothing it should not: another office's events, tariffs, baskets
and orders, drafts and hidden tariffs, the organiser's sales figures, or any buyer's
name, email or answers without the order's token."""

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from panel.access import access_for
from tests import factories as f
from ticketing import services
from ticketing.models import Basket, Order, Ticket

from .conftest import full_answers

pytestmark = pytest.mark.django_db

PERSONAL = ("Grace Hopper", "grace@example.test", "Ada Lovelace")


@pytest.fixture
def world(shop_world):
    """The shop world, a second office of another organisation with an event on sale,
    a draft event and a hidden tariff in the first office, and a paid order of Grace's
    with an answer naming Ada."""
    w = shop_world
    owner = f.UserFactory(email="rival@example.test")
    org = f.OrganisationFactory(name="Rival", legal_representative=owner)
    rival = access_for(owner, org)
    w["rival_office"] = services.office_create(access=rival, name="Rival", slug="rival")
    event = services.event_create(access=rival, office=w["rival_office"], title="Rival show")
    date = services.date_create(access=rival, event=event, starts_at=w["date"].starts_at)
    zone = services.zone_create(access=rival, date=date, name="Pit", capacity=50)
    w["rival_tariff"] = services.tariff_create(
        access=rival, zone=zone, name="Pit", price=Decimal("0")
    )
    services.event_update(access=rival, event=event, status="on_sale")
    w["rival_event"] = event

    access = w["access"]
    w["draft"] = services.event_create(access=access, office=w["office"], title="Secret draft")
    draft_date = services.date_create(
        access=access, event=w["draft"], starts_at=w["date"].starts_at
    )
    draft_zone = services.zone_create(access=access, date=draft_date, name="Hall", capacity=9)
    w["draft_tariff"] = services.tariff_create(
        access=access, zone=draft_zone, name="Preview", price=Decimal("0")
    )
    w["hidden"] = services.tariff_create(
        access=access, zone=w["stalls"], name="Staff only", price=Decimal("0"), public=False
    )

    basket, key = services.basket_create(
        office=w["office"], items=[{"tariff": w["full"].pk, "quantity": 1}]
    )
    services.basket_answers_set(
        basket=basket, entries=[{"tariff": w["full"].pk, "answers": full_answers(w)}]
    )
    w["order"] = services.checkout(
        basket=basket, name="Grace Hopper", email="grace@example.test", payment="later"
    )
    w["order_basket_key"] = key
    return w


def shop(slug, path=""):
    return f"/api/v1/shop/{slug}/{path}"


def text_of(response) -> str:
    return response.content.decode()


def assert_nothing_personal(response):
    for value in PERSONAL:
        assert value not in text_of(response), (response.request["PATH_INFO"], value)


def test_events_show_neither_drafts_nor_hidden_tariffs_nor_the_organisers_figures(world):
    buyer = APIClient()
    listed = buyer.get(shop("jorat", "events/"))
    assert [e["title"] for e in listed.json()["results"]] == ["Le Misanthrope"]
    detail = buyer.get(shop("jorat", f"events/{world['event'].pk}/"))
    assert detail.status_code == 200
    assert "Staff only" not in text_of(detail)
    body = detail.json()
    for date in body["dates"]:
        assert not {"capacity", "held", "sold"} & set(date)
        for zone in date["zones"]:
            assert not {"capacity", "held", "sold"} & set(zone)
            for tariff in zone["tariffs"]:
                assert not {"held", "sold", "cap", "public"} & set(tariff)
    for response in (listed, detail):
        assert_nothing_personal(response)
        assert "Rival" not in text_of(response)


@pytest.mark.parametrize(
    "path",
    [
        lambda w: shop("jorat", f"events/{w['draft'].pk}/"),
        lambda w: shop("jorat", f"events/{w['rival_event'].pk}/"),
        lambda w: shop("rival", f"events/{w['event'].pk}/"),
        lambda w: shop("jorat", f"events/{10**30}/"),
        lambda w: shop("nowhere", "events/"),
    ],
)
def test_drafts_and_other_offices_events_answer_404(world, path):
    response = APIClient().get(path(world))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("tariff", ["rival_tariff", "draft_tariff", "hidden"])
def test_a_tariff_not_sold_in_this_shop_is_refused_like_one_that_does_not_exist(world, tariff):
    before = (Basket.objects.count(), Ticket.objects.count())
    refused = APIClient().post(
        shop("jorat", "baskets/"),
        {"items": [{"tariff": world[tariff].pk, "quantity": 1}]},
        format="json",
    )
    missing = APIClient().post(
        shop("jorat", "baskets/"), {"items": [{"tariff": 10**9, "quantity": 1}]}, format="json"
    )
    assert refused.status_code == missing.status_code == 400
    assert refused.json() == missing.json()
    assert set(refused.json()["fields"]) == {"items.0.tariff"}
    assert (Basket.objects.count(), Ticket.objects.count()) == before


def test_another_offices_basket_answers_404_everywhere(world):
    buyer = APIClient()
    created = buyer.post(
        shop("jorat", "baskets/"),
        {"items": [{"tariff": world["student"].pk, "quantity": 1}]},
        format="json",
    ).json()
    base = shop("rival", f"baskets/{created['id']}/")
    answers = {"tickets": [{"tariff": world["student"].pk, "answers": {}}]}
    checkout = {"name": "Eve", "email": "eve@example.test", "payment": "later"}
    for response in (
        buyer.get(base),
        buyer.put(base + "answers/", answers, format="json"),
        buyer.post(base + "checkout/", checkout, format="json"),
        buyer.get(shop("jorat", "baskets/not-a-key/")),
    ):
        assert response.status_code == 404, response.request["PATH_INFO"]
    assert Order.objects.count() == 1
    assert Ticket.objects.get(basket__isnull=False).answers == {}


def test_a_basket_once_ordered_shows_nothing_of_its_order(world):
    response = APIClient().get(shop("jorat", f"baskets/{world['order_basket_key']}/"))
    assert response.status_code == 200
    assert response.json()["items"] == [] and response.json()["tickets"] == []
    assert_nothing_personal(response)


def test_an_order_is_only_shown_with_its_own_token(world):
    from ticketing.secrets import order_token

    order = world["order"]
    token = order_token(order)
    other_basket, _key = services.basket_create(
        office=world["office"], items=[{"tariff": world["free"].pk, "quantity": 1}]
    )
    other = services.checkout(
        basket=other_basket, name="Eve", email="eve@example.test", payment="free"
    )
    buyer = APIClient()
    refused = [
        buyer.get(shop("jorat", f"orders/{order.code}/")),
        buyer.get(shop("jorat", f"orders/{order.code}/"), {"token": "0" * 32}),
        buyer.get(shop("jorat", f"orders/{order.code}/"), {"token": order_token(other)}),
        buyer.get(shop("jorat", f"orders/{other.code}/"), {"token": token}),
        buyer.get(shop("rival", f"orders/{order.code}/"), {"token": token}),
        buyer.get(shop("jorat", "orders/NOCODE/"), {"token": token}),
    ]
    ticket = order.tickets.get()
    refused += [
        buyer.get(shop("jorat", f"orders/{order.code}/tickets/{ticket.pk}/pdf/")),
        buyer.get(
            shop("jorat", f"orders/{other.code}/tickets/{ticket.pk}/pdf/"),
            {"token": order_token(other)},
        ),
    ]
    for response in refused:
        assert response.status_code == 404, response.request
        assert_nothing_personal(response)
        assert set(response.json()) == {"code", "detail", "fields"}

    shown = buyer.get(shop("jorat", f"orders/{order.code.lower()}/"), {"token": token})
    assert shown.status_code == 200
    body = json.loads(shown.content)
    assert (body["name"], body["email"]) == ("Grace Hopper", "grace@example.test")
    assert body["tickets"][0]["name"] == "Ada Lovelace"
    # Never the ticket's secret, not even for its buyer: the PDF carries it.
    assert "secret" not in body["tickets"][0]
    assert "Eve" not in text_of(shown)
