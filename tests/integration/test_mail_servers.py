"""Service Mail provisioning, proven with real servers.

Rows are written with the models and committed (transactional_db); the rig's Postfix and
Dovecot, configured only from deploy/, read them through the SQL views of
mail/migrations/0005_server_views.py. Mail goes in over SMTP to Postfix, which delivers our
mailboxes to Dovecot by LMTP and relays every outside address to the SMTP sink; the tests
read mailboxes over IMAP and the sink's memory.
"""

import itertools
import smtplib

import pytest

from mail.models import (
    Address,
    AddressKind,
    Alias,
    ExtraDomain,
    ForwardTarget,
    MailService,
    RedirectAddress,
)
from mail.passwords import hash_password
from tests.factories import OrganisationFactory, claim_verified

from .conftest import SENDER

pytestmark = pytest.mark.django_db(transaction=True)

_domains = itertools.count(1)


PASSWORD = "Correct-Horse-7-Battery"


@pytest.fixture
def world(servers):
    """A Service Mail with an extra domain and one row of each kind the servers read."""
    n = next(_domains)
    domain, extra = f"svc{n}.mail.test", f"extra{n}.mail.test"
    org = OrganisationFactory()
    service = MailService.objects.create(
        organisation=org, name=domain, domain=domain, plan="premium", address_quota=20
    )
    ExtraDomain.objects.create(organisation=org, service=service, domain=extra)
    claim_verified(org, domain)
    claim_verified(org, extra)

    def address(local_part, kind=AddressKind.MAILBOX, keep_copy=True, targets=()):
        row = Address.objects.create(
            organisation=org,
            service=service,
            local_part=local_part,
            kind=kind,
            keep_copy=keep_copy,
            password_hash=hash_password(PASSWORD),
        )
        for target in targets:
            ForwardTarget.objects.create(organisation=org, address=row, email=target)
        return row

    alice = address("alice")
    Alias.objects.create(organisation=org, service=service, address=alice, local_part="ali")
    address("bob", keep_copy=True, targets=[f"bob{n}@outside.test"])
    address("carol", keep_copy=False, targets=[f"carol{n}@outside.test", f"carol{n}@else.test"])
    address("catchall", kind=AddressKind.CATCH_ALL)
    address("no-reply", kind=AddressKind.NO_REPLY)
    sales = RedirectAddress.objects.create(organisation=org, service=service, local_part="sales")
    for target in (f"sales{n}@outside.test", f"sales{n}@else.test"):
        ForwardTarget.objects.create(organisation=org, redirect_address=sales, email=target)
    return {"n": n, "domain": domain, "extra": extra, "service": service, "alice": alice}


# -- logins --------------------------------------------------------------------------------


def test_a_new_address_logs_in_and_a_wrong_password_fails(servers, world):
    alice = f"alice@{world['domain']}"
    assert servers.can_log_in(alice, PASSWORD)
    assert not servers.can_log_in(alice, PASSWORD + "x")
    # only the primary address logs in; the extra domain and aliases only receive mail
    assert not servers.can_log_in(f"alice@{world['extra']}", PASSWORD)
    assert not servers.can_log_in(f"ali@{world['domain']}", PASSWORD)
    # a redirect-only address has no login
    assert not servers.can_log_in(f"sales@{world['domain']}", PASSWORD)


def test_a_password_change_applies_at_once(servers, world):
    alice = f"alice@{world['domain']}"
    assert servers.can_log_in(alice, PASSWORD)  # a successful login first: nothing is cached
    Address.objects.filter(pk=world["alice"].pk).update(password_hash=hash_password("New-Pass-42"))
    assert not servers.can_log_in(alice, PASSWORD)
    assert servers.can_log_in(alice, "New-Pass-42")


def test_a_deleted_address_can_no_longer_log_in(servers, world):
    alice = f"alice@{world['domain']}"
    assert servers.can_log_in(alice, PASSWORD)
    world["alice"].delete()
    assert not servers.can_log_in(alice, PASSWORD)


