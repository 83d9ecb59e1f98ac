"""Services: organisations."""

from django.db import transaction
from django.utils.translation import gettext as _

from .. import activity
from ..access import Access, Capability
from ..errors import InvalidInput
from ..models import (
    Membership,
    Organisation,
    Role,
    User,
)
from .common import clean_name, lock, same_organisation


@transaction.atomic
def organisation_create(*, actor: User, name: str) -> Organisation:
    """Create an organisation; its creator becomes its legal representative."""
    organisation = Organisation.objects.create(name=clean_name(name))
    Membership.objects.create(organisation=organisation, user=actor, role=Role.LEGAL_REPRESENTATIVE)
    activity.record(
        organisation=organisation,
        actor=actor,
        code="panel.organisation.created",
        target=organisation,
    )
    return organisation


@transaction.atomic
def organisation_rename(*, access: Access, name: str) -> Organisation:
    """Rename the organisation (administrators)."""
    access.require(Capability.CHANGE_ORGANISATION)
    organisation = access.organisation
    old_name, organisation.name = organisation.name, clean_name(name)
    organisation.save(update_fields=["name"])
    activity.record(
        organisation=organisation,
        actor=access.user,
        code="panel.organisation.renamed",
        target=organisation,
        data={"from": old_name, "to": organisation.name},
    )
    return organisation


@transaction.atomic
def organisation_delete(*, access: Access, confirm_name: str | None) -> None:
    """Delete the organisation and everything in it (legal representative only).

    The caller must repeat the organisation's exact name, as a confirmation.
    """
    access.require(Capability.DELETE_ORGANISATION)
    if (confirm_name or "").strip() != access.organisation.name:
        raise InvalidInput(
            _("Type the organisation's name exactly to confirm the deletion."),
            code="confirmation_mismatch",
            fields={"confirm_name": [_("This does not match the organisation's name.")]},
        )
    access.organisation.delete()


@transaction.atomic
def legal_representative_transfer(*, access: Access, membership: Membership) -> Membership:
    """Hand the legal representative role to another member; the old one becomes admin."""
    access.require(Capability.TRANSFER_LEGAL_REPRESENTATIVE)
    same_organisation(access, membership)
    lock(membership)
    if membership.user_id == access.user.pk:
        raise InvalidInput(
            _("You are already the legal representative."), code="already_legal_representative"
        )
    current = Membership.objects.select_for_update().get(
        organisation=access.organisation, role=Role.LEGAL_REPRESENTATIVE
    )
    current.role = Role.ADMIN
    current.save(update_fields=["role"])
    membership.role = Role.LEGAL_REPRESENTATIVE
    membership.save(update_fields=["role"])
    activity.record(
        organisation=access.organisation,
        actor=access.user,
        code="panel.organisation.legal_representative_transferred",
        target=membership.user,
    )
    return membership
