"""Card payments through Stripe Checkout (`TICKETING_CARD_PROVIDER = "stripe"`).

The buyer is sent to a Checkout Session made for the pending order; the order is paid
when Stripe's webhook says the session is paid, never when the buyer comes back to the
shop (anyone can open a success URL). The webhook is trusted only once its signature
checks out against `STRIPE_WEBHOOK_SECRET` (`stripe.Webhook.construct_event`, which also
refuses a signature older than five minutes, so a recorded delivery cannot be replayed
later). Stripe delivers at least once and retries, so each event is recorded in
`PaymentEvent` inside the transaction that acts on it: the same event twice changes
nothing.

A payment that arrives after the order's deadline pays it if its seats are still free;
if they were sold meanwhile (`seats_gone`), the order stays unpaid and the refused
payment is written to the organisation's activity log with the Stripe session, so the
organiser can refund it.
"""

import datetime
import logging
from decimal import ROUND_HALF_UP, Decimal

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from panel.activity import acting_via, record
from panel.errors import Conflict
from panel.models import Via

from . import secrets
from .models import Order, OrderStatus, PaymentEvent, PaymentMethod
from .payments import CardProvider, provider_register
from .services.sales import order_mark_paid

logger = logging.getLogger(__name__)

KEY = "stripe"
#: Currencies Stripe counts in whole units, and those it counts in thousandths
#: (https://docs.stripe.com/currencies#special-cases).
ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX",
                "VND", "VUV", "XAF", "XOF", "XPF"}  # fmt: skip
THREE_DECIMAL = {"BHD", "JOD", "KWD", "OMR", "TND"}
#: Stripe accepts a session's end between 30 minutes and 24 hours after its creation.
SESSION_SHORTEST = datetime.timedelta(minutes=31)
SESSION_LONGEST = datetime.timedelta(hours=23)
#: The events that say a session is paid (the second one for payment methods that
#: settle later, such as bank debits).
PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}


