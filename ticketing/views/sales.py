"""An event's sales page in the Manager: tickets sold per day with the running total,
revenue per tariff, and how full each zone is, drawn as inline SVG by the server (no
chart library, nothing to load) and given again as tables with the same numbers, for
screen readers and for copying.

Everything is counted in the database, in a fixed number of queries whatever the number
of orders. A ticket is sold once its order is paid (free orders are paid at once), on
the day of the payment in the panel's time zone; pay-later orders still waiting are
"held" in the zones.
"""

import datetime
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.urls import path
from django.utils import formats, timezone

from panel.access import Capability
from panel.mixins import organisation_view

from .. import selectors
from ..models import OrderStatus, Ticket
from .common import found_or_404

#: The drawing area of the charts, in SVG units (the SVG scales to its box).
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 14, 34
#: Beyond this many days the bars are grouped by week, so that they stay readable.
MAX_DAYS = 92


def _sold(event):
    return Ticket.objects.filter(
        zone__date__event=event,
        organisation_id=event.organisation_id,
        cancelled=False,
        order__status=OrderStatus.PAID,
    )


def sales_per_day(event) -> list[dict]:
    """[{day, sold, cumulative}] from the first day with a sale to the last, days
    without sales included (they are bars of height 0); one query."""
    rows = (
        _sold(event)
        .annotate(day=TruncDate("order__paid_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(sold=Count("id"))
        .order_by("day")
    )
    counts = {row["day"]: row["sold"] for row in rows}
    if not counts:
        return []
    first, last = min(counts), max(counts)
    days, total = [], 0
    day = first
    while day <= last:
        total += counts.get(day, 0)
        days.append({"day": day, "sold": counts.get(day, 0), "cumulative": total})
        day += datetime.timedelta(days=1)
    return days


def by_week(days: list[dict]) -> list[dict]:
    """The same series grouped by week (Monday first), for long sales periods."""
    weeks: list[dict] = []
    for entry in days:
        monday = entry["day"] - datetime.timedelta(days=entry["day"].weekday())
        if not weeks or weeks[-1]["day"] != monday:
            weeks.append({"day": monday, "sold": 0, "cumulative": 0})
        weeks[-1]["sold"] += entry["sold"]
        weeks[-1]["cumulative"] = entry["cumulative"]
    return weeks


def revenue_per_tariff(event) -> list[dict]:
    """[{date, zone, tariff, sold, revenue}], one query."""
    rows = (
        _sold(event)
        .values("tariff_id", "tariff__name", "zone__name", "zone__date__starts_at")
        .annotate(sold=Count("id"), revenue=Sum("price"))
        .order_by("zone__date__starts_at", "zone_id", "tariff_id")
    )
    return [
        {
            "date": row["zone__date__starts_at"],
            "zone": row["zone__name"],
            "tariff": row["tariff__name"],
            "sold": row["sold"],
            "revenue": row["revenue"] or Decimal("0"),
        }
        for row in rows
    ]


def _nice_top(value: int) -> int:
    """A round value at or above `value` for the top of an axis (1, 2, 5, 10, 20 ...)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def day_chart(series: list[dict], *, weekly: bool) -> dict:
    """Bars for the sales of each day (or week), and a line for the running total on its
    own scale (right axis)."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_bar = _nice_top(max(entry["sold"] for entry in series))
    top_total = _nice_top(series[-1]["cumulative"])
    slot = plot_width / len(series)
    bar_width = max(slot * 0.7, 1)
    bars, points, labels = [], [], []
    every = max(1, round(len(series) / 8))  # about eight dates along the axis
    for index, entry in enumerate(series):
        x = LEFT + index * slot
        height = plot_height * entry["sold"] / top_bar
        bars.append(
            {
                "x": round(x + (slot - bar_width) / 2, 2),
                "y": round(TOP + plot_height - height, 2),
                "width": round(bar_width, 2),
                "height": round(height, 2),
                "title": f"{formats.date_format(entry['day'], 'SHORT_DATE_FORMAT')}: "
                f"{entry['sold']}",
            }
        )
        cx = x + slot / 2
        cy = TOP + plot_height - plot_height * entry["cumulative"] / top_total
        points.append(f"{cx:.2f},{cy:.2f}")
        if index % every == 0:
            labels.append(
                {
                    "x": round(cx, 2),
                    "text": formats.date_format(entry["day"], "j M"),
                    "minor": len(labels) % 2 == 1,  # hidden on narrow screens
                }
            )
    ticks = [
        {
            "y": round(TOP + plot_height - plot_height * share, 2),
            "left": round(top_bar * share),
            "right": round(top_total * share),
        }
        for share in (0, 0.5, 1)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right_x": WIDTH - RIGHT,
        "bottom_y": TOP + plot_height,
        "label_y": HEIGHT - 8,
        "bars": bars,
        "line": " ".join(points),
        "labels": labels,
        "ticks": ticks,
        "weekly": weekly,
    }


def zone_chart(dates) -> dict:
    """One bar per zone: sold, then held, against its capacity."""
    rows = []
    several_dates = len(dates) > 1
    for date in dates:
        moment = formats.date_format(timezone.localtime(date.starts_at), "SHORT_DATETIME_FORMAT")
        for zone in date.zones.all():
            capacity = zone.capacity or 0
            rows.append(
                {
                    "date": moment,
                    "name": f"{moment} · {zone.name}" if several_dates else zone.name,
                    "zone": zone.name,
                    "capacity": capacity,
                    "sold": zone.sold,
                    "held": zone.held,
                    "left": zone.available,
                    "percent": round(100 * zone.sold / capacity) if capacity else 0,
                    "sold_share": min(100, 100 * zone.sold / capacity) if capacity else 0,
                    "held_share": min(100, 100 * zone.held / capacity) if capacity else 0,
                }
            )
    for row in rows:
        row["held_at"] = row["sold_share"]
        row["held_share"] = min(row["held_share"], 100 - row["sold_share"])
    return {"rows": rows}


@organisation_view()
def event_sales(request, access, event_id):
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    office = event.office
    days = sales_per_day(event)
    weekly = len(days) > MAX_DAYS
    series = by_week(days) if weekly else days
    dates = selectors.dates_with_availability(event.dates.order_by("starts_at", "id"))
    tariffs = revenue_per_tariff(event)
    return render(
        request,
        "ticketing/event_sales.html",
        {
            "office": office,
            "event": event,
            "days": [entry for entry in days if entry["sold"]],
            "sold_total": days[-1]["cumulative"] if days else 0,
            "chart": day_chart(series, weekly=weekly) if series else None,
            "zones": zone_chart(dates),
            "tariffs": tariffs,
            "revenue_total": sum((row["revenue"] for row in tariffs), Decimal("0")),
            "can_manage": access.can(Capability.MANAGE_PRODUCT, office),
            "tab": "orders",
        },
    )


urlpatterns = [
    path("events/<int:event_id>/sales/", event_sales, name="event-sales"),
]
