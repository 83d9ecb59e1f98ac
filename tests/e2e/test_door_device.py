"""A door device link in two browsers: the organiser creates the link on the event's
check-in lists, a phone without an account (a second browser context, 390 px wide) opens
it and scans a ticket green; the organiser revokes the device, and the phone's next scan
says plainly that the device was revoked. Screenshots go to tests/e2e/screenshots/."""

import pytest
from playwright.sync_api import expect

from ticketing import secrets
from ticketing.models import Scan, ScannerDevice

from .conftest import TIMEOUT_MS, shot
from .test_scanner import PHONE, door_world, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def door(transactional_db):
    world = door_world(slug="jorat-device", list_names=["Main door", "Side door"])
    return {**world, "main": world["lists"][0]}


def test_a_device_link_scans_until_it_is_revoked(live_server, door, browser):
    base, org = live_server.url, door["org"]
    organiser = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    organiser.set_default_timeout(TIMEOUT_MS)
    manager = organiser.new_page()
    sign_in(manager, base, door["legal"].email)
    lists_url = f"{base}/o/{org.pk}/ticketing/events/{door['event'].pk}/checkin-lists/"
    manager.goto(lists_url)
    form = manager.get_by_test_id("device-form")
    form.get_by_label("Device name").fill("Gate B phone")
    form.get_by_label("Main door").check()
    form.get_by_role("button", name="Create a device link").click()
    link = manager.get_by_test_id("device-link")
    expect(link).to_contain_text(f"{base}/door/")
    expect(manager.get_by_test_id("device-qr").locator("svg")).to_be_visible()
    expect(manager.get_by_test_id("door-devices")).to_contain_text("Gate B phone")
    shot(manager, "door-device-created")
    url = link.inner_text().strip()

    # The phone: no account, nothing but the link.
    phone_context = browser.new_context(
        viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True
    )
    phone_context.set_default_timeout(TIMEOUT_MS)
    phone = phone_context.new_page()
    problems = []
    phone.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    phone.goto(url)
    expect(phone.locator("h1")).to_have_text("Main door")
    assert "/door/lists/" in phone.url and url.rsplit("/door/", 1)[1].strip("/") not in phone.url
    expect(phone.get_by_test_id("door-device-name")).to_have_text("Gate B phone")
    phone.wait_for_function("() => window.panelScanner")
    expect(phone.get_by_test_id("offline-status")).to_contain_text("Offline ready")
    secret = secrets.ticket_secret(door["zoe"].nonce)
    phone.evaluate("(code) => window.panelScanner.submit(code)", secret)
    result = phone.get_by_test_id("scan-result")
    expect(result).to_have_attribute("data-result", "valid")
    expect(phone.get_by_test_id("ticket-name")).to_have_text("Zoé Rochat")
    shot(phone, "door-device-valid")
    assert result.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(19, 122, 82)"

    # The organiser revokes it, after confirming.
    manager.goto(lists_url)
    manager.get_by_test_id("revoke-device").click()
    expect(manager.get_by_test_id("revoke-confirm")).to_contain_text("Revoke Gate B phone?")
    shot(manager, "door-device-revoke-confirm")
    manager.get_by_role("button", name="Revoke this device").click()
    expect(manager.get_by_test_id("device-revoked")).to_be_visible()
    assert ScannerDevice.objects.get().revoked_at is not None

    # The phone's scanner is still open: its next scan is refused, plainly.
    phone.evaluate(
        "(code) => window.panelScanner.submit(code)", secrets.ticket_secret(door["ulysse"].nonce)
    )
    expect(result).to_have_attribute("data-code", "device_revoked")
    expect(result).to_contain_text("This device was revoked")
    expect(phone.get_by_test_id("offline-status")).to_contain_text("This device was revoked")
    assert (
        phone.evaluate(
            "(id) => window.localStorage.getItem('panel.scanner.' + id + '.data')", door["main"].pk
        )
        is None
    )
    shot(phone, "door-device-revoked")
    phone.reload()
    expect(phone.locator("h1")).to_have_text("This device was revoked")
    shot(phone, "door-device-revoked-page")

    assert problems == []
    assert [(s.result, s.device) for s in Scan.objects.all()] == [("valid", "Gate B phone")]
    phone_context.close()
    organiser.close()
