"""The sending engine's worker loop: campaigns take turns; each turn spends tokens from
the account's quota and the platform's volume (newsletter/throttle.py), claims that many
recipient rows, sends each email and marks it sent.

Exactly once, through any crash:
- A row is claimed with `FOR UPDATE SKIP LOCKED` and marked `sending` under a lease (the
  worker's name and an end time), in a transaction of its own that commits before any
  email leaves. Any number of workers, on any number of machines, never claim the same
  row while its lease runs.
- Each email is sent in its own SMTP transaction, with a deterministic Message-ID. Its
  row is marked `sent` by the statement that follows the message's final dot on the
  wire, before the server's answer is even read (`_AtDot`): the MTA queues a message
  only once it has its dot, and the mark is on its way a few microseconds later, while
  the MTA is still writing its queue file. The statement leaves at once (`_Marker`: its
  answer is read just before the next email) and commits without waiting for the disk
  (`synchronous_commit = off`: a worker killed once it is sent loses nothing, since
  PostgreSQL runs a statement it has received to its commit). The few microseconds
  between the dot and the mark leaving are the only place a duplicate can come from;
  `Stats.window_max` measures them (bench/newsletter_send.py prints them). Waiting for
  the 250 first, as senders usually do, leaves that window open for a whole round trip
  (the kill test found duplicates then).
- When the server refuses the message after its dot (rare for our own MTA), the row is
  put back and treated as a refusal. A connection to the MTA that breaks between the
  dot and the answer leaves the row sent: the MTA may have queued it, and an email
  missing is better than one sent twice.
- A lease that expires means its worker died (or stalled) before the dot of the rows
  it still holds: the next claim takes them back and sends them. A stalled worker
  cannot send what another has claimed: it sends from a claim only until two thirds of
  its lease have passed by its own clock, then gives the rest back.
- Nothing depends on Celery redelivering a task: any loop, started by beat or by hand
  (`manage.py newsletter_deliver`), finds what is left in the database.
"""

import logging
import os
import re
import socket
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from psycopg import pq

from panel.errors import InvalidInput
from panel.models import Job

from .. import selectors
from ..models import Campaign, CampaignRecipient, CampaignStatus, RecipientState
from ..throttle import Throttle, account_bucket
from ..transport import Refused, Unreachable, transport_from_settings
from . import sending
from .campaigns import segment_of

logger = logging.getLogger(__name__)

#: a campaign is looked at again this often while its rows are sent, for a pause or cancel
STATUS_CHECK_SECONDS = 0.5
#: of a lease, the share a worker may use before giving its rows back
LEASE_USABLE_SHARE = 2 / 3
#: how long an idle loop waits before looking for work again
IDLE_SECONDS = 0.5
#: how long a worker waits after the MTA could not be reached
UNREACHABLE_PAUSE = 2.0
#: the reply noted for a recipient whose email could not be written (a value that breaks it)
WRITE_FAILED = "The email could not be written for this contact."

_CLAIM = """
UPDATE newsletter_campaignrecipient AS r
   SET state = 'sending', worker = %(worker)s, attempts = r.attempts + 1,
       lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
 WHERE r.id IN (
       SELECT id FROM newsletter_campaignrecipient
        WHERE campaign_id = %(campaign)s
          AND ((state = 'pending'
                AND (next_attempt_at IS NULL OR next_attempt_at <= clock_timestamp()))
               OR (state = 'sending' AND lease_until < clock_timestamp()))
        ORDER BY id
        LIMIT %(limit)s
          FOR UPDATE SKIP LOCKED)
RETURNING r.id, r.contact_id, r.attempts
"""
_MARK_SENT = b"""
UPDATE newsletter_campaignrecipient
   SET state = 'sent', sent_at = clock_timestamp(), lease_until = NULL, smtp_reply = ''
 WHERE id = $1 AND worker = $2 AND state = 'sending'
"""


