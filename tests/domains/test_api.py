"""The Domains REST API contract, as an integrator script meets it: each endpoint's shape,
each error code with its status, a DNS server that refuses a change leaving everything
as it was, and synonyms that follow their main domain."""

import dns.resolver
import dns.zone
import pytest

from domains import services
from domains.models import DkimKey, Domain, Renewal, RRset
from domains.publishers import DnsServerError, ZoneFilePublisher
from mail import dns_records
from panel.access import access_for
from panel.models import ActivityEvent
from tests import factories as f

ENVELOPE = {"code", "detail", "fields"}
DOMAIN_KEYS = {
    "name",
    "kind",
    "synonym_of",
    "expires_at",
    "renewal",
    "serial",
    "synonyms",
    "created_at",
}


def assert_error(response, status, *, code=None, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == ENVELOPE
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert body["fields"].get(field), body
    return body


@pytest.fixture
def world(org_world, zone_dir):
    """acme.test with www A 192.0.2.1, added by the legal representative."""
    manager = access_for(org_world["legal"], org_world["org"])
    acme = services.domain_add(access=manager, name="acme.test")
    services.rrsets_apply(
        access=manager,
        domain=acme,
        changes=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}],
    )
    return {**org_world, "manager": manager, "acme": acme}


@pytest.fixture
def legal(world, client_for):
    return client_for(world["legal"])


def url(world, rest=""):
    return f"/api/v1/organisations/{world['org'].pk}/domains/{rest}"


def add(world, name):
    return services.domain_add(access=world["manager"], name=name)


def rrsets(domain):
    return {(r.name, r.type): (r.ttl, r.records) for r in RRset.objects.filter(domain=domain)}


# -- domains --------------------------------------------------------------------------------


