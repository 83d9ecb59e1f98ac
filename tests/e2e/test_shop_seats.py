"""Numbered seats in headless Chromium: the organiser writes a zone's plan as text in the
Manager and sees its preview; a buyer on a phone picks two seats on the shop's plan and
finds them named in the basket; a second buyer who had picked one of them meanwhile is
told which seat was taken, and sees it taken on the plan.

A plan wider than a phone scrolls sideways inside its frame, never the page; each seat is
big enough to tap; the legend names the states, and taken or off-sale seats differ by
more than their colour. Screenshots at 390x844 and 1366x900, in English and French, go
to /tmp/shots_seats/."""

import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image
from playwright.sync_api import expect

from panel.access import access_for
from tests import factories as f
from ticketing import services
from ticketing.models import Seat, Ticket
from ticketing.services.seats import seat_label

from .conftest import TIMEOUT_MS

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots_seats")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
LOCALES = {"en": "en-GB", "fr": "fr-CH"}
# 25 places wide: wider than a phone, as a theatre's stalls are.
PLAN = "A: 1-12, _, 13-24\nB: 1-12, _, 13-22, [23-24]\n\nC: _2, 20-1"
SEAT_SIZE = 32  # px: a fingertip

# Whether the page scrolls sideways, and each plan's frame: its width and what it holds.
WIDTHS = """() => ({
  page: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
  window: window.innerWidth,
  frames: [...document.querySelectorAll(".seat-plan-scroll")].map(
    (frame) => ({client: frame.clientWidth, scroll: frame.scrollWidth})),
})"""


def poster() -> SimpleUploadedFile:
    """The event's image: 16:9, as organisers upload them."""
    out = io.BytesIO()
    Image.new("RGB", (1600, 900), (122, 40, 80)).save(out, "PNG")
    return SimpleUploadedFile("poster.png", out.getvalue(), content_type="image/png")


@pytest.fixture
def theatre(transactional_db, settings, tmp_path):
    """An office on sale with one date in a month and a zone "Stalls" sold through one
    tariff (CHF 45), not numbered yet; the event has an image and a description."""
    settings.MEDIA_ROOT = tmp_path
    legal = f.UserFactory(email="olivia@example.test")
    org = f.OrganisationFactory(name="Théâtre Associatif", legal_representative=legal)
    access = access_for(legal, org)
    office = services.office_create(access=access, name="Théâtre du Jorat", slug="jorat",
                                    currency="CHF")  # fmt: skip
    event = services.event_create(access=access, office=office, title="Le Misanthrope",
                                  venue="Mézières")  # fmt: skip
    date = services.date_create(
        access=access, event=event, starts_at=timezone.now() + datetime.timedelta(days=30)
    )
    stalls = services.zone_create(access=access, date=date, name="Stalls", capacity=100)
    services.tariff_create(access=access, zone=stalls, name="Full price", price=Decimal("45"))
    services.event_update(
        access=access, event=event, status="on_sale", image=poster(),
        description="Alceste hates the world's flattery, and loves Célimène.",
    )  # fmt: skip
    return {"org": org, "access": access, "office": office, "zone": stalls, "event": event}


def sell(theatre, monkeypatch, row, number):
    """Seat `row`-`number` bought at the box office and paid (its emails sent at once)."""
    from panel.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    zone = theatre["zone"]
    tariff = zone.tariffs.get()
    sold = zone.seats.get(row=row, number=number)
    basket, _key = services.basket_create(
        office=theatre["office"], items=[{"tariff": tariff.pk, "quantity": 1, "seats": [sold.pk]}]
    )
    order = services.checkout(basket=basket, name="Alceste", email="alceste@example.test",
                              payment="later")  # fmt: skip
    services.order_mark_paid(access=theatre["access"], order=order)


