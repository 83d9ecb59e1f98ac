"""Manager pages of an office's orders: the list with its search and filters, and an
order's page with its tickets and answers, where it is marked paid, cancelled or its
tickets sent again.

The list answers in a bounded number of queries whatever the number of orders: one page
of orders with their tickets prefetched. VIEW_PRODUCT on the office sees the orders;
MANAGE_PRODUCT acts on them (services/sales.py checks it again)."""

from django import forms
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from panel import selectors as panel_selectors
from panel.access import Capability
from panel.mixins import organisation_view, post_only
from panel.views.common import PAGE_SIZE, confirm_then_run, job_label
from panel.views.jobs import job_state

from .. import exports, secrets, selectors, services
from ..forms import MarkPaidForm, OrderFilterForm
from ..models import OrderStatus, Ticket
from ..services.forms import field_order_key
from .common import found_or_404, require_manage, run_or_403
from .offices import shop_url


def order_url(order) -> str:
    return reverse("ticketing:order-detail", args=[order.organisation_id, order.pk])


def _date_choices(office) -> list[tuple[int, str]]:
    """The office's dates for the filter, soonest first: "Event · date"."""
    choices = []
    for event in office.events.prefetch_related("dates"):
        for date in event.dates.all():
            moment = formats.date_format(
                timezone.localtime(date.starts_at), "SHORT_DATETIME_FORMAT"
            )
            choices.append((date.starts_at, date.pk, f"{event.title} · {moment}"))
    return [(pk, label) for _starts, pk, label in sorted(choices)]


def _summarise(order) -> None:
    """What the list shows of an order's tickets: how many, and for which dates."""
    tickets = list(order.tickets.all())
    if order.status != OrderStatus.CANCELLED:  # a cancelled order shows what it was
        tickets = [ticket for ticket in tickets if not ticket.cancelled]
    order.ticket_count = len(tickets)
    dates = {ticket.zone.date.pk: ticket.zone.date for ticket in tickets}
    order.dates = sorted(dates.values(), key=lambda date: date.starts_at)


