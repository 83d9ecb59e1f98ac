"""Every write of the tenancy core. Views, the API, commands and tasks call these.

Each service takes the acting person (`actor`) keyword-only, checks the capability with
`panel.access`, validates, writes in one transaction and records an activity event.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from . import activity
from .access import Access, Capability, access_for
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .models import (
    ApiToken,
    Grant,
    Invitation,
    InvitationRole,
    InvitationStatus,
    Membership,
    Organisation,
    Role,
    Team,
    TeamMember,
    TokenScope,
    User,
)
from .products import KINDS
from .tokens import hash_token


def _full_clean(instance, exclude=None) -> None:
    """Run model validation and turn Django's errors into our field envelope."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput(fields=exc.message_dict) from None


def _clean_name(value: str, *, field: str = "name", max_length: int = 120) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(fields={field: [_("This field is required.")]})
    if len(value) > max_length:
        raise InvalidInput(
            fields={field: [_("At most %(n)d characters.") % {"n": max_length}]}
        )
    return value


# --- Organisations ---------------------------------------------------------------


@transaction.atomic
def organisation_create(*, actor: User, name: str) -> Organisation:
    """Create an organisation; its creator becomes its legal representative."""
    organisation = Organisation.objects.create(name=_clean_name(name))
    Membership.objects.create(organisation=organisation, user=actor, role=Role.LEGAL_REPRESENTATIVE)
    activity.record(
        organisation=organisation, actor=actor, code="panel.organisation.created",
        target=organisation,
    )
    return organisation


@transaction.atomic
def organisation_rename(*, access: Access, name: str) -> Organisation:
    """Rename the organisation (administrators)."""
    access.require(Capability.CHANGE_ORGANISATION)
    organisation = access.organisation
    old_name, organisation.name = organisation.name, _clean_name(name)
    organisation.save(update_fields=["name"])
    activity.record(
        organisation=organisation, actor=access.user, code="panel.organisation.renamed",
        target=organisation, data={"from": old_name, "to": organisation.name},
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
    _same_organisation(access, membership)
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
        organisation=access.organisation, actor=access.user,
        code="panel.organisation.legal_representative_transferred", target=membership.user,
    )
    return membership


# --- Members ---------------------------------------------------------------------


def _same_organisation(access: Access, obj) -> None:
    if obj.organisation_id != access.organisation.pk:
        raise NotFound()


@transaction.atomic
def membership_change_role(*, access: Access, membership: Membership, role: str) -> Membership:
    """Make a member an administrator or a user. The legal representative's role only
    changes by transfer."""
    access.require(Capability.MANAGE_MEMBERS)
    _same_organisation(access, membership)
    if role not in (Role.ADMIN, Role.USER):
        raise InvalidInput(fields={"role": [_("Choose administrator or user.")]})
    if membership.is_legal_representative:
        raise InvalidInput(
            _("The legal representative's role changes only by transferring it."),
            code="legal_representative_role", fields={"role": [_("Transfer the role instead.")]},
        )
    old_role, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.member.role_changed",
        target=membership.user, data={"from": old_role, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, access: Access, membership: Membership) -> None:
    """Remove a member, with their team places and direct grants in this organisation."""
    access.require(Capability.MANAGE_MEMBERS)
    _same_organisation(access, membership)
    if membership.is_legal_representative:
        raise PermissionDenied(
            _("The legal representative cannot be removed. Transfer the role first."),
            code="legal_representative_protected",
        )
    organisation, user = access.organisation, membership.user
    TeamMember.objects.filter(organisation=organisation, user=user).delete()
    Grant.objects.filter(organisation=organisation, user=user).delete()
    Team.objects.filter(organisation=organisation, leader=user).update(leader=None)
    membership.delete()
    activity.record(
        organisation=organisation, actor=access.user, code="panel.member.removed", target=user
    )


# --- Invitations -----------------------------------------------------------------


