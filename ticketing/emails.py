"""The emails a buyer receives about an order, in the language they bought in."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from . import secrets
from .models import Order

SUBJECTS = {
    "tickets": lambda order: _("Your tickets, order %(code)s") % {"code": order.code},
    "pending": lambda order: _("Your order %(code)s is waiting for payment") % {"code": order.code},
    "cancelled": lambda order: _("Your order %(code)s is cancelled") % {"code": order.code},
    "date_cancelled": lambda order: (
        _("A date of your order %(code)s is cancelled") % {"code": order.code}
    ),
}


def order_page_url(order: Order) -> str:
    from django.urls import reverse

    base = getattr(settings, "PANEL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    path = reverse("shop:order-detail", args=[order.office.slug, order.code])
    return f"{base}{path}?token={secrets.order_token(order)}"


def order_mail(order: Order, kind: str) -> None:
    """Sends the `kind` email of `order`; with its tickets as PDF files when paid."""
    from .pdf import ticket_pdfs

    with translation.override(order.language or "en"):
        context = {"order": order, "kind": kind, "order_url": order_page_url(order),
                   "office": order.office}  # fmt: skip
        message = EmailMessage(
            subject=SUBJECTS[kind](order),
            body=render_to_string("ticketing/emails/order.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.buyer_email],
            reply_to=[order.office.contact_email] if order.office.contact_email else None,
        )
        if kind == "tickets":
            for filename, content in ticket_pdfs(order):
                message.attach(filename, content, "application/pdf")
        message.send()
