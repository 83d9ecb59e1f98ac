"""DKIM signing, proven end to end: a customer submits mail through the shipped
submission service (deploy/postfix), the panel's signer (`manage.py mail_dkim_milter`)
signs it, the SMTP sink receives it, and dkimpy verifies the signature against the public
key that the rig's PowerDNS serves for the domain."""

import email
import itertools

import dkim
import dns.message
import dns.query
import dns.rdatatype
import pytest

from domains import services
from domains.models import DkimKey
from mail import dns_records
from mail.models import Address, MailService
from mail.passwords import hash_password
from panel.access import access_for
from panel.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Dkim-Tests-2048-ok"
_zones = itertools.count(1)


@pytest.fixture
def world(servers, powerdns):
    """A domain served by the rig's PowerDNS, a Service Mail on it with alice and bob,
    and its administrator."""
    zone = f"dkim{next(_zones)}.mail.test"
    org = f.OrganisationFactory()
    admin = f.MembershipFactory(organisation=org, role=Role.ADMIN).user
    access = access_for(admin, org)
    domain = services.domain_add(access=access, name=zone)
    service = MailService.objects.create(
        organisation=org, name=zone, domain=zone, plan="premium", address_quota=10
    )
    for local_part in ("alice", "bob"):
        Address.objects.create(
            organisation=org, service=service, local_part=local_part,
            password_hash=hash_password(PASSWORD),
        )  # fmt: skip
    return {"zone": zone, "domain": domain, "service": service, "access": access,
            "alice": f"alice@{zone}"}  # fmt: skip


def served_txt(powerdns):
    """dkimpy's DNS lookup, asking the rig's PowerDNS."""

    def lookup(name, timeout=5):
        query = dns.message.make_query(name.decode().rstrip(".") + ".", "TXT")
        response = dns.query.udp(query, "127.0.0.1", port=powerdns.dns_port, timeout=timeout)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(b"".join(item.strings) for item in rrset)
        return None

    return lookup


def received(servers, subject):
    (message,) = servers.sink.received(subject)
    return message.data


def signature_tags(data: bytes) -> dict[str, str]:
    header = "".join(str(email.message_from_bytes(data)["DKIM-Signature"]).split())
    return dict(part.split("=", 1) for part in header.split(";") if "=" in part)


def the_dkim_check(world):
    checks = dns_records.mail_checks(access=world["access"], domain=world["domain"])
    (check,) = [c for c in checks if c["check"] == "dkim"]
    return check


def use_with_mail(world):
    dns_records.mail_records_add(
        access=world["access"], domain=world["domain"], service=world["service"]
    )
    return dns_records.dkim_keys_activate(domain=world["domain"])


def test_submitted_mail_is_signed_with_the_served_key_and_verifies(servers, powerdns, world):
    (key,) = use_with_mail(world)
    code, reply, subject = servers.submit(world["alice"], PASSWORD)
    assert code == 250, reply

    data = received(servers, subject)
    assert b"DKIM-Signature:" in data
    tags = signature_tags(data)
    assert (tags["d"], tags["s"]) == (world["zone"], key.selector)
    assert dkim.verify(data, dnsfunc=served_txt(powerdns))


def test_a_domain_without_a_key_is_sent_unsigned_and_the_diagnostic_says_so(
    servers, powerdns, world
):
    code, reply, subject = servers.submit(world["alice"], PASSWORD)
    assert code == 250, reply
    assert b"DKIM-Signature:" not in received(servers, subject)

    dkim_check = the_dkim_check(world)
    assert not dkim_check["ok"]
    assert "sent unsigned" in dkim_check["message"]


def test_a_key_signs_only_once_its_record_is_served(servers, powerdns, world):
    dns_records.mail_records_add(
        access=world["access"], domain=world["domain"], service=world["service"]
    )
    # published in the zone, but the signer has not seen it served yet
    code, reply, subject = servers.submit(world["alice"], PASSWORD)
    assert code == 250, reply
    assert b"DKIM-Signature:" not in received(servers, subject)
    dkim_check = the_dkim_check(world)
    assert dkim_check["ok"] and "as soon as" in dkim_check["message"]

    assert dns_records.dkim_keys_activate(domain=world["domain"])
    code, reply, subject = servers.submit(world["alice"], PASSWORD)
    assert dkim.verify(received(servers, subject), dnsfunc=served_txt(powerdns))


def test_rotation_publishes_the_new_selector_first_and_then_signs_with_it(servers, powerdns, world):
    (old,) = use_with_mail(world)
    new = dns_records.dkim_key_rotate(access=world["access"], domain=world["domain"])
    assert new.selector != old.selector
    lookup = served_txt(powerdns)
    # both selectors are served during the change
    assert lookup(f"{old.selector}._domainkey.{world['zone']}".encode())
    assert lookup(f"{new.selector}._domainkey.{world['zone']}".encode())

    # until the signer has seen the new record served, it signs with the old key
    code, reply, subject = servers.submit(world["alice"], PASSWORD)
    assert signature_tags(received(servers, subject))["s"] == old.selector

    assert dns_records.dkim_keys_activate(domain=world["domain"]) == [new]
    code, reply, subject = servers.submit(world["alice"], PASSWORD)
    data = received(servers, subject)
    assert signature_tags(data)["s"] == new.selector
    assert dkim.verify(data, dnsfunc=lookup)
    old.refresh_from_db()
    assert old.retired_at is not None
    assert DkimKey.objects.filter(domain=world["domain"], retired_at=None).count() == 1


def test_a_from_header_the_login_does_not_own_is_refused(servers, powerdns, world):
    use_with_mail(world)
    code, reply, subject = servers.submit(
        world["alice"], PASSWORD, from_header=f"Bob <bob@{world['zone']}>"
    )
    assert code == 550, reply
    assert "not an address of" in reply
    assert not servers.sink.received(subject)

    code, reply, subject = servers.submit(
        world["alice"], PASSWORD, from_header=f"Alice <ALICE@{world['zone']}>"
    )
    assert code == 250, reply


def test_the_beat_sweep_starts_every_key_whose_record_is_served(servers, powerdns, world):
    from mail.tasks import activate_dkim_keys

    dns_records.mail_records_add(
        access=world["access"], domain=world["domain"], service=world["service"]
    )
    assert activate_dkim_keys() >= 1
    assert activate_dkim_keys(world["domain"].pk) == 0  # nothing waits any more
    code, reply, subject = servers.submit(world["alice"], PASSWORD)
    assert dkim.verify(received(servers, subject), dnsfunc=served_txt(powerdns))