class _Marker:
    """Marks rows sent without waiting for PostgreSQL's answer: the statement leaves on
    the socket the moment after the 250, and its answer is read while the next email is
    sent (libpq allows one statement in flight, which is all this needs). `wait` reads
    it; it must be called before the connection is used for anything else."""

    def __init__(self, worker: str):
        self.pgconn = connection.connection.pgconn
        self.worker = worker.encode()
        self.pending = False

    def mark(self, row_id: int) -> None:
        self.wait()
        self.pgconn.send_query_params(_MARK_SENT, [str(row_id).encode(), self.worker])
        self.pgconn.flush()
        self.pending = True

    def wait(self) -> None:
        if not self.pending:
            return
        self.pending = False
        while (result := self.pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK:
                message = result.error_message.decode(errors="replace")
                raise DatabaseError(f"marking a recipient sent failed: {message}")
            if result.command_tuples == 0:  # another worker took it after our lease
                logger.error("A recipient was sent after its lease had expired")


class _AtDot:
    """Called by the transport the moment an email's final dot has left: its row is
    marked sent there, before the server's answer is read, so that the statement is on
    its way before the server can have queued the email. `window` is how long that took."""

    def __init__(self, marker, row_id: int):
        self.marker, self.row_id = marker, row_id
        self.marked, self.window = False, 0.0

    def __call__(self) -> None:
        started = time.perf_counter()
        self.marker.mark(self.row_id)
        self.window = time.perf_counter() - started
        self.marked = True


class _OrmMarker:
    """`_Marker` where there is no libpq (SQLite, under `make run`): the same statement,
    waited for."""

    def __init__(self, worker: str):
        self.worker = worker

    def mark(self, row_id: int) -> None:
        CampaignRecipient.objects.filter(
            pk=row_id, worker=self.worker, state=RecipientState.SENDING
        ).update(state=RecipientState.SENT, sent_at=timezone.now(), lease_until=None,
                 smtp_reply="")  # fmt: skip

    def wait(self) -> None:
        pass


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    #: seconds between a 250 and the statement marking its row sent: the duplicate window
    window_total: float = 0.0
    window_max: float = 0.0

    @property
    def window_mean(self) -> float:
        return self.window_total / self.sent if self.sent else 0.0


@dataclass
class _Claim:
    row_id: int
    contact_id: int
    attempts: int


@dataclass
class _Served:
    """What a worker keeps of a campaign between turns."""

    campaign: Campaign
    prepared: object
    segment: dict
    account: object
    account_at: float = field(default_factory=time.monotonic)


class Deliverer:
    """One worker loop. `run` serves campaigns in turns until there is nothing left to
    send (or `until`, a time.monotonic() deadline, or `stop()` says so)."""

    def __init__(self, *, worker: str | None = None, transport=None, throttle=None):
        self.worker = worker or worker_name()
        self.transport = transport or transport_from_settings()
        self.throttle = throttle or Throttle()
        self.stats = Stats()
        self._served: dict[int, _Served] = {}

    # -- the loop -----------------------------------------------------------------------------

    def run(self, *, until: float | None = None, stop=lambda: False, idle_exit: bool = True,
            on_turn=lambda: None, turns: int | None = None) -> Stats:  # fmt: skip
        """`turns` caps the number of campaigns served (a test's "one batch")."""
        connection.ensure_connection()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET synchronous_commit TO off")
        try:
            while not stop() and (until is None or time.monotonic() < until):
                if turns is not None:
                    if turns <= 0:
                        break
                    turns -= 1
                on_turn()
                campaign = self._next_turn()
                if campaign is None:
                    if idle_exit:
                        break
                    time.sleep(IDLE_SECONDS)
                    continue
                self._serve(campaign, stop)
        finally:
            self.transport.close()
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("SET synchronous_commit TO DEFAULT")
        return self.stats

    def _next_turn(self) -> Campaign | None:
        """The campaign being sent whose turn is the oldest (never served first), moved to
        the back of the line: campaigns take turns, whatever their size."""
        now = timezone.now()
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=CampaignStatus.SENDING)
                .filter(Q(next_turn_at__isnull=True) | Q(next_turn_at__lte=now))
                .order_by(F("next_turn_at").asc(nulls_first=True), "pk")
                .first()
            )
            if campaign is not None:
                Campaign.objects.filter(pk=campaign.pk).update(next_turn_at=now)
        return campaign

    def _later(self, campaign: Campaign, seconds: float) -> None:
        """Nobody serves `campaign` for `seconds` (its quota is spent, its retries wait)."""
        at = timezone.now() + timezone.timedelta(seconds=max(0.05, seconds))
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
            next_turn_at=at
        )

    def _served_for(self, campaign: Campaign) -> _Served:
        served = self._served.get(campaign.pk)
        if served is None:
            from ..outgoing import prepare

            campaign = Campaign.objects.select_related("newsletter", "sender").get(pk=campaign.pk)
            served = _Served(
                campaign=campaign,
                prepared=prepare(campaign),
                segment=segment_of(campaign),
                account=account_bucket(campaign.organisation_id),
            )
            self._served[campaign.pk] = served
        elif time.monotonic() - served.account_at > 30:  # staff may change a quota
            served.account = account_bucket(campaign.organisation_id)
            served.account_at = time.monotonic()
        return served

    # -- one turn -----------------------------------------------------------------------------

    def _serve(self, campaign: Campaign, stop) -> int:
        served = self._served_for(campaign)
        organisation = campaign.organisation_id
        grant = self.throttle.take(organisation, settings.NEWSLETTER_BATCH_SIZE, served.account)
        if grant.count == 0:
            if grant.held_by == "account":
                self._later(campaign, grant.wait)
            else:  # the platform's volume: every campaign waits alike
                time.sleep(min(grant.wait, 0.25))
            return 0
        claims = self._claim(campaign, grant.count)
        self.throttle.give_back(organisation, grant.count - len(claims), served.account)
        if not claims:
            self._nothing_to_claim(campaign)
            return 0
        return self._send(served, claims, stop)

    def _claim(self, campaign: Campaign, limit: int) -> list[_Claim]:
        if connection.vendor != "postgresql":
            return self._claim_one_writer(campaign, limit)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_CLAIM, {
                "worker": self.worker, "lease": settings.NEWSLETTER_LEASE_SECONDS,
                "campaign": campaign.pk, "limit": limit,
            })  # fmt: skip
            return [_Claim(*row) for row in cursor.fetchall()]

    def _claim_one_writer(self, campaign: Campaign, limit: int) -> list[_Claim]:
        """The same claim where the database lets one writer at a time (SQLite, under
        `make run`): the rows are taken by a conditional update, marked with this claim's
        own lease end, then read back."""
        now = timezone.now()
        lease_until = now + timezone.timedelta(seconds=settings.NEWSLETTER_LEASE_SECONDS)
        claimable = CampaignRecipient.objects.filter(campaign=campaign).filter(
            Q(state=RecipientState.PENDING)
            & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            | Q(state=RecipientState.SENDING, lease_until__lt=now)
        )
        with transaction.atomic():
            ids = list(claimable.order_by("pk").values_list("pk", flat=True)[:limit])
            claimable.filter(pk__in=ids).update(
                state=RecipientState.SENDING, worker=self.worker, lease_until=lease_until,
                attempts=F("attempts") + 1,
            )  # fmt: skip
        return [
            _Claim(*row)
            for row in CampaignRecipient.objects.filter(
                pk__in=ids, worker=self.worker, lease_until=lease_until
            ).order_by("pk").values_list("pk", "contact_id", "attempts")
        ]  # fmt: skip

    def _nothing_to_claim(self, campaign: Campaign) -> None:
        """Either the campaign is over, or what is left waits (a retry's back-off, another
        worker's lease): come back when the first of those is due."""
        if sending.campaign_finish(campaign.pk):
            self._served.pop(campaign.pk, None)
            return
        waiting = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
            retry=Min("next_attempt_at", filter=Q(state=RecipientState.PENDING)),
            lease=Min("lease_until", filter=Q(state=RecipientState.SENDING)),
        )
        due = [moment for moment in waiting.values() if moment is not None]
        seconds = (min(due) - timezone.now()).total_seconds() if due else 1.0
        self._later(campaign, min(max(seconds, 0.1), 30.0))

    def _send(self, served: _Served, claims: list[_Claim], stop) -> int:
        """The claimed rows' emails, written first (CPU alone, in a tight loop), then sent
        one SMTP transaction each, each row marked by the statement after its 250."""
        campaign = served.campaign
        started = time.monotonic()
        usable_until = started + settings.NEWSLETTER_LEASE_SECONDS * LEASE_USABLE_SHARE
        done, ready = self._written(served, claims), []
        for claim, outgoing in done:
            if outgoing is None:  # skipped or failed while writing: already finished
                continue
            ready.append((claim, outgoing))
        finished = len(done) - len(ready)
        checked_at = started
        marker = (
            _Marker(self.worker) if connection.vendor == "postgresql" else _OrmMarker(self.worker)
        )
        try:
            for index, (claim, outgoing) in enumerate(ready):
                now = time.monotonic()
                if now > usable_until or stop():
                    marker.wait()
                    self._give_back([claim for claim, _outgoing in ready[index:]])
                    break
                if now - checked_at > STATUS_CHECK_SECONDS:
                    checked_at = now
                    marker.wait()
                    if not self._still_sending(campaign):
                        self._give_back([claim for claim, _outgoing in ready[index:]])
                        break
                marker.wait()  # the previous mark's answer, before this email goes
                dot = _AtDot(marker, claim.row_id)
                try:
                    self.transport.send(
                        outgoing.envelope_from, outgoing.recipient, outgoing.data, on_dot=dot
                    )
                except Refused as refusal:
                    marker.wait()
                    if dot.marked:  # refused after its dot: the row was marked too early
                        self._unmark(claim)
                    finished += self._refused(claim, campaign.pk, refusal)
                    continue
                except Unreachable as error:
                    marker.wait()
                    logger.warning("Newsletter SMTP server unreachable: %s", error)
                    # Our own MTA is down: nobody's attempt is spent; wait and try again.
                    # An email whose dot had left stays sent: the MTA may have queued it.
                    rest = ready[index + 1 :] if dot.marked else ready[index:]
                    self._give_back([claim for claim, _outgoing in rest])
                    time.sleep(UNREACHABLE_PAUSE)
                    break
                self.stats.sent += 1
                self.stats.window_total += dot.window
                self.stats.window_max = max(self.stats.window_max, dot.window)
                finished += 1
        finally:
            marker.wait()
        if finished and campaign.send_job_id:
            Job.objects.filter(pk=campaign.send_job_id).update(done=F("done") + finished)
        return finished

    def _written(self, served: _Served, claims: list[_Claim]) -> list[tuple[_Claim, object]]:
        """Each claim with its email; None for a contact who is no longer a recipient
        (skipped) or whose email cannot be written (failed, with the reason)."""
        ids = [claim.contact_id for claim in claims]
        # Only those still recipients: unsubscribed, bounced or gone since are skipped.
        contacts = {
            contact.pk: contact
            for contact in selectors.recipients(**served.segment)
            .filter(pk__in=ids).order_by().only("pk", "email", "fields", "newsletter_id")
        }  # fmt: skip
        written = []
        for claim in claims:
            contact = contacts.get(claim.contact_id)
            if contact is None:
                self._finish_row(claim, RecipientState.SKIPPED)
                self.stats.skipped += 1
                written.append((claim, None))
                continue
            try:
                written.append((claim, served.prepared.message(contact)))
            except InvalidInput as error:
                logger.warning("Campaign %s: the email of %s cannot be written: %s",
                               served.campaign.pk, claim.row_id, error.detail)  # fmt: skip
                self._finish_row(claim, RecipientState.FAILED, WRITE_FAILED)
                self.stats.failed += 1
                written.append((claim, None))
        return written

    def _unmark(self, claim: _Claim) -> None:
        """A row marked sent at its dot whose email the server then refused."""
        CampaignRecipient.objects.filter(
            pk=claim.row_id, worker=self.worker, state=RecipientState.SENT
        ).update(state=RecipientState.SENDING, sent_at=None)

    def _still_sending(self, campaign: Campaign) -> bool:
        return Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).exists()

    def _give_back(self, claims: list[_Claim]) -> None:
        """Rows this worker will not send now go back, as they were."""
        CampaignRecipient.objects.filter(
            pk__in=[claim.row_id for claim in claims],
            worker=self.worker,
            state=RecipientState.SENDING,
        ).update(state=RecipientState.PENDING, lease_until=None, attempts=F("attempts") - 1)

    def _finish_row(self, claim: _Claim, state: str, reply: str = "", **extra) -> None:
        CampaignRecipient.objects.filter(
            pk=claim.row_id, worker=self.worker, state=RecipientState.SENDING
        ).update(state=state, lease_until=None, smtp_reply=reply[:500], **extra)

    def _bounced(self, claim: _Claim, campaign_id: int, reply: str) -> None:
        """A 5xx at sending counts as a hard bounce, as the same answer in a DSN would."""
        from .bounces import HARD, Report, report_apply

        status = re.search(r"\b5\.\d{1,3}\.\d{1,3}\b", reply)
        report = Report(HARD, status=status.group(0) if status else "", diagnostic=reply)
        with transaction.atomic():
            report_apply(campaign_id=campaign_id, contact_id=claim.contact_id, report=report)

    def _refused(self, claim: _Claim, campaign_id: int, refusal: Refused) -> int:
        """A 5xx fails the recipient and counts as a hard bounce; a 4xx (or a server out
        of reach) is tried again after a growing delay, up to NEWSLETTER_MAX_ATTEMPTS.
        Answers 1 when the row is finished."""
        if refusal.permanent or claim.attempts >= settings.NEWSLETTER_MAX_ATTEMPTS:
            self._finish_row(claim, RecipientState.FAILED, refusal.reply)
            self.stats.failed += 1
            if refusal.permanent:
                self._bounced(claim, campaign_id, refusal.reply)
            return 1
        delay = settings.NEWSLETTER_RETRY_BASE_SECONDS * 2 ** (claim.attempts - 1)
        self._finish_row(
            claim, RecipientState.PENDING, refusal.reply,
            next_attempt_at=timezone.now() + timezone.timedelta(seconds=delay),
        )  # fmt: skip
        self.stats.retried += 1
        logger.info("Recipient %s deferred: %s", claim.row_id, refusal.reply)
        return 0


def deliver_for(seconds: float, *, worker: str | None = None, on_turn=lambda: None) -> Stats:
    """One loop of at most `seconds`, ending early when nothing is left to send."""
    return Deliverer(worker=worker).run(until=time.monotonic() + seconds, on_turn=on_turn)


SLOT_KEY = "newsletter:deliver:slot:{number}"
SLOT_SECONDS = 20


def deliver_in_slot() -> Stats | None:
    """A loop in one of the free slots (a Redis key with an expiry, renewed each turn, so
    a killed worker frees its slot within SLOT_SECONDS); None when all are taken."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    worker = worker_name()
    for number in range(settings.NEWSLETTER_DELIVER_CONCURRENCY):
        key = SLOT_KEY.format(number=number)
        if client.set(key, worker, nx=True, ex=SLOT_SECONDS):
            break
    else:
        return None
    try:
        return deliver_for(
            settings.NEWSLETTER_DELIVER_SECONDS,
            worker=worker,
            on_turn=lambda: client.set(key, worker, ex=SLOT_SECONDS),
        )
    finally:
        client.delete(key)
