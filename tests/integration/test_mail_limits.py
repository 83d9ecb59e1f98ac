"""Outgoing limits, proven with real servers: customers log in to Postfix's submission
service from deploy/postfix (SASL checked by the rig's Dovecot), Postfix asks the panel's
policy service (`manage.py mail_policyd`, a process of its own, counting in the rig's
Redis) at each recipient and at the end of each message, and relays to the SMTP sink.
"""

import base64
import json
import re
import smtplib
import time
import uuid
from email.message import EmailMessage

import pytest
import redis
from django.conf import settings

from mail.models import Address, AddressKind, MailLogEntry, MailService
from mail.passwords import hash_password
from mail.sending import BUCKETS_KEY
from mail.services.sending import sending_meter
from tests.factories import OrganisationFactory, claim_verified

from .conftest import DELIVERY_TIMEOUT

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Limit-Tests-2048-ok"
LIMIT = 5
_worlds = iter(range(1, 10_000))


class Submission:
    """One message through the submission port, as a mail program sends it."""

    def __init__(self, servers):
        self.servers = servers

    def send(self, login, *, to=(), cc=(), bcc=(), password=PASSWORD):
        """Returns ({recipient: (code, text)}, subject); waits until Postfix is done."""
        subject = f"limit {uuid.uuid4().hex}"
        message = EmailMessage()
        message["From"], message["Subject"] = login, subject
        if to:
            message["To"] = ", ".join(to)
        if cc:
            message["Cc"] = ", ".join(cc)
        message.set_content("Hello from the outgoing-limit tests.\n")
        answers = {}
        with smtplib.SMTP("127.0.0.1", self.servers.postfix.submission_port, timeout=15) as smtp:
            smtp.ehlo()
            smtp.login(login, password)
            smtp.mail(login)
            for recipient in (*to, *cc, *bcc):
                code, text = smtp.rcpt(recipient)
                answers[recipient] = (code, text.decode())
            if any(code == 250 for code, _text in answers.values()):
                code, reply = smtp.data(message.as_bytes())
                assert code == 250, f"DATA refused: {code} {reply!r}"
                queue_id = re.search(rb"queued as ([0-9A-Za-z]+)", reply).group(1).decode()
                self._wait_until_removed(queue_id)
        return answers, subject

    def _wait_until_removed(self, queue_id):
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while f"{queue_id}: removed" not in self.servers.postfix_log(queue_id):
            assert time.monotonic() < deadline, self.servers.postfix_log(queue_id)
            time.sleep(0.02)


@pytest.fixture
def world(servers):
    """A premium Service Mail with alice (limit lowered to 5 by staff) and bob."""
    n = next(_worlds)
    domain = f"limits{n}.mail.test"
    org = OrganisationFactory()
    service = MailService.objects.create(
        organisation=org, name=domain, domain=domain, plan="premium", address_quota=10
    )
    claim_verified(org, domain)

    def address(local_part, **fields):
        return Address.objects.create(
            organisation=org, service=service, local_part=local_part,
            password_hash=hash_password(PASSWORD), **fields,
        )  # fmt: skip

    alice = address("alice", outgoing_limit_override=LIMIT)
    address("bob")
    address("no-reply", kind=AddressKind.NO_REPLY)
    return {
        "n": n,
        "domain": domain,
        "alice": alice,
        "alice_login": f"alice@{domain}",
        "bob_login": f"bob@{domain}",
    }


@pytest.fixture
def submission(servers):
    return Submission(servers)


def outside(n, *, world, start=0, tag="r"):
    return [f"{tag}{i}.{world['n']}@outside.test" for i in range(start, start + n)]


def codes(answers):
    return [code for code, _text in answers.values()]


def test_to_cc_and_bcc_each_count_and_the_crossing_recipient_is_deferred(
    servers, world, submission
):
    to = outside(2, world=world)
    cc, bcc = outside(1, world=world, tag="c"), outside(1, world=world, tag="b")
    answers, first = submission.send(world["alice_login"], to=to, cc=cc, bcc=bcc)
    assert codes(answers) == [250] * 4

    later = outside(3, world=world, start=10)
    answers, second = submission.send(world["alice_login"], to=later)
    assert codes(answers) == [250, 450, 450]
    text = answers[later[1]][1]
    assert text.startswith("4.7.1 ") and "Outgoing limit reached" in text
    assert f"{world['alice_login']} may send to 5 recipients per 24 hours" in text
    # the sink got exactly the allowed recipients: 4, then 1
    assert servers.sink_recipients(first) == sorted(to + cc + bcc)
    assert servers.sink_recipients(second) == [later[0]]


