"""Selling seats through the services: holds, checkout, payment, cancelling."""

import datetime

import pytest
from django.utils import timezone

from ticketing import selectors, services
from ticketing.models import OrderStatus, Ticket

from .conftest import full_answers

pytestmark = pytest.mark.django_db


def _buy(world, items, *, payment="later", answers=None):
    basket, key = services.basket_create(office=world["office"], items=items)
    tickets = services.basket_tickets(basket)
    entries = [
        {
            "tariff": t.tariff_id,
            "answers": answers or (full_answers(world) if t.tariff.form_id else {}),
        }
        for t in tickets
    ]
    services.basket_answers_set(basket=basket, entries=entries)
    return services.checkout(
        basket=basket, name="Grace Hopper", email="GRACE@example.test", payment=payment
    )


def test_a_basket_holds_seats_and_the_date_shows_them_held(shop_world):
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["full"].pk, "quantity": 3}]
    )
    [date] = selectors.dates_with_availability(shop_world["event"].dates.all())
    stalls = date.zones.all()[0]
    assert (stalls.capacity, stalls.held, stalls.sold, stalls.available) == (100, 3, 0, 97)


def test_an_expired_hold_frees_its_seats_without_any_job(shop_world):
    basket, _key = services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 20}]
    )
    with pytest.raises(services.SoldOut):
        services.basket_create(
            office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 1}]
        )
    Ticket.objects.filter(basket=basket).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 20}]
    )


def test_sold_out_says_what_is_left(shop_world):
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["student"].pk, "quantity": 7}]
    )
    with pytest.raises(services.SoldOut) as refused:
        services.basket_create(
            office=shop_world["office"], items=[{"tariff": shop_world["student"].pk, "quantity": 5}]
        )
    assert refused.value.extra == {
        "available": [{"tariff": shop_world["student"].pk, "available": 3}]
    }
    assert refused.value.fields == {"items.0.quantity": ["Only 3 left."]}


def test_free_order_is_paid_at_once_and_names_the_attendee(shop_world):
    order = _buy(shop_world, [{"tariff": shop_world["free"].pk, "quantity": 2}], payment="free")
    assert order.status == OrderStatus.PAID
    assert order.buyer_email == "grace@example.test"
    assert [t.holder_name for t in order.tickets.all()] == ["Grace Hopper", "Grace Hopper"]
    order = _buy(shop_world, [{"tariff": shop_world["full"].pk, "quantity": 1}], payment="later")
    assert order.status == OrderStatus.PENDING
    assert order.tickets.get().holder_name == "Ada Lovelace"


def test_missing_required_answers_refuse_the_checkout(shop_world):
    basket, _key = services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["full"].pk, "quantity": 1}]
    )
    with pytest.raises(services.sales.InvalidInput) as refused:
        services.checkout(basket=basket, name="G", email="g@example.test", payment="later")
    assert refused.value.code == "answers_invalid"
    assert set(refused.value.fields) == {
        f"tickets.0.answers.{shop_world['attendee'].pk}",
        f"tickets.0.answers.{shop_world['terms'].pk}",
    }
    assert not shop_world["office"].orders.exists()


def test_pay_later_past_its_deadline_frees_seats_and_cancel_frees_them(shop_world):
    order = _buy(
        shop_world,
        [
            {"tariff": shop_world["free"].pk, "quantity": 1},
            {"tariff": shop_world["student"].pk, "quantity": 2},
        ],
    )
    assert order.total == 40
    order.tickets.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    [date] = selectors.dates_with_availability(shop_world["event"].dates.all())
    assert date.held == 0 and date.available == 120
    services.order_mark_paid(order=order, access=shop_world["access"])
    [date] = selectors.dates_with_availability(shop_world["event"].dates.all())
    assert (date.sold, date.available) == (3, 117)
    services.order_cancel(access=shop_world["access"], order=order)
    [date] = selectors.dates_with_availability(shop_world["event"].dates.all())
    assert (date.sold, date.available) == (0, 120)
