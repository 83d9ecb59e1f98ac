"""Manager UI: activity."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .. import selectors, services
from ..access import Capability
from ..forms import (
    ActivityFilterForm,
)
from ..mixins import organisation_view, post_only, run_service
from .common import ACTIVITY_LABELS, PAGE_SIZE, activity_details, activity_kind_choices


def _activity_filter_form(request, access):
    organisation = access.organisation
    kinds = selectors.activity_kinds(organisation=organisation)
    form = ActivityFilterForm(
        request.GET or request.POST or None,
        people=selectors.activity_actors(organisation=organisation),
        kinds=kinds,
    )
    # People choose a kind by its name, not by its code (`mail.address`).
    kind = form.fields["kind"]
    kind.choices = kind.choices[:1] + activity_kind_choices(kinds)
    return form


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
    return {
        "bars": bars,
        "peak": peak,
        "width": width,
        "height": height,
        "total": sum(point["count"] for point in series),
    }


@organisation_view(Capability.VIEW_ACTIVITY)
def activity_list(request, access):
    form = _activity_filter_form(request, access)
    events = selectors.activity_list(organisation=access.organisation, **form.filters())
    # A filter that cannot apply (an end before the start) lists nothing rather than
    # everything, which would look like its result.
    invalid = form.is_bound and not form.is_valid()
    if invalid:
        events = events.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.label = ACTIVITY_LABELS.get(event.code, "")
        event.details = activity_details(event.data)
    return render(
        request,
        "panel/activity/list.html",
        {
            "form": form,
            "page": page,
            "chart": _bar_chart(selectors.activity_per_day(events=events)),
            "filtered": bool(form.filters()) or invalid,
            "invalid": invalid,
            "can_export": access.can(Capability.EXPORT_ACTIVITY) and not invalid,
        },
    )


@organisation_view(Capability.EXPORT_ACTIVITY)
@post_only
def activity_export(request, access):
    form = _activity_filter_form(request, access)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("Correct the filters before exporting."))
        return redirect("panel:activity-list", org_id=access.organisation.pk)
    ok, job = run_service(
        request,
        services.activity_export_start,
        access=access,
        filters=form.export_params(),
        success=_("The export has started. You can leave this page; it keeps running."),
    )
    if not ok:
        return redirect("panel:activity-list", org_id=access.organisation.pk)
    return redirect("panel:job-detail", org_id=access.organisation.pk, job_id=job.pk)