def test_no_reply_logs_in_but_refuses_mail_at_rcpt(servers, world):
    for domain in (world["domain"], world["extra"]):
        with smtplib.SMTP("127.0.0.1", servers.postfix.port, timeout=10) as smtp:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                smtp.sendmail(SENDER, [f"no-reply@{domain}"], b"Subject: hi\r\n\r\nhi\r\n")
        code, reply = refused.value.recipients[f"no-reply@{domain}"]
        assert 500 <= code < 600, (code, reply)
        assert b"does not receive mail" in reply
    assert servers.can_log_in(f"no-reply@{world['domain']}", PASSWORD)


def test_an_unknown_recipient_is_refused_without_a_catch_all(servers, world):
    Address.objects.filter(kind=AddressKind.CATCH_ALL).delete()
    with smtplib.SMTP("127.0.0.1", servers.postfix.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail(SENDER, [f"nobody@{world['domain']}"], b"Subject: hi\r\n\r\nhi\r\n")
    code, _reply = refused.value.recipients[f"nobody@{world['domain']}"]
    assert code == 550


# -- deliveries ----------------------------------------------------------------------------


def test_mail_to_the_address_its_alias_and_the_extra_domain_lands_in_its_mailbox(servers, world):
    domain, extra = world["domain"], world["extra"]
    sent = [
        servers.send(f"alice@{domain}"),
        servers.send(f"ali@{domain}"),
        servers.send(f"alice@{extra}"),
        servers.send(f"ali@{extra}"),
    ]
    assert sorted(servers.inbox_subjects(f"alice@{domain}", PASSWORD)) == sorted(sent)
    # existing addresses and aliases win over the catch-all
    assert servers.inbox_subjects(f"catchall@{domain}", PASSWORD) == []
    # stored where the views and Dovecot's userdb say: <root>/<domain>/<local>/Maildir
    maildir = servers.dovecot.mail_root / domain / "alice" / "Maildir"
    assert len(list((maildir / "new").iterdir())) == len(sent)


def test_mail_to_the_address_and_its_alias_arrives_twice(servers, world):
    domain = world["domain"]
    subject = servers.send(f"alice@{domain}", f"ali@{domain}")
    assert servers.inbox_subjects(f"alice@{domain}", PASSWORD) == [subject, subject]


def test_the_catch_all_takes_only_unknown_local_parts(servers, world):
    domain, extra, n = world["domain"], world["extra"], world["n"]
    unknown = servers.send(f"whoever@{domain}")
    unknown_extra = servers.send(f"whoever@{extra}")
    known = servers.send(f"alice@{domain}", f"ali@{extra}", f"sales@{domain}", f"carol@{domain}")
    assert sorted(servers.inbox_subjects(f"catchall@{domain}", PASSWORD)) == sorted(
        [unknown, unknown_extra]
    )
    assert servers.inbox_subjects(f"alice@{domain}", PASSWORD) == [known, known]
    assert servers.sink_recipients(known) == sorted(
        [f"sales{n}@outside.test", f"sales{n}@else.test",
         f"carol{n}@outside.test", f"carol{n}@else.test"]
    )  # fmt: skip


def test_a_redirect_with_a_copy_reaches_the_mailbox_and_the_target(servers, world):
    domain, n = world["domain"], world["n"]
    subject = servers.send(f"bob@{domain}")
    assert servers.inbox_subjects(f"bob@{domain}", PASSWORD) == [subject]
    assert servers.sink_recipients(subject) == [f"bob{n}@outside.test"]


def test_a_redirect_without_a_copy_reaches_only_the_targets(servers, world):
    domain, extra, n = world["domain"], world["extra"], world["n"]
    subject = servers.send(f"carol@{domain}")
    at_extra = servers.send(f"carol@{extra}")
    assert servers.inbox_subjects(f"carol@{domain}", PASSWORD) == []
    targets = sorted([f"carol{n}@else.test", f"carol{n}@outside.test"])
    assert servers.sink_recipients(subject) == targets
    assert servers.sink_recipients(at_extra) == targets


def test_a_redirect_only_address_reaches_its_targets(servers, world):
    domain, extra, n = world["domain"], world["extra"], world["n"]
    targets = sorted([f"sales{n}@else.test", f"sales{n}@outside.test"])
    assert servers.sink_recipients(servers.send(f"sales@{domain}")) == targets
    assert servers.sink_recipients(servers.send(f"sales@{extra}")) == targets
    assert servers.inbox_subjects(f"catchall@{domain}", PASSWORD) == []
