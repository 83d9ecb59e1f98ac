"""Outgoing limits: how recipients are counted over a rolling 24 hours.

The policy service (mail/policyd.py) keeps one `SendingWindow` per address in memory and
persists it in Redis as per-minute buckets (a hash per address: minute -> recipients), so
a restart of the service reads the exact same window back. A minute's recipients stop
counting 24 hours after that minute began: the sum is exact to the minute, never reset at
midnight.
"""

from collections import deque

#: the rolling window, in minutes
WINDOW_MINUTES = 24 * 60
#: a minute bucket's hash is kept this long after its last write (the window plus a margin)
BUCKETS_TTL_SECONDS = (WINDOW_MINUTES + 60) * 60

#: Redis keys of the policy service
BUCKETS_KEY = "panel:mail:sent:{username}"
LOG_QUEUE_KEY = "panel:mail:log"
NOTICE_KEY = "panel:mail:limit-notified:{address_id}"
#: one notice per address per 24 hours, however many recipients are deferred
NOTICE_SECONDS = 24 * 3600


def minute_of(timestamp: float) -> int:
    """The minute bucket of a Unix time."""
    return int(timestamp // 60)


class SendingWindow:
    """Recipients per minute of one address over the last 24 hours, with their sum.

    Buckets are kept oldest first, so adding to the current minute and dropping expired
    minutes are O(1) however much the address sends.
    """

    __slots__ = ("_buckets", "_total", "dropped")

    def __init__(self, buckets: dict[int, int] | None = None) -> None:
        self._buckets: deque[list[int]] = deque(
            [minute, count] for minute, count in sorted((buckets or {}).items()) if count > 0
        )
        self._total = sum(count for _minute, count in self._buckets)
        #: minutes dropped since the owner last took them (to delete them from Redis too)
        self.dropped: list[int] = []

    def expire(self, minute: int) -> None:
        """Drop the buckets that no longer count at `minute` (their minutes go to
        `dropped`)."""
        oldest_counted = minute - WINDOW_MINUTES + 1
        buckets = self._buckets
        while buckets and buckets[0][0] < oldest_counted:
            old_minute, count = buckets.popleft()
            self._total -= count
            self.dropped.append(old_minute)

    def total(self, minute: int) -> int:
        """Recipients counted at `minute` (the 1,440 minutes up to and including it)."""
        self.expire(minute)
        return self._total

    def add(self, minute: int, count: int) -> None:
        if count <= 0:
            return
        buckets = self._buckets
        if buckets and buckets[-1][0] == minute:
            buckets[-1][1] += count
        elif not buckets or buckets[-1][0] < minute:
            buckets.append([minute, count])
        else:  # a clock step backwards: keep the order, count it in the newest bucket
            buckets[-1][1] += count
        self._total += count

    def frees_at(self, minute: int, reserved: int, limit: int) -> int | None:
        """The first minute at which one more recipient fits under `limit`, counting
        `reserved` recipients being sent now (they count from `minute`); None if none ever
        will (a limit of 0)."""
        if limit <= 0:
            return None
        excess = self.total(minute) + reserved + 1 - limit
        if excess <= 0:
            return minute
        for bucket_minute, count in self._buckets:
            excess -= count
            if excess <= 0:
                return bucket_minute + WINDOW_MINUTES
        # what is still in excess is being sent now, and counts from now
        return minute + WINDOW_MINUTES

    def buckets(self) -> dict[int, int]:
        return {minute: count for minute, count in self._buckets}