def minor_units(amount, currency: str) -> int:
    """`amount` in the smallest unit Stripe counts for `currency` (45.00 CHF -> 4500)."""
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        exponent = 0
    elif currency in THREE_DECIMAL:
        exponent = 3
    else:
        exponent = 2
    units = (Decimal(amount) * 10**exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(units)


def _order_page(order: Order, request) -> str:
    path = reverse("shop:order-detail", args=[order.office.slug, order.code])
    return request.build_absolute_uri(f"{path}?token={secrets.order_token(order)}")


class StripeCardProvider(CardProvider):
    """Stripe Checkout. `client` is a `stripe.StripeClient`; the tests give their own,
    since Stripe cannot be reached from them."""

    key = KEY

    def __init__(self, client=None):
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = stripe.StripeClient(settings.STRIPE_SECRET_KEY)
        return self._client

    def session_params(self, order: Order, *, request, now=None) -> dict:
        """What the Checkout Session of `order` is made of: one line per tariff (free
        tickets, which Stripe has nothing to charge for, stay off the bill), the order's
        currency, the order's id and code in the metadata, and the order page to come
        back to."""
        now = now or timezone.now()
        tickets = order.tickets.filter(cancelled=False).select_related(
            "tariff", "zone__date__event"
        )
        lines: dict[int, dict] = {}
        with translation.override(order.language or settings.LANGUAGE_CODE):
            for ticket in tickets.order_by("pk"):
                if ticket.price <= 0:
                    continue
                line = lines.get(ticket.tariff_id)
                if line is None:
                    date = ticket.zone.date
                    starts = timezone.localtime(date.starts_at)
                    when = formats.date_format(starts, "l j F Y, H:i")
                    line = lines[ticket.tariff_id] = {
                        "price_data": {
                            "currency": order.currency.lower(),
                            "unit_amount": minor_units(ticket.price, order.currency),
                            "product_data": {
                                "name": f"{date.event.title}: {ticket.zone.name}, "
                                f"{ticket.tariff.name}",
                                "description": when,
                            },
                        },
                        "quantity": 0,
                    }
                line["quantity"] += 1
        deadline = order.payment_deadline or now
        expires_at = min(max(deadline, now + SESSION_SHORTEST), now + SESSION_LONGEST)
        metadata = {"order_id": str(order.pk), "order_code": order.code,
                    "office": order.office.slug}  # fmt: skip
        back = _order_page(order, request)
        return {
            "mode": "payment",
            "line_items": list(lines.values()),
            "customer_email": order.buyer_email,
            "client_reference_id": order.code,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": back,
            "cancel_url": back,
            "expires_at": int(expires_at.timestamp()),
            "locale": order.language if order.language in ("en", "fr") else "auto",
        }

    def start(self, order, *, request) -> str:
        session = self.client.v1.checkout.sessions.create(
            params=self.session_params(order, request=request)
        )
        return session.url


provider_register(KEY, StripeCardProvider)


# -- the webhook ------------------------------------------------------------------------------


def _order_of(session: dict) -> Order | None:
    """The card order a session was made for, from the metadata we gave it; None for a
    session of something else sold on the same Stripe account."""
    metadata = session.get("metadata") or {}
    order_id, code = str(metadata.get("order_id") or ""), metadata.get("order_code")
    if not order_id.isdigit() or not code:
        return None
    return (
        Order.objects.filter(pk=int(order_id), code=code, payment_method=PaymentMethod.CARD)
        .select_related("office")
        .first()
    )


def _refused(order: Order, session: dict, reason: str) -> str:
    """The payment cannot pay the order: said in the activity log, with what the
    organiser needs to refund it."""
    logger.warning("stripe: session %s not applied to order %s: %s", session.get("id"),
                   order.code, reason)  # fmt: skip
    with acting_via(Via.SYSTEM):
        record(
            organisation=order.organisation,
            actor=None,
            code="ticketing.order.payment_refused",
            target=order.office,
            data={
                "order": order.code,
                "provider": KEY,
                "reference": session.get("id", ""),
                "payment_intent": session.get("payment_intent") or "",
                "amount": session.get("amount_total"),
                "currency": session.get("currency"),
                "reason": reason,
            },
        )
    return reason


@transaction.atomic
def event_handle(event: dict) -> str:
    """Acts on one verified Stripe event, once: a paid Checkout Session pays its order
    (services.sales.order_mark_paid). Returns what came of it: `paid`, `duplicate`,
    `ignored`, `not_paid_yet`, `unknown_order`, `amount_mismatch`, or the Conflict code
    of a payment the order cannot take (`seats_gone`, `order_cancelled`)."""
    if event.get("type") not in PAID_EVENTS:
        return "ignored"
    try:
        with transaction.atomic():
            PaymentEvent.objects.create(provider=KEY, event_id=str(event["id"]))
    except IntegrityError:
        return "duplicate"
    session = event["data"]["object"]
    if session.get("payment_status") != "paid":
        return "not_paid_yet"
    order = _order_of(session)
    if order is None:
        logger.info("stripe: session %s is not for an order of ours", session.get("id"))
        return "unknown_order"
    if session.get("amount_total") != minor_units(order.total, order.currency) or (
        str(session.get("currency", "")).upper() != order.currency.upper()
    ):
        return _refused(order, session, "amount_mismatch")
    if order.status == OrderStatus.PAID:
        if order.payment_reference != session.get("id"):  # paid another way already
            return _refused(order, session, "paid_already")
        return "paid"
    try:
        order_mark_paid(order=order, reference=str(session.get("id", "")))
    except Conflict as error:
        return _refused(order, session, error.code)
    return "paid"


@csrf_exempt  # Stripe signs its requests instead; nothing else is exempt
@require_POST
def webhook(request):
    """POST /ticketing/webhooks/stripe/: 400 unless Stripe's signature checks out."""
    try:
        event = stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponse(status=400)
    return JsonResponse({"received": True, "outcome": event_handle(event.to_dict())})
