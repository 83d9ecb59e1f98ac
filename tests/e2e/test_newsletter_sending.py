"""A campaign's send in headless Chromium, as its customer follows it.

A campaign of 200 recipients waits for its customer's confirmation (its time passed
while the platform was down). The account's quota is 600 emails per "hour", the hour
compressed to two minutes (NEWSLETTER_QUOTA_WINDOW), so that the send takes about forty
seconds; a real worker process (`manage.py newsletter_deliver`) sends to the rig's SMTP
sink. At 1366px in English the customer presses "Send now": the report page shows the
sent count growing without a reload, a rate per hour and an estimated end. Pause: the
count stops. At 390px in French the paused send is resumed, and the English page,
which nobody touched, notices it and follows again, then shows the report once
everything is sent, each recipient exactly once in the sink. Opens and clicks of the
next hours are added, and the report's charts are drawn at both widths in both
languages, nothing scrolling sideways.

Screenshots: tests/e2e/screenshots/newsletter-sending-<state>-<width>-<language>.png."""

import datetime
import random
import re

import pytest
import redis
from django.conf import settings as django_settings
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from newsletter.models import (
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    CampaignStatus,
    Newsletter,
)
from newsletter.services import sending
from newsletter.throttle import GLOBAL_KEY, Throttle
from tests.integration.newsletter_workers import WorkerProcess, wait_for
from tests.newsletter.sending_world import sending_world

from .conftest import shot
from .test_newsletter_wizard import DESKTOP, PHONE, _open, assert_no_sideways_scroll, sign_in

pytestmark = pytest.mark.e2e

RECIPIENTS = 200
QUOTA = 600
WINDOW = 120  # seconds standing for the quota's hour
LATER = datetime.timedelta(hours=6)


@pytest.fixture
def world(transactional_db, rig, settings, tmp_path):
    sink = rig.require("smtp_sink")
    smtp_url = f"smtp://127.0.0.1:{sink.port}"
    settings.NEWSLETTER_SMTP_URL = smtp_url
    settings.NEWSLETTER_QUOTA_WINDOW = WINDOW
    settings.NEWSLETTER_GLOBAL_RATE = 10_000
    w = sending_world(RECIPIENTS, name="Théâtre du Jorat")
    Newsletter.objects.filter(pk=w["newsletter"].pk).update(hourly_quota_override=QUOTA)
    Campaign.objects.filter(pk=w["campaign"].pk).update(
        title="Autumn premieres for {{ first_name }}",
        status=CampaignStatus.OVERDUE,
        scheduled_at=timezone.now() - datetime.timedelta(hours=9),
    )
    # The buckets of an earlier test's organisation of the same id start full again.
    Throttle().reset(w["org"].pk)
    redis.Redis.from_url(django_settings.REDIS_URL).delete(GLOBAL_KEY)
    worker = WorkerProcess(
        tmp_path, "deliver", smtp_url=smtp_url, quota_window=WINDOW, global_rate=10_000,
        batch_size=10,
    )  # fmt: skip
    worker.start()
    yield {**w, "sink": sink, "worker": worker}
    worker.stop()


def figures(campaign) -> dict:
    return sending.recipient_figures(campaign)


def shown(page, testid: str) -> int:
    return int(re.sub(r"\D", "", page.get_by_test_id(testid).text_content()) or 0)


def wait_until_more(page, testid: str, than: int):
    page.wait_for_function(
        """([testid, than]) => {
             const el = document.querySelector(`[data-testid="${testid}"]`);
             return el && parseInt(el.textContent.replace(/\\D/g, "") || "0", 10) > than;
           }""",
        arg=[testid, than],
        timeout=30_000,
    )


def chart_drawn(page, name: str) -> bool:
    """The chart's canvas holds a Chart.js chart with a fair number of pixels painted."""
    return page.evaluate(
        """(name) => {
             const canvas = document.querySelector(`canvas[data-chart="${name}"]`);
             if (!canvas || !window.Chart || !window.Chart.getChart(canvas)) return false;
             const { width, height } = canvas;
             const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
             let painted = 0;
             for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
             return painted > 500;
           }""",
        name,
    )


