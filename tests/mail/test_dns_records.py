"""Using a domain with Service Mail, with the zone-file publisher: every record set in one
change, a DKIM key whose private half is stored only sealed, SPF and DMARC that replace
only their own TXT record, and the DNS diagnostic (against stub resolvers) with its exact
fixes, applied in one click."""

import base64
import io

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.zone
import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command

from domains import services
from domains.models import DkimKey
from domains.publishers import ZoneFilePublisher
from mail import dns_records
from mail.models import ExtraDomain
from panel.access import access_for
from panel.errors import Conflict, InvalidInput, NotFound
from panel.models import ActivityEvent
from tests import factories as f

ZONE = "acme.test"  # the domain of org_world's Service Mail


@pytest.fixture
def admin(org_world, zone_dir):
    """The administrator, with zones published as files."""
    return access_for(org_world["admin"], org_world["org"])


@pytest.fixture
def domain(admin):
    return services.domain_add(access=admin, name=ZONE)


class ZoneResolver:
    """Answers from the zone files the panel published, as the DNS server would."""

    def __init__(self, zone_dir):
        self.zone_dir = zone_dir

    def resolve(self, name, rtype):
        name = name.rstrip(".")
        zone_name = max(
            (p.stem for p in self.zone_dir.glob("*.zone")),
            key=lambda z: len(z) if name == z or name.endswith("." + z) else -1,
        )
        zone = dns.zone.from_text(
            (self.zone_dir / f"{zone_name}.zone").read_text(), origin=zone_name, relativize=False
        )
        node = zone.get_node(name + ".")
        if node is None:
            raise dns.resolver.NXDOMAIN()
        rdataset = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(rtype))
        if rdataset is None:
            raise dns.resolver.NoAnswer()
        return list(rdataset)


class StubResolver:
    """Answers `{(name, type): [contents] or an exception}`; NXDOMAIN for the rest."""

    def __init__(self, answers):
        self.answers = answers

    def resolve(self, name, rtype):
        answer = self.answers.get((name.rstrip("."), rtype), dns.resolver.NXDOMAIN())
        if isinstance(answer, Exception):
            raise answer
        kind = dns.rdatatype.from_text(rtype)
        return [dns.rdata.from_text(dns.rdataclass.IN, kind, text) for text in answer]


def txt(zone_dir, name):
    """The TXT records at `name`, each as one joined text."""
    zone = dns.zone.from_text((zone_dir / f"{ZONE}.zone").read_text(), origin=ZONE)
    found = zone.get_rdataset(f"{name}.", "TXT")
    return sorted(b"".join(r.strings).decode() for r in found) if found else []


def answer(zone_dir, name, rtype):
    zone = dns.zone.from_text((zone_dir / f"{ZONE}.zone").read_text(), origin=ZONE)
    found = zone.get_rdataset(f"{name}.", rtype)
    return sorted(r.to_text() for r in found) if found else []


def by_check(checks):
    return {check["check"]: check for check in checks}


def test_use_with_service_mail_sets_every_record_in_one_change(
    admin, domain, org_world, zone_dir, monkeypatch
):
    published = []
    original = ZoneFilePublisher.update
    monkeypatch.setattr(
        ZoneFilePublisher,
        "update",
        lambda self, zone, changed: published.append(changed) or original(self, zone, changed),
    )
    dns_records.mail_records_add(access=admin, domain=domain, service=org_world["mail"])

    assert len(published) == 1
    key = DkimKey.objects.get(domain=domain)
    assert answer(zone_dir, ZONE, "MX") == ["10 mx.panel.localhost."]
    assert txt(zone_dir, ZONE) == ["v=spf1 include:spf.panel.localhost -all"]
    assert txt(zone_dir, f"panel._domainkey.{ZONE}") == [f"v=DKIM1; k=rsa; p={key.public_key}"]
    assert txt(zone_dir, f"_dmarc.{ZONE}") == ["v=DMARC1; p=quarantine; rua=mailto:dmarc@acme.test"]
    assert answer(zone_dir, f"autoconfig.{ZONE}", "CNAME") == ["autoconfig.panel.localhost."]
    assert answer(zone_dir, f"autodiscover.{ZONE}", "CNAME") == ["autoconfig.panel.localhost."]
    assert answer(zone_dir, f"_autodiscover._tcp.{ZONE}", "SRV") == [
        "0 0 443 autoconfig.panel.localhost."
    ]
    codes = list(ActivityEvent.objects.filter(target_id=str(domain.pk)).values_list("code"))
    assert codes.count(("domains.rrsets.changed",)) == 1
    assert codes.count(("domains.mail_records.added",)) == 1

    checks = dns_records.mail_checks(access=admin, domain=domain, resolver=ZoneResolver(zone_dir))
    assert [c["check"] for c in checks if not c["ok"]] == []
    assert all(c["fix"] is None for c in checks)

    # Doing it again keeps the key and changes nothing the server answers.
    dns_records.mail_records_add(access=admin, domain=domain, service=org_world["mail"])
    assert list(DkimKey.objects.filter(domain=domain)) == [key]


