"""The outgoing-limit policy service, spoken to over its socket as Postfix does.

The service runs in a thread of the test process with the rig's Redis and the test
database (committed rows: it reads them from its own threads). Its clock is the test's,
so the rolling window can be moved without waiting a day.
"""

import asyncio
import logging
import socket
import threading
import time

import pytest
import redis
import redis.asyncio
from django.core import mail as outbox
from django.db import connections

from mail import policyd
from mail.models import MailLogEntry
from mail.sending import BUCKETS_KEY, LOG_QUEUE_KEY, NOTICE_KEY
from mail.services.sending import (
    mail_log_drain,
    mail_log_purge,
    sending_account,
    sending_limit_notify,
)
from panel.models import Role
from tests import factories as f
from tests.rig import redis_database_url

pytestmark = pytest.mark.django_db(transaction=True)

START = 1_790_000_000.0  # a fixed "now" (2026-09-21), so minutes are predictable


def own_redis_url() -> str:
    """A Redis database of these tests' own: the rig's policy service (started for the
    integration tests) counts and moves the log in database 0."""
    return redis_database_url(6)


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self):
        return self.now


class Running:
    """A PolicyService on a loopback port, in its own thread and event loop."""

    def __init__(self, *, redis_url=None, fail_open=False, lookup=None, limit_cache_seconds=60):
        self.clock = Clock()
        self.notices = []
        self.sync_redis = redis.Redis.from_url(own_redis_url())
        self.loop = asyncio.new_event_loop()
        self.service = None
        self.redis_url = redis_url or own_redis_url()
        self.fail_open = fail_open
        self.lookup = lookup or sending_account
        self.limit_cache_seconds = limit_cache_seconds
        self.port = 0
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        assert started.wait(10), "the policy service did not start"

    def _run(self, started):
        asyncio.set_event_loop(self.loop)

        async def main():
            self.service = policyd.PolicyService(
                redis=redis.asyncio.Redis.from_url(
                    self.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
                ),
                lookup=self.lookup,
                limit_cache_seconds=self.limit_cache_seconds,
                fail_open=self.fail_open,
                clock=self.clock,
                thread_cleanup=connections.close_all,
            )
            self.server = await policyd.serve(self.service, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            started.set()

        self.loop.run_until_complete(main())
        self.loop.run_forever()

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def flush(self):
        self.call(self.service.flush())

    def stop(self):
        if not self.thread.is_alive():
            return

        async def stop():
            self.server.close()
            await self.service.close()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def drain(self):
        self.flush()
        return mail_log_drain(
            client=self.sync_redis, notify=lambda *args: self.notices.append(args)
        )


class Postfix:
    """One smtpd process's connection to the policy service."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")
        self.messages = 0

    def ask(self, **attrs) -> str:
        request = "".join(f"{name}={value}\n" for name, value in attrs.items()) + "\n"
        self.sock.sendall(request.encode())
        answer = self.file.readline().decode().strip()
        assert self.file.readline() == b"\n"
        return answer.removeprefix("action=")

    def send(self, username, recipients, *, accepted=None, sender=None):
        """One message: RCPT for each recipient, then END-OF-MESSAGE with the number
        Postfix accepted (by default, those the service did not defer)."""
        self.messages += 1
        instance = f"{id(self):x}.{self.messages}"
        common = {"request": "smtpd_access_policy", "sasl_username": username,
                  "sender": sender or username, "instance": instance,
                  "client_address": "192.0.2.7"}  # fmt: skip
        answers = [
            self.ask(protocol_state="RCPT", recipient=recipient, **common)
            for recipient in recipients
        ]
        count = sum(a == "DUNNO" for a in answers) if accepted is None else accepted
        assert self.ask(protocol_state="END-OF-MESSAGE", recipient_count=count,
                        queue_id="4QX1", **common) == "DUNNO"  # fmt: skip
        return answers

    def close(self):
        self.sock.close()


@pytest.fixture
def clean_redis():
    client = redis.Redis.from_url(own_redis_url())
    for key in client.scan_iter("panel:mail:*"):
        client.delete(key)
    return client


@pytest.fixture
def running(clean_redis):
    started = []

    def start(**kwargs):
        service = Running(**kwargs)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def sender():
    """An address on a premium service with its limit lowered to 5."""
    service = f.MailServiceFactory(plan="premium", address_quota=10, domain="send.test")
    return f.AddressFactory(service=service, local_part="alice", outgoing_limit_override=5)


def recipients(n, start=0):
    return [f"r{i}@outside.test" for i in range(start, start + n)]


def test_each_recipient_counts_and_the_one_over_the_limit_is_deferred(running, sender):
    service = running()
    postfix = Postfix(service.port)
    assert postfix.send("alice@send.test", recipients(3)) == ["DUNNO"] * 3
    answers = postfix.send("alice@send.test", recipients(4, start=3))
    assert answers[:2] == ["DUNNO", "DUNNO"]
    for answer in answers[2:]:
        assert answer.startswith("450 4.7.1 Outgoing limit reached: alice@send.test may send")
        assert "5 recipients per 24 hours" in answer
        assert "try again after " in answer
    # the limit holds for new messages too, and the login's case does not matter
    assert postfix.send("ALICE@send.test", recipients(1, start=9))[0].startswith("450 ")


def test_the_deferral_says_when_to_try_again(running, sender):
    service = running()
    postfix = Postfix(service.port)
    # all in one message: the 5 accepted count from now, so the 6th fits in 24 hours
    answers = postfix.send("alice@send.test", recipients(6))
    assert answers[5].endswith("; try again after 2026-09-22 14:13 UTC")
    sender.outgoing_limit_override = 0
    sender.save()
    service.call(service.service.reload())
    answer = postfix.send("alice@send.test", recipients(1, start=6))[0]
    assert answer == "450 4.7.1 Sending is suspended for alice@send.test; please contact support"


def test_only_the_recipients_postfix_accepted_count(running, sender):
    service = running()
    postfix = Postfix(service.port)
    # 3 recipients asked, but Postfix rejected one after the service said DUNNO
    postfix.send("alice@send.test", recipients(3), accepted=2)
    assert postfix.send("alice@send.test", recipients(3, start=3)) == ["DUNNO"] * 3
    assert postfix.send("alice@send.test", recipients(1, start=6))[0].startswith("450 ")


def test_recipients_of_messages_being_sent_are_reserved(running, sender):
    """Two connections sending at once cannot both take the last places."""
    service = running()
    one, two = Postfix(service.port), Postfix(service.port)
    common = {"request": "smtpd_access_policy", "sasl_username": "alice@send.test",
              "protocol_state": "RCPT"}  # fmt: skip
    for n in range(4):
        assert one.ask(instance="one", recipient=f"a{n}@outside.test", **common) == "DUNNO"
    assert two.ask(instance="two", recipient="b@outside.test", **common) == "DUNNO"
    assert two.ask(instance="two", recipient="c@outside.test", **common).startswith("450 ")
    # the first message is abandoned before END-OF-MESSAGE... then ends with only 1
    assert one.ask(**{**common, "protocol_state": "END-OF-MESSAGE"}, instance="one",
                   recipient_count=1) == "DUNNO"  # fmt: skip
    assert two.ask(instance="two", recipient="d@outside.test", **common) == "DUNNO"


def test_the_window_rolls_minute_by_minute(running, sender):
    service = running()
    postfix = Postfix(service.port)
    postfix.send("alice@send.test", recipients(3))
    service.clock.now += 3600
    postfix.send("alice@send.test", recipients(2, start=3))
    assert postfix.send("alice@send.test", recipients(1, start=5))[0].startswith("450 ")
    # 23 h 59 min after the first three: they still count
    service.clock.now = START + 24 * 3600 - 60
    assert postfix.send("alice@send.test", recipients(1, start=6))[0].startswith("450 ")
    # 24 h after their minute: three places free again, not five (no reset at midnight)
    service.clock.now = START + 24 * 3600
    answers = postfix.send("alice@send.test", recipients(4, start=7))
    assert answers[:3] == ["DUNNO"] * 3 and answers[3].startswith("450 ")


def test_another_address_and_unauthenticated_mail_are_unaffected(running, sender):
    service = running()
    f.AddressFactory(service=sender.service, local_part="bob")
    postfix = Postfix(service.port)
    postfix.send("alice@send.test", recipients(6))
    assert postfix.send("bob@send.test", recipients(10)) == ["DUNNO"] * 10
    assert postfix.ask(request="smtpd_access_policy", protocol_state="RCPT",
                       sasl_username="", recipient="x@outside.test") == "DUNNO"  # fmt: skip
    assert postfix.send("nobody@send.test", recipients(3)) == ["DUNNO"] * 3


def test_limits_come_from_the_plan_unless_overridden(running, sender):
    starter = f.AddressFactory(
        service=f.MailServiceFactory(plan="starter", domain="small.test"), local_part="solo"
    )
    premium = f.AddressFactory(service=sender.service, local_part="bob")
    assert sending_account("solo@small.test").limit == 500
    assert sending_account("bob@send.test").limit == 1440
    assert sending_account("alice@send.test").limit == 5
    starter.outgoing_limit_override = 0  # suspended by staff
    starter.save()
    assert sending_account("solo@small.test").limit == 0
    service = running()
    assert Postfix(service.port).send("solo@small.test", recipients(1))[0].startswith("450 ")
    assert premium.pk and sending_account("nobody@send.test") is None


def test_the_counters_survive_a_restart(running, sender, clean_redis):
    first = running()
    Postfix(first.port).send("alice@send.test", recipients(4))
    first.flush()
    assert sum(map(int, clean_redis.hvals(BUCKETS_KEY.format(username="alice@send.test")))) == 4
    first.stop()
    second = running()
    second.clock.now = START + 600
    answers = Postfix(second.port).send("alice@send.test", recipients(2, start=4))
    assert answers[0] == "DUNNO" and answers[1].startswith("450 ")


def test_sighup_rereads_limits_and_aged_buckets(running, sender, clean_redis):
    service = running()
    postfix = Postfix(service.port)
    postfix.send("alice@send.test", recipients(5))
    service.flush()
    key = BUCKETS_KEY.format(username="alice@send.test")
    # age every bucket by a day, and raise the limit, as staff would
    buckets = clean_redis.hgetall(key)
    clean_redis.delete(key)
    clean_redis.hset(key, mapping={int(m) - 1440: c for m, c in buckets.items()})
    sender.outgoing_limit_override = 7
    sender.save()
    service.call(service.service.reload())
    assert postfix.send("alice@send.test", recipients(7, start=5)) == ["DUNNO"] * 7


@pytest.mark.parametrize("fail_open", [False, True])
def test_without_redis_it_defers_or_lets_through_as_configured(running, sender, caplog, fail_open):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{unused.getsockname()[1]}/0"
    caplog.set_level(logging.ERROR, logger="mail.policyd")
    service = running(redis_url=dead, fail_open=fail_open)
    answers = Postfix(service.port).send("alice@send.test", recipients(2))
    if fail_open:
        assert answers == ["DUNNO", "DUNNO"]
    else:
        unavailable = "451 4.3.0 The outgoing limit service is unavailable"
        assert all(answer.startswith(unavailable) for answer in answers)
    assert "Redis cannot be reached" in caplog.text
    expected = "letting mail through uncounted" if fail_open else "deferring mail"
    assert expected in caplog.text


def test_losing_redis_after_start_is_noticed(running, sender, caplog):
    service = running()
    postfix = Postfix(service.port)
    postfix.send("alice@send.test", recipients(1))
    service.service.redis_ok = False  # what the health check sets when PING fails
    assert postfix.send("alice@send.test", recipients(1, start=1))[0].startswith("451 4.3.0")


def test_the_mail_log_keeps_accepted_and_deferred_recipients(running, sender):
    service = running()
    postfix = Postfix(service.port)
    postfix.send("alice@send.test", recipients(3), sender="alice@send.test")
    service.clock.now += 60
    postfix.send("alice@send.test", recipients(4, start=3))
    assert service.drain() >= 3
    entries = list(MailLogEntry.objects.filter(address=sender).order_by("occurred_at", "status"))
    assert [(e.status, e.recipient_count) for e in entries] == [
        ("accepted", 3), ("accepted", 2), ("deferred", 2)
    ]  # fmt: skip
    assert entries[0].recipients == "r0@outside.test, r1@outside.test, r2@outside.test"
    assert entries[2].recipients == "r5@outside.test, r6@outside.test"
    assert entries[0].sender == "alice@send.test" and entries[0].client_address == "192.0.2.7"
    # draining again writes nothing twice, and exactly one notice was asked for
    assert service.drain() == 0
    assert MailLogEntry.objects.count() == 3
    assert [notice[0] for notice in service.notices] == [sender.pk]


def test_a_batch_stored_twice_is_stored_once(running, sender, clean_redis):
    service = running()
    Postfix(service.port).send("alice@send.test", recipients(2))
    service.flush()
    raw = clean_redis.lrange(LOG_QUEUE_KEY, 0, -1)
    service.drain()
    clean_redis.rpush(LOG_QUEUE_KEY, *raw)  # a crash between storing and trimming
    service.drain()
    assert MailLogEntry.objects.filter(address=sender).count() == 1


def test_one_notice_per_day_however_many_deferrals(running, sender, clean_redis):
    service = running()
    postfix = Postfix(service.port)
    for start in range(0, 40, 8):
        postfix.send("alice@send.test", recipients(8, start=start))
        service.service._noticed.clear()  # even past the service's own throttle
        service.drain()
    assert len(service.notices) == 1
    assert clean_redis.ttl(NOTICE_KEY.format(address_id=sender.pk)) > 23 * 3600


def test_the_notice_goes_to_the_address_and_the_administrators(sender):
    org = sender.organisation
    f.MembershipFactory(organisation=org, role=Role.ADMIN, user__email="boss@example.test")
    f.MembershipFactory(organisation=org, role=Role.USER, user__email="staff@example.test")
    sending_limit_notify(address_id=sender.pk, at=time.time())
    assert len(outbox.outbox) == 1
    message = outbox.outbox[0]
    assert "alice@send.test" in message.to and "boss@example.test" in message.to
    assert "staff@example.test" not in message.to
    assert message.subject == "alice@send.test reached its sending limit"
    assert "limit of 5 recipients per 24 hours" in message.body
    assert f"/mail/{sender.service_id}/addresses/alice/" in message.body


def test_the_log_is_kept_thirty_days(running, sender):
    service = running()
    Postfix(service.port).send("alice@send.test", recipients(1))
    service.drain()
    entry = MailLogEntry.objects.get()
    assert mail_log_purge(now=entry.occurred_at + _days(30) - _days(0.01)) == 0
    assert mail_log_purge(now=entry.occurred_at + _days(30.01)) == 1


def _days(n):
    from datetime import timedelta

    return timedelta(days=n)


def test_a_message_whose_every_recipient_was_deferred_is_logged_soon(running, sender, monkeypatch):
    """Postfix refuses the DATA of such a message, so no END-OF-MESSAGE ever comes."""
    monkeypatch.setattr(policyd, "ALL_DEFERRED_IDLE_SECONDS", 0.2)
    monkeypatch.setattr(policyd, "SWEEP_SECONDS", 0.1)
    service = running()
    postfix = Postfix(service.port)
    postfix.send("alice@send.test", recipients(5))
    common = {"request": "smtpd_access_policy", "sasl_username": "alice@send.test",
              "protocol_state": "RCPT", "instance": "lost"}  # fmt: skip
    for n in range(3):
        assert postfix.ask(recipient=f"late{n}@outside.test", **common).startswith("450 ")
    deadline = time.monotonic() + 5
    while not MailLogEntry.objects.filter(status="deferred").exists():
        assert time.monotonic() < deadline, "the deferrals were not logged"
        service.drain()
        time.sleep(0.1)
    deferred = MailLogEntry.objects.get(status="deferred")
    assert deferred.recipient_count == 3 and deferred.recipients.startswith("late0@")


def test_a_broken_recipient_count_counts_nothing_and_breaks_nothing(running, sender):
    service = running()
    postfix = Postfix(service.port)
    common = {"request": "smtpd_access_policy", "sasl_username": "alice@send.test",
              "protocol_state": "END-OF-MESSAGE"}  # fmt: skip
    for bad in ("-3", "many", "99999999999999999999"):
        assert postfix.ask(instance=bad, recipient_count=bad, **common) == "DUNNO"
    # the absurd count was capped (not refused): alice is over her limit of 5, and the
    # service still answers
    assert postfix.send("alice@send.test", recipients(1))[0].startswith("450 ")


def test_a_message_ending_while_the_database_is_down_is_still_counted(running, sender, clean_redis):
    calls = []

    def flaky_lookup(username):
        calls.append(username)
        if len(calls) > 1:
            raise ConnectionError("database down")
        return sending_account(username)

    service = running(lookup=flaky_lookup, limit_cache_seconds=0)
    postfix = Postfix(service.port)
    common = {"request": "smtpd_access_policy", "sasl_username": "alice@send.test",
              "instance": "m1"}  # fmt: skip
    assert postfix.ask(protocol_state="RCPT", recipient="a@outside.test", **common) == "DUNNO"
    # the cached limit expired and the lookup fails: the end still counts the message
    answer = postfix.ask(protocol_state="END-OF-MESSAGE", recipient_count=1, **common)
    assert answer == "DUNNO"
    service.flush()
    key = BUCKETS_KEY.format(username="alice@send.test")
    assert sum(map(int, clean_redis.hvals(key))) == 1
    # and a new recipient is deferred, as the database cannot say the limit
    common["instance"] = "m2"
    answer = postfix.ask(protocol_state="RCPT", recipient="b@outside.test", **common)
    assert answer.startswith("451 ")


def test_one_bad_event_does_not_hold_back_the_log(sender, clean_redis):
    import json
    import uuid

    def event(count):
        return json.dumps({
            "kind": "message", "id": str(uuid.uuid4()), "at": START, "count": count,
            "address_id": sender.pk, "service_id": sender.service_id,
            "organisation_id": sender.organisation_id, "status": "accepted",
        })  # fmt: skip

    clean_redis.rpush(LOG_QUEUE_KEY, event(2), event(-5), "not json", event(3))
    assert mail_log_drain(client=clean_redis, notify=lambda *a: None) == 4
    assert sorted(MailLogEntry.objects.values_list("recipient_count", flat=True)) == [2, 3]
    assert clean_redis.llen(LOG_QUEUE_KEY) == 0


def test_a_notice_that_could_not_be_queued_is_tried_again(sender, clean_redis):
    import json

    clean_redis.rpush(LOG_QUEUE_KEY, json.dumps(
        {"kind": "limit_reached", "address_id": sender.pk, "at": START}
    ))  # fmt: skip

    def broker_down(*args):
        raise ConnectionError("broker down")

    mail_log_drain(client=clean_redis, notify=broker_down)
    sent = []
    mail_log_drain(client=clean_redis, notify=lambda *args: sent.append(args))
    mail_log_drain(client=clean_redis, notify=lambda *args: sent.append(args))
    assert sent == [(sender.pk, START)]
