"""An office's orders in the Manager: the list searched by code, name and email and
filtered by status and date; an order's page with its tickets and answers in the form's
order; marking paid, cancelling (the seats go back on sale, the buyer is emailed) and
sending the tickets again; what viewers get; bounded queries whatever the orders."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from panel.celery import app as celery_app
from panel.models import Role
from tests import factories as f
from ticketing import secrets, selectors, services
from ticketing.models import Order, OrderStatus, PaymentMethod, Ticket

from .conftest import full_answers


def url(name, *args):
    return reverse(f"ticketing:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


def buy(world, tariff, quantity=1, *, payment="later", name="Grace Hopper",
        email="grace@example.test", answers=None):  # fmt: skip
    basket, _key = services.basket_create(
        office=world["office"], items=[{"tariff": tariff.pk, "quantity": quantity}]
    )
    tickets = services.basket_tickets(basket)
    if tariff.form_id:
        entries = [{"tariff": tariff.pk, "answers": answers or full_answers(world)}] * quantity
        services.basket_answers_set(basket=basket, entries=entries[: len(tickets)])
    return services.checkout(basket=basket, name=name, email=email, payment=payment)


def listed(response) -> list[str]:
    return [order.code for order in response.context["page"]]


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """`with run_tasks():` runs the tasks queued after commit at once, as a worker would."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def orders(shop_world):
    """A free order, one pending with answers, one pending on another date, one cancelled."""
    access = shop_world["access"]
    free = buy(shop_world, shop_world["free"], 2, payment="free", name="Ada Lovelace",
               email="ada@example.test")  # fmt: skip
    pending = buy(shop_world, shop_world["full"], 2, answers=full_answers(shop_world, "Alan"))
    later = services.date_create(
        access=access,
        event=shop_world["event"],
        starts_at=timezone.now() + datetime.timedelta(days=60),
    )
    pit = services.zone_create(access=access, date=later, name="Pit", capacity=10)
    standing = services.tariff_create(access=access, zone=pit, name="Standing", price="12")
    other_date = buy(shop_world, standing, 1, name="Linus Torvalds", email="linus@kernel.test")
    cancelled = buy(shop_world, shop_world["student"], 1, name="Barbara Liskov",
                    email="barbara@example.test")  # fmt: skip
    services.order_cancel(access=access, order=cancelled)
    return {"free": free, "pending": pending, "other_date": other_date, "cancelled": cancelled,
            "later": later}  # fmt: skip


@pytest.fixture
def viewer(shop_world):
    org = shop_world["org"]
    user = f.MembershipFactory(organisation=org, role=Role.USER, user__email="v@x.test").user
    team = f.TeamFactory(organisation=org, name="Box office")
    f.TeamMemberFactory(team=team, user=user)
    f.GrantFactory(team=team, product_type="ticketing", product_id=shop_world["office"].pk,
                   level="view")  # fmt: skip
    return user


# --- the list ----------------------------------------------------------------------------------


def test_the_list_searches_by_code_name_and_email_and_filters(login, shop_world, orders):
    org, office = shop_world["org"], shop_world["office"]
    client = login(shop_world["legal"])
    target = url("order-list", org, office)
    response = client.get(target)
    codes = {name: order.code for name, order in orders.items() if isinstance(order, Order)}
    assert listed(response) == [codes[k] for k in ("cancelled", "other_date", "pending", "free")]
    html = page(response)
    assert "4 orders" in html and "Ada Lovelace" in html and "90.00 CHF" in html

    assert listed(client.get(target, {"q": codes["pending"].lower()})) == [codes["pending"]]
    assert listed(client.get(target, {"q": "liskov"})) == [codes["cancelled"]]
    assert listed(client.get(target, {"q": "kernel.test"})) == [codes["other_date"]]
    pending = client.get(target, {"status": "pending"})
    assert listed(pending) == [codes["other_date"], codes["pending"]]
    dated = client.get(target, {"date": orders["later"].pk})
    assert listed(dated) == [codes["other_date"]]
    assert listed(client.get(target, {"status": "paid", "q": "ada"})) == [codes["free"]]

    html = page(client.get(target, {"q": "nobody"}))
    assert "No order matches" in html and f'href="{target}"' in html  # Reset
    html = page(client.get(target, {"status": "bogus"}))
    assert "Correct the filters to see the orders" in html and 'data-testid="orders"' not in html


def test_an_office_without_orders_says_where_they_come_from(login, shop_world):
    html = page(login(shop_world["legal"]).get(url("order-list", shop_world["org"],
                                                   shop_world["office"])))  # fmt: skip
    assert "No order yet" in html and "Orders placed in the shop appear here" in html


def _make_orders(world, n):
    """`n` paid orders of one ticket each, written in bulk."""
    office, zone, tariff = world["office"], world["balcony"], world["free"]
    zone.capacity = 10_000
    zone.save()
    made = Order.objects.bulk_create(
        [
            Order(organisation=world["org"], office=office, code=f"B{n}X{i:05d}",
                  status=OrderStatus.PAID, buyer_name=f"Buyer {i}", buyer_email=f"b{i}@x.test",
                  total=0, currency="CHF", payment_method=PaymentMethod.FREE)
            for i in range(n)
        ]
    )  # fmt: skip
    tickets = []
    for order in made:
        nonce = secrets.new_nonce()
        tickets.append(
            Ticket(organisation=world["org"], zone=zone, tariff=tariff, order=order, price=0,
                   nonce=nonce, secret_hash=secrets.secret_hash(secrets.ticket_secret(nonce)))
        )  # fmt: skip
    Ticket.objects.bulk_create(tickets)


