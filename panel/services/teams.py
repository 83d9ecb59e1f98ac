"""Services: teams."""

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from .. import activity, selectors
from ..access import Access, Capability, product_type_of
from ..errors import Conflict, InvalidInput, NotFound
from ..models import (
    Grant,
    Invitation,
    InvitationRole,
    InvitationStatus,
    Membership,
    Team,
    TeamMember,
    User,
)
from ..products import KINDS
from .common import clean_name, full_clean, normalise_email, same_organisation
from .invitations import invitation_create


def _team_leader(access: Access, leader) -> User | None:
    """A leader (a person or a user id) must already be a member of the organisation or of
    one of its teams. Unknown ids get the same answer, so ids reveal nothing."""
    if leader is None:
        return None
    leader_id = getattr(leader, "pk", leader)
    found = (
        selectors.organisation_people(organisation=access.organisation).filter(pk=leader_id).first()
    )
    if found is None:
        raise InvalidInput(
            fields={"leader": [_("The team leader must belong to the organisation.")]}
        )
    return found


def _save_team(team: Team) -> None:
    """Save; a concurrent request that took the name first gives the same 409."""
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise Conflict(
            _("A team named “%(name)s” already exists.") % {"name": team.name},
            code="team_exists",
            fields={"name": [_("This name is already used.")]},
        ) from None


def _unique_team_name(access: Access, name: str, exclude_pk=None) -> None:
    clash = Team.objects.filter(organisation=access.organisation, name__iexact=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Conflict(
            _("A team named “%(name)s” already exists.") % {"name": name},
            code="team_exists",
            fields={"name": [_("This name is already used.")]},
        )


@transaction.atomic
def team_create(*, access: Access, name: str, description: str = "", leader=None) -> Team:
    access.require(Capability.MANAGE_TEAMS)
    name = clean_name(name, max_length=100)
    _unique_team_name(access, name)
    team = Team(
        organisation=access.organisation,
        name=name,
        description=(description or "").strip(),
        leader=_team_leader(access, leader),
    )
    full_clean(team)
    _save_team(team)
    if team.leader is not None:
        TeamMember.objects.create(organisation=access.organisation, team=team, user=team.leader)
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.team.created", target=team
    )
    return team


_UNSET = object()


@transaction.atomic
def team_update(*, access: Access, team: Team, name=None, description=None, leader=_UNSET) -> Team:
    access.require(Capability.MANAGE_TEAMS)
    same_organisation(access, team)
    if name is not None:
        team.name = clean_name(name, max_length=100)
        _unique_team_name(access, team.name, exclude_pk=team.pk)
    if description is not None:
        team.description = description.strip()
    if leader is not _UNSET:
        team.leader = _team_leader(access, leader)
        if team.leader is not None:
            TeamMember.objects.get_or_create(
                organisation=access.organisation, team=team, user=team.leader
            )
    full_clean(team)
    _save_team(team)
    activity.record(
        organisation=access.organisation, actor=access.user, code="panel.team.updated", target=team
    )
    return team


@transaction.atomic
def team_delete(*, access: Access, team: Team) -> None:
    """Delete a team; the access it gave disappears with its grants at once."""
    access.require(Capability.MANAGE_TEAMS)
    same_organisation(access, team)
    activity.record(
        organisation=access.organisation,
        actor=access.user,
        code="panel.team.deleted",
        target=team,
    )
    team.delete()


@transaction.atomic
def _known_people(access: Access, users) -> list[User]:
    """The people (users or user ids) the organisation already knows: its members and
    the people of its teams. Anyone else, whether the id exists on the platform or not,
    gets the same error, so ids reveal nothing; they join through an invitation."""
    wanted = {getattr(user, "pk", user) for user in users}
    known = list(
        selectors.organisation_people(organisation=access.organisation).filter(pk__in=wanted)
    )
    unknown = sorted(wanted - {user.pk for user in known}, key=str)
    if unknown:
        raise InvalidInput(
            fields={
                "users": [
                    _(
                        "%(id)s is not a person of this organisation or of its teams; "
                        "invite them by email instead."
                    )
                    % {"id": pk}
                    for pk in unknown
                ]
            }
        )
    return known