def snap(page, name):
    """A full-page screenshot from the top, named by step, language and width."""
    SHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    width = page.viewport_size["width"]
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def context(browser, lang, viewport):
    phone = viewport["width"] < 700
    ctx = browser.new_context(viewport=viewport, locale=LOCALES[lang], is_mobile=phone,
                              has_touch=phone)  # fmt: skip
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", f.PASSWORD)
    page.locator("form button.btn-primary[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def seat(page, row, number):
    """The seat's box on the plan, by its row and number."""
    return page.locator(f".seat-grid .seat[data-seat='{row}-{number}']")


def label(lang, row, number):
    """A seat's name as the page in `lang` prints it ("Row A, seat 5")."""
    with translation.override(lang):
        return seat_label(row, number)


def assert_plan_fits(page):
    """The page does not scroll sideways; a plan wider than the window scrolls in its
    frame; every seat can be tapped."""
    widths = page.evaluate(WIDTHS)
    assert widths["page"] <= widths["window"], widths
    assert widths["frames"], "no plan on the page"
    for frame in widths["frames"]:
        assert frame["client"] <= widths["window"], widths
    sizes = page.evaluate(
        "() => [...document.querySelectorAll('.seat-grid .seat')].map((s) => {"
        " const r = s.getBoundingClientRect(); return Math.min(r.width, r.height); })"
    )
    assert min(sizes) >= SEAT_SIZE, min(sizes)
    return widths


def test_a_plan_written_in_the_manager_sells_each_seat_once(live_server, theatre, browser,
                                                            monkeypatch):  # fmt: skip
    base, org, zone = live_server.url, theatre["org"], theatre["zone"]
    shop_url = f"{base}/shop/jorat/events/{theatre['event'].pk}/"
    zone_url = f"{base}/o/{org.pk}/ticketing/zones/{zone.pk}/edit/"

    # 1. The organiser writes the plan; a mistake is named by its line first.
    manager = context(browser, "en", DESKTOP)
    sign_in(manager, base, "olivia@example.test")
    manager.goto(zone_url)
    plan_form = manager.locator("#seats form")
    plan_form.get_by_label("Numbered seats").check()
    plan_form.locator("textarea[name=layout]").fill("A: 1-10\nB 1-10")
    plan_form.get_by_role("button", name="Save the plan").click()
    expect(manager.locator("#seats")).to_contain_text(
        "Line 2: write the row's name, a colon, then its seats"
    )
    assert not Seat.objects.exists()
    snap(manager, "seats-01-plan-mistake-en")
    plan_form.locator("textarea[name=layout]").fill(PLAN)
    plan_form.get_by_role("button", name="Save the plan").click()
    expect(manager.locator(".message-success")).to_contain_text("Seating plan saved.")
    counts = manager.locator(".tk-plan-counts")
    expect(counts.locator("dd")).to_have_text(["66", "0", "0", "2"])
    preview = manager.locator("#seats .seat-plan")
    expect(preview.locator(".seat-grid .seat")).to_have_count(68)
    expect(preview.locator(".seat-grid .seat.is-off_sale")).to_have_count(2)
    expect(preview.locator(".seat-row-name")).to_have_text(["A", "A", "B", "B", "C", "C"])
    # Seat C20 starts two places in, numbered from the right: under seat A3.
    a3, c20 = seat(preview, "A", 3).bounding_box(), seat(preview, "C", 20).bounding_box()
    assert abs(a3["x"] - c20["x"]) < 1 and c20["y"] > a3["y"]
    expect(manager.get_by_label("Capacity")).to_have_value("66")
    assert_plan_fits(manager)
    snap(manager, "seats-02-plan-preview-en")
    for lang, viewport in (("fr", DESKTOP), ("en", PHONE), ("fr", PHONE)):
        page = context(browser, lang, viewport)
        sign_in(page, base, "olivia@example.test")
        page.goto(zone_url)
        expect(page.locator("#seats .seat-grid .seat")).to_have_count(68)
        assert_plan_fits(page)
        snap(page, f"seats-02-plan-preview-{lang}")
        page.context.close()

    # 2. Two buyers open the event; the second, in French, has picked seat A5 already.
    buyer = context(browser, "en", PHONE)
    buyer.goto(shop_url)
    rival = context(browser, "fr", DESKTOP)
    rival.goto(shop_url)
    expect(buyer.locator(".seat-legend li")).to_have_text(
        ["Free", "Your pick", "Taken", "Not on sale"]
    )
    widths = assert_plan_fits(buyer)
    [frame] = widths["frames"]
    assert frame["scroll"] > frame["client"], "the wide plan scrolls inside its frame"
    expect(seat(buyer, "B", 23).locator("input")).to_be_disabled()
    seat(rival, "A", 5).click()
    expect(seat(rival, "A", 5).locator("input")).to_be_checked()
    count = rival.locator("[data-seat-count]")
    expect(count).to_have_text(count.get_attribute("data-one"))

    # 3. The buyer picks A5 and A6 (scrolled to inside the plan) and holds them.
    seat(buyer, "A", 5).click()
    seat(buyer, "A", 6).click()
    expect(buyer.locator("[data-seat-count]")).to_have_text("2 seats picked.")
    expect(buyer.locator("[data-summary]")).to_contain_text("2 tickets")
    expect(buyer.locator("[data-summary]")).to_contain_text("90.00")
    assert buyer.evaluate(WIDTHS)["page"] <= PHONE["width"]
    snap(buyer, "seats-03-shop-picked-en")
    buyer.locator("form.shop-choose button[type=submit]").click()
    expect(buyer.locator("[data-countdown]")).to_be_visible()
    expect(buyer.locator(".shop-ticket-seats")).to_have_text(["Row A, seat 5 · Row A, seat 6"])
    assert buyer.evaluate(WIDTHS)["page"] <= PHONE["width"]
    snap(buyer, "seats-04-basket-en")
    assert sorted(Ticket.objects.values_list("seat__number", flat=True)) == ["5", "6"]

    # 4. The rival sends their pick: refused, naming the seat; the plan shows it taken.
    snap(rival, "seats-05-shop-picked-fr")
    rival.locator("form.shop-choose button[type=submit]").click()
    expect(rival.locator("#problems")).to_contain_text(label("fr", "A", 5))
    expect(rival.locator(f"#zone-{zone.pk}-error")).to_contain_text(label("fr", "A", 5))
    expect(rival.locator(f"#zone-{zone.pk}-error")).not_to_contain_text(label("fr", "A", 6))
    for number in (5, 6):
        expect(seat(rival, "A", number)).to_have_class("seat is-taken")
        expect(seat(rival, "A", number).locator("input")).to_be_disabled()
    assert Ticket.objects.count() == 2
    assert_plan_fits(rival)
    snap(rival, "seats-06-shop-taken-fr")

    # 5. Anyone opening the event now sees both seats taken, in either language; a third
    # buyer picks another one.
    for lang, viewport in (("en", DESKTOP), ("fr", PHONE)):
        page = context(browser, lang, viewport)
        page.goto(shop_url)
        expect(page.locator(".seat-grid .seat.is-taken")).to_have_count(2)
        expect(seat(page, "A", 5).locator(".visually-hidden")).to_contain_text(label(lang, "A", 5))
        assert_plan_fits(page)
        snap(page, f"seats-07-shop-{lang}")
        if lang == "fr":  # this buyer takes C10, in the middle of row C
            seat(page, "C", 10).click()
            page.locator("form.shop-choose button[type=submit]").click()
            expect(page.locator(".shop-ticket-seats")).to_have_text([label("fr", "C", 10)])
            assert page.evaluate(WIDTHS)["page"] <= PHONE["width"]
            snap(page, "seats-07-basket-fr")
        page.context.close()

    # 6. Seat B1 was sold at the box office: the preview tells held, sold, free and off
    # sale apart, by more than colour.
    sell(theatre, monkeypatch, "B", "1")
    for lang, viewport in (("en", DESKTOP), ("fr", PHONE)):
        page = manager if lang == "en" else context(browser, lang, viewport)
        if page is not manager:
            sign_in(page, base, "olivia@example.test")
        page.goto(zone_url)
        expect(page.locator(".tk-plan-counts dd")).to_have_text(["62", "3", "1", "2"])
        preview = page.locator("#seats .seat-plan")
        expect(seat(preview, "B", 1)).to_have_attribute("data-state", "sold")
        expect(seat(preview, "A", 5)).to_have_attribute("data-state", "held")
        expect(seat(preview, "A", 6)).to_have_attribute("data-state", "held")
        assert_plan_fits(page)
        snap(page, f"seats-08-plan-states-{lang}")
