"""The event page's "At the door" card: how many of the sold tickets are in, and the
entries per quarter hour around the doors, drawn as inline SVG by the server with the
same look as the sales charts (views/sales.py) and given again as a table.

It is counted in the database (selectors.door_counts, selectors.entries_per_quarter_hour),
in a fixed number of queries whatever the number of scans."""

import datetime

from django.utils import formats, timezone

from .. import selectors
from .sales import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, _nice_top

QUARTER = datetime.timedelta(minutes=15)
#: Beyond this many quarter hours (a day), only the quarters with entries are drawn.
MAX_SLOTS = 96
#: The doors (or the start) of a date this close to the entries widen the chart to them.
NEAR = datetime.timedelta(hours=12)


def _floor(moment: datetime.datetime) -> datetime.datetime:
    moment = moment.astimezone(datetime.UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def entries_series(counts: dict, dates) -> list[dict]:
    """[{start, entries}] per quarter hour from the first entry to the last, widened to
    the doors and the start of the date they belong to, quarters without entries
    included unless that makes more than a day of them."""
    if not counts:
        return []
    first, last = min(counts), max(counts)
    for date in dates:
        opens = date.doors_at or date.starts_at
        if opens - NEAR <= first <= date.starts_at + NEAR:
            first = min(first, _floor(opens) - QUARTER)
            last = max(last, _floor(date.starts_at) + QUARTER)
            break
    slots = []
    moment = first
    while moment <= last and len(slots) <= MAX_SLOTS:
        slots.append(moment)
        moment += QUARTER
    if len(slots) > MAX_SLOTS:
        slots = sorted(counts)
    return [{"start": slot, "entries": counts.get(slot, 0)} for slot in slots]


def entries_chart(series: list[dict]) -> dict:
    """One bar per quarter hour, the time under about eight of them."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_top(max(entry["entries"] for entry in series))
    slot = plot_width / len(series)
    bar_width = max(slot * 0.7, 1)
    every = max(1, round(len(series) / 8))
    bars, labels = [], []
    for index, entry in enumerate(series):
        local = timezone.localtime(entry["start"])
        x = LEFT + index * slot
        height = plot_height * entry["entries"] / top
        bars.append(
            {
                "x": round(x + (slot - bar_width) / 2, 2),
                "y": round(TOP + plot_height - height, 2),
                "width": round(bar_width, 2),
                "height": round(height, 2),
                "title": f"{formats.time_format(local, 'TIME_FORMAT')}: {entry['entries']}",
            }
        )
        if index % every == 0:
            labels.append(
                {
                    "x": round(x + slot / 2, 2),
                    "text": formats.time_format(local, "H:i"),
                    "minor": len(labels) % 2 == 1,
                }
            )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right_x": WIDTH - RIGHT,
        "bottom_y": TOP + plot_height,
        "label_y": HEIGHT - 8,
        "bars": bars,
        "labels": labels,
        "ticks": [
            {"y": round(TOP + plot_height - plot_height * share, 2), "value": round(top * share)}
            # A middle line only where it falls on a whole number of entries.
            for share in ((0, 0.5, 1) if top % 2 == 0 else (0, 1))
        ],
    }


def door_card(event, dates) -> dict | None:
    """What the card shows, or None while the event has no check-in list (its scans
    belong to lists, so none either)."""
    if not event.checkin_lists.exists():
        return None
    counts = selectors.door_counts(event=event)
    sold, checked_in = counts["sold"], counts["checked_in"]
    series = entries_series(selectors.entries_per_quarter_hour(event=event), dates)
    return {
        "sold": sold,
        "checked_in": checked_in,
        "percent": round(100 * checked_in / sold) if sold else 0,
        "share": min(100, 100 * checked_in / sold) if sold else 0,
        "entries": [entry for entry in series if entry["entries"]],
        "entry_total": sum(entry["entries"] for entry in series),
        "chart": entries_chart(series) if series else None,
    }
