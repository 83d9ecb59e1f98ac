"""The two limits at once, with real worker processes sharing the rig's Redis: two
customers' campaigns, two workers, an hourly quota of 100 (the hour compressed to a few
seconds through the quota's window) and a global volume. Neither account ever goes over
its quota in any window, the platform never over its volume in any second, and both
campaigns progress together."""

import bisect

import pytest

from newsletter.models import CampaignRecipient
from newsletter.services import sending
from newsletter.throttle import Throttle
from tests.integration.newsletter_workers import WorkerProcess, wait_for
from tests.newsletter.sending_world import sending_world

pytestmark = pytest.mark.django_db(transaction=True)

QUOTA = 100  # account A's, per WINDOW; account B's is no limit
WINDOW = 5.0  # seconds standing for the hour
GLOBAL_RATE = 60  # emails per second for the whole platform
RECIPIENTS = 150


def _most_in_any_window(moments: list[float], window: float) -> int:
    """The largest number of `moments` (sorted) inside any interval of `window` seconds."""
    return max(
        (
            bisect.bisect_left(moments, start + window) - index
            for index, start in enumerate(moments)
        ),
        default=0,
    )


def test_two_accounts_share_the_platform_fairly_and_neither_exceeds_its_quota(
    rig, tmp_path, settings
):
    """A is held by its quota (20 per second), B by what the platform leaves (60 per
    second in all): both limits hold at once."""
    sink = rig.require("smtp_sink")
    settings.NEWSLETTER_QUOTA_WINDOW = WINDOW
    settings.NEWSLETTER_GLOBAL_RATE = GLOBAL_RATE
    Throttle().client.delete("newsletter:global")
    worlds = [sending_world(RECIPIENTS), sending_world(RECIPIENTS)]
    for world, quota in zip(worlds, (QUOTA, 100_000), strict=True):
        world["newsletter"].hourly_quota_override = quota
        world["newsletter"].save()
        job = sending.campaign_send(access=world["access"], campaign=world["campaign"])
        sending.campaign_start_run(job.pk)
    common = {
        "smtp_url": f"smtp://127.0.0.1:{sink.port}", "quota_window": WINDOW,
        "global_rate": GLOBAL_RATE, "batch_size": 20,
    }  # fmt: skip
    workers = [WorkerProcess(tmp_path, f"worker{n}", **common) for n in (1, 2)]
    campaigns = [world["campaign"] for world in worlds]
    rows = CampaignRecipient.objects.filter(campaign__in=campaigns)
    samples = []

    def all_sent() -> bool:
        samples.append([sending.recipient_figures(c)["sent"] for c in campaigns])
        return sum(samples[-1]) == 2 * RECIPIENTS

    try:
        for worker in workers:
            worker.start()
        wait_for(all_sent, timeout=120, what="every email sent", every=0.1)
    finally:
        for worker in workers:
            worker.stop()

    # Both progressed together: once B was half way, A had sent a fair part too.
    a_when_b_half = next(a for a, b in samples if b >= RECIPIENTS / 2)
    assert a_when_b_half >= RECIPIENTS * 0.2, samples
    moments = {
        campaign.pk: sorted(
            ts.timestamp()
            for ts in rows.filter(campaign=campaign).values_list("sent_at", flat=True)
        )
        for campaign in campaigns
    }
    a, b = (moments[campaign.pk] for campaign in campaigns)
    assert _most_in_any_window(a, WINDOW) <= QUOTA
    # the quota held A: 150 took more than one window (100, then 20 per second)
    assert a[-1] - a[0] >= WINDOW * 0.4
    assert _most_in_any_window(sorted(a + b), 1.0) <= GLOBAL_RATE
    # and B, free of quota, still did not take the whole platform
    assert b[-1] - b[0] >= (RECIPIENTS - 2 * GLOBAL_RATE) / GLOBAL_RATE
