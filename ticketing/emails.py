"""The emails a buyer receives about an order, in the language they bought in.

- `tickets`: the order is paid; one PDF ticket per seat is attached;
- `pending`: a "pay later" order, with the amount, the deadline and the organiser's
  instructions;
- `cancelled`: the organiser cancelled the order;
- `date_cancelled`: the organiser cancelled a date the order has tickets for.

Each links to the buyer's order page, where the tickets can be downloaded again. They are
sent by the `ticketing.order_mail_send` task once the change is committed.
"""

import zoneinfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import secrets
from .models import Order

KINDS = ("tickets", "pending", "cancelled", "date_cancelled")

SUBJECTS = {
    "tickets": lambda order: _("Your tickets, order %(code)s") % {"code": order.code},
    "pending": lambda order: _("Your order %(code)s is waiting for payment") % {"code": order.code},
    "cancelled": lambda order: _("Your order %(code)s is cancelled") % {"code": order.code},
    "date_cancelled": lambda order: (
        _("A date of your order %(code)s is cancelled") % {"code": order.code}
    ),
}


def order_page_url(order: Order) -> str:
    """The buyer's own page of the order, opened by its token."""
    base = getattr(settings, "PANEL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    path = reverse("shop:order-detail", args=[order.office.slug, order.code])
    return f"{base}{path}?token={secrets.order_token(order)}"


def _lines(order: Order) -> list[dict]:
    """One line per ticket: what it is for and the name on it, and whether it still
    holds (a cancelled date's tickets do not)."""
    tickets = order.tickets.select_related("zone__date__event", "tariff", "seat").order_by("pk")
    local = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return [
        {
            "event": ticket.zone.date.event.title,
            "starts_at": ticket.zone.date.starts_at.astimezone(local),
            "zone": ticket.zone.name,
            "tariff": ticket.tariff.name,
            "seat": ticket.seat.label if ticket.seat_id else "",
            "name": ticket.holder_name or order.buyer_name,
            "valid": not ticket.cancelled,
            "date_cancelled": ticket.zone.date.cancelled_at is not None,
        }
        for ticket in tickets
    ]


def order_mail(order: Order, kind: str) -> None:
    """Sends the `kind` email of `order` (see the module's list); the `tickets` email
    carries one PDF per valid ticket and marks the order's tickets as sent; it is not sent
    when the order has no valid ticket any more."""
    from .pdf import ticket_pdfs

    if kind not in KINDS:
        raise ValueError(f"unknown order email {kind!r}")
    office = order.office
    attachments = ticket_pdfs(order) if kind == "tickets" else []
    if kind == "tickets" and not attachments:
        return  # cancelled or not paid since the email was queued: no tickets to send
    with translation.override(order.language or settings.LANGUAGE_CODE):
        lines = _lines(order)
        context = {
            "order": order,
            "office": office,
            "kind": kind,
            "order_url": order_page_url(order),
            "tickets": lines,
            "deadline": (
                order.payment_deadline.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))
                if order.payment_deadline
                else None
            ),
            "still_valid": [line for line in lines if line["valid"]],
        }
        message = EmailMessage(
            subject=SUBJECTS[kind](order),
            body=render_to_string("ticketing/emails/order.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.buyer_email],
            reply_to=[office.contact_email] if office.contact_email else None,
        )
        for filename, content in attachments:
            message.attach(filename, content, "application/pdf")
    message.send()
    if attachments:
        Order.objects.filter(pk=order.pk).update(tickets_sent_at=timezone.now())
