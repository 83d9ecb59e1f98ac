"""Manager UI: members and invitations."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors, services
from ..access import Capability
from ..forms import (
    InvitationForm,
    MemberRoleForm,
)
from ..mixins import organisation_view, run_service
from ..models import Role
from .common import confirm_then_run, first_or_404, next_url


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
    return first_or_404(selectors.membership_list(organisation=access.organisation)
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
    return confirm_then_run(
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
    return first_or_404(selectors.invitation_list(organisation=access.organisation)
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
    back_url = next_url(request, reverse("panel:member-list", args=[access.organisation.pk]))
    return confirm_then_run(
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
