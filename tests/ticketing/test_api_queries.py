"""The Ticket office API lists run a fixed number of queries, whatever the number of rows:
the orders of an office with 60 orders cost what they cost with 2, and the dates of an
event answer their availability per zone and tariff at the same cost for 2 dates or 25."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ticketing import services

# An upper bound, so that a constant but wasteful list is caught as well.
MAX_QUERIES = 12


def queries(client, url, **params):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(context.captured_queries), response.json()


@pytest.fixture
def api(shop_world, client_for):
    client = client_for(shop_world["legal"])
    base = f"/api/v1/organisations/{shop_world['org'].pk}/ticketing/"
    client.url = lambda rest="": base + rest
    return client


def test_the_office_list_costs_the_same_at_1_and_at_30_offices(api, shop_world):
    small, small_body = queries(api, api.url("offices/"), page_size=200)
    for i in range(29):
        services.office_create(access=shop_world["access"], name=f"Office {i:02d}", slug=f"o-{i}")
    large, large_body = queries(api, api.url("offices/"), page_size=200)
    assert (small_body["count"], large_body["count"]) == (1, 30)
    assert small == large <= MAX_QUERIES


def test_the_form_list_costs_the_same_at_1_and_at_30_forms(api, shop_world):
    access, office = shop_world["access"], shop_world["office"]
    url = api.url(f"offices/{office.pk}/forms/")
    small, small_body = queries(api, url, page_size=200)
    for i in range(29):
        form = services.form_create(access=access, office=office, name=f"Form {i:02d}")
        for position in (2, None, 1):
            services.field_create(
                access=access, form=form, label=f"Q{position}", type="text", position=position
            )
    large, large_body = queries(api, url, page_size=200)
    assert (small_body["count"], large_body["count"]) == (1, 30)
    assert small == large <= MAX_QUERIES
    form = next(f for f in large_body["results"] if f["name"] == "Form 00")
    assert [field["label"] for field in form["fields"]] == ["Q1", "Q2", "QNone"]


def test_the_field_list_costs_the_same_at_2_and_at_60_fields(api, shop_world):
    access, form = shop_world["access"], shop_world["form"]
    url = api.url(f"forms/{form.pk}/fields/")
    small, small_body = queries(api, url, page_size=200)
    for i in range(58):
        services.field_create(access=access, form=form, label=f"Q{i}", type="text", position=i)
    large, large_body = queries(api, url, page_size=200)
    assert (small_body["count"], large_body["count"]) == (2, 60)
    assert small == large <= MAX_QUERIES


def test_the_event_list_costs_the_same_at_1_and_at_40_events(api, shop_world):
    access, office = shop_world["access"], shop_world["office"]
    url = api.url(f"offices/{office.pk}/events/")
    small, small_body = queries(api, url, page_size=200)
    for i in range(39):
        services.event_create(access=access, office=office, title=f"Event {i:02d}")
    large, large_body = queries(api, url, page_size=200)
    assert (small_body["count"], large_body["count"]) == (1, 40)
    assert small == large <= MAX_QUERIES


def _add_dates(world, event, count):
    """`count` dates with two zones of two tariffs each, and three seats held in each."""
    access = world["access"]
    for i in range(count):
        date = services.date_create(
            access=access, event=event, starts_at=timezone.now() + datetime.timedelta(days=i + 1)
        )
        for zone_name in ("Stalls", "Balcony"):
            zone = services.zone_create(access=access, date=date, name=zone_name, capacity=50)
            for tariff_name, price in (("Full", "30.00"), ("Reduced", "15.00")):
                tariff = services.tariff_create(
                    access=access, zone=zone, name=tariff_name, price=price
                )
        if event.status == "draft":
            services.event_update(access=access, event=event, status="on_sale")
        services.basket_create(office=world["office"], items=[{"tariff": tariff.pk, "quantity": 3}])


@pytest.mark.parametrize("params", [{}, {"page_size": 200}])
def test_the_date_list_with_availability_costs_the_same_at_2_and_at_25_dates(
    api, shop_world, params
):
    event = services.event_create(
        access=shop_world["access"], office=shop_world["office"], title="Festival"
    )
    url = api.url(f"events/{event.pk}/dates/")
    _add_dates(shop_world, event, 2)
    small, small_body = queries(api, url, **params)
    _add_dates(shop_world, event, 23)
    large, large_body = queries(api, url, **params)
    assert (small_body["count"], large_body["count"]) == (2, 25)
    assert small == large <= MAX_QUERIES
    first = large_body["results"][0]
    assert (first["capacity"], first["held"], first["available"]) == (100, 3, 97)
    assert [len(zone["tariffs"]) for zone in first["zones"]] == [2, 2]


def test_the_zone_and_tariff_lists_cost_the_same_whatever_their_size(api, shop_world):
    access, date = shop_world["access"], shop_world["date"]
    zones_url = api.url(f"dates/{date.pk}/zones/")
    tariffs_url = api.url(f"zones/{shop_world['stalls'].pk}/tariffs/")
    small_zones, _body = queries(api, zones_url)
    small_tariffs, _body = queries(api, tariffs_url)
    for i in range(20):
        zone = services.zone_create(access=access, date=date, name=f"Box {i}", capacity=4)
        services.tariff_create(access=access, zone=zone, name="Box", price="90.00")
        services.tariff_create(
            access=access, zone=shop_world["stalls"], name=f"Group {i}", price="18.00"
        )
    large_zones, zones = queries(api, zones_url)
    large_tariffs, tariffs = queries(api, tariffs_url)
    assert (zones["count"], tariffs["count"]) == (22, 22)
    assert small_zones == large_zones <= MAX_QUERIES
    assert small_tariffs == large_tariffs <= MAX_QUERIES


def _add_orders(world, count):
    """`count` free orders of two tickets each."""
    for i in range(count):
        basket, _key = services.basket_create(
            office=world["office"], items=[{"tariff": world["free"].pk, "quantity": 2}]
        )
        services.checkout(
            basket=basket, name=f"Buyer {i}", email=f"buyer{i}@example.test", payment="free"
        )


@pytest.mark.parametrize(
    "params",
    [{}, {"page_size": 200}, {"status": "paid", "search": "buyer", "page_size": 200}],
)
def test_the_order_list_costs_the_same_at_2_and_at_60_orders(api, shop_world, params):
    services.zone_update(access=shop_world["access"], zone=shop_world["balcony"], capacity=500)
    services.tariff_update(access=shop_world["access"], tariff=shop_world["free"], max_per_order=2)
    url = api.url(f"offices/{shop_world['office'].pk}/orders/")
    _add_orders(shop_world, 2)
    small, small_body = queries(api, url, **params)
    _add_orders(shop_world, 58)
    large, large_body = queries(api, url, date=shop_world["date"].pk, **params)
    assert (small_body["count"], large_body["count"]) == (2, 60)
    assert len(large_body["results"]) == min(params.get("page_size", 50), 60)
    assert small == large <= MAX_QUERIES
    assert {len(order["tickets"]) for order in large_body["results"]} == {2}
