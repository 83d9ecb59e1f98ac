"""A campaign's send, seen from the customer: start it, pause, resume, cancel, follow its
progress. The worker loop that actually sends is services/delivery.py.

The rules, written here once:
- Sending a campaign writes one CampaignRecipient row per recipient (the rule of
  `selectors.recipients`), in pages, in a Job whose `done`/`total` are the recipients.
  The rows, not the task queue, say what is left: the workers claim them.
- A scheduled campaign starts at its time (beat runs `tick`). One whose time passed more
  than NEWSLETTER_LATE_START_HOURS ago (the platform was down) waits as `overdue` until
  its customer confirms, rather than going out late.
- Pause, resume and cancel take effect within seconds: the workers look at the
  campaign's status between messages. Resume continues where it stopped; a cancelled
  campaign's remaining recipients are never sent.
- The customer gets an email when the sending starts and when it ends, with the figures.
"""

import datetime
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict
from panel.jobs import job_enqueue, job_set_total, job_start, job_succeed, task_named
from panel.models import Job, JobStatus
from panel.selectors import administrator_emails

from .. import selectors, throttle
from ..models import Campaign, CampaignRecipient, CampaignStatus, RecipientState
from .campaigns import _raise_problems, campaign_problems, segment_of

logger = logging.getLogger(__name__)

SEND_JOB = "newsletter_send"
#: recipient rows written per statement when a send starts
MATERIALISE_PAGE = 2000
#: the current rate is measured over this last stretch of time
RATE_WINDOW = datetime.timedelta(minutes=5)
STARTABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.OVERDUE)
UNFINISHED = (RecipientState.PENDING, RecipientState.SENDING)


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("newsletter").get(pk=campaign.pk)


def _start(campaign: Campaign, *, organisation, actor) -> Job:
    """The locked `campaign` becomes `sending`, with the Job that writes its rows."""
    now = timezone.now()
    job = job_enqueue(
        organisation=organisation,
        actor=actor,
        kind=SEND_JOB,
        task="newsletter.campaign_start",
        params={"campaign": campaign.pk, "newsletter": campaign.newsletter_id},
    )
    campaign.status = CampaignStatus.SENDING
    campaign.scheduled_at = campaign.scheduled_at or now
    campaign.started_at = now
    campaign.send_job = job
    campaign.next_turn_at = None
    campaign.updated_at = now
    campaign.save(
        update_fields=["status", "scheduled_at", "started_at", "send_job", "next_turn_at",
                       "updated_at"]
    )  # fmt: skip
    return job


@transaction.atomic
def campaign_send(*, access: Access, campaign: Campaign) -> Job:
    """Starts sending now: a draft (everything checked first, InvalidInput naming every
    problem), a scheduled campaign (earlier than planned), or an overdue one (the
    customer's confirmation). Answers the Job of the send; 409 once it has started."""
    access.require(Capability.MANAGE_PRODUCT, campaign.newsletter)
    campaign = _locked(campaign)
    if campaign.status not in STARTABLE:
        raise Conflict(_("This campaign is already being sent or has been sent."),
                       code="already_started")  # fmt: skip
    _raise_problems(campaign_problems(campaign))
    job = _start(campaign, organisation=access.organisation, actor=access.user)
    record_by(
        access, "newsletter.campaign.send_started", campaign.newsletter,
        {"title": campaign.title, "job": job.pk},
    )  # fmt: skip
    return job


def _set_status(access: Access, campaign: Campaign, *, allowed, to, code: str, message) -> Campaign:
    access.require(Capability.MANAGE_PRODUCT, campaign.newsletter)
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in allowed:
            raise Conflict(message, code=code)
        campaign.status = to
        campaign.next_turn_at = None
        campaign.updated_at = timezone.now()
        fields = ["status", "next_turn_at", "updated_at"]
        if to == CampaignStatus.CANCELLED:
            campaign.finished_at = campaign.updated_at
            fields.append("finished_at")
        campaign.save(update_fields=fields)
    return campaign


def campaign_pause(*, access: Access, campaign: Campaign) -> Campaign:
    """Stops the sending within seconds; `campaign_resume` continues where it stopped."""
    campaign = _set_status(
        access, campaign, allowed=(CampaignStatus.SENDING,), to=CampaignStatus.PAUSED,
        code="not_sending", message=_("Only a campaign being sent can be paused."),
    )  # fmt: skip
    record_by(access, "newsletter.campaign.paused", campaign.newsletter, {"title": campaign.title})
    return campaign


