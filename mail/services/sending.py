"""Outgoing limits and the mail log.

Rules: an address may send to at most `outgoing_limit(address)` recipients in any 24 hours
(its plan's figure, or the override staff set in the admin on a customer's written
request). The policy service (mail/policyd.py) enforces it at Postfix and reports every
message to the log through a Redis list; `mail_log_drain` moves that list to the
database, where the meter, the charts and the searchable log read it. The log is kept
`MAIL_LOG_RETENTION_DAYS`.
"""

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import DataError, IntegrityError, transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.jobs import task_named
from panel.selectors import administrator_emails

from ..models import Address, MailLogEntry, MailLogStatus, MailService
from ..plans import plan_of
from ..sending import LOG_QUEUE_KEY, NOTICE_KEY, NOTICE_SECONDS, WINDOW_MINUTES
from .rules import percent_used

logger = logging.getLogger(__name__)

#: the most recipients one log entry lists (the count is always exact)
LOG_RECIPIENTS_KEPT = 100


def outgoing_limit(address: Address) -> int:
    """Recipients the address may send to in any 24 hours."""
    return _limit(address.outgoing_limit_override, address.service.plan)


def _limit(override: int | None, plan: str) -> int:
    """The override staff set, else the plan's figure (SQL: `addresses_near_limit`)."""
    return override if override is not None else plan_of(plan).outgoing_recipients_per_day


@dataclass(frozen=True)
class SendingAccount:
    """What the policy service needs to know about an authenticated sender."""

    address_id: int
    service_id: int
    organisation_id: int
    limit: int


def sending_account(username: str) -> SendingAccount | None:
    """The address that logs in as `username` (its full primary address), or None."""
    local_part, _at, domain = username.strip().lower().rpartition("@")
    row = (
        Address.objects.filter(local_part=local_part, service__domain=domain)
        .values_list(
            "id", "service_id", "organisation_id", "outgoing_limit_override", "service__plan"
        )
        .first()
    )
    if row is None:
        return None
    address_id, service_id, organisation_id, override, plan = row
    return SendingAccount(address_id, service_id, organisation_id, _limit(override, plan))


# -- what customers see ---------------------------------------------------------------------


def counting_since(now: datetime) -> datetime:
    """The oldest time whose recipients still count at `now`, as the policy service counts
    them: a minute's recipients stop counting 24 hours after that minute began."""
    return now.replace(second=0, microsecond=0) - timedelta(minutes=WINDOW_MINUTES - 1)


@dataclass(frozen=True)
class SendingMeter:
    limit: int
    used_24h: int
    #: [(start of the hour, accepted recipients, deferred recipients)], 24, oldest first
    hourly: list[tuple[datetime, int, int]]
    #: [(day, accepted recipients, deferred recipients)], 7, oldest first
    daily: list[tuple[date, int, int]]

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used_24h)

    @property
    def percent(self) -> int:
        return percent_used(self.used_24h, self.limit)


