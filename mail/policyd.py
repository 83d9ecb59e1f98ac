"""The policy service Postfix asks about outgoing mail (`manage.py mail_policyd`).

Postfix's submission service sends it a request at each RCPT and at the end of each
message (check_policy_service, deploy/postfix/). One asyncio process serves every
connection:

- at RCPT, for an authenticated sender, it defers the recipient (4xx, with the reason)
  once accepting it would exceed the address's limit over the last 24 hours, counting the
  recipients already accepted in messages still being sent; otherwise it answers DUNNO;
- at END-OF-MESSAGE it counts the message's accepted recipients (`recipient_count`), so
  recipients Postfix rejected for another reason never count.

Counters live in Redis as per-minute buckets (mail/sending.py). The service keeps each
address's window in memory, read from Redis the first time the address sends, and writes
its increments back in pipelined batches, so a request costs no round trip. Every message
(and every deferral) is pushed to a Redis list, which a process of its own moves to the
database (`move_log_forever`: the mail log), so the event loop never waits for it. If
Redis or the database cannot be reached, it defers every recipient, or with `fail_open`
lets them through uncounted, and logs the condition. SIGHUP drops the cached limits and
windows; they are read again on the next request.
"""

import asyncio
import json
import logging
import re
import signal
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .sending import BUCKETS_KEY, BUCKETS_TTL_SECONDS, LOG_QUEUE_KEY, SendingWindow, minute_of

logger = logging.getLogger("mail.policyd")

DUNNO = b"action=DUNNO\n\n"
UNAVAILABLE = b"action=451 4.3.0 The outgoing limit service is unavailable; try again later\n\n"
#: a message whose END-OF-MESSAGE never came (aborted session) frees its reservations
#: after this long (a slow DATA upload may take many minutes)
ABANDONED_MESSAGE_SECONDS = 3600
#: a message whose every recipient was deferred never reaches END-OF-MESSAGE (Postfix
#: refuses its DATA): its deferrals are logged once it is this long without a request
ALL_DEFERRED_IDLE_SECONDS = 5
SWEEP_SECONDS = 2
#: how often windows that count nothing are dropped from memory
FORGET_IDLE_SECONDS = 600
#: at most one "limit reached" event per address in this long (the drain sends one email
#: per 24 hours anyway)
NOTICE_THROTTLE_SECONDS = 600
#: a first-sight database lookup that takes longer counts as a database failure
LOOKUP_TIMEOUT_SECONDS = 5
#: Postfix accepts at most smtpd_recipient_limit (1,000) recipients per message; a larger
#: count is a broken or hostile client, not a message
MAX_RECIPIENT_COUNT = 100_000
#: log events kept while Redis is down; beyond, the oldest are dropped (and said so)
MAX_BUFFERED_EVENTS = 200_000
REQUEST_END = b"\n\n"
MAX_REQUEST_BYTES = 64 * 1024


@dataclass
class PendingMessage:
    """A message being sent: the recipients it reserved and those deferred."""

    username: str
    account: object
    sender: str
    client: str
    last_seen: float
    accepted: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


