"""The door scanner offline, in headless Chromium at phone size: two phones download
the list's data, the network drops (Playwright's `set_offline`), and each checks the same
ticket from the camera-less input (`window.panelScanner.submit`, what the camera calls).
The first phone lets it in (green, "Offline") and refuses it the second time (red,
already used); the second phone, which cannot know, lets it in too. Back online both
upload: one entry stays, the other is reported as a conflict on the phone, in the
database and on the check-in lists page. Screenshots go to tests/e2e/screenshots/."""

# The `door` fixture of test_scanner.py, imported, is the test's argument.
# ruff: noqa: F811

import re

import pytest
from playwright.sync_api import expect

from ticketing import secrets
from ticketing.models import Scan

from .conftest import TIMEOUT_MS, shot
from .test_scanner import PHONE, door, sign_in  # noqa: F401

pytestmark = pytest.mark.e2e


def _phone(browser, base, door, problems):
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    sign_in(page, base, door["legal"].email)
    page.goto(f"{base}/o/{door['org'].pk}/ticketing/checkin-lists/{door['list'].pk}/scan/")
    expect(page.get_by_test_id("offline-status")).to_contain_text("Offline ready: 2 tickets")
    page.wait_for_function("() => window.panelScanner.offlineReady()")
    return context, page


def _scan(page, code):
    return page.evaluate("(code) => window.panelScanner.submit(code)", code)


def test_two_offline_phones_admit_one_ticket_and_the_conflict_is_reported(
    live_server, door, browser
):
    base, problems = live_server.url, []
    code = secrets.ticket_secret(door["zoe"].nonce)
    first, page_a = _phone(browser, base, door, problems)
    second, page_b = _phone(browser, base, door, problems)
    page_a.get_by_label("Gate").fill("Gate A")
    page_a.get_by_label("Gate").dispatch_event("change")
    shot(page_a, "scanner-offline-ready")

    first.set_offline(True)
    result = page_a.get_by_test_id("scan-result")
    assert _scan(page_a, code)["result"] == "valid"
    expect(result).to_have_attribute("data-result", "valid")
    expect(page_a.get_by_test_id("offline-badge")).to_be_visible()
    expect(page_a.get_by_test_id("ticket-name")).to_have_text("Zoé Rochat")
    expect(page_a.get_by_test_id("sync-status")).to_have_text("1 scan waiting for upload.")
    shot(page_a, "scanner-offline-valid")

    # The same phone, the same code again: it remembers what it let in.
    assert _scan(page_a, code.lower())["result"] == "already_used"
    expect(result).to_have_attribute("data-result", "refused")
    expect(result).to_contain_text("Already used")
    expect(result).to_contain_text(re.compile(r"Came in at [0-2]\d:[0-5]\d at Gate A\."))
    expect(page_a.get_by_test_id("offline-badge")).to_be_visible()
    shot(page_a, "scanner-offline-already-used")

    # A code of no ticket in the data: red, and it says why offline cannot know.
    assert _scan(page_a, "NOT-A-TICKET")["result"] == "unknown"
    expect(result).to_contain_text("Not in this list's data")

    # Another phone, offline too, cannot know: it lets the same ticket in.
    second.set_offline(True)
    assert _scan(page_b, code)["result"] == "valid"
    expect(page_b.get_by_test_id("scan-result")).to_have_attribute("data-result", "valid")
    expect(page_b.get_by_test_id("offline-badge")).to_be_visible()
    assert Scan.objects.count() == 0

    # Back online: the first phone uploads first, so its entry stays the entry.
    first.set_offline(False)
    expect(page_a.get_by_test_id("sync-status")).to_have_text("All scans uploaded.")
    assert Scan.objects.count() == 3
    second.set_offline(False)
    status_b = page_b.get_by_test_id("sync-status")
    expect(status_b).to_contain_text("1 conflict: a ticket let in offline here")
    expect(status_b).to_have_attribute("data-conflicts", "1")
    shot(page_b, "scanner-offline-conflict")

    zoe = Scan.objects.filter(ticket=door["zoe"])
    assert zoe.filter(result="valid").count() == 1
    [conflict] = zoe.filter(conflict=True)
    assert conflict.result == "already_used" and conflict.offline
    assert conflict.first_entry.gate == "Gate A"
    assert zoe.get(result="valid").gate == "Gate A"
    assert Scan.objects.filter(offline=True).count() == 4
    door["zoe"].refresh_from_db()
    assert door["zoe"].checked_in_at == zoe.get(result="valid").scanned_at

    # A reload uploads nothing twice and still shows the conflict.
    page_b.reload()
    expect(page_b.get_by_test_id("sync-status")).to_have_attribute("data-conflicts", "1")
    assert Scan.objects.count() == 4

    page_a.goto(f"{base}/o/{door['org'].pk}/ticketing/events/{door['event'].pk}/checkin-lists/")
    expect(page_a.get_by_test_id("conflict-count")).to_have_text("1 offline conflict")
    shot(page_a, "checkin-lists-conflict")
    assert problems == []
    first.close()
    second.close()
