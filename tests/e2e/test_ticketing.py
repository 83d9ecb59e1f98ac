"""The ticket office in headless Chromium, as its two kinds of users meet it.

An organiser sets an office up at desktop width: a form with questions of the seven
types whose typed positions show the order rule (1, 2, then none, then 0), an event with
two dates (a calendar), zones and tariffs, one asking the form through its advanced
settings. A buyer without an account, on a phone and in French, buys two tickets with
one form each, pays with the test card and sees both attendees on the order page; the
date's live view counts them, the order list shows the order, and the PDF ticket's QR
code, read off a rendered page, is the secret of a ticket of the order.

The buyer's steps find their inputs by name and id, not by text, so that they keep
working once the French strings are filled in. Screenshots go to tests/e2e/screenshots/."""

import datetime
import subprocess

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from tests import factories as f
from ticketing.models import FormField, Order, Tariff, Ticket, TicketOffice, Zone
from ticketing.secrets import secret_hash

from .conftest import SCREENSHOTS, TIMEOUT_MS, shot

pytestmark = pytest.mark.e2e

TERMS = ["I have read the terms", "I accept the cancellation policy"]
ATTENDEES = ["Zoé Rochat", "Ulysse Bühler"]


@pytest.fixture
def organiser(transactional_db):
    legal = f.UserFactory(email="olivia@example.test")
    org = f.OrganisationFactory(name="Théâtre Associatif", legal_representative=legal)
    return {"org": org, "legal": legal}


def top_shot(page, name):
    """`shot` from the top of the page, so that the sticky header stays at the top."""
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, name)


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", f.PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def add_question(page, label, type_label, *, position=None, options=(), url="",
                 required=False, show_on_ticket=False):  # fmt: skip
    fold = page.locator("#add-field")
    if fold.get_attribute("open") is None:
        fold.locator("summary").click()
    fold.get_by_label("Question", exact=True).fill(label)
    fold.get_by_label("Type", exact=True).select_option(label=type_label)
    if position is not None:
        fold.get_by_label("Position").fill(str(position))
    if options:
        fold.get_by_label("Options, one per line").fill("\n".join(options))
    if url:
        fold.get_by_label("Link").fill(url)
    if required:
        fold.get_by_label("Required", exact=True).check()
    if show_on_ticket:
        fold.get_by_label("Show on the ticket").check()
    fold.get_by_role("button", name="Add the question").click()
    expect(page.locator(".message-success")).to_contain_text("Question added")
    expect(page.get_by_test_id("field-label").filter(has_text=label)).to_have_count(1)


def add_date(page, starts_at: datetime.datetime):
    fold = page.locator("#add-date")
    if fold.get_attribute("open") is None:
        fold.locator("summary").click()
    fold.get_by_label("Starts at").fill(starts_at.strftime("%Y-%m-%dT%H:%M"))
    fold.get_by_role("button", name="Add the date").click()
    expect(page.locator(".message-success")).to_contain_text("Date added")


def add_zone(page, name, capacity):
    form = page.locator("form.tk-zone-form")
    form.get_by_label("Zone name").fill(name)
    form.get_by_label("Capacity").fill(str(capacity))
    form.get_by_role("button", name="Add the zone").click()
    expect(page.locator("details.tk-zone", has_text=name)).to_be_visible()


def add_tariff(page, zone_name, name, price, *, form_name=None):
    page.locator("details.tk-zone", has_text=zone_name).get_by_role(
        "link", name="Add a tariff"
    ).click()
    page.get_by_label("Tariff name").fill(name)
    page.get_by_label("Price", exact=True).fill(price)
    if form_name:
        advanced = page.get_by_test_id("advanced")
        expect(advanced.get_by_label("Link a form to this tariff")).to_be_hidden()
        advanced.locator("summary").click()  # the chevron opens the advanced settings
        advanced.get_by_label("Link a form to this tariff").check()
        advanced.get_by_label("Form", exact=True).select_option(label=form_name)
    page.get_by_role("button", name="Add the tariff").click()
    expect(page.locator(".message-success")).to_contain_text("Tariff added")


def fill_ticket(page, index, fields, *, attendee, ticks):
    """The answers of ticket `index` (0-based) of the basket, by the inputs' names."""

    def name(label):
        return f"t{index}-{fields[label].pk}"

    page.locator(f"[name='{name('Name of the attendee')}']").fill(attendee)
    page.locator(f"[name='{name('Meal')}']").select_option("Vegetarian")
    page.locator(f"[name='{name('Seat side')}'][value='Left']").check()
    for option in TERMS:
        box = page.locator(f"[name='{name('I accept the terms')}'][value='{option}']")
        box.check() if option in ticks else box.uncheck()
    page.locator(f"[name='{name('Email of the attendee')}']").fill("attendee@example.test")
    page.locator(f"[name='{name('Phone')}']").fill("+41 21 903 07 50")
    page.locator(f"[name='{name('Date of birth')}']").fill("1990-05-17")


