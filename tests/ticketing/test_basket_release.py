"""Giving a basket's seats back at once (services.sales.basket_release): from the shop
page when the buyer chooses again or empties the basket, and from the shop API's
`DELETE baskets/{key}/`. A basket already ordered keeps its order, even when the two
happen at the same moment."""

import threading

import pytest
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from panel.errors import Conflict
from ticketing import selectors, services
from ticketing.models import Order, Ticket

pytestmark = pytest.mark.django_db


def left(tariff) -> int:
    """What the shop offers of this tariff now."""
    [date] = selectors.shop_dates(tariff.zone.date.event)
    return next(t.available for z in date.zones.all() for t in z.tariffs.all() if t.pk == tariff.pk)


def hold(world, name, quantity):
    return services.basket_create(
        office=world["office"], items=[{"tariff": world[name].pk, "quantity": quantity}]
    )


def held(tariff) -> int:
    return Ticket.objects.filter(tariff=tariff, order__isnull=True, basket__isnull=False).count()


def event_url(world):
    return reverse("shop:event", args=[world["office"].slug, world["event"].pk])


def basket_url(world):
    return reverse("shop:basket", args=[world["office"].slug])


# -- the service ------------------------------------------------------------------------------


def test_releasing_a_basket_puts_its_seats_back_on_sale_at_once(shop_world):
    basket, _key = hold(shop_world, "student", 10)  # the student cap of 10, all held
    assert left(shop_world["student"]) == 0
    with pytest.raises(services.SoldOut):
        hold(shop_world, "student", 1)

    assert services.basket_release(basket=basket) == 10

    assert left(shop_world["student"]) == 10
    assert left(shop_world["full"]) == 100
    hold(shop_world, "student", 10)  # long before the 15 minutes of the hold


def test_releasing_an_ordered_basket_changes_nothing(shop_world):
    basket, _key = hold(shop_world, "free", 3)
    order = services.checkout(basket=basket, name="Grace", email="grace@example.test",
                              payment="free")  # fmt: skip

    assert services.basket_release(basket=basket) == 0

    assert order.tickets.filter(cancelled=False).count() == 3
    assert left(shop_world["free"]) == 17


@pytest.mark.django_db(transaction=True)
def test_a_checkout_at_the_moment_of_the_release_orders_nothing(shop_world):
    """The release holds the basket's lock; the checkout waits for it, then finds the
    basket empty rather than making an order without tickets."""
    basket, _key = hold(shop_world, "free", 2)
    outcome = {}

    def check_out():
        try:
            services.checkout(basket=basket, name="Grace", email="grace@example.test",
                              payment="free")  # fmt: skip
            outcome["result"] = "ordered"
        except Conflict as error:
            outcome["result"] = error.code
        finally:
            connections.close_all()

    with transaction.atomic():
        assert services.basket_release(basket=basket) == 2
        buyer = threading.Thread(target=check_out)
        buyer.start()
        buyer.join(timeout=1)
        assert buyer.is_alive()  # waiting for the basket's lock
    buyer.join(timeout=10)

    assert outcome == {"result": "basket_ordered"}
    assert Order.objects.count() == 0
    assert left(shop_world["free"]) == 20


# -- the shop pages ---------------------------------------------------------------------------


def test_choosing_again_in_the_shop_gives_the_old_hold_back(shop_world):
    client = Client()
    student = shop_world["student"]
    assert client.post(event_url(shop_world), {f"qty-{student.pk}": "10"}).status_code == 302
    assert held(student) == 10

    page = client.get(event_url(shop_world)).content.decode()
    assert "Choosing tickets here replaces the ones in your basket." in page
    assert "starts a new basket" not in page

    # The whole cap again: only possible because the first 10 went back.
    response = client.post(event_url(shop_world), {f"qty-{student.pk}": "10"})
    assert response["Location"] == basket_url(shop_world)
    assert held(student) == 10
    assert "10 tickets" in client.get(basket_url(shop_world)).content.decode()


def test_a_refused_new_choice_keeps_the_old_hold(shop_world):
    client = Client()
    hold(shop_world, "free", 15)  # another buyer: 5 left in the balcony
    client.post(event_url(shop_world), {f"qty-{shop_world['student'].pk}": "4"})

    response = client.post(event_url(shop_world), {f"qty-{shop_world['free'].pk}": "10"})

    assert response.status_code == 200
    assert "Only 5 left." in response.content.decode()
    assert held(shop_world["student"]) == 4
    assert "4 tickets" in client.get(basket_url(shop_world)).content.decode()


def test_emptying_the_basket_frees_the_seats_and_goes_back_to_the_event(shop_world):
    client = Client(enforce_csrf_checks=True)
    page = client.get(event_url(shop_world)).content.decode()
    token = client.cookies["csrftoken"].value
    assert "csrfmiddlewaretoken" in page
    student = shop_world["student"]
    client.post(event_url(shop_world), {f"qty-{student.pk}": "3", "csrfmiddlewaretoken": token})
    page = client.get(basket_url(shop_world)).content.decode()
    assert "Empty the basket and choose again" in page

    # Without the CSRF token nothing happens.
    assert client.post(basket_url(shop_world), {"release": "1"}).status_code == 403
    assert held(student) == 3

    response = client.post(basket_url(shop_world), {"release": "1", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response["Location"] == event_url(shop_world)
    assert held(student) == 0
    assert left(student) == 10
    page = client.get(response["Location"]).content.decode()
    assert "Your basket is empty and its seats are free again." in page
    assert "Your basket is empty" in client.get(basket_url(shop_world)).content.decode()


# -- the shop API -----------------------------------------------------------------------------


def api(world, path):
    return f"/api/v1/shop/{world['office'].slug}/{path}"


def test_deleting_a_basket_through_the_api_frees_its_seats(shop_world):
    buyer = APIClient()
    created = buyer.post(api(shop_world, "baskets/"),
                         {"items": [{"tariff": shop_world["student"].pk, "quantity": 6}]},
                         format="json")  # fmt: skip
    key = created.json()["id"]
    assert left(shop_world["student"]) == 4

    response = buyer.delete(api(shop_world, f"baskets/{key}/"))

    assert response.status_code == 204
    assert left(shop_world["student"]) == 10
    assert buyer.get(api(shop_world, f"baskets/{key}/")).json()["items"] == []
    event = buyer.get(api(shop_world, f"events/{shop_world['event'].pk}/")).json()
    [date] = event["dates"]
    stalls = next(zone for zone in date["zones"] if zone["name"] == "Stalls")
    assert stalls["available"] == 100


def test_deleting_another_offices_basket_or_an_unknown_one_is_404(shop_world):
    other = services.office_create(access=shop_world["access"], name="Other", slug="other")
    event = services.event_create(access=shop_world["access"], office=other, title="Elsewhere")
    date = services.date_create(
        access=shop_world["access"], event=event, starts_at=shop_world["date"].starts_at
    )
    zone = services.zone_create(access=shop_world["access"], date=date, name="Hall", capacity=5)
    tariff = services.tariff_create(access=shop_world["access"], zone=zone, name="Entry", price="0")
    services.event_update(access=shop_world["access"], event=event, status="on_sale")
    basket, key = services.basket_create(office=other, items=[{"tariff": tariff.pk, "quantity": 2}])
    buyer = APIClient()

    response = buyer.delete(api(shop_world, f"baskets/{key}/"))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert held(tariff) == 2
    assert buyer.delete(api(shop_world, "baskets/no-such-key/")).status_code == 404
    assert buyer.delete(f"/api/v1/shop/other/baskets/{key}/").status_code == 204
    assert held(tariff) == 0
