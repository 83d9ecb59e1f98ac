"""What a campaign's send did, as its customer reads it: the figures of its report, the
list of its recipients with their state, and that list as a CSV file.

The rules, written here once:
- `sent` recipients either stayed `delivered` or came back as a bounce (hard or soft):
  delivered + bounced = sent. `failed` are those the server refused while sending (a
  5xx, or a 4xx until the last attempt), counted apart; `skipped` are those who left
  the lists between scheduling and sending.
- Opens and clicks of machines (mail privacy proxies, link scanners: `machine` events)
  are counted apart and left out of every rate. The unique opens and clicks are the
  recipients' first human open and click (a click implies an open, as tracking
  records it), so a person whose mail program blocks images but who clicked has opened.
- A rate is None when it cannot mean anything: nothing delivered yet, or the campaign
  did not track what it would measure (opens, clicks).
- Time series count human opens and clicks, and emails sent, per slot of time since the
  send started; the slot grows with the span shown (ten seconds in the first quarter of
  an hour, a minute in the first two hours, ten minutes in the first day, an hour in
  the first week, then a day and a week), so a chart never has more than about 170
  points.
- The report is a handful of aggregate queries whatever the campaign's size; the
  recipients list two per page; the CSV two per CHUNK recipients, whatever their number.
"""

import csv
import datetime
import io
from collections.abc import Iterator

from django.db.models import Count, DateTimeField, F, FloatField, Func, Max, Q, Value
from django.db.models.functions import Floor
from django.utils import timezone

from ..models import (
    Campaign,
    CampaignEvent,
    CampaignEventKind,
    CampaignRecipient,
    CampaignStatus,
    RecipientState,
)
from .exports import _cell, _moment

#: (slot in seconds, the longest span shown with it); past the last, the last slot
SLOTS = (
    (10, datetime.timedelta(minutes=15)),
    (60, datetime.timedelta(hours=2)),
    (600, datetime.timedelta(days=1)),
    (3600, datetime.timedelta(days=7)),
    (86400, datetime.timedelta(days=170)),
    (7 * 86400, None),
)
#: recipients read per query of the CSV file
CHUNK = 2000
#: what the recipients list reads of each row and its contact
LISTED_FIELDS = (
    "id", "campaign_id", "contact_id", "state", "attempts", "sent_at", "smtp_reply", "bounce",
    "bounced_at", "opened_at", "clicked_at", "contact__id", "contact__email",
)  # fmt: skip
CSV_HEADER = ["email", "state", "sent_at", "opened_at", "clicked_at", "bounce", "reply"]
HUMAN = Q(machine=False)
OPEN, CLICK = CampaignEventKind.OPEN, CampaignEventKind.CLICK
UNDER_WAY = (CampaignStatus.SENDING, CampaignStatus.PAUSED)


def _rate(part: int, whole: int, *, meaningful: bool = True) -> float | None:
    if not meaningful or not whole:
        return None
    return round(part / whole, 4)


