"""Numbered seats as an organiser draws them and a buyer picks them: the plan's text with
its mistakes named by line, the capacity that follows the seats on sale, seats held like
any basket and refused to a second buyer, a hold that runs out freeing its seat, seats
that stay while held or sold, and the seat printed on the PDF ticket, the order page and
the email."""

import datetime
import io
from decimal import Decimal

import pypdf
import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from panel.celery import app as celery_app
from panel.errors import Conflict, InvalidInput
from ticketing import pdf, secrets, services
from ticketing.models import Seat, Ticket, Zone
from ticketing.services.seats import (
    layout_text,
    parse_layout,
    seat_plan,
    seat_plan_set,
    seat_plans,
)

pytestmark = pytest.mark.django_db

LAYOUT = "A: 1-6, _, 7-10\nB: 1-4, _, [5-6], _, 7-10\n\nC: _2, 8-1"


@pytest.fixture
def circle(shop_world):
    """A numbered zone "Circle" on the world's date: rows A (10 seats), B (8 on sale, 5
    and 6 not), an aisle, then C (8 seats, numbered from the right), one tariff at 30."""
    access = shop_world["access"]
    zone = services.zone_create(
        access=access, date=shop_world["date"], name="Circle", numbered=True, layout=LAYOUT
    )
    tariff = services.tariff_create(access=access, zone=zone, name="Circle", price="30.00")
    return {**shop_world, "circle": zone, "circle_tariff": tariff}


def seat(zone, label) -> Seat:
    row, number = label.split("-")
    return Seat.objects.get(zone=zone, row=row, number=number)


def states(zone) -> dict[str, str]:
    return {str(s): s.state for s in seat_plan(zone).seats}


def api_hold(client, world, items, status=201):
    response = client.post(
        f"/api/v1/shop/{world['office'].slug}/baskets/", {"items": items}, format="json"
    )
    assert response.status_code == status, response.json()
    return response.json()


def seats_item(world, *labels):
    zone = world["circle"]
    return {"tariff": world["circle_tariff"].pk, "seats": [seat(zone, s).pk for s in labels]}


# -- the plan -------------------------------------------------------------------------------


def test_the_text_layout_draws_rows_gaps_aisles_and_seats_out_of_sale():
    seats = parse_layout(LAYOUT)
    by_name = {f"{s.row}-{s.number}": s for s in seats}
    assert len(seats) == 28
    assert (by_name["A-6"].x, by_name["A-7"].x) == (6, 8)  # the gap after seat 6
    assert not by_name["B-5"].on_sale and not by_name["B-6"].on_sale and by_name["B-7"].on_sale
    assert by_name["C-8"].y == 4 and by_name["C-8"].x == 3  # after the aisle, two places in
    assert by_name["C-1"].x == 10  # numbered from the right
    assert layout_text(seats) == LAYOUT  # the editor shows the plan as it was written


def test_every_mistake_of_the_plan_is_named_by_its_line_at_once():
    text = "A: 1-10\nB 1-5\nA: 1-3\nC: 1-4, 3\nD: 1-, 2\nE:\n# a note\nF: _, _2"
    with pytest.raises(InvalidInput) as refused:
        parse_layout(text)
    messages = refused.value.fields["layout"]
    assert refused.value.code == "layout_invalid"
    assert messages[0].startswith("Line 2: write the row's name, a colon")
    assert messages[1] == "Line 3: row A is already on line 1."
    assert messages[2] == "Line 4: seat 3 is twice in row C."
    assert messages[3].startswith("Line 5: “1-” is not a seat")
    assert messages[4].startswith("Line 6: row E has no seat")
    assert messages[5] == "Line 8: row F has no seat."
    assert len(messages) == 6


def test_a_bad_plan_changes_nothing(circle):
    before = list(Seat.objects.filter(zone=circle["circle"]).values_list("pk", "x", "y"))
    with pytest.raises(InvalidInput):
        seat_plan_set(access=circle["access"], zone=circle["circle"], layout="A: 1-3\nA: 4")
    assert list(Seat.objects.filter(zone=circle["circle"]).values_list("pk", "x", "y")) == before
    assert Zone.objects.get(pk=circle["circle"].pk).capacity == 26