def _normalise_email(email: str, field: str = "email") -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(fields={field: [_("Enter a valid email address.")]}) from None
    return email


def _send_invitation_email(invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "url": f"{settings.PANEL_BASE_URL}/invitations/",
        "signup_url": f"{settings.PANEL_BASE_URL}/accounts/signup/",
    }
    send_mail(
        subject=_("You are invited to join %(org)s on Panel") % {"org": invitation.organisation},
        message=render_to_string("panel/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_create(
    *, access: Access, email: str, role: str, team: Team | None = None
) -> Invitation:
    """Invite an email address, with or without an account, as administrator or user.

    A `guest` invitation needs a team and brings the person into that team only.
    Raises Conflict if the person is already a member or already invited.
    """
    access.require(_invitation_capability(role))
    email = _normalise_email(email)
    if role not in InvitationRole.values:
        raise InvalidInput(fields={"role": [_("Choose administrator or user.")]})
    if role == InvitationRole.GUEST and team is None:
        raise InvalidInput(fields={"team": [_("A guest invitation needs a team.")]})
    organisation = access.organisation
    if team is not None:
        _same_organisation(access, team)
    if role != InvitationRole.GUEST and Membership.objects.filter(
        organisation=organisation, user__email__iexact=email
    ).exists():
        raise Conflict(
            _("%(email)s is already a member of this organisation.") % {"email": email},
            code="already_member", fields={"email": [_("Already a member.")]},
        )
    if Invitation.objects.filter(
        organisation=organisation, email=email, status=InvitationStatus.PENDING, team=team
    ).exists():
        raise Conflict(
            _("%(email)s already has a pending invitation.") % {"email": email},
            code="already_invited", fields={"email": [_("Already invited.")]},
        )
    invitation = Invitation.objects.create(
        organisation=organisation, email=email, role=role, team=team, invited_by=access.user
    )
    activity.record(
        organisation=organisation, actor=access.user, code="panel.invitation.created",
        target=invitation, data={"email": email, "role": role},
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation))
    return invitation


def _invitation_capability(role: str) -> Capability:
    """Team guests are the team managers' business; members are the member managers'."""
    return Capability.MANAGE_TEAMS if role == InvitationRole.GUEST else Capability.MANAGE_MEMBERS


def _pending(access: Access, invitation: Invitation) -> Invitation:
    _same_organisation(access, invitation)
    access.require(_invitation_capability(invitation.role))
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
        organisation=access.organisation, actor=access.user, code="panel.invitation.resent",
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
        organisation=access.organisation, actor=access.user, code="panel.invitation.revoked",
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
    return invitation


@transaction.atomic
def invitation_decline(*, actor: User, invitation_id) -> Invitation:
    invitation = _my_pending_invitation(actor, invitation_id)
    invitation.status = InvitationStatus.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    activity.record(
        organisation=invitation.organisation, actor=actor, code="panel.invitation.declined",
        target=invitation,
    )
    return invitation


# --- Teams -----------------------------------------------------------------------


def _team_leader(access: Access, leader) -> User | None:
    """A leader must already be a member of the organisation or of one of its teams."""
    if leader is None:
        return None
    if access_for(leader, access.organisation) is None:
        raise InvalidInput(
            fields={"leader": [_("The team leader must belong to the organisation.")]}
        )
    return leader


def _unique_team_name(access: Access, name: str, exclude_pk=None) -> None:
    clash = Team.objects.filter(organisation=access.organisation, name__iexact=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Conflict(
            _("A team named “%(name)s” already exists.") % {"name": name},
            code="team_exists", fields={"name": [_("This name is already used.")]},
        )


@transaction.atomic
def team_create(*, access: Access, name: str, description: str = "", leader=None) -> Team:
    access.require(Capability.MANAGE_TEAMS)
    name = _clean_name(name, max_length=100)
    _unique_team_name(access, name)
    team = Team(
        organisation=access.organisation, name=name, description=(description or "").strip(),
        leader=_team_leader(access, leader),
    )
    _full_clean(team)
    team.save()
    if team.leader is not None:
        TeamMember.objects.create(organisation=access.organisation, team=team, user=team.leader)
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.team.created", target=team
    )
    return team


