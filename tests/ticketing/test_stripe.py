"""Stripe card payments. Stripe cannot be reached from the tests: its webhook events are
built here as Stripe sends them and signed with a test secret the way Stripe signs
(`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>">`), and the Checkout
Session is checked by the parameters the provider hands to its Stripe client."""

import datetime
import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from panel.models import ActivityEvent
from ticketing import payments, secrets, services
from ticketing.models import Order, OrderStatus, PaymentEvent, Ticket
from ticketing.stripe_payments import StripeCardProvider, minor_units

from . import test_emails
from .test_pdf import buy

pytestmark = pytest.mark.django_db
run_tasks = test_emails.run_tasks  # the fixture that runs tasks at commit

SECRET = "whsec_test_panel_0123456789abcdef"
URL = "/ticketing/webhooks/stripe/"


@pytest.fixture(autouse=True)
def stripe_settings(settings):
    settings.TICKETING_CARD_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_never_used"
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def card_order(world, items=None) -> Order:
    """A pending card order of a French buyer (two full-price seats unless told)."""
    items = items or [{"tariff": world["full"].pk, "quantity": 2}]
    return buy(world, items, payment="card", paid=False, language="fr")


def session_event(order, *, kind="checkout.session.completed", status="paid", amount=None,
                  session_id="cs_test_a1", event_id=None, metadata=None) -> dict:  # fmt: skip
    """A Checkout Session event as Stripe sends it (the fields we read, and a few more)."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": status,
                "amount_total": minor_units(order.total, order.currency) if amount is None
                else amount,
                "currency": order.currency.lower(),
                "client_reference_id": order.code,
                "customer_email": order.buyer_email,
                "payment_intent": "pi_test_1",
                "metadata": metadata if metadata is not None
                else {"order_id": str(order.pk), "order_code": order.code, "office": "jorat"},
            }
        },
    }  # fmt: skip


def run_out(order):
    """The order's payment deadline passes, and the periodic job marks it expired."""
    past = timezone.now() - datetime.timedelta(minutes=1)
    Ticket.objects.filter(order=order).update(expires_at=past)
    Order.objects.filter(pk=order.pk).update(payment_deadline=past)
    services.sales.orders_expire()


def deliver(event: dict, *, secret=SECRET, timestamp=None, body=None):
    """POST the event as Stripe does, signed with `secret` at `timestamp`."""
    payload = body if body is not None else json.dumps(event)
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{json.dumps(event)}".encode(),
                         hashlib.sha256).hexdigest()  # fmt: skip
    # a browser-like client that enforces CSRF: only this view is exempt
    return Client(enforce_csrf_checks=True).post(
        URL, payload, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={signature}",
    )  # fmt: skip


def test_a_paid_session_pays_the_order_and_mails_the_tickets(shop_world, mailoutbox, run_tasks):
    order = card_order(shop_world)
    assert (order.status, order.payment_provider) == (OrderStatus.PENDING, "stripe")
    with run_tasks():
        response = deliver(session_event(order))
    assert response.status_code == 200
    assert response.json()["outcome"] == "paid"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.payment_reference == "cs_test_a1"
    assert not order.tickets.filter(expires_at__isnull=False).exists()
    [mail] = mailoutbox
    assert mail.subject.endswith(order.code) and len(mail.attachments) == 2


def test_the_same_event_twice_pays_once_and_mails_once(shop_world, mailoutbox, run_tasks):
    order = card_order(shop_world)
    event = session_event(order)
    with run_tasks():
        first = deliver(event)
        again = deliver(event)
        # the same session told again by the late-payment event changes nothing either
        late = deliver(session_event(order, kind="checkout.session.async_payment_succeeded"))
    assert [first.status_code, again.status_code, late.status_code] == [200, 200, 200]
    assert [again.json()["outcome"], late.json()["outcome"]] == ["duplicate", "paid"]
    assert PaymentEvent.objects.filter(event_id=event["id"], provider="stripe").count() == 1
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("tamper", ["other secret", "changed body", "no header", "stale"])
def test_an_event_not_signed_by_stripe_now_changes_nothing(shop_world, mailoutbox, run_tasks,
                                                           tamper):  # fmt: skip
    order = card_order(shop_world)
    event = session_event(order)
    with run_tasks():
        if tamper == "other secret":
            response = deliver(event, secret="whsec_someone_else")
        elif tamper == "changed body":
            forged = json.loads(json.dumps(event))
            forged["data"]["object"]["amount_total"] = 1
            response = deliver(event, body=json.dumps(forged))
        elif tamper == "no header":
            response = Client().post(URL, json.dumps(event), content_type="application/json")
        else:  # a genuine delivery replayed ten minutes later
            response = deliver(event, timestamp=int(time.time()) - 600)
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not PaymentEvent.objects.exists()
    assert mailoutbox == []


