"""The forms a tariff asks for each ticket (knowledge base: "Ticketing: créer un
formulaire par tarif"), and the three rules that make them ours:

- the order of the fields: numbered positions first (1, 2, 3 ...), then the fields
  without a position, and position 0 at the very end; ties keep creation order. The
  shop, the tickets, the API and the exports all call `ordered_fields`;
- "required" on checkboxes means every box is ticked (an "I accept the terms" box);
  on every other type it means an answer is given;
- the answer of a "show on ticket" field replaces the buyer's name on that ticket;
- the answers of the "show at check-in" fields (a meal, a wheelchair) are shown to door
  staff when the ticket is scanned, under the name on it (`checkin_answers`).
"""

import datetime

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import InvalidInput, Problems
from panel.services.common import clean_name

from ..models import CHOICE_TYPES, FieldType, FormField, TicketForm, TicketOffice

MAX_OPTIONS = 50
OPTION_MAX_LENGTH = 200
#: The region a phone number without its +country code is read in.
DEFAULT_PHONE_REGION = "CH"


# -- the order rule -------------------------------------------------------------------------


def field_order_key(field) -> tuple:
    """Sort key of the display order: 1, 2, 3 ..., then no position, then 0; ties by
    creation (id)."""
    if field.position is None:
        group, position = 1, 0
    elif field.position == 0:
        group, position = 2, 0
    else:
        group, position = 0, field.position
    return (group, position, field.pk or 0)


def ordered_fields(form: TicketForm) -> list[FormField]:
    """The fields of `form` in the order buyers see them."""
    return sorted(form.fields.all(), key=field_order_key)


# -- forms and fields -----------------------------------------------------------------------


@transaction.atomic
def form_create(*, access: Access, office: TicketOffice, name: str) -> TicketForm:
    """A new form of the office (MANAGE_PRODUCT on it)."""
    access.require(Capability.MANAGE_PRODUCT, office)
    form = TicketForm.objects.create(
        organisation=access.organisation, office=office, name=clean_name(name)
    )
    record_by(access, "ticketing.form.created", office, {"form": form.name})
    return form


@transaction.atomic
def form_update(*, access: Access, form: TicketForm, name: str) -> TicketForm:
    """Renames the form (MANAGE_PRODUCT on its office)."""
    access.require(Capability.MANAGE_PRODUCT, form.office)
    form.name = clean_name(name)
    form.save(update_fields=["name"])
    record_by(access, "ticketing.form.changed", form.office, {"form": form.name})
    return form


@transaction.atomic
def form_delete(*, access: Access, form: TicketForm) -> None:
    access.require(Capability.MANAGE_PRODUCT, form.office)
    record_by(access, "ticketing.form.deleted", form.office, {"form": form.name})
    form.delete()


