"""The two buckets in the rig's Redis, as the workers spend them: never more than the
limit in any window, bursts included, and tokens taken from both or from neither."""

import bisect
import time

import pytest

from newsletter.throttle import Bucket, Throttle


@pytest.fixture
def throttle(settings):
    settings.NEWSLETTER_GLOBAL_RATE = 1000
    throttle = Throttle()
    throttle.client.delete(
        "newsletter:global", "newsletter:quota:900001", "newsletter:quota:900002"
    )
    return throttle


def test_an_account_never_gets_more_than_its_quota_in_any_window(throttle):
    account = Bucket.for_limit(20, 1.0, 0.1)  # 20 per second, bursts included
    moments = []
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        grant = throttle.take(900001, 5, account)
        moments += [time.monotonic()] * grant.count
        if not grant.count:
            assert grant.held_by == "account" and grant.wait > 0
            time.sleep(min(grant.wait, 0.02))
    most = max(bisect.bisect_left(moments, start + 1.0) - i for i, start in enumerate(moments))
    assert most <= 20
    assert len(moments) >= 40  # and it did grant at about its rate


def test_tokens_come_from_both_buckets_or_from_neither(throttle, settings):
    settings.NEWSLETTER_GLOBAL_RATE = 2  # the platform: one token at a time
    account = Bucket.for_limit(100, 3600, 0.5)  # 50 at once for this account
    first = throttle.take(900002, 10, account)
    assert first.count == 1  # as many as the platform had
    refused = throttle.take(900002, 10, account)
    assert (refused.count, refused.held_by) == (0, "global")
    # the account lost only the token it used: 49 are left once the platform refills
    settings.NEWSLETTER_GLOBAL_RATE = 1000
    throttle.client.delete("newsletter:global")
    assert throttle.take(900002, 100, account).count == 49
