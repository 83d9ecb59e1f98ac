"""Manager UI: teams."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import selectors, services
from ..access import Capability
from ..forms import (
    GrantForm,
    TeamForm,
    TeamMembersForm,
)
from ..mixins import organisation_view, post_only, run_service
from ..models import Team
from .common import (
    confirm_grant_removal,
    confirm_then_run,
    describe_grants,
    first_or_404,
    organisation_products_by_kind,
    product_name,
    submit_grant,
)


def _organisation_people(access):
    return [m.user for m in selectors.membership_list(organisation=access.organisation)]


@organisation_view(Capability.MANAGE_TEAMS)
def team_list(request, access):
    people = _organisation_people(access)
    form = TeamForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        ok, team = run_service(
            request,
            services.team_create,
            form=form,
            access=access,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            leader=form.cleaned_data["leader"],
            success=_("Team created. Now add people and grant it products."),
        )
        if ok:
            return redirect("panel:team-detail", org_id=access.organisation.pk, team_id=team.pk)
    return render(
        request,
        "panel/teams/list.html",
        {
            "teams": selectors.team_list(organisation=access.organisation),
            "form": form,
            "show_form": request.method == "POST",
        },
    )


def _team_or_404(access, team_id):
    try:
        return selectors.team_detail(organisation=access.organisation, team_id=team_id)
    except Team.DoesNotExist:
        raise Http404() from None


def _team_page(request, access, team, *, edit_form=None, members_form=None, grant_form=None):
    """The team page; POST views that fail re-render it with their bound form."""
    organisation = access.organisation
    members = list(team.team_members.all())
    memberships = {
        m.user_id: m for m in selectors.membership_list(organisation=access.organisation)
    }
    org_people = [m.user for m in memberships.values()]
    in_team = {member.user_id for member in members}
    for member in members:
        membership = memberships.get(member.user_id)
        member.is_guest = membership is None
        member.role = membership.role if membership else "guest"
        member.role_label = membership.get_role_display() if membership else ""
    grants = describe_grants(
        selectors.grant_list(team=team),
        delete_url_name="panel:grant-delete",
        url_args=[organisation.pk, team.pk],
    )
    leader_choices = org_people + [m.user for m in members if m.is_guest]
    all_products = organisation_products_by_kind(organisation)
    # A product the team already holds a grant on is not offered again.
    products_by_kind = organisation_products_by_kind(organisation, except_granted=grants)
    return render(
        request,
        "panel/teams/detail.html",
        {
            "team": team,
            "members": members,
            "invited": selectors.invitation_list(organisation=organisation, team=team),
            "grants": grants,
            "edit_form": edit_form
            or TeamForm(
                people=leader_choices,
                initial={"name": team.name, "description": team.description, "leader": team.leader},
            ),
            "members_form": members_form
            or TeamMembersForm(people=[p for p in org_people if p.pk not in in_team]),
            "grant_form": grant_form or GrantForm(products_by_kind=products_by_kind),
            # A refused grant comes back with its form and error, whatever is left to offer.
            "has_products": grant_form is not None
            or any(products for _kind, products in products_by_kind),
            "organisation_has_products": any(products for _kind, products in all_products),
        },
    )


@organisation_view(Capability.MANAGE_TEAMS)
def team_detail(request, access, team_id):
    return _team_page(request, access, _team_or_404(access, team_id))


@organisation_view(Capability.MANAGE_TEAMS)
@post_only
def team_update(request, access, team_id):
    team = _team_or_404(access, team_id)
    people = _organisation_people(access) + [m.user for m in team.team_members.all()]
    form = TeamForm(request.POST, people={p.pk: p for p in people}.values())
    if form.is_valid():
        ok, _team = run_service(
            request,
            services.team_update,
            form=form,
            access=access,
            team=team,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            leader=form.cleaned_data["leader"],
            success=_("Team saved."),
        )
        if ok:
            return redirect("panel:team-detail", org_id=access.organisation.pk, team_id=team.pk)
    team = _team_or_404(access, team_id)  # reload: a failed save left the instance changed
    return _team_page(request, access, team, edit_form=form)


@organisation_view(Capability.MANAGE_TEAMS)
def team_delete(request, access, team_id):
    team = _team_or_404(access, team_id)
    return confirm_then_run(
        request,
        title=_("Delete a team"),
        question=_("Delete the team %(name)s?") % {"name": team.name},
        detail=_(
            "Its members lose the access the team gave them at once. "
            "Their accounts and memberships stay."
        ),
        button=_("Delete team"),
        cancel_url=reverse("panel:team-detail", args=[access.organisation.pk, team.pk]),
        done_url=reverse("panel:team-list", args=[access.organisation.pk]),
        run=lambda: run_service(
            request,
            services.team_delete,
            access=access,
            team=team,
            success=_("Team %(name)s deleted.") % {"name": team.name},
        ),
    )


@organisation_view(Capability.MANAGE_TEAMS)
@post_only
def team_member_add(request, access, team_id):
    team = _team_or_404(access, team_id)
    in_team = {member.user_id for member in team.team_members.all()}
    form = TeamMembersForm(
        request.POST, people=[p for p in _organisation_people(access) if p.pk not in in_team]
    )
    if form.is_valid():
        ok, result = run_service(
            request,
            services.team_people_add,
            form=form,
            access=access,
            team=team,
            emails=form.cleaned_data["emails"],
            users=form.cleaned_data["users"],
        )
        if ok:
            _report_added(request, result["added"], result["invited"])
            return redirect("panel:team-detail", org_id=access.organisation.pk, team_id=team.pk)
    return _team_page(request, access, _team_or_404(access, team_id), members_form=form)


def _report_added(request, added, invited):
    if added:
        messages.success(
            request,
            _("Added to the team: %(people)s.")
            % {"people": ", ".join(member.user.email for member in added)},
        )
    if invited:
        messages.success(
            request,
            _("Invited to join the team: %(people)s.")
            % {"people": ", ".join(invitation.email for invitation in invited)},
        )
    if not added and not invited:
        messages.info(request, _("Everyone was already in the team or invited."))


@organisation_view(Capability.MANAGE_TEAMS)
def team_member_remove(request, access, team_id, user_id):
    team = _team_or_404(access, team_id)
    member = next((m for m in team.team_members.all() if m.user_id == user_id), None)
    if member is None:
        raise Http404()
    team_url = reverse("panel:team-detail", args=[access.organisation.pk, team.pk])
    return confirm_then_run(
        request,
        title=_("Remove from the team"),
        question=_("Remove %(email)s from %(team)s?")
        % {
            "email": member.user.email,
            "team": team.name,
        },
        detail=_("They lose the access this team gave them at once."),
        button=_("Remove from team"),
        cancel_url=team_url,
        done_url=team_url,
        run=lambda: run_service(
            request,
            services.team_member_remove,
            access=access,
            team=team,
            user_id=user_id,
            success=_("%(email)s was removed from the team.") % {"email": member.user.email},
        ),
    )


@organisation_view(Capability.MANAGE_TEAMS)
@post_only
def grant_create(request, access, team_id):
    team = _team_or_404(access, team_id)
    return submit_grant(
        request,
        access,
        recipient={"team": team},
        success=_("Access granted."),
        done_url=reverse("panel:team-detail", args=[access.organisation.pk, team.pk]),
        rerender=lambda form: _team_page(request, access, team, grant_form=form),
    )


@organisation_view(Capability.MANAGE_TEAMS)
def grant_delete(request, access, team_id, grant_id):
    team = _team_or_404(access, team_id)
    grant = first_or_404(selectors.grant_list(team=team).filter(pk=grant_id))
    return confirm_grant_removal(
        request,
        access,
        grant,
        question=_("Remove the team's access to %(product)s?") % {"product": product_name(grant)},
        detail=_("Team members who have no other grant lose access to it at once."),
        back_url=reverse("panel:team-detail", args=[access.organisation.pk, team.pk]),
    )
