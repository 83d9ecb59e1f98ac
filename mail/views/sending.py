"""Service Mail pages of the outgoing limit: the Sending card of an address (its meter and
charts), the card of the addresses closest to their limit on the service page, and the
mail log of an address."""

from datetime import timedelta

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import formats

from panel.mixins import organisation_view
from panel.views.common import PAGE_SIZE

from .. import selectors
from ..forms import MailLogFilterForm
from ..services.sending import addresses_near_limit, sending_meter
from .common import address_or_404, service_or_404

#: Percentages of a limit from which its bar warns, then shows it reached.
WARNING_PERCENT, DANGER_PERCENT = 80, 100
#: Recipients a log row shows before "and N more".
RECIPIENTS_SHOWN = 3
#: The charts' drawing units: one slot per bar, the bar and the height of the plot.
SLOT, BAR, HEIGHT, TOP_GAP = 10, 7, 100, 4
MIN_BAR = 1.5


def meter_level(percent: int) -> str:
    """How a limit's bar looks: "danger" once reached, "warning" when close."""
    if percent >= DANGER_PERCENT:
        return "danger"
    return "warning" if percent >= WARNING_PERCENT else ""


def _scale_top(peak: int) -> int:
    """The top of a chart's scale: the smallest 1, 2 or 5 times a power of ten that
    holds `peak`."""
    power = 1
    while True:
        for step in (1, 2, 5):
            if step * power >= peak:
                return step * power
        power *= 10


def _number(value: float) -> str:
    """SVG and CSS want a dot as decimal separator, whatever the language of the page."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def bar_chart(points: list[dict]) -> dict:
    """Geometry of a stacked bar chart drawn as inline SVG: each point has `accepted`,
    `deferred`, `title` (its tooltip) and `label` (under the bar, may be empty), with
    optionally a second line `sublabel` and `minor` for a label a narrow chart leaves out."""
    top = _scale_top(max((p["accepted"] + p["deferred"] for p in points), default=0))
    plot = HEIGHT - TOP_GAP

    def height(value):
        return min(plot, max(MIN_BAR, value / top * plot)) if value else 0

    bars = []
    for i, point in enumerate(points):
        accepted = height(point["accepted"])
        deferred = min(height(point["deferred"]), plot - accepted)
        bars.append(
            {
                **point,
                "slot_x": _number(i * SLOT),
                "x": _number(i * SLOT + (SLOT - BAR) / 2),
                "accepted_y": _number(HEIGHT - accepted),
                "accepted_height": _number(accepted),
                "deferred_y": _number(HEIGHT - accepted - deferred),
                "deferred_height": _number(deferred),
                "left": _number(i * 100 / len(points)),
            }
        )
    return {
        "bars": bars,
        "width": len(points) * SLOT,
        "height": HEIGHT,
        "slot": SLOT,
        "bar": BAR,
        "label_width": _number(100 / max(len(points), 1)),
        "top": top,
        "top_y": TOP_GAP,
        "half": top // 2 if top % 2 == 0 else None,
        "half_y": _number(TOP_GAP + plot / 2),
        "accepted": sum(p["accepted"] for p in points),
        "deferred": sum(p["deferred"] for p in points),
    }


def sending_card(address) -> dict:
    """The Sending card of an address page: the meter over the last 24 hours and the
    charts by hour and by day (one query)."""
    meter = sending_meter(address=address)
    hourly = bar_chart(
        [
            {
                "accepted": accepted,
                "deferred": deferred,
                # Every third hour is named under the chart, every sixth on a narrow one;
                # each bar names its own hour in its tooltip.
                "label": f"{hour:%H:%M}" if hour.hour % 3 == 0 else "",
                "minor": hour.hour % 6 != 0,
                "title": "{day} {start}–{end}".format(
                    day=formats.date_format(hour, "SHORT_DATE_FORMAT"),
                    start=f"{hour:%H:%M}",
                    end=f"{hour + timedelta(hours=1):%H:%M}",
                ),
            }
            for hour, accepted, deferred in meter.hourly
        ]
    )
    daily = bar_chart(
        [
            {
                "accepted": accepted,
                "deferred": deferred,
                "label": formats.date_format(day, "D"),
                "sublabel": formats.date_format(day, "j"),
                "title": formats.date_format(day, "DATE_FORMAT"),
            }
            for day, accepted, deferred in meter.daily
        ]
    )
    return {
        "meter": meter,
        "level": meter_level(meter.percent),
        "hourly": hourly,
        "daily": daily,
        "sent": bool(daily["accepted"] or daily["deferred"]),
    }


def near_limit_card(service) -> list:
    """The addresses of a service closest to their limit, each with the look of its bar."""
    rows = addresses_near_limit(service=service)
    for address in rows:
        address.level = meter_level(address.percent)
    return rows


@organisation_view()
def address_mail_log(request, access, service_id, local_part):
    service = service_or_404(access, service_id)
    address = address_or_404(access, service, local_part)
    form = MailLogFilterForm(request.GET or None)
    filters = form.filters()
    invalid = form.is_bound and not form.is_valid()
    # A wrong filter (a range that ends before it starts) lists nothing rather than all.
    entries = selectors.mail_log_list(address=address, **filters)
    if invalid:
        entries = entries.none()
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page:
        recipients = selectors.mail_log_recipients(entry)
        entry.shown, entry.hidden = recipients[:RECIPIENTS_SHOWN], recipients[RECIPIENTS_SHOWN:]
        entry.more = max(0, entry.recipient_count - len(entry.shown))
        entry.unlisted = max(0, entry.recipient_count - len(recipients))
    return render(
        request,
        "mail/mail_log.html",
        {
            "service": service,
            "address": address,
            "form": form,
            "page": page,
            "filtered": bool(filters) or invalid,
            "filter_invalid": invalid,
            "retention_days": settings.MAIL_LOG_RETENTION_DAYS,
        },
    )
