"""The emails a buyer receives about an order, in the language they bought in.

- `tickets`: the order is paid; one PDF ticket per seat is attached;
- `pending`: a "pay later" order, with the amount, the deadline and the organiser's
  instructions;
- `cancelled`: the organiser cancelled the order;
- `date_cancelled`: the organiser cancelled a date the order has tickets for.

Each links to the buyer's order page, where the tickets can be downloaded again. They are
sent by the `ticketing.order_mail_send` task once the change is committed.

A guest who accepts an invitation gets their tickets the same way (`guest_tickets_mail`,
by the `ticketing.guest_tickets_send` task), with the link of their personal page.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from . import secrets
from .models import Guest, GuestStatus, Order

KINDS = ("tickets", "pending", "cancelled", "date_cancelled")

SUBJECTS = {
    "tickets": lambda order: _("Your tickets, order %(code)s") % {"code": order.code},
    "pending": lambda order: _("Your order %(code)s is waiting for payment") % {"code": order.code},
    "cancelled": lambda order: _("Your order %(code)s is cancelled") % {"code": order.code},
    "date_cancelled": lambda order: (
        _("A date of your order %(code)s is cancelled") % {"code": order.code}
    ),
}


def _email(office, *, subject: str, body: str, to: str, attachments) -> EmailMessage:
    """An email of the office to one person, answered to the office's contact address,
    with the PDF tickets attached."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[office.contact_email] if office.contact_email else None,
    )
    for filename, content in attachments:
        message.attach(filename, content, "application/pdf")
    return message


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
        message = _email(
            office,
            subject=SUBJECTS[kind](order),
            body=render_to_string("ticketing/emails/order.txt", context),
            to=order.buyer_email,
            attachments=attachments,
        )
    message.send()
    if attachments:
        Order.objects.filter(pk=order.pk).update(tickets_sent_at=timezone.now())


#: How long the sending of a guest's tickets is remembered (see guest_tickets_mail).
GUEST_SENT_SECONDS = 7 * 24 * 3600


def guest_tickets_mail(guest: Guest, *, answered_at: str, language: str | None) -> None:
    """Sends a guest their tickets, one PDF per place, in `language` (their page's when
    they accepted), with the link of their page. Nothing is sent when they have answered
    again since `answered_at` (that answer has its own email) or hold no valid ticket.
    A Guest has no "tickets sent" stamp, so the sending of an answer is remembered in the
    cache instead: run again, this sends nothing; had the cache lost it, the very same
    tickets would go once more, which is harmless."""
    from .pdf import guest_ticket_pdfs
    from .services.invitations import guest_link_url

    if (
        guest.status != GuestStatus.ACCEPTED
        or guest.answered_at is None
        or guest.answered_at != datetime.datetime.fromisoformat(answered_at)
    ):
        return
    sent = f"ticketing:guest-tickets-sent:{guest.pk}:{answered_at}"
    if cache.get(sent):
        return
    office = guest.event.office
    with translation.override(language or settings.LANGUAGE_CODE):
        attachments = guest_ticket_pdfs(guest)
        if not attachments:
            return
        message = _email(
            office,
            subject=_("Your tickets: %(event)s") % {"event": guest.event.title},
            body=_guest_body(guest, guest_link_url(guest)),
            to=guest.email,
            attachments=attachments,
        )
    message.send()
    cache.set(sent, True, GUEST_SENT_SECONDS)


def _guest_body(guest: Guest, link: str) -> str:
    office = guest.event.office
    tickets = guest.tickets.filter(cancelled=False).select_related("zone__date", "tariff", "seat")
    local = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    lines = [
        _("Hello %(name)s,") % {"name": guest.name},
        "",
        _(
            "Thank you for accepting the invitation of %(office)s. Your tickets are attached, "
            "one PDF per place: show them at the entrance, printed or on your phone."
        )
        % {"office": office.name},
        "",
        _("Tickets:"),
    ]
    for ticket in tickets.order_by("pk"):
        date = ticket.zone.date
        parts = [
            guest.event.title,
            formats.date_format(date.starts_at.astimezone(local), "l j F Y, H:i"),
            ticket.zone.name,
            *([ticket.seat.label] if ticket.seat_id else []),
            ticket.tariff.name,
        ]
        lines.append(f"- {', '.join(parts)}: {ticket.holder_name or guest.name}")
    lines += [
        "",
        _("Your invitation, to download the tickets again or change your answer:") + f" {link}",
    ]
    if office.contact_email or office.contact_phone:
        contact = ", ".join(filter(None, [office.name, office.contact_email, office.contact_phone]))
        lines += ["", _("Questions? Contact the organiser:") + f" {contact}"]
    return "\n".join(lines) + "\n"
