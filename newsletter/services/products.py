"""Newsletter products: creating one is ordering a product (an administrator act),
renaming it needs MANAGE_PRODUCT on it, deleting it is again an administrator's."""

from django.db import transaction
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import InvalidInput
from panel.services import product_grants_delete
from panel.services.common import clean_name

from ..models import Newsletter

NAME_MAX = 120


@transaction.atomic
def newsletter_create(*, access: Access, name: str) -> Newsletter:
    """A new newsletter product; it changes what the organisation pays (administrators,
    403 `billing_needs_administrator` for anyone else). Raises InvalidInput on `name`."""
    access.require_billing()
    newsletter = Newsletter.objects.create(
        organisation=access.organisation, name=clean_name(name, max_length=NAME_MAX)
    )
    record_by(access, "newsletter.newsletter.created", newsletter, {"name": newsletter.name})
    return newsletter


@transaction.atomic
def newsletter_update(*, access: Access, newsletter: Newsletter, **changes) -> Newsletter:
    """Renames the newsletter (`name`; MANAGE_PRODUCT). Raises InvalidInput on `name`."""
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    if "name" in changes:
        newsletter.name = clean_name(changes["name"], max_length=NAME_MAX)
        newsletter.save(update_fields=["name"])
        record_by(access, "newsletter.newsletter.changed", newsletter, {"name": newsletter.name})
    return newsletter


@transaction.atomic
def newsletter_delete(*, access: Access, newsletter: Newsletter, confirm_name: str) -> None:
    """Deletes the newsletter with its contacts, lists, groups, fields and their history,
    and the grants on it (administrators). `confirm_name` must be its name, typed again
    (InvalidInput on `confirm_name` otherwise)."""
    access.require_billing(newsletter)
    if (confirm_name or "").strip() != newsletter.name:
        raise InvalidInput(
            fields={"confirm_name": [_("Type the name of the newsletter to confirm.")]}
        )
    product_grants_delete(newsletter)
    record_by(access, "newsletter.newsletter.deleted", None, {"name": newsletter.name})
    newsletter.delete()