def test_an_office_set_up_then_two_tickets_bought_on_a_phone(
    live_server, organiser, browser, celery_worker, tmp_path
):
    base, org = live_server.url, organiser["org"]
    manager = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = manager.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, base, "olivia@example.test")
    expect(page.get_by_role("heading", name="Théâtre Associatif", level=1)).to_be_visible()

    # 1. The office, from the list's creation form.
    page.goto(f"{base}/o/{org.pk}/ticketing/#add")
    add = page.locator("#add")
    add.get_by_label("Name", exact=True).fill("Théâtre du Jorat")
    expect(add.get_by_label("Shop address")).to_have_value("theatre-du-jorat")
    add.get_by_label("Shop address").fill("jorat")
    add.get_by_role("button", name="Create the office").click()
    expect(page.get_by_role("heading", name="Théâtre du Jorat", level=1)).to_be_visible()
    expect(page.get_by_test_id("shop-link")).to_contain_text("/shop/jorat/")
    office = TicketOffice.objects.get(slug="jorat")

    # 2. A form with the seven types, positions typed out of order.
    page.locator("nav.tk-tabs").get_by_role("link", name="Forms").click()
    page.get_by_label("Form name").fill("Attendee")
    page.get_by_role("button", name="Add the form").click()
    expect(page.get_by_role("heading", name="Attendee", level=1)).to_be_visible()
    add_question(page, "I accept the terms", "Checkboxes", position=0, options=TERMS,
                 url="https://jorat.example/terms", required=True)  # fmt: skip
    add_question(page, "Email of the attendee", "Email")
    add_question(page, "Meal", "Selection", position=2, options=["Vegetarian", "Meat"])
    add_question(page, "Name of the attendee", "Text", position=1, required=True,
                 show_on_ticket=True)  # fmt: skip
    add_question(page, "Seat side", "Radio buttons", options=["Left", "Right"])
    add_question(page, "Phone", "Phone")
    add_question(page, "Date of birth", "Date")
    labels = page.get_by_test_id("field-label")
    expect(labels).to_have_text(
        ["Name of the attendee", "Meal", "Email of the attendee", "Seat side", "Phone",
         "Date of birth", "I accept the terms"]
    )  # fmt: skip
    expect(page.locator("tr.is-last")).to_contain_text("required: every box must be ticked")
    expect(page.locator("tr.is-numbered").filter(has_text="Name of the attendee")).to_contain_text(
        "on the ticket"
    )
    # A position typed in the list moves its question at once.
    page.get_by_label("Position of “Phone”").fill("3")
    page.get_by_role("button", name="Save the positions").click()
    expect(page.locator(".message-success")).to_contain_text("Positions saved")
    expect(labels).to_have_text(
        ["Name of the attendee", "Meal", "Phone", "Email of the attendee", "Seat side",
         "Date of birth", "I accept the terms"]
    )  # fmt: skip
    expect(page.get_by_test_id("rank")).to_have_text([str(n) for n in range(1, 8)])
    expect(page.locator("tr.tk-group-row")).to_have_text(
        ["Numbered positions", "Without a position", "Position 0: at the end"]
    )
    top_shot(page, "ticketing-01-form-editor")
    fields = {field.label: field for field in FormField.objects.filter(form__office=office)}

    # 3. An event with two dates, zones on the first and two tariffs.
    page.locator(".eyebrow").get_by_role("link", name="Théâtre du Jorat").click()
    page.locator(".page-actions").get_by_role("link", name="Create an event").click()
    page.get_by_label("Title").fill("Le Jeu du Feuillu")
    page.get_by_label("Venue").fill("Théâtre du Jorat, Mézières")
    page.get_by_label("Description").fill("A play of spring, for all ages.")
    page.get_by_role("button", name="Create the event").click()
    expect(page.get_by_role("heading", name="Le Jeu du Feuillu", level=1)).to_be_visible()
    event_url = page.url.split("#")[0]
    month = (timezone.localdate().replace(day=1) + datetime.timedelta(days=40)).replace(day=1)
    first = datetime.datetime.combine(month.replace(day=10), datetime.time(20, 0))
    add_date(page, first)
    add_zone(page, "Stalls", 100)
    add_zone(page, "Balcony", 20)
    add_tariff(page, "Stalls", "Full price", "25.00", form_name="Attendee")
    expect(page.get_by_test_id("linked-form")).to_have_text("form: Attendee")
    add_tariff(page, "Balcony", "Guest", "0")
    expect(page.locator("details.tk-zone", has_text="Balcony")).to_contain_text("Free")
    date_url = page.url.split("#")[0]
    page.goto(event_url)
    add_date(page, first + datetime.timedelta(days=1))
    page.goto(event_url)
    calendar = page.get_by_test_id("calendar")
    expect(calendar.locator("a.tk-cal-date")).to_have_count(2)
    expect(calendar.locator("a.tk-cal-date").first).to_contain_text("0/120")
    page.get_by_role("button", name="Put on sale").click()
    expect(page.locator(".message-success")).to_contain_text("The event is on sale.")
    top_shot(page, "ticketing-02-event-page")

    # The organiser keeps the first date's live view open while the buyer buys.
    page.goto(date_url)
    stalls = Zone.objects.get(name="Stalls", date__event__office=office)
    full_price = Tariff.objects.get(name="Full price", zone=stalls)
    live_stalls = page.locator(f"[data-live-zone='{stalls.pk}']")
    expect(live_stalls.locator(".tk-live-zone-head [data-n=sold]")).to_have_text("0")

    # 4. A buyer on a phone, in French, with no account.
    shop = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="fr-CH", is_mobile=True, has_touch=True
    )
    buyer = shop.new_page()
    buyer.set_default_timeout(TIMEOUT_MS)
    buyer.goto(f"{base}/shop/jorat/")
    expect(buyer.locator("html")).to_have_attribute("lang", "fr")
    buyer.locator("a.shop-event-link", has_text="Le Jeu du Feuillu").click()
    expect(buyer.locator("section.shop-date")).to_have_count(2)
    top_shot(buyer, "ticketing-03-shop-event-390")
    buyer.locator(f"#qty-{full_price.pk}").select_option("2")
    buyer.locator("form.shop-choose button[type=submit]").click()
    expect(buyer.locator("[data-countdown]")).to_be_visible()
    expect(buyer.locator("section.shop-ticket")).to_have_count(2)
    fill_ticket(buyer, 0, fields, attendee=ATTENDEES[0], ticks=TERMS)
    fill_ticket(buyer, 1, fields, attendee=ATTENDEES[1], ticks=TERMS[:1])
    buyer.locator("input[name=name]").fill("Grace Hopper")
    buyer.locator("input[name=email]").fill("grace@example.test")
    buyer.locator("#pay-card").check()
    top_shot(buyer, "ticketing-04-basket-390")
    buyer.locator("form.shop-checkout button[type=submit]").click()
    # One box of the terms left unticked: refused on that ticket, nothing ordered.
    expect(buyer.locator("#ticket-2 .error")).to_have_count(1)
    expect(buyer.locator("#ticket-1 .error")).to_have_count(0)
    assert not Order.objects.exists()
    top_shot(buyer, "ticketing-05-basket-refused-390")
    box = f"[name='t1-{fields['I accept the terms'].pk}'][value='{TERMS[1]}']"
    buyer.locator(box).check()
    buyer.locator("form.shop-checkout button[type=submit]").click()

    # 5. The test card page, then the order with both attendees.
    number = buyer.locator("input[name=number]")
    expect(number).to_be_visible()
    top_shot(buyer, "ticketing-06-pay-390")
    number.fill("4242 4242 4242 4242")
    buyer.locator(".shop-pay form button[type=submit]").click()
    expect(buyer.locator(".shop-status-paid")).to_be_visible()
    tickets = buyer.locator(".shop-order-tickets > li.shop-ticket")
    expect(tickets).to_have_count(2)
    expect(buyer.locator(".shop-ticket-holder")).to_have_text(ATTENDEES)
    top_shot(buyer, "ticketing-07-order-390")
    order = Order.objects.get(office=office)
    assert order.buyer_email == "grace@example.test"
    assert buyer.locator("h1").inner_text() == order.code

    # 6. The Manager: the live view counts them, the list shows the order.
    expect(live_stalls.locator(".tk-live-zone-head [data-n=sold]")).to_have_text("2")
    page.reload()
    expect(live_stalls.locator(".tk-live-zone-head [data-n=sold]")).to_have_text("2")
    expect(live_stalls.locator(f"[data-live-tariff='{full_price.pk}'] [data-n=sold]")).to_have_text(
        "2"
    )
    top_shot(page, "ticketing-08-date-live")
    page.goto(f"{base}/o/{org.pk}/ticketing/offices/{office.pk}/orders/")
    orders = page.get_by_test_id("orders")
    expect(orders.get_by_test_id("order-code")).to_have_text([order.code])
    expect(orders).to_contain_text("Grace Hopper")
    top_shot(page, "ticketing-09-order-list")

    # 7. The first ticket's PDF: rendered for a human, its QR code read back.
    with buyer.expect_download() as download_info:
        tickets.first.locator("a[href*='/tickets/']").click()
    pdf_path = tmp_path / "ticket.pdf"
    download_info.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    SCREENSHOTS.mkdir(exist_ok=True)
    png = SCREENSHOTS / "ticketing-10-ticket-pdf"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(pdf_path),
         str(png)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with Image.open(f"{png}.png") as image:
        found = zxingcpp.read_barcodes(image)
    codes = [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(codes) == 1
    ticket = Ticket.objects.get(secret_hash=secret_hash(codes[0]))
    assert ticket.order_id == order.pk
    assert ticket.holder_name == ATTENDEES[0]
    assert order.tickets.count() == 2