def _clean_field(data: dict) -> dict:
    """A field's settings, every problem at once."""
    problems = Problems()
    cleaned = {}
    cleaned["label"] = problems.check(clean_name, data.get("label"), field="label", max_length=200)
    field_type = data.get("type")
    if field_type not in FieldType.values:
        problems.add("type", _("Choose one of %(types)s.") % {"types": ", ".join(FieldType.values)})
    cleaned["type"] = field_type
    options = data.get("options") or []
    if field_type in CHOICE_TYPES:
        if not isinstance(options, list) or not options:
            problems.add("options", _("Give at least one option."))
            options = []
        else:
            options = [str(option).strip() for option in options]
            if any(not option or len(option) > OPTION_MAX_LENGTH for option in options):
                problems.add(
                    "options",
                    _("Each option has 1 to %(n)d characters.") % {"n": OPTION_MAX_LENGTH},
                )
            elif len(set(options)) != len(options):
                problems.add("options", _("Each option appears once."))
            elif len(options) > MAX_OPTIONS:
                problems.add("options", _("At most %(n)d options.") % {"n": MAX_OPTIONS})
    elif options:
        problems.add("options", _("Only selection, radio buttons and checkboxes have options."))
        options = []
    cleaned["options"] = options
    url = (data.get("url") or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            problems.add("url", _("Enter a web address starting with https://."))
    cleaned["url"] = url
    position = data.get("position")
    if position in ("", None):
        position = None
    elif isinstance(position, bool) or not isinstance(position, int) or position < 0:
        problems.add("position", _("Enter a whole number from 0, or nothing."))
        position = None
    cleaned["position"] = position
    cleaned["help_text"] = (data.get("help_text") or "").strip()[:500]
    cleaned["required"] = bool(data.get("required"))
    cleaned["show_on_ticket"] = bool(data.get("show_on_ticket"))
    cleaned["buyer_can_change"] = bool(data.get("buyer_can_change", True))
    cleaned["show_at_checkin"] = bool(data.get("show_at_checkin"))
    problems.raise_if_any()
    return cleaned


@transaction.atomic
def field_create(*, access: Access, form: TicketForm, **data) -> FormField:
    """A new question of the form: `label`, `type`, `options` (selection, radio buttons and
    checkboxes), `required`, `show_on_ticket`, `url`, `position`, `help_text`,
    `buyer_can_change` (whether the buyer may change the answer later; yes by default),
    `show_at_checkin` (whether door staff see the answer when they scan the ticket)."""
    access.require(Capability.MANAGE_PRODUCT, form.office)
    field = FormField.objects.create(
        organisation=access.organisation, form=form, **_clean_field(data)
    )
    record_by(access, "ticketing.field.created", form.office, {"field": field.label})
    return field


@transaction.atomic
def field_update(*, access: Access, field: FormField, **changes) -> FormField:
    access.require(Capability.MANAGE_PRODUCT, field.form.office)
    current = {
        name: getattr(field, name)
        for name in ("label", "type", "options", "url", "position", "help_text", "required",
                     "show_on_ticket", "buyer_can_change", "show_at_checkin")
    }  # fmt: skip
    for name, value in _clean_field({**current, **changes}).items():
        setattr(field, name, value)
    field.save()
    return field


@transaction.atomic
def field_delete(*, access: Access, field: FormField) -> None:
    access.require(Capability.MANAGE_PRODUCT, field.form.office)
    field.delete()


# -- answers --------------------------------------------------------------------------------


def _is_empty(value) -> bool:
    return value is None or value == "" or value == []


def _check_answer(field: FormField, value):
    """The cleaned answer to one field, or InvalidInput naming why."""
    if field.type == FieldType.CHECKBOXES:
        ticked = value if isinstance(value, list) else ([] if _is_empty(value) else [value])
        ticked = [str(option) for option in ticked]
        if any(option not in field.options for option in ticked):
            raise InvalidInput(fields={"": [_("Tick only the boxes offered.")]})
        # Required checkboxes: every box, as for "I have read and accept the terms".
        if field.required and set(ticked) != set(field.options):
            raise InvalidInput(fields={"": [_("Tick every box to continue.")]})
        return [option for option in field.options if option in ticked]
    if isinstance(value, list | dict):
        raise InvalidInput(fields={"": [_("Give one answer.")]})
    text = "" if value is None else str(value).strip()
    if not text:
        if field.required:
            raise InvalidInput(fields={"": [_("This question needs an answer.")]})
        return ""
    if field.type in (FieldType.SELECT, FieldType.RADIO):
        if text not in field.options:
            raise InvalidInput(fields={"": [_("Choose one of the options offered.")]})
    elif field.type == FieldType.EMAIL:
        try:
            validate_email(text)
        except ValidationError:
            raise InvalidInput(fields={"": [_("Enter an email address.")]}) from None
        text = text.lower()
    elif field.type == FieldType.PHONE:
        try:
            number = phonenumbers.parse(text, DEFAULT_PHONE_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise InvalidInput(fields={"": [_("Enter a phone number, such as +41 21 345 67 89.")]})
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    elif field.type == FieldType.DATE:
        try:
            text = datetime.date.fromisoformat(text).isoformat()
        except ValueError:
            raise InvalidInput(fields={"": [_("Enter a date as YYYY-MM-DD.")]}) from None
    elif len(text) > 1000:
        raise InvalidInput(fields={"": [_("At most 1000 characters.")]})
    return text


def answers_check(fields, answers: dict, *, prefix: str = "") -> dict[int, object]:
    """The answers to `fields` (by field id, as sent: str or int keys), cleaned, every
    problem at once under `<prefix><field id>`. Unknown field ids are refused."""
    answers = {str(key): value for key, value in (answers or {}).items()}
    problems = Problems()
    known = {str(field.pk) for field in fields}
    for key in sorted(set(answers) - known):
        problems.add(f"{prefix}{key}", _("This question is not asked here."))
    cleaned = {}
    for field in fields:
        try:
            cleaned[field.pk] = _check_answer(field, answers.get(str(field.pk)))
        except InvalidInput as error:
            for message in error.fields[""]:
                problems.add(f"{prefix}{field.pk}", message)
    problems.raise_if_any()
    return cleaned


def name_on_ticket(fields, answers: dict, *, buyer_name: str) -> str:
    """The name printed on a ticket: the answers of its "show on ticket" fields, in the
    display order, or the buyer's name when there are none."""
    shown = []
    for field in sorted(fields, key=field_order_key):
        if not field.show_on_ticket:
            continue
        answer = answers.get(field.pk, answers.get(str(field.pk)))
        if isinstance(answer, list):
            answer = ", ".join(answer)
        if answer:
            shown.append(str(answer))
    return " ".join(shown) or buyer_name


def checkin_answers(fields, answers: dict) -> list[dict]:
    """What the door shows under the name on a ticket: `{"label", "value"}` for each
    "show at check-in" field of `fields` answered in `answers` (by field id), in the
    display order; ticked boxes joined by commas. Unanswered fields are left out."""
    shown = []
    for field in sorted(fields, key=field_order_key):
        if not field.show_at_checkin:
            continue
        answer = (answers or {}).get(str(field.pk), (answers or {}).get(field.pk))
        if isinstance(answer, list):
            answer = ", ".join(str(item) for item in answer)
        if not _is_empty(answer):
            shown.append({"label": field.label, "value": str(answer)})
    return shown
