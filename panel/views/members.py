"""Manager UI: members, the products granted to one member directly, and invitations."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import selectors, services
from ..access import ADMIN_ROLES, Capability
from ..errors import PanelError
from ..forms import (
    GrantForm,
    InvitationForm,
    MemberRoleForm,
)
from ..mixins import organisation_view, post_only, run_service
from ..models import Role
from .common import (
    confirm_grant_removal,
    confirm_then_run,
    describe_grants,
    first_or_404,
    next_url,
    organisation_products_by_kind,
    product_name,
    submit_grant,
)


@organisation_view(Capability.MANAGE_MEMBERS)
def member_list(request, access):
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, invitation = run_service(
            request,
            services.invitation_create,
            form=form,
            access=access,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            success=_("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
        )
        if ok:
            return redirect("panel:member-list", org_id=access.organisation.pk)
    memberships = list(selectors.membership_list(organisation=access.organisation))
    for membership in memberships:
        membership.role_form = MemberRoleForm(
            initial={"role": membership.role}, prefix=f"m{membership.pk}"
        )
    return render(
        request,
        "panel/members/list.html",
        {
            "memberships": memberships,
            "invitations": selectors.invitation_list(organisation=access.organisation),
            "form": form,
        },
    )


def _membership(access, member_id):
    return first_or_404(
        selectors.membership_list(organisation=access.organisation).filter(pk=member_id)
    )


def _member_page(request, access, membership, *, grant_form=None):
    """The member page; a grant that fails re-renders it with its bound form."""
    organisation = access.organisation
    grants = describe_grants(
        selectors.direct_grant_list(membership=membership),
        delete_url_name="panel:member-grant-delete",
        url_args=[organisation.pk, membership.pk],
    )
    # A product the person already holds a direct grant on is not offered again.
    products_by_kind = organisation_products_by_kind(organisation, except_granted=grants)
    return render(
        request,
        "panel/members/detail.html",
        {
            "membership": membership,
            "sees_everything": membership.role in ADMIN_ROLES,
            "teams": selectors.team_list(organisation=organisation).filter(
                team_members__user_id=membership.user_id
            ),
            "grants": grants,
            "grant_form": grant_form or GrantForm(products_by_kind=products_by_kind),
            # A refused grant comes back with its form and error, whatever is left to offer.
            "has_products": grant_form is not None
            or any(products for _kind, products in products_by_kind),
        },
    )


@organisation_view(Capability.MANAGE_MEMBERS)
def member_detail(request, access, member_id):
    return _member_page(request, access, _membership(access, member_id))


@organisation_view(Capability.MANAGE_MEMBERS)
@post_only
def member_grant_create(request, access, member_id):
    membership = _membership(access, member_id)
    return submit_grant(
        request,
        access,
        recipient={"user": membership.user},
        success=_("Access granted to %(email)s.") % {"email": membership.user.email},
        done_url=reverse("panel:member-detail", args=[access.organisation.pk, membership.pk]),
        rerender=lambda form: _member_page(request, access, membership, grant_form=form),
    )


@organisation_view(Capability.MANAGE_MEMBERS)
def member_grant_delete(request, access, member_id, grant_id):
    membership = _membership(access, member_id)
    grant = first_or_404(selectors.direct_grant_list(membership=membership).filter(pk=grant_id))
    return confirm_grant_removal(
        request,
        access,
        grant,
        question=_("Remove the direct access of %(email)s to %(product)s?")
        % {"email": membership.user.email, "product": product_name(grant)},
        detail=_("They lose access to it at once, unless one of their teams gives it too."),
        back_url=reverse("panel:member-detail", args=[access.organisation.pk, membership.pk]),
    )


@organisation_view(Capability.MANAGE_MEMBERS)
@post_only
def member_role(request, access, member_id):
    membership = _membership(access, member_id)
    form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        run_service(
            request,
            services.membership_change_role,
            access=access,
            membership=membership,
            role=form.cleaned_data["role"],
            success=_("%(email)s is now %(role)s.")
            % {
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
    try:
        services.ensure_removable(membership)
    except PanelError as error:
        messages.error(request, error.detail)
        return redirect(members_url)
    return confirm_then_run(
        request,
        title=_("Remove a member"),
        question=_("Remove %(email)s from %(org)s?")
        % {
            "email": membership.user.email,
            "org": access.organisation.name,
        },
        detail=_("They lose access to the organisation, its teams and its products at once."),
        button=_("Remove member"),
        cancel_url=members_url,
        done_url=members_url,
        run=lambda: run_service(
            request,
            services.membership_remove,
            access=access,
            membership=membership,
            success=_("%(email)s was removed.") % {"email": membership.user.email},
        ),
    )


def _invitation(access, invitation_id):
    return first_or_404(
        selectors.invitation_list(organisation=access.organisation).filter(pk=invitation_id)
    )


@organisation_view(Capability.MANAGE_MEMBERS)
@post_only
def invitation_resend(request, access, invitation_id):
    invitation = _invitation(access, invitation_id)
    run_service(
        request,
        services.invitation_resend,
        access=access,
        invitation=invitation,
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
        cancel_url=back_url,
        done_url=back_url,
        run=lambda: run_service(
            request,
            services.invitation_revoke,
            access=access,
            invitation=invitation,
            success=_("Invitation revoked."),
        ),
    )
