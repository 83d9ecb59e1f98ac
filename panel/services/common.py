"""Validation helpers shared by the services."""

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from ..access import Access
from ..errors import InvalidInput, NotFound


def full_clean(instance, exclude=None) -> None:
    """Run model validation and turn Django's errors into our field envelope."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput(fields=exc.message_dict) from None


def _is_invisible(char: str) -> bool:
    """Characters that change how a name looks without being seen: bidi overrides and
    isolates (U+202A-202E, U+2066-2069), zero-width characters and the BOM, tag
    characters (U+E0000-E007F): with them a name can pose as another."""
    return unicodedata.category(char) == "Cf" or 0xE0000 <= ord(char) <= 0xE007F


def clean_name(value: str, *, field: str = "name", max_length: int = 120) -> str:
    """A one-line name: text (not a number), NFC-normalised and trimmed, not empty, no
    control characters (they would break mail headers and CSV files) nor invisible
    formatting characters, at most `max_length` characters."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput(fields={field: [_("Enter text.")]})
    value = unicodedata.normalize("NFC", value or "").strip()
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise InvalidInput(fields={field: [_("Use a single line without control characters.")]})
    if any(_is_invisible(char) for char in value):
        raise InvalidInput(
            fields={
                field: [
                    _(
                        "Remove the invisible characters (direction marks, zero-width "
                        "characters) from this name."
                    )
                ]
            }
        )
    if not value:
        raise InvalidInput(fields={field: [_("This field is required.")]})
    if len(value) > max_length:
        raise InvalidInput(fields={field: [_("At most %(n)d characters.") % {"n": max_length}]})
    return value


def same_organisation(access: Access, obj) -> None:
    if obj.organisation_id != access.organisation.pk:
        raise NotFound()


def normalise_email(email: str, field: str = "email") -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(fields={field: [_("Enter a valid email address.")]}) from None
    return email


def lock(instance):
    """Re-read `instance` under a row lock for the rest of the transaction, in place, so a
    rule checked next sees what concurrent requests committed (a transfer, an accept)."""
    fresh = type(instance).objects.select_for_update(of=("self",)).filter(pk=instance.pk).first()
    if fresh is None:
        raise NotFound()
    for field in instance._meta.concrete_fields:
        setattr(instance, field.attname, getattr(fresh, field.attname))
    return instance
