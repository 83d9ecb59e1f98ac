"""The sending engine in one process, against the rig's PostgreSQL, Redis and SMTP sink:
one row and one email per recipient, skipped recipients, pause, resume, cancel, leases,
scheduling, turns between campaigns and the customer's emails. The worker processes
killed at random are tests/integration/test_newsletter_kill.py's."""

import datetime
import email
import re
import time
from email import policy
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from newsletter.models import (
    CampaignRecipient,
    CampaignStatus,
    Contact,
    RecipientState,
    Subscription,
)
from newsletter.services import campaigns, sending
from newsletter.services.delivery import Deliverer
from panel.celery import app as celery_app
from panel.errors import Conflict
from panel.models import Job, JobStatus
from tests.newsletter.sending_world import add_contacts, sending_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink(rig, settings):
    """Campaigns go straight to the rig's SMTP sink; the platform's volume is no limit."""
    sink = rig.require("smtp_sink")
    settings.NEWSLETTER_SMTP_URL = f"smtp://127.0.0.1:{sink.port}"
    settings.NEWSLETTER_GLOBAL_RATE = 100_000
    return sink


def received(sink, campaign) -> list:
    """The messages of `campaign` the sink holds, parsed."""
    marker = f"<c{campaign.pk}.r".encode()
    return [
        email.message_from_bytes(message.data, policy=policy.default)
        for message in list(sink.messages)
        if marker in message.data
    ]


def started(world):
    """The campaign sent now, its rows written (the start Job run here)."""
    job = sending.campaign_send(access=world["access"], campaign=world["campaign"])
    sending.campaign_start_run(job.pk)
    world["campaign"].refresh_from_db()
    return job


