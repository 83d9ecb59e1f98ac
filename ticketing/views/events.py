"""Manager pages of events, their dates, zones and tariffs, and each date's live view.

An event page edits the event, moves its status and lists its dates: one date is shown
in full on the page, several in a month calendar whose days lead to each date's page (as
the knowledge base's "Tarification" tab becomes "Dates"). A date's page holds its zones
and tariffs, with the tariffs' advanced settings folded away, and its live numbers,
which ticketing/static/ticketing/live.js refreshes from `date-availability`.

VIEW_PRODUCT on the office sees every page; the services decide every change, and a
missing MANAGE_PRODUCT answers 403 (write controls are not shown to viewers)."""

import calendar
import datetime
from functools import partial

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache

from panel.access import Capability
from panel.mixins import organisation_view, post_only
from panel.views.common import confirm_then_run, next_url

from .. import selectors, services
from ..event_forms import DateForm, EventForm, SeatPlanForm, TariffForm, ZoneForm, time_zone_note
from ..models import EventStatus, OrderStatus
from ..services.catalogue import STATUS_MOVES
from ..services.seats import layout_text, seat_plan, seat_plan_set
from .common import found_or_404, require_manage, run_or_403, submit_form
from .entries import door_card

#: The buttons that move an event's status, by the status they lead to.
STATUS_ACTIONS = {
    EventStatus.ON_SALE: (gettext_lazy("Put on sale"), "btn-primary"),
    EventStatus.SALES_CLOSED: (gettext_lazy("Close sales"), "btn-secondary"),
    EventStatus.DRAFT: (gettext_lazy("Back to draft"), "btn-secondary"),
}


# -- helpers ----------------------------------------------------------------------------------


def _event_url(event) -> str:
    return reverse("ticketing:event-detail", args=[event.organisation_id, event.pk])


def _date_url(date) -> str:
    return reverse("ticketing:date-detail", args=[date.organisation_id, date.pk])


def _shares(item) -> None:
    """Percentages of the stacked bar (sold, held, left) of a zone or a date."""
    capacity = item.capacity or 0
    if not capacity:
        item.pct_sold = item.pct_held = item.pct_left = 0
        return
    item.pct_sold = round(100 * min(item.sold, capacity) / capacity, 2)
    item.pct_held = round(100 * min(item.held, capacity - min(item.sold, capacity)) / capacity, 2)
    item.pct_left = max(round(100 - item.pct_sold - item.pct_held, 2), 0)


def _with_numbers(dates, event):
    """The dates with their live numbers and bar shares, knowing their event."""
    dates = selectors.dates_with_availability(dates)
    now = timezone.now()
    for date in dates:
        date.event = event
        date.is_past = date.starts_at <= now
        _shares(date)
        for zone in date.zones.all():
            zone.date = date
            _shares(zone)
    return dates


# -- events -----------------------------------------------------------------------------------


@organisation_view()
def event_create(request, access, office_id):
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    require_manage(access, office)
    form = EventForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        ok, event = run_or_403(
            request,
            services.event_create,
            form=form,
            access=access,
            office=office,
            **form.details(),
        )
        if ok and form.image_change():
            ok, _event = run_or_403(
                request,
                services.event_update,
                form=form,
                access=access,
                event=event,
                **form.image_change(),
            )
        if ok:
            messages.success(request, _("Event created, as a draft. Add its first date now."))
            return redirect(_event_url(event) + "#dates")
        if event is not None:  # created, only its image was refused
            return redirect(_event_url(event))
    return render(request, "ticketing/event_create.html", {"office": office, "form": form})


def _calendar(request, dates) -> dict:
    """A month of the calendar: `?month=YYYY-MM`, else the month of the next date."""
    today = timezone.localdate()
    days = {}
    for date in dates:
        days.setdefault(timezone.localtime(date.starts_at).date(), []).append(date)
    try:
        year, month = (int(part) for part in request.GET.get("month", "").split("-"))
        first = datetime.date(year, month, 1)
        if not 1900 <= year <= 2200:
            raise ValueError(year)
    except ValueError:
        coming = [day for day in sorted(days) if day >= today] or sorted(days)
        first = (coming[0] if coming else today).replace(day=1)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    per_month: dict[datetime.date, int] = {}
    for day, on_day in days.items():
        per_month[day.replace(day=1)] = per_month.get(day.replace(day=1), 0) + len(on_day)
    return {
        "month": first,
        "previous": previous,
        "following": following,
        "weekdays": weeks[0],
        "weeks": [[_calendar_day(day, first, today, days) for day in week] for week in weeks],
        "in_month": per_month.get(first, 0),
        "months": [{"month": month, "count": per_month[month]} for month in sorted(per_month)],
    }


