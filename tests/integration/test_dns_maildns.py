"""The Service Mail DNS diagnostic against the rig's real PowerDNS, asked by dnspython
through the configured resolver: a fresh domain fails every check, and after the
one-click fix the server answers every expected record."""

import itertools

import dns.message
import dns.query
import dns.rcode

from domains import services
from mail import dns_records
from tests import factories as f

_zones = itertools.count(1)


def unique():
    return f"mail{next(_zones)}.maildns.test"


def ask(server, name, rtype):
    """(rcode, sorted answers) straight from the rig's PowerDNS."""
    response = dns.query.udp(
        dns.message.make_query(name, rtype), "127.0.0.1", port=server.dns_port, timeout=3
    )
    answers = sorted(item.to_text() for rrset in response.answer for item in rrset)
    return dns.rcode.to_text(response.rcode()), answers


def test_a_fresh_domain_fails_every_check_until_the_fixes_are_applied(powerdns, admin):
    zone = unique()
    domain = services.domain_add(access=admin, name=zone)

    before = dns_records.mail_checks(access=admin, domain=domain)
    assert [c["ok"] for c in before] == [False] * 7
    assert all(c["found"] == [] for c in before)  # the server answered: nothing there

    after = dns_records.mail_fixes_apply(access=admin, domain=domain)

    assert [(c["check"], c["ok"], c["fix"]) for c in after if not c["ok"]] == []
    for check in after:
        rcode, answers = ask(powerdns, check["name"], check["type"])
        assert rcode == "NOERROR" and answers == sorted(check["expected"]), check["check"]
    assert ask(powerdns, zone, "MX") == ("NOERROR", ["10 mx.panel.localhost."])


def test_use_with_service_mail_is_served_and_keeps_other_txt(powerdns, admin, org_world):
    zone = unique()
    domain = services.domain_add(access=admin, name=zone)
    service = f.MailServiceFactory(organisation=org_world["org"], name=zone)
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[{"name": "@", "type": "TXT", "records": ["site-verification=1", "v=spf1 -all"]}],
    )
    dns_records.mail_records_add(access=admin, domain=domain, service=service)

    assert ask(powerdns, zone, "TXT") == (
        "NOERROR",
        ['"site-verification=1"', '"v=spf1 include:spf.panel.localhost -all"'],
    )
    checks = dns_records.mail_checks(access=admin, domain=domain)
    assert all(c["ok"] for c in checks)
