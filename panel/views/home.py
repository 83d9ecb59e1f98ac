"""Manager UI: home, my organisations, my invitations."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import selectors, services
from ..access import organisations_of
from ..forms import (
    OrganisationForm,
)
from ..mixins import LAST_ORGANISATION_KEY, post_only, run_service
from ..models import Role
from .common import next_url


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
            request,
            services.organisation_create,
            form=form,
            actor=request.user,
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
    return render(
        request,
        "panel/organisations/list.html",
        {
            "organisations": organisations,
            "invitations": selectors.my_invitations(user=request.user),
            "form": form,
        },
    )


@login_required
def my_invitation_list(request):
    return render(
        request,
        "panel/invitations/mine.html",
        {
            "invitations": selectors.my_invitations(user=request.user),
        },
    )


@login_required
@post_only
def my_invitation_accept(request, invitation_id):
    ok, invitation = run_service(
        request,
        services.invitation_accept,
        actor=request.user,
        invitation_id=invitation_id,
    )
    if not ok:
        return redirect("panel:my-invitation-list")
    messages.success(request, _("Welcome to %(org)s.") % {"org": invitation.organisation})
    return redirect("panel:organisation-dashboard", org_id=invitation.organisation_id)


@login_required
@post_only
def my_invitation_decline(request, invitation_id):
    run_service(
        request,
        services.invitation_decline,
        actor=request.user,
        invitation_id=invitation_id,
        success=_("Invitation declined."),
    )
    return redirect(next_url(request, reverse("panel:my-invitation-list")))