def _count(client, target) -> tuple[int, object]:
    client.get(target)  # the first visit also remembers the organisation in the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(target)
    assert response.status_code == 200
    return len(queries), response


def test_the_list_runs_the_same_queries_for_3_and_120_orders(login, shop_world):
    org, office = shop_world["org"], shop_world["office"]
    client = login(shop_world["legal"])
    target = url("order-list", org, office)
    _make_orders(shop_world, 3)
    at_3, _response = _count(client, target)
    _make_orders(shop_world, 117)
    at_120, response = _count(client, target)
    assert len(response.context["page"].object_list) == 50
    assert "120 orders" in page(response) and "Page 1 of 3" in page(response)
    assert at_3 == at_120, (at_3, at_120)
    assert at_120 <= 20
    filtered, _response = _count(client, f"{target}?q=buyer&date={shop_world['date'].pk}")
    assert filtered == at_120


# --- an order's page ---------------------------------------------------------------------------


def test_the_order_page_shows_its_tickets_with_answers_in_the_form_order(login, shop_world, orders):
    org, order = shop_world["org"], orders["pending"]
    html = page(login(shop_world["legal"]).get(url("order-detail", org, order)))
    assert f"Order {order.code}" in html and "Waiting for payment" in html
    tickets = html.split('data-testid="ticket"')[1:]
    assert len(tickets) == 2
    first = tickets[0]
    for text in ("Le Misanthrope", "Stalls", "Full price", "45.00 CHF"):
        assert text in first, text
    assert '<dd data-testid="holder">Alan</dd>' in first
    assert first.index("Attendee name") < first.index("I accept") and "the terms" in first
    payment = html.split('data-testid="payment"', 1)[1].split("</dl>", 1)[0]
    assert "Pay later" in payment and "Pay by" in payment and "90.00 CHF" in payment
    assert "Mark paid" in html and "Cancel the order…" in html
    assert "Send the tickets again" not in html


def test_marking_paid_confirms_the_order_and_sends_its_tickets(
    login, shop_world, orders, run_tasks, mailoutbox
):
    org, order = shop_world["org"], orders["pending"]
    client = login(shop_world["legal"])
    with run_tasks():
        response = client.post(
            url("order-mark-paid", org, order), {"reference": "Transfer 2026-118"}, follow=True
        )
    html = page(response)
    assert f"Order {order.code} is paid" in html
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.payment_reference == "Transfer 2026-118"
    assert not order.tickets.filter(expires_at__isnull=False).exists()  # sold for good
    assert [mail.subject for mail in mailoutbox] == [f"Your tickets, order {order.code}"]
    assert "Mark paid" not in html and "Send the tickets again" in html

    with run_tasks():
        response = client.post(url("order-resend", org, order), follow=True)
    assert "The tickets are being sent again to grace@example.test." in page(response)
    assert len(mailoutbox) == 2 and mailoutbox[1].to == ["grace@example.test"]


def test_cancelling_asks_then_frees_the_seats_and_tells_the_buyer(
    login, shop_world, orders, run_tasks, mailoutbox
):
    org, order = shop_world["org"], orders["pending"]
    client = login(shop_world["legal"])

    def stalls_available():
        [date] = selectors.dates_with_availability(shop_world["event"].dates.filter(
            pk=shop_world["date"].pk))  # fmt: skip
        return next(zone for zone in date.zones.all() if zone.name == "Stalls").available

    assert stalls_available() == 98
    html = page(client.get(url("order-cancel", org, order)))
    assert "Its 2 seats go back on sale and grace@example.test is told by email" in html
    assert stalls_available() == 98  # asking changes nothing
    with run_tasks():
        response = client.post(url("order-cancel", org, order), follow=True)
    assert "Order cancelled: its seats are free again" in page(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert stalls_available() == 100
    assert [mail.subject for mail in mailoutbox] == [f"Your order {order.code} is cancelled"]
    assert "Cancel the order…" not in page(response) and "Mark paid" not in page(response)


def test_a_cancelled_order_cannot_be_marked_paid(login, shop_world, orders):
    org, order = shop_world["org"], orders["cancelled"]
    response = login(shop_world["legal"]).post(url("order-mark-paid", org, order), follow=True)
    assert "This order is cancelled." in page(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


# --- who may do what ---------------------------------------------------------------------------


def test_viewers_see_orders_without_actions_and_get_403(login, shop_world, orders, viewer):
    org, office, order = shop_world["org"], shop_world["office"], orders["pending"]
    client = login(viewer)
    assert len(listed(client.get(url("order-list", org, office)))) == 4
    html = page(client.get(url("order-detail", org, order)))
    assert order.code in html and 'data-testid="ticket"' in html
    for control in ("Mark paid", "Cancel the order", "Send the tickets again",
                    'data-testid="order-actions"'):  # fmt: skip
        assert control not in html
    for name in ("order-mark-paid", "order-cancel", "order-resend"):
        assert client.post(url(name, org, order)).status_code == 403, name
    assert client.get(url("order-cancel", org, order)).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_orders_of_an_office_one_does_not_see_are_not_found(login, shop_world, orders):
    org, office, order = shop_world["org"], shop_world["office"], orders["pending"]
    stranger = f.MembershipFactory(organisation=org, role=Role.USER).user
    outsider = f.UserFactory()
    other = f.OrganisationFactory(legal_representative=outsider)
    for person in (stranger, outsider):
        client = login(person)
        for target in (url("order-list", org, office), url("order-detail", org, order)):
            assert client.get(target).status_code == 404, target
        assert client.post(url("order-cancel", org, order)).status_code == 404
    client = login(outsider)
    assert client.get(url("order-detail", other, order)).status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