def test_the_capacity_of_a_numbered_zone_is_its_seats_on_sale(circle):
    zone = circle["circle"]
    assert zone.capacity == 26  # 28 seats drawn, B-5 and B-6 not on sale
    zone = seat_plan_set(access=circle["access"], zone=zone, layout=LAYOUT + "\nD: 1-12")
    assert zone.capacity == 38
    with pytest.raises(InvalidInput) as refused:
        services.zone_update(access=circle["access"], zone=zone, capacity=500)
    assert "change the plan" in refused.value.fields["capacity"][0]
    assert Zone.objects.get(pk=zone.pk).capacity == 38


def test_redrawing_the_plan_keeps_seats_and_their_tickets(circle):
    basket, _key = services.basket_create(
        office=circle["office"], items=[seats_item(circle, "A-1")]
    )
    held = seat(circle["circle"], "A-1")
    # Row A moves one place to the right and row A's seat 10 goes (it is free).
    seat_plan_set(
        access=circle["access"], zone=circle["circle"],
        layout="A: _, 1-6, _, 7-9\nB: 1-4, _, [5-6], _, 7-10\n\nC: _2, 8-1",
    )  # fmt: skip
    moved = seat(circle["circle"], "A-1")
    assert moved.pk == held.pk and moved.x == 2
    assert basket.tickets.get().seat_id == held.pk
    assert not Seat.objects.filter(zone=circle["circle"], row="A", number="10").exists()


def test_a_held_or_sold_seat_cannot_be_removed_or_taken_out_of_sale(circle):
    services.basket_create(office=circle["office"], items=[seats_item(circle, "A-1")])
    without_a1 = LAYOUT.replace("A: 1-6", "A: _, 2-6")
    with pytest.raises(Conflict) as refused:
        seat_plan_set(access=circle["access"], zone=circle["circle"], layout=without_a1)
    assert refused.value.code == "seats_taken"
    assert "Row A, seat 1 is held or sold" in refused.value.fields["layout"][0]
    with pytest.raises(Conflict):
        seat_plan_set(
            access=circle["access"], zone=circle["circle"],
            layout=LAYOUT.replace("A: 1-6", "A: [1], 2-6"),
        )  # fmt: skip
    assert seat(circle["circle"], "A-1").on_sale


def test_switching_a_zone_with_tickets_to_numbered_is_refused(circle):
    services.basket_create(
        office=circle["office"], items=[{"tariff": circle["free"].pk, "quantity": 1}]
    )
    with pytest.raises(Conflict) as refused:
        services.zone_update(access=circle["access"], zone=circle["balcony"], numbered=True)
    assert refused.value.code == "has_tickets"
    assert not Zone.objects.get(pk=circle["balcony"].pk).numbered


def test_a_numbered_zone_without_a_plan_sells_nothing_until_it_has_one(shop_world):
    zone = services.zone_update(access=shop_world["access"], zone=shop_world["balcony"],
                                numbered=True)  # fmt: skip
    assert (zone.numbered, zone.capacity) == (True, 0)
    zone = seat_plan_set(access=shop_world["access"], zone=zone, layout="A: 1-5")
    assert zone.capacity == 5


def test_the_plan_with_its_states_takes_two_queries_for_any_number_of_zones(
    circle, django_assert_num_queries
):
    access = circle["access"]
    zones = [circle["circle"]] + [
        services.zone_create(
            access=access, date=circle["date"], name=f"Box {n}", numbered=True, layout=f"{n}: 1-4"
        )  # fmt: skip
        for n in range(1, 6)
    ]
    services.basket_create(office=circle["office"], items=[seats_item(circle, "A-1")])
    with django_assert_num_queries(2):
        plans = seat_plans(zones)
    assert [len(plans[z.pk].seats) for z in zones] == [28, 4, 4, 4, 4, 4]
    assert plans[zones[0].pk].counts == {"free": 25, "held": 1, "sold": 0, "off_sale": 2}