def campaign_resume(*, access: Access, campaign: Campaign) -> Campaign:
    campaign = _set_status(
        access, campaign, allowed=(CampaignStatus.PAUSED,), to=CampaignStatus.SENDING,
        code="not_paused", message=_("Only a paused campaign can be resumed."),
    )  # fmt: skip
    record_by(access, "newsletter.campaign.resumed", campaign.newsletter, {"title": campaign.title})
    transaction.on_commit(deliver_soon)
    return campaign


def campaign_cancel(*, access: Access, campaign: Campaign) -> Campaign:
    """Stops for good: the recipients not sent yet never will be. A scheduled or overdue
    campaign is cancelled before it starts."""
    campaign = _set_status(
        access, campaign,
        allowed=(CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SCHEDULED,
                 CampaignStatus.OVERDUE),
        to=CampaignStatus.CANCELLED, code="not_cancellable",
        message=_("This campaign is not being sent: there is nothing to cancel."),
    )  # fmt: skip
    if campaign.send_job_id:
        Job.objects.filter(pk=campaign.send_job_id).exclude(status__in=Job.FINISHED).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now()
        )
    record_by(
        access, "newsletter.campaign.cancelled", campaign.newsletter, {"title": campaign.title}
    )
    return campaign


# -- the start: one row per recipient -----------------------------------------------------------


def campaign_start_run(job_id: int) -> None:
    """The Job's body: the campaign's links fixed, then its recipient rows written page
    after page (keyset on the contact id: memory stays flat whatever the list's size).
    Run again after a crash, it writes what is missing (the unique constraint ignores
    the rest)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    campaign = (
        Campaign.objects.select_related("newsletter", "sender")
        .filter(pk=job.params["campaign"]).first()
    )  # fmt: skip
    if campaign is None or campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
        return
    segment = segment_of(campaign)
    job = job_start(job_id, total=selectors.recipient_count(**segment))
    if job is None:
        return
    if not campaign.links:
        from ..outgoing import campaign_links

        campaign.links = campaign_links(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(links=campaign.links)
    materialise(campaign, segment)
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    total = rows.count()
    job_set_total(job, total)
    # Started again after a crash: the workers may have sent some already.
    Job.objects.filter(pk=job.pk).update(done=rows.exclude(state__in=UNFINISHED).count())
    ready = Campaign.objects.filter(pk=campaign.pk, recipients_ready=False).update(
        recipients_ready=True
    )
    if ready:
        notify_started(campaign, total)
    deliver_soon()


def materialise(campaign: Campaign, segment: dict) -> int:
    """Writes the missing recipient rows; answers how many pages it wrote."""
    contacts = selectors.recipients(**segment).order_by("pk").values_list("pk", flat=True)
    last, pages = 0, 0
    while True:
        ids = list(contacts.filter(pk__gt=last)[:MATERIALISE_PAGE])
        if not ids:
            return pages
        CampaignRecipient.objects.bulk_create(
            [CampaignRecipient(campaign_id=campaign.pk, contact_id=pk) for pk in ids],
            ignore_conflicts=True,
        )
        last, pages = ids[-1], pages + 1


def deliver_soon() -> None:
    """Wake the workers now rather than at beat's next tick."""
    try:
        for _slot in range(settings.NEWSLETTER_DELIVER_CONCURRENCY):
            task_named("newsletter.deliver").delay()
    except Exception:  # the broker is down: beat's tick will try again
        logger.warning("Could not queue newsletter delivery; beat will", exc_info=True)


# -- beat --------------------------------------------------------------------------------------


def due_campaigns_start(now=None) -> int:
    """Starts the scheduled campaigns whose time has come; those whose time passed too
    long ago become `overdue` and their customer is told. Answers how many started."""
    now = now or timezone.now()
    late = now - datetime.timedelta(hours=settings.NEWSLETTER_LATE_START_HOURS)
    started = 0
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
    for campaign_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True)
                .select_related("newsletter", "organisation")
                .filter(pk=campaign_id, status=CampaignStatus.SCHEDULED).first()
            )  # fmt: skip
            if campaign is None:
                continue
            if campaign.scheduled_at < late:
                campaign.status = CampaignStatus.OVERDUE
                campaign.save(update_fields=["status"])
                transaction.on_commit(lambda c=campaign: notify_overdue(c))
                continue
            _start(campaign, organisation=campaign.organisation, actor=None)
            started += 1
    return started