def campaign_report(campaign: Campaign, *, now=None) -> dict:
    """The figures of the campaign's report (the module's rules), in five queries."""
    now = now or timezone.now()
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    sent = Q(state=RecipientState.SENT)
    counts = rows.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(state__in=(RecipientState.PENDING, RecipientState.SENDING))),
        sent=Count("pk", filter=sent),
        failed=Count("pk", filter=Q(state=RecipientState.FAILED)),
        skipped=Count("pk", filter=Q(state=RecipientState.SKIPPED)),
        hard=Count("pk", filter=sent & Q(bounce="hard")),
        soft=Count("pk", filter=sent & Q(bounce="soft")),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
    )
    events = CampaignEvent.objects.filter(campaign=campaign).aggregate(
        opens=Count("pk", filter=Q(kind=OPEN) & HUMAN),
        machine_opens=Count("pk", filter=Q(kind=OPEN, machine=True)),
        machine_openers=Count("contact", distinct=True, filter=Q(kind=OPEN, machine=True)),
        clicks=Count("pk", filter=Q(kind=CLICK) & HUMAN),
        machine_clicks=Count("pk", filter=Q(kind=CLICK, machine=True)),
        machine_clickers=Count("contact", distinct=True, filter=Q(kind=CLICK, machine=True)),
        unsubscribes=Count("pk", filter=Q(kind=CampaignEventKind.UNSUBSCRIBE)),
        complaints=Count("pk", filter=Q(kind=CampaignEventKind.COMPLAINT)),
        last_at=Max("at", filter=Q(kind__in=(OPEN, CLICK)) & HUMAN),
    )
    bounced = counts["hard"] + counts["soft"]
    delivered = counts["sent"] - bounced
    opens_tracked, clicks_tracked = campaign.track_opens, campaign.track_clicks
    opened = counts["opened"] if opens_tracked else 0
    clicked = counts["clicked"] if clicks_tracked else 0
    return {
        "status": campaign.status,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
        "recipients": {
            "total": counts["total"],
            "pending": counts["pending"],
            "sent": counts["sent"],
            "delivered": delivered,
            "failed": counts["failed"],
            "skipped": counts["skipped"],
        },
        "bounces": {"total": bounced, "hard": counts["hard"], "soft": counts["soft"]},
        "opens": {
            "tracked": opens_tracked,
            "unique": opened,
            "total": events["opens"],
            "machine_unique": events["machine_openers"],
            "machine_total": events["machine_opens"],
        },
        "clicks": {
            "tracked": clicks_tracked,
            "unique": clicked,
            "total": events["clicks"],
            "machine_unique": events["machine_clickers"],
            "machine_total": events["machine_clicks"],
        },
        "links": _links(campaign),
        "unsubscribes": events["unsubscribes"],
        "complaints": events["complaints"],
        "rates": {
            "open": _rate(opened, delivered, meaningful=opens_tracked),
            "click": _rate(clicked, delivered, meaningful=clicks_tracked),
            "click_to_open": _rate(clicked, opened, meaningful=opens_tracked and clicks_tracked),
            "bounce": _rate(bounced, counts["sent"]),
            "unsubscribe": _rate(events["unsubscribes"], delivered),
            "complaint": _rate(events["complaints"], delivered),
        },
        "activity": _activity(campaign, events["last_at"], now),
        "sending": sends_over_time(campaign, now=now),
    }


def _links(campaign: Campaign) -> list[dict]:
    """Each link of the email as sent (`Campaign.links`, by its index), with its human
    clicks and the recipients who made them."""
    clicks = {
        row["link_index"]: row
        for row in CampaignEvent.objects.filter(
            campaign=campaign, kind=CLICK, machine=False, link_index__isnull=False
        )
        .values("link_index")
        .annotate(total=Count("pk"), unique=Count("contact", distinct=True))
        .order_by()
    }
    return [
        {
            "index": index,
            "url": url,
            "unique": clicks.get(index, {}).get("unique", 0),
            "total": clicks.get(index, {}).get("total", 0),
        }
        for index, url in enumerate(campaign.links or [])
    ]


# -- over time -----------------------------------------------------------------------------------


def slot_for(span: datetime.timedelta) -> int:
    """The slot, in seconds, that shows `span` in at most about 170 points."""
    for seconds, longest in SLOTS:
        if longest is None or span <= longest:
            return seconds
    raise AssertionError("the last slot has no limit")


class _SecondsSince(Func):
    """Seconds from `origin` to the moment in `field`, computed by the database: PostgreSQL
    in production, SQLite under `make run`."""

    output_field = FloatField()

    def __init__(self, field: str, origin):
        super().__init__(F(field), Value(origin, output_field=DateTimeField()))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))",
                           arg_joiner=" - ", **extra)  # fmt: skip

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection,
                           template="((julianday(%(expressions)s)) * 86400.0)",
                           arg_joiner=") - julianday(", **extra)  # fmt: skip


def _slot_number(field: str, origin, seconds: int):
    """The number of the `seconds`-long slot since `origin` that the moment `field` is
    in, computed by the database."""
    return Floor(_SecondsSince(field, origin) / seconds)