def team_members_add(*, access: Access, team: Team, users) -> list[TeamMember]:
    """Add one or several people (users or user ids) at once. Only people the
    organisation already knows may be added directly (InvalidInput on `users`
    otherwise, the same for every unknown id): outside people are invited
    (team_people_add), so nobody joins without consenting. Already present people are
    skipped."""
    access.require(Capability.MANAGE_TEAMS)
    same_organisation(access, team)
    if not users:
        raise InvalidInput(fields={"users": [_("Choose at least one person.")]})
    people = _known_people(access, users)
    present = set(team.team_members.values_list("user_id", flat=True))
    added = [
        TeamMember(organisation=access.organisation, team=team, user=user)
        for user in people
        if user.pk not in present
    ]
    TeamMember.objects.bulk_create(added)
    for member in added:
        activity.record(
            organisation=access.organisation,
            actor=access.user,
            code="panel.team.member_added",
            target=team,
            data={"user": member.user.email},
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
    same_organisation(access, team)
    cleaned = []
    for index, email in enumerate(emails):
        try:
            cleaned.append(normalise_email(email))
        except InvalidInput:
            raise InvalidInput(
                fields={
                    "emails": [
                        _("Line %(n)d: “%(email)s” is not a valid email address.")
                        % {"n": index + 1, "email": email}
                    ]
                }
            ) from None
    if not cleaned and not users:
        raise InvalidInput(fields={"emails": [_("Enter at least one email address.")]})
    # People the organisation already knows join at once; anyone else, with or without an
    # account, gets an invitation to the team, so nobody is added without consenting and
    # the answer does not reveal who has an account.
    existing = {
        u.email: u
        for u in selectors.organisation_people(organisation=access.organisation).filter(
            email__in=cleaned
        )
    }
    people = list(users) + list(existing.values())
    added = team_members_add(access=access, team=team, users=people) if people else []
    invited = []
    for email in dict.fromkeys(cleaned):
        if email in existing:
            continue
        pending = Invitation.objects.filter(
            organisation=access.organisation,
            team=team,
            email=email,
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
    same_organisation(access, team)
    member = team.team_members.filter(user_id=user_id).select_related("user").first()
    if member is None:
        raise NotFound()
    member.delete()
    if team.leader_id == member.user_id:
        team.leader = None
        team.save(update_fields=["leader"])
    activity.record(
        organisation=access.organisation,
        actor=access.user,
        code="panel.team.member_removed",
        target=team,
        data={"user": member.user.email},
    )


def _product(access: Access, product_type: str, product_id):
    kind = KINDS.get(product_type)
    if kind is None:
        raise InvalidInput(fields={"product_type": [_("Unknown product type.")]})
    products = kind.products_of(access.organisation)
    try:
        if kind.named and not str(product_id).isdigit():
            return products.get(name=str(product_id).strip().lower().rstrip("."))
        return products.get(pk=int(product_id))
    except (kind.model.DoesNotExist, TypeError, ValueError):
        raise InvalidInput(
            fields={"product_id": [_("No such product in this organisation.")]}
        ) from None


def _grant_capability(team) -> Capability:
    return Capability.MANAGE_TEAMS if team is not None else Capability.MANAGE_MEMBERS


@transaction.atomic
def grant_create(
    *,
    access: Access,
    product_type: str,
    product_id,
    level: str,
    team: Team | None = None,
    user: User | None = None,
) -> Grant:
    """Give a team, or one member directly, `view` or `manage` access to one product.

    Team grants need MANAGE_TEAMS; direct grants need MANAGE_MEMBERS and go to members
    only (people from outside get access through a team). Raises Conflict if the product
    is already granted to the same team or person.
    """
    if (team is None) == (user is None):
        raise InvalidInput(_("A grant goes to a team or to one person."))
    access.require(_grant_capability(team))
    if team is not None:
        same_organisation(access, team)
    elif not Membership.objects.filter(organisation=access.organisation, user=user).exists():
        raise InvalidInput(fields={"user": [_("Direct access is for members; use a team.")]})
    product = _product(access, product_type, product_id)
    grant = Grant(
        organisation=access.organisation,
        team=team,
        user=user,
        product_type=product_type,
        product_id=product.pk,
        level=level,
    )
    full_clean(grant, exclude=["team", "user", "organisation"])
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
        organisation=access.organisation,
        actor=access.user,
        code="panel.grant.created",
        target=team or user,
        data={"product": str(product), "product_type": product_type, "level": level},
    )
    return grant


@transaction.atomic
def grant_delete(*, access: Access, grant: Grant) -> None:
    """Withdraw a grant; the access it gave ends at once."""
    same_organisation(access, grant)
    access.require(_grant_capability(grant.team))
    activity.record(
        organisation=access.organisation,
        actor=access.user,
        code="panel.grant.deleted",
        target=grant.team or grant.user,
        data={"product_type": grant.product_type, "product_id": grant.product_id},
    )
    grant.delete()


def product_grants_delete(product) -> None:
    """A product that goes takes every grant on it along (the grant rows only point at
    it by type and id)."""
    Grant.objects.filter(
        organisation_id=product.organisation_id,
        product_type=product_type_of(product),
        product_id=product.pk,
    ).delete()
