"""Domain services with the zone-file publisher: each record rule and its error, the
SOA serial, synonyms that follow their main domain, and a DNS server that refuses a
change leaving the panel unchanged."""

import dns.zone
import pytest

from domains import services
from domains.models import Domain, RRset
from domains.publishers import DnsServerError, ZoneFilePublisher
from panel.access import access_for
from panel.errors import Conflict, InvalidInput, PermissionDenied


def served(zone_dir, name):
    return dns.zone.from_text(
        (zone_dir / f"{name}.zone").read_text(), origin=name, relativize=False
    )


def answer(zone_dir, zone, name, rtype):
    absolute = f"{zone}." if name == "@" else f"{name}.{zone}."
    found = served(zone_dir, zone).get_rdataset(absolute, rtype)
    return sorted(r.to_text() for r in found) if found else []


def test_a_new_domain_has_a_zone_with_our_name_servers(admin, zone_dir, settings):
    domain = services.domain_add(access=admin, name=" Shop.Example.ORG. ")
    assert domain.name == "shop.example.org" and domain.expires_at
    assert answer(zone_dir, "shop.example.org", "@", "NS") == [
        f"{ns}." for ns in sorted(settings.DNS_NAMESERVERS)
    ]
    with pytest.raises(Conflict):
        services.domain_add(access=admin, name="shop.example.org")
    with pytest.raises(InvalidInput):
        services.domain_add(access=admin, name="not a domain")


def test_records_are_published_and_the_serial_advances(admin, zone_dir):
    domain = services.domain_add(access=admin, name="ex.test")
    before = domain.serial
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[
            {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]},
            {"name": "@", "type": "MX", "ttl": 300, "records": ["10 mail"]},
            {"name": "@", "type": "TXT", "ttl": 300, "records": ["v=spf1 " + "x" * 300]},
        ],
    )
    domain.refresh_from_db()
    assert domain.serial > before
    assert answer(zone_dir, "ex.test", "www", "A") == ["192.0.2.1", "192.0.2.2"]
    assert answer(zone_dir, "ex.test", "@", "MX") == ["10 mail.ex.test."]
    [txt] = served(zone_dir, "ex.test").get_rdataset("ex.test.", "TXT")
    assert [len(s) for s in txt.strings] == [255, 52]  # long TXT cut into 255-byte strings
    services.rrsets_apply(
        access=admin, domain=domain, changes=[{"name": "www", "type": "A", "records": []}]
    )
    assert answer(zone_dir, "ex.test", "www", "A") == []


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"name": "www", "type": "A", "records": ["300.1.1.1"]}, "invalid_record", "records.0"),
        ({"name": "@", "type": "MX", "records": ["10 192.0.2.1"]}, "invalid_record", "records.0"),
        (
            {"name": "x", "type": "SRV", "records": ["1 1 80 10.0.0.1"]},
            "invalid_record",
            "records.0",
        ),
        ({"name": "@", "type": "CNAME", "records": ["other.test."]}, "cname_conflict", "name"),
        ({"name": "www", "type": "SPF", "records": ["x"]}, "invalid_record", "type"),
        (
            {"name": "a.elsewhere.test.", "type": "A", "records": ["192.0.2.1"]},
            "invalid_record",
            "name",
        ),
        ({"name": "www", "type": "A", "ttl": 1, "records": ["192.0.2.1"]}, "invalid_record", "ttl"),
    ],
)
def test_bad_records_name_their_field_and_change_nothing(admin, zone_dir, change, code, field):
    domain = services.domain_add(access=admin, name="ex.test")
    before = (zone_dir / "ex.test.zone").read_text()
    with pytest.raises((InvalidInput, Conflict)) as error:
        services.rrsets_apply(access=admin, domain=domain, changes=[change])
    assert error.value.code == code and field in error.value.fields
    assert (zone_dir / "ex.test.zone").read_text() == before
    assert RRset.objects.filter(domain=domain).count() == 1  # the NS rrset