class PolicyService:
    """The policy decisions and their state; `PolicyConnection` feeds it requests."""

    def __init__(
        self,
        *,
        redis,
        lookup: Callable[[str], object],
        fail_open: bool = False,
        limit_cache_seconds: float = 60,
        clock: Callable[[], float] = time.time,
        thread_cleanup: Callable[[], None] | None = None,
    ) -> None:
        self.redis = redis
        self.lookup = lookup
        self.fail_open = fail_open
        self.limit_cache_seconds = limit_cache_seconds
        self.clock = clock
        #: run in each worker thread at close (to close its database connection)
        self.thread_cleanup = thread_cleanup
        self.accounts: dict[str, tuple[object, float]] = {}
        self.windows: dict[str, SendingWindow] = {}
        self.reserved: dict[str, int] = {}
        self.messages: dict[str, PendingMessage] = {}
        self.redis_ok = True
        self.database_ok = True
        self._loading: dict[tuple[str, str], asyncio.Future] = {}
        # Writes waiting for Redis: recipients per bucket key and minute (coalesced, so an
        # outage costs one field per minute), minutes to delete, and log events in order.
        self._increments: dict[str, dict[int, int]] = {}
        self._deletions: dict[str, set[int]] = {}
        self._events: list[str] = []
        self._events_dropped = 0
        self._writing = False
        self._wake = asyncio.Event()
        self._noticed: dict[int, float] = {}
        # First-sight lookups are a query each, on one connection of one thread.
        self._lookups = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policyd-lookup")
        self._tasks: list[asyncio.Task] = []
        self._closing = False
        self._forgotten_at = time.monotonic()

    # -- lifecycle ------------------------------------------------------------------------

    def start_background(self) -> None:
        self._writer_task = asyncio.create_task(self._writer())
        self._tasks = [
            self._writer_task,
            asyncio.create_task(self._health()),
            asyncio.create_task(self._sweeper()),
        ]
        for task in self._tasks:
            task.add_done_callback(_log_crash)

    async def close(self) -> None:
        """Write what is buffered, and stop."""
        await self.flush()
        # The loops stop on this flag. The writer is let finish its last pipeline rather
        # than cancelled in the middle of it.
        self._closing = True
        self._wake.set()
        await asyncio.wait([self._writer_task], timeout=3)
        for task in self._tasks:
            task.cancel()
        await asyncio.wait(self._tasks, timeout=3)
        if self._has_writes():
            logger.error("policy service: stopped with %s log events and the counts of %s "
                         "addresses not written to Redis", len(self._events),
                         len(self._increments))  # fmt: skip
        if self.thread_cleanup is not None:
            await self._in_thread(self._lookups, self.thread_cleanup)
        self._lookups.shutdown(wait=True)

    async def reload(self) -> None:
        """Forget the cached limits and windows (after flushing what they hold). While
        Redis is down the windows are kept: they hold counts Redis does not have yet."""
        await self.flush()
        self.accounts.clear()
        if self._has_writes():
            logger.warning("policy service: Redis is down; limits will be read again, the "
                           "counters kept until it is back")  # fmt: skip
            return
        self.windows.clear()
        logger.info("policy service: limits and counters will be read again")

    async def flush(self) -> None:
        """Wait until every buffered write reached Redis (or Redis is found down)."""
        while (self._has_writes() or self._writing) and self.redis_ok:
            self._wake.set()
            await asyncio.sleep(0.005)

    def _has_writes(self) -> bool:
        return bool(self._increments or self._deletions or self._events)

    # -- requests -------------------------------------------------------------------------

    def answer_now(self, attrs: dict[str, str]) -> bytes | None:
        """The answer if everything it needs is in memory, else None (see `answer`).
        `attrs` holds only the attributes in `PolicyConnection.ATTRIBUTES`."""
        state = attrs.get("protocol_state")
        username = attrs.get("sasl_username")
        if not username or (state != "RCPT" and state != "END-OF-MESSAGE"):
            return DUNNO
        username = username.lower()
        cached = self.accounts.get(username)
        if cached is None or cached[1] < time.monotonic():
            return None
        account = cached[0]
        if account is None:
            return DUNNO
        window = self.windows.get(username)
        if window is None:
            return None
        if not self.redis_ok and state == "RCPT":
            return self._unavailable()
        return self._decide(state, username, account, window, attrs)

    async def answer(self, attrs: dict[str, str]) -> bytes:
        """The answer, after reading the sender's limit or window when needed."""
        response = self.answer_now(attrs)
        if response is not None:
            return response
        username = attrs["sasl_username"].lower()
        state = attrs["protocol_state"]
        try:
            account = await self._account(username)
            if account is None:
                return DUNNO
            window = await self._window(username)
        except Exception:
            if state == "RCPT":
                return self._unavailable()
            # A message Postfix accepted recipients for is never refused at its end, and
            # is still counted with what is known of its sender.
            return self._end_unlooked(username, attrs)
        if not self.redis_ok and state == "RCPT":
            return self._unavailable()
        return self._decide(state, username, account, window, attrs)

    def _end_unlooked(self, username: str, attrs: dict[str, str]) -> bytes:
        """END-OF-MESSAGE when the sender's limit or window cannot be read: count it with
        the account its RCPTs saw (or the last one cached), into Redis."""
        message = self.messages.get(attrs.get("instance", ""))
        cached = self.accounts.get(username)
        account = message.account if message is not None else cached and cached[0]
        if account is None:
            logger.error("policy service: a message of %s could not be counted", username)
            return DUNNO
        window = self.windows.get(username) or SendingWindow()  # Redis gets the count
        return self._decide("END-OF-MESSAGE", username, account, window, attrs)

    def _decide(self, state, username, account, window, attrs) -> bytes:
        now = self.clock()
        minute = minute_of(now)
        instance = attrs.get("instance", "")
        if state == "RCPT":
            message = self.messages.get(instance)
            if message is None or message.username != username:
                if message is not None:
                    self._release(message)
                message = PendingMessage(
                    username, account, attrs.get("sender", ""),
                    attrs.get("client_address", ""), time.monotonic(),
                )  # fmt: skip
                self.messages[instance] = message
            message.last_seen = time.monotonic()
            recipient = attrs.get("recipient", "")
            reserved = self.reserved.get(username, 0)
            if window.total(minute) + reserved + 1 > account.limit:
                message.deferred.append(recipient)
                self._notice(account, username, now)
                return self._deferral(username, account, window, minute, reserved)
            self.reserved[username] = reserved + 1
            message.accepted.append(recipient)
            return DUNNO
        # END-OF-MESSAGE: what Postfix accepted is what counts.
        count = _recipient_count(attrs.get("recipient_count"))
        message = self.messages.pop(instance, None)
        if message is not None:
            self._release(message)
        if count:
            window.add(minute, count)
            self._count(username, minute, count, window)
            self._log(account, username, now, "accepted", count, attrs,
                      message.accepted if message else [])  # fmt: skip
            if window.total(minute) >= account.limit:
                self._notice(account, username, now)
        if message is not None and message.deferred:
            self._log_deferred(message, now, attrs.get("queue_id", ""))
        return DUNNO

    def _deferral(self, username, account, window, minute, reserved) -> bytes:
        if account.limit <= 0:
            text = f"450 4.7.1 Sending is suspended for {username}; please contact support"
            return f"action={text}\n\n".encode()
        frees = window.frees_at(minute, reserved, account.limit)
        when = datetime.fromtimestamp(frees * 60, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = (
            f"450 4.7.1 Outgoing limit reached: {username} may send to {account.limit} "
            f"recipients per 24 hours; try again after {when}"
        )
        return f"action={text}\n\n".encode()

    def _unavailable(self) -> bytes:
        return DUNNO if self.fail_open else UNAVAILABLE

    def _release(self, message: PendingMessage) -> None:
        left = self.reserved.get(message.username, 0) - len(message.accepted)
        if left > 0:
            self.reserved[message.username] = left
        else:
            self.reserved.pop(message.username, None)

    # -- state read on first sight --------------------------------------------------------

    async def _account(self, username: str):
        cached = self.accounts.get(username)
        if cached is not None and cached[1] >= time.monotonic():
            return cached[0]
        account = await self._once(("account", username), self._read_account, username)
        return account

    async def _read_account(self, username: str):
        try:
            account = await asyncio.wait_for(
                self._in_thread(self._lookups, self.lookup, username), LOOKUP_TIMEOUT_SECONDS
            )
        except Exception:
            self._set_health("database_ok", False, "the database cannot be reached")
            raise
        self._set_health("database_ok", True)
        self.accounts[username] = (account, time.monotonic() + self.limit_cache_seconds)
        return account

    async def _window(self, username: str) -> SendingWindow:
        window = self.windows.get(username)
        if window is not None:
            return window
        return await self._once(("window", username), self._read_window, username)

    async def _read_window(self, username: str) -> SendingWindow:
        try:
            raw = await self.redis.hgetall(BUCKETS_KEY.format(username=username))
        except Exception:
            self._set_health("redis_ok", False, "Redis cannot be reached")
            raise
        window = SendingWindow({int(minute): int(count) for minute, count in raw.items()})
        window.total(minute_of(self.clock()))  # expire what no longer counts
        self.windows[username] = window
        return window

    async def _once(self, key, load, username):
        """Run `load(username)` once for concurrent requests that need the same thing."""
        future = self._loading.get(key)
        if future is None:
            future = asyncio.ensure_future(load(username))
            self._loading[key] = future
            future.add_done_callback(lambda _f: self._loading.pop(key, None))
        return await asyncio.shield(future)

    @staticmethod
    async def _in_thread(executor, function, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    # -- writes ---------------------------------------------------------------------------

    def _count(self, username: str, minute: int, count: int, window: SendingWindow) -> None:
        key = BUCKETS_KEY.format(username=username)
        minutes = self._increments.setdefault(key, {})
        minutes[minute] = minutes.get(minute, 0) + count
        if window.dropped:
            self._deletions.setdefault(key, set()).update(window.dropped)
            window.dropped = []
        self._wake.set()

    def _log(self, account, username, now, status, count, attrs, recipients) -> None:
        self._push({
            "kind": "message",
            "id": str(uuid.uuid4()),
            "at": now,
            "address_id": account.address_id,
            "service_id": account.service_id,
            "organisation_id": account.organisation_id,
            "username": username,
            "sender": attrs.get("sender", ""),
            "client": attrs.get("client_address", ""),
            "queue_id": attrs.get("queue_id", ""),
            "status": status,
            "count": count,
            "recipients": recipients[:100],
        })  # fmt: skip

    def _log_deferred(self, message: PendingMessage, now: float, queue_id: str) -> None:
        attrs = {"sender": message.sender, "client_address": message.client, "queue_id": queue_id}
        self._log(message.account, message.username, now, "deferred", len(message.deferred),
                  attrs, message.deferred)  # fmt: skip

    def _notice(self, account, username: str, now: float) -> None:
        last = self._noticed.get(account.address_id)
        if last is not None and time.monotonic() - last < NOTICE_THROTTLE_SECONDS:
            return
        self._noticed[account.address_id] = time.monotonic()
        logger.info("policy service: %s reached its limit of %s recipients per 24 hours",
                    username, account.limit)  # fmt: skip
        self._push({"kind": "limit_reached", "address_id": account.address_id, "at": now})

    def _push(self, event: dict) -> None:
        self._events.append(json.dumps(event))
        if len(self._events) > MAX_BUFFERED_EVENTS:
            excess = len(self._events) - MAX_BUFFERED_EVENTS
            del self._events[:excess]
            if not self._events_dropped:
                logger.error("policy service: Redis is down and the log buffer is full; the "
                             "oldest log events are dropped (the counts are kept)")  # fmt: skip
            self._events_dropped += excess
        self._wake.set()

    async def _writer(self) -> None:
        """Send the buffered writes in one pipeline at a time; keep them while Redis is
        down (the windows in memory already count them)."""
        while not self._closing or self._has_writes():
            if not self._has_writes():
                await self._wake.wait()
                self._wake.clear()
                continue
            increments, self._increments = self._increments, {}
            deletions, self._deletions = self._deletions, {}
            events, self._events = self._events, []
            self._writing = True
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for key, minutes in increments.items():
                        for minute, count in minutes.items():
                            pipe.hincrby(key, minute, count)
                        pipe.expire(key, BUCKETS_TTL_SECONDS)
                    for key, old_minutes in deletions.items():
                        pipe.hdel(key, *old_minutes)
                    if events:
                        pipe.rpush(LOG_QUEUE_KEY, *events)
                    results = await pipe.execute(raise_on_error=False)
            except Exception:
                self._keep_unwritten(increments, deletions, events)
                self._set_health("redis_ok", False, "Redis cannot be reached")
                if self._closing:
                    return
                await asyncio.sleep(0.5)
            else:
                refused = [result for result in results if isinstance(result, Exception)]
                if refused:  # a command Redis refused would be refused again: not retried
                    logger.error("policy service: Redis refused %s writes: %s", len(refused),
                                 refused[0])  # fmt: skip
                self._set_health("redis_ok", True)
                if self._events_dropped:
                    logger.warning("policy service: %s log events were dropped while Redis "
                                   "was down", self._events_dropped)  # fmt: skip
                    self._events_dropped = 0
            finally:
                self._writing = False

    def _keep_unwritten(self, increments, deletions, events) -> None:
        """Put writes that did not reach Redis back in front of the newer ones."""
        for key, minutes in increments.items():
            current = self._increments.setdefault(key, {})
            for minute, count in minutes.items():
                current[minute] = current.get(minute, 0) + count
        for key, old_minutes in deletions.items():
            self._deletions.setdefault(key, set()).update(old_minutes)
        self._events[:0] = events

    # -- background -----------------------------------------------------------------------

    async def _health(self) -> None:
        """Notice within a second when Redis goes away or comes back."""
        while not self._closing:
            try:
                await self.redis.ping()
            except Exception:
                self._set_health("redis_ok", False, "Redis cannot be reached")
            else:
                self._set_health("redis_ok", True)
                if self._has_writes():
                    self._wake.set()
            await asyncio.sleep(1)

    def _set_health(self, name: str, ok: bool, problem: str = "") -> None:
        if getattr(self, name) == ok:
            return
        setattr(self, name, ok)
        what = "Redis" if name == "redis_ok" else "the database"
        if ok:
            logger.warning("policy service: %s is reachable again", what)
        else:
            mode = "letting mail through uncounted" if self.fail_open else "deferring mail"
            logger.error("policy service: %s; %s until it is back", problem, mode)

    async def _sweeper(self) -> None:
        """Free the reservations of messages that never ended, and log the deferrals of
        those that never will."""
        while not self._closing:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.monotonic()
            for instance, message in list(self.messages.items()):
                idle = now - message.last_seen
                if idle > ABANDONED_MESSAGE_SECONDS or (
                    not message.accepted and idle > ALL_DEFERRED_IDLE_SECONDS
                ):
                    del self.messages[instance]
                    self._release(message)
                    if message.deferred:
                        self._log_deferred(message, self.clock(), "")
            if now - self._forgotten_at > FORGET_IDLE_SECONDS:
                self._forget_idle(minute_of(self.clock()))
                self._forgotten_at = now

    def _forget_idle(self, minute: int) -> None:
        """Drop the windows that count nothing any more (read again from Redis, empty, if
        their address sends again), so memory follows the addresses sending today."""
        for username, window in list(self.windows.items()):
            if not window.total(minute) and username not in self.reserved:
                del self.windows[username]


class PolicyConnection(asyncio.Protocol):
    """One Postfix connection: requests are name=value lines ending with an empty line,
    answered in order."""

    #: the attributes `PolicyService` reads; of the thirty or so in a request, only these
    #: are parsed (the last of a repeated one wins)
    ATTRIBUTES = re.compile(
        r"\n(protocol_state|sasl_username|instance|sender|client_address|recipient_count"
        r"|recipient|queue_id)=([^\n]*)"
    )

    def __init__(self, service: PolicyService) -> None:
        self.service = service
        self.buffer = b""
        self.queue: deque[dict[str, str]] = deque()
        self.busy = False
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if REQUEST_END not in buffer:
            self.buffer = buffer
            if len(buffer) > MAX_REQUEST_BYTES:
                self.transport.close()
            return
        *requests, self.buffer = buffer.split(REQUEST_END)
        findall, queue = self.ATTRIBUTES.findall, self.queue
        for request in requests:
            queue.append(dict(findall("\n" + request.decode("utf-8", "replace"))))
        if not self.busy:
            self._answer_queued()

    def _answer_queued(self) -> None:
        service, write, queue = self.service, self.transport.write, self.queue
        while queue:
            attrs = queue.popleft()
            try:
                response = service.answer_now(attrs)
            except Exception:
                logger.exception("policy service: request failed")
                response = service._unavailable()
            if response is None:
                self.busy = True
                asyncio.ensure_future(self._answer_later(attrs))
                return
            write(response)

    async def _answer_later(self, attrs) -> None:
        try:
            response = await self.service.answer(attrs)
        except Exception:
            logger.exception("policy service: request failed")
            response = self.service._unavailable()
        if self.transport.is_closing():
            return
        self.transport.write(response)
        self.busy = False
        self._answer_queued()


async def serve(service: PolicyService, host: str, port: int) -> asyncio.AbstractServer:
    """Listen for Postfix; the service's background work starts with it."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: PolicyConnection(service), host, port,
                                      reuse_address=True)  # fmt: skip
    service.start_background()
    return server


async def run(
    service: PolicyService,
    host: str,
    port: int,
    ready: Callable | None = None,
    watch: Callable[[], Awaitable[str | None]] | None = None,
) -> str | None:
    """Serve until SIGTERM or SIGINT, or until `watch()` (awaited every 2 s) names a
    problem, which is returned; SIGHUP reloads."""
    loop = asyncio.get_running_loop()
    server = await serve(service, host, port)
    stop = asyncio.Event()
    problem: list[str] = []
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(service.reload()))

    async def watching():
        while watch is not None and not stop.is_set():
            await asyncio.sleep(2)
            found = await watch()
            if found:
                logger.error("policy service: %s; stopping", found)
                problem.append(found)
                stop.set()

    watcher = asyncio.create_task(watching())
    logger.info("policy service: listening on %s:%s", host, port)
    if ready is not None:
        ready(server)
    await stop.wait()
    watcher.cancel()
    server.close()
    await server.wait_closed()
    await service.close()
    logger.info("policy service: stopped")
    return problem[0] if problem else None


def _recipient_count(value: str | None) -> int:
    """Postfix's recipient_count, kept within what a message can have."""
    try:
        return min(MAX_RECIPIENT_COUNT, max(0, int(value or 0)))
    except ValueError:
        return 0


def _log_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("policy service: a background task stopped", exc_info=task.exception())


def move_log_forever(drain: Callable[[], int], *, interval: float = 0.5) -> None:
    """The log mover's loop (a child process of `manage.py mail_policyd`): move the
    service's events to the database every `interval`, once more on SIGTERM, then exit."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_args: stopping.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    while True:
        last = bool(stopping)
        try:
            drain()
        except Exception:
            logger.exception("policy service: could not move the mail log to the database")
            if not last:
                time.sleep(5)
        if last:
            return
        time.sleep(interval)