_UNSET = object()


@transaction.atomic
def team_update(
    *, access: Access, team: Team, name=None, description=None, leader=_UNSET
) -> Team:
    access.require(Capability.MANAGE_TEAMS)
    _same_organisation(access, team)
    if name is not None:
        team.name = _clean_name(name, max_length=100)
        _unique_team_name(access, team.name, exclude_pk=team.pk)
    if description is not None:
        team.description = description.strip()
    if leader is not _UNSET:
        team.leader = _team_leader(access, leader)
        if team.leader is not None:
            TeamMember.objects.get_or_create(
                organisation=access.organisation, team=team, user=team.leader
            )
    _full_clean(team)
    team.save()
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.team.updated", target=team
    )
    return team


@transaction.atomic
def team_delete(*, access: Access, team: Team) -> None:
    """Delete a team; the access it gave disappears with its grants at once."""
    access.require(Capability.MANAGE_TEAMS)
    _same_organisation(access, team)
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.team.deleted",
        target=team,
    )
    team.delete()


@transaction.atomic
def team_members_add(*, access: Access, team: Team, users: list[User]) -> list[TeamMember]:
    """Add one or several people at once; people from outside the organisation are
    welcome and get only what the team grants. Already present people are skipped."""
    access.require(Capability.MANAGE_TEAMS)
    _same_organisation(access, team)
    if not users:
        raise InvalidInput(fields={"users": [_("Choose at least one person.")]})
    present = set(team.team_members.values_list("user_id", flat=True))
    added = [
        TeamMember(organisation=access.organisation, team=team, user=user)
        for user in {u.pk: u for u in users}.values()
        if user.pk not in present
    ]
    TeamMember.objects.bulk_create(added)
    for member in added:
        activity.record(
            organisation=access.organisation, actor=access.user, code="panel.team.member_added",
            target=team, data={"user": member.user.email},
        )
    return added


@transaction.atomic
def team_people_add(
    *, access: Access, team: Team, emails: list[str] = (), users: list[User] = ()
) -> dict:
    """Add people chosen directly (`users`) and by email address in one go. Addresses
    with an account join at once; the others get a guest invitation to the team.
    Nothing is written if one address is invalid. Returns {"added": [...], "invited": [...]}.
    """
    access.require(Capability.MANAGE_TEAMS)
    _same_organisation(access, team)
    cleaned = []
    for index, email in enumerate(emails):
        try:
            cleaned.append(_normalise_email(email))
        except InvalidInput:
            raise InvalidInput(
                fields={"emails": [_("Line %(n)d: “%(email)s” is not a valid email address.")
                                   % {"n": index + 1, "email": email}]}
            ) from None
    if not cleaned and not users:
        raise InvalidInput(fields={"emails": [_("Enter at least one email address.")]})
    existing = {u.email: u for u in User.objects.filter(email__in=cleaned)}
    people = list(users) + list(existing.values())
    added = team_members_add(access=access, team=team, users=people) if people else []
    invited = []
    for email in dict.fromkeys(cleaned):
        if email in existing:
            continue
        pending = Invitation.objects.filter(
            organisation=access.organisation, team=team, email=email,
            status=InvitationStatus.PENDING,
        ).exists()
        if not pending:
            invited.append(
                invitation_create(access=access, email=email, role=InvitationRole.GUEST, team=team)
            )
    return {"added": added, "invited": invited}


@transaction.atomic
def team_member_remove(*, access: Access, team: Team, user_id) -> None:
    """Remove a person from a team; the access the team gave them ends at once."""
    access.require(Capability.MANAGE_TEAMS)
    _same_organisation(access, team)
    member = team.team_members.filter(user_id=user_id).select_related("user").first()
    if member is None:
        raise NotFound()
    member.delete()
    if team.leader_id == member.user_id:
        team.leader = None
        team.save(update_fields=["leader"])
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.team.member_removed",
        target=team, data={"user": member.user.email},
    )


