"""A newsletter's audience settings: its custom fields, its lists and their groups. Every
write needs MANAGE_PRODUCT on the newsletter; every problem of one input is reported at
once (InvalidInput naming each field).

The rules, written here once:
- A field's `key` is how its values are kept on each contact and the variable that
  writes them in a campaign (`{{ first_name }}`): 1 to 40 lower-case letters, digits and
  underscores starting with a letter, none of `RESERVED_KEYS` (the variables every
  campaign has already, and the template language's own words), unique in the newsletter
  (409 `already_exists`).
- A `choice` field has its `choices` (distinct, ignoring case, since a value is matched
  to its choice ignoring case); no other type has any.
- Once contacts have a value for a field, its key and its type stay as they are (the
  values were written and checked under them: change the label instead, or add a new
  field), and a choice they hold cannot be taken away. Deleting a field deletes its
  values from every contact.
- A list's name is unique in the newsletter and a group's in its list, ignoring case
  (409 `already_exists`). A list's form asks for fields of its own newsletter only.

When a name or key is taken and the input has other problems too, the taken name is one
of the problems of the 400 answer; alone, it is a 409 `already_exists`.
"""

import re
import unicodedata

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Func, JSONField, TextField, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, Problems
from panel.services.common import clean_name

from ..models import Contact, ContactField, ContactGroup, ContactList, FieldType, Newsletter

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: Keys a field cannot take: the variables every campaign writes for each contact, and
#: the words of the template language.
RESERVED_KEYS = frozenset(
    {
        # the contact and the links of every email
        "email", "unsubscribe_url", "preferences_url", "view_online_url", "web_version_url",
        "confirm_url", "confirmation_url", "subscribe_url",
        # the campaign
        "title", "subject", "preview_text", "sender_name", "sender_email", "reply_to",
        "campaign", "newsletter", "list", "list_name", "organisation", "organisation_name",
        "language", "date", "today", "now", "year",
        # what a contact carries besides its field values
        "contact", "id", "fields", "status", "groups", "subscriptions", "created_at",
        "updated_at",
        # the template language
        "true", "false", "nil", "null", "none", "empty", "blank", "and", "or", "not", "in",
        "contains", "forloop", "tablerowloop",
    }
)  # fmt: skip
LABEL_MAX = 120
NAME_MAX = 120
DESCRIPTION_MAX = 1000
MAX_CHOICES = 100
CHOICE_MAX = 200
POSITION_MAX = 32767  # the column is a small integer
FIELD_SETTINGS = ("key", "label", "type", "choices", "position")
LIST_SETTINGS = {"name", "description", "form_fields"}


def _taken(message: str, field: str, problems: Problems):
    """The 409 of a taken name, or one more problem of the 400 when there are others."""
    if problems.fields:
        problems.add(field, message)
        problems.raise_if_any()
    raise Conflict(message, code="already_exists", fields={field: [message]})


