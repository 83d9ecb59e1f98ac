"""Manager pages of the ticket offices: the list with the creation form, an office's page
with its events, its settings, and deleting it.

Creating and deleting an office change what the organisation pays (administrators: the
services call `require_billing`); VIEW_PRODUCT on an office sees its pages, MANAGE_PRODUCT
changes its settings. Controls a person may not use are not shown, and their POST
answers 403 (404 for an office they do not see)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Min, Q
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Capability
from panel.mixins import organisation_view, post_only

from .. import selectors, services
from ..forms import OfficeCreateForm, OfficeDeleteForm, OfficeSettingsForm
from ..models import EventStatus, OrderStatus
from .common import found_or_404, require_manage, run_or_403, submit_form


def office_url(office) -> str:
    return reverse("ticketing:office-detail", args=[office.organisation_id, office.pk])


def shop_url(office) -> str:
    """The office's public shop; its path is known even while the shop's URLs are not."""
    try:
        return reverse("shop:office", args=[office.slug])
    except NoReverseMatch:
        return f"/shop/{office.slug}/"


def _upcoming(prefix: str) -> Q:
    return Q(**{f"{prefix}starts_at__gte": timezone.now(), f"{prefix}cancelled_at__isnull": True})


def _list_page(request, access, form=None):
    may_create = access.may_change_billing()
    upcoming = _upcoming("events__dates__")
    offices = selectors.office_list(access=access).annotate(
        event_count=Count("events", distinct=True),
        on_sale_count=Count("events", filter=Q(events__status=EventStatus.ON_SALE), distinct=True),
        upcoming_count=Count("events__dates", filter=upcoming, distinct=True),
        next_date=Min("events__dates__starts_at", filter=upcoming),
    )
    return render(
        request,
        "ticketing/office_list.html",
        {
            "offices": list(offices),
            "may_create": may_create,
            "form": form or OfficeCreateForm(),
        },
    )


@organisation_view()
def office_list(request, access):
    return _list_page(request, access)


@organisation_view()
@post_only
def office_create(request, access):
    if not access.may_change_billing():  # an administrator's act
        raise DjangoPermissionDenied()
    form = OfficeCreateForm(request.POST)
    office = submit_form(
        request,
        form,
        services.office_create,
        access=access,
        success=_("Ticket office created. Add its first event now."),
    )
    if office:
        return redirect(office_url(office))
    return _list_page(request, access, form)


@organisation_view()
def office_detail(request, access, office_id):
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    upcoming = _upcoming("dates__")
    events = office.events.annotate(
        date_count=Count("dates", distinct=True),
        upcoming_count=Count("dates", filter=upcoming, distinct=True),
        next_date=Min("dates__starts_at", filter=upcoming),
    ).order_by("title", "id")
    orders = dict(office.orders.values_list("status").annotate(n=Count("id")))
    return render(
        request,
        "ticketing/office_detail.html",
        {
            "office": office,
            "events": list(events),
            "can_manage": access.can(Capability.MANAGE_PRODUCT, office),
            "can_delete": access.may_change_billing(office),
            "shop_url": shop_url(office),
            "form_count": office.forms.count(),
            "pending_orders": orders.get(OrderStatus.PENDING, 0),
            "paid_orders": orders.get(OrderStatus.PAID, 0),
            "tab": "events",
        },
    )


@organisation_view()
def office_settings(request, access, office_id):
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    if request.method == "POST":
        require_manage(access, office)
        form = OfficeSettingsForm.for_office(office, request.POST)
        saved = submit_form(
            request,
            form,
            services.office_update,
            access=access,
            office=office,
            success=_("Settings saved."),
        )
        if saved:
            return redirect(request.path)
        office.refresh_from_db()
    else:
        form = OfficeSettingsForm.for_office(office)
    return render(
        request,
        "ticketing/office_settings.html",
        {
            "office": office,
            "form": form,
            "can_manage": can_manage,
            "shop_url": shop_url(office),
            "tab": "settings",
        },
    )


@organisation_view()
def office_delete(request, access, office_id):
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    if not access.may_change_billing(office):  # an administrator's act
        raise DjangoPermissionDenied()
    form = OfficeDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _result = run_or_403(
            request,
            services.office_delete,
            form=form,
            access=access,
            office=office,
            confirm_name=form.cleaned_data["confirm_name"],
        )
        if ok:
            messages.success(
                request, _("The ticket office %(name)s was deleted.") % {"name": office.name}
            )
            return redirect(reverse("ticketing:office-list", args=[access.organisation.pk]))
    return render(
        request,
        "ticketing/office_delete.html",
        {
            "office": office,
            "form": form,
            "event_count": office.events.count(),
            "order_count": office.orders.count(),
        },
    )


urlpatterns = [
    path("", office_list, name="office-list"),
    path("offices/new/", office_create, name="office-create"),
    path("offices/<int:office_id>/", office_detail, name="office-detail"),
    path("offices/<int:office_id>/settings/", office_settings, name="office-settings"),
    path("offices/<int:office_id>/delete/", office_delete, name="office-delete"),
]
