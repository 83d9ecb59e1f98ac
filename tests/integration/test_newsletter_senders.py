"""Sender addresses against the rig's real servers: the DNS warnings of a sender's
domain as the rig's PowerDNS answers them (a zone of the panel missing its mail
records, then fixed; outside domains with and without a strict DMARC policy), and the
verification email of an outside address through the real SMTP sink, its link
followed."""

import email
import itertools
import re
import uuid
from email import policy

import pytest

from domains import services as domains
from mail import dns_records
from mail.models import Address
from newsletter import services as newsletter
from newsletter.services import senders
from panel.access import access_for
from tests import factories as f

_zones = itertools.count(1)


def unique(label: str) -> str:
    return f"{label}{next(_zones)}-{uuid.uuid4().hex[:6]}.senders.test"


@pytest.fixture
def letters(org_world, admin):
    return newsletter.newsletter_create(access=admin, name="Acme letters")


def test_a_panel_domain_missing_its_mail_records_is_warned_until_they_are_set(
    powerdns, admin, org_world, letters
):
    zone = unique("own")
    domain = domains.domain_add(access=admin, name=zone)
    service = f.MailServiceFactory(organisation=org_world["org"], name=zone)
    Address.objects.create(organisation=org_world["org"], service=service, local_part="news")
    sender = senders.sender_create(access=admin, newsletter=letters, email=f"news@{zone}")
    assert (sender.kind, sender.verified) == ("service_mail", True)

    before = senders.sender_warnings(sender, access=admin)
    assert sorted(w["check"] for w in before) == ["dkim", "dmarc", "spf"]
    assert all(zone in w["message"] or w["check"] == "dkim" for w in before)
    spf = next(w for w in before if w["check"] == "spf")
    assert spf["fix"] == f'{zone}. 3600 IN TXT "v=spf1 include:spf.panel.localhost -all"'

    dns_records.mail_fixes_apply(access=admin, domain=domain)
    assert senders.sender_warnings(sender, access=admin) == []


def test_outside_domains_are_warned_for_a_strict_dmarc_policy_only(
    powerdns, admin, org_world, letters
):
    """Zones of another organisation, served by the rig's PowerDNS: outside domains for
    this one, read through the panel's resolver."""
    theirs = access_for(org_world["outsider"], org_world["other_org"])
    policies = {"reject": "p=reject", "quarantine": "p=quarantine", "none": "p=none"}
    names = {}
    for key, tag in policies.items():
        names[key] = unique(key)
        zone = domains.domain_add(access=theirs, name=names[key])
        domains.rrsets_apply(
            access=theirs,
            domain=zone,
            changes=[{"name": "_dmarc", "type": "TXT", "records": [f"v=DMARC1; {tag}"]}],
        )
    names["missing"] = unique("missing")
    domains.domain_add(access=theirs, name=names["missing"])

    found = {}
    for key, name in names.items():
        sender = senders.sender_create(access=admin, newsletter=letters, email=f"news@{name}")
        assert (sender.kind, sender.verified) == ("outside", False)
        found[key] = senders.sender_warnings(sender, access=admin)

    (reject,) = found["reject"]
    assert reject["check"] == "dmarc" and "p=reject" in reject["message"]
    assert names["reject"] in reject["message"]
    (quarantine,) = found["quarantine"]
    assert "p=quarantine" in quarantine["message"]
    assert found["none"] == [] and found["missing"] == []


def test_the_verification_email_arrives_by_smtp_and_its_link_verifies(
    smtp_sink, admin, letters, client, django_capture_on_commit_callbacks
):
    address = f"news-{uuid.uuid4().hex[:10]}@outside.test"
    with django_capture_on_commit_callbacks(execute=True):
        sender = senders.sender_create(access=admin, newsletter=letters, email=address, name="Acme")

    [received] = smtp_sink.received(address)
    assert received.rcpt_tos == (address,)
    message = email.message_from_bytes(received.data, policy=policy.default)
    assert message["To"] == address
    assert address in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    [url] = re.findall(r"https?://\S+/n/senders/verify/\S+/", text)
    assert url in html
    path = url.split("://", 1)[1].split("/", 1)[1]

    shown = client.get("/" + path)
    assert shown.status_code == 200 and "Confirm this address" in shown.content.decode()
    sender.refresh_from_db()
    assert not sender.verified
    assert client.post("/" + path).status_code == 200
    sender.refresh_from_db()
    assert sender.verified