def test_recipients_refused_for_another_reason_do_not_count(servers, world, submission):
    ours = world["domain"]
    refused = [f"no-reply@{ours}", f"nobody@{ours}", "bad@nodot"]
    accepted = outside(2, world=world)
    answers, subject = submission.send(world["alice_login"], to=accepted + refused)
    assert [answers[r][0] for r in accepted] == [250, 250]
    assert all(500 <= answers[r][0] < 600 for r in refused), answers
    assert servers.sink_recipients(subject) == sorted(accepted)
    # 2 counted, so 3 more go through and the 6th is deferred
    answers, _subject = submission.send(world["alice_login"], bcc=outside(4, world=world, start=5))
    assert codes(answers) == [250, 250, 250, 450]


def test_the_window_rolls(servers, world, submission):
    client = redis.Redis.from_url(settings.REDIS_URL)
    answers, _subject = submission.send(world["alice_login"], to=outside(6, world=world))
    assert codes(answers) == [250] * 5 + [450]
    # a day passes: the buckets are 24 hours older, and the service reads them again
    key = BUCKETS_KEY.format(username=world["alice_login"])
    _wait_for(lambda: client.exists(key), "the counters in Redis")
    buckets = client.hgetall(key)
    client.delete(key)
    client.hset(key, mapping={int(minute) - 24 * 60: count for minute, count in buckets.items()})
    servers.policyd.reload()
    answers, subject = submission.send(world["alice_login"], to=outside(5, world=world, start=6))
    assert codes(answers) == [250] * 5
    assert len(servers.sink_recipients(subject)) == 5


def test_another_address_of_the_service_is_unaffected(servers, world, submission):
    answers, _subject = submission.send(world["alice_login"], to=outside(6, world=world))
    assert codes(answers)[-1] == 450
    answers, subject = submission.send(world["bob_login"], to=outside(8, world=world, tag="x"))
    assert codes(answers) == [250] * 8
    assert len(servers.sink_recipients(subject)) == 8


def test_without_the_policy_service_postfix_defers_and_recovers(servers, world, submission):
    """The shipped default action: recipients wait (4xx) while the service is away."""
    servers.policyd.stop()
    try:
        answers, _subject = submission.send(world["alice_login"], to=outside(2, world=world))
    finally:
        servers.policyd.restart()
    for code, text in answers.values():
        assert code == 450 and text.startswith("4.3.0 ")
        assert "The outgoing limit service is unavailable; try again later" in text
    answers, subject = submission.send(world["alice_login"], to=outside(2, world=world))
    assert codes(answers) == [250, 250]
    assert len(servers.sink_recipients(subject)) == 2


def test_wrong_password_and_no_login_cannot_send(servers, world, submission):
    with pytest.raises(smtplib.SMTPAuthenticationError):
        submission.send(world["alice_login"], to=outside(1, world=world), password="wrong-one-1234")
    with smtplib.SMTP("127.0.0.1", servers.postfix.submission_port, timeout=15) as smtp:
        smtp.ehlo()
        smtp.mail(world["alice_login"])
        code, _text = smtp.rcpt(outside(1, world=world)[0])
    assert code == 554 or 500 <= code < 600


def test_the_log_the_meter_and_one_notice_follow_the_traffic(servers, world, submission):
    submission.send(world["alice_login"], to=outside(3, world=world))
    submission.send(world["alice_login"], to=outside(4, world=world, start=3))
    submission.send(world["alice_login"], to=outside(2, world=world, start=7))
    alice = world["alice"]
    _wait_for(
        lambda: MailLogEntry.objects.filter(address=alice).count() >= 4, "the mail log entries"
    )
    entries = MailLogEntry.objects.filter(address=alice)
    accepted = sorted(e.recipient_count for e in entries if e.status == "accepted")
    deferred = sorted(e.recipient_count for e in entries if e.status == "deferred")
    assert accepted == [2, 3] and deferred == [2, 2]
    sent = [entry for entry in entries if entry.status == "accepted"]
    assert all(entry.sender == world["alice_login"] and entry.queue_id for entry in sent)
    meter = sending_meter(address=alice)
    assert (meter.limit, meter.used_24h, meter.remaining) == (5, 5, 0)
    # one notice queued for the worker, however many recipients were deferred
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    notices = [
        message
        for message in map(json.loads, broker.lrange("celery", 0, -1))
        if message["headers"]["task"] == "mail.tasks.notify_sending_limit_reached"
        and json.loads(base64.b64decode(message["body"]))[0][0] == alice.pk
    ]
    assert len(notices) == 1


def _wait_for(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {timeout}s"
        time.sleep(0.05)
