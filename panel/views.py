"""Manager UI views. Each looks its objects up from the organisation of the URL (through
`organisation_view`), calls one service with `run_service`, and renders or redirects."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import selectors, services
from .access import Capability, organisations_of
from .forms import (
    ActivityFilterForm,
    DeleteOrganisationForm,
    GrantForm,
    InvitationForm,
    MemberRoleForm,
    OrganisationForm,
    TeamForm,
    TeamMembersForm,
    TokenForm,
    TransferForm,
)
from .mixins import LAST_ORGANISATION_KEY, organisation_view, run_service
from .models import JobStatus, Role, Team
from .products import KINDS

PAGE_SIZE = 50
NEW_TOKEN_KEY = "panel_new_token"

JOB_KIND_LABELS = {
    "activity_export": gettext_lazy("Activity export (CSV)"),
}

ACTIVITY_LABELS = {
    "panel.organisation.created": gettext_lazy("Created the organisation"),
    "panel.organisation.renamed": gettext_lazy("Renamed the organisation"),
    "panel.organisation.legal_representative_transferred": gettext_lazy(
        "Transferred the legal representative role"
    ),
    "panel.member.role_changed": gettext_lazy("Changed a member's role"),
    "panel.member.removed": gettext_lazy("Removed a member"),
    "panel.invitation.created": gettext_lazy("Invited someone"),
    "panel.invitation.resent": gettext_lazy("Resent an invitation"),
    "panel.invitation.revoked": gettext_lazy("Revoked an invitation"),
    "panel.invitation.accepted": gettext_lazy("Accepted an invitation"),
    "panel.invitation.declined": gettext_lazy("Declined an invitation"),
    "panel.team.created": gettext_lazy("Created a team"),
    "panel.team.updated": gettext_lazy("Changed a team"),
    "panel.team.deleted": gettext_lazy("Deleted a team"),
    "panel.team.member_added": gettext_lazy("Added someone to a team"),
    "panel.team.member_removed": gettext_lazy("Removed someone from a team"),
    "panel.grant.created": gettext_lazy("Granted access to a product"),
    "panel.grant.deleted": gettext_lazy("Removed access to a product"),
    "panel.activity.export_started": gettext_lazy("Exported the activity log"),
}


def job_label(job) -> str:
    return str(JOB_KIND_LABELS.get(job.kind, job.kind.replace("_", " ").capitalize()))


def describe_jobs(jobs):
    """Give each Job the human label the templates show."""
    for job in jobs:
        job.label = job_label(job)
    return jobs


def _first_or_404(queryset):
    found = queryset.first()
    if found is None:
        raise Http404()
    return found


def _confirm(request, *, title, question, button, cancel_url, run, done_url, detail=""):
    """Ask before a destructive action (GET), do it on POST, then go to `done_url`."""
    if request.method == "POST":
        ok, _result = run()
        return redirect(done_url if ok else cancel_url)
    return render(request, "panel/confirm.html", {
        "title": title, "question": question, "detail": detail, "button": button,
        "cancel_url": cancel_url,
    })


# --- Home, my organisations, my invitations ---------------------------------------


@login_required
def home(request):
    """Back to the organisation last opened, else the first one, else the organisations
    page where one can be created or an invitation accepted."""
    organisations = organisations_of(request.user).order_by("name", "id")
    last = request.session.get(LAST_ORGANISATION_KEY)
    organisation = (organisations.filter(pk=last).first() if last else None) or (
        organisations.first()
    )
    if organisation is None:
        return redirect("panel:organisation-list")
    return redirect("panel:organisation-dashboard", org_id=organisation.pk)


@login_required
def organisation_list(request):
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, organisation = run_service(
            request, services.organisation_create, form=form, actor=request.user,
            name=form.cleaned_data["name"],
            success=_("Organisation created. You are its legal representative."),
        )
        if ok:
            return redirect("panel:organisation-dashboard", org_id=organisation.pk)
    organisations = list(organisations_of(request.user).order_by("name", "id"))
    roles = dict(request.user.memberships.values_list("organisation_id", "role"))
    labels = dict(Role.choices)
    for organisation in organisations:
        role = roles.get(organisation.pk)
        organisation.my_role = role or "guest"
        organisation.my_role_label = labels.get(role, _("Team guest"))
    return render(request, "panel/organisations/list.html", {
        "organisations": organisations,
        "invitations": selectors.my_invitations(user=request.user),
        "form": form,
    })


@login_required
def my_invitation_list(request):
    return render(request, "panel/invitations/mine.html", {
        "invitations": selectors.my_invitations(user=request.user),
    })


@login_required
@require_POST
def my_invitation_accept(request, invitation_id):
    ok, invitation = run_service(
        request, services.invitation_accept, actor=request.user, invitation_id=invitation_id,
    )
    if not ok:
        return redirect("panel:my-invitation-list")
    messages.success(request, _("Welcome to %(org)s.") % {"org": invitation.organisation})
    return redirect("panel:organisation-dashboard", org_id=invitation.organisation_id)


@login_required
@require_POST
def my_invitation_decline(request, invitation_id):
    run_service(
        request, services.invitation_decline, actor=request.user, invitation_id=invitation_id,
        success=_("Invitation declined."),
    )
    return redirect(_next_url(request, reverse("panel:my-invitation-list")))


def _next_url(request, default):
    """The `next` field of a form when it points into this site, else `default`."""
    wanted = request.POST.get("next") or request.GET.get("next")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


# --- One organisation ---------------------------------------------------------------


@organisation_view()
def organisation_dashboard(request, access):
    return render(request, "panel/organisation/dashboard.html", {
        "sections": selectors.organisation_products(access=access),
    })


def _settings_page(request, access, *, rename_form=None, transfer_form=None):
    memberships = list(selectors.membership_list(organisation=access.organisation))
    return render(request, "panel/organisation/settings.html", {
        "rename_form": rename_form or OrganisationForm(initial={"name": access.organisation.name}),
        "transfer_form": transfer_form or TransferForm(memberships=memberships),
        "can_transfer": access.can(Capability.TRANSFER_LEGAL_REPRESENTATIVE),
        "can_delete": access.can(Capability.DELETE_ORGANISATION),
        "legal_representative": next(
            (m.user for m in memberships if m.is_legal_representative), None
        ),
    })


@organisation_view(Capability.CHANGE_ORGANISATION)
def organisation_settings(request, access):
    if request.method == "POST":
        form = OrganisationForm(request.POST)
        if form.is_valid():
            ok, _org = run_service(
                request, services.organisation_rename, form=form, access=access,
                name=form.cleaned_data["name"], success=_("Organisation renamed."),
            )
            if ok:
                return redirect("panel:organisation-settings", org_id=access.organisation.pk)
        return _settings_page(request, access, rename_form=form)
    return _settings_page(request, access)


@organisation_view(Capability.TRANSFER_LEGAL_REPRESENTATIVE)
@require_POST
def organisation_transfer(request, access):
    memberships = selectors.membership_list(organisation=access.organisation)
    form = TransferForm(request.POST, memberships=memberships)
    if form.is_valid():
        membership = form.cleaned_data["membership"]
        ok, _m = run_service(
            request, services.legal_representative_transfer, form=form, access=access,
            membership=membership,
            success=_("%(email)s is now the legal representative.")
            % {"email": membership.user.email},
        )
        if ok:
            return redirect("panel:organisation-settings", org_id=access.organisation.pk)
    return _settings_page(request, access, transfer_form=form)


@organisation_view(Capability.DELETE_ORGANISATION)
def organisation_delete(request, access):
    form = DeleteOrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = access.organisation.name
        ok, _none = run_service(
            request, services.organisation_delete, form=form, access=access,
            confirm_name=form.cleaned_data["confirm_name"],
        )
        if ok:
            request.session.pop(LAST_ORGANISATION_KEY, None)
            messages.success(request, _("The organisation %(name)s was deleted.") % {"name": name})
            return redirect("panel:home")
    return render(request, "panel/organisation/delete.html", {"form": form})


# --- Members and invitations --------------------------------------------------------


@organisation_view(Capability.MANAGE_MEMBERS)
def member_list(request, access):
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, invitation = run_service(
            request, services.invitation_create, form=form, access=access,
            email=form.cleaned_data["email"], role=form.cleaned_data["role"],
            success=_("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
        )
        if ok:
            return redirect("panel:member-list", org_id=access.organisation.pk)
    memberships = list(selectors.membership_list(organisation=access.organisation))
    for membership in memberships:
        membership.role_form = MemberRoleForm(
            initial={"role": membership.role}, prefix=f"m{membership.pk}"
        )
    return render(request, "panel/members/list.html", {
        "memberships": memberships,
        "invitations": selectors.invitation_list(organisation=access.organisation),
        "form": form,
    })


def _membership(access, member_id):
    return _first_or_404(selectors.membership_list(organisation=access.organisation)
                         .filter(pk=member_id))


@organisation_view(Capability.MANAGE_MEMBERS)
@require_POST
def member_role(request, access, member_id):
    membership = _membership(access, member_id)
    form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        run_service(
            request, services.membership_change_role, access=access, membership=membership,
            role=form.cleaned_data["role"],
            success=_("%(email)s is now %(role)s.") % {
                "email": membership.user.email,
                "role": Role(form.cleaned_data["role"]).label.lower(),
            },
        )
    else:
        messages.error(request, _("Choose administrator or user."))
    return redirect("panel:member-list", org_id=access.organisation.pk)


@organisation_view(Capability.MANAGE_MEMBERS)
def member_remove(request, access, member_id):
    membership = _membership(access, member_id)
    members_url = reverse("panel:member-list", args=[access.organisation.pk])
    if membership.is_legal_representative:
        messages.error(request, _("The legal representative cannot be removed. "
                                  "Transfer the role first."))
        return redirect(members_url)
    return _confirm(
        request,
        title=_("Remove a member"),
        question=_("Remove %(email)s from %(org)s?") % {
            "email": membership.user.email, "org": access.organisation.name,
        },
        detail=_("They lose access to the organisation, its teams and its products at once."),
        button=_("Remove member"),
        cancel_url=members_url, done_url=members_url,
        run=lambda: run_service(
            request, services.membership_remove, access=access, membership=membership,
            success=_("%(email)s was removed.") % {"email": membership.user.email},
        ),
    )


def _invitation(access, invitation_id):
    return _first_or_404(selectors.invitation_list(organisation=access.organisation)
                         .filter(pk=invitation_id))


@organisation_view(Capability.MANAGE_MEMBERS)
@require_POST
def invitation_resend(request, access, invitation_id):
    invitation = _invitation(access, invitation_id)
    run_service(
        request, services.invitation_resend, access=access, invitation=invitation,
        success=_("Invitation sent again to %(email)s.") % {"email": invitation.email},
    )
    return redirect("panel:member-list", org_id=access.organisation.pk)


@organisation_view(Capability.MANAGE_MEMBERS)
def invitation_revoke(request, access, invitation_id):
    invitation = _invitation(access, invitation_id)
    back_url = _next_url(request, reverse("panel:member-list", args=[access.organisation.pk]))
    return _confirm(
        request,
        title=_("Revoke an invitation"),
        question=_("Revoke the invitation sent to %(email)s?") % {"email": invitation.email},
        detail=_("The link in their email will no longer let them join."),
        button=_("Revoke invitation"),
        cancel_url=back_url, done_url=back_url,
        run=lambda: run_service(
            request, services.invitation_revoke, access=access, invitation=invitation,
            success=_("Invitation revoked."),
        ),
    )


# --- Teams --------------------------------------------------------------------------


def _organisation_people(access):
    return [m.user for m in selectors.membership_list(organisation=access.organisation)]


@organisation_view(Capability.MANAGE_TEAMS)
def team_list(request, access):
    people = _organisation_people(access)
    form = TeamForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        ok, team = run_service(
            request, services.team_create, form=form, access=access,
            name=form.cleaned_data["name"], description=form.cleaned_data["description"],
            leader=form.cleaned_data["leader"],
            success=_("Team created. Now add people and grant it products."),
        )
        if ok:
            return redirect("panel:team-detail", org_id=access.organisation.pk, team_id=team.pk)
    return render(request, "panel/teams/list.html", {
        "teams": selectors.team_list(organisation=access.organisation),
        "form": form,
        "show_form": request.method == "POST",
    })


def _team_or_404(access, team_id):
    try:
        return selectors.team_detail(organisation=access.organisation, team_id=team_id)
    except Team.DoesNotExist:
        raise Http404() from None


def _team_page(request, access, team, *, edit_form=None, members_form=None, grant_form=None):
    """The team page; POST views that fail re-render it with their bound form."""
    organisation = access.organisation
    members = list(team.team_members.all())
    org_people = _organisation_people(access)
    org_ids = {person.pk for person in org_people}
    in_team = {member.user_id for member in members}
    for member in members:
        member.is_guest = member.user_id not in org_ids
    grants = list(selectors.grant_list(team=team))
    names = selectors.product_names(grants)
    for grant in grants:
        kind = KINDS.get(grant.product_type)
        grant.kind = kind
        grant.product_name = names.get((grant.product_type, grant.product_id), "—")
    leader_choices = org_people + [m.user for m in members if m.is_guest]
    products_by_kind = [
        (kind, list(kind.products_of(organisation))) for kind in KINDS.values()
    ]
    return render(request, "panel/teams/detail.html", {
        "team": team,
        "members": members,
        "invited": selectors.invitation_list(organisation=organisation, team=team),
        "grants": grants,
        "edit_form": edit_form or TeamForm(
            people=leader_choices,
            initial={"name": team.name, "description": team.description, "leader": team.leader},
        ),
        "members_form": members_form or TeamMembersForm(
            people=[p for p in org_people if p.pk not in in_team]
        ),
        "grant_form": grant_form or GrantForm(products_by_kind=products_by_kind),
        "has_products": any(products for _kind, products in products_by_kind),
    })


@organisation_view(Capability.MANAGE_TEAMS)
def team_detail(request, access, team_id):
    return _team_page(request, access, _team_or_404(access, team_id))


@organisation_view(Capability.MANAGE_TEAMS)
@require_POST
def team_update(request, access, team_id):
    team = _team_or_404(access, team_id)
    people = _organisation_people(access) + [m.user for m in team.team_members.all()]
    form = TeamForm(request.POST, people={p.pk: p for p in people}.values())
    if form.is_valid():
        ok, _team = run_service(
            request, services.team_update, form=form, access=access, team=team,
            name=form.cleaned_data["name"], description=form.cleaned_data["description"],
            leader=form.cleaned_data["leader"], success=_("Team saved."),
        )
        if ok:
            return redirect("panel:team-detail", org_id=access.organisation.pk, team_id=team.pk)
    team = _team_or_404(access, team_id)  # reload: a failed save left the instance changed
    return _team_page(request, access, team, edit_form=form)


@organisation_view(Capability.MANAGE_TEAMS)
def team_delete(request, access, team_id):
    team = _team_or_404(access, team_id)
    return _confirm(
        request,
        title=_("Delete a team"),
        question=_("Delete the team %(name)s?") % {"name": team.name},
        detail=_("Its members lose the access the team gave them at once. "
                 "Their accounts and memberships stay."),
        button=_("Delete team"),
        cancel_url=reverse("panel:team-detail", args=[access.organisation.pk, team.pk]),
        done_url=reverse("panel:team-list", args=[access.organisation.pk]),
        run=lambda: run_service(
            request, services.team_delete, access=access, team=team,
            success=_("Team %(name)s deleted.") % {"name": team.name},
        ),
    )


@organisation_view(Capability.MANAGE_TEAMS)
@require_POST
def team_member_add(request, access, team_id):
    team = _team_or_404(access, team_id)
    in_team = {member.user_id for member in team.team_members.all()}
    form = TeamMembersForm(
        request.POST, people=[p for p in _organisation_people(access) if p.pk not in in_team]
    )
    if form.is_valid():
        emails, users = form.cleaned_data["emails"], form.cleaned_data["users"]
        try:
            with transaction.atomic():
                added, invited = [], []
                if users:
                    ok, result = run_service(
                        request, services.team_members_add, form=form, access=access,
                        team=team, users=users,
                    )
                    if not ok:
                        raise _Rollback()
                    added += result
                if emails:
                    ok, result = run_service(
                        request, services.team_members_invite, form=form, access=access,
                        team=team, emails=emails,
                    )
                    if not ok:
                        raise _Rollback()
                    added += result["added"]
                    invited += result["invited"]
        except _Rollback:
            pass
        else:
            _report_added(request, added, invited)
            return redirect("panel:team-detail", org_id=access.organisation.pk, team_id=team.pk)
    return _team_page(request, access, _team_or_404(access, team_id), members_form=form)


class _Rollback(Exception):
    """Undo the first half of a two-service form when the second half fails."""


def _report_added(request, added, invited):
    if added:
        messages.success(request, _("Added to the team: %(people)s.") % {
            "people": ", ".join(member.user.email for member in added)})
    if invited:
        messages.success(request, _("Invited to join the team: %(people)s.") % {
            "people": ", ".join(invitation.email for invitation in invited)})
    if not added and not invited:
        messages.info(request, _("Everyone was already in the team or invited."))


@organisation_view(Capability.MANAGE_TEAMS)
def team_member_remove(request, access, team_id, user_id):
    team = _team_or_404(access, team_id)
    member = next((m for m in team.team_members.all() if m.user_id == user_id), None)
    if member is None:
        raise Http404()
    team_url = reverse("panel:team-detail", args=[access.organisation.pk, team.pk])
    return _confirm(
        request,
        title=_("Remove from the team"),
        question=_("Remove %(email)s from %(team)s?") % {
            "email": member.user.email, "team": team.name,
        },
        detail=_("They lose the access this team gave them at once."),
        button=_("Remove from team"),
        cancel_url=team_url, done_url=team_url,
        run=lambda: run_service(
            request, services.team_member_remove, access=access, team=team, user_id=user_id,
            success=_("%(email)s was removed from the team.") % {"email": member.user.email},
        ),
    )


@organisation_view(Capability.MANAGE_TEAMS)
@require_POST
def grant_create(request, access, team_id):
    team = _team_or_404(access, team_id)
    products_by_kind = [
        (kind, list(kind.products_of(access.organisation))) for kind in KINDS.values()
    ]
    form = GrantForm(request.POST, products_by_kind=products_by_kind)
    if form.is_valid():
        product_type, product_id = form.cleaned_data["product"]
        ok, _grant = run_service(
            request, services.grant_create, form=form,
            field_map={"product_type": "product", "product_id": "product"},
            access=access, team=team, product_type=product_type, product_id=product_id,
            level=form.cleaned_data["level"], success=_("Access granted."),
        )
        if ok:
            return redirect("panel:team-detail", org_id=access.organisation.pk, team_id=team.pk)
    return _team_page(request, access, team, grant_form=form)


@organisation_view(Capability.MANAGE_TEAMS)
def grant_delete(request, access, team_id, grant_id):
    team = _team_or_404(access, team_id)
    grant = _first_or_404(selectors.grant_list(team=team).filter(pk=grant_id))
    name = selectors.product_names([grant]).get((grant.product_type, grant.product_id), "")
    team_url = reverse("panel:team-detail", args=[access.organisation.pk, team.pk])
    return _confirm(
        request,
        title=_("Remove access"),
        question=_("Remove the team's access to %(product)s?") % {"product": name},
        detail=_("Team members who have no other grant lose access to it at once."),
        button=_("Remove access"),
        cancel_url=team_url, done_url=team_url,
        run=lambda: run_service(
            request, services.grant_delete, access=access, grant=grant,
            success=_("Access removed."),
        ),
    )


# --- Activity -----------------------------------------------------------------------


def _activity_filter_form(request, access):
    organisation = access.organisation
    return ActivityFilterForm(
        request.GET or request.POST or None,
        people=selectors.activity_actors(organisation=organisation),
        kinds=selectors.activity_kinds(organisation=organisation),
    )


def _bar_chart(series: list[dict], *, width: int = 720, height: int = 120) -> dict:
    """Geometry of a small SVG bar chart of {day, count} points."""
    peak = max((point["count"] for point in series), default=0)
    step = width / max(len(series), 1)
    bars = [
        {
            "x": round(i * step + 1, 1),
            "width": round(step - 2, 1),
            "height": round(point["count"] / peak * (height - 16), 1) if peak else 0,
            **point,
        }
        for i, point in enumerate(series)
    ]
    for bar in bars:
        bar["y"] = round(height - bar["height"], 1)
    return {"bars": bars, "peak": peak, "width": width, "height": height,
            "total": sum(point["count"] for point in series)}


@organisation_view(Capability.VIEW_ACTIVITY)
def activity_list(request, access):
    form = _activity_filter_form(request, access)
    events = selectors.activity_list(organisation=access.organisation, **form.filters())
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.label = ACTIVITY_LABELS.get(event.code, "")
    return render(request, "panel/activity/list.html", {
        "form": form,
        "page": page,
        "chart": _bar_chart(selectors.activity_per_day(events=events)),
        "filtered": bool(form.filters()),
        "can_export": access.can(Capability.EXPORT_ACTIVITY),
    })


@organisation_view(Capability.EXPORT_ACTIVITY)
@require_POST
def activity_export(request, access):
    form = _activity_filter_form(request, access)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("Correct the filters before exporting."))
        return redirect("panel:activity-list", org_id=access.organisation.pk)
    ok, job = run_service(
        request, services.activity_export_start, access=access, filters=form.export_params(),
        success=_("The export has started. You can leave this page; it keeps running."),
    )
    if not ok:
        return redirect("panel:activity-list", org_id=access.organisation.pk)
    return redirect("panel:job-detail", org_id=access.organisation.pk, job_id=job.pk)


# --- Jobs ---------------------------------------------------------------------------


def _job(access, job_id):
    return _first_or_404(selectors.job_list(access=access).filter(pk=job_id))


def job_state(job, organisation_id) -> dict:
    """What the progress bars show, for the page and for the status endpoint."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": str(JobStatus(job.status).label),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "finished": job.is_finished,
        "finished_at": date_format(localtime(job.finished_at), "SHORT_DATETIME_FORMAT")
        if job.finished_at else "",
        "error": "; ".join(str(e.get("detail", e)) for e in job.errors or []),
        "download_url": reverse("panel:job-download", args=[organisation_id, job.pk])
        if job.result_file else "",
    }