def _save_unique(obj, message: str, field: str) -> None:
    """Save; a concurrent request that took the name first gets the same 409."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise Conflict(message, code="already_exists", fields={field: [message]}) from None


# -- custom fields ----------------------------------------------------------------------------


def clean_key(value) -> str:
    if not isinstance(value, str) or not KEY_PATTERN.match(value.strip()):
        raise InvalidInput(
            fields={
                "key": [
                    _(
                        "Use 1 to 40 lower-case letters, digits and underscores, starting "
                        "with a letter, such as first_name."
                    )
                ]
            }
        )
    key = value.strip()
    if key in RESERVED_KEYS:
        raise InvalidInput(
            fields={
                "key": [
                    _("%(key)s is a variable every campaign has already: choose another key.")
                    % {"key": key}
                ]
            }
        )
    return key


def _clean_choices(field_type, value, problems: Problems) -> list[str]:
    if field_type != FieldType.CHOICE:
        if value:
            problems.add("choices", _("Only a choice field has choices."))
        return []
    if not isinstance(value, list) or not value:
        problems.add("choices", _("Give at least one choice."))
        return []
    if not all(isinstance(choice, str) for choice in value):
        problems.add("choices", _("Give each choice as text."))
        return []
    choices = [unicodedata.normalize("NFC", choice).strip() for choice in value]
    if any(not choice or len(choice) > CHOICE_MAX for choice in choices):
        problems.add("choices", _("Each choice has 1 to %(n)d characters.") % {"n": CHOICE_MAX})
    elif any(unicodedata.category(char) == "Cc" for choice in choices for char in choice):
        problems.add("choices", _("Use a single line without control characters."))
    elif len({choice.casefold() for choice in choices}) != len(choices):
        problems.add("choices", _("Each choice appears once."))
    elif len(choices) > MAX_CHOICES:
        problems.add("choices", _("At most %(n)d choices.") % {"n": MAX_CHOICES})
    return choices


def _clean_field(data: dict, problems: Problems) -> dict:
    """A field's settings (all of them), every problem noted in `problems`."""
    cleaned = {
        "key": problems.check(clean_key, data.get("key")),
        "label": problems.check(clean_name, data.get("label"), field="label", max_length=LABEL_MAX),
    }
    field_type = data.get("type")
    if field_type not in FieldType.values:
        problems.add("type", _("Choose one of: %(c)s.") % {"c": ", ".join(FieldType.values)})
    cleaned["type"] = field_type
    cleaned["choices"] = _clean_choices(field_type, data.get("choices"), problems)
    position = data.get("position")
    if position is None:
        position = 0
    whole = isinstance(position, int) and not isinstance(position, bool)
    if not whole or not 0 <= position <= POSITION_MAX:
        problems.add("position", _("Enter a whole number from 0 to %(n)d.") % {"n": POSITION_MAX})
    cleaned["position"] = position
    return cleaned


def _key_taken(newsletter: Newsletter, key, instead_of=None) -> bool:
    clash = ContactField.objects.filter(newsletter=newsletter, key=key)
    if instead_of is not None:
        clash = clash.exclude(pk=instead_of.pk)
    return key is not None and clash.exists()


def _key_message(key) -> str:
    return _("A field with the key %(key)s exists already.") % {"key": key}


def _holders(field: ContactField):
    """The newsletter's contacts holding a value for the field."""
    return Contact.objects.filter(newsletter_id=field.newsletter_id, fields__has_key=field.key)


@transaction.atomic
def field_create(
    *, access: Access, newsletter: Newsletter, key, label, type, choices=None, position=0
) -> ContactField:
    """A new custom field of the newsletter's contacts: `key`, `label`, `type` (a
    FieldType), `choices` (a choice field's, required for it), `position` (0 to 32767;
    fields show by position, then label). Raises InvalidInput or Conflict
    `already_exists` (the key)."""
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    cleaned = _clean_field(
        {"key": key, "label": label, "type": type, "choices": choices, "position": position},
        problems,
    )
    if _key_taken(newsletter, cleaned["key"]):
        _taken(_key_message(cleaned["key"]), "key", problems)
    problems.raise_if_any()
    field = ContactField(organisation=newsletter.organisation, newsletter=newsletter, **cleaned)
    _save_unique(field, _key_message(field.key), "key")
    record_by(access, "newsletter.field.created", newsletter, {"key": field.key})
    return field


@transaction.atomic
def field_update(*, access: Access, field: ContactField, **changes) -> ContactField:
    """Changes the settings given (those of `field_create`). Once contacts hold a value
    for the field, its key and type cannot change and a choice they hold cannot be taken
    away; changing the type away from `choice` drops the choices unless they are sent."""
    newsletter = field.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    changes = {name: value for name, value in changes.items() if name in FIELD_SETTINGS}
    merged = {name: getattr(field, name) for name in FIELD_SETTINGS} | changes
    if "choices" not in changes and merged["type"] != FieldType.CHOICE:
        merged["choices"] = []
    problems = Problems()
    cleaned = _clean_field(merged, problems)
    moved = [
        name
        for name in ("key", "type")
        if name not in problems.fields and cleaned[name] != getattr(field, name)
    ]
    if moved and _holders(field).exists():
        for name in moved:
            problems.add(
                name,
                _(
                    "Contacts have values for this field: its key and type stay as they "
                    "are. Change its label, or add a new field."
                ),
            )
    elif cleaned["type"] == FieldType.CHOICE and field.type == FieldType.CHOICE:
        gone = set(field.choices) - set(cleaned["choices"] or [])
        held = sorted(_held_values(field, gone))
        if held:
            problems.add(
                "choices",
                _("Contacts have chosen %(values)s: keep these choices.")
                % {"values": ", ".join(held)},
            )
    if cleaned["key"] != field.key and _key_taken(newsletter, cleaned["key"], instead_of=field):
        _taken(_key_message(cleaned["key"]), "key", problems)
    problems.raise_if_any()
    changed = sorted(name for name in FIELD_SETTINGS if cleaned[name] != getattr(field, name))
    for name in changed:
        setattr(field, name, cleaned[name])
    if changed:
        _save_unique(field, _key_message(field.key), "key")
        record_by(
            access, "newsletter.field.changed", newsletter, {"key": field.key, "fields": changed}
        )
    return field


