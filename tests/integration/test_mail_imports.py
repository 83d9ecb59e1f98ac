"""Importing another mailbox, with a second real Dovecot account as the source: every
folder and message arrives with its flags and date, a second run copies only what is
missing, and bad credentials or an unreachable host fail the Job with a clear reason
without the password being kept or logged."""

import imaplib
import itertools
import logging

import pytest

from mail.models import MailboxImport
from mail.services import address_create, service_order
from mail.services.imports import import_start
from mail.tasks import import_mailbox
from panel.access import access_for
from panel.models import ActivityEvent, Job
from tests.factories import OrganisationFactory, UserFactory, claim_verified
from tests.rig import free_port

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Import-Pass-2048"
SOURCE_PASSWORD = "Source-Pass-4096"
_domains = itertools.count(1)


@pytest.fixture
def accounts(servers, settings):
    settings.MAIL_STORE_ROOT = servers.dovecot.mail_root
    legal = UserFactory()
    org = OrganisationFactory(legal_representative=legal)
    access = access_for(legal, org)
    domain = f"import{next(_domains)}.mail.test"
    service = service_order(access=access, domain=domain, plan="premium")
    claim_verified(org, domain)  # as once its TXT record is served (test_domain_claims.py)
    target, _ = address_create(
        access=access, service=service, local_part="new", mode="self", password=PASSWORD
    )
    address_create(
        access=access, service=service, local_part="old", mode="self", password=SOURCE_PASSWORD
    )
    return {"access": access, "target": target, "domain": domain}


def _append(client, folder, subject, flags="", when=1700000000):
    message = f"From: a@outside.test\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n".encode()
    assert client.append(folder, flags or None, imaplib.Time2Internaldate(when), message)[0] == "OK"


def _contents(client):
    result = {}
    _status, listing = client.list()
    for line in listing:
        name = line.decode().rsplit(' "." ', 1)[-1].strip('"')
        _status, exists = client.select(name, readonly=True)
        if int(exists[0]) == 0:
            result[name] = []
            continue
        _status, data = client.fetch(
            "1:*", "(FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
        )
        rows = []
        for part in data:
            if isinstance(part, tuple):
                meta = part[0].decode()
                flags = sorted(
                    f for f in meta.split("FLAGS (")[1].split(")")[0].split() if f != r"\Recent"
                )
                date = meta.split('INTERNALDATE "')[1].split('"')[0]
                rows.append((part[1].decode().split(":", 1)[1].strip(), tuple(flags), date))
        result[name] = sorted(rows)
    return result


def _run(mailbox_import):
    try:
        import_mailbox(mailbox_import.job_id)
    except Exception:  # the Job records the reason; the test reads it
        pass
    return Job.objects.get(pk=mailbox_import.job_id)


def _start(accounts, *, port, password=SOURCE_PASSWORD, host="127.0.0.1"):
    return import_start(
        access=accounts["access"],
        address=accounts["target"],
        host=host,
        port=port,
        tls=False,
        username=f"old@{accounts['domain']}",
        password=password,
    )


def test_every_folder_and_message_arrives_once(servers, accounts):
    source = servers.imap(f"old@{accounts['domain']}", SOURCE_PASSWORD)
    try:
        source.create("Archive")
        source.create("Archive.2024")
        _append(source, "INBOX", "hello", r"(\Seen)")
        _append(source, "INBOX", "todo", r"(\Flagged)", when=1600000000)
        _append(source, "Archive.2024", "report", r"(\Seen \Answered)")
        expected = _contents(source)
    finally:
        source.logout()

    job = _run(_start(accounts, port=servers.dovecot.imap_port))
    assert job.status == "succeeded", job.errors
    assert job.result == {"copied": 3, "skipped": 0, "folders": 3}
    assert (job.done, job.total) == (3, 3)

    target = servers.imap(f"new@{accounts['domain']}", PASSWORD)
    try:
        assert _contents(target) == expected
    finally:
        target.logout()

    # Run again after one more message: only that one is copied.
    source = servers.imap(f"old@{accounts['domain']}", SOURCE_PASSWORD)
    try:
        _append(source, "INBOX", "late")
    finally:
        source.logout()
    again = _run(_start(accounts, port=servers.dovecot.imap_port))
    assert again.result == {"copied": 1, "skipped": 3, "folders": 3}
    assert not MailboxImport.objects.exclude(sealed_password="").exists()


def test_wrong_credentials_fail_clearly_and_the_password_is_not_kept(servers, accounts, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Wrong-Secret-9999"
    job = _run(_start(accounts, password=secret, port=servers.dovecot.imap_port))
    assert job.status == "failed"
    assert job.errors[0]["detail"] == (
        f"The server refused the login of old@{accounts['domain']}: check the login and password."
    )
    assert secret not in caplog.text
    assert not MailboxImport.objects.exclude(sealed_password="").exists()
    assert secret not in str(list(ActivityEvent.objects.values_list("data", flat=True)))


def test_an_unreachable_host_fails_clearly(servers, accounts):
    port = free_port()
    job = _run(_start(accounts, port=port))
    assert job.status == "failed"
    assert job.errors[0]["detail"] == (
        f"127.0.0.1:{port} could not be reached. Check the host, the port and TLS."
    )


def test_private_hosts_are_refused_in_production(servers, accounts, settings):
    settings.MAIL_IMPORT_ALLOW_PRIVATE_HOSTS = False
    job = _run(_start(accounts, port=servers.dovecot.imap_port))
    assert job.status == "failed"
    assert "is a private address" in job.errors[0]["detail"]
