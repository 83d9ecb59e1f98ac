"""A walk through the other pages of the Manager in headless Chromium: inline form errors,
a product granted directly to a member, confirmations, a failed Job, the 403 page, tokens
shown once, and turning on two-factor authentication, after which signing in asks for a
code. Screenshots go to tests/e2e/screenshots/."""

import base64
import hashlib
import hmac
import struct
import time

import pytest
from playwright.sync_api import expect

from panel import services
from panel.access import access_for
from panel.models import Job, JobStatus, Role
from tests import factories as f

from .conftest import TIMEOUT_MS, shot

pytestmark = pytest.mark.e2e


def totp_code(secret: str, at: float | None = None) -> str:
    """The current RFC 6238 code of an authenticator app for `secret`."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


@pytest.fixture
def world(transactional_db):
    legal = f.UserFactory(email="olivia@example.test", first_name="Olivia", last_name="Owner")
    org = f.OrganisationFactory(name="Acme Robotics", legal_representative=legal)
    user = f.MembershipFactory(
        organisation=org, role=Role.USER, user__email="max@example.test"
    ).user
    f.MembershipFactory(organisation=org, role=Role.ADMIN, user__email="ada@example.test")
    mail = f.MailServiceFactory(organisation=org, name="acme-robotics.example")
    f.MailServiceFactory(organisation=org, name="support.acme-robotics.example")
    domain = f.DomainFactory(organisation=org, name="acme-robotics.example")
    access = access_for(legal, org)
    team = services.team_create(
        access=access,
        name="Webmasters",
        description="Look after the website and its mail.",
        leader=legal,
    )
    services.team_members_add(access=access, team=team, users=[user])
    services.team_people_add(access=access, team=team, emails=["agency@example.test"])
    services.grant_create(
        access=access, team=team, product_type="mail_service", product_id=mail.pk, level="manage"
    )
    services.invitation_create(access=access, email="newcomer@example.test", role="admin")
    Job.objects.create(
        organisation=org,
        actor=legal,
        kind="activity_export",
        status=JobStatus.FAILED,
        total=120,
        done=40,
        errors=[{"detail": "OperationalError: the database went away"}],
    )
    Job.objects.create(
        organisation=org,
        actor=legal,
        kind="activity_export",
        status=JobStatus.RUNNING,
        total=200,
        done=90,
    )
    return {"org": org, "legal": legal, "user": user, "team": team, "domain": domain}


def sign_in(page, base, email, password=f.PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign In").click()


def test_pages_errors_confirmations_and_two_factor(live_server, world, settings, browser):
    # The code typed at sign-in is the next one, as the activation code cannot be reused.
    settings.MFA_TOTP_TOLERANCE = 1
    base, org = live_server.url, world["org"]
    o = f"{base}/o/{org.pk}"
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    sign_in(page, base, "olivia@example.test", "wrong password")
    expect(page.locator(".form-errors")).to_be_visible()
    shot(page, "20-login-error")
    sign_in(page, base, "olivia@example.test")
    expect(page.get_by_role("heading", name="Acme Robotics", level=1)).to_be_visible()
    expect(page.locator("[data-kind=mail_service] .product-list")).to_contain_text(
        "acme-robotics.example"
    )
    shot(page, "21-dashboard-with-products")

    page.goto(f"{o}/members/")
    page.get_by_label("Email address").fill("max@example.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".field.has-error .error")).to_have_text("Already a member.")
    shot(page, "22-members-inline-error")
    page.get_by_role("link", name="max@example.test").click()
    page.get_by_label("Product", exact=True).select_option(value=f"domain:{world['domain'].pk}")
    page.get_by_label("Level", exact=True).select_option("manage")
    page.get_by_role("button", name="Grant access").click()
    expect(page.locator("[data-testid=direct-grants]")).to_contain_text("acme-robotics.example")
    expect(page.locator("[data-testid=member-teams]")).to_contain_text("Webmasters")
    shot(page, "22b-member-direct-grant")
    # What the person holds is not offered again (issue 13, item 10).
    expect(page.locator(f"#id_product option[value='domain:{world['domain'].pk}']")).to_have_count(
        0
    )
    shot(page, "22c-member-grant-offers-the-rest")

    page.goto(f"{o}/teams/")
    shot(page, "23-teams")
    page.get_by_role("link", name="Webmasters").click()
    page.get_by_label("Email addresses").fill("fine@example.test, not an address")
    page.get_by_role("button", name="Add to team").click()
    expect(page.locator("#add-people .error")).to_contain_text("Line 2")
    shot(page, "24-team-detail-error")
    page.locator("[data-team-member='max@example.test']").get_by_role("link", name="Remove").click()
    question = page.get_by_role("heading", name="Remove max@example.test from Webmasters?")
    expect(question).to_be_visible()
    shot(page, "25-confirm-remove")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("[data-team-member='max@example.test']")).to_be_visible()

    page.goto(f"{o}/settings/")
    shot(page, "26-settings")
    page.get_by_role("link", name="Delete organisation…").click()
    page.get_by_label("Type the organisation's name to confirm").fill("acme")
    page.get_by_role("button", name="Delete this organisation").click()
    expect(page.locator(".field.has-error .error")).to_contain_text("does not match")
    shot(page, "27-delete-wrong-name")

    page.goto(f"{o}/jobs/")
    expect(page.locator("[data-testid=jobs] [role=progressbar]").first).to_be_visible()
    shot(page, "28-jobs")
    page.get_by_role("link", name="Activity export (CSV)").last.click()
    expect(page.locator("[data-job-show=error]")).to_contain_text("the database went away")
    shot(page, "29-job-failed")

    page.goto(f"{base}/account/")
    shot(page, "30-account")
    page.goto(f"{base}/account/tokens/")
    page.get_by_label("Name").fill("Deployment script")
    page.get_by_label("Write").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#token-secret").inner_text()
    assert secret.startswith("pnl_")
    shot(page, "31-token-created")
    page.reload()
    expect(page.locator("#token-secret")).to_have_count(0)

    page.goto(f"{base}/accounts/password/change/")
    shot(page, "32-password-change")
    page.goto(f"{base}/accounts/email/")
    shot(page, "33-email")

    # Two-factor authentication: activate TOTP, then signing in asks for a code.
    page.goto(f"{base}/accounts/2fa/")
    shot(page, "34-mfa-index")
    page.get_by_role("link", name="Activate").click()
    if page.get_by_role("heading", name="Confirm Access").is_visible():
        shot(page, "35-reauthenticate")
        page.get_by_label("Password").fill(f.PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    totp_secret = page.locator("#authenticator_secret").input_value()
    shot(page, "36-mfa-activate")
    page.get_by_label("Authenticator code").fill(totp_code(totp_secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".message-success").first).to_be_visible()
    shot(page, "37-mfa-activated")
    page.locator("[data-testid=user-menu]").click()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "olivia@example.test")
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    shot(page, "38-mfa-authenticate")
    page.get_by_label("Code").fill(totp_code(totp_secret, time.time() + 30))
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator("[data-testid=user-menu]")).to_be_visible()

    # A plain user: no management links, and the members page answers 403.
    user_context = browser.new_context(viewport={"width": 1360, "height": 900})
    user_page = user_context.new_page()
    user_page.set_default_timeout(TIMEOUT_MS)
    sign_in(user_page, base, "max@example.test")
    expect(user_page.locator("[data-kind=mail_service] .product-list")).to_contain_text(
        "acme-robotics.example"
    )
    expect(user_page.locator("[data-kind=mail_service]")).not_to_contain_text("support.acme")
    expect(user_page.locator("[data-kind=domain]")).to_contain_text("acme-robotics.example")
    expect(user_page.get_by_role("navigation", name="Organisation")).not_to_contain_text("Members")
    shot(user_page, "39-user-dashboard")
    response = user_page.goto(f"{o}/members/")
    assert response.status == 403
    shot(user_page, "40-forbidden")
    response = user_page.goto(f"{base}/o/999999/")
    assert response.status == 404
    shot(user_page, "41-not-found")

    narrow = browser.new_context(viewport={"width": 420, "height": 860})
    phone = narrow.new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    sign_in(phone, base, "max@example.test")
    expect(phone.get_by_role("heading", name="Acme Robotics", level=1)).to_be_visible()
    shot(phone, "42-narrow-dashboard")

    for ctx in (narrow, user_context, context):
        ctx.close()
