"""The rules of offices and of what they sell, as an organiser meets them."""

import datetime

import pytest
from django.utils import timezone

from panel.access import access_for
from panel.errors import Conflict, InvalidInput, PermissionDenied
from panel.models import Role
from tests import factories as f
from ticketing import services
from ticketing.models import Event, TicketOffice

pytestmark = pytest.mark.django_db


def test_creating_an_office_is_for_administrators_and_its_address_is_unique(shop_world):
    org = shop_world["org"]
    user = f.MembershipFactory(organisation=org, role=Role.USER).user
    with pytest.raises(PermissionDenied) as refused:
        services.office_create(access=access_for(user, org), name="Mine", slug="mine")
    assert refused.value.code == "billing_needs_administrator"
    with pytest.raises(Conflict) as taken:
        services.office_create(access=shop_world["access"], name="Again", slug="jorat")
    assert taken.value.code == "slug_taken"
    assert TicketOffice.objects.count() == 1


def test_every_problem_of_an_office_comes_at_once_and_nothing_is_created(shop_world):
    with pytest.raises(InvalidInput) as refused:
        services.office_create(
            access=shop_world["access"], name="", slug="Not A Slug!", currency="XYZ",
            contact_email="nope", hold_minutes=0,
        )  # fmt: skip
    assert set(refused.value.fields) == {
        "name",
        "slug",
        "currency",
        "contact_email",
        "hold_minutes",
    }
    assert TicketOffice.objects.count() == 1


def test_the_currency_is_fixed_once_tickets_are_ordered(shop_world):
    office = shop_world["office"]
    services.office_update(access=shop_world["access"], office=office, currency="EUR")
    basket, _key = services.basket_create(
        office=office, items=[{"tariff": shop_world["free"].pk, "quantity": 1}]
    )
    services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="free")
    with pytest.raises(InvalidInput) as refused:
        services.office_update(access=shop_world["access"], office=office, currency="CHF")
    assert list(refused.value.fields) == ["currency"]


def test_an_event_goes_on_sale_only_with_something_to_sell(shop_world):
    access = shop_world["access"]
    event = services.event_create(access=access, office=shop_world["office"], title="Empty")
    assert event.status == "draft"
    with pytest.raises(InvalidInput) as refused:
        services.event_update(access=access, event=event, status="on_sale")
    assert "status" in refused.value.fields
    assert Event.objects.get(pk=event.pk).status == "draft"


def test_a_date_checks_its_moments_all_at_once(shop_world):
    starts = timezone.now() + datetime.timedelta(days=3)
    with pytest.raises(InvalidInput) as refused:
        services.date_create(
            access=shop_world["access"], event=shop_world["event"], starts_at=starts,
            ends_at=starts - datetime.timedelta(hours=1),
            doors_at=starts + datetime.timedelta(hours=1),
            sales_open_at=starts, sales_close_at=starts - datetime.timedelta(days=1),
        )  # fmt: skip
    assert set(refused.value.fields) == {"ends_at", "doors_at", "sales_close_at"}
    assert shop_world["event"].dates.count() == 1


def test_a_zone_cannot_shrink_below_what_is_taken(shop_world):
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 15}]
    )
    with pytest.raises(InvalidInput) as refused:
        services.zone_update(access=shop_world["access"], zone=shop_world["balcony"], capacity=10)
    assert refused.value.fields["capacity"] == [
        "15 seats are already taken or held: the capacity cannot be lower."
    ]
    services.zone_update(access=shop_world["access"], zone=shop_world["balcony"], capacity=15)


def test_what_has_been_sold_is_cancelled_not_deleted(shop_world):
    basket, _key = services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 1}]
    )
    services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="free")
    for delete, target in [
        (services.tariff_delete, {"tariff": shop_world["free"]}),
        (services.zone_delete, {"zone": shop_world["balcony"]}),
        (services.date_delete, {"date": shop_world["date"]}),
        (services.event_delete, {"event": shop_world["event"]}),
    ]:
        with pytest.raises(Conflict) as refused:
            delete(access=shop_world["access"], **target)
        assert refused.value.code == "has_tickets"
    # a tariff nobody bought goes
    services.tariff_delete(access=shop_world["access"], tariff=shop_world["student"])


def test_a_price_is_a_decimal_with_two_places(shop_world):
    for bad in ["-1", "12.345", "abc", 12.5, None, True]:
        with pytest.raises(InvalidInput) as refused:
            services.tariff_create(
                access=shop_world["access"], zone=shop_world["stalls"], name="X", price=bad
            )
        assert "price" in refused.value.fields, bad


def test_a_tariff_links_only_a_form_of_its_own_office(shop_world):
    other = f.TicketOfficeFactory(organisation=shop_world["org"])
    foreign = services.form_create(access=shop_world["access"], office=other, name="Other")
    with pytest.raises(InvalidInput) as refused:
        services.tariff_update(
            access=shop_world["access"], tariff=shop_world["student"], form=foreign.pk
        )
    assert list(refused.value.fields) == ["form"]


def test_cancelling_a_date_frees_its_seats_and_cancels_its_orders(shop_world):
    basket, _key = services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 2}]
    )
    order = services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="free")
    assert services.date_cancel(access=shop_world["access"], date=shop_world["date"]) == 1
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert not order.tickets.filter(cancelled=False).exists()
