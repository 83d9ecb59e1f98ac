"""Validation helpers shared by the services."""

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


def clean_name(value: str, *, field: str = "name", max_length: int = 120) -> str:
    value = (value or "").strip()
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