def _held_values(field: ContactField, values) -> set[str]:
    """Which of `values` contacts hold for the field."""
    if not values:
        return set()
    # KeyTransform rather than `fields__<key>`: a key may be spelt like a lookup (`exact`).
    held = (
        _holders(field)
        .annotate(value=KeyTransform(field.key, "fields"))
        .filter(value__in=sorted(values))
        .order_by()
        .values_list("value", flat=True)
        .distinct()
    )
    return {value for value in held if isinstance(value, str)}


@transaction.atomic
def field_delete(*, access: Access, field: ContactField) -> None:
    """Deletes the field and its value on every contact (MANAGE_PRODUCT); the lists'
    forms stop asking it."""
    newsletter = field.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    _holders(field).update(fields=_without_key(field.key))
    record_by(access, "newsletter.field.deleted", newsletter, {"key": field.key})
    field.delete()


def _without_key(key: str):
    """`fields` without `key`, in one UPDATE on either database (the key is checked to
    be a plain identifier, so it is safe in a JSON path)."""
    if connection.vendor == "postgresql":
        return Func(
            F("fields"),
            Cast(Value(key), TextField()),
            arg_joiner=" - ",
            template="(%(expressions)s)",
            output_field=JSONField(),
        )
    return Func(F("fields"), Value(f'$."{key}"'), function="json_remove", output_field=JSONField())


# -- lists ------------------------------------------------------------------------------------


def _clean_description(value, problems: Problems) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add("description", _("Enter text."))
        return ""
    text = value.strip()
    if len(text) > DESCRIPTION_MAX:
        problems.add("description", _("At most %(n)d characters.") % {"n": DESCRIPTION_MAX})
    return text


def _clean_form_fields(newsletter: Newsletter, value, problems: Problems) -> list[ContactField]:
    """The fields a list's form asks, by id: fields of the same newsletter, each once."""
    if value is None:
        return []
    ids = value if isinstance(value, list) else None
    if ids is None or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        problems.add("form_fields", _("Give the ids of this newsletter's fields."))
        return []
    ids = list(dict.fromkeys(ids))
    found = {
        field.pk: field
        for field in ContactField.objects.filter(
            newsletter=newsletter, pk__in=[i for i in ids if 0 < i < 2**63]
        )
    }
    unknown = [i for i in ids if i not in found]
    if unknown:
        problems.add(
            "form_fields",
            _("Not fields of this newsletter: %(ids)s.")
            % {"ids": ", ".join(str(i) for i in unknown)},
        )
        return []
    return [found[i] for i in ids]


def _list_message(name) -> str:
    return _("A list named %(name)s exists already.") % {"name": name}


def _list_taken(newsletter: Newsletter, name, instead_of=None) -> bool:
    clash = newsletter.lists.filter(name__iexact=name)
    if instead_of is not None:
        clash = clash.exclude(pk=instead_of.pk)
    return name is not None and clash.exists()


@transaction.atomic
def list_create(
    *, access: Access, newsletter: Newsletter, name, description="", form_fields=None
) -> ContactList:
    """A new list of the newsletter: `name` (unique in the newsletter, ignoring case),
    `description`, `form_fields` (ids of the newsletter's fields its public form asks
    besides the address). Raises InvalidInput or Conflict `already_exists`."""
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    name = problems.check(clean_name, name, max_length=NAME_MAX)
    description = _clean_description(description, problems)
    fields = _clean_form_fields(newsletter, form_fields, problems)
    if _list_taken(newsletter, name):
        _taken(_list_message(name), "name", problems)
    problems.raise_if_any()
    contact_list = ContactList(
        organisation=newsletter.organisation,
        newsletter=newsletter,
        name=name,
        description=description,
    )
    _save_unique(contact_list, _list_message(name), "name")
    contact_list.form_fields.set(fields)
    record_by(access, "newsletter.list.created", newsletter, {"list": contact_list.name})
    return contact_list