def states(campaign) -> dict:
    return sending.recipient_figures(campaign)


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """`with run_tasks():` runs the tasks queued after commit at once, as a worker would."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_each_recipient_gets_one_email_and_the_customer_hears_of_start_and_end(
    sink, mailoutbox, run_tasks
):
    world = sending_world(5)
    gone = Contact.objects.filter(newsletter=world["newsletter"]).order_by("pk").first()
    Subscription.objects.filter(contact=gone).update(status="unsubscribed")
    with run_tasks():
        job = sending.campaign_send(access=world["access"], campaign=world["campaign"])

    campaign = world["campaign"]
    campaign.refresh_from_db()
    messages = received(sink, campaign)
    assert sorted(message["To"] for message in messages) == [
        f"c{i}@{world['domain']}" for i in range(1, 5)
    ]
    assert all(message["Subject"].startswith("Autumn") for message in messages)
    first = next(m for m in messages if m["To"] == f"c1@{world['domain']}")
    assert first["Subject"].endswith("for Name1")
    assert first["Message-ID"] == f"<c{campaign.pk}.r{_contact(world, 1).pk}@bounces.rig.test>"
    assert campaign.status == CampaignStatus.SENT
    assert states(campaign) == {**_zero(), "sent": 4, "total": 4}
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (JobStatus.SUCCEEDED, 4, 4)
    assert job.result["sent"] == 4
    subjects = [message.subject for message in mailoutbox]
    assert subjects == [f"Sending started: {campaign.title}", f"Sending finished: {campaign.title}"]
    assert mailoutbox[0].to == [world["legal"].email]
    assert "4 recipients" in mailoutbox[0].body
    assert "Sent: 4" in mailoutbox[1].body


def _zero() -> dict:
    return {state.value: 0 for state in RecipientState} | {"total": 0}


def _contact(world, number: int) -> Contact:
    return Contact.objects.get(
        newsletter=world["newsletter"], email_key=f"c{number}@{world['domain']}"
    )


def test_starting_again_after_a_crash_adds_only_the_missing_rows(sink):
    world = sending_world(7)
    job = started(world)
    campaign = world["campaign"]
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 7
    # The start is run again (its worker died after writing): no second row for anybody.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    add_contacts(world["org"], world["newsletter"], world["news"], 2, domain=world["domain"],
                 start=7)  # fmt: skip
    sending.materialise(campaign, campaigns.segment_of(campaign))
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 9
    assert job.__class__.objects.get(pk=job.pk).total == 7


def test_someone_who_unsubscribes_after_the_start_is_skipped(sink):
    world = sending_world(3)
    started(world)
    Subscription.objects.filter(contact=_contact(world, 2)).update(status="unsubscribed")
    Deliverer().run()
    campaign = world["campaign"]
    assert sorted(m["To"] for m in received(sink, campaign)) == [
        f"c0@{world['domain']}", f"c1@{world['domain']}"
    ]  # fmt: skip
    assert states(campaign) | {} == {**_zero(), "sent": 2, "skipped": 1, "total": 3}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_pause_stops_the_sending_and_resume_continues_where_it_stopped(sink, settings):
    settings.NEWSLETTER_BATCH_SIZE = 3
    world = sending_world(8)
    started(world)
    campaign = world["campaign"]
    Deliverer().run(turns=1)  # one turn: one batch of 3
    assert states(campaign)["sent"] == 3

    sending.campaign_pause(access=world["access"], campaign=campaign)
    Deliverer().run()
    assert states(campaign)["sent"] == 3
    assert len(received(sink, campaign)) == 3
    with pytest.raises(Conflict) as refused:
        sending.campaign_pause(access=world["access"], campaign=campaign)
    assert refused.value.code == "not_sending"

    sending.campaign_resume(access=world["access"], campaign=campaign)
    Deliverer().run()
    assert states(campaign)["sent"] == 8
    assert len({m["To"] for m in received(sink, campaign)}) == len(received(sink, campaign)) == 8
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_cancelled_campaign_sends_nobody_more(sink, settings):
    settings.NEWSLETTER_BATCH_SIZE = 2
    world = sending_world(6)
    job = started(world)
    campaign = world["campaign"]
    Deliverer().run(turns=1)
    sending.campaign_cancel(access=world["access"], campaign=campaign)
    Deliverer().run()
    assert len(received(sink, campaign)) == 2
    assert states(campaign)["pending"] == 4
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED and campaign.finished_at
    with pytest.raises(Conflict):
        sending.campaign_resume(access=world["access"], campaign=campaign)


def test_a_row_whose_lease_expired_is_sent_again_but_one_still_leased_is_not(sink):
    world = sending_world(3)
    started(world)
    campaign = world["campaign"]
    rows = list(CampaignRecipient.objects.filter(campaign=campaign).order_by("pk"))
    past, future = (
        timezone.now() - datetime.timedelta(seconds=1),
        timezone.now() + datetime.timedelta(minutes=5),
    )
    CampaignRecipient.objects.filter(pk=rows[0].pk).update(
        state="sending", worker="dead:1", lease_until=past, attempts=1
    )
    CampaignRecipient.objects.filter(pk=rows[1].pk).update(
        state="sending", worker="alive:2", lease_until=future, attempts=1
    )
    Deliverer().run()
    sent_to = sorted(m["To"] for m in received(sink, campaign))
    assert sent_to == [f"c0@{world['domain']}", f"c2@{world['domain']}"]
    rows[0].refresh_from_db()
    assert (rows[0].state, rows[0].attempts) == ("sent", 2)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # the leased row is still out there


def test_campaigns_take_turns_whatever_their_size(sink, settings):
    settings.NEWSLETTER_BATCH_SIZE = 5
    big, small = sending_world(60), sending_world(5)
    started(big)
    started(small)
    Deliverer().run()
    order = list(
        CampaignRecipient.objects.filter(campaign__in=[big["campaign"], small["campaign"]])
        .order_by("sent_at", "pk").values_list("campaign_id", flat=True)
    )  # fmt: skip
    assert len(order) == 65
    last_small = max(
        i for i, campaign_id in enumerate(order) if campaign_id == small["campaign"].pk
    )
    assert last_small < 15, order  # served within the first turns, not after the 60


def test_a_scheduled_campaign_starts_at_its_time_and_one_long_overdue_waits(
    sink, mailoutbox, django_capture_on_commit_callbacks
):
    due, overdue, later = sending_world(2), sending_world(2), sending_world(2)
    now = timezone.now()
    for world, at in ((due, now), (overdue, now), (later, now + datetime.timedelta(hours=1))):
        campaigns.campaign_schedule(access=world["access"], campaign=world["campaign"], at=at)
    overdue["campaign"].__class__.objects.filter(pk=overdue["campaign"].pk).update(
        scheduled_at=now - datetime.timedelta(hours=7)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sending.due_campaigns_start() == 1
    for world, status in ((due, "sending"), (overdue, "overdue"), (later, "scheduled")):
        world["campaign"].refresh_from_db()
        assert world["campaign"].status == status
    assert [m.subject for m in mailoutbox] == [
        f"Waiting for your confirmation: {overdue['campaign'].title}"
    ]
    # The customer confirms: it goes now.
    job = sending.campaign_send(access=overdue["access"], campaign=overdue["campaign"])
    assert job.kind == "newsletter_send"
    overdue["campaign"].refresh_from_db()
    assert overdue["campaign"].status == CampaignStatus.SENDING


def test_progress_tells_the_figures_the_rate_and_an_estimated_end(sink, settings):
    settings.NEWSLETTER_BATCH_SIZE = 4
    world = sending_world(10)
    world["newsletter"].hourly_quota_override = 3600  # one per second
    world["newsletter"].save()
    started(world)
    campaign = world["campaign"]
    Deliverer().run(turns=1)
    campaign.refresh_from_db()
    progress = sending.campaign_progress(campaign)
    assert (progress["sent"], progress["pending"], progress["failed"]) == (4, 6, 0)
    assert progress["rate_per_hour"] > 0
    # six left at (3600 - burst) per hour: about six seconds from now
    seconds = (progress["estimated_end"] - timezone.now()).total_seconds()
    assert 4 < seconds < 10


def test_a_5xx_fails_the_recipient_as_a_hard_bounce_and_a_4xx_is_tried_again(sink, settings):
    settings.NEWSLETTER_RETRY_BASE_SECONDS = 0.01
    settings.NEWSLETTER_MAX_ATTEMPTS = 2
    world = sending_world(3)
    refused, delayed = f"c1@{world['domain']}", f"c2@{world['domain']}"
    sink.refuse(refused, "550 5.1.1 No such user")
    sink.refuse(delayed, "450 4.2.0 Try again later")
    try:
        started(world)
        Deliverer().run(turns=1)
        campaign = world["campaign"]
        rows = {row.contact.email: row for row in campaign.recipients.select_related("contact")}
        assert (rows[refused].state, rows[refused].bounce) == ("failed", "hard")
        assert rows[refused].smtp_reply.startswith("550 5.1.1")
        assert Subscription.objects.get(contact=rows[refused].contact).status == "bounced"
        assert (rows[delayed].state, rows[delayed].attempts) == ("pending", 1)
        assert rows[delayed].next_attempt_at and rows[delayed].smtp_reply.startswith("450")

        time.sleep(0.05)  # its back-off passed: the second and last attempt
        Deliverer().run()
        rows[delayed].refresh_from_db()
        assert (rows[delayed].state, rows[delayed].attempts) == ("failed", 2)
        assert Subscription.objects.get(contact=rows[delayed].contact).status == "subscribed"
        assert [m["To"] for m in received(sink, campaign)] == [f"c0@{world['domain']}"]
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.SENT
    finally:
        sink.accept_all()


def test_the_one_click_url_of_a_received_email_unsubscribes_without_a_page(sink):
    """What a mail provider does with the headers (RFC 8058): POST the https URL of
    List-Unsubscribe with List-Unsubscribe=One-Click, no cookie, no CSRF token."""
    world = sending_world(2)
    started(world)
    Deliverer().run()
    [message, *_] = [m for m in received(sink, world["campaign"]) if m["To"].startswith("c0@")]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    https = next(link for link in links if link.startswith("http"))
    assert any(link.startswith("mailto:") for link in links)
    client = Client(enforce_csrf_checks=True)
    path = urlsplit(https).path
    assert client.get(path).status_code == 200
    assert Subscription.objects.get(contact=_contact(world, 0)).status == "subscribed"
    answer = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200
    assert Subscription.objects.get(contact=_contact(world, 0)).status == "unsubscribed"
    assert Subscription.objects.get(contact=_contact(world, 1)).status == "subscribed"
