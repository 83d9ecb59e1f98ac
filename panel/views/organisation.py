"""Manager UI: one organisation."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .. import selectors, services
from ..access import Capability
from ..forms import (
    DeleteOrganisationForm,
    OrganisationForm,
    TransferForm,
)
from ..mixins import LAST_ORGANISATION_KEY, organisation_view, post_only, run_service
from ..products import dashboard_cards


@organisation_view()
def organisation_dashboard(request, access):
    return render(
        request,
        "panel/organisation/dashboard.html",
        {
            "sections": selectors.organisation_products(access=access),
            "may_order": access.can(Capability.CHANGE_ORGANISATION),
            "cards": dashboard_cards(access=access),
        },
    )


def _settings_page(request, access, *, rename_form=None, transfer_form=None):
    memberships = list(selectors.membership_list(organisation=access.organisation))
    return render(
        request,
        "panel/organisation/settings.html",
        {
            "rename_form": rename_form
            or OrganisationForm(initial={"name": access.organisation.name}),
            "transfer_form": transfer_form or TransferForm(memberships=memberships),
            "can_transfer": access.can(Capability.TRANSFER_LEGAL_REPRESENTATIVE),
            "can_delete": access.can(Capability.DELETE_ORGANISATION),
            "legal_representative": next(
                (m.user for m in memberships if m.is_legal_representative), None
            ),
        },
    )


@organisation_view(Capability.CHANGE_ORGANISATION)
def organisation_settings(request, access):
    if request.method == "POST":
        form = OrganisationForm(request.POST)
        if form.is_valid():
            ok, _org = run_service(
                request,
                services.organisation_rename,
                form=form,
                access=access,
                name=form.cleaned_data["name"],
                success=_("Organisation renamed."),
            )
            if ok:
                return redirect("panel:organisation-settings", org_id=access.organisation.pk)
        return _settings_page(request, access, rename_form=form)
    return _settings_page(request, access)


@organisation_view(Capability.TRANSFER_LEGAL_REPRESENTATIVE)
@post_only
def organisation_transfer(request, access):
    memberships = selectors.membership_list(organisation=access.organisation)
    form = TransferForm(request.POST, memberships=memberships)
    if form.is_valid():
        membership = form.cleaned_data["membership"]
        ok, _m = run_service(
            request,
            services.legal_representative_transfer,
            form=form,
            access=access,
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
            request,
            services.organisation_delete,
            form=form,
            access=access,
            confirm_name=form.cleaned_data["confirm_name"],
        )
        if ok:
            request.session.pop(LAST_ORGANISATION_KEY, None)
            messages.success(request, _("The organisation %(name)s was deleted.") % {"name": name})
            return redirect("panel:home")
    return render(request, "panel/organisation/delete.html", {"form": form})