@transaction.atomic
def list_update(*, access: Access, contact_list: ContactList, **changes) -> ContactList:
    """Changes the `name`, `description` or `form_fields` given (as in `list_create`)."""
    newsletter = contact_list.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    if "name" in changes:
        name = problems.check(clean_name, changes["name"], max_length=NAME_MAX)
    if "description" in changes:
        description = _clean_description(changes["description"], problems)
    if "form_fields" in changes:
        fields = _clean_form_fields(newsletter, changes["form_fields"], problems)
    if "name" in changes and _list_taken(newsletter, name, instead_of=contact_list):
        _taken(_list_message(name), "name", problems)
    problems.raise_if_any()
    if "name" in changes:
        contact_list.name = name
    if "description" in changes:
        contact_list.description = description
    changed = sorted(set(changes) & LIST_SETTINGS)
    if not changed:
        return contact_list
    _save_unique(contact_list, _list_message(contact_list.name), "name")
    if "form_fields" in changes:
        contact_list.form_fields.set(fields)
    data = {"list": contact_list.name, "fields": changed}
    record_by(access, "newsletter.list.changed", newsletter, data)
    return contact_list


@transaction.atomic
def list_delete(*, access: Access, contact_list: ContactList) -> None:
    """Deletes the list with its groups and every contact's standing on it
    (MANAGE_PRODUCT). The contacts stay in the newsletter, with their consents."""
    newsletter = contact_list.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    record_by(access, "newsletter.list.deleted", newsletter, {"list": contact_list.name})
    contact_list.delete()


# -- groups -----------------------------------------------------------------------------------


def _group_message(name) -> str:
    return _("A group named %(name)s exists already in this list.") % {"name": name}


def _clean_group_name(contact_list: ContactList, name, instead_of=None) -> str:
    problems = Problems()
    name = problems.check(clean_name, name, max_length=NAME_MAX)
    problems.raise_if_any()
    clash = contact_list.groups.filter(name__iexact=name)
    if instead_of is not None:
        clash = clash.exclude(pk=instead_of.pk)
    if clash.exists():
        _taken(_group_message(name), "name", problems)
    return name


@transaction.atomic
def group_create(*, access: Access, contact_list: ContactList, name) -> ContactGroup:
    """A new group in the list, such as "VIP" (MANAGE_PRODUCT): its `name` is unique in
    the list, ignoring case (Conflict `already_exists`)."""
    newsletter = contact_list.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    group = ContactGroup(
        organisation=contact_list.organisation,
        list=contact_list,
        name=_clean_group_name(contact_list, name),
    )
    _save_unique(group, _group_message(group.name), "name")
    record_by(
        access,
        "newsletter.group.created",
        newsletter,
        {"list": contact_list.name, "group": group.name},
    )
    return group


@transaction.atomic
def group_update(*, access: Access, group: ContactGroup, **changes) -> ContactGroup:
    """Renames the group (`name`, as in `group_create`)."""
    contact_list = group.list
    access.require(Capability.MANAGE_PRODUCT, contact_list.newsletter)
    if "name" in changes:
        group.name = _clean_group_name(contact_list, changes["name"], instead_of=group)
        _save_unique(group, _group_message(group.name), "name")
        record_by(
            access,
            "newsletter.group.changed",
            contact_list.newsletter,
            {"list": contact_list.name, "group": group.name},
        )
    return group


@transaction.atomic
def group_delete(*, access: Access, group: ContactGroup) -> None:
    """Deletes the group (MANAGE_PRODUCT); its contacts stay on the list."""
    contact_list = group.list
    access.require(Capability.MANAGE_PRODUCT, contact_list.newsletter)
    record_by(
        access,
        "newsletter.group.deleted",
        contact_list.newsletter,
        {"list": contact_list.name, "group": group.name},
    )
    group.delete()
