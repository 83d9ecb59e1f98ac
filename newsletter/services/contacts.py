"""Contacts of a newsletter: who they are, their field values, their standing on each
list and their groups, every change written to their history.

The rules, written here once (the API, the panel and the CSV import call them):
- An address is compared trimmed and in lower case (`email_key`): a second contact with
  the same address answers 409 `already_exists`.
- A field value is checked against its field's type (`clean_field_value`) and kept
  under the field's key; an empty value removes it.
- A contact the organisation adds (the panel, the API, an import) is `subscribed` unless
  it says otherwise: its consent is the organisation's to hold, and is recorded with its
  source. One who signs up on a public form is `unconfirmed` until they follow the link
  of the confirmation email.
- A contact who left a list (`unsubscribed`) or complained is never put back on it by
  the organisation: only they can subscribe again, through the list's form (409
  `contact_left`; an import skips them and counts them).
- A group is a group of one list: a contact's groups are given with their subscription
  to that list.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, Problems
from panel.services.common import normalise_email

from ..models import (
    Consent,
    ConsentSource,
    Contact,
    ContactEvent,
    ContactEventKind,
    ContactField,
    ContactGroup,
    ContactList,
    FieldType,
    Newsletter,
    Subscription,
    SubscriptionStatus,
)

MAX_TEXT = 1000
#: The standings the organisation cannot turn back into `subscribed`.
LEFT = (SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.COMPLAINED)
#: The history line each status is reached by.
STATUS_EVENTS = {
    SubscriptionStatus.SUBSCRIBED: ContactEventKind.SUBSCRIBED,
    SubscriptionStatus.UNCONFIRMED: ContactEventKind.CONFIRMATION_SENT,
    SubscriptionStatus.UNSUBSCRIBED: ContactEventKind.UNSUBSCRIBED,
    SubscriptionStatus.BOUNCED: ContactEventKind.BOUNCED,
    SubscriptionStatus.COMPLAINED: ContactEventKind.COMPLAINED,
}
_YES = {"yes", "y", "true", "1", "oui", "o", "x"}
_NO = {"no", "n", "false", "0", "non", ""}
_DAY_FIRST = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")


def email_key(address: str) -> str:
    """How addresses are compared: trimmed and in lower case."""
    return (address or "").strip().lower()


def clean_email(value, field: str = "email") -> str:
    """The address as typed, trimmed; InvalidInput under `field` when it is not one."""
    if not isinstance(value, str):
        raise InvalidInput(fields={field: [_("Enter a valid email address.")]})
    normalise_email(value, field)
    local, _at, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


# -- field values -----------------------------------------------------------------------------


def clean_field_value(field: ContactField, value):
    """The value to keep for `field`, or None to remove it. Text from a form or a CSV
    file is read too: "12,5" for a number, "31.12.2026" for a date, "yes"/"oui" for
    yes/no. Raises InvalidInput under `fields.<key>`."""
    name = f"fields.{field.key}"
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field.type == FieldType.YES_NO:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
        raise InvalidInput(fields={name: [_("Answer yes or no.")]})
    if field.type == FieldType.NUMBER:
        if isinstance(value, bool):
            raise InvalidInput(fields={name: [_("Enter a number.")]})
        try:
            number = Decimal(str(value).strip().replace(",", ".").replace("\u202f", ""))
        except InvalidOperation:
            raise InvalidInput(fields={name: [_("Enter a number.")]}) from None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise InvalidInput(fields={name: [_("Enter a number.")]})
        return int(number) if number == number.to_integral_value() else float(number)
    if not isinstance(value, str):
        if field.type == FieldType.DATE and isinstance(value, datetime.date):
            return value.isoformat()
        raise InvalidInput(fields={name: [_("Enter text.")]})
    text = value.strip()
    if field.type == FieldType.DATE:
        return _clean_date(text, name)
    if field.type == FieldType.CHOICE:
        for choice in field.choices:
            if choice.casefold() == text.casefold():
                return choice
        raise InvalidInput(
            fields={name: [_("Choose one of: %(c)s.") % {"c": ", ".join(field.choices)}]}
        )
    if len(text) > MAX_TEXT:
        raise InvalidInput(fields={name: [_("At most %(n)d characters.") % {"n": MAX_TEXT}]})
    return text


def _clean_date(text: str, name: str) -> str:
    day_first = _DAY_FIRST.match(text)
    try:
        if day_first:
            day, month, year = (int(part) for part in day_first.groups())
            return datetime.date(year, month, day).isoformat()
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput(
            fields={name: [_("Enter a date such as 2026-12-31 or 31.12.2026.")]}
        ) from None


def clean_fields(newsletter_fields: dict[str, ContactField], values, problems: Problems) -> dict:
    """{key: value or None} of `values`, each checked against its field; unknown keys are
    a problem."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        problems.add("fields", _("Give the fields as an object of keys and values."))
        return {}
    cleaned = {}
    for key, value in values.items():
        field = newsletter_fields.get(key)
        if field is None:
            problems.add(f"fields.{key}", _("This newsletter has no field with this key."))
            continue
        try:
            cleaned[key] = clean_field_value(field, value)
        except InvalidInput as error:
            for message in error.fields.get(f"fields.{key}", []):
                problems.add(f"fields.{key}", message)
    return cleaned


