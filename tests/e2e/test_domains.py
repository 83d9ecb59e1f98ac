"""Domains in headless Chromium: add a domain, add records (one refused inline, with its
line), edit one, make another domain a synonym, order a Service Mail and use the domain
with it, then apply the mail DNS fixes. Zones are written to a temporary directory; the
diagnostic asks the panel's own zone files, the embedded default, so its checks are true.
Screenshots go to /tmp/domain-shots/, at desktop and at a 390px phone width."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from domains.models import Domain, RRset
from panel.models import Role
from tests import factories as f

from .conftest import TIMEOUT_MS

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/domain-shots")


def shot(page, name, full_page=True):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.DNS_PUBLISHER = "zonefile"
    settings.DNS_ZONE_DIR = tmp_path
    settings.MAIL_DNS_RESOLVER = "panel-zones"  # the zone files it writes, as in make run
    legal = f.UserFactory(email="olivia@example.test")
    org = f.OrganisationFactory(name="Acme Robotics", legal_representative=legal)
    f.MembershipFactory(organisation=org, role=Role.USER, user__email="max@example.test")
    return {"org": org, "legal": legal, "zones": tmp_path}


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", f.PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def add_domain(page, name, kind="Normal"):
    page.get_by_label("Domain", exact=True).fill(name)
    page.locator(".choice-card", has_text=kind).click()
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def add_record(page, name, rtype, content, ttl=None):
    form = page.get_by_test_id("record-form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Type").select_option(rtype)
    if ttl:
        form.get_by_label("TTL").fill(str(ttl))
    form.get_by_label("Content").fill(content)
    form.get_by_role("button", name="Add record").click()


def test_domains_in_the_browser(live_server, world, browser):
    base, org = live_server.url, world["org"]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, base, "olivia@example.test")
    expect(page.get_by_role("heading", name="Acme Robotics", level=1)).to_be_visible()

    # The Domains entry of the navigation, its empty list, then a first domain.
    page.locator(".mainnav").get_by_role("link", name="Domains").click()
    expect(page.get_by_role("heading", name="No domain yet")).to_be_visible()
    shot(page, "01-list-empty")
    add_domain(page, "shop.example")
    expect(page.locator(".message-success")).to_contain_text("Domain added")
    assert (world["zones"] / "shop.example.zone").exists()
    shot(page, "02-domain-new")
    domain_url = page.url

    # Records: one accepted, then one refused under its field with the line at fault.
    add_record(page, "www", "A", "192.0.2.10", ttl=300)
    expect(page.locator(".message-success")).to_contain_text("Record added")
    expect(page.locator('[data-rrset="www.shop.example A"]')).to_contain_text("192.0.2.10")
    add_record(page, "api", "A", "192.0.2.11\n300.1.1.1")
    error = page.get_by_test_id("record-form").locator(".field-textarea .error")
    expect(error).to_contain_text("Line 2: This is not a valid A record")
    expect(page.get_by_test_id("record-form").get_by_label("Content")).to_have_value(
        "192.0.2.11\n300.1.1.1"
    )
    shot(page, "03-record-error-inline")
    assert not RRset.objects.filter(name="api.shop.example").exists()
    add_record(page, "api", "A", "192.0.2.11\n192.0.2.12")
    expect(page.locator('[data-rrset="api.shop.example A"]')).to_contain_text("192.0.2.12")
    add_record(page, "@", "TXT", "hello world")
    expect(page.locator('[data-rrset="shop.example TXT"]')).to_contain_text('"hello world"')

    # Edit an rrset in place.
    row = page.locator('[data-rrset="www.shop.example A"]')
    row.get_by_role("button", name="Edit").click()
    row.get_by_label("Records, one per line").fill("192.0.2.20\n192.0.2.21")
    shot(page, "04-rrset-edit")
    row.get_by_role("button", name="Save").click()
    expect(page.locator('[data-rrset="www.shop.example A"]')).to_contain_text("192.0.2.21")
    shot(page, "05-records")

    # A second domain becomes a synonym of the first.
    page.locator(".mainnav").get_by_role("link", name="Domains").click()
    add_domain(page, "shop-example.net")
    page.goto(domain_url)
    expect(page.get_by_test_id("synonym-explain")).to_contain_text(
        "A synonym has no zone of its own"
    )
    page.get_by_label("Make another domain a synonym of this one").select_option("shop-example.net")
    page.get_by_role("button", name="Make it a synonym").click()
    expect(page.get_by_test_id("synonyms")).to_contain_text("shop-example.net")
    shot(page, "06-synonym-made")
    page.get_by_test_id("synonyms").get_by_role("link", name="shop-example.net").click()
    expect(page.get_by_test_id("synonym-notice")).to_contain_text("A synonym of shop.example")
    expect(page.locator('[data-rrset="www.shop-example.net A"]')).to_contain_text("192.0.2.21")
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)
    shot(page, "07-synonym-page")
    assert Domain.objects.get(name="shop-example.net").synonym_of.name == "shop.example"

    # Order a Service Mail for the domain, use the domain with it, apply the fixes.
    page.goto(f"{base}/o/{org.pk}/mail/")
    page.get_by_label("Domain", exact=True).fill("shop.example")
    page.get_by_role("button", name="Order").click()
    expect(page.get_by_role("heading", name="shop.example", level=1)).to_be_visible()
    page.goto(domain_url)
    page.get_by_label("Service Mail").select_option(label="shop.example")
    page.get_by_role("button", name="Use with Service Mail").click()
    expect(page.locator(".message-success")).to_contain_text("mail records of shop.example")
    expect(page.locator('[data-rrset="shop.example MX"]')).to_contain_text("mx.panel.localhost")
    page.get_by_role("link", name="Check the mail records").click()
    checks = page.get_by_test_id("mail-checks")
    expect(checks.locator("[data-check=mx]")).to_contain_text("OK")  # filled in by fetch
    expect(page.locator("[data-mail-checks-progress]")).to_contain_text(
        "All 7 records are as expected"
    )
    expect(checks.locator("[data-status=pending]")).to_have_count(0)
    shot(page, "08-mail-diagnostic")
    page.get_by_role("button", name="Apply all fixes").click()
    expect(page.locator(".message-success")).to_contain_text("expected mail records")
    expect(page.get_by_test_id("mail-checks")).to_be_visible()
    assert RRset.objects.filter(name="_dmarc.shop.example", type="TXT").exists()
    shot(page, "09-after-fixes")

    # The list shows the synonym, the dashboard links the domains.
    page.locator(".mainnav").get_by_role("link", name="Domains").click()
    expect(page.get_by_test_id("domains")).to_contain_text("Follows shop.example")
    shot(page, "10-list")
    page.locator(".mainnav").get_by_role("link", name="Dashboard").click()
    page.locator("[data-kind=domain]").get_by_role("link", name="shop.example").click()
    expect(page.get_by_role("heading", name="shop.example", level=1)).to_be_visible()

    # The same pages at a phone's width.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    mobile = phone.new_page()
    mobile.set_default_timeout(TIMEOUT_MS)
    mobile.goto(domain_url)
    expect(mobile.get_by_role("heading", name="shop.example", level=1)).to_be_visible()
    shot(mobile, "11-mobile-domain")
    mobile.locator('[data-rrset="www.shop.example A"]').get_by_role("button", name="Edit").click()
    shot(mobile, "12-mobile-edit", full_page=False)
    mobile.goto(f"{domain_url}?check=mail")
    shot(mobile, "13-mobile-diagnostic")
    mobile.locator("[data-check=dkim]").scroll_into_view_if_needed()
    shot(mobile, "13b-mobile-diagnostic-table", full_page=False)
    mobile.locator("#records").scroll_into_view_if_needed()
    shot(mobile, "11b-mobile-records", full_page=False)
    mobile.goto(f"{base}/o/{org.pk}/domains/")
    shot(mobile, "14-mobile-list")
    mobile.goto(f"{base}/o/{org.pk}/domains/shop-example.net/")
    shot(mobile, "15-mobile-synonym")
    phone.close()
    context.close()
