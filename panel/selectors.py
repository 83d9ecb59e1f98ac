"""Reads shared by the UI, the API and tasks. Every query starts from the organisation."""

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .access import Access, Capability
from .jobs import JOB_KIND_CAPABILITIES
from .models import (
    ActivityEvent,
    ApiToken,
    Grant,
    Invitation,
    InvitationStatus,
    Job,
    Membership,
    Organisation,
    Role,
    Team,
    TeamMember,
    User,
)
from .products import KINDS, product_notes


def organisation_people(*, organisation: Organisation) -> QuerySet[User]:
    """Everyone the organisation knows: its members and the people in its teams."""
    return User.objects.filter(
        Q(memberships__organisation=organisation) | Q(team_memberships__organisation=organisation),
        is_active=True,
    ).distinct()


def membership_list(*, organisation: Organisation) -> QuerySet[Membership]:
    return organisation.memberships.select_related("user").order_by("user__email")


def invitation_list(*, organisation: Organisation, pending_only: bool = True, team=None):
    qs = organisation.invitations.select_related("invited_by", "team")
    if team is not None:
        qs = qs.filter(team=team)
    return qs.filter(status=InvitationStatus.PENDING) if pending_only else qs


def my_invitations(*, user) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(email__iexact=user.email, status=InvitationStatus.PENDING)
        .select_related("organisation", "invited_by", "team")
        .order_by("-created_at")
    )


def _count_of(model, **link) -> Coalesce:
    """A correlated COUNT subquery: cheaper than joining two tables and grouping."""
    rows = model.objects.filter(**link).order_by().values(*link).annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n")), 0)


def team_list(*, organisation: Organisation) -> QuerySet[Team]:
    return (
        organisation.teams.select_related("leader")
        .annotate(
            member_count=_count_of(TeamMember, team=OuterRef("pk")),
            grant_count=_count_of(Grant, team=OuterRef("pk")),
        )
        .order_by("name")
    )


def team_detail(*, organisation: Organisation, team_id) -> Team:
    return (
        organisation.teams.select_related("leader")
        .prefetch_related(
            Prefetch("team_members", queryset=TeamMember.objects.select_related("user")),
            "grants",
        )
        .get(pk=team_id)
    )


def grant_list(*, team: Team) -> QuerySet[Grant]:
    return team.grants.all().order_by("product_type", "product_id")


def direct_grant_list(*, membership: Membership) -> QuerySet[Grant]:
    """Grants given to one member directly, not through a team."""
    return Grant.objects.filter(
        organisation_id=membership.organisation_id, user_id=membership.user_id
    ).order_by("product_type", "product_id")


def product_names(grants) -> dict[tuple[str, int], str]:
    """Names of the products that grants point to, with one query per product kind."""
    wanted: dict[str, set[int]] = {}
    for grant in grants:
        wanted.setdefault(grant.product_type, set()).add(grant.product_id)
    names = {}
    for ptype, ids in wanted.items():
        kind = KINDS.get(ptype)
        if kind:
            for pk, name in kind.model.objects.filter(pk__in=ids).values_list("pk", "name"):
                names[(ptype, pk)] = name
    return names


def activity_list(
    *, organisation: Organisation, actor=None, kind: str = "", since=None, until=None
) -> QuerySet[ActivityEvent]:
    """The activity log, newest first. `kind` matches a code prefix (`panel.team`)."""
    qs = organisation.activity.select_related("actor")
    if actor:
        qs = qs.filter(actor_id=getattr(actor, "pk", actor))
    if kind:
        qs = qs.filter(Q(code=kind) | Q(code__startswith=kind.rstrip(".") + "."))
    if since:
        qs = qs.filter(created_at__date__gte=since)
    if until:
        qs = qs.filter(created_at__date__lte=until)
    return qs.order_by("-created_at", "-id")


def activity_per_day(*, events: QuerySet[ActivityEvent], days: int = 30) -> list[dict]:
    """Events per calendar day over the last `days` days (one query), oldest first,
    with days without events included as zero."""
    from datetime import timedelta

    from django.db.models.functions import TruncDate
    from django.utils import timezone

    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    counts = dict(
        events.filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        {"day": day, "count": counts.get(day, 0)}
        for day in (first + timedelta(days=i) for i in range(days))
    ]


def activity_actors(*, organisation: Organisation) -> list[tuple[int, str]]:
    """(id, email) of the people who appear in the log, for the person filter."""
    return list(
        organisation.activity.exclude(actor=None)
        .values_list("actor_id", "actor__email")
        .distinct()
        .order_by("actor__email")
    )


def activity_kinds(*, organisation: Organisation) -> list[str]:
    """The entity kinds present in the log (`panel.team`, `panel.member` ...)."""
    codes = organisation.activity.values_list("code", flat=True).distinct()
    return sorted({code.rsplit(".", 1)[0] for code in codes})


def job_list(*, access: Access) -> QuerySet[Job]:
    """Jobs of the organisation; people without VIEW_ALL_JOBS see only their own."""
    qs = access.organisation.jobs.select_related("actor")
    if not access.can(Capability.VIEW_ALL_JOBS):
        qs = qs.filter(actor=access.user)
    # A Job and its result stay as private as the work: someone who lost the capability
    # (an administrator made a user) no longer sees the exports they started.
    withheld = [kind for kind, needed in JOB_KIND_CAPABILITIES.items() if not access.can(needed)]
    if withheld:
        qs = qs.exclude(kind__in=withheld)
    return qs.order_by("-created_at", "-id")


def token_list(*, user) -> QuerySet[ApiToken]:
    return user.api_tokens.all()


def organisation_products(*, access: Access) -> list[dict]:
    """The dashboard: for each product kind, the products this person may see."""
    sections = []
    for kind in KINDS.values():
        products = list(access.visible_products(kind.key)[:50])
        notes = product_notes(kind.key, products)
        for product in products:
            product.note = notes.get(product.pk, "")
        sections.append({"kind": kind, "products": products})
    return sections


def administrator_emails(organisation_id: int) -> list[str]:
    """The addresses of the organisation's administrators and legal representative: who
    the panel tells about what happens to the organisation's products."""
    emails = Membership.objects.filter(
        organisation_id=organisation_id, role__in=[Role.ADMIN, Role.LEGAL_REPRESENTATIVE]
    ).values_list("user__email", flat=True)
    return sorted(set(emails) - {""})
