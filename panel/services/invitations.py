"""Services: invitations."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import activity
from ..access import Access, Capability
from ..errors import Conflict, InvalidInput, NotFound
from ..models import (
    Invitation,
    InvitationRole,
    InvitationStatus,
    Membership,
    Team,
    TeamMember,
    User,
)
from ..signals import invitation_accepted
from .common import lock, normalise_email, same_organisation

logger = logging.getLogger(__name__)


def _send_invitation_email(invitation: Invitation) -> None:
    """Send the invitation; a mail failure is logged, never turned into a failed request
    (the invitation stays pending and can be resent)."""
    context = {
        "invitation": invitation,
        "url": f"{settings.PANEL_BASE_URL}/invitations/",
        "signup_url": f"{settings.PANEL_BASE_URL}/accounts/signup/",
    }
    try:
        send_mail(
            subject=_("You are invited to join %(org)s on Panel")
            % {"org": invitation.organisation},
            message=render_to_string("panel/email/invitation.txt", context),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except Exception:  # SMTP down, bad header...: the request already succeeded
        logger.exception("Could not send invitation %s", invitation.pk)


@transaction.atomic
def invitation_create(
    *, access: Access, email: str, role: str, team: Team | None = None
) -> Invitation:
    """Invite an email address, with or without an account, as administrator or user.

    A `guest` invitation needs a team and brings the person into that team only.
    Raises Conflict if the person is already a member or already invited.
    """
    access.require(_invitation_capability(role))
    email = normalise_email(email)
    if role not in InvitationRole.values:
        raise InvalidInput(fields={"role": [_("Choose administrator or user.")]})
    if role == InvitationRole.GUEST and team is None:
        raise InvalidInput(fields={"team": [_("A guest invitation needs a team.")]})
    organisation = access.organisation
    if team is not None:
        same_organisation(access, team)
    if (
        role != InvitationRole.GUEST
        and Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists()
    ):
        raise Conflict(
            _("%(email)s is already a member of this organisation.") % {"email": email},
            code="already_member",
            fields={"email": [_("Already a member.")]},
        )
    if Invitation.objects.filter(
        organisation=organisation, email=email, status=InvitationStatus.PENDING, team=team
    ).exists():
        raise Conflict(
            _("%(email)s already has a pending invitation.") % {"email": email},
            code="already_invited",
            fields={"email": [_("Already invited.")]},
        )
    invitation = Invitation.objects.create(
        organisation=organisation, email=email, role=role, team=team, invited_by=access.user
    )
    activity.record(
        organisation=organisation,
        actor=access.user,
        code="panel.invitation.created",
        target=invitation,
        data={"email": email, "role": role},
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation))
    return invitation


def _invitation_capability(role: str) -> Capability:
    """Team guests are the team managers' business; members are the member managers'."""
    return Capability.MANAGE_TEAMS if role == InvitationRole.GUEST else Capability.MANAGE_MEMBERS


def _pending(access: Access, invitation: Invitation) -> Invitation:
    same_organisation(access, invitation)
    access.require(_invitation_capability(invitation.role))
    lock(invitation)
    if invitation.status != InvitationStatus.PENDING:
        raise InvalidInput(
            _("This invitation is no longer pending."), code="invitation_not_pending"
        )
    return invitation


@transaction.atomic
def invitation_resend(*, access: Access, invitation: Invitation) -> Invitation:
    _pending(access, invitation)
    invitation.sent_at = timezone.now()
    invitation.save(update_fields=["sent_at"])
    activity.record(
        organisation=access.organisation,
        actor=access.user,
        code="panel.invitation.resent",
        target=invitation,
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation))
    return invitation


@transaction.atomic
def invitation_revoke(*, access: Access, invitation: Invitation) -> None:
    _pending(access, invitation)
    invitation.status = InvitationStatus.REVOKED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    activity.record(
        organisation=access.organisation,
        actor=access.user,
        code="panel.invitation.revoked",
        target=invitation,
    )


def _my_pending_invitation(user: User, invitation_id) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .filter(pk=invitation_id, email__iexact=user.email, status=InvitationStatus.PENDING)
        .select_related("organisation", "team")
        .first()
    )
    if invitation is None:
        raise NotFound()
    return invitation


@transaction.atomic
def invitation_accept(*, actor: User, invitation_id) -> Invitation:
    """Accept one of my pending invitations: join the organisation (and team)."""
    invitation = _my_pending_invitation(actor, invitation_id)
    organisation = invitation.organisation
    if invitation.role != InvitationRole.GUEST:
        membership, created = Membership.objects.get_or_create(
            organisation=organisation, user=actor, defaults={"role": invitation.role}
        )
    if invitation.team is not None:
        TeamMember.objects.get_or_create(
            organisation=organisation, team=invitation.team, user=actor
        )
    invitation.status = InvitationStatus.ACCEPTED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    activity.record(
        organisation=organisation, actor=actor, code="panel.invitation.accepted", target=invitation
    )
    invitation_accepted.send(sender=Invitation, invitation=invitation, user=actor)
    return invitation


@transaction.atomic
def invitation_decline(*, actor: User, invitation_id) -> Invitation:
    invitation = _my_pending_invitation(actor, invitation_id)
    invitation.status = InvitationStatus.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    activity.record(
        organisation=invitation.organisation,
        actor=actor,
        code="panel.invitation.declined",
        target=invitation,
    )
    return invitation