def received(sink, campaign) -> list[str]:
    marker = f"<c{campaign.pk}.r".encode()
    return [message.rcpt_tos[0] for message in list(sink.messages) if marker in message.data]


def add_activity(campaign):
    """The report as it reads six hours later: the send moved back by LATER, then
    people's opens and clicks spread over those hours (most in the first), the machines'
    at delivery, a few bounces, unsubscribes and a complaint."""
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=F("started_at") - LATER,
        finished_at=F("finished_at") - LATER,
        scheduled_at=F("scheduled_at") - LATER,
    )
    CampaignRecipient.objects.filter(campaign=campaign).update(sent_at=F("sent_at") - LATER)
    campaign.refresh_from_db()
    rows = list(CampaignRecipient.objects.filter(campaign=campaign).order_by("pk"))
    chance = random.Random(17)
    events = []

    def happened(row, kind, at, **fields):
        events.append(
            CampaignEvent(campaign=campaign, contact_id=row.contact_id, kind=kind, at=at, **fields)
        )

    def minutes(value):
        return datetime.timedelta(minutes=value)

    for number, row in enumerate(rows[:118]):
        row.opened_at = campaign.finished_at + minutes(min(chance.expovariate(1 / 70), 340))
        happened(row, "open", row.opened_at)
        for _again in range(chance.choice((0, 0, 1, 2))):
            happened(row, "open", row.opened_at + minutes(chance.uniform(5, 60)))
        if number % 3 == 0:
            row.clicked_at = row.opened_at + minutes(chance.uniform(0.5, 4))
            happened(row, "click", row.clicked_at, link_index=number % 2)
    for row in rows[150:180]:  # Apple's privacy proxy loads the pixel on delivery
        happened(row, "open", row.sent_at + minutes(0.3), machine=True,
                 detail={"machine": "apple-privacy"})  # fmt: skip
    for row in rows[180:184]:  # a scanner follows every link
        for link in (0, 1):
            happened(row, "click", row.sent_at + minutes(0.05), link_index=link, machine=True)
    for row, bounce in ((rows[190], "hard"), (rows[191], "hard"), (rows[192], "soft")):
        row.bounce, row.bounced_at = bounce, row.sent_at + minutes(2)
        row.smtp_reply = "5.1.1 <user unknown>" if bounce == "hard" else "4.2.2 mailbox full"
        happened(row, "bounce", row.bounced_at, detail={"type": bounce})
    for row in rows[10:13]:
        happened(row, "unsubscribe", row.opened_at)
    happened(rows[20], "complaint", rows[20].opened_at)
    CampaignEvent.objects.bulk_create(events)
    CampaignRecipient.objects.bulk_update(
        rows, ["opened_at", "clicked_at", "bounce", "bounced_at", "smtp_reply"]
    )


