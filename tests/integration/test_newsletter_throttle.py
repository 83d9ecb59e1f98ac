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

QUOTA = 100  # each account's, per WINDOW
WINDOW = 5.0  # seconds standing for the hour: 20 emails per second at most
GLOBAL_RATE = 30  # emails per second for the whole platform, less than both quotas
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
    """Each account could send 20 per second; the platform sends 30 in all: they share
    it, in turns, and both limits hold in every window."""
    sink = rig.require("smtp_sink")
    settings.NEWSLETTER_QUOTA_WINDOW = WINDOW
    settings.NEWSLETTER_GLOBAL_RATE = GLOBAL_RATE
    Throttle().client.delete("newsletter:global")
    worlds = [sending_world(RECIPIENTS, hourly_quota=QUOTA) for _account in (1, 2)]
    for world in worlds:
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

    # Both progressed together: once half of all was sent, each had sent about half.
    halfway = next(sample for sample in samples if sum(sample) >= RECIPIENTS)
    assert min(halfway) >= RECIPIENTS * 0.3, samples
    moments = [
        sorted(
            moment.timestamp()
            for moment in rows.filter(campaign=campaign).values_list("sent_at", flat=True)
        )
        for campaign in campaigns
    ]
    for own in moments:
        assert _most_in_any_window(own, WINDOW) <= QUOTA
    every = sorted(moments[0] + moments[1])
    assert _most_in_any_window(every, 1.0) <= GLOBAL_RATE
    # The platform's volume was the limit: 300 emails took about 300 / 30 seconds.
    assert every[-1] - every[0] >= (2 * RECIPIENTS - GLOBAL_RATE) / GLOBAL_RATE
