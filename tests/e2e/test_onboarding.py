"""The first hour of two people in the Manager, in headless Chromium: sign up with email
verification, create an organisation, invite a colleague who accepts, build a team, switch
organisations, and export the activity log through a real Celery worker.

Screenshots land in tests/e2e/screenshots/ (ignored by git) for a human to look at.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, TIMEOUT_MS, shot

pytestmark = pytest.mark.e2e


def confirmation_link(outbox, email):
    for message in reversed(outbox):
        if email in message.to:
            found = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
            if found:
                return found.group(0)
    raise AssertionError(f"no verification email for {email}")


def sign_up(page, base_url, outbox, email, *, screenshots=False):
    page.goto(f"{base_url}/accounts/signup/")
    if screenshots:
        page.fill("input[name=email]", email)
        page.fill("input[name=password1]", PASSWORD)
        page.fill("input[name=password2]", "something else entirely")
        page.get_by_role("button", name="Sign Up").click()
        expect(page.locator(".field.has-error .error").first).to_be_visible()
        shot(page, "01-signup-error")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    if screenshots:
        shot(page, "02-verification-sent")
    page.goto(confirmation_link(outbox, email))
    page.get_by_role("button", name="Confirm").click()
    # Signed in at once and sent to the panel's home.
    expect(page.locator("[data-testid=user-menu]")).to_be_visible()


def test_onboarding_two_people_team_switch_and_export(
    live_server, browser, mailoutbox, celery_worker
):
    base = live_server.url

    alice_context = browser.new_context(viewport={"width": 1360, "height": 900})
    alice = alice_context.new_page()
    alice.set_default_timeout(TIMEOUT_MS)
    alice.goto(f"{base}/accounts/login/")
    shot(alice, "00-login")

    # 1. Alice signs up; the verification link comes from the outbox.
    sign_up(alice, base, mailoutbox, "alice@example.test", screenshots=True)
    expect(alice.get_by_role("heading", name="Your organisations")).to_be_visible()
    shot(alice, "03-no-organisation-yet")

    # 2. She creates an organisation and lands on its dashboard with empty states.
    alice.get_by_label("Organisation name").fill("Acme Robotics")
    alice.get_by_role("button", name="Create organisation").click()
    expect(alice.get_by_role("heading", name="Acme Robotics", level=1)).to_be_visible()
    expect(alice.locator("[data-kind=domain] .empty")).to_contain_text("DNS zones")
    shot(alice, "04-dashboard")

    # She invites Bob, who has no account yet.
    nav = alice.get_by_role("navigation", name="Organisation")
    nav.get_by_role("link", name="Members").click()
    alice.get_by_label("Email address").fill("bob@example.test")
    alice.get_by_role("button", name="Send invitation").click()
    expect(alice.locator("[data-invitation='bob@example.test']")).to_be_visible()
    shot(alice, "05-members-invitation")

    # Bob signs up in his own browser, sees the invitation and accepts it.
    bob_context = browser.new_context(viewport={"width": 1360, "height": 900})
    bob = bob_context.new_page()
    bob.set_default_timeout(TIMEOUT_MS)
    sign_up(bob, base, mailoutbox, "bob@example.test")
    invitation_row = bob.locator("tr[data-invitation]").filter(has_text="Acme Robotics")
    expect(invitation_row).to_be_visible()
    shot(bob, "06-bob-pending-invitation")
    invitation_row.get_by_role("button", name="Accept").click()
    expect(bob.get_by_role("heading", name="Acme Robotics", level=1)).to_be_visible()
    expect(bob.locator("[data-kind=mail_service] .empty")).to_contain_text("shared with you")
    shot(bob, "07-bob-dashboard-as-user")

    # 3. Alice creates a team and adds Bob to it.
    nav.get_by_role("link", name="Teams").click()
    alice.get_by_label("Name").fill("Webmasters")
    alice.get_by_label("Description").fill("People who look after the website and its mail.")
    alice.get_by_role("button", name="Create team").click()
    expect(alice.get_by_role("heading", name="Webmasters", level=1)).to_be_visible()
    alice.get_by_label("Email addresses").fill("bob@example.test")
    alice.get_by_role("button", name="Add to team").click()
    expect(alice.locator("[data-team-member='bob@example.test']")).to_be_visible()
    shot(alice, "08-team-detail")

    # 4. A second organisation, then back to the first with the top-bar switcher.
    alice.locator("[data-testid=org-switcher]").click()
    alice.get_by_role("link", name="New organisation").click()
    alice.get_by_label("Organisation name").fill("Beta Studio")
    alice.get_by_role("button", name="Create organisation").click()
    expect(alice.get_by_role("heading", name="Beta Studio", level=1)).to_be_visible()
    alice.locator("[data-testid=org-switcher]").click()
    switcher = alice.locator(".org-switcher .menu-panel")
    expect(switcher).to_be_visible()
    shot(alice, "09-org-switcher-open")
    switcher.get_by_role("link", name="Acme Robotics").click()
    expect(alice.get_by_role("heading", name="Acme Robotics", level=1)).to_be_visible()
    expect(alice.locator("[data-testid=org-switcher]")).to_contain_text("Acme Robotics")

    # 5. The activity export runs as a Job on the Celery worker; the bar reaches 100 %.
    nav.get_by_role("link", name="Activity").click()
    expect(alice.locator("[data-testid=activity]")).to_contain_text("Created a team")
    shot(alice, "10-activity")
    alice.locator("[data-testid=export-csv]").click()
    bar = alice.locator(".job-card [role=progressbar]")
    expect(bar).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(alice.locator("[data-testid=job-status]")).to_have_text("Succeeded")
    download_link = alice.locator("[data-testid=job-download]")
    expect(download_link).to_be_visible()
    shot(alice, "11-export-succeeded")
    with alice.expect_download() as download_info:
        download_link.click()
    csv_text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert csv_text.startswith("date,person,action")
    assert "panel.team.created" in csv_text

    # The Jobs menu in the top bar lists the finished export.
    alice.locator("[data-testid=jobs-menu]").click()
    expect(alice.locator(".jobs-menu .menu-panel")).to_contain_text("Activity export")
    shot(alice, "12-jobs-menu")

    # The interface speaks French too.
    alice.locator(".lang-switch button[value=fr]").click()
    expect(alice.locator("html")).to_have_attribute("lang", "fr")
    expect(alice.locator(".mainnav")).to_contain_text("Tableau de bord")
    expect(alice.locator("[data-testid=job-status]")).to_have_text("Réussie")
    shot(alice, "13-french")
    alice.locator(".lang-switch button[value=en]").click()

    bob_context.close()
    alice_context.close()
