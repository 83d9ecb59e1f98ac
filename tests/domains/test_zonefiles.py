"""BIND zone files with the zone-file publisher: a zone exported and imported again is the
same zone, a file the panel would refuse is refused whole with the line at fault, and
dns_republish finds and repairs a zone file edited behind the panel's back."""

import io

import dns.rdatatype
import dns.zone
import pytest
from django.core.management import CommandError, call_command

from domains import services
from domains.models import RRset
from domains.publishers import DnsServerError, ZoneFilePublisher
from domains.zonefiles import zone_export, zone_import
from panel.access import access_for
from panel.errors import Conflict, InvalidInput, NotFound
from panel.models import ActivityEvent


@pytest.fixture
def domain(admin):
    domain = services.domain_add(access=admin, name="ex.test")
    services.rrsets_apply(
        access=admin,
        domain=domain,
        changes=[
            {"name": "@", "type": "A", "ttl": 300, "records": ["192.0.2.1"]},
            {"name": "@", "type": "AAAA", "ttl": 300, "records": ["2001:db8::1"]},
            {
                "name": "@",
                "type": "MX",
                "ttl": 300,
                "records": ["10 mail", "20 backup.other.test."],
            },
            {"name": "@", "type": "TXT", "ttl": 300, "records": ["v=spf1 " + "x" * 300]},
            {"name": "_sip._tcp", "type": "SRV", "ttl": 600, "records": ["10 5 5060 sip"]},
            {"name": "@", "type": "CAA", "ttl": 3600, "records": ['0 issue "letsencrypt.org"']},
            {"name": "www", "type": "CNAME", "ttl": 300, "records": ["ex.test."]},
        ],
    )
    return domain


def served(zone_dir, name):
    """What the zone file holds, SOA aside: (name, type, sorted records)."""
    parsed = dns.zone.from_text(
        (zone_dir / f"{name}.zone").read_text(), origin=name, relativize=False
    )
    return sorted(
        (owner.to_text(), dns.rdatatype.to_text(rdataset.rdtype), sorted(map(str, rdataset)))
        for owner, rdataset in parsed.iterate_rdatasets()
        if rdataset.rdtype != dns.rdatatype.SOA
    )


def rrsets(domain):
    return sorted(
        (r.name, r.type, r.ttl, tuple(sorted(r.records)))
        for r in RRset.objects.filter(domain=domain)
    )


HEADER = [
    "$ORIGIN ex.test.",  # 1
    "$TTL 300",  # 2
    "@ IN SOA ns1.other.test. hostmaster.other.test. 1 7200 3600 1209600 300",  # 3
    "@ NS ns1.other.test.",  # 4
    "www A 192.0.2.10",  # 5
]


def zone_file(*lines):
    return "\n".join([*HEADER, *lines]) + "\n"


def test_an_exported_zone_imports_as_the_same_zone(admin, domain, zone_dir, settings):
    text = zone_export(access=admin, domain=domain)
    lines = text.splitlines()
    assert lines[0] == "$ORIGIN ex.test."
    assert lines[1] == f"$TTL {settings.DNS_DEFAULT_TTL}"
    assert lines[2].split()[:4] == ["@", str(settings.DNS_DEFAULT_TTL), "IN", "SOA"]
    assert '"v=spf1 ' in text and "CAA" in text and "_sip._tcp" in text
    before, serial = rrsets(domain), domain.serial

    zone_import(access=admin, domain=domain, text=text)

    domain.refresh_from_db()
    assert rrsets(domain) == before
    [txt] = RRset.objects.get(domain=domain, type="TXT").records
    assert txt.count('"') == 4  # still two strings, 255 bytes and the rest
    assert domain.serial > serial  # the file's SOA serial is not taken
    assert (zone_dir / "ex.test.zone").read_text().count(str(domain.serial)) == 1
    event = ActivityEvent.objects.get(code="domains.zone.imported")
    assert event.target_id == str(domain.pk)


def test_an_import_replaces_the_whole_zone_and_its_synonyms_follow(admin, domain, zone_dir):
    synonym = services.domain_add(access=admin, name="syn.test")
    services.synonym_make(access=admin, main=domain, synonym=synonym)

    zone_import(access=admin, domain=domain, text=zone_file("mail MX 10 www"))

    assert rrsets(domain) == [
        ("ex.test", "NS", 300, ("ns1.other.test.",)),
        ("mail.ex.test", "MX", 300, ("10 www.ex.test.",)),
        ("www.ex.test", "A", 300, ("192.0.2.10",)),
    ]
    assert served(zone_dir, "syn.test") == [
        ("mail.syn.test.", "MX", ["10 www.syn.test."]),
        ("syn.test.", "NS", ["ns1.other.test."]),
        ("www.syn.test.", "A", ["192.0.2.10"]),
    ]
    exported = zone_export(access=admin, domain=synonym)
    assert exported.startswith("$ORIGIN syn.test.\n") and "192.0.2.10" in exported


