"""Zones published to the real PowerDNS of the test rig, queried with dnspython over UDP
and TCP: what the panel holds is what the server answers, for records, synonyms, alias
domains and deletions, and a change the server refuses leaves the panel unchanged."""

import itertools

import dns.message
import dns.query
import dns.rcode
import pytest

from domains import services
from domains.models import Domain, RRset
from domains.publishers import DnsServerError

_zones = itertools.count(1)


def unique(prefix="zone"):
    return f"{prefix}{next(_zones)}.dns.test"


def ask(server, name, rtype, *, tcp=False):
    """(rcode, sorted answers) from the rig's PowerDNS."""
    query = dns.message.make_query(name, rtype)
    send = dns.query.tcp if tcp else dns.query.udp
    response = send(query, "127.0.0.1", port=server.dns_port, timeout=3)
    answers = sorted(item.to_text() for rrset in response.answer for item in rrset)
    return dns.rcode.to_text(response.rcode()), answers


def both(server, name, rtype):
    udp, tcp = ask(server, name, rtype), ask(server, name, rtype, tcp=True)
    assert udp == tcp
    return udp


def test_records_are_served_after_create_update_and_delete(powerdns, admin):
    zone = unique()
    domain = services.domain_add(access=admin, name=zone)
    assert both(powerdns, zone, "NS")[0] == "NOERROR"
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[
            {"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
            {"name": "@", "type": "MX", "ttl": 60, "records": ["10 mail"]},
            {"name": "@", "type": "TXT", "ttl": 60, "records": ["v=spf1 mx -all"]},
        ],
    )
    assert both(powerdns, f"www.{zone}", "A") == ("NOERROR", ["192.0.2.1"])
    assert both(powerdns, zone, "MX") == ("NOERROR", [f"10 mail.{zone}."])
    assert both(powerdns, zone, "TXT") == ("NOERROR", ['"v=spf1 mx -all"'])
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.7", "192.0.2.8"]}],
    )
    assert both(powerdns, f"www.{zone}", "A") == ("NOERROR", ["192.0.2.7", "192.0.2.8"])
    serial_before = ask(powerdns, zone, "SOA")[1][0].split()[2]
    services.rrsets_apply(
        access=admin, domain=domain, changes=[{"name": "www", "type": "A", "records": []}]
    )
    assert both(powerdns, f"www.{zone}", "A") == ("NXDOMAIN", [])
    assert int(ask(powerdns, zone, "SOA")[1][0].split()[2]) > int(serial_before)


def test_a_synonym_answers_and_follows_until_dissociated(powerdns, admin):
    main, other = unique("main"), unique("syn")
    main_domain = services.domain_add(access=admin, name=main)
    synonym = services.domain_add(access=admin, name=other)
    services.rrsets_apply(
        access=admin,
        domain=main_domain,
        changes=[{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}],
    )
    services.synonym_make(access=admin, main=main_domain, synonym=synonym)
    assert both(powerdns, f"www.{other}", "A") == ("NOERROR", ["192.0.2.1"])
    services.rrsets_apply(
        access=admin,
        domain=main_domain,
        changes=[{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.2"]}],
    )
    assert both(powerdns, f"www.{other}", "A") == ("NOERROR", ["192.0.2.2"])

    services.synonym_dissociate(access=admin, synonym=Domain.objects.get(pk=synonym.pk))
    services.rrsets_apply(
        access=admin,
        domain=main_domain,
        changes=[{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.3"]}],
    )
    assert both(powerdns, f"www.{main}", "A") == ("NOERROR", ["192.0.2.3"])
    assert both(powerdns, f"www.{other}", "A") == ("NOERROR", ["192.0.2.2"])  # its own copy


def test_an_alias_domain_answers_only_its_own_records(powerdns, admin):
    main, alias = unique("main"), unique("alias")
    main_domain = services.domain_add(access=admin, name=main)
    alias_domain = services.domain_add(access=admin, name=alias, kind="alias")
    services.rrsets_apply(
        access=admin,
        domain=main_domain,
        changes=[{"name": "shop", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}],
    )
    services.rrsets_apply(
        access=admin,
        domain=alias_domain,
        changes=[{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.9"]}],
    )
    assert both(powerdns, f"shop.{alias}", "A") == ("NXDOMAIN", [])
    assert both(powerdns, f"www.{alias}", "A") == ("NOERROR", ["192.0.2.9"])


def test_a_deleted_domain_is_gone_from_the_server(powerdns, admin):
    zone = unique()
    domain = services.domain_add(access=admin, name=zone)
    services.domain_delete(access=admin, domain=domain, confirm_name=zone)
    assert both(powerdns, zone, "NS")[0] == "REFUSED"


def test_a_refused_or_unreachable_server_leaves_the_panel_unchanged(powerdns, admin, settings):
    zone = unique()
    domain = services.domain_add(access=admin, name=zone)
    serial = Domain.objects.get(pk=domain.pk).serial
    settings.POWERDNS_API_KEY = "not-the-key"
    with pytest.raises(DnsServerError) as refused:
        services.rrsets_apply(
            access=admin,
            domain=domain,
            changes=[{"name": "www", "type": "A", "records": ["192.0.2.1"]}],
        )
    assert refused.value.status == 502
    settings.POWERDNS_API_URL = "http://127.0.0.1:9/api/v1"
    with pytest.raises(DnsServerError) as unreachable:
        services.rrsets_apply(
            access=admin,
            domain=Domain.objects.get(pk=domain.pk),
            changes=[{"name": "www", "type": "A", "records": ["192.0.2.1"]}],
        )
    assert "cannot be reached" in str(unreachable.value.detail)
    assert Domain.objects.get(pk=domain.pk).serial == serial
    assert not RRset.objects.filter(domain=domain, type="A").exists()
    assert both(powerdns, f"www.{zone}", "A") == ("NXDOMAIN", [])