def test_a_send_followed_live_paused_resumed_then_reported(live_server, world, browser):
    base, campaign = live_server.url, world["campaign"]
    report = f"{base}/o/{world['org'].pk}/newsletter/campaigns/{campaign.pk}/report/"
    email = world["legal"].email
    contexts, errors = [], []

    def opened(viewport, language):
        context, page, page_errors = _open(browser, viewport, language, timezone_id="Europe/Zurich")
        contexts.append(context)
        errors.append(page_errors)
        sign_in(page, base, email)
        page.goto(report)
        return page

    # -- English, 1366px: the confirmation, then the send followed live --------------------
    page = opened(DESKTOP, "en")
    expect(page.get_by_test_id("report-not-started")).to_contain_text("your confirmation")
    shot(page, "newsletter-sending-overdue-desktop-en")
    page.get_by_test_id("send-now").click()
    expect(page.get_by_test_id("progress")).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    sending.campaign_start_run(campaign.send_job_id)  # the start Job, as its task runs it
    # Once every recipient is listed the page reloads by itself, once, to show them.
    expect(page.get_by_test_id("recipient-rows")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    wait_until_more(page, "progress-sent", 15)
    first = shown(page, "progress-sent")
    wait_until_more(page, "progress-sent", first)
    assert page.evaluate("window.sameDocument") is True, "the count grew by a reload"
    expect(page.get_by_test_id("progress-rate")).to_have_text(re.compile(r"^[1-9][\d,]* per hour$"))
    expect(page.get_by_test_id("progress-end")).not_to_have_text("—")
    assert 0 < shown(page, "progress-sent") < RECIPIENTS
    assert_no_sideways_scroll(page, "progress, desktop")
    shot(page, "newsletter-sending-progress-desktop-en")

    # -- Pause: the count stops ----------------------------------------------------------------
    page.get_by_test_id("pause").click()
    expect(page.get_by_test_id("paused-notice")).to_be_visible()
    page.wait_for_timeout(1500)  # an email in hand when the pause came goes out
    held = figures(campaign)["sent"]
    page.wait_for_timeout(3000)
    assert figures(campaign)["sent"] == held
    assert 0 < held < RECIPIENTS
    expect(page.get_by_test_id("progress-rate")).to_have_text("—")
    shot(page, "newsletter-sending-paused-desktop-en")

    # -- French, 390px: resumed from the phone ---------------------------------------------------
    phone = opened(PHONE, "fr")
    expect(phone.get_by_test_id("paused-notice")).to_be_visible()
    assert_no_sideways_scroll(phone, "paused, phone")
    shot(phone, "newsletter-sending-paused-phone-fr")
    phone.get_by_test_id("resume").click()
    expect(phone.get_by_test_id("pause")).to_be_visible()
    wait_until_more(phone, "progress-sent", held)
    assert_no_sideways_scroll(phone, "progress, phone")
    shot(phone, "newsletter-sending-progress-phone-fr")
    # The English page saw the status change by itself and follows again; its figures
    # under the progress follow too, without a reload.
    expect(page.get_by_test_id("pause")).to_be_visible(timeout=15_000)
    page.evaluate("window.sameDocument = true")
    wait_until_more(page, "delivered-count", shown(page, "delivered-count"))
    assert page.evaluate("window.sameDocument") is True, "the figures grew by a reload"

    # -- To the end: every recipient once -------------------------------------------------------
    wait_for(
        lambda: Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENT).exists(),
        timeout=120, what="the campaign to be sent",
    )  # fmt: skip
    expect(page.get_by_test_id("results")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("progress")).to_have_count(0)
    expect(page.get_by_test_id("outcome-delivered")).to_have_text(str(RECIPIENTS))
    addresses = received(world["sink"], campaign)
    assert len(addresses) == len(set(addresses)) == RECIPIENTS
    expect(page.get_by_test_id("activity-empty")).to_be_visible()

    # -- Six hours later: the report's charts ---------------------------------------------
    add_activity(campaign)
    pages = {("desktop", "en"): page, ("phone", "fr"): phone}
    pages[("phone", "en")] = opened(PHONE, "en")
    pages[("desktop", "fr")] = opened(DESKTOP, "fr")
    for (width, language), each in pages.items():
        each.goto(report)
        for chart in ("activity", "links"):
            each.wait_for_function(
                "(name) => !!document.querySelector(`canvas[data-chart='${name}']`)", arg=chart
            )
            wait_for(lambda: chart_drawn(each, chart), timeout=10, what=f"the {chart} chart")  # noqa: B023
        expect(each.get_by_test_id("kpi-opens")).to_contain_text("%")
        expect(each.get_by_test_id("machine-note")).to_be_visible()
        expect(each.get_by_test_id("links-table").locator("tbody tr")).to_have_count(2)
        assert_no_sideways_scroll(each, f"report, {width} {language}")
        shot(each, f"newsletter-sending-report-{width}-{language}")
    filtered = pages[("desktop", "en")]
    filtered.goto(report + "?state=sent&q=c19#recipients")  # c19, c190 ... c199
    rows = filtered.get_by_test_id("recipient-rows").locator("tbody tr")
    expect(rows).to_have_count(11)
    expect(rows.filter(has_text="c190@")).to_contain_text("5.1.1 <user unknown>")
    shot(filtered, "newsletter-sending-recipients-desktop-en")

    for context in contexts:
        context.close()
    assert [error for page_errors in errors for error in page_errors] == []
