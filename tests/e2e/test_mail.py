"""Service Mail in headless Chromium: order a premium service, create an address in each of
the three modes (the generated password shown once), meet the alias cap of a starter
service, set a redirection, and delete two addresses with the table's bulk action.
Screenshots go to /tmp/mail-shots/, at desktop and at a 390px phone width."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from mail import services
from mail.models import Address, MailService
from panel.access import access_for
from panel.models import Role
from tests import factories as f

from .conftest import TIMEOUT_MS

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/mail-shots")
MAILBOX_PASSWORD = "Sturdy-Pass-2048"


def shot(page, name, full_page=True):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def world(transactional_db):
    legal = f.UserFactory(email="olivia@example.test")
    org = f.OrganisationFactory(name="Acme Robotics", legal_representative=legal)
    f.MembershipFactory(organisation=org, role=Role.USER, user__email="max@example.test")
    f.MembershipFactory(organisation=org, role=Role.USER, user__email="lea@example.test")
    starter = f.MailServiceFactory(organisation=org, name="starter.example")
    services.address_create(
        access=access_for(legal, org),
        service=starter,
        local_part="contact",
        mode="unassigned",
        password=MAILBOX_PASSWORD,
    )
    return {"org": org, "legal": legal, "starter": starter}


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", f.PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def create_address(page, local_part, mode_label, password=None):
    page.get_by_role("link", name="Create an address").first.click()
    page.get_by_label("Address", exact=True).fill(local_part)
    page.locator(".choice-card", has_text=mode_label).click()
    if password:
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_label("Confirm the password").fill(password)


def test_service_mail_in_the_browser(live_server, world, browser):
    base, org = live_server.url, world["org"]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, base, "olivia@example.test")
    expect(page.get_by_role("heading", name="Acme Robotics", level=1)).to_be_visible()
    shot(page, "01-dashboard")

    # Order a premium Service Mail from the dashboard.
    page.get_by_role("link", name="Order a Service Mail").click()
    page.get_by_label("Domain", exact=True).fill("shop.example")
    page.locator(".choice-card", has_text="Premium").click()
    page.get_by_label("Address quota").fill("10")
    shot(page, "02-order-form")
    page.get_by_role("button", name="Order").click()
    expect(page.get_by_role("heading", name="shop.example", level=1)).to_be_visible()
    expect(page.get_by_test_id("usage")).to_contain_text("0 of 10 addresses used")
    shot(page, "03-service-empty")
    service = MailService.objects.get(domain="shop.example")
    service_url = f"{base}/o/{org.pk}/mail/{service.pk}/"

    # For me: a password typed twice, with the rules and a strength hint.
    create_address(page, "olivia", "For me", MAILBOX_PASSWORD)
    expect(page.locator("[data-mode-section=users]")).to_be_hidden()
    expect(page.locator(".mail-strength")).to_be_visible()
    shot(page, "04-wizard-for-me")
    page.get_by_role("button", name="Create address").click()
    expect(page.get_by_role("heading", name="olivia@shop.example")).to_be_visible()
    expect(page.get_by_test_id("new-password")).to_have_count(0)

    # For other users: the panel generates the password and shows it once.
    page.goto(service_url)
    create_address(page, "max", "For other users")
    expect(page.locator("[data-mode-section=users]")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_be_hidden()
    page.get_by_label("max@example.test").check()
    shot(page, "05-wizard-for-users")
    page.get_by_role("button", name="Create address").click()
    secret = page.locator("#new-password")
    expect(secret).to_be_visible()
    assert len(secret.inner_text().strip()) == 20
    expect(page.get_by_test_id("linked-people")).to_contain_text("max@example.test")
    shot(page, "06-address-password-once")
    page.reload()
    expect(page.get_by_test_id("new-password")).to_have_count(0)

    # Unassigned, then a redirection on it.
    page.goto(service_url)
    create_address(page, "info", "Unassigned", MAILBOX_PASSWORD)
    page.get_by_role("button", name="Create address").click()
    expect(page.get_by_role("heading", name="info@shop.example")).to_be_visible()
    page.get_by_label("Redirect to").fill("boss@elsewhere.example\nhelp@elsewhere.example")
    page.get_by_label("Keep a copy in the mailbox").check()
    page.get_by_role("button", name="Save redirection").click()
    expect(page.get_by_test_id("redirection-status")).to_contain_text(
        "boss@elsewhere.example, help@elsewhere.example"
    )
    expect(page.get_by_test_id("redirection-status")).to_contain_text("A copy stays")
    shot(page, "07-address-redirection")

    page.goto(service_url)
    page.locator("details.menu", has_text="More").locator("summary").click()
    expect(page.get_by_role("link", name="Create a catch-all address")).to_be_visible()
    shot(page, "08-service-table-menu")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("usage")).to_contain_text("3 of 10 addresses used")
    table = page.get_by_test_id("addresses")
    expect(table).to_contain_text("boss@elsewhere.example")
    expect(table).to_contain_text("max@example.test")

    # Bulk delete two addresses: a confirmation lists them first.
    page.locator("[data-address=info] input[type=checkbox]").check()
    page.locator("[data-address=max] input[type=checkbox]").check()
    page.get_by_role("button", name="Delete selected").click()
    expect(page.get_by_test_id("to-delete")).to_contain_text("info@shop.example")
    expect(page.get_by_test_id("to-delete")).to_contain_text("max@shop.example")
    expect(page.locator(".confirm-card")).to_contain_text("all the mail they hold is destroyed")
    shot(page, "09-bulk-delete-confirm")
    page.get_by_role("button", name="Delete 2 addresses and their mail").click()
    expect(page.locator(".message-success")).to_contain_text("2 addresses deleted")
    expect(page.locator("[data-address]")).to_have_count(1)
    assert list(Address.objects.filter(service=service).values_list("local_part", flat=True)) == [
        "olivia"
    ]
    shot(page, "10-after-bulk-delete")

    # The dashboard links the services and lists the addresses linked to me.
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("my-addresses")).to_contain_text("olivia@shop.example")
    expect(
        page.locator("[data-kind=mail_service]").get_by_role("link", name="shop.example")
    ).to_be_visible()
    shot(page, "10b-dashboard-my-addresses")

    # A starter service allows one alias per address: the second is refused on the page.
    starter = world["starter"]
    page.goto(f"{base}/o/{org.pk}/mail/{starter.pk}/addresses/contact/")
    page.get_by_label("New alias").fill("hello")
    page.get_by_role("button", name="Add alias").click()
    expect(page.get_by_test_id("aliases")).to_contain_text("hello@starter.example")
    expect(page.get_by_test_id("alias-cap-reached")).to_contain_text("Starter plan allows 1 alias")
    page.get_by_label("New alias").fill("bonjour")
    page.get_by_role("button", name="Add alias").click()
    expect(page.locator("#aliases .form-errors")).to_contain_text(
        "The Starter plan allows 1 alias(es) per address."
    )
    shot(page, "11-alias-cap-error")

    # The same pages at a phone's width.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    mobile = phone.new_page()
    mobile.set_default_timeout(TIMEOUT_MS)
    mobile.goto(service_url)
    expect(mobile.get_by_role("heading", name="shop.example", level=1)).to_be_visible()
    shot(mobile, "12-mobile-service")
    mobile.locator("details.menu", has_text="More").locator("summary").click()
    expect(mobile.get_by_role("link", name="Create a redirect-only address")).to_be_in_viewport()
    shot(mobile, "12b-mobile-service-menu", full_page=False)
    mobile.goto(f"{service_url}new-address/")
    mobile.locator(".choice-card", has_text="For other users").click()
    mobile.get_by_label("Address", exact=True).fill("a.rather.long.name")
    shot(mobile, "13-mobile-wizard")
    shot(mobile, "13b-mobile-wizard-top", full_page=False)
    mobile.goto(f"{base}/o/{org.pk}/mail/{starter.pk}/addresses/contact/")
    shot(mobile, "14-mobile-address")
    mobile.goto(f"{base}/o/{org.pk}/mail/")
    shot(mobile, "15-mobile-service-list")
    phone.close()
    context.close()