# -- holding and selling seats ------------------------------------------------------------


def test_a_basket_holds_the_seats_picked_and_a_second_buyer_is_refused_them(circle):
    first, second = APIClient(), APIClient()
    basket = api_hold(first, circle, [seats_item(circle, "A-1", "A-2")])
    assert [t["seat"]["label"] for t in basket["tickets"]] == ["Row A, seat 1", "Row A, seat 2"]
    assert states(circle["circle"])["A-1"] == "held"

    refused = api_hold(second, circle, [seats_item(circle, "A-2", "A-3")], status=409)
    assert refused["code"] == "seats_taken"
    assert "Row A, seat 2" in refused["detail"] and "seat 3" not in refused["detail"]
    assert refused["seats"] == [seat(circle["circle"], "A-2").pk]
    assert Ticket.objects.filter(seat=seat(circle["circle"], "A-3")).count() == 0

    plan = first.get(f"/api/v1/shop/jorat/zones/{circle['circle'].pk}/seats/").json()
    by_label = {s["label"]: s["state"] for s in plan["seats"]}
    assert by_label["Row A, seat 1"] == "taken" and by_label["Row A, seat 3"] == "free"
    assert by_label["Row B, seat 5"] == "off_sale"


def test_seats_that_are_off_sale_elsewhere_or_missing_are_refused_by_item(circle):
    client = APIClient()
    other = seat(circle["circle"], "C-1")
    body = api_hold(
        client, circle,
        [
            {"tariff": circle["circle_tariff"].pk, "quantity": 2,
             "seats": [seat(circle["circle"], "B-5").pk, other.pk, other.pk]},
            {"tariff": circle["free"].pk, "quantity": 1, "seats": [other.pk]},
        ],
        status=400,
    )  # fmt: skip
    assert body["fields"]["items.0.seats"] == ["Pick one seat per ticket: 2 tickets, 3 seats."]
    body = api_hold(
        client, circle,
        [{"tariff": circle["circle_tariff"].pk, "seats": [seat(circle["circle"], "B-5").pk,
                                                          other.pk, other.pk]},
         {"tariff": circle["free"].pk, "quantity": 1, "seats": [other.pk]}],
        status=400,
    )  # fmt: skip
    assert body["fields"]["items.0.seats"] == [
        "Row B, seat 5 is not on sale.", "Row C, seat 1 is picked twice."
    ]  # fmt: skip
    assert body["fields"]["items.1.seats"] == [
        "This zone has no numbered seats: leave out `seats`."
    ]
    body = api_hold(client, circle, [{"tariff": circle["circle_tariff"].pk, "quantity": 1}],
                    status=400)  # fmt: skip
    assert body["fields"]["items.0.seats"] == ["Pick your seats on the plan of Circle."]
    assert Ticket.objects.count() == 0


def test_an_expired_hold_frees_its_seat_by_itself(circle):
    basket, _key = services.basket_create(
        office=circle["office"], items=[seats_item(circle, "A-5")]
    )
    basket.tickets.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert states(circle["circle"])["A-5"] == "free"
    services.basket_create(office=circle["office"], items=[seats_item(circle, "A-5")])
    # The first buyer comes back too late: the seat has gone to the second.
    with pytest.raises(Conflict) as refused:
        services.checkout(basket=basket, name="Late", email="late@example.test", payment="later")
    assert refused.value.code == "seats_taken"
    assert "Row A, seat 5" in str(refused.value.detail)


def test_an_expired_hold_whose_seat_is_still_free_checks_out(circle):
    basket, _key = services.basket_create(
        office=circle["office"], items=[seats_item(circle, "A-6")]
    )
    basket.tickets.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    order = services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="later")
    assert order.tickets.get().seat == seat(circle["circle"], "A-6")