@organisation_view()
def job_list(request, access):
    page = Paginator(selectors.job_list(access=access), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    describe_jobs(page)
    return render(request, "panel/jobs/list.html", {"page": page})


@organisation_view()
def job_detail(request, access, job_id):
    job = _job(access, job_id)
    job.label = job_label(job)
    return render(request, "panel/jobs/detail.html", {
        "job": job, "state": job_state(job, access.organisation.pk),
    })


@organisation_view()
def job_status(request, access, job_id):
    return JsonResponse(job_state(_job(access, job_id), access.organisation.pk))


@organisation_view()
def job_download(request, access, job_id):
    job = _job(access, job_id)
    if not job.result_file:
        raise Http404()
    return FileResponse(
        job.result_file.open("rb"), as_attachment=True,
        filename=job.result.get("file_name") or job.result_file.name.rsplit("/", 1)[-1],
    )


# --- My account ---------------------------------------------------------------------


@login_required
def account(request):
    from allauth.mfa.utils import is_mfa_enabled

    return render(request, "panel/account/index.html", {
        "mfa_enabled": is_mfa_enabled(request.user),
        "token_count": selectors.token_list(user=request.user).count(),
        "organisation_count": organisations_of(request.user).count(),
    })


@login_required
def token_list(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, created = run_service(
            request, services.token_create, form=form,
            field_map={"expires_at": "expires_on"}, actor=request.user,
            name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
            expires_at=form.expires_at(),
        )
        if ok:
            token, secret = created
            # Shown once, on the next page, then forgotten.
            request.session[NEW_TOKEN_KEY] = {"id": token.pk, "secret": secret}
            return redirect("panel:token-list")
    new_token = request.session.pop(NEW_TOKEN_KEY, None)
    return render(request, "panel/account/tokens.html", {
        "tokens": selectors.token_list(user=request.user),
        "form": form,
        "new_token": new_token,
    })


@login_required
def token_revoke(request, token_id):
    token = _first_or_404(selectors.token_list(user=request.user).filter(pk=token_id))
    tokens_url = reverse("panel:token-list")
    return _confirm(
        request,
        title=_("Revoke a token"),
        question=_("Revoke the token %(name)s?") % {"name": token.name},
        detail=_("Scripts using it stop working at once. This cannot be undone."),
        button=_("Revoke token"),
        cancel_url=tokens_url, done_url=tokens_url,
        run=lambda: run_service(
            request, services.token_revoke, actor=request.user, token_id=token.pk,
            success=_("Token revoked."),
        ),
    )
