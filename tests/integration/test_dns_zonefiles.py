"""Zone files against the rig's real PowerDNS: an imported file is what the server answers
over UDP and TCP and exports back to the same zone, and dns_republish finds a record
changed directly through PowerDNS's API and puts the panel's back."""

import io
import itertools

import dns.message
import dns.query
import dns.rcode
import pytest
import requests
from django.core.management import CommandError, call_command

from domains import services
from domains.models import RRset
from domains.zonefiles import zone_export, zone_import
from panel.errors import InvalidInput

_zones = itertools.count(1)


def unique(prefix="zone"):
    return f"{prefix}{next(_zones)}.zonefile.test"


def add_domain(admin, powerdns):
    return services.domain_add(access=admin, name=unique())


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


def rrsets(domain):
    return sorted(
        (r.name, r.type, r.ttl, tuple(sorted(r.records)))
        for r in RRset.objects.filter(domain=domain)
    )


def zone_file(zone):
    return f"""$ORIGIN {zone}.
$TTL 300
@       IN SOA ns1.elsewhere.test. hostmaster.elsewhere.test. 1 7200 3600 1209600 300
@       NS     ns1.zonefile.test.
@       NS     ns2.zonefile.test.
@       A      192.0.2.1
@       AAAA   2001:db8::1
@       MX     10 mail
@       TXT    "v=spf1 mx -all"
@       CAA    0 issue "letsencrypt.org"
mail    A      192.0.2.25
www     CNAME  @
_imaps._tcp 600 SRV 0 1 993 mail
long    TXT    "{"k" * 300}"
"""


def test_an_imported_zone_is_served_and_exports_back(powerdns, admin):
    domain = add_domain(admin, powerdns)
    zone = domain.name
    text = zone_file(zone).replace(f'"{"k" * 300}"', f'"{"k" * 255}" "{"k" * 45}"')
    zone_import(access=admin, domain=domain, text=text)

    assert both(powerdns, zone, "A") == ("NOERROR", ["192.0.2.1"])
    assert both(powerdns, zone, "AAAA") == ("NOERROR", ["2001:db8::1"])
    assert both(powerdns, zone, "MX") == ("NOERROR", [f"10 mail.{zone}."])
    assert both(powerdns, zone, "NS") == ("NOERROR", ["ns1.zonefile.test.", "ns2.zonefile.test."])
    assert both(powerdns, zone, "CAA") == ("NOERROR", ['0 issue "letsencrypt.org"'])
    assert both(powerdns, f"_imaps._tcp.{zone}", "SRV") == ("NOERROR", [f"0 1 993 mail.{zone}."])
    assert both(powerdns, f"long.{zone}", "TXT") == ("NOERROR", [f'"{"k" * 255}" "{"k" * 45}"'])
    rcode, answers = both(powerdns, f"www.{zone}", "A")
    assert rcode == "NOERROR" and f"{zone}." in answers and "192.0.2.1" in answers
    serial = ask(powerdns, zone, "SOA")[1][0].split()[2]
    assert int(serial) == domain.serial != 1  # the panel's serial, not the file's

    imported = rrsets(domain)
    zone_import(access=admin, domain=domain, text=zone_export(access=admin, domain=domain))
    assert rrsets(domain) == imported
    assert both(powerdns, f"mail.{zone}", "A") == ("NOERROR", ["192.0.2.25"])


def test_a_single_long_txt_string_is_refused(powerdns, admin):
    """A TXT string of 300 bytes cannot exist in DNS: the file is refused, not cut."""
    domain = add_domain(admin, powerdns)
    zone = domain.name
    with pytest.raises(InvalidInput) as error:
        zone_import(access=admin, domain=domain, text=zone_file(zone))
    assert error.value.code == "zone_file_invalid" and error.value.line == 14
    assert both(powerdns, zone, "A") == ("NOERROR", [])


def republish(*args):
    out = io.StringIO()
    call_command("dns_republish", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_repairs_a_record_changed_in_powerdns(powerdns, admin):
    domain = add_domain(admin, powerdns)
    zone = domain.name
    zone_import(
        access=admin,
        domain=domain,
        text=zone_file(zone).replace(f'"{"k" * 300}"', '"short"'),
    )
    assert "0 drifted" in republish("--check", "--domain", zone)

    response = requests.patch(
        f"{powerdns.api_url}/servers/localhost/zones/{zone}.",
        headers={"X-API-Key": powerdns.api_key},
        json={
            "rrsets": [
                {
                    "name": f"mail.{zone}.",
                    "type": "A",
                    "ttl": 300,
                    "changetype": "REPLACE",
                    "records": [{"content": "203.0.113.66", "disabled": False}],
                }
            ]
        },
        timeout=5,
    )
    assert response.status_code == 204, response.text
    assert both(powerdns, f"mail.{zone}", "A") == ("NOERROR", ["203.0.113.66"])

    with pytest.raises(CommandError) as drifted:
        republish("--check", "--domain", zone)
    assert drifted.value.returncode == 1
    assert both(powerdns, f"mail.{zone}", "A") == ("NOERROR", ["203.0.113.66"])

    out = republish("--domain", zone)
    assert (
        f"mail.{zone} A differs (panel: TTL 300: 192.0.2.25; server: TTL 300: 203.0.113.66)" in out
    )
    assert "1 zone checked: 1 drifted, 1 published again, 0 failed." in out
    assert both(powerdns, f"mail.{zone}", "A") == ("NOERROR", ["192.0.2.25"])
    assert "0 drifted" in republish("--check", "--domain", zone)


def test_powerdns_serves_the_panels_serial(powerdns, admin):
    zone = unique()
    domain = services.domain_add(access=admin, name=zone)
    assert int(ask(powerdns, zone, "SOA")[1][0].split()[2]) == domain.serial
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[{"name": "www", "type": "A", "records": ["192.0.2.1"]}],
    )
    domain.refresh_from_db()
    assert int(ask(powerdns, zone, "SOA")[1][0].split()[2]) == domain.serial