def test_checkout_keeps_the_seat_and_a_sold_seat_is_never_sold_again(circle):
    basket, _key = services.basket_create(
        office=circle["office"], items=[seats_item(circle, "C-8")]
    )
    order = services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="later")
    services.order_mark_paid(access=circle["access"], order=order)
    ticket = order.tickets.get()
    assert ticket.seat == seat(circle["circle"], "C-8") and ticket.expires_at is None
    assert states(circle["circle"])["C-8"] == "sold"
    with pytest.raises(Conflict):
        services.basket_create(office=circle["office"], items=[seats_item(circle, "C-8")])
    # The database's constraint is the last guard, whatever a bug upstream might do.
    nonce = secrets.new_nonce()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(
            organisation=circle["org"], zone=circle["circle"], tariff=circle["circle_tariff"],
            price=Decimal("30"), nonce=nonce, secret_hash=secrets.secret_hash(nonce),
            seat=ticket.seat,
        )  # fmt: skip


def test_a_cancelled_order_frees_its_seats(circle):
    basket, _key = services.basket_create(
        office=circle["office"], items=[seats_item(circle, "C-7")]
    )
    order = services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="later")
    services.order_cancel(access=circle["access"], order=order)
    assert states(circle["circle"])["C-7"] == "free"
    services.basket_create(office=circle["office"], items=[seats_item(circle, "C-7")])


# -- what the buyer sees ----------------------------------------------------------------------


def test_the_pdf_ticket_prints_the_row_and_the_seat(circle):
    basket, _key = services.basket_create(
        office=circle["office"], items=[seats_item(circle, "B-7")]
    )
    order = services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="later")
    order = services.order_mark_paid(access=circle["access"], order=order)
    [(_name, content)] = pdf.ticket_pdfs(order)
    text = pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Row B, seat 7" in text
    assert "Circle" in text