def _series(queryset, field: str, origin, end, kinds: dict) -> dict:
    """{step, points: [{at, <name>: count ...}]}: every slot from `origin` to `end`, the
    empty ones too, so that a chart's time axis is even. `kinds` names each count by the
    filter on `queryset` that makes it."""
    if origin is None or end < origin:
        return {"step": None, "points": []}
    seconds = slot_for(end - origin)
    counts = (
        queryset.filter(**{f"{field}__gte": origin})
        .annotate(slot=_slot_number(field, origin, seconds))
        .values("slot")
        .annotate(**{name: Count("pk", filter=condition) for name, condition in kinds.items()})
        .order_by("slot")
    )
    found = {int(row["slot"]): row for row in counts}
    slots = max(int((end - origin).total_seconds() // seconds), max(found, default=0)) + 1
    step = datetime.timedelta(seconds=seconds)
    return {
        "step": seconds,
        "points": [
            {"at": origin + number * step}
            | {name: found.get(number, {}).get(name, 0) for name in kinds}
            for number in range(slots)
        ],
    }


def _activity(campaign: Campaign, last_at, now) -> dict:
    """Human opens and clicks per slot, from the start of the send to now while it is
    under way, else to its last open or click."""
    end = now
    if campaign.status not in UNDER_WAY:
        moments = [m for m in (last_at, campaign.finished_at, campaign.started_at) if m]
        end = max(moments, default=now)
    events = CampaignEvent.objects.filter(campaign=campaign, kind__in=(OPEN, CLICK), machine=False)
    return _series(
        events, "at", campaign.started_at, end,
        {"opens": Q(kind=OPEN), "clicks": Q(kind=CLICK)},
    )  # fmt: skip


def sends_over_time(campaign: Campaign, *, now=None) -> dict:
    """Emails sent per slot, from the start of the send to its end (to now while it is
    under way), in one query."""
    now = now or timezone.now()
    end = campaign.finished_at if campaign.status not in UNDER_WAY and campaign.finished_at else now
    rows = CampaignRecipient.objects.filter(campaign=campaign, sent_at__isnull=False)
    return _series(rows, "sent_at", campaign.started_at, end, {"sent": Q()})


# -- the recipients ------------------------------------------------------------------------------


def recipients_of(campaign: Campaign, *, state: str | None = None, search: str | None = None):
    """The campaign's recipients in the order they were written, each with its contact's
    address: those in `state` (a RecipientState value), whose address holds `search`.
    One query a page."""
    rows = (
        CampaignRecipient.objects.filter(campaign=campaign)
        .select_related("contact")
        .only(*LISTED_FIELDS)
        .order_by("pk")
    )
    if state:
        rows = rows.filter(state=state)
    if search and search.strip():
        rows = rows.filter(contact__email_key__contains=search.strip().lower())
    return rows


def recipients_csv(campaign: Campaign) -> Iterator[str]:
    """The campaign's recipients as a CSV file, given out in pieces (one per CHUNK
    recipients, read by keyset so memory stays flat): `email`, `state` (its value),
    `sent_at`, `opened_at`, `clicked_at` (in the panel's time zone), `bounce` (hard, soft
    or empty) and `reply` (the server's answer to a failure, or the bounce's). Text that
    a spreadsheet would run as a formula is written as text; the byte order mark lets
    Excel read it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    yield "\ufeff" + _taken(buffer)
    rows = CampaignRecipient.objects.filter(campaign=campaign).order_by("pk")
    after = 0
    while True:
        chunk = list(
            rows.filter(pk__gt=after).values_list(
                "pk", "contact__email", "state", "sent_at", "opened_at", "clicked_at",
                "bounce", "smtp_reply",
            )[:CHUNK]
        )  # fmt: skip
        if not chunk:
            return
        for _pk, email, state, sent_at, opened_at, clicked_at, bounce, reply in chunk:
            writer.writerow([
                _cell(email), state, _moment(sent_at), _moment(opened_at), _moment(clicked_at),
                bounce, _cell(reply),
            ])  # fmt: skip
        after = chunk[-1][0]
        yield _taken(buffer)


def _taken(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
