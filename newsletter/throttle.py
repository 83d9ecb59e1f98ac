"""The two limits of newsletter sending, spent together: an hourly quota per customer
account (newsletter/plans.py) and a global volume for the whole platform
(NEWSLETTER_GLOBAL_RATE messages per second).

Each limit is a token bucket in Redis, so that every worker on every machine spends
from the same ones: adding workers never raises the rate. One Lua script refills both
buckets on Redis's own clock and takes the same number of tokens from both, or from
neither, atomically. Counting per process (Mailtrain's five workers at 5 per hour sent
614 a day) cannot happen.

A bucket of capacity C refilled at r tokens per second grants at most C + r*W in any
window of W seconds. For a limit of L per window W we take C = a small share of L and
r = (L - C) / W, so that no window of W seconds (an hour for the quota, a second for the
global volume) ever holds more than L, bursts included; a little under that (RATE_MARGIN),
so that the moments the emails leave, a few milliseconds after their tokens, stay under
it too.
"""

import math
from dataclasses import dataclass

import redis
from django.conf import settings

from .plans import hourly_quota_of

#: how much of a limit may go out at once, before the steady rate takes over
QUOTA_BURST_SHARE = 0.02
GLOBAL_BURST_SHARE = 0.1
GLOBAL_WINDOW = 1.0  # seconds: "messages per second"
RATE_MARGIN = 0.97

ACCOUNT_KEY = "newsletter:quota:{organisation}"
GLOBAL_KEY = "newsletter:global"

# KEYS: account bucket, global bucket. ARGV: wanted, then capacity and rate of each.
# Answers {granted, milliseconds to wait when nothing was granted, which limit held}: the
# wait is until the account's bucket holds a batch (as much as was wanted, or as its
# capacity allows), so that a campaign held by its quota comes back for a batch rather
# than for one email at a time; until one token for the platform's.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local function level(key, capacity, rate)
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil then return capacity end
  return math.min(capacity, tokens + math.max(0, now - at) * rate)
end
local wanted = tonumber(ARGV[1])
local caps = {tonumber(ARGV[2]), tonumber(ARGV[4])}
local rates = {tonumber(ARGV[3]), tonumber(ARGV[5])}
local levels = {}
local granted = wanted
for i = 1, 2 do
  levels[i] = level(KEYS[i], caps[i], rates[i])
  granted = math.min(granted, math.floor(levels[i]))
end
granted = math.max(0, granted)
local wait, held = 0, 0
if granted == 0 then
  for i = 1, 2 do
    if levels[i] < 1 then
      local goal = 1
      if i == 1 then goal = math.max(1, math.min(wanted, caps[1])) end
      local needed = (goal - levels[i]) / rates[i]
      if needed > wait then wait, held = needed, i end
    end
  end
end
for i = 1, 2 do
  local ttl = math.ceil(caps[i] / rates[i]) + 60
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - granted), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[i], ttl)
end
return {granted, math.ceil(wait * 1000), held}
"""

# KEYS: account bucket, global bucket. ARGV: count, then both capacities.
_GIVE_BACK = """
for i = 1, 2 do
  local tokens = tonumber(redis.call('HGET', KEYS[i], 'tokens'))
  if tokens ~= nil then
    local capacity = tonumber(ARGV[i + 1])
    redis.call('HSET', KEYS[i], 'tokens', tostring(math.min(capacity, tokens + tonumber(ARGV[1]))))
  end
end
return 1
"""


@dataclass(frozen=True)
class Bucket:
    capacity: float
    rate: float  # tokens per second

    @classmethod
    def for_limit(cls, limit: float, window: float, burst_share: float) -> "Bucket":
        """The bucket that never grants more than `limit` in any `window` seconds."""
        limit = max(1.0, float(limit))
        capacity = min(limit, max(1.0, math.floor(limit * burst_share)))
        rate = max(limit - capacity, limit * 0.01) / window * RATE_MARGIN
        return cls(capacity, rate)


@dataclass(frozen=True)
class Grant:
    count: int
    #: when nothing was granted: seconds until a token is back, and whether it is the
    #: account's quota ("account") or the platform's volume ("global") that holds
    wait: float = 0.0
    held_by: str = ""


def hourly_quota(organisation_id: int) -> int:
    """The account's quota: each Newsletter product it holds brings its plan's (or its
    override), as each Service Mail brings its own addresses."""
    from .models import Newsletter

    return sum(hourly_quota_of(newsletter) for newsletter in
               Newsletter.objects.filter(organisation_id=organisation_id))  # fmt: skip


def account_bucket(organisation_id: int) -> Bucket:
    return Bucket.for_limit(
        hourly_quota(organisation_id), settings.NEWSLETTER_QUOTA_WINDOW, QUOTA_BURST_SHARE
    )


def global_bucket() -> Bucket:
    return Bucket.for_limit(settings.NEWSLETTER_GLOBAL_RATE, GLOBAL_WINDOW, GLOBAL_BURST_SHARE)


class Throttle:
    """The two buckets of one Redis, for one worker. `take` asks for up to `wanted`
    sends of an account and answers how many may go now."""

    def __init__(self, client: redis.Redis | None = None):
        self.client = client or redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        self._take = self.client.register_script(_TAKE)
        self._give_back = self.client.register_script(_GIVE_BACK)

    def take(self, organisation_id: int, wanted: int, account: Bucket | None = None) -> Grant:
        account = account or account_bucket(organisation_id)
        platform = global_bucket()
        granted, wait_ms, held = self._take(
            keys=[ACCOUNT_KEY.format(organisation=organisation_id), GLOBAL_KEY],
            args=[wanted, account.capacity, account.rate, platform.capacity, platform.rate],
        )
        held_by = {1: "account", 2: "global"}.get(int(held), "")
        return Grant(int(granted), int(wait_ms) / 1000, held_by)

    def give_back(self, organisation_id: int, count: int, account: Bucket | None = None) -> None:
        """Tokens taken for recipients that were not there after all (claimed by another
        worker, or the campaign paused)."""
        if count <= 0:
            return
        account = account or account_bucket(organisation_id)
        self._give_back(
            keys=[ACCOUNT_KEY.format(organisation=organisation_id), GLOBAL_KEY],
            args=[count, account.capacity, global_bucket().capacity],
        )

    def reset(self, organisation_id: int) -> None:
        """Full buckets again, for an account whose quota staff just changed."""
        self.client.delete(ACCOUNT_KEY.format(organisation=organisation_id))
