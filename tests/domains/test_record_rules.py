"""What a customer types as a record (issue 13, item 5 and 7): names are host names, with
`_` only where records use it; content errors are the panel's own sentences saying what
a valid value looks like; every problem of an rrset comes back in one answer."""

import pytest

from domains import services
from domains.models import RRset
from domains.records import clean_rrset
from panel.access import access_for
from panel.errors import Conflict, InvalidInput
from tests import factories as f

pytestmark = pytest.mark.django_db

ZONE = "rules.test"


@pytest.fixture
def domain(zone_dir):
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    access = access_for(legal, org)
    return access, services.domain_add(access=access, name=ZONE)


def _problems(name, rtype, records, ttl=3600) -> dict:
    with pytest.raises(InvalidInput) as raised:
        clean_rrset(ZONE, name, rtype, ttl, records)
    return raised.value.fields


@pytest.mark.parametrize(
    "name, rtype, records",
    [
        ("_dmarc", "TXT", ["v=DMARC1; p=none"]),
        ("panel-20261201._domainkey", "TXT", ["v=DKIM1; p=abc"]),
        ("_sip._tcp", "SRV", ["10 5 5060 sip.example.com."]),
        ("_autodiscover._tcp", "SRV", ["0 0 443 autoconfig.panel.localhost."]),
        ("selector1._domainkey", "CNAME", ["selector1.dkim.example.net."]),
        ("*", "A", ["192.0.2.1"]),
        ("mail-2", "A", ["192.0.2.2"]),
        ("@", "MX", ["10 mx.example.com."]),
    ],
)
def test_names_records_really_use_are_accepted(name, rtype, records):
    assert clean_rrset(ZONE, name, rtype, 3600, records).records


@pytest.mark.parametrize(
    "name, rtype",
    [
        ("Bad_Name!", "A"),
        ("_www", "A"),
        ("mail_box", "MX"),
        ("a_b", "TXT"),
        ("-lead", "A"),
        ("www.*", "A"),
        ("sip", "SRV"),
        ("_sip", "SRV"),
    ],
)
def test_other_names_are_refused_with_what_a_name_looks_like(name, rtype):
    value = {"A": "192.0.2.1", "MX": "10 mx.example.com.", "TXT": "x", "SRV": "1 1 1 a.b."}
    message = _problems(name, rtype, [value[rtype]])["name"][0]
    assert "such as" in message


def test_bad_name_is_not_saved_nor_published(domain, zone_dir):
    access, zone = domain
    with pytest.raises(InvalidInput):
        services.rrset_create(
            access=access,
            domain=zone,
            change={"name": "Bad_Name!", "type": "A", "records": ["192.0.2.1"]},
        )
    assert not RRset.objects.filter(domain=zone, name__contains="bad").exists()
    assert "bad_name" not in (zone_dir / f"{ZONE}.zone").read_text().lower()


@pytest.mark.parametrize(
    "rtype, wrong, hint",
    [
        ("A", "300.1.1.1", "192.0.2.10"),
        ("AAAA", "2001:::zz", "2001:db8::10"),
        ("MX", "mx.example.com.", "10 mx.example.com"),
        ("SRV", "10 5 sip.example.com.", "10 5 5060 sip.example.com"),
        ("CAA", "issue letsencrypt.org", '0 issue "letsencrypt.org"'),
    ],
)
def test_a_wrong_content_says_what_a_valid_one_looks_like(rtype, wrong, hint):
    name = "_sip._tcp" if rtype == "SRV" else "www"
    message = _problems(name, rtype, [wrong])["records.0"][0]
    assert hint in message
    assert "expecting" not in message and "malformed" not in message


def test_every_problem_of_an_rrset_comes_back_at_once():
    problems = _problems("Bad_Name!", "A", ["192.0.2.1", "not an address"], ttl=5)
    assert set(problems) == {"name", "ttl", "records.1"}


def test_a_cname_at_the_apex_is_explained_in_plain_words():
    with pytest.raises(Conflict) as raised:
        clean_rrset(ZONE, "@", "CNAME", 3600, ["shop.example.com."])
    assert "The domain itself (@) cannot be an alias" in raised.value.fields["name"][0]
    assert "apex" not in str(raised.value.detail)