def test_adding_a_domain_answers_it_and_publishes_its_zone(world, legal, zone_dir):
    response = legal.post(url(world), {"name": " Shop.Example.ORG. ", "kind": "alias"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == DOMAIN_KEYS
    assert body["name"] == "shop.example.org"
    assert (body["kind"], body["synonym_of"], body["synonyms"]) == ("alias", None, [])
    assert body["renewal"] == "automatic" and body["expires_at"] and body["serial"] > 0
    assert (zone_dir / "shop.example.org.zone").exists()
    assert Domain.objects.get(name="shop.example.org").organisation == world["org"]


def test_adding_a_domain_refuses_a_bad_name_a_bad_kind_and_a_taken_name(world, legal):
    assert_error(legal.post(url(world), {"name": "not a domain"}), 400, field="name")
    assert_error(legal.post(url(world), {"name": "ok.test", "kind": "other"}), 400, field="kind")
    assert_error(legal.post(url(world), {"name": "ACME.test"}), 409, code="already_exists")
    assert not Domain.objects.filter(name="ok.test").exists()


def test_the_list_is_paginated_by_name(world, legal):
    for name in ("b.test", "a.test"):
        add(world, name)
    body = legal.get(url(world), {"page_size": 2}).json()
    assert body["count"] == 3
    assert [d["name"] for d in body["results"]] == ["a.test", "acme.test"]
    assert body["next"]


def test_a_grant_shows_only_its_domain_and_only_the_synonyms_it_sees(world, client_for):
    hidden = add(world, "hidden.test")
    synonym = add(world, "acme.eu")
    services.synonym_make(access=world["manager"], main=world["acme"], synonym=synonym)
    services.synonym_make(
        access=world["manager"], main=world["acme"], synonym=add(world, "acme.fr")
    )
    for domain in (world["acme"], synonym):
        f.GrantFactory(team=world["team"], product_type="domain", product_id=domain.pk)
    client = client_for(world["teammate"])
    listed = client.get(url(world)).json()["results"]
    assert [d["name"] for d in listed] == ["acme.eu", "acme.test"]
    assert listed[1]["synonyms"] == ["acme.eu"]  # acme.fr is not theirs to see
    assert listed[0]["synonym_of"] == "acme.test"
    assert_error(client.get(url(world, f"{hidden.name}/")), 404, code="not_found")


def test_a_domain_is_found_whatever_the_case_and_a_final_dot(world, legal):
    response = legal.get(url(world, "ACME.Test./"))
    assert response.status_code == 200
    assert response.json()["name"] == "acme.test"
    assert_error(legal.get(url(world, "nowhere.test/")), 404, code="not_found")


def test_renewal_can_be_chosen_and_is_recorded(world, legal):
    response = legal.patch(url(world, "acme.test/"), {"renewal": "manual"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["renewal"] == "manual"
    world["acme"].refresh_from_db()
    assert world["acme"].renewal == Renewal.MANUAL
    event = ActivityEvent.objects.get(code="domains.domain.renewal_changed")
    assert (event.data, event.via) == ({"from": "automatic", "to": "manual"}, "api")


def test_renewal_refuses_expired_as_a_choice_and_an_expired_domain(world, legal):
    target = url(world, "acme.test/")
    assert_error(legal.patch(target, {"renewal": "expired"}, format="json"), 400, field="renewal")
    assert_error(legal.patch(target, {}, format="json"), 400, field="renewal")
    Domain.objects.filter(pk=world["acme"].pk).update(renewal=Renewal.EXPIRED)
    assert_error(
        legal.patch(target, {"renewal": "automatic"}, format="json"), 409, code="domain_expired"
    )


def test_deleting_a_domain_needs_its_name_typed(world, legal, zone_dir):
    target = url(world, "acme.test/")
    assert_error(legal.delete(target), 400, field="confirm_name")
    assert_error(legal.delete(target, {"confirm_name": "acme.tes"}, format="json"), 400)
    assert_error(legal.delete(target + "?confirm_name=acme.tes"), 400, field="confirm_name")
    assert Domain.objects.filter(name="acme.test").exists()
    assert legal.delete(target + "?confirm_name=ACME.test").status_code == 204
    assert not Domain.objects.filter(name="acme.test").exists()
    assert not (zone_dir / "acme.test.zone").exists()


def test_a_main_domain_cannot_go_before_its_synonyms(world, legal):
    services.synonym_make(access=world["manager"], main=world["acme"], synonym=add(world, "a.eu"))
    response = legal.delete(url(world, "acme.test/"), {"confirm_name": "acme.test"}, format="json")
    body = assert_error(response, 409, code="has_synonyms")
    assert "a.eu" in body["detail"]
    # The rule comes before the typed name: a script is not asked a name it cannot use.
    assert_error(legal.delete(url(world, "acme.test/")), 409, code="has_synonyms")
    assert Domain.objects.filter(name="acme.test").exists()


# -- records --------------------------------------------------------------------------------


def test_the_records_list_shows_the_zone_without_its_soa(world, legal, settings):
    body = legal.get(url(world, "acme.test/records/")).json()
    assert body == [
        {
            "name": "acme.test",
            "type": "NS",
            "ttl": settings.DNS_DEFAULT_TTL,
            "records": [f"{ns}." for ns in settings.DNS_NAMESERVERS],
        },
        {"name": "www.acme.test", "type": "A", "ttl": 300, "records": ["192.0.2.1"]},
    ]


def test_creating_an_rrset_answers_it_and_publishes_it(world, legal, zone_dir):
    response = legal.post(
        url(world, "acme.test/records/"),
        {"name": "@", "type": "mx", "records": ["10 mail"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "name": "acme.test",
        "type": "MX",
        "ttl": 3600,
        "records": ["10 mail.acme.test."],
    }
    assert "@ 3600 IN MX 10 mail\n" in (zone_dir / "acme.test.zone").read_text()


def test_creating_an_rrset_that_exists_is_a_conflict(world, legal):
    world["acme"].refresh_from_db()
    serial = world["acme"].serial
    response = legal.post(
        url(world, "acme.test/records/"),
        {"name": "www.acme.test.", "type": "A", "records": ["192.0.2.2"]},
        format="json",
    )
    assert_error(response, 409, code="already_exists", field="name")
    world["acme"].refresh_from_db()
    assert world["acme"].serial == serial
    assert rrsets(world["acme"])[("www.acme.test", "A")] == (300, ["192.0.2.1"])


@pytest.mark.parametrize(
    ("rrset", "status", "code", "field"),
    [
        ({"name": "x", "type": "A", "records": ["300.1.1.1"]}, 400, "invalid_record", "records.0"),
        ({"name": "x", "type": "A", "records": []}, 400, "invalid", "records"),
        ({"name": "x", "type": "BOGUS", "records": ["1"]}, 400, "invalid_record", "type"),
        ({"name": "x", "type": "A", "ttl": 5, "records": ["192.0.2.1"]}, 400, None, "ttl"),
        ({"name": "x.other.test.", "type": "A", "records": ["192.0.2.1"]}, 400, None, "name"),
        ({"name": "@", "type": "CNAME", "records": ["www"]}, 409, "cname_conflict", "name"),
        ({"name": "www", "type": "CNAME", "records": ["x"]}, 409, "cname_conflict", "name"),
    ],
)
def test_creating_a_wrong_rrset_says_which_field(world, legal, rrset, status, code, field):
    before = rrsets(world["acme"])
    response = legal.post(url(world, "acme.test/records/"), rrset, format="json")
    assert_error(response, status, code=code, field=field)
    assert rrsets(world["acme"]) == before


def test_patch_applies_a_list_or_an_object_and_empty_records_delete(world, legal, zone_dir):
    target = url(world, "acme.test/records/")
    response = legal.patch(
        target,
        [
            {"name": "www", "type": "A", "ttl": 600, "records": ["192.0.2.5", "192.0.2.6"]},
            {"name": "@", "type": "TXT", "records": ["v=spf1 -all"]},
        ],
        format="json",
    )
    assert response.status_code == 200, response.content
    zone = {(r["name"], r["type"]): r for r in response.json()}
    assert zone[("www.acme.test", "A")]["records"] == ["192.0.2.5", "192.0.2.6"]
    assert zone[("acme.test", "TXT")]["records"] == ['"v=spf1 -all"']
    response = legal.patch(
        target, {"rrsets": [{"name": "www", "type": "A", "records": []}]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert ("www.acme.test", "A") not in {(r["name"], r["type"]) for r in response.json()}
    assert "192.0.2.5" not in (zone_dir / "acme.test.zone").read_text()


def test_patch_is_all_or_none_and_names_the_faulty_rrset(world, legal):
    before = rrsets(world["acme"])
    response = legal.patch(
        url(world, "acme.test/records/"),
        [
            {"name": "ok", "type": "A", "records": ["192.0.2.3"]},
            {"name": "bad", "type": "A", "records": ["192.0.2.4", "nope"]},
        ],
        format="json",
    )
    assert_error(response, 400, code="invalid_record", field="rrsets.1.records.1")
    assert rrsets(world["acme"]) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"name": "www", "type": "A", "ttl": 600}], "records"),
        (
            [{"name": "a", "type": "A", "records": ["192.0.2.1"]}, {"name": "www", "type": "A"}],
            "rrsets.1.records",
        ),
        ({"name": "www"}, "rrsets"),
        ([], "rrsets"),
    ],
)
def test_patch_refuses_a_change_without_records_rather_than_deleting(world, legal, body, field):
    before = rrsets(world["acme"])
    response = legal.patch(url(world, "acme.test/records/"), body, format="json")
    assert_error(response, 400, field=field)
    assert rrsets(world["acme"]) == before


def test_a_cname_beside_other_records_is_refused_by_patch(world, legal):
    response = legal.patch(
        url(world, "acme.test/records/"),
        [{"name": "www", "type": "CNAME", "records": ["elsewhere.org."]}],
        format="json",
    )
    assert_error(response, 409, code="cname_conflict")


def test_a_dns_server_that_refuses_leaves_everything_as_it_was(world, legal, zone_dir, monkeypatch):
    world["acme"].refresh_from_db()
    serial, before = world["acme"].serial, rrsets(world["acme"])
    served = (zone_dir / "acme.test.zone").read_text()
    events = ActivityEvent.objects.count()

    def refuse(self, zone, changed):
        raise DnsServerError("The DNS server refused the change: test")

    monkeypatch.setattr(ZoneFilePublisher, "update", refuse)
    response = legal.patch(
        url(world, "acme.test/records/"),
        [{"name": "www", "type": "A", "records": ["192.0.2.99"]}],
        format="json",
    )
    body = assert_error(response, 502, code="dns_server_error")
    assert "refused" in body["detail"]
    response = legal.post(
        url(world, "acme.test/records/"),
        {"name": "new", "type": "A", "records": ["192.0.2.98"]},
        format="json",
    )
    assert_error(response, 502, code="dns_server_error")
    world["acme"].refresh_from_db()
    assert world["acme"].serial == serial
    assert rrsets(world["acme"]) == before
    assert (zone_dir / "acme.test.zone").read_text() == served
    assert ActivityEvent.objects.count() == events


# -- synonyms -------------------------------------------------------------------------------


def test_a_synonym_serves_its_main_domain_s_records(world, legal):
    add(world, "acme.eu")
    response = legal.post(url(world, "acme.test/synonyms/"), {"name": "ACME.eu"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["synonym_of"] == "acme.test"
    assert legal.get(url(world, "acme.test/")).json()["synonyms"] == ["acme.eu"]
    served = legal.get(url(world, "acme.eu/records/")).json()
    assert {"name": "www.acme.eu", "type": "A", "ttl": 300, "records": ["192.0.2.1"]} in served
    response = legal.post(
        url(world, "acme.eu/records/"),
        {"name": "x", "type": "A", "records": ["192.0.2.1"]},
        format="json",
    )
    assert_error(response, 409, code="is_synonym")


def test_synonym_errors(world, legal):
    add(world, "acme.eu")
    services.synonym_make(
        access=world["manager"], main=world["acme"], synonym=add(world, "acme.fr")
    )
    target = url(world, "acme.test/synonyms/")
    assert_error(legal.post(target, {"name": "nowhere.test"}, format="json"), 400, field="name")
    assert_error(legal.post(target, {"name": "acme.test"}, format="json"), 400, field="name")
    assert_error(
        legal.post(url(world, "acme.fr/synonyms/"), {"name": "acme.eu"}, format="json"),
        409,
        code="is_synonym",
    )
    assert_error(
        legal.post(url(world, "acme.eu/synonyms/"), {"name": "acme.test"}, format="json"),
        409,
        code="has_synonyms",
    )


def test_dissociating_gives_the_synonym_its_own_copy(world, legal):
    services.synonym_make(access=world["manager"], main=world["acme"], synonym=add(world, "a.eu"))
    add(world, "b.eu")
    assert_error(legal.delete(url(world, "acme.test/synonyms/b.eu/")), 404, code="not_found")
    assert legal.delete(url(world, "acme.test/synonyms/a.eu/")).status_code == 204
    synonym = Domain.objects.get(name="a.eu")
    assert synonym.synonym_of is None
    assert rrsets(synonym)[("www.a.eu", "A")] == (300, ["192.0.2.1"])
    assert legal.get(url(world, "acme.test/")).json()["synonyms"] == []


# -- zone files -----------------------------------------------------------------------------

ZONE_FILE = """$ORIGIN acme.test.
$TTL 600
@ IN NS ns1.panel.localhost.
@ IN NS ns2.panel.localhost.
shop 300 IN CNAME www
www IN A 192.0.2.50
"""


def test_the_zone_file_is_the_served_zone(world, legal):
    response = legal.get(url(world, "acme.test/zone-file/"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/dns")
    assert 'filename="acme.test.zone"' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("$ORIGIN acme.test.\n")
    assert "www 300 IN A 192.0.2.1" in text and " IN SOA " in text


def test_importing_a_zone_file_replaces_the_zone(world, legal, zone_dir):
    response = legal.put(url(world, "acme.test/zone-file/"), {"text": ZONE_FILE}, format="json")
    assert response.status_code == 200, response.content
    zone = {(r["name"], r["type"]): (r["ttl"], r["records"]) for r in response.json()}
    assert zone[("www.acme.test", "A")] == (600, ["192.0.2.50"])
    assert zone[("shop.acme.test", "CNAME")] == (300, ["www.acme.test."])
    assert "192.0.2.50" in (zone_dir / "acme.test.zone").read_text()


def test_a_wrong_zone_file_names_its_line_and_changes_nothing(world, legal):
    before = rrsets(world["acme"])
    text = ZONE_FILE + "bad IN A 300.1.1.1\n"
    response = legal.put(url(world, "acme.test/zone-file/"), {"text": text}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "zone_file_invalid" and body["fields"]["text"]
    assert body["errors"][0]["line"] == 7
    assert rrsets(world["acme"]) == before


def test_a_synonym_has_no_zone_file_to_import(world, legal):
    services.synonym_make(access=world["manager"], main=world["acme"], synonym=add(world, "a.eu"))
    text = ZONE_FILE.replace("acme.test", "a.eu")
    response = legal.put(url(world, "a.eu/zone-file/"), {"text": text}, format="json")
    assert_error(response, 409, code="is_synonym")
    assert "www 300 IN A 192.0.2.1" in legal.get(url(world, "a.eu/zone-file/")).content.decode()


# -- mail DNS -------------------------------------------------------------------------------


class ZoneResolver:
    """Answers from the zone files the panel published, as the DNS server would."""

    def __init__(self, zone_dir):
        self.zone_dir = zone_dir

    def resolve(self, name, rtype):
        zone = dns.zone.from_text(
            (self.zone_dir / "acme.test.zone").read_text(), origin="acme.test", relativize=False
        )
        found = zone.get_rdataset(name if name.endswith(".") else name + ".", rtype)
        if found is None:
            raise dns.resolver.NXDOMAIN()
        return list(found)


@pytest.fixture
def resolver(zone_dir, monkeypatch):
    monkeypatch.setattr(dns_records, "default_resolver", lambda: ZoneResolver(zone_dir))


def test_mail_records_are_set_for_a_service_of_the_domain(world, legal, resolver):
    checks = legal.get(url(world, "acme.test/checks/")).json()
    assert {c["check"] for c in checks if not c["ok"]} >= {"mx", "spf", "dmarc"}
    assert set(checks[0]) == set("check name type expected found status ok fix message".split())
    response = legal.post(
        url(world, "acme.test/mail-records/"), {"service": world["mail"].pk}, format="json"
    )
    assert response.status_code == 200, response.content
    records = {r["check"]: r for r in response.json()}
    assert records["mx"]["name"] == "acme.test" and records["dkim"]["values"]
    assert all(c["ok"] for c in legal.get(url(world, "acme.test/checks/")).json())


def test_mail_records_need_a_service_of_yours_at_this_domain(world, legal, resolver):
    target = url(world, "acme.test/mail-records/")
    assert_error(legal.post(target, {"service": 999999}, format="json"), 400, field="service")
    other = world["other_mail"].pk  # hidden.test, not this domain
    assert_error(legal.post(target, {"service": other}, format="json"), 400, field="service")
    assert ("acme.test", "MX") not in rrsets(world["acme"])


def test_fixing_sets_every_missing_record_at_once(world, legal, resolver):
    response = legal.post(url(world, "acme.test/checks/fix/"))
    assert response.status_code == 200, response.content
    assert all(c["ok"] for c in response.json())
    assert ("acme.test", "MX") in rrsets(world["acme"])


def test_a_zone_file_can_be_put_as_the_body_itself(world, legal, zone_dir):
    response = legal.generic(
        "PUT", url(world, "acme.test/zone-file/"), ZONE_FILE.encode(), content_type="text/dns"
    )
    assert response.status_code == 200, response.content
    exported = legal.get(url(world, "acme.test/zone-file/")).content.decode()
    assert "192.0.2.50" in exported


@pytest.mark.parametrize("chars", [70_000, 1_000_000])
def test_a_record_over_what_dns_carries_is_refused(world, legal, chars):
    before = legal.get(url(world, "acme.test/records/")).json()
    rrset = {"name": "big", "type": "TXT", "records": ["x" * chars]}
    response = legal.post(url(world, "acme.test/records/"), rrset, format="json")
    assert response.status_code == 400, response.content[:300]
    assert "65535 bytes" in response.content.decode()
    assert legal.get(url(world, "acme.test/records/")).json() == before


def test_a_long_txt_record_that_fits_is_kept(world, legal):
    rrset = {"name": "long", "type": "TXT", "records": ["x" * 3000]}
    response = legal.post(url(world, "acme.test/records/"), rrset, format="json")
    assert response.status_code == 201, response.content[:300]


def test_rotating_the_dkim_key_publishes_a_new_selector_beside_the_current_one(
    world, legal, org_world
):
    service = org_world["mail"]  # the Service Mail of acme.test
    assert (
        legal.post(
            url(world, "acme.test/mail-records/"), {"service": service.pk}, format="json"
        ).status_code
        == 200
    )
    first = DkimKey.objects.get(domain=world["acme"])
    response = legal.post(url(world, "acme.test/mail-records/dkim/rotate/"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["selector"] != first.selector and body["signing"] is False
    assert body["record"] == f"{body['selector']}._domainkey.acme.test"
    names = {r["name"] for r in legal.get(url(world, "acme.test/records/")).json()}
    assert {first.selector, body["selector"]} <= {n.split(".")[0] for n in names}
    assert {f"{s}._domainkey.acme.test" for s in (first.selector, body["selector"])} <= names


@pytest.mark.parametrize(
    "change",
    [
        {"name": "www", "type": ["A"], "records": ["192.0.2.1"]},
        {"name": "www", "type": {"A": 1}, "records": ["192.0.2.1"]},
        {"name": ["www"], "type": "A", "records": ["192.0.2.1"]},
        {"name": "www", "type": "A", "records": 5},
        {"name": "www", "type": "A", "records": [{"x": 1}]},
        {"name": "www", "type": "A", "ttl": "soon", "records": ["192.0.2.1"]},
        "www A 192.0.2.1",
    ],
)
def test_a_patch_of_any_wrong_shape_is_a_400_and_changes_nothing(world, legal, change):
    before = rrsets(world["acme"])
    response = legal.patch(url(world, "acme.test/records/"), [change], format="json")
    assert response.status_code == 400, response.content
    assert response.json()["fields"]
    assert rrsets(world["acme"]) == before


def test_a_patch_reports_every_wrong_rrset_at_once(world, legal):
    changes = [
        {"name": "www", "type": ["A"], "records": []},
        {"name": "ok", "type": "A", "records": ["192.0.2.9"]},
        {"name": "x", "type": "A", "records": 5},
    ]
    response = legal.patch(url(world, "acme.test/records/"), changes, format="json")
    assert response.status_code == 400
    assert {"rrsets.0.type", "rrsets.2.records"} <= set(response.json()["fields"])
