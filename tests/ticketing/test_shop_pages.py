"""The public shop's pages as a buyer without an account meets them: the events on sale,
what is left of each tariff, a basket that holds seats, forms that refuse missing
answers, the three ways to pay (free, later, the test card), the order page that opens
only with its token, answers the buyer may or may not change, sold out, and the PDF."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ticketing import secrets, services
from ticketing.models import FormField, Order, OrderStatus, PaymentMethod, Ticket

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"shop:{name}", args=args)


def text(response) -> str:
    return response.content.decode()


def event_url(world):
    return url("event", world["office"].slug, world["event"].pk)


def basket_url(world):
    return url("basket", world["office"].slug)


def order_url(order, token=None):
    path = url("order-detail", order.office.slug, order.code)
    return f"{path}?token={secrets.order_token(order) if token is None else token}"


def add(client, world, **quantities):
    """Choose tickets on the event page: `full=2` is two of the "full" tariff."""
    data = {f"qty-{world[name].pk}": str(n) for name, n in quantities.items()}
    return client.post(event_url(world), data)


def basket_data(world, client, *, name="Grace Hopper", email="grace@example.test",
                payment="later", attendee="Ada Lovelace", terms=True):  # fmt: skip
    """The basket form filled in for every ticket in it."""
    response = client.get(basket_url(world))
    data = {"name": name, "email": email, "payment": payment}
    attendee_inputs = rf'name="t(\d+)-{world["attendee"].pk}"'
    for index in map(int, re.findall(attendee_inputs, text(response))):
        data[f"t{index}-{world['attendee'].pk}"] = attendee
        if terms:
            data[f"t{index}-{world['terms'].pk}"] = ["the terms"]
    return data


def held(tariff) -> int:
    return Ticket.objects.filter(
        tariff=tariff, cancelled=False, order__isnull=True, basket__isnull=False
    ).count()


def test_the_office_page_lists_only_the_events_on_sale(shop_world):
    services.event_create(
        access=shop_world["access"], office=shop_world["office"], title="Draft rehearsal"
    )
    response = Client().get(url("office", "jorat"))
    assert response.status_code == 200
    page = text(response)
    assert "Le Misanthrope" in page and "Mézières" in page
    assert "Draft rehearsal" not in page
    assert "Free tickets available" in page  # the invitation: its lowest price is 0
    assert "billetterie@jorat.example.test" in page  # the office's contact in the footer
    assert 'href="/o/' not in page  # no Manager navigation
    assert Client().get(url("office", "no-such-shop")).status_code == 404


def test_the_event_page_shows_what_is_left_and_hides_hidden_tariffs(shop_world):
    services.tariff_create(
        access=shop_world["access"], zone=shop_world["stalls"], name="Crew only",
        price=Decimal("1.00"), public=False,
    )  # fmt: skip
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["student"].pk, "quantity": 3}]
    )
    page = text(Client().get(event_url(shop_world)))
    assert "97 left" in page  # full price: the stalls less the 3 held
    assert "7 left" in page  # student: its cap of 10 less the 3 held
    assert "20 left" in page  # invitation, in the balcony
    assert "CHF&nbsp;45.00" in page
    assert "Crew only" not in page
    draft = services.event_create(
        access=shop_world["access"], office=shop_world["office"], title="Draft"
    )
    assert Client().get(url("event", "jorat", draft.pk)).status_code == 404


def test_adding_to_the_basket_holds_the_seats_and_keeps_the_key_out_of_the_url(shop_world):
    client = Client()
    response = add(client, shop_world, full=2, free=1)
    assert response.status_code == 302
    assert response["Location"] == basket_url(shop_world)
    assert held(shop_world["full"]) == 2 and held(shop_world["free"]) == 1
    page = text(client.get(basket_url(shop_world)))
    assert page.count("Attendee name") == 2  # one form per ticket of a tariff with a form
    assert "jorat.example.test/terms" in page  # the field's URL, as a link
    assert "Your seats are held until" in page  # the countdown's fallback without JS
    assert "CHF&nbsp;90.00" in page
    key = client.session["shop_baskets"]["jorat"]
    assert key not in page
    # Another visitor has no basket.
    assert "Your basket is empty" in text(Client().get(basket_url(shop_world)))


def test_bad_quantities_are_shown_next_to_the_tariff_and_hold_nothing(shop_world):
    client = Client()
    response = add(client, shop_world, full=0)
    assert "Choose at least one ticket." in text(response)
    response = client.post(event_url(shop_world), {f"qty-{shop_world['full'].pk}": "two"})
    assert "Enter a whole number of tickets." in text(response)
    assert Ticket.objects.count() == 0


def test_the_basket_refuses_missing_answers_all_at_once_and_orders_nothing(shop_world):
    client = Client()
    add(client, shop_world, full=1)
    data = basket_data(shop_world, client, name="", attendee="", terms=False)
    response = client.post(basket_url(shop_world), data)
    assert response.status_code == 200
    page = text(response)
    assert "This question needs an answer." in page
    assert "Tick every box to continue." in page
    assert "Ticket 1, Attendee name: This question needs an answer." in page  # at the top
    assert "Your name: This field is required." in page  # with the other problems
    assert Order.objects.count() == 0
    assert Ticket.objects.get().answers == {}
    assert held(shop_world["full"]) == 1


def test_paying_later_leaves_a_pending_order_with_the_instructions(shop_world):
    office = shop_world["office"]
    office.pay_later_instructions = "IBAN CH00 0000 0000 0000 0000 0"
    office.save()
    client = Client()
    add(client, shop_world, full=1)
    response = client.post(basket_url(shop_world), basket_data(shop_world, client))
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order_url(order)
    assert (order.status, order.payment_method) == (OrderStatus.PENDING, PaymentMethod.LATER)
    assert order.buyer_email == "grace@example.test"
    page = text(client.get(response["Location"]))
    assert order.code in page and "Waiting for payment" in page
    assert "IBAN CH00 0000 0000 0000 0000 0" in page
    assert "Ada Lovelace" in page  # the "show on ticket" answer
    assert "Download (PDF)" not in page  # no ticket before it is paid
    assert "Your basket is empty" in text(client.get(basket_url(shop_world)))


def test_a_free_order_is_paid_at_once(shop_world):
    client = Client()
    add(client, shop_world, free=2)
    page = text(client.get(basket_url(shop_world)))
    assert "2&nbsp;×" in page  # the tickets without questions, together
    assert "This order is free" in page
    assert 'name="payment" value="later"' not in page
    buyer = {"name": "Grace Hopper", "email": "g@example.test", "payment": "free"}
    response = client.post(basket_url(shop_world), buyer)
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID and order.total == 0
    page = text(client.get(response["Location"]))
    assert page.count("Download (PDF)") == 2


def test_the_test_card_declines_other_numbers_and_pays_with_its_own(shop_world):
    client = Client()
    add(client, shop_world, full=1)
    page = text(client.get(basket_url(shop_world)))
    assert "nothing is charged" in page
    response = client.post(basket_url(shop_world), basket_data(shop_world, client, payment="card"))
    order = Order.objects.get()
    pay_path = url("order-pay", "jorat", order.code)
    assert response.status_code == 302 and pay_path in response["Location"]
    token = secrets.order_token(order)
    page = text(client.get(f"{pay_path}?token={token}"))
    assert "nothing is charged" in page
    response = client.post(f"{pay_path}?token={token}", {"number": "4000 0000 0000 0002"})
    assert "This card was declined. Nothing was charged." in text(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    response = client.post(f"{pay_path}?token={token}", {"number": "4242 4242 4242 4242"})
    assert response["Location"] == order_url(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    page = text(client.get(order_url(order)))
    assert "Payment received" in page and "Download (PDF)" in page


def test_the_order_pages_need_the_order_token(shop_world):
    client = Client()
    add(client, shop_world, full=1)
    client.post(basket_url(shop_world), basket_data(shop_world, client, payment="card"))
    order = Order.objects.get()
    ticket = order.tickets.get()
    assert client.get(order_url(order)).status_code == 200
    real = secrets.order_token(order)
    almost = real[:-1] + ("1" if real.endswith("0") else "0")  # one character off
    for token in ("", "wrong", almost):
        assert client.get(order_url(order, token=token)).status_code == 404
        pay = url("order-pay", "jorat", order.code)
        assert client.get(f"{pay}?token={token}").status_code == 404
        pdf_url = url("ticket-pdf", "jorat", order.code, ticket.pk)
        assert client.get(f"{pdf_url}?token={token}").status_code == 404
        answers = url("ticket-answers", "jorat", order.code, ticket.pk)
        assert client.post(f"{answers}?token={token}", {}).status_code == 404
    page = text(client.get(order_url(order, token="wrong")))
    assert "grace@example.test" not in page and "Ada Lovelace" not in page


def test_the_buyer_changes_only_the_answers_the_organiser_allows(shop_world):
    FormField.objects.filter(pk=shop_world["terms"].pk).update(buyer_can_change=False)
    client = Client()
    add(client, shop_world, full=1)
    client.post(basket_url(shop_world), basket_data(shop_world, client))
    order = Order.objects.get()
    ticket = order.tickets.get()
    attendee, terms = str(shop_world["attendee"].pk), str(shop_world["terms"].pk)
    page = text(client.get(order_url(order)))
    assert f'name="a{ticket.pk}-{attendee}"' in page
    assert f'name="a{ticket.pk}-{terms}"' not in page  # a locked answer has no input
    change = url("ticket-answers", "jorat", order.code, ticket.pk)
    token = secrets.order_token(order)
    response = client.post(
        f"{change}?token={token}",
        {"fields": [attendee, terms], f"a{ticket.pk}-{attendee}": "Alan Turing",
         f"a{ticket.pk}-{terms}": []},
    )  # fmt: skip
    assert "This answer cannot be changed." in text(response)
    ticket.refresh_from_db()
    assert ticket.answers[attendee] == "Ada Lovelace" and ticket.answers[terms] == ["the terms"]
    response = client.post(
        f"{change}?token={token}", {"fields": [attendee], f"a{ticket.pk}-{attendee}": ""}
    )
    assert "This question needs an answer." in text(response)
    response = client.post(
        f"{change}?token={token}", {"fields": [attendee], f"a{ticket.pk}-{attendee}": "Alan Turing"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.answers[attendee] == "Alan Turing" and ticket.answers[terms] == ["the terms"]
    assert ticket.holder_name == "Alan Turing"
    assert "Your answers are saved." in text(client.get(response["Location"]))


def test_a_refused_answer_change_switches_language_back_to_the_order_page(shop_world):
    client = Client()
    add(client, shop_world, full=1)
    client.post(basket_url(shop_world), basket_data(shop_world, client))
    order = Order.objects.get()
    ticket = order.tickets.get()
    attendee = str(shop_world["attendee"].pk)
    change = url("ticket-answers", "jorat", order.code, ticket.pk)
    response = client.post(
        f"{change}?token={secrets.order_token(order)}",
        {"fields": [attendee], f"a{ticket.pk}-{attendee}": ""},
    )
    page = text(response)
    assert "Attendee name: This question needs an answer." in page  # at the top too
    assert f'name="next" value="{order_url(order)}"' in page


def test_sold_out_is_shown_clearly_and_a_lost_race_says_what_is_left(shop_world):
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 20}]
    )
    client = Client()
    page = text(client.get(event_url(shop_world)))
    assert "Sold out" in page
    assert f'name="qty-{shop_world["free"].pk}"' not in page  # nothing to choose
    assert f'name="qty-{shop_world["student"].pk}"' in page
    # Between the page and the click, another buyer takes 8 of the 10 student seats.
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["student"].pk, "quantity": 8}]
    )
    response = add(client, shop_world, student=5)
    page = text(response)
    assert "Student (Stalls): Only 2 left." in page
    assert "2 left" in page  # the page now shows what is left
    assert held(shop_world["student"]) == 8
    assert "shop_baskets" not in client.session


def test_the_shop_speaks_french_and_keeps_csrf(shop_world):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(event_url(shop_world), {}).status_code == 403
    client = Client()
    client.post(reverse("set_language"), {"language": "fr", "next": event_url(shop_world)})
    assert '<html lang="fr">' in text(client.get(event_url(shop_world)))


def test_a_paid_ticket_downloads_as_a_pdf(shop_world):
    client = Client()
    add(client, shop_world, free=1)
    buyer = {"name": "Grace Hopper", "email": "g@example.test", "payment": "free"}
    client.post(basket_url(shop_world), buyer)
    order = Order.objects.get()
    ticket = order.tickets.get()
    response = client.get(
        f"{url('ticket-pdf', 'jorat', order.code, ticket.pk)}?token={secrets.order_token(order)}"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