def stalled_starts_resume() -> int:
    """A send whose start Job died half way (its worker killed) is started again: the
    rows it wrote stay, the missing ones are added."""
    stalled = Campaign.objects.filter(
        status__in=(CampaignStatus.SENDING, CampaignStatus.PAUSED),
        recipients_ready=False,
        started_at__lt=timezone.now() - datetime.timedelta(minutes=2),
        send_job__isnull=False,
    ).values_list("send_job_id", flat=True)
    count = 0
    for job_id in stalled:
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(status=JobStatus.QUEUED)
        task_named("newsletter.campaign_start").delay(job_id)
        count += 1
    return count


def tick() -> None:
    """Every few seconds (beat): start what is due, resume stalled starts, and keep the
    workers going while a campaign is being sent."""
    due_campaigns_start()
    stalled_starts_resume()
    if Campaign.objects.filter(status=CampaignStatus.SENDING).exists():
        deliver_soon()


# -- the end -------------------------------------------------------------------------------------


def campaign_finish(campaign_id: int) -> bool:
    """Once every row is sent, failed or skipped: the campaign is `sent`, its Job done and
    its customer told. Only the worker whose update wins does so."""
    unfinished = CampaignRecipient.objects.filter(campaign_id=campaign_id, state__in=UNFINISHED)
    if unfinished.exists():
        return False
    now = timezone.now()
    if not Campaign.objects.filter(
        pk=campaign_id, status=CampaignStatus.SENDING, recipients_ready=True
    ).update(status=CampaignStatus.SENT, finished_at=now, updated_at=now):
        return False
    campaign = Campaign.objects.select_related("newsletter", "send_job").get(pk=campaign_id)
    figures = recipient_figures(campaign)
    if campaign.send_job and not campaign.send_job.is_finished:
        job_succeed(campaign.send_job, result=figures)
    notify_finished(campaign, figures)
    return True


# -- progress ------------------------------------------------------------------------------------


def recipient_figures(campaign: Campaign) -> dict:
    """How many recipients are in each state, in one query."""
    counts = dict(
        CampaignRecipient.objects.filter(campaign=campaign)
        .values_list("state").annotate(count=Count("pk")).values_list("state", "count")
    )  # fmt: skip
    figures = {state.value: counts.get(state.value, 0) for state in RecipientState}
    figures["total"] = sum(figures.values())
    return figures


def campaign_progress(campaign: Campaign, *, now=None) -> dict:
    """What the campaign's page and API show while it is sent: the recipients by state
    (pending includes those being sent), the rate of the last minutes per hour, and the
    estimated end from the account's quota and the platform's volume, shared with the
    other campaigns being sent."""
    now = now or timezone.now()
    figures = recipient_figures(campaign)
    recent = CampaignRecipient.objects.filter(
        campaign=campaign, state=RecipientState.SENT, sent_at__gte=now - RATE_WINDOW
    ).count()
    window = RATE_WINDOW.total_seconds()
    if campaign.started_at:
        window = max(1.0, min(window, (now - campaign.started_at).total_seconds()))
    pending = figures["pending"] + figures["sending"]
    progress = {
        "status": campaign.status,
        "total": figures["total"],
        "sent": figures["sent"],
        "pending": pending,
        "failed": figures["failed"],
        "skipped": figures["skipped"],
        "rate_per_hour": round(recent * 3600 / window) if campaign.status == "sending" else 0,
        "estimated_end": None,
    }
    if campaign.status == CampaignStatus.SENDING and (pending or not campaign.recipients_ready):
        per_second = expected_rate(campaign)
        if per_second > 0:
            left = pending if campaign.recipients_ready else max(pending, 1)
            progress["estimated_end"] = now + datetime.timedelta(seconds=left / per_second)
    return progress