def merge_fields(current: dict, changes: dict) -> dict:
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# -- subscriptions ----------------------------------------------------------------------------


def clean_subscriptions(newsletter: Newsletter, entries, problems: Problems, *, default_status):
    """[(list, status, [groups] or None)] of `[{list, status?, groups?}]`: lists of this
    newsletter, each once, groups of that list."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.add("subscriptions", _("Give a list of subscriptions."))
        return []
    list_ids = [e.get("list") for e in entries if isinstance(e, dict)]
    group_ids = [
        g for e in entries if isinstance(e, dict) for g in (e.get("groups") or []) if _is_id(g)
    ]
    lists = {
        item.pk: item
        for item in ContactList.objects.filter(
            newsletter=newsletter, pk__in=filter(_is_id, list_ids)
        )
    }
    groups = {
        group.pk: group
        for group in ContactGroup.objects.filter(list__newsletter=newsletter, pk__in=group_ids)
    }
    cleaned, seen = [], set()
    for index, entry in enumerate(entries):
        at = f"subscriptions.{index}"
        if not isinstance(entry, dict):
            problems.add(at, _("Give the list and, if you wish, the status and groups."))
            continue
        contact_list = lists.get(entry.get("list")) if _is_id(entry.get("list")) else None
        if contact_list is None:
            problems.add(f"{at}.list", _("Give the id of one of this newsletter's lists."))
            continue
        if contact_list.pk in seen:
            problems.add(f"{at}.list", _("This list is given twice."))
            continue
        seen.add(contact_list.pk)
        status = entry.get("status") or default_status
        if status not in SubscriptionStatus.values:
            problems.add(
                f"{at}.status",
                _("Choose one of: %(c)s.") % {"c": ", ".join(SubscriptionStatus.values)},
            )
            continue
        chosen = None
        if entry.get("groups") is not None:
            raw = entry["groups"]
            if not isinstance(raw, list) or not all(_is_id(g) for g in raw):
                problems.add(f"{at}.groups", _("Give the ids of the list's groups."))
                continue
            chosen = [groups.get(g) for g in raw]
            wrong = [g for g, found in zip(raw, chosen, strict=True)
                     if found is None or found.list_id != contact_list.pk]  # fmt: skip
            if wrong:
                problems.add(
                    f"{at}.groups",
                    _("Not groups of %(list)s: %(ids)s.")
                    % {"list": contact_list.name, "ids": ", ".join(str(g) for g in wrong)},
                )
                continue
        cleaned.append((contact_list, status, chosen))
    return cleaned


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def refuse_rejoining(contact: Contact | None, cleaned, problems: Problems) -> None:
    """The organisation does not subscribe again a contact who left a list."""
    if contact is None:
        return
    standing = {s.list_id: s.status for s in contact.subscriptions.all()}
    for index, (contact_list, status, _groups) in enumerate(cleaned):
        if status == SubscriptionStatus.SUBSCRIBED and standing.get(contact_list.pk) in LEFT:
            problems.add(
                f"subscriptions.{index}.status",
                _(
                    "This contact left %(list)s: only they can subscribe again, through the "
                    "list's form."
                )
                % {"list": contact_list.name},
            )


def apply_subscriptions(contact: Contact, cleaned, *, source: str, detail: str = "", now=None):
    """Writes each (list, status, groups) to the contact, with a history line for each
    change of status and a consent when the organisation subscribes them."""
    now = now or timezone.now()
    current = {s.list_id: s for s in contact.subscriptions.all()}
    for contact_list, status, groups in cleaned:
        subscription = current.get(contact_list.pk)
        if subscription is None:
            Subscription.objects.create(
                organisation_id=contact.organisation_id, contact=contact, list=contact_list,
                status=status, created_at=now, changed_at=now,
            )  # fmt: skip
            changed = True
        else:
            changed = subscription.status != status
            if changed:
                subscription.status, subscription.changed_at = status, now
                subscription.save(update_fields=["status", "changed_at"])
        if changed:
            ContactEvent.objects.create(
                organisation_id=contact.organisation_id, contact=contact, list=contact_list,
                kind=STATUS_EVENTS[status], detail={"source": source}, at=now,
            )  # fmt: skip
            if status == SubscriptionStatus.SUBSCRIBED:
                Consent.objects.create(
                    organisation_id=contact.organisation_id, contact=contact,
                    list=contact_list, source=source, detail=detail, at=now, confirmed_at=now,
                )  # fmt: skip
        if groups is not None:
            others = contact.groups.exclude(list=contact_list)
            contact.groups.set([*others, *groups])


# -- contacts ---------------------------------------------------------------------------------


def _fields_of(newsletter: Newsletter) -> dict[str, ContactField]:
    return {field.key: field for field in newsletter.fields.all()}


def _save_unique(contact: Contact) -> None:
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        raise Conflict(
            _("A contact with this address exists already."),
            code="already_exists",
            fields={"email": [_("A contact with this address exists already.")]},
        ) from None


@transaction.atomic
def contact_create(
    *, access: Access, newsletter: Newsletter, email, fields=None, subscriptions=None,
    source: str = ConsentSource.API,
) -> Contact:  # fmt: skip
    """A contact added by the organisation (MANAGE_PRODUCT): `subscribed` to the lists
    given unless their status says otherwise. Raises InvalidInput (every problem at
    once) or Conflict `already_exists`."""
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    address = problems.check(clean_email, email)
    values = clean_fields(_fields_of(newsletter), fields, problems)
    cleaned = clean_subscriptions(
        newsletter, subscriptions, problems, default_status=SubscriptionStatus.SUBSCRIBED
    )
    problems.raise_if_any()
    now = timezone.now()
    contact = Contact(
        organisation_id=newsletter.organisation_id, newsletter=newsletter, email=address,
        email_key=email_key(address), fields=merge_fields({}, values), created_at=now,
        updated_at=now,
    )  # fmt: skip
    _save_unique(contact)
    ContactEvent.objects.create(
        organisation_id=contact.organisation_id, contact=contact, kind=ContactEventKind.CREATED,
        detail={"source": source}, at=now,
    )  # fmt: skip
    apply_subscriptions(contact, cleaned, source=source, now=now)
    record_by(access, "newsletter.contact.created", newsletter, {"contact": contact.pk})
    return contact


@transaction.atomic
def contact_update(
    *, access: Access, contact: Contact, source: str = ConsentSource.API, **changes
) -> Contact:
    """Changes `email`, `fields` (the keys given; an empty value removes one) and
    `subscriptions` (the lists given; others stay as they are) (MANAGE_PRODUCT); `source`
    is where a new consent came from (the API, the panel)."""
    newsletter = contact.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    if "email" in changes:
        address = problems.check(clean_email, changes["email"])
    values = clean_fields(_fields_of(newsletter), changes.get("fields"), problems)
    cleaned = clean_subscriptions(
        newsletter, changes.get("subscriptions"), problems,
        default_status=SubscriptionStatus.SUBSCRIBED,
    )  # fmt: skip
    refuse_rejoining(contact, cleaned, problems)
    problems.raise_if_any()
    now = timezone.now()
    before = (contact.email, dict(contact.fields))
    if "email" in changes:
        contact.email, contact.email_key = address, email_key(address)
    contact.fields = merge_fields(contact.fields, values)
    contact.updated_at = now
    _save_unique(contact)
    if before != (contact.email, contact.fields):
        ContactEvent.objects.create(
            organisation_id=contact.organisation_id, contact=contact,
            kind=ContactEventKind.CHANGED, detail={"fields": sorted(values)}, at=now,
        )  # fmt: skip
    apply_subscriptions(contact, cleaned, source=source, now=now)
    record_by(access, "newsletter.contact.changed", newsletter, {"contact": contact.pk})
    return contact


@transaction.atomic
def contact_delete(*, access: Access, contact: Contact) -> None:
    """Forgets the contact, their history and consents with them (MANAGE_PRODUCT)."""
    access.require(Capability.MANAGE_PRODUCT, contact.newsletter)
    record_by(access, "newsletter.contact.deleted", contact.newsletter, {"contact": contact.pk})
    contact.delete()