@pytest.mark.parametrize(
    "line7",
    [
        "bad A 300.1.1.1",  # found only once the whole line is read
        "bad FOO 192.0.2.1",
        "bad A 192.0.2.1 (",
        "$INCLUDE /etc/passwd",
        "$GENERATE 1-1000000 host$ A 192.0.2.1",
    ],
)
def test_a_syntax_error_names_its_line_and_changes_nothing(admin, domain, zone_dir, line7):
    before, served = rrsets(domain), (zone_dir / "ex.test.zone").read_text()
    text = zone_file("; a comment", line7, "after A 192.0.2.2")
    assert text.splitlines()[6] == line7
    with pytest.raises(InvalidInput) as error:
        zone_import(access=admin, domain=domain, text=text)
    assert error.value.code == "zone_file_invalid"
    assert error.value.line == 7
    assert str(error.value.detail).startswith("Line 7: ")
    assert error.value.errors == [
        {"line": 7, "code": "zone_file_invalid", "detail": str(error.value.detail)}
    ]
    assert rrsets(domain) == before
    assert (zone_dir / "ex.test.zone").read_text() == served
    assert not ActivityEvent.objects.filter(code="domains.zone.imported").exists()


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        (['www SPF "v=spf1 -all"'], 6, ["SPF"]),
        (["", "1 PTR www.ex.test."], 7, ["PTR"]),
        (["www.elsewhere.test. A 192.0.2.1"], 6, ["www.elsewhere.test", "outside"]),
        (["short 30 A 192.0.2.1"], 6, ["short.ex.test", "TTL"]),
        (["mx MX 10 mail", "mx MX ( 20", "  192.0.2.1 )"], 7, ["address"]),
        (["alias CNAME a.other.test.", "alias CNAME b.other.test."], 7, ["one CNAME"]),
        (["@ CNAME other.test."], 6, ["ex.test cannot have a CNAME"]),
        (["www CNAME other.test."], 6, ["www.ex.test", "CNAME"]),  # www has an A, line 5
        (["c CNAME other.test.", "", "c TXT x"], 8, ["c.ex.test", "CNAME"]),
    ],
)
def test_a_record_the_panel_refuses_names_its_line(admin, domain, lines, line, words):
    before = rrsets(domain)
    with pytest.raises((InvalidInput, Conflict)) as error:
        zone_import(access=admin, domain=domain, text=zone_file(*lines))
    assert error.value.code == "zone_file_invalid" and error.value.line == line
    assert all(word in str(error.value.detail) for word in words), error.value.detail
    assert rrsets(domain) == before


def test_a_file_over_the_record_cap_is_refused_at_the_line_that_passes_it(
    admin, domain, monkeypatch
):
    from domains import zonefiles

    monkeypatch.setattr(zonefiles, "MAX_FILE_RECORDS", 6)
    before = rrsets(domain)
    lines = [f"h{n} A 192.0.2.{n}" for n in range(1, 6)]
    with pytest.raises(InvalidInput) as error:
        zone_import(access=admin, domain=domain, text=zone_file(*lines))
    assert "more than 6 records" in str(error.value.detail)
    assert error.value.line > 0
    assert rrsets(domain) == before


def test_a_file_without_name_servers_is_refused_as_a_whole(admin, domain):
    with pytest.raises(InvalidInput) as error:
        zone_import(access=admin, domain=domain, text="$TTL 300\nwww A 192.0.2.1\n")
    assert error.value.line == 0 and "NS" in str(error.value.detail)


def test_a_synonym_has_no_zone_to_import_into(admin, domain):
    synonym = services.domain_add(access=admin, name="syn.test")
    services.synonym_make(access=admin, main=domain, synonym=synonym)
    with pytest.raises(Conflict) as error:
        zone_import(access=admin, domain=synonym, text=zone_file())
    assert error.value.code == "is_synonym"


def test_a_zone_without_a_grant_is_not_found(org_world, domain):
    user = access_for(org_world["user"], org_world["org"])
    with pytest.raises(NotFound):
        zone_export(access=user, domain=domain)
    with pytest.raises(NotFound):
        zone_import(access=user, domain=domain, text=zone_file())


def republish(*args):
    out = io.StringIO()
    call_command("dns_republish", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_finds_a_zone_file_edited_behind_the_panels_back(admin, domain, zone_dir):
    path = zone_dir / "ex.test.zone"
    published = path.read_text()
    assert "0 drifted" in republish("--check")
    edited = published.replace("192.0.2.1", "198.51.100.66") + "evil 300 IN A 203.0.113.6\n"
    edited = "\n".join(line for line in edited.splitlines() if "AAAA" not in line) + "\n"
    path.write_text(edited)

    with pytest.raises(CommandError) as failed:
        republish("--check")
    assert failed.value.returncode == 1
    assert path.read_text() == edited  # --check only reports

    out = republish()
    assert "ex.test A differs (panel: TTL 300: 192.0.2.1; server: TTL 300: 198.51.100.66)" in out
    assert "ex.test AAAA is missing on the server (panel: TTL 300: 2001:db8::1)" in out
    assert "evil.ex.test A is on the server only (server: TTL 300: 203.0.113.6)" in out
    assert "1 zone checked: 1 drifted, 1 published again, 0 failed." in out
    assert path.read_text() == published
    assert "0 drifted" in republish("--check", "--domain", "EX.test.")


def test_the_command_publishes_a_missing_zone_again(admin, domain, zone_dir):
    services.domain_add(access=admin, name="other.test")
    (zone_dir / "ex.test.zone").unlink()
    out = republish()
    assert "ex.test: the zone is missing on the server" in out
    assert "2 zones checked: 1 drifted, 1 published again" in out
    assert (zone_dir / "ex.test.zone").exists()
    with pytest.raises(CommandError) as unknown:
        republish("--domain", "nowhere.test")
    assert unknown.value.returncode == 2


def test_a_refused_publication_leaves_the_zone_unchanged(admin, domain, zone_dir, monkeypatch):
    before, serial = rrsets(domain), domain.serial

    def refuse(self, zone):
        raise DnsServerError("The DNS server refused the change: test")

    monkeypatch.setattr(ZoneFilePublisher, "replace", refuse)
    with pytest.raises(DnsServerError):
        zone_import(access=admin, domain=domain, text=zone_file())
    domain.refresh_from_db()
    assert rrsets(domain) == before and domain.serial == serial
    assert not ActivityEvent.objects.filter(code="domains.zone.imported").exists()
