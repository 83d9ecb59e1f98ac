"""Services: members."""

from django.db import transaction
from django.utils.translation import gettext as _

from .. import activity
from ..access import Access, Capability
from ..errors import InvalidInput, PermissionDenied
from ..models import (
    Grant,
    Membership,
    Role,
    Team,
    TeamMember,
)
from .common import lock, same_organisation


@transaction.atomic
def membership_change_role(*, access: Access, membership: Membership, role: str) -> Membership:
    """Make a member an administrator or a user. The legal representative's role only
    changes by transfer."""
    access.require(Capability.MANAGE_MEMBERS)
    same_organisation(access, membership)
    lock(membership)
    if role not in (Role.ADMIN, Role.USER):
        raise InvalidInput(fields={"role": [_("Choose administrator or user.")]})
    if membership.is_legal_representative:
        raise InvalidInput(
            _("The legal representative's role changes only by transferring it."),
            code="legal_representative_role",
            fields={"role": [_("Transfer the role instead.")]},
        )
    old_role, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    activity.record(
        organisation=access.organisation,
        actor=access.user,
        code="panel.member.role_changed",
        target=membership.user,
        data={"from": old_role, "to": role},
    )
    return membership


def ensure_removable(membership: Membership) -> None:
    """The legal representative cannot be removed (PermissionDenied); the role must be
    transferred first. The UI asks this before offering the confirmation."""
    if membership.is_legal_representative:
        raise PermissionDenied(
            _("The legal representative cannot be removed. Transfer the role first."),
            code="legal_representative_protected",
        )


@transaction.atomic
def membership_remove(*, access: Access, membership: Membership) -> None:
    """Remove a member, with their team places and direct grants in this organisation."""
    access.require(Capability.MANAGE_MEMBERS)
    same_organisation(access, membership)
    lock(membership)
    ensure_removable(membership)
    organisation, user = access.organisation, membership.user
    TeamMember.objects.filter(organisation=organisation, user=user).delete()
    Grant.objects.filter(organisation=organisation, user=user).delete()
    Team.objects.filter(organisation=organisation, leader=user).update(leader=None)
    membership.delete()
    activity.record(
        organisation=organisation, actor=access.user, code="panel.member.removed", target=user
    )
