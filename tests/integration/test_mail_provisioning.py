"""What the mail services write reaches the real Dovecot and Postfix at once: logins
after creation, password change and deletion; redirections, redirect-only and generic
addresses; and the Job that removes a deleted mailbox's storage."""

import itertools
import smtplib
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from mail.services import (
    address_create,
    address_delete,
    address_delete_many,
    address_set_password,
    generic_address_create,
    redirect_address_create,
    redirection_set,
    responder_set,
    service_order,
)
from mail.tasks import remove_mail_storage
from panel.access import access_for
from panel.models import Role
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, claim_verified

from .conftest import SENDER

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Provision-Pass-77"
_domains = itertools.count(1)


@pytest.fixture
def ordered(servers):
    """A premium Service Mail ordered by the legal representative of a new organisation."""
    legal = UserFactory()
    org = OrganisationFactory(legal_representative=legal)
    access = access_for(legal, org)
    domain = f"prov{next(_domains)}.mail.test"
    service = service_order(access=access, domain=domain, plan="premium")
    claim_verified(org, domain)  # as once its TXT record is served (test_domain_claims.py)
    return {"access": access, "service": service, "org": org, "domain": domain}


def test_an_address_logs_in_until_it_is_deleted(servers, ordered):
    access, service, domain = ordered["access"], ordered["service"], ordered["domain"]
    address, _ = address_create(
        access=access, service=service, local_part="alice", mode="self", password=PASSWORD
    )
    login = f"alice@{domain}"
    assert servers.can_log_in(login, PASSWORD)
    assert not servers.can_log_in(login, PASSWORD + "x")

    address_set_password(access=access, address=address, password="Changed-Pass-88")
    assert not servers.can_log_in(login, PASSWORD)
    assert servers.can_log_in(login, "Changed-Pass-88")

    address_delete(access=access, address=address)
    assert not servers.can_log_in(login, "Changed-Pass-88")


def test_a_generated_password_logs_in(servers, ordered):
    member = MembershipFactory(organisation=ordered["org"], role=Role.USER).user
    _address, generated = address_create(
        access=ordered["access"],
        service=ordered["service"],
        local_part="team",
        mode="users",
        users=[member],
    )
    assert servers.can_log_in(f"team@{ordered['domain']}", generated)


def test_redirections_and_generic_addresses_made_by_the_services_route_mail(servers, ordered):
    access, service, domain = ordered["access"], ordered["service"], ordered["domain"]
    copy, _ = address_create(
        access=access, service=service, local_part="copy", mode="self", password=PASSWORD
    )
    away, _ = address_create(
        access=access, service=service, local_part="away", mode="self", password=PASSWORD
    )
    redirection_set(access=access, address=copy, targets=["copy@outside.test"], keep_copy=True)
    redirection_set(access=access, address=away, targets=["away@outside.test"], keep_copy=False)
    redirect_address_create(
        access=access, service=service, local_part="sales", targets=["sales@outside.test"]
    )
    _no_reply, no_reply_password = generic_address_create(
        access=access, service=service, kind="no_reply"
    )
    _catch_all, catch_all_password = generic_address_create(
        access=access, service=service, kind="catch_all"
    )

    kept = servers.send(f"copy@{domain}")
    assert servers.inbox_subjects(f"copy@{domain}", PASSWORD) == [kept]
    assert servers.sink_recipients(kept) == ["copy@outside.test"]
    forwarded = servers.send(f"away@{domain}")
    assert servers.inbox_subjects(f"away@{domain}", PASSWORD) == []
    assert servers.sink_recipients(forwarded) == ["away@outside.test"]
    assert servers.sink_recipients(servers.send(f"sales@{domain}")) == ["sales@outside.test"]
    stray = servers.send(f"anyone@{domain}")
    assert servers.inbox_subjects(f"catch-all@{domain}", catch_all_password) == [stray]

    assert servers.can_log_in(f"no-reply@{domain}", no_reply_password)
    with smtplib.SMTP("127.0.0.1", servers.postfix.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail(SENDER, [f"no-reply@{domain}"], b"Subject: hi\r\n\r\nhi\r\n")

    # Turning the redirection off brings mail back to the mailbox only.
    redirection_set(access=access, address=away, targets=[], keep_copy=False)
    back = servers.send(f"away@{domain}")
    assert servers.inbox_subjects(f"away@{domain}", PASSWORD) == [back]
    assert servers.sink_recipients(back) == []


def test_the_storage_job_removes_a_deleted_mailbox_and_spares_a_recreated_one(
    servers, ordered, settings
):
    settings.MAIL_STORE_ROOT = servers.dovecot.mail_root
    access, service, domain = ordered["access"], ordered["service"], ordered["domain"]
    for name in ("gone", "back"):
        address_create(
            access=access, service=service, local_part=name, mode="self", password=PASSWORD
        )
        servers.send(f"{name}@{domain}")
        assert servers.inbox_subjects(f"{name}@{domain}", PASSWORD)
    gone_dir = servers.dovecot.mail_root / domain / "gone"
    back_dir = servers.dovecot.mail_root / domain / "back"
    assert gone_dir.is_dir() and back_dir.is_dir()

    job = address_delete_many(access=access, service=service, local_parts=["gone", "back"])
    # "back" is created again before the job runs: its new mail is not to be removed.
    address_create(
        access=access, service=service, local_part="back", mode="self", password=PASSWORD
    )
    remove_mail_storage(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result == {"removed": 1, "kept": 1}
    assert not gone_dir.exists() and back_dir.is_dir()
    assert not servers.can_log_in(f"gone@{domain}", PASSWORD)
    remove_mail_storage(job.pk)  # delivered twice: nothing more happens
    assert back_dir.is_dir()


def test_a_responder_answers_while_on_and_within_its_period(servers, ordered):
    access, service, domain = ordered["access"], ordered["service"], ordered["domain"]
    address, _ = address_create(
        access=access, service=service, local_part="holiday", mode="self", password=PASSWORD
    )
    # Off: no reply.
    quiet = servers.send(f"holiday@{domain}")
    assert servers.inbox_subjects(f"holiday@{domain}", PASSWORD) == [quiet]
    assert not servers.sink.received(quiet)

    away = f'Away "until" Monday {uuid.uuid4().hex}'
    responder_set(
        access=access,
        address=address,
        enabled=True,
        subject=away,
        body="I am away.\n.\nBack on Monday.",
    )
    asked = servers.send(f"holiday@{domain}")
    reply = _wait_for_reply(servers, away)
    assert b"Back on Monday." in reply.data
    assert servers.inbox_subjects(f"holiday@{domain}", PASSWORD)[-1] == asked  # still kept

    # A period that starts tomorrow: no reply yet.
    later = f"Later {uuid.uuid4().hex}"
    responder_set(
        access=access,
        address=address,
        enabled=True,
        subject=later,
        body="Not yet.",
        starts_at=timezone.now() + timedelta(days=1),
    )
    servers.send(f"holiday@{domain}")
    time.sleep(0.5)
    assert not servers.sink.received(later)


def _wait_for_reply(servers, subject: str):
    """The out-of-office reply titled `subject`: Sieve sends it while delivering; give
    the sink a moment to get it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        replies = [m for m in servers.sink.received(subject) if SENDER in m.rcpt_tos]
        if replies:
            return replies[0]
        time.sleep(0.1)
    raise AssertionError(
        f"no out-of-office reply for {subject!r}; dovecot log:\n"
        + servers.dovecot.log.read_text()[-3000:]
    )
