"""One organisation per domain name, across Domains and Service Mail (issue 12, item 2).

Every way a product takes a domain name (a zone in Domains, a Service Mail, an extra
domain) is tried by a second organisation against every way the first one holds it, on
the name itself, a name under it and a name above it: each answers 409 `domain_taken`,
says nothing of who holds it and writes nothing. A name the panel does not host waits
for its TXT record; the real proof against Postfix and PowerDNS is in
tests/integration/test_domain_claims.py.
"""

import threading

import pytest
from django.db import close_old_connections, connection

from domains.models import Domain
from mail.models import ExtraDomain, MailService
from panel.models import DomainClaim, Role
from panel.services.domain_claims import domain_claim, pending_claims_verify
from tests import factories as f
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

API = "/api/v1/organisations/{org}/"


@pytest.fixture
def two(zone_dir):
    """Two organisations, each with an administrator holding a token, and a Service Mail
    of the first one (the second's extra domain goes on its own service)."""
    holder = f.OrganisationFactory(name="Holder Ltd")
    claimant = f.OrganisationFactory(name="Claimant")
    people = {}
    for name, org in (("holder", holder), ("claimant", claimant)):
        admin = f.MembershipFactory(organisation=org, role=Role.ADMIN).user
        people[name] = token_client(admin)
    return {
        "holder": holder,
        "claimant": claimant,
        "clients": people,
        "holder_service": _order(people["holder"], holder, "base-holder.test"),
        "claimant_service": _order(people["claimant"], claimant, "base-claimant.test"),
    }