def test_the_private_key_is_stored_only_sealed(admin, domain, org_world):
    dns_records.mail_records_add(access=admin, domain=domain, service=org_world["mail"])
    key = DkimKey.objects.get(domain=domain)
    pem = dns_records.dkim_private_key_pem(key)
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    assert private.key_size == 2048
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key.public_key == base64.b64encode(public).decode()

    body = "".join(pem.strip().splitlines()[1:-1])
    assert "PRIVATE KEY" not in key.sealed_private_key
    for app in ("domains", "panel"):
        dump = io.StringIO()
        call_command("dumpdata", app, stdout=dump)
        assert body[:64] not in dump.getvalue() and "PRIVATE KEY" not in dump.getvalue()


def test_a_domain_the_service_does_not_use_is_refused(admin, org_world, zone_dir):
    other = services.domain_add(access=admin, name="other.test")
    with pytest.raises(InvalidInput) as error:
        dns_records.mail_records_add(access=admin, domain=other, service=org_world["mail"])
    assert "service" in error.value.fields
    assert not DkimKey.objects.exists()
    assert other.rrsets.count() == 1  # the NS rrset

    # An extra domain of the service is used by it.
    ExtraDomain.objects.create(
        organisation=org_world["org"], service=org_world["mail"], domain="other.test"
    )
    dns_records.mail_records_add(access=admin, domain=other, service=org_world["mail"])
    assert other.rrsets.filter(type="MX").exists()

    # Another organisation's service is not found; a member without grants finds nothing.
    foreign = f.MailServiceFactory(organisation=org_world["other_org"], name="other.test2")
    with pytest.raises(NotFound):
        dns_records.mail_records_add(access=admin, domain=other, service=foreign)
    user = access_for(org_world["user"], org_world["org"])
    with pytest.raises(NotFound):
        dns_records.mail_records_add(access=user, domain=other, service=org_world["mail"])


def test_spf_and_dmarc_replace_only_their_own_txt_record(admin, domain, org_world, zone_dir):
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[
            {"name": "@", "type": "TXT", "records": ["site-verification=abc", "v=spf1 mx -all"]},
            {"name": "_dmarc", "type": "TXT", "records": ["v=DMARC1; p=none", "other"]},
        ],
    )
    dns_records.mail_records_add(access=admin, domain=domain, service=org_world["mail"])
    assert txt(zone_dir, ZONE) == [
        "site-verification=abc",
        "v=spf1 include:spf.panel.localhost -all",
    ]
    assert txt(zone_dir, f"_dmarc.{ZONE}") == [
        "other",
        "v=DMARC1; p=quarantine; rua=mailto:dmarc@acme.test",
    ]


def test_checks_mark_missing_wrong_and_ok_records_with_exact_fixes(admin, domain, settings):
    settings.MAIL_DNS_MX_HOST = "mx.mail.example.net"
    resolver = StubResolver(
        {
            (ZONE, "MX"): ["10 mx.mail.example.net."],
            (ZONE, "TXT"): ['"site-verification=abc"', '"v=spf1 mx -all"'],
            (f"_dmarc.{ZONE}", "TXT"): dns.resolver.NoAnswer(),
            (f"autoconfig.{ZONE}", "CNAME"): ["elsewhere.example.net."],
            (f"_autodiscover._tcp.{ZONE}", "SRV"): dns.resolver.LifetimeTimeout(
                timeout=3.0, errors=[]
            ),
        }
    )
    checks = by_check(dns_records.mail_checks(access=admin, domain=domain, resolver=resolver))

    assert checks["mx"]["ok"] and checks["mx"]["fix"] is None
    assert checks["mx"]["found"] == checks["mx"]["expected"] == ["10 mx.mail.example.net."]

    spf = checks["spf"]
    assert not spf["ok"] and spf["found"] == ['"v=spf1 mx -all"']  # other TXT are not its business
    assert spf["fix"] == 'acme.test. 3600 IN TXT "v=spf1 include:spf.panel.localhost -all"'

    assert not checks["dkim"]["ok"] and checks["dkim"]["expected"] == []
    assert checks["dkim"]["fix"] is None and "No DKIM key yet" in checks["dkim"]["message"]

    assert checks["dmarc"]["found"] == [] and checks["dmarc"]["fix"] == (
        '_dmarc.acme.test. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@acme.test"'
    )
    assert checks["autoconfig"]["found"] == ["elsewhere.example.net."]
    assert checks["autoconfig"]["fix"] == (
        "autoconfig.acme.test. 3600 IN CNAME autoconfig.panel.localhost."
    )
    assert checks["autodiscover"]["found"] == [] and not checks["autodiscover"]["ok"]

    srv = checks["autodiscover_srv"]
    assert srv["found"] is None and not srv["ok"] and "in time" in srv["message"]
    assert (
        srv["fix"]
        == "_autodiscover._tcp.acme.test. 3600 IN SRV 0 0 443 autoconfig.panel.localhost."
    )