def expected_rate(campaign: Campaign) -> float:
    """Messages per second this campaign may expect: its share of the account's quota
    (shared with the account's other campaigns being sent) and of the platform's volume
    (shared by every campaign being sent, in turns)."""
    sending = Campaign.objects.filter(status=CampaignStatus.SENDING).aggregate(
        all=Count("pk"), own=Count("pk", filter=Q(organisation_id=campaign.organisation_id))
    )
    quota = throttle.account_bucket(campaign.organisation_id)
    platform = throttle.global_bucket()
    own_share = quota.rate / max(1, sending["own"])
    platform_share = platform.rate / max(1, sending["all"])
    return min(own_share, platform_share)


def quota_usage(organisation_id: int, *, now=None) -> dict:
    """The account's hourly quota, what it sent in the quota's window, and the
    platform's volume (messages per second)."""
    now = now or timezone.now()
    window = datetime.timedelta(seconds=settings.NEWSLETTER_QUOTA_WINDOW)
    used = CampaignRecipient.objects.filter(
        campaign__organisation_id=organisation_id,
        state=RecipientState.SENT,
        sent_at__gte=now - window,
    ).count()
    return {
        "hourly_quota": throttle.hourly_quota(organisation_id),
        "used_last_hour": used,
        "global_rate": settings.NEWSLETTER_GLOBAL_RATE,
    }


# -- the customer's emails -----------------------------------------------------------------------


def _people_to_tell(campaign: Campaign) -> list[str]:
    """Who started the send, else the organisation's administrators."""
    job = campaign.send_job
    if job is not None and job.actor_id and job.actor.email:
        return [job.actor.email]
    return administrator_emails(campaign.organisation_id)


def _campaign_url(campaign: Campaign) -> str:
    from django.urls import reverse

    path = reverse("newsletter:campaign-report", args=[campaign.organisation_id, campaign.pk])
    return settings.PANEL_BASE_URL + path


def _tell(campaign: Campaign, subject: str, body: str) -> None:
    recipients = _people_to_tell(campaign)
    if not recipients:
        return
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # a mail server down must not stop the send itself
        logger.warning("Could not email about campaign %s", campaign.pk, exc_info=True)


def notify_started(campaign: Campaign, total: int) -> None:
    campaign = Campaign.objects.select_related("send_job__actor").get(pk=campaign.pk)
    rate = expected_rate(campaign)
    hours = total / rate / 3600 if rate else 0
    with translation.override(campaign.language):
        subject = _("Sending started: %(title)s") % {"title": campaign.title}
        body = _(
            "Your campaign “%(title)s” is being sent to %(total)s recipients.\n\n"
            "Sending may take several hours, depending on the global volume of newsletters "
            "being sent, the number of your recipients and the hourly quota of your account "
            "(%(quota)s emails per hour). At the current pace it should end in about "
            "%(hours)s hours.\n\n"
            "Follow it, pause it or cancel it here: %(url)s"
        ) % {
            "title": campaign.title,
            "total": total,
            "quota": throttle.hourly_quota(campaign.organisation_id),
            "hours": f"{hours:.1f}",
            "url": _campaign_url(campaign),
        }
    _tell(campaign, subject, body)


def notify_finished(campaign: Campaign, figures: dict) -> None:
    campaign = Campaign.objects.select_related("send_job__actor").get(pk=campaign.pk)
    with translation.override(campaign.language):
        subject = _("Sending finished: %(title)s") % {"title": campaign.title}
        body = _(
            "Your campaign “%(title)s” has been sent.\n\n"
            "Sent: %(sent)s\nFailed: %(failed)s\nSkipped (unsubscribed or bounced since "
            "it was scheduled): %(skipped)s\n\n"
            "Its report (opens, clicks, bounces, unsubscribes): %(url)s"
        ) % {**figures, "title": campaign.title, "url": _campaign_url(campaign)}
    _tell(campaign, subject, body)


def notify_overdue(campaign: Campaign) -> None:
    with translation.override(campaign.language):
        subject = _("Waiting for your confirmation: %(title)s") % {"title": campaign.title}
        body = _(
            "Your campaign “%(title)s” was scheduled for %(at)s, but the platform could not "
            "send it then. So that it does not go out late without your agreement, it "
            "waits: send it now or cancel it here: %(url)s"
        ) % {
            "title": campaign.title,
            "at": timezone.localtime(campaign.scheduled_at).strftime("%Y-%m-%d %H:%M"),
            "url": _campaign_url(campaign),
        }
    _tell(campaign, subject, body)