def sending_meter(*, address: Address, now: datetime | None = None) -> SendingMeter:
    """The address's recipients over the last 24 hours against its limit, by hour for the
    last 24 hours and by day (in the current time zone) for the last 7 days: one query.
    Deferred recipients are charted but never counted against the limit."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    local_now = timezone.localtime(now, zone)
    first_day = local_now.date() - timedelta(days=6)
    days_start = timezone.make_aware(datetime.combine(first_day, time.min), zone)
    # Hours are stepped in UTC: stepping local wall-clock time would repeat or skip an
    # hour on the nights the clocks change.
    this_hour = local_now.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    hours = [
        timezone.localtime(this_hour - timedelta(hours=back), zone) for back in range(23, -1, -1)
    ]
    since = counting_since(now)
    rows = (
        MailLogEntry.objects.filter(
            address=address,
            occurred_at__gte=min(days_start, hours[0], since),
            occurred_at__lte=now,
        )
        .annotate(hour=TruncHour("occurred_at", tzinfo=zone))
        .values("hour")
        .annotate(
            accepted=Sum("recipient_count", filter=Q(status=MailLogStatus.ACCEPTED)),
            deferred=Sum("recipient_count", filter=Q(status=MailLogStatus.DEFERRED)),
            recent=Sum(
                "recipient_count",
                filter=Q(status=MailLogStatus.ACCEPTED, occurred_at__gte=since),
            ),
        )
        .order_by()
    )
    # Keyed in UTC: two local datetimes of the same zone compare by their wall-clock time,
    # so the hour that repeats when the clocks go back would be one key.
    by_hour: dict[datetime, tuple[int, int]] = {}
    by_day: dict[date, list[int]] = {first_day + timedelta(days=n): [0, 0] for n in range(7)}
    used = 0
    for row in rows:
        hour = timezone.localtime(row["hour"], zone)
        accepted, deferred = row["accepted"] or 0, row["deferred"] or 0
        previous = by_hour.get(hour.astimezone(UTC), (0, 0))
        by_hour[hour.astimezone(UTC)] = (previous[0] + accepted, previous[1] + deferred)
        used += row["recent"] or 0
        if hour.date() in by_day:
            by_day[hour.date()][0] += accepted
            by_day[hour.date()][1] += deferred
    return SendingMeter(
        limit=outgoing_limit(address),
        used_24h=used,
        hourly=[(hour, *by_hour.get(hour.astimezone(UTC), (0, 0))) for hour in hours],
        daily=[(day, accepted, deferred) for day, (accepted, deferred) in by_day.items()],
    )


def addresses_near_limit(*, service: MailService, count: int = 5, now: datetime | None = None):
    """The addresses of a service that sent in the last 24 hours, fewest recipients left
    first, each with `used_24h`, `limit`, `left` and `percent`: one query."""
    since = counting_since(now or timezone.now())
    plan_limit = plan_of(service.plan).outgoing_recipients_per_day
    addresses = list(
        Address.objects.filter(
            service=service,
            mail_log__status=MailLogStatus.ACCEPTED,
            mail_log__occurred_at__gte=since,
        )
        .annotate(
            used_24h=Sum("mail_log__recipient_count"),
            limit=Coalesce("outgoing_limit_override", Value(plan_limit)),
        )
        .annotate(left=F("limit") - F("used_24h"))
        .select_related("service")
        .order_by("left", "local_part")[:count]
    )
    for address in addresses:
        address.percent = percent_used(address.used_24h, address.limit)
    return addresses


# -- the log, from the policy service to the database ------------------------------------


def mail_log_store(events: list[dict]) -> None:
    """Write the policy service's log events; an event already stored (same id) is skipped,
    so a batch written twice after a crash is still written once."""
    entries = [event for event in events if event.get("kind") == "message"]
    if not entries:
        return
    address_ids = {entry["address_id"] for entry in entries}
    existing = set(Address.objects.filter(pk__in=address_ids).values_list("pk", flat=True))
    rows = [
        MailLogEntry(
            id=entry["id"],
            organisation_id=entry["organisation_id"],
            service_id=entry["service_id"],
            address_id=entry["address_id"],
            occurred_at=datetime.fromtimestamp(entry["at"], tz=UTC),
            sender=entry.get("sender", "")[:254],
            recipients=", ".join(entry.get("recipients", [])[:LOG_RECIPIENTS_KEPT]),
            recipient_count=entry["count"],
            status=entry["status"],
            queue_id=entry.get("queue_id", "")[:32],
            client_address=entry.get("client", "")[:64],
        )
        for entry in entries
        if entry["address_id"] in existing  # deleted since: nothing to log it under
    ]
    MailLogEntry.objects.bulk_create(rows, ignore_conflicts=True)


def mail_log_drain(*, client, batch: int = 500, notify=None) -> int:
    """Move the policy service's events from Redis to the database; returns how many.

    Read, store, then trim: a crash in between stores the same events again, which the
    ids make harmless. Limit notices go to `notify(address_id, at)` (by default the
    email task) at most once per address per 24 hours."""
    if notify is None:
        notify = task_named("mail.tasks.notify_sending_limit_reached").delay
    moved, waiting = 0, client.llen(LOG_QUEUE_KEY)
    while moved < waiting:  # not what is pushed meanwhile (a notice put back, say)
        raw = client.lrange(LOG_QUEUE_KEY, 0, min(batch, waiting - moved) - 1)
        if not raw:
            break
        events = []
        for item in raw:
            try:
                events.append(json.loads(item))
            except ValueError:
                logger.error("mail log: dropped an unreadable event")
        _store_each_good(events)
        for event in events:
            if event.get("kind") == "limit_reached":
                _notify_once(client, event, notify)
        client.ltrim(LOG_QUEUE_KEY, len(raw), -1)
        moved += len(raw)
    return moved


def _store_each_good(events: list[dict]) -> None:
    """Store a batch in one transaction; if it fails, event by event, so one bad event is
    dropped (and said) instead of holding back the whole log. A database that cannot be
    reached raises: the batch stays in Redis for the next drain."""
    try:
        with transaction.atomic():
            mail_log_store(events)
        return
    except Exception:
        logger.exception("mail log: a batch could not be stored; storing its events one by one")
    for event in events:
        try:
            with transaction.atomic():
                mail_log_store([event])
        except (DataError, IntegrityError, KeyError, TypeError, ValueError):
            logger.error(
                "mail log: dropped an event that cannot be stored: %s",
                {key: event.get(key) for key in ("id", "address_id", "status", "count")},
            )


def _notify_once(client, event: dict, notify) -> None:
    """At most one notice per address per 24 hours; one that could not be queued is
    tried again at the next drain."""
    key = NOTICE_KEY.format(address_id=event["address_id"])
    if not client.set(key, "1", nx=True, ex=NOTICE_SECONDS):
        return
    try:
        notify(event["address_id"], event["at"])
    except Exception:
        logger.exception("mail log: the limit notice could not be queued; trying again later")
        client.delete(key)
        client.rpush(LOG_QUEUE_KEY, json.dumps(event))


def mail_log_purge(*, now: datetime | None = None) -> int:
    """Delete log entries older than the retention; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MAIL_LOG_RETENTION_DAYS)
    deleted, _by_model = MailLogEntry.objects.filter(occurred_at__lt=cutoff).delete()
    return deleted