def _calendar_day(day, first, today, days) -> dict:
    return {
        "day": day,
        "in_month": day.month == first.month,
        "today": day == today,
        "dates": days.get(day, []),
    }


def _event_page(request, access, event, *, form=None, date_form=None, zone_form=None):
    office = event.office
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    dates = _with_numbers(event.dates.order_by("starts_at", "id"), event)
    context = {
        "event": event,
        "office": office,
        "can_manage": can_manage,
        "dates": dates,
        "single": dates[0] if len(dates) == 1 else None,
        "calendar": _calendar(request, dates) if len(dates) > 1 else None,
        "time_zone_note": time_zone_note(),
        "door": door_card(event, dates),
    }
    if can_manage:
        moves = STATUS_MOVES[event.status]
        context.update(
            form=form
            or EventForm(
                initial={
                    "title": event.title,
                    "description": event.description,
                    "venue": event.venue,
                }
            ),
            date_form=date_form or DateForm(prefix="date"),
            status_actions=[
                {"status": status_, "label": label, "style": style}
                for status_, (label, style) in STATUS_ACTIONS.items()
                if status_ in moves
            ],
            may_cancel=EventStatus.CANCELLED in moves,
        )
    if context["single"] is not None:
        context.update(_pricing_context(context["single"], can_manage, zone_form))
    return render(request, "ticketing/event_detail.html", context)


@organisation_view()
def event_detail(request, access, event_id):
    """The event editor. Its POST is the details form (title, description, venue, image)."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    if request.method != "POST":
        return _event_page(request, access, event)
    require_manage(access, event.office)
    form = EventForm(request.POST, request.FILES)
    if submit_form(
        request, form, services.event_update, access=access, event=event, success=_("Event saved.")
    ):
        return redirect(_event_url(event))
    event.refresh_from_db()
    return _event_page(request, access, event, form=form)


@organisation_view()
@post_only
def event_status(request, access, event_id):
    """Put on sale, close sales, back to draft (cancelling asks first: event-cancel)."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    require_manage(access, event.office)
    wanted = request.POST.get("status")
    if wanted in STATUS_ACTIONS:
        done = {
            EventStatus.ON_SALE: _("The event is on sale."),
            EventStatus.SALES_CLOSED: _("Sales are closed."),
            EventStatus.DRAFT: _("The event is a draft again: the shop no longer shows it."),
        }[wanted]
        run_or_403(
            request, services.event_update, access=access, event=event, status=wanted, success=done
        )
    return redirect(_event_url(event))


@organisation_view()
def event_cancel(request, access, event_id):
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    require_manage(access, event.office)
    back = _event_url(event)
    return confirm_then_run(
        request,
        title=_("Cancel an event"),
        question=_("Cancel %(event)s?") % {"event": event.title},
        detail=_(
            "Every date of the event is cancelled with all its orders, and every buyer is "
            "told by email. A cancelled event stays cancelled."
        ),
        button=_("Cancel the event"),
        keep_label=_("Keep the event"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            services.event_update,
            access=access,
            event=event,
            status=EventStatus.CANCELLED,
            success=_("The event is cancelled; buyers are being told."),
        ),
        done_url=back,
    )


@organisation_view()
def event_delete(request, access, event_id):
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    require_manage(access, event.office)
    return confirm_then_run(
        request,
        title=_("Delete an event"),
        question=_("Delete %(event)s?") % {"event": event.title},
        detail=_(
            "Its dates, zones and tariffs go with it. An event with tickets is cancelled instead."
        ),
        button=_("Delete the event"),
        cancel_url=_event_url(event),
        run=lambda: run_or_403(
            request, services.event_delete, access=access, event=event, success=_("Event deleted.")
        ),
        done_url=reverse("ticketing:office-detail", args=[access.organisation.pk, event.office_id]),
    )