def _product(access: Access, product_type: str, product_id):
    kind = KINDS.get(product_type)
    if kind is None:
        raise InvalidInput(fields={"product_type": [_("Unknown product type.")]})
    try:
        return kind.products_of(access.organisation).get(pk=int(product_id))
    except (kind.model.DoesNotExist, TypeError, ValueError):
        raise InvalidInput(
            fields={"product_id": [_("No such product in this organisation.")]}
        ) from None


@transaction.atomic
def grant_create(
    *, access: Access, product_type: str, product_id, level: str, team: Team | None = None,
    user: User | None = None,
) -> Grant:
    """Give a team (or one person) `view` or `manage` access to one product."""
    access.require(Capability.MANAGE_TEAMS)
    if (team is None) == (user is None):
        raise InvalidInput(_("A grant goes to a team or to one person."))
    if team is not None:
        _same_organisation(access, team)
    product = _product(access, product_type, product_id)
    grant = Grant(
        organisation=access.organisation, team=team, user=user, product_type=product_type,
        product_id=product.pk, level=level,
    )
    _full_clean(grant, exclude=["team", "user", "organisation"])
    existing = Grant.objects.filter(
        organisation=access.organisation, product_type=product_type, product_id=product.pk
    ).filter(Q(team=team) if team is not None else Q(user=user))
    if existing.exists():
        raise Conflict(
            _("This product is already granted; change or remove that grant instead."),
            code="grant_exists",
        )
    try:
        with transaction.atomic():
            grant.save()
    except IntegrityError:
        raise Conflict(code="grant_exists") from None
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.grant.created",
        target=team or user, data={"product": str(product), "product_type": product_type,
                                   "level": level},
    )
    return grant


@transaction.atomic
def grant_delete(*, access: Access, grant: Grant) -> None:
    access.require(Capability.MANAGE_TEAMS)
    _same_organisation(access, grant)
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.grant.deleted",
        target=grant.team or grant.user,
        data={"product_type": grant.product_type, "product_id": grant.product_id},
    )
    grant.delete()


# --- API tokens ------------------------------------------------------------------


@transaction.atomic
def token_create(*, actor: User, name: str, scopes, expires_at=None) -> tuple[ApiToken, str]:
    """Create a personal access token. The secret is returned once and stored hashed."""
    name = _clean_name(name, max_length=100)
    scopes = list(dict.fromkeys(scopes or []))
    if not scopes or any(scope not in TokenScope.values for scope in scopes):
        raise InvalidInput(fields={"scopes": [_("Choose among: read, write.")]})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(fields={"expires_at": [_("The expiry must be in the future.")]})
    secret = ApiToken.generate_secret()
    token = ApiToken.objects.create(
        user=actor, name=name, scopes=scopes, expires_at=expires_at,
        token_hash=hash_token(secret), hint=secret[: len(ApiToken.PREFIX) + 4],
    )
    return token, secret


def token_revoke(*, actor: User, token_id) -> None:
    deleted, _count = ApiToken.objects.filter(user=actor, pk=token_id).delete()
    if not deleted:
        raise NotFound()


# --- Activity export -------------------------------------------------------------


def activity_export_start(*, access: Access, filters: dict | None = None):
    """Queue a CSV export of the activity log (administrators). Returns the Job."""
    from .jobs import job_enqueue
    from .tasks import export_activity

    access.require(Capability.EXPORT_ACTIVITY)
    with transaction.atomic():
        job = job_enqueue(
            organisation=access.organisation, actor=access.user, kind="activity_export",
            task=export_activity, params={k: v for k, v in (filters or {}).items() if v},
        )
        activity.record(
            organisation=access.organisation, actor=access.user,
            code="panel.activity.export_started", target=job,
        )
    return job