class ExportForm(forms.Form):
    """What to export: an event (or one of its dates), which rows, which file."""

    event = forms.TypedChoiceField(label=gettext_lazy("Event"), coerce=int)
    date = forms.TypedChoiceField(
        label=gettext_lazy("Date"), required=False, coerce=int, empty_value=None
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Rows"),
        choices=[
            ("tickets", gettext_lazy("Tickets and answers")),
            ("orders", gettext_lazy("Orders")),
            ("guests", gettext_lazy("Guests")),
            ("checkins", gettext_lazy("Check-in scans")),
        ],
    )
    format = forms.ChoiceField(
        label=gettext_lazy("File"), choices=[("xlsx", gettext_lazy("Excel (XLSX)")), ("csv", "CSV")]
    )

    def __init__(self, *args, events, dates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [(event.pk, event.title) for event in events]
        self.fields["date"].choices = [("", gettext_lazy("All dates")), *dates]


@organisation_view()
def order_list(request, access, office_id):
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    return _order_list_page(request, access, office)


def _order_list_page(request, access, office, *, export_form=None):
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    dates = _date_choices(office)
    events = list(office.events.order_by("title", "id"))
    if can_manage and export_form is None:
        export_form = ExportForm(events=events, dates=dates)
    form = OrderFilterForm(request.GET or None, dates=dates)
    invalid = form.is_bound and not form.is_valid()
    orders = selectors.order_list(office=office, **form.filters()).prefetch_related(
        Prefetch("tickets", queryset=Ticket.objects.select_related("zone__date__event"))
    )
    if invalid:  # a filter that cannot apply lists nothing rather than everything
        orders = orders.none()
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    for order in page:
        _summarise(order)
    return render(
        request,
        "ticketing/order_list.html",
        {
            "office": office,
            "form": form,
            "page": page,
            "filtered": bool(form.filters()) or invalid,
            "invalid": invalid,
            "can_manage": can_manage,
            "export_form": export_form if can_manage else None,
            "events": events,
            "shop_url": shop_url(office),
            "tab": "orders",
        },
    )


@organisation_view()
@post_only
def export_start(request, access, office_id):
    """Start an export Job from the orders page, then follow it on its own page."""
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    require_manage(access, office)
    events = office.events.order_by("title", "id")
    form = ExportForm(request.POST, events=events, dates=_date_choices(office))
    if form.is_valid():
        data = form.cleaned_data
        event = office.events.get(pk=data["event"])
        ok, job = run_or_403(
            request,
            exports.export_start,
            form=form,
            access=access,
            event=event,
            kind=data["kind"],
            format=data["format"],
            date=data["date"],
        )
        if ok:
            return redirect("ticketing:export-job", office.organisation_id, office.pk, job.pk)
    return _order_list_page(request, access, office, export_form=form)


@organisation_view()
def export_job(request, access, office_id, job_id):
    """An export's progress, refreshed live by panel.js, and its file once it is built."""
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    job = panel_selectors.job_list(access=access).filter(pk=job_id, kind=exports.EXPORT_JOB).first()
    if job is None or not office.events.filter(pk=job.params.get("event")).exists():
        raise Http404()
    job.label = job_label(job)
    event = office.events.get(pk=job.params["event"])
    return render(
        request,
        "ticketing/export_job.html",
        {
            "office": office,
            "event": event,
            "job": job,
            "state": job_state(job, access.organisation.pk),
            "kind_label": dict(ExportForm.base_fields["kind"].choices).get(job.params.get("kind")),
            "tab": "orders",
        },
    )


def _answers(ticket) -> list[dict]:
    """The ticket's answers in the form's display order; answers to questions removed
    since come last."""
    answers = dict(ticket.answers or {})
    form = ticket.tariff.form
    fields = sorted(form.fields.all(), key=field_order_key) if form else []
    shown = []
    for field in fields:
        value = answers.pop(str(field.pk), None)
        if isinstance(value, list):
            value = ", ".join(value)
        shown.append({"label": field.label, "value": value, "on_ticket": field.show_on_ticket})
    for value in answers.values():
        if isinstance(value, list):
            value = ", ".join(value)
        shown.append({"label": _("A question no longer asked"), "value": value, "on_ticket": False})
    return shown


def buyer_page_url(order) -> str | None:
    """The buyer's own page of the order, when the shop serves it."""
    try:
        path_ = reverse("shop:order-detail", args=[order.office.slug, order.code])
    except NoReverseMatch:
        return None
    return f"{path_}?token={secrets.order_token(order)}"


def _order_page(request, access, order, *, paid_form=None):
    office = order.office
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    tickets = list(selectors.order_tickets(order))
    for ticket in tickets:
        ticket.shown_answers = _answers(ticket)
    now = timezone.now()
    overdue = (
        order.status == OrderStatus.PENDING
        and order.payment_deadline is not None
        and order.payment_deadline <= now
    )
    context = {
        "office": office,
        "order": order,
        "tickets": tickets,
        "can_manage": can_manage,
        "overdue": overdue,
        "buyer_page_url": buyer_page_url(order),
        "tab": "orders",
    }
    if can_manage:
        context.update(
            may_mark_paid=order.status == OrderStatus.PENDING,
            may_cancel=order.status != OrderStatus.CANCELLED,
            may_resend=order.status == OrderStatus.PAID,
            paid_form=paid_form or MarkPaidForm(),
        )
    return render(request, "ticketing/order_detail.html", context)


@organisation_view()
def order_detail(request, access, order_id):
    order = found_or_404(selectors.order_for, access, order_id=order_id)
    return _order_page(request, access, order)


@organisation_view()
@post_only
def order_mark_paid(request, access, order_id):
    order = found_or_404(selectors.order_for, access, order_id=order_id)
    require_manage(access, order.office)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        return _order_page(request, access, order, paid_form=form)
    run_or_403(
        request,
        services.order_mark_paid,
        access=access,
        order=order,
        reference=form.cleaned_data["reference"],
        success=_("Order %(code)s is paid: its tickets are being emailed to %(email)s.")
        % {"code": order.code, "email": order.buyer_email},
    )
    return redirect(order_url(order))


@organisation_view()
def order_cancel(request, access, order_id):
    order = found_or_404(selectors.order_for, access, order_id=order_id)
    require_manage(access, order.office)
    back = order_url(order)
    seats = order.tickets.filter(cancelled=False).count()
    return confirm_then_run(
        request,
        title=_("Cancel an order"),
        question=_("Cancel the order %(code)s of %(name)s?")
        % {"code": order.code, "name": order.buyer_name},
        detail=ngettext(
            "Its %(n)d seat goes back on sale and %(email)s is told by email. Cancelling "
            "does not refund a payment. This cannot be undone.",
            "Its %(n)d seats go back on sale and %(email)s is told by email. Cancelling "
            "does not refund a payment. This cannot be undone.",
            seats,
        )
        % {"n": seats, "email": order.buyer_email},
        button=_("Cancel the order"),
        keep_label=_("Keep the order"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            services.order_cancel,
            access=access,
            order=order,
            success=_("Order cancelled: its seats are free again and the buyer is being told."),
        ),
        done_url=back,
    )


@organisation_view()
@post_only
def order_resend(request, access, order_id):
    order = found_or_404(selectors.order_for, access, order_id=order_id)
    require_manage(access, order.office)
    run_or_403(
        request,
        services.order_resend,
        access=access,
        order=order,
        success=_("The tickets are being sent again to %(email)s.") % {"email": order.buyer_email},
    )
    return redirect(order_url(order))


urlpatterns = [
    path("offices/<int:office_id>/orders/", order_list, name="order-list"),
    path("offices/<int:office_id>/exports/", export_start, name="export-start"),
    path("offices/<int:office_id>/exports/<int:job_id>/", export_job, name="export-job"),
    path("orders/<int:order_id>/", order_detail, name="order-detail"),
    path("orders/<int:order_id>/mark-paid/", order_mark_paid, name="order-mark-paid"),
    path("orders/<int:order_id>/cancel/", order_cancel, name="order-cancel"),
    path("orders/<int:order_id>/resend/", order_resend, name="order-resend"),
]
