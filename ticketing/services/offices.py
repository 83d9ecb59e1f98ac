"""Ticket offices: creating one is ordering a product (an administrator act), changing
its settings needs MANAGE_PRODUCT on it, deleting it is again an administrator's."""

import re

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, Problems
from panel.services import product_grants_delete
from panel.services.common import clean_name, normalise_email

from ..models import OrderStatus, TicketOffice

#: Currencies with two decimals that the shop and its card provider take.
CURRENCIES = ("CHF", "EUR", "USD", "GBP", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK")
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$")
MAX_HOLD_MINUTES = 120
MAX_PAY_LATER_DAYS = 60


def clean_slug(value) -> str:
    """The shop's address: 3 to 60 lower-case letters, digits and inner hyphens."""
    slug = (value or "").strip().lower() if isinstance(value, str) else None
    if not slug or not SLUG_PATTERN.match(slug) or "--" in slug:
        raise InvalidInput(
            fields={
                "slug": [
                    _(
                        "Use 3 to 60 lower-case letters, digits and single hyphens, "
                        "such as jazz-festival."
                    )
                ]
            }
        )
    return slug


def clean_currency(value) -> str:
    currency = (value or "").strip().upper() if isinstance(value, str) else ""
    if currency not in CURRENCIES:
        raise InvalidInput(
            fields={"currency": [_("Choose one of %(c)s.") % {"c": ", ".join(CURRENCIES)}]}
        )
    return currency


def _clean_settings(data: dict, problems: Problems) -> dict:
    cleaned = {}
    if "name" in data:
        cleaned["name"] = problems.check(clean_name, data["name"], max_length=120)
    if "currency" in data:
        cleaned["currency"] = problems.check(clean_currency, data["currency"])
    if "slug" in data:
        cleaned["slug"] = problems.check(clean_slug, data["slug"])
    if data.get("contact_email"):
        cleaned["contact_email"] = problems.check(
            normalise_email, data["contact_email"], "contact_email"
        )
    elif "contact_email" in data:
        cleaned["contact_email"] = ""
    for name, limit in (("contact_phone", 40), ("contact_details", 1000),
                        ("pay_later_instructions", 2000)):  # fmt: skip
        if name in data:
            text = (data[name] or "").strip()
            if len(text) > limit:
                problems.add(name, _("At most %(n)d characters.") % {"n": limit})
            cleaned[name] = text
    for name, low, high in (("hold_minutes", 5, MAX_HOLD_MINUTES),
                            ("pay_later_days", 1, MAX_PAY_LATER_DAYS)):  # fmt: skip
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.add(
                    name, _("Enter a whole number from %(a)d to %(b)d.") % {"a": low, "b": high}
                )
            cleaned[name] = value
    for name in ("pay_later", "card_payments"):
        if name in data:
            cleaned[name] = bool(data[name])
    return cleaned


def _save_slug_safely(office: TicketOffice, *, created: bool) -> None:
    try:
        with transaction.atomic():
            office.save()
    except IntegrityError:
        raise Conflict(
            _("Another shop already has this address."),
            code="slug_taken",
            fields={"slug": [_("Another shop already has this address.")]},
        ) from None


@transaction.atomic
def office_create(*, access: Access, name: str, slug: str, currency: str = "CHF", **data):
    """A new ticket office; it changes what the organisation pays (administrators).
    Raises InvalidInput (every problem at once) or Conflict `slug_taken`."""
    access.require_billing()
    problems = Problems()
    cleaned = _clean_settings({**data, "name": name, "slug": slug, "currency": currency}, problems)
    problems.raise_if_any()
    office = TicketOffice(organisation=access.organisation, **cleaned)
    _save_slug_safely(office, created=True)
    record_by(access, "ticketing.office.created", office, {"slug": office.slug})
    return office


@transaction.atomic
def office_update(*, access: Access, office: TicketOffice, **changes) -> TicketOffice:
    """Its name, shop address, currency, contact details and payment settings
    (MANAGE_PRODUCT). The currency cannot change once an order exists."""
    access.require(Capability.MANAGE_PRODUCT, office)
    problems = Problems()
    cleaned = _clean_settings(changes, problems)
    if "currency" in cleaned and cleaned["currency"] != office.currency and office.orders.exists():
        problems.add("currency", _("The currency cannot change once tickets have been ordered."))
    problems.raise_if_any()
    for name, value in cleaned.items():
        setattr(office, name, value)
    _save_slug_safely(office, created=False)
    record_by(access, "ticketing.office.changed", office, {"fields": sorted(cleaned)})
    return office


@transaction.atomic
def office_delete(*, access: Access, office: TicketOffice, confirm_name: str) -> None:
    """Deletes the office with its events and orders (administrators). The name must be
    typed again; an office with orders waiting for payment or paid for dates to come
    cannot be deleted (`has_orders`): cancel them first, so buyers are told."""
    access.require_billing(office)
    if (confirm_name or "").strip() != office.name:
        raise InvalidInput(fields={"confirm_name": [_("Type the name of the office to confirm.")]})
    from django.utils import timezone

    upcoming = office.orders.filter(
        status__in=[OrderStatus.PENDING, OrderStatus.PAID],
        tickets__zone__date__starts_at__gte=timezone.now(),
    )
    if upcoming.exists():
        raise Conflict(
            _("This office has orders for dates to come: cancel them first."), code="has_orders"
        )
    record_by(access, "ticketing.office.deleted", None, {"office": office.name})
    product_grants_delete(office)  # no grant is left pointing at an office that is gone
    office.delete()