def test_a_cname_stays_alone_at_its_name(admin, zone_dir):
    domain = services.domain_add(access=admin, name="ex.test")
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[{"name": "www", "type": "A", "records": ["192.0.2.1"]}],
    )
    with pytest.raises(Conflict) as error:
        services.rrsets_apply(
            access=admin,
            domain=domain,
            changes=[{"name": "www", "type": "CNAME", "records": ["ex.test."]}],
        )
    assert error.value.code == "cname_conflict"
    # Replacing the A by the CNAME in one change is fine.
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[
            {"name": "www", "type": "A", "records": []},
            {"name": "www", "type": "CNAME", "records": ["ex.test."]},
        ],
    )
    assert answer(zone_dir, "ex.test", "www", "CNAME") == ["ex.test."]


def test_a_refused_change_leaves_the_panel_unchanged(admin, zone_dir, monkeypatch):
    domain = services.domain_add(access=admin, name="ex.test")
    serial = domain.serial

    def refuse(self, zone, changed):
        raise DnsServerError("The DNS server refused the change: test")

    monkeypatch.setattr(ZoneFilePublisher, "update", refuse)
    with pytest.raises(DnsServerError):
        services.rrsets_apply(
            access=admin,
            domain=domain,
            changes=[{"name": "www", "type": "A", "records": ["192.0.2.1"]}],
        )
    domain.refresh_from_db()
    assert domain.serial == serial
    assert not RRset.objects.filter(domain=domain, type="A").exists()


def test_a_synonym_follows_its_main_domain_until_dissociated(admin, zone_dir):
    main = services.domain_add(access=admin, name="main.test")
    synonym = services.domain_add(access=admin, name="other.test")
    services.rrsets_apply(
        access=admin,
        domain=main,
        changes=[
            {"name": "www", "type": "A", "records": ["192.0.2.1"]},
            {"name": "@", "type": "MX", "records": ["10 mail.main.test."]},
        ],
    )
    services.synonym_make(access=admin, main=main, synonym=synonym)
    assert answer(zone_dir, "other.test", "www", "A") == ["192.0.2.1"]
    assert answer(zone_dir, "other.test", "@", "MX") == ["10 mail.other.test."]
    with pytest.raises(Conflict):
        services.rrsets_apply(
            access=admin,
            domain=synonym,
            changes=[{"name": "x", "type": "A", "records": ["1.1.1.1"]}],
        )
    services.rrsets_apply(
        access=admin, domain=main, changes=[{"name": "www", "type": "A", "records": ["192.0.2.9"]}]
    )
    assert answer(zone_dir, "other.test", "www", "A") == ["192.0.2.9"]  # it follows
    with pytest.raises(Conflict) as error:
        services.domain_delete(access=admin, domain=main, confirm_name="main.test")
    assert error.value.code == "has_synonyms"

    services.synonym_dissociate(access=admin, synonym=Domain.objects.get(pk=synonym.pk))
    services.rrsets_apply(
        access=admin, domain=main, changes=[{"name": "www", "type": "A", "records": ["192.0.2.10"]}]
    )
    assert answer(zone_dir, "other.test", "www", "A") == ["192.0.2.9"]  # its own copy now
    services.domain_delete(
        access=admin, domain=Domain.objects.get(pk=main.pk), confirm_name="main.test"
    )
    assert not (zone_dir / "main.test.zone").exists()


def test_only_administrators_add_and_delete_domains(org_world, zone_dir):
    user = access_for(org_world["user"], org_world["org"])
    with pytest.raises(PermissionDenied):
        services.domain_add(access=user, name="mine.test")


def test_the_apex_keeps_its_name_servers(admin, zone_dir):
    domain = services.domain_add(access=admin, name="ex.test")
    with pytest.raises(InvalidInput) as error:
        services.rrsets_apply(
            access=admin, domain=domain, changes=[{"name": "@", "type": "NS", "records": []}]
        )
    assert error.value.code == "invalid_record"
    assert RRset.objects.filter(domain=domain, type="NS").exists()


def test_a_new_synonym_never_serves_an_older_serial(admin, zone_dir):
    main = services.domain_add(access=admin, name="main.test")
    synonym = services.domain_add(access=admin, name="other.test")
    for _ in range(3):  # the future synonym has moved on further than its main domain
        services.rrsets_apply(
            access=admin,
            domain=synonym,
            changes=[{"name": "www", "type": "A", "records": ["192.0.2.1"]}],
        )
    synonym.refresh_from_db()
    before = synonym.serial
    services.synonym_make(access=admin, main=main, synonym=synonym)
    soa = served(zone_dir, "other.test").get_rdataset("other.test.", "SOA")
    assert soa[0].serial > before
