"""The door scanner on a phone-sized page in headless Chromium, which has no camera.

The organiser reaches the scanner from the event's check-in lists. The page loads without
a script error, says that there is no camera, and takes codes all the same: the QR code
of a ticket drawn as an image is decoded by qr-scanner (served by the panel itself, with
its worker) and handed to `window.panelScanner.submit`, as the camera does with what it
reads. The ticket comes in (green, with the name on it), the same code again is red
"already used" with the gate and time, a code of no ticket is red "unknown", and a
ticket found by name is checked in by its button. Screenshots go to tests/e2e/screenshots/."""

import datetime

import pytest
import segno
from django.utils import timezone
from playwright.sync_api import expect

from panel.access import access_for
from tests import factories as f
from ticketing import secrets, services
from ticketing.models import Scan

from .conftest import TIMEOUT_MS, shot

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def door_world(*, slug: str, list_names: list[str]) -> dict:
    """An event on sale in two hours with its check-in lists and two free tickets sold
    (Zoé's and Ulysse's), for the scanner's browser tests."""
    legal = f.UserFactory(email="olivia@example.test")
    org = f.OrganisationFactory(name="Théâtre Associatif", legal_representative=legal)
    access = access_for(legal, org)
    office = services.office_create(access=access, name="Théâtre du Jorat", slug=slug)
    event = services.event_create(access=access, office=office, title="Le Misanthrope")
    date = services.date_create(
        access=access, event=event, starts_at=timezone.now() + datetime.timedelta(hours=2)
    )
    zone = services.zone_create(access=access, date=date, name="Stalls", capacity=50)
    tariff = services.tariff_create(
        access=access, zone=zone, name="Invitation", price="0", max_per_order=4
    )
    services.event_update(access=access, event=event, status="on_sale")
    lists = [
        services.checkin_list_create(access=access, event=event, name=name) for name in list_names
    ]

    def ticket_of(name):
        basket, _key = services.basket_create(
            office=office, items=[{"tariff": tariff.pk, "quantity": 1}]
        )
        order = services.checkout(
            basket=basket, name=name, email="guest@example.test", payment="free"
        )
        return order.tickets.get()

    return {
        "legal": legal, "org": org, "event": event, "lists": lists,
        "zoe": ticket_of("Zoé Rochat"), "ulysse": ticket_of("Ulysse Bühler"),
    }  # fmt: skip


@pytest.fixture
def door(transactional_db):
    world = door_world(slug="jorat-door", list_names=["Main door"])
    return {**world, "list": world["lists"][0]}


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", f.PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).not_to_have_url(f"{base}/accounts/login/")


def test_the_scanner_on_a_phone_without_camera(live_server, door, browser):
    base, org = live_server.url, door["org"]
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems, library = [], []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            library.append((response.url, response.status))
            if "/static/vendor/qr-scanner/" in response.url
            else None
        ),
    )
    sign_in(page, base, door["legal"].email)

    page.goto(f"{base}/o/{org.pk}/ticketing/events/{door['event'].pk}/checkin-lists/")
    expect(page.get_by_test_id("checkin-lists")).to_contain_text("Main door")
    shot(page, "checkin-lists")
    page.get_by_test_id("scan-link").click()
    expect(page.locator("h1")).to_have_text("Main door")
    notice = page.get_by_test_id("camera-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("No camera")
    expect(page.get_by_label("Ticket code")).to_be_visible()
    page.wait_for_function("() => window.panelScanner && window.QrScanner")
    shot(page, "scanner-ready")

    page.get_by_label("Gate").fill("Gate B")
    page.get_by_label("Gate").dispatch_event("change")

    # The ticket's QR code as the camera would see it, decoded by qr-scanner's worker.
    secret = secrets.ticket_secret(door["zoe"].nonce)
    image = segno.make(secret, error="m").png_data_uri(scale=8, border=4)
    decoded = page.evaluate(
        """async (src) => {
            const image = new Image();
            image.src = src;
            await image.decode();
            const result = await QrScanner.scanImage(image, {returnDetailedScanResult: true});
            await window.panelScanner.submit(result.data);
            return result.data;
        }""",
        image,
    )
    assert decoded == secret
    result = page.get_by_test_id("scan-result")
    expect(result).to_have_attribute("data-result", "valid")
    expect(result).to_contain_text("Valid")
    expect(page.get_by_test_id("ticket-name")).to_have_text("Zoé Rochat")
    expect(result).to_contain_text("Stalls · Invitation")
    shot(page, "scanner-valid")
    assert result.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(19, 122, 82)"

    page.evaluate("(code) => window.panelScanner.submit(code)", secret)
    expect(result).to_have_attribute("data-code", "already_used")
    expect(result).to_contain_text("Already used")
    expect(result).to_contain_text("at Gate B")
    shot(page, "scanner-already-used")
    assert result.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(200, 50, 31)"

    page.get_by_label("Ticket code").fill("NOT A TICKET OF OURS")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(result).to_have_attribute("data-code", "unknown")
    expect(result).to_contain_text("Unknown ticket")
    expect(page.get_by_test_id("ticket-name")).to_be_hidden()
    shot(page, "scanner-unknown")

    # Without a phone: found by name, checked in by the button.
    page.get_by_label("No phone? Find the ticket").fill("ulysse")
    page.get_by_role("button", name="Search").click()
    found = page.get_by_test_id("search-results").locator("li")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Ulysse Bühler")
    shot(page, "scanner-search")
    found.get_by_role("button", name="Check in").click()
    expect(result).to_have_attribute("data-code", "valid")
    expect(page.get_by_test_id("ticket-name")).to_have_text("Ulysse Bühler")

    # The gate is remembered on this phone.
    page.reload()
    expect(page.get_by_label("Gate")).to_have_value("Gate B")

    assert problems == []
    served = {url.rsplit("/", 1)[-1]: status for url, status in library}
    assert served.get("qr-scanner.umd.min.js") == 200
    assert served.get("qr-scanner-worker.min.js") == 200
    assert all(url.startswith(base) for url, _status in library)
    scans = Scan.objects.filter(checkin_list=door["list"]).order_by("id")
    assert [(s.result, s.gate) for s in scans] == [
        ("valid", "Gate B"), ("already_used", "Gate B"), ("unknown", "Gate B"),
        ("valid", "Gate B"),
    ]  # fmt: skip
    assert len({s.scan_id for s in scans}) == 4
    context.close()
