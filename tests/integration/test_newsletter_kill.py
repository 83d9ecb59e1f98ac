"""Exactly once through crashes: a campaign of 2,000 recipients sent by a real worker
process through the rig's Postfix to the SMTP sink, the worker killed with SIGKILL three
times at random moments and started again. The sink must hold each recipient's email
exactly once: nobody without it, nobody with two."""

import collections
import random
import re
import time

import pytest

from newsletter.models import Campaign, CampaignRecipient, CampaignStatus, RecipientState
from newsletter.services import sending
from tests.integration.newsletter_workers import WorkerProcess, wait_for
from tests.newsletter.sending_world import sending_world

pytestmark = pytest.mark.django_db(transaction=True)

RECIPIENTS = 2000
KILLS = 3
MESSAGE_ID = re.compile(rb"^Message-ID: <c(\d+)\.r(\d+)@", re.MULTILINE | re.IGNORECASE)


def _copies(sink, campaign_id: int) -> collections.Counter:
    """How many copies of each contact's email of the campaign the sink received."""
    copies = collections.Counter()
    for message in list(sink.messages):
        found = MESSAGE_ID.search(message.data)
        if found and int(found.group(1)) == campaign_id:
            copies[int(found.group(2))] += 1
    return copies


@pytest.mark.parametrize("seed", [17, 2026])
def test_a_worker_killed_three_times_sends_each_recipient_exactly_once(servers, tmp_path, seed):
    chance = random.Random(seed)
    world = sending_world(RECIPIENTS)
    campaign = world["campaign"]
    job = sending.campaign_send(access=world["access"], campaign=campaign)
    sending.campaign_start_run(job.pk)
    worker = WorkerProcess(
        tmp_path, "worker",
        smtp_url=f"smtp://127.0.0.1:{servers.postfix.port}",
        global_rate=100_000, lease_seconds=3, batch_size=50,
    )  # fmt: skip
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    try:
        for kill in range(KILLS):
            worker.start()
            # a random moment of the sending (the worker sends ~2,000 in a few seconds)
            wait_for(lambda k=kill: rows.filter(state="sent").count() >= (k + 1) * 150,
                     timeout=120, what="the worker to send")  # fmt: skip
            time.sleep(chance.uniform(0.0, 0.4))
            worker.kill()
        sent_before_last = rows.filter(state="sent").count()
        assert sent_before_last < RECIPIENTS, "the kills came too late to prove anything"
        worker.start()
        # Done once the worker has seen that nothing is left and closed the campaign.
        wait_for(
            lambda: Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT,
            timeout=180, what="the campaign sent",
        )  # fmt: skip
        figures = worker.stop()
    finally:
        worker.kill()

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert not rows.exclude(state=RecipientState.SENT).exists()
    contact_ids = set(rows.values_list("contact_id", flat=True))
    # Postfix delivers to the sink on its own time: wait until it holds them all.
    wait_for(lambda: len(_copies(servers.sink, campaign.pk)) >= RECIPIENTS, timeout=180,
             what="Postfix to deliver every email to the sink")  # fmt: skip
    copies = _copies(servers.sink, campaign.pk)
    missing = contact_ids - set(copies)
    doubled = {contact: count for contact, count in copies.items() if count > 1}
    assert not missing, f"{len(missing)} recipients without their email"
    assert not doubled, f"{len(doubled)} recipients with two: {figures}"
    assert set(copies) == contact_ids