def test_one_click_applies_every_fix_in_one_change(admin, domain, zone_dir):
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[
            {"name": "@", "type": "MX", "records": ["5 old-mx.example.net."]},
            {"name": "@", "type": "TXT", "records": ["site-verification=abc", "v=spf1 -all"]},
        ],
    )
    resolver = ZoneResolver(zone_dir)
    before = dns_records.mail_checks(access=admin, domain=domain, resolver=resolver)
    assert not any(check["ok"] for check in before)

    after = dns_records.mail_fixes_apply(access=admin, domain=domain, resolver=resolver)

    assert [c["check"] for c in after if not c["ok"]] == []
    assert txt(zone_dir, ZONE) == [
        "site-verification=abc",
        "v=spf1 include:spf.panel.localhost -all",
    ]
    codes = list(ActivityEvent.objects.filter(target_id=str(domain.pk)).values_list("code"))
    assert codes.count(("domains.rrsets.changed",)) == 2  # the setup above, then the fixes
    assert codes.count(("domains.mail_records.fixed",)) == 1

    # Nothing wrong: nothing changes.
    serial = type(domain).objects.get(pk=domain.pk).serial
    dns_records.mail_fixes_apply(access=admin, domain=domain, resolver=resolver)
    assert type(domain).objects.get(pk=domain.pk).serial == serial


def test_a_synonym_has_no_zone_to_fix(admin, domain, zone_dir):
    synonym = services.domain_add(access=admin, name="acme-synonym.test")
    services.synonym_make(access=admin, main=domain, synonym=synonym)
    with pytest.raises(Conflict) as error:
        dns_records.mail_fixes_apply(access=admin, domain=synonym, resolver=ZoneResolver(zone_dir))
    assert error.value.code == "is_synonym"

    # It serves its main domain's records under its own name, DKIM key included.
    dns_records.mail_fixes_apply(access=admin, domain=domain, resolver=ZoneResolver(zone_dir))
    checks = dns_records.mail_checks(access=admin, domain=synonym, resolver=ZoneResolver(zone_dir))
    assert by_check(checks)["mx"]["name"] == "acme-synonym.test"
    assert all(c["ok"] for c in checks)
    assert by_check(checks)["dmarc"]["expected"] == [
        '"v=DMARC1; p=quarantine; rua=mailto:dmarc@acme.test"'  # reports go to the main domain
    ]


def test_a_conflicting_record_refuses_the_whole_change(admin, domain, org_world, zone_dir):
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[{"name": "autoconfig", "type": "A", "records": ["192.0.2.1"]}],
    )
    before = (zone_dir / f"{ZONE}.zone").read_text()
    with pytest.raises(Conflict) as error:
        dns_records.mail_records_add(access=admin, domain=domain, service=org_world["mail"])
    assert error.value.code == "cname_conflict"
    assert (zone_dir / f"{ZONE}.zone").read_text() == before
    assert not DkimKey.objects.exists()
    assert not domain.rrsets.filter(type="MX").exists()


def test_a_resolver_that_never_answers_costs_one_deadline_and_says_so(admin, domain, settings):
    """A real UDP socket on loopback that swallows every question: the seven records are
    asked at once, so the check takes one deadline, and each says it could not be
    checked instead of calling the record wrong."""
    import socket
    import time

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        settings.MAIL_DNS_RESOLVER = "127.0.0.1"
        settings.MAIL_DNS_RESOLVER_PORT = silent.getsockname()[1]
        settings.MAIL_DNS_RESOLVER_TIMEOUT = 1.0
        settings.MAIL_DNS_CHECK_DEADLINE = 1.5
        began = time.monotonic()
        checks = dns_records.mail_checks(access=admin, domain=domain)
        took = time.monotonic() - began
    finally:
        silent.close()
    assert len(checks) == 7
    assert took < 2.5, took  # one deadline, not seven timeouts
    assert all(check["found"] is None and not check["ok"] for check in checks)
    assert all(
        "could not be checked" in check["message"] for check in checks if check["check"] != "dkim"
    )