def test_the_email_and_the_order_page_show_the_seats(
    circle, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    basket, _key = services.basket_create(
        office=circle["office"], items=[seats_item(circle, "C-2", "C-3")]
    )
    with django_capture_on_commit_callbacks(execute=True):
        order = services.checkout(basket=basket, name="Ada", email="ada@example.test",
                                  payment="later")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_paid(access=circle["access"], order=order)
    assert "Circle, Row C, seat 2, Circle: Ada" in mailoutbox[-1].body
    assert "Circle, Row C, seat 3, Circle: Ada" in mailoutbox[-1].body
    path = reverse("shop:order-detail", args=["jorat", order.code])
    page = Client().get(f"{path}?token={secrets.order_token(order)}").content.decode()
    assert "Row C, seat 2" in page and "Row C, seat 3" in page


def test_the_shop_page_draws_the_plan_and_holds_the_seats_picked(circle):
    client = Client()
    services.basket_create(office=circle["office"], items=[seats_item(circle, "A-3")])
    event_url = reverse("shop:event", args=["jorat", circle["event"].pk])
    page = client.get(event_url).content.decode()
    assert "Row A, seat 1</span>" in page
    assert "Row A, seat 3 (taken)" in page and "Row B, seat 5 (not on sale)" in page
    a1, a2 = seat(circle["circle"], "A-1"), seat(circle["circle"], "A-2")
    field = f"seat-{circle['circle'].pk}"
    response = client.post(event_url, {field: [a1.pk, a2.pk]})
    assert response.status_code == 302
    basket = client.get(reverse("shop:basket", args=["jorat"])).content.decode()
    assert "Row A, seat 1 · Row A, seat 2" in basket
    assert "CHF&nbsp;60.00" in basket


def test_a_seat_taken_meanwhile_is_named_and_the_other_picks_stay(circle):
    client = Client()
    event_url = reverse("shop:event", args=["jorat", circle["event"].pk])
    a4, a5 = seat(circle["circle"], "A-4"), seat(circle["circle"], "A-5")
    services.basket_create(office=circle["office"], items=[seats_item(circle, "A-5")])
    response = client.post(event_url, {f"seat-{circle['circle'].pk}": [a4.pk, a5.pk]})
    page = response.content.decode()
    assert response.status_code == 200
    assert "This seat has just been taken: Row A, seat 5. Pick another one." in page
    assert f'value="{a4.pk}" checked' in page  # still picked, ready to send again
    assert Ticket.objects.filter(seat=a4).count() == 0


def test_several_tariffs_in_a_numbered_zone_need_one_seat_per_ticket(circle):
    child = services.tariff_create(access=circle["access"], zone=circle["circle"],
                                   name="Child", price="10.00")  # fmt: skip
    client = Client()
    event_url = reverse("shop:event", args=["jorat", circle["event"].pk])
    ids = [seat(circle["circle"], s).pk for s in ("C-6", "C-5", "C-4")]
    field = f"seat-{circle['circle'].pk}"
    data = {f"qty-{circle['circle_tariff'].pk}": "1", f"qty-{child.pk}": "1", field: ids}
    page = client.post(event_url, data).content.decode()
    assert "You picked 3 seats for 2 tickets: pick one seat per ticket." in page
    assert Ticket.objects.count() == 0
    data[f"qty-{child.pk}"] = "2"
    assert client.post(event_url, data).status_code == 302
    tickets = Ticket.objects.order_by("pk")
    # The seats go to the tariffs in the order the page lists them, cheapest first.
    assert [(t.tariff_id, str(t.seat)) for t in tickets] == [
        (child.pk, "C-6"), (child.pk, "C-5"), (circle["circle_tariff"].pk, "C-4")
    ]  # fmt: skip


# -- the organiser's pages and API ----------------------------------------------------------


def test_the_zone_page_saves_the_plan_and_previews_its_states(login, circle):
    client = login(circle["legal"])
    zone = circle["balcony"]
    edit = reverse("ticketing:zone-edit", args=[circle["org"].pk, zone.pk])
    page = client.post(edit, {"plan": "1", "numbered": "on", "layout": "A: 1-4\nA: 5\nB 1"})
    text = page.content.decode()
    assert "Line 2: row A is already on line 1." in text
    assert "Line 3: write the row&#x27;s name" in text
    assert not Zone.objects.get(pk=zone.pk).numbered
    response = client.post(edit, {"plan": "1", "numbered": "on", "layout": "A: 1-4, _, [5]"})
    assert response.status_code == 302
    zone = Zone.objects.get(pk=zone.pk)
    assert (zone.numbered, zone.capacity) == (True, 4)
    text = client.get(edit).content.decode()
    assert "A: 1-4, _, [5]</textarea>" in text
    assert 'title="Row A, seat 5: not on sale"' in text
    assert 'title="Row A, seat 1: free"' in text


def test_the_manager_api_shows_and_draws_the_plan(login, circle):
    api = APIClient()
    api.force_login(circle["legal"])
    path = f"/api/v1/organisations/{circle['org'].pk}/ticketing/zones/{circle['circle'].pk}/seats/"
    services.basket_create(office=circle["office"], items=[seats_item(circle, "A-1")])
    body = api.get(path).json()
    assert body["layout"] == LAYOUT and body["capacity"] == 26
    assert body["counts"] == {"free": 25, "held": 1, "sold": 0, "off_sale": 2}
    refused = api.put(path, {"layout": "A: 1-3\nB: 1-x"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["fields"]["layout"][0].startswith("Line 2:")
    seats = [{"row": "A", "number": str(n), "x": n, "y": 1} for n in range(1, 4)]
    seats.append({"row": "A", "number": "4", "x": 1, "y": 2, "on_sale": False})
    body = api.put(path, {"seats": seats}, format="json").json()
    assert body["capacity"] == 3 and body["counts"]["held"] == 1
    assert body["layout"] is None  # row A over two lines: text cannot draw it
    zone = api.get(f"/api/v1/organisations/{circle['org'].pk}/ticketing/zones/"
                   f"{circle['circle'].pk}/").json()  # fmt: skip
    assert zone["numbered"] is True and zone["capacity"] == 3