def sending_limit_notify(*, address_id: int, at: float) -> None:
    """Tell the address and the organisation's administrators that it reached its limit:
    one email with the limit, the usage and what to do."""
    address = Address.objects.select_related("service").filter(pk=address_id).first()
    if address is None:
        return
    meter = sending_meter(address=address)
    admins = administrator_emails(address.organisation_id)
    recipients = sorted({str(address), *admins} - {""})
    reached = timezone.localtime(datetime.fromtimestamp(at, tz=UTC))
    send_mail(
        _("%(address)s reached its sending limit") % {"address": address},
        _(
            "On %(when)s, %(address)s reached its limit of %(limit)s recipients per 24 "
            "hours (%(used)s in the last 24 hours). Further recipients are deferred: mail "
            "servers keep them and try again, and they are accepted as soon as recipients "
            "sent 24 hours earlier stop counting.\n\n"
            "A message to several people counts once per recipient (To, Cc and Bcc). If "
            "nobody at your organisation sent this mail, change the address's password now: "
            "the account may be used by someone else.\n\n"
            "For mailings to many people, use a newsletter. A paying address can have a "
            "higher limit on written request to support.\n\n"
            "Sending meter and mail log: %(url)s"
        )
        % {
            "when": reached.strftime("%Y-%m-%d %H:%M"),
            "address": address,
            "limit": meter.limit,
            "used": meter.used_24h,
            "url": settings.PANEL_BASE_URL + address.get_absolute_url() + "#sending",
        },
        None,
        recipients,
    )