@organisation_view()
def event_image(request, access, event_id):
    """The event's image, for the people who see the event."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    if not event.image:
        raise Http404()
    try:
        return FileResponse(event.image.open("rb"))
    except FileNotFoundError:
        raise Http404() from None


# -- dates ------------------------------------------------------------------------------------


@organisation_view()
@post_only
def date_create(request, access, event_id):
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    require_manage(access, event.office)
    form = DateForm(request.POST, prefix="date")
    call = partial(services.date_create, access=access, event=event)
    date = submit_form(request, form, call, success=_("Date added. Now give it its zones."))
    if date:
        return redirect(_date_url(date))
    return _event_page(request, access, event, date_form=form)


def _pricing_context(date, can_manage, zone_form=None) -> dict:
    """What the zones and tariffs of a date need on its page (or its event's page)."""
    context = {"date": date, "zones": list(date.zones.all())}
    if can_manage:
        context["zone_form"] = zone_form or ZoneForm(prefix="zone")
    return context


def _date_page(request, access, date, *, date_form=None, zone_form=None):
    event = date.event
    office = event.office
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    live = _with_numbers(event.dates.filter(pk=date.pk), event)[0]
    context = {
        "event": event,
        "office": office,
        "can_manage": can_manage,
        "time_zone_note": time_zone_note(),
        **_pricing_context(live, can_manage, zone_form),
    }
    if can_manage:
        context["date_form"] = date_form or DateForm.for_date(date)
    return render(request, "ticketing/date_detail.html", context)


@organisation_view()
def date_detail(request, access, date_id):
    """A date: its live numbers, zones and tariffs. Its POST changes the date's times."""
    date = found_or_404(selectors.date_for, access, date_id=date_id)
    if request.method != "POST":
        return _date_page(request, access, date)
    require_manage(access, date.event.office)
    form = DateForm(request.POST, prefix="date")
    call = partial(services.date_update, access=access, date=date)
    if submit_form(request, form, call, success=_("Date saved.")):
        return redirect(_date_url(date))
    date.refresh_from_db()
    return _date_page(request, access, date, date_form=form)


def _orders_of(date) -> int:
    orders = selectors.order_list(office=date.event.office, date=date.pk)
    return orders.filter(status__in=[OrderStatus.PENDING, OrderStatus.PAID]).count()


@organisation_view()
def date_cancel(request, access, date_id):
    date = found_or_404(selectors.date_for, access, date_id=date_id)
    require_manage(access, date.event.office)
    back = _date_url(date)
    count = _orders_of(date)

    def run():
        ok, touched = run_or_403(request, services.date_cancel, access=access, date=date)
        if ok:
            messages.success(
                request,
                ngettext(
                    "Date cancelled: %(n)d order is cancelled, its buyer is being emailed.",
                    "Date cancelled: %(n)d orders are cancelled, their buyers are being emailed.",
                    touched,
                )
                % {"n": touched},
            )
        return ok, touched

    return confirm_then_run(
        request,
        title=_("Cancel a date"),
        question=_("Cancel the date of %(when)s?") % {"when": _when(date)},
        detail=ngettext(
            "All its orders are cancelled (%(n)d order today), its seats are freed and every "
            "buyer is emailed. This cannot be undone.",
            "All its orders are cancelled (%(n)d orders today), its seats are freed and every "
            "buyer is emailed. This cannot be undone.",
            count,
        )
        % {"n": count},
        button=_("Cancel the date"),
        keep_label=_("Keep the date"),
        cancel_url=back,
        run=run,
        done_url=back,
    )


def _when(date) -> str:
    return date_format(timezone.localtime(date.starts_at), "DATETIME_FORMAT")


@organisation_view()
def date_delete(request, access, date_id):
    date = found_or_404(selectors.date_for, access, date_id=date_id)
    require_manage(access, date.event.office)
    return confirm_then_run(
        request,
        title=_("Delete a date"),
        question=_("Delete the date of %(when)s?") % {"when": _when(date)},
        detail=_(
            "Its zones and tariffs go with it. A date with tickets is cancelled instead, "
            "so that its buyers are told."
        ),
        button=_("Delete the date"),
        cancel_url=_date_url(date),
        run=lambda: run_or_403(
            request, services.date_delete, access=access, date=date, success=_("Date deleted.")
        ),
        done_url=_event_url(date.event),
    )


@never_cache
@organisation_view()
def date_availability(request, access, date_id):
    """The live numbers of a date, for live.js: capacity, held, sold and left per zone
    and per tariff."""
    date = found_or_404(selectors.date_for, access, date_id=date_id)
    live = _with_numbers(date.event.dates.filter(pk=date.pk), date.event)[0]

    def numbers(item):
        return {
            "capacity": item.capacity,
            "held": item.held,
            "sold": item.sold,
            "available": item.available,
        }

    return JsonResponse(
        {
            "id": live.pk,
            **numbers(live),
            "shares": {"sold": live.pct_sold, "held": live.pct_held, "left": live.pct_left},
            "zones": [
                {
                    "id": zone.pk,
                    **numbers(zone),
                    "shares": {"sold": zone.pct_sold, "held": zone.pct_held, "left": zone.pct_left},
                    "tariffs": [
                        {
                            "id": t.pk,
                            "cap": t.cap,
                            "held": t.held,
                            "sold": t.sold,
                            "available": t.available,
                        }
                        for t in zone.tariffs.all()
                    ],
                }
                for zone in live.zones.all()
            ],
        }
    )


# -- zones ------------------------------------------------------------------------------------


@organisation_view()
@post_only
def zone_create(request, access, date_id):
    date = found_or_404(selectors.date_for, access, date_id=date_id)
    require_manage(access, date.event.office)
    form = ZoneForm(request.POST, prefix="zone")
    back = next_url(request, _date_url(date))
    call = partial(services.zone_create, access=access, date=date)
    zone = submit_form(request, form, call, success=_("Zone added. Give it a tariff now."))
    if zone:
        return redirect(back + f"#zone-{zone.pk}")
    if back == _event_url(date.event):  # the form of a single date, on its event's page
        return _event_page(request, access, date.event, zone_form=form)
    return _date_page(request, access, date, zone_form=form)


@organisation_view()
def zone_edit(request, access, zone_id):
    """The zone's name and capacity, and its numbered seats: the switch, the plan's text
    and a preview of the plan with each seat's state. The plan's form posts `plan`."""
    zone = found_or_404(selectors.zone_for, access, zone_id=zone_id)
    office = zone.date.event.office
    require_manage(access, office)
    back = next_url(request, _date_url(zone.date))
    posted = request.POST if request.method == "POST" else None
    plan = seat_plan(zone)
    plan_text = layout_text(plan.seats) if plan.seats else ""
    plan_initial = {"numbered": zone.numbered, "layout": plan_text or ""}
    if posted is not None and "plan" in posted:
        form = ZoneForm(initial={"name": zone.name, "capacity": zone.capacity})
        plan_form = SeatPlanForm(posted, initial=plan_initial)
        call = partial(seat_plan_set, access=access, zone=zone)
        if submit_form(request, plan_form, call, success=_("Seating plan saved.")):
            here = reverse("ticketing:zone-edit", args=[zone.organisation_id, zone.pk])
            return redirect(f"{here}?{urlencode({'next': back})}#seats")
    else:
        form = ZoneForm(posted, initial={"name": zone.name, "capacity": zone.capacity})
        plan_form = SeatPlanForm(initial=plan_initial)
        if zone.numbered:
            form.fields["capacity"].disabled = True
            form.fields["capacity"].help_text = _(
                "The seats on sale in the plan below: change the plan to change it."
            )
        call = partial(services.zone_update, access=access, zone=zone)
        if form.is_bound and submit_form(request, form, call, success=_("Zone saved.")):
            return redirect(back + f"#zone-{zone.pk}")
    return render(
        request,
        "ticketing/zone_edit.html",
        {
            "zone": zone,
            "date": zone.date,
            "event": zone.date.event,
            "office": office,
            "form": form,
            "plan_form": plan_form,
            "plan": plan,
            "plan_text_lost": bool(plan.seats) and plan_text is None,
            "back": back,
        },
    )


@organisation_view()
def zone_delete(request, access, zone_id):
    zone = found_or_404(selectors.zone_for, access, zone_id=zone_id)
    require_manage(access, zone.date.event.office)
    back = next_url(request, _date_url(zone.date))
    return confirm_then_run(
        request,
        title=_("Delete a zone"),
        question=_("Delete the zone %(zone)s?") % {"zone": zone.name},
        detail=_("Its tariffs go with it. A zone with tickets cannot be deleted."),
        button=_("Delete the zone"),
        cancel_url=back,
        run=lambda: run_or_403(
            request, services.zone_delete, access=access, zone=zone, success=_("Zone deleted.")
        ),
        done_url=back,
    )


# -- tariffs ----------------------------------------------------------------------------------


def _tariff_page(request, access, zone, tariff=None):
    office = zone.date.event.office
    require_manage(access, office)
    office_forms = list(office.forms.order_by("name", "id"))
    back = next_url(request, _date_url(zone.date))
    form = TariffForm(request.POST or None, office_forms=office_forms, tariff=tariff)
    if tariff is None:
        call = partial(services.tariff_create, access=access, zone=zone)
        success = _("Tariff added.")
    else:
        call = partial(services.tariff_update, access=access, tariff=tariff)
        success = _("Tariff saved.")
    if form.is_bound and submit_form(
        request, form, call, success=success, field_map={"form": "linked_form"}
    ):
        return redirect(back + f"#zone-{zone.pk}")
    return render(
        request,
        "ticketing/tariff_form.html",
        {
            "zone": zone,
            "date": zone.date,
            "event": zone.date.event,
            "office": office,
            "tariff": tariff,
            "form": form,
            "back": back,
            "office_forms": office_forms,
            "time_zone_note": time_zone_note(),
        },
    )


@organisation_view()
def tariff_create(request, access, zone_id):
    return _tariff_page(request, access, found_or_404(selectors.zone_for, access, zone_id=zone_id))


@organisation_view()
def tariff_edit(request, access, tariff_id):
    tariff = found_or_404(selectors.tariff_for, access, tariff_id=tariff_id)
    return _tariff_page(request, access, tariff.zone, tariff)


@organisation_view()
def tariff_delete(request, access, tariff_id):
    tariff = found_or_404(selectors.tariff_for, access, tariff_id=tariff_id)
    require_manage(access, tariff.zone.date.event.office)
    back = next_url(request, _date_url(tariff.zone.date))
    return confirm_then_run(
        request,
        title=_("Delete a tariff"),
        question=_("Delete the tariff %(tariff)s?") % {"tariff": tariff.name},
        detail=_("A tariff with tickets cannot be deleted."),
        button=_("Delete the tariff"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            services.tariff_delete,
            access=access,
            tariff=tariff,
            success=_("Tariff deleted."),
        ),
        done_url=back,
    )


urlpatterns = [
    path("offices/<int:office_id>/events/new/", event_create, name="event-create"),
    path("events/<int:event_id>/", event_detail, name="event-detail"),
    path("events/<int:event_id>/status/", event_status, name="event-status"),
    path("events/<int:event_id>/cancel/", event_cancel, name="event-cancel"),
    path("events/<int:event_id>/delete/", event_delete, name="event-delete"),
    path("events/<int:event_id>/image/", event_image, name="event-image"),
    path("events/<int:event_id>/dates/new/", date_create, name="date-create"),
    path("dates/<int:date_id>/", date_detail, name="date-detail"),
    path("dates/<int:date_id>/availability/", date_availability, name="date-availability"),
    path("dates/<int:date_id>/cancel/", date_cancel, name="date-cancel"),
    path("dates/<int:date_id>/delete/", date_delete, name="date-delete"),
    path("dates/<int:date_id>/zones/new/", zone_create, name="zone-create"),
    path("zones/<int:zone_id>/edit/", zone_edit, name="zone-edit"),
    path("zones/<int:zone_id>/delete/", zone_delete, name="zone-delete"),
    path("zones/<int:zone_id>/tariffs/new/", tariff_create, name="tariff-create"),
    path("tariffs/<int:tariff_id>/edit/", tariff_edit, name="tariff-edit"),
    path("tariffs/<int:tariff_id>/delete/", tariff_delete, name="tariff-delete"),
]
