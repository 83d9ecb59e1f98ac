"""The mail DNS check a newcomer runs (issue 13, item 1): the page answers at once with a
row per record and fills each in as its answer comes; a resolver that does not answer
gives "Could not check", in grey with the reason, not "Wrong"; under the embedded default
the check reads the zones the panel really serves; the demo domain has its records."""

import dns.resolver
import pytest
from django.core.management import call_command
from django.urls import reverse

from domains import services
from domains.models import Domain
from domains.publishers import ZoneFileResolver
from mail import dns_records
from panel.access import access_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(org_world, zone_dir, settings):
    settings.MAIL_DNS_RESOLVER = "panel-zones"  # the embedded default: the zone files
    access = access_for(org_world["legal"], org_world["org"])
    domain = services.domain_add(access=access, name="acme.test")
    return {"access": access, "domain": domain, **org_world}


def _row_url(world, check):
    return reverse("domains:mail-check", args=[world["org"].pk, world["domain"].name, check])


def test_the_page_lists_the_records_at_once_and_each_row_fills_in(acme, login):
    client = login(acme["legal"])
    page = client.get(
        reverse("domains:domain-detail", args=[acme["org"].pk, "acme.test"]), {"check": "mail"}
    ).content.decode()
    assert page.count("data-check-url=") == 7
    assert 'data-status="pending"' in page and "Checking…" in page
    assert "mail_checks.js" in page

    before = client.get(_row_url(acme, "mx")).content.decode()
    assert 'data-status="wrong"' in before and "Fix:" in before  # no MX in the zone yet
    dns_records.mail_records_add(access=acme["access"], domain=acme["domain"], service=acme["mail"])
    after = client.get(_row_url(acme, "mx")).content.decode()
    assert 'data-status="ok"' in after and "Fix:" not in after


def test_a_silent_resolver_is_could_not_check_in_grey(acme, login, settings):
    settings.MAIL_DNS_RESOLVER, settings.MAIL_DNS_RESOLVER_PORT = "127.0.0.1", 9
    settings.MAIL_DNS_RESOLVER_TIMEOUT = settings.MAIL_DNS_CHECK_DEADLINE = 0.3
    row = login(acme["legal"]).get(_row_url(acme, "spf")).content.decode()
    assert 'data-status="unknown"' in row and "dns-badge-unknown" in row
    assert "Could not check" in row and "did not answer in time" in row
    assert "Wrong" not in row


def test_the_api_tells_could_not_check_apart(acme, client_for, settings):
    settings.MAIL_DNS_RESOLVER, settings.MAIL_DNS_RESOLVER_PORT = "127.0.0.1", 9
    settings.MAIL_DNS_RESOLVER_TIMEOUT = settings.MAIL_DNS_CHECK_DEADLINE = 0.3
    response = client_for(acme["legal"]).get(
        f"/api/v1/organisations/{acme['org'].pk}/domains/acme.test/checks/"
    )
    assert {check["status"] for check in response.json()} <= {"unknown", "no_key"}


def test_the_dkim_row_does_not_ask_for_a_service_the_domain_has(acme):
    # acme.test has its Service Mail (org_world's): the advice is to apply the fixes.
    (dkim,) = dns_records.mail_checks(access=acme["access"], domain=acme["domain"], only=["dkim"])
    assert dkim["status"] == "no_key"
    assert "apply the fixes" in dkim["message"]
    assert "use the domain with Service Mail" not in dkim["message"]
    lonely = services.domain_add(access=acme["access"], name="lonely.test")
    (dkim,) = dns_records.mail_checks(access=acme["access"], domain=lonely, only=["dkim"])
    assert "use the domain with Service Mail" in dkim["message"]


def test_a_row_of_another_organisations_domain_is_404(acme, login):
    outsider = login(acme["outsider"])
    assert outsider.get(_row_url(acme, "mx")).status_code == 404


def test_the_zone_file_resolver_answers_as_a_server_would(acme, zone_dir):
    services.rrsets_apply(
        access=acme["access"],
        domain=acme["domain"],
        changes=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.7"]}],
    )
    resolver = ZoneFileResolver(zone_dir)
    assert [r.to_text() for r in resolver.resolve("www.acme.test.", "A")] == ["192.0.2.7"]
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("www.acme.test.", "MX")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("nothing.acme.test.", "A")
    with pytest.raises(dns.resolver.NoNameservers):
        resolver.resolve("elsewhere.example.", "A")


def test_the_demo_domain_has_its_mail_records(db, zone_dir, settings):
    settings.MAIL_DNS_RESOLVER = "panel-zones"
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    demo = Domain.objects.get(name="demo.example")
    owner = demo.organisation.memberships.get(role="legal_representative").user
    checks = dns_records.mail_checks(access=access_for(owner, demo.organisation), domain=demo)
    assert {c["check"]: c["status"] for c in checks} == {
        "mx": "ok",
        "spf": "ok",
        "dkim": "ok",
        "dmarc": "ok",
        "autoconfig": "ok",
        "autodiscover": "ok",
        "autodiscover_srv": "ok",
    }