def _order(client, org, domain):
    response = client.post(
        API.format(org=org.pk) + "mail/services/", {"domain": domain, "plan": "premium"}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _take(world, side: str, how: str, name: str):
    """`side` ("holder" or "claimant") asks for `name` the way `how` says."""
    client, org = world["clients"][side], world[side]
    base = API.format(org=org.pk)
    if how == "domains":
        return client.post(base + "domains/", {"name": name})
    if how == "mail_service":
        return client.post(base + "mail/services/", {"domain": name, "plan": "premium"})
    service = world[f"{side}_service"]
    return client.post(base + f"mail/services/{service}/extra-domains/", {"domain": name})


HOW = ("domains", "mail_service", "extra_domain")
#: (what the holder takes, what the claimant asks for)
OVERLAPS = [
    ("bravo.test", "bravo.test"),
    ("bravo.test", "shop.bravo.test"),
    ("shop.bravo.test", "bravo.test"),
]


def _rows():
    return (
        Domain.objects.count(),
        MailService.objects.count(),
        ExtraDomain.objects.count(),
        DomainClaim.objects.count(),
    )


@pytest.mark.parametrize("held, asked", OVERLAPS)
@pytest.mark.parametrize("holder_how", HOW)
@pytest.mark.parametrize("claimant_how", HOW)
def test_a_name_another_organisation_holds_is_refused_every_way(
    two, holder_how, claimant_how, held, asked
):
    assert _take(two, "holder", holder_how, held).status_code == 201
    before = _rows()

    response = _take(two, "claimant", claimant_how, asked)

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "domain_taken"
    field = "name" if claimant_how == "domains" else "domain"
    assert body["fields"][field] == ["This domain is used by another organisation."]
    assert "Holder" not in response.content.decode()
    assert _rows() == before


def test_the_same_organisation_uses_one_name_in_domains_and_in_mail(two):
    for first, then in [
        ("mail_service", "domains"),
        ("domains", "mail_service"),
        ("domains", "extra_domain"),
        ("extra_domain", "domains"),
    ]:
        name = f"{first}-{then}.own.test".replace("_", "-")
        assert _take(two, "holder", first, name).status_code == 201
        assert _take(two, "holder", then, name).status_code == 201, (first, then)


def test_a_name_comes_free_once_its_last_product_is_deleted(two):
    holder = two["clients"]["holder"]
    base = API.format(org=two["holder"].pk)
    service = _order(holder, two["holder"], "leaving.test")
    assert _take(two, "holder", "domains", "leaving.test").status_code == 201

    holder.delete(base + "domains/leaving.test/?confirm_name=leaving.test")
    assert _take(two, "claimant", "domains", "leaving.test").status_code == 409  # mail keeps it
    holder.delete(base + f"mail/services/{service}/?confirm_name=leaving.test")

    assert _take(two, "claimant", "domains", "leaving.test").status_code == 201
    claim = DomainClaim.objects.get(name="leaving.test")
    assert claim.organisation == two["claimant"]


def test_a_removed_extra_domain_comes_free(two):
    holder = two["clients"]["holder"]
    base = API.format(org=two["holder"].pk)
    assert _take(two, "holder", "extra_domain", "extra.test").status_code == 201
    service = two["holder_service"]
    assert (
        holder.delete(base + f"mail/services/{service}/extra-domains/extra.test/").status_code
        == 204
    )

    assert _take(two, "claimant", "mail_service", "extra.test").status_code == 201


def test_a_public_suffix_is_nobodys_domain(two):
    for how in HOW:
        response = _take(two, "holder", how, "co.uk")
        assert response.status_code == 400, (how, response.content)
        field = "name" if how == "domains" else "domain"
        assert "public suffix" in response.json()["fields"][field][0]


class Served:
    """A resolver serving fixed TXT records: the proof is checked against real PowerDNS
    in tests/integration/test_domain_claims.py."""

    def __init__(self, records: dict[str, list[str]]):
        self.records = records

    def resolve(self, name, rtype):
        import dns.rdata
        import dns.resolver

        values = self.records.get(name.rstrip("."))
        if not values:
            raise dns.resolver.NXDOMAIN()
        return [dns.rdata.from_text("IN", "TXT", f'"{value}"') for value in values]


def test_a_name_the_panel_does_not_host_waits_for_its_record(two):
    holder = two["clients"]["holder"]
    base = API.format(org=two["holder"].pk)
    service = _order(holder, two["holder"], "elsewhere.test")

    shown = holder.get(base + f"mail/services/{service}/").json()
    assert shown["status"] == "waiting_for_verification"
    record = shown["domains"][0]["record"]
    claim = DomainClaim.objects.get(name="elsewhere.test")
    assert record == {
        "name": "_panel-verification.elsewhere.test",
        "type": "TXT",
        "value": f"panel-verification={claim.token}",
    }

    assert pending_claims_verify(resolver=Served({record["name"]: ["something else"]})) == 0
    claim.refresh_from_db()
    assert not claim.is_verified
    assert claim.check_result == "wrong_value"
    shown = holder.get(base + f"mail/services/{service}/", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert "ne contient pas la valeur attendue" in shown["domains"][0]["check_result"]

    assert pending_claims_verify(resolver=Served({record["name"]: [record["value"]]})) >= 1
    shown = holder.get(base + f"mail/services/{service}/").json()
    assert shown["status"] == "active"
    assert shown["domains"][0] == {
        "domain": "elsewhere.test",
        "status": "verified",
        "record": None,
        "checked_at": shown["domains"][0]["checked_at"],
        "check_result": "",
    }


def test_a_name_under_a_proven_or_hosted_one_needs_no_proof(two):
    holder = two["clients"]["holder"]
    assert _take(two, "holder", "domains", "hosted.test").status_code == 201
    service = _order(holder, two["holder"], "mail.hosted.test")
    base = API.format(org=two["holder"].pk)
    assert holder.get(base + f"mail/services/{service}/").json()["status"] == "active"

    # Proving a name proves the pending names under it.
    _order(holder, two["holder"], "shop.proven.test")
    _order(holder, two["holder"], "proven.test")
    claim = DomainClaim.objects.get(name="proven.test")
    pending_claims_verify(resolver=Served({claim.record_name: [claim.record_value]}))
    assert DomainClaim.objects.get(name="shop.proven.test").is_verified


def test_adding_the_domain_to_domains_verifies_a_pending_mail_domain(two):
    holder = two["clients"]["holder"]
    base = API.format(org=two["holder"].pk)
    service = _order(holder, two["holder"], "later.test")
    assert holder.get(base + f"mail/services/{service}/").json()["status"] != "active"
    assert _take(two, "holder", "domains", "later.test").status_code == 201
    assert holder.get(base + f"mail/services/{service}/").json()["status"] == "active"


def test_the_service_pages_show_the_record_to_add(two, client):
    admin = two["holder"].memberships.get(role=Role.ADMIN).user
    client.force_login(admin)
    service = _order(two["clients"]["holder"], two["holder"], "page.test")
    claim = DomainClaim.objects.get(name="page.test")

    listing = client.get(f"/o/{two['holder'].pk}/mail/").content.decode()
    page = client.get(f"/o/{two['holder'].pk}/mail/{service}/").content.decode()

    assert "Waiting for verification" in listing
    assert "_panel-verification.page.test" in page
    assert claim.record_value in page
    response = client.post(f"/o/{two['holder'].pk}/mail/{service}/verify/", follow=True)
    assert "The record is not visible yet" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_organisations_asking_for_one_name_get_it_once():
    """Twelve organisations ask at the same moment, on real PostgreSQL connections."""
    organisations = [f.OrganisationFactory() for _ in range(12)]
    names = ["race.test", "a.race.test", "b.a.race.test", "race.test"] * 3  # all overlap
    barrier = threading.Barrier(len(organisations))
    outcomes = []

    def ask(org, name):
        try:
            barrier.wait()
            domain_claim(organisation=org, name=name)
            outcomes.append("won")
        except Exception as error:  # noqa: BLE001 - the outcome is the test
            outcomes.append(getattr(error, "code", repr(error)))
        finally:
            close_old_connections()
            connection.close()

    threads = [
        threading.Thread(target=ask, args=(org, name))
        for org, name in zip(organisations, names, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["domain_taken"] * 11 + ["won"]
    holders = set(
        DomainClaim.objects.filter(name__endswith="race.test").values_list(
            "organisation", flat=True
        )
    )
    assert len(holders) == 1


def test_the_dashboard_marks_a_service_waiting_for_its_proof(two, client):
    admin = two["holder"].memberships.get(role=Role.ADMIN).user
    client.force_login(admin)
    _order(two["clients"]["holder"], two["holder"], "dash-waiting.test")
    body = client.get(f"/o/{two['holder'].pk}/").content.decode()
    assert body.count('data-testid="product-note"') == 2  # base-holder.test too: not hosted
    assert "Waiting for verification" in body