def test_without_a_webhook_secret_nothing_is_trusted(shop_world, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    order = card_order(shop_world)
    assert deliver(session_event(order), secret="").status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_a_payment_after_the_deadline_for_seats_sold_meanwhile_is_refused_and_logged(
    shop_world, mailoutbox, run_tasks
):
    world = shop_world
    box = services.zone_create(access=world["access"], date=world["date"], name="Box", capacity=2)
    tariff = services.tariff_create(access=world["access"], zone=box, name="Box", price="30")
    order = card_order(world, [{"tariff": tariff.pk, "quantity": 2}])
    # the buyer dawdles on Stripe's page: the hold runs out and someone else buys the box
    run_out(order)
    services.basket_create(office=world["office"], items=[{"tariff": tariff.pk, "quantity": 2}])
    with run_tasks():
        response = deliver(session_event(order, session_id="cs_test_late"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "seats_gone"
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and order.paid_at is None
    assert mailoutbox == []
    # the box is not oversold
    assert Ticket.objects.filter(services.sales.counted(), zone=box).count() == 2
    # the organiser can see which payment to refund; Stripe's retry changes nothing
    [logged] = ActivityEvent.objects.filter(code="ticketing.order.payment_refused")
    assert logged.organisation == world["org"]
    assert logged.data["order"] == order.code
    assert logged.data["reference"] == "cs_test_late"
    assert logged.data["reason"] == "seats_gone"
    assert logged.via == "system"
    assert PaymentEvent.objects.count() == 1


def test_a_late_payment_whose_seats_are_still_free_pays_the_order(shop_world, mailoutbox,
                                                                  run_tasks):  # fmt: skip
    order = card_order(shop_world)
    run_out(order)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
    with run_tasks():
        assert deliver(session_event(order)).json()["outcome"] == "paid"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        ({"kind": "checkout.session.expired"}, "ignored"),
        ({"kind": "payment_intent.succeeded"}, "ignored"),
        ({"status": "unpaid"}, "not_paid_yet"),
        ({"metadata": {"order_id": "999999", "order_code": "NOSUCH"}}, "unknown_order"),
        ({"metadata": {}}, "unknown_order"),
        ({"amount": 100}, "amount_mismatch"),
    ],
)
def test_events_that_do_not_pay_an_order_are_answered_and_change_nothing(
    shop_world, mailoutbox, run_tasks, change, outcome
):
    order = card_order(shop_world)
    with run_tasks():
        response = deliver(session_event(order, **change))
    assert response.status_code == 200
    assert response.json()["outcome"] == outcome
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert mailoutbox == []


def test_a_second_payment_of_a_paid_order_is_logged_for_a_refund(shop_world, run_tasks):
    order = card_order(shop_world)
    services.order_mark_paid(order=order, access=shop_world["access"])  # at the box office
    response = deliver(session_event(order, session_id="cs_test_twice"))
    assert response.json()["outcome"] == "paid_already"
    [logged] = ActivityEvent.objects.filter(code="ticketing.order.payment_refused")
    assert logged.data["reference"] == "cs_test_twice"


def test_only_post_is_answered(shop_world):
    assert Client().get(URL).status_code == 405


# -- starting a payment -----------------------------------------------------------------------


class RecordingStripe:
    """Stands in for `stripe.StripeClient`: keeps the Checkout Session asked for."""

    def __init__(self):
        self.asked = []
        sessions = SimpleNamespace(create=self._create)
        self.v1 = SimpleNamespace(checkout=SimpleNamespace(sessions=sessions))

    def _create(self, params=None, options=None):
        self.asked.append(params)
        return SimpleNamespace(
            id="cs_test_new", url="https://checkout.stripe.com/c/pay/cs_test_new"
        )


def test_the_checkout_session_bills_the_order_and_brings_the_buyer_back(shop_world, settings):
    settings.ALLOWED_HOSTS = ["tickets.example.test"]
    world = shop_world
    order = card_order(
        world,
        [{"tariff": world["full"].pk, "quantity": 2}, {"tariff": world["student"].pk,
                                                       "quantity": 1},
         {"tariff": world["free"].pk, "quantity": 1}],
    )  # fmt: skip
    stripe = RecordingStripe()
    request = RequestFactory().get("/", HTTP_HOST="tickets.example.test")
    url = StripeCardProvider(client=stripe).start(order, request=request)
    assert url == "https://checkout.stripe.com/c/pay/cs_test_new"
    [params] = stripe.asked
    assert params["mode"] == "payment"
    lines = [
        (line["price_data"]["product_data"]["name"], line["price_data"]["unit_amount"],
         line["price_data"]["currency"], line["quantity"])
        for line in params["line_items"]
    ]  # fmt: skip
    assert lines == [
        ("Le Misanthrope: Stalls, Full price", 4500, "chf", 2),
        ("Le Misanthrope: Stalls, Student", 2000, "chf", 1),
    ]
    assert sum(unit * n for _name, unit, _cur, n in lines) == minor_units(order.total, "CHF")
    assert params["metadata"] == {"order_id": str(order.pk), "order_code": order.code,
                                  "office": "jorat"}  # fmt: skip
    assert params["client_reference_id"] == order.code
    assert params["customer_email"] == "grace@example.test"
    assert params["locale"] == "fr"
    back = (f"http://tickets.example.test/shop/jorat/orders/{order.code}/"
            f"?token={secrets.order_token(order)}")  # fmt: skip
    assert params["success_url"] == back and params["cancel_url"] == back
    # Stripe takes a session end 30 minutes to 24 hours ahead
    ahead = params["expires_at"] - time.time()
    assert 30 * 60 < ahead < 24 * 3600


def test_the_stripe_setting_chooses_this_provider():
    provider = payments.card_provider()
    assert isinstance(provider, StripeCardProvider) and provider.key == "stripe"


def test_amounts_are_counted_in_the_currencys_smallest_unit():
    assert minor_units(Decimal("45.00"), "CHF") == 4500
    assert minor_units(Decimal("19.99"), "eur") == 1999
    assert minor_units(Decimal("1500"), "JPY") == 1500
    assert minor_units(Decimal("1.25"), "KWD") == 1250
