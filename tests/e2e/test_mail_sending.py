"""The outgoing limit in headless Chromium: an address with a day of mail behind it shows
its meter and its two charts, the service page lists who is closest to the limit, and the
mail log finds a message by recipient. Screenshots go to /tmp/mail-shots/, at desktop
and at a 390px phone width."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.mail.factories import MailLogEntryFactory as Log

from .conftest import TIMEOUT_MS
from .test_mail import SHOTS, shot, sign_in

pytestmark = pytest.mark.e2e


def card_shot(page, locator, name):
    """A screenshot of one element, taken from the whole page so that the sticky top bar
    does not cover it."""
    box = locator.bounding_box()
    left, top = page.evaluate("() => [window.scrollX, window.scrollY]")
    clip = {
        "x": box["x"] + left,
        "y": box["y"] + top,
        "width": box["width"],
        "height": box["height"],
    }
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, clip=clip)


@pytest.fixture
def world(transactional_db):
    """shop.example on premium (1,440 recipients a day): olivia sent to 1,210 recipients
    over the last day, some deferred by a stricter limit on an earlier day; two colleagues
    sent a little."""
    legal = f.UserFactory(email="olivia@example.test")
    org = f.OrganisationFactory(name="Acme Robotics", legal_representative=legal)
    service = f.MailServiceFactory(
        organisation=org, name="shop.example", plan="premium", address_quota=10
    )
    olivia = f.AddressFactory(service=service, local_part="olivia")
    for hours, count in ((1, 180), (2, 95), (3, 240), (5, 60), (8, 310), (13, 125), (20, 200)):
        Log(
            address=olivia,
            ago=timedelta(hours=hours, minutes=12),
            recipient_count=count,
            queue_id=f"4QH{hours:02d}",
        )
    Log(
        address=olivia,
        ago=timedelta(hours=3, minutes=12),
        recipient_count=2,
        recipients="carol@partner.example, dan@partner.example",
        queue_id="4QCAROL",
    )
    for days, count in ((2, 420), (3, 1440), (5, 90)):
        Log(address=olivia, ago=timedelta(days=days), recipient_count=count)
    Log(address=olivia, ago=timedelta(days=3), recipient_count=35, status="deferred")
    for local_part, count in (("max", 64), ("lea", 12)):
        Log(address=f.AddressFactory(service=service, local_part=local_part), recipient_count=count)
    return {"org": org, "service": service}


def test_the_sending_meter_charts_and_mail_log(live_server, world, browser):
    base, org, service = live_server.url, world["org"], world["service"]
    service_url = f"{base}/o/{org.pk}/mail/{service.pk}/"
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, base, "olivia@example.test")

    # The service page: who is closest to the limit.
    page.goto(service_url)
    near = page.get_by_test_id("near-limit")
    expect(near.locator("li")).to_have_count(3)
    expect(near.locator("li").first).to_contain_text("olivia@shop.example")
    expect(near.locator("li").first).to_contain_text("1212 of 1440")
    shot(page, "20-service-near-limit")

    # The address page: the meter and the two charts.
    near.get_by_role("link", name="olivia@shop.example").click()
    meter = page.get_by_test_id("sending-meter")
    expect(meter).to_contain_text("1212 of 1440 recipients in the last 24 hours")
    expect(meter).to_contain_text("228 more recipients can be sent now")
    expect(meter.locator(".progress.is-warning")).to_have_count(1)
    hourly = page.get_by_test_id("sending-hourly")
    daily = page.get_by_test_id("sending-daily")
    expect(hourly.locator("svg g.sending-bar")).to_have_count(24)
    expect(daily.locator("svg g.sending-bar")).to_have_count(7)
    expect(hourly.locator("rect.sending-bar-accepted")).to_have_count(7)
    expect(daily.locator("rect.sending-bar-deferred")).to_have_count(1)
    box = hourly.locator("svg").bounding_box()
    assert box and box["width"] > 400 and box["height"] > 100
    tallest = max(
        rect.bounding_box()["height"] for rect in hourly.locator("rect.sending-bar-accepted").all()
    )
    assert tallest > 60, tallest  # the busiest hour fills most of the chart
    shot(page, "21-address-sending")
    hourly.locator("g.sending-bar").last.hover()
    card_shot(page, page.get_by_test_id("sending"), "21b-address-sending-card")

    # The mail log: every message, then a search by recipient.
    page.get_by_role("link", name="Open the mail log").click()
    expect(page.get_by_role("heading", name="Mail log", level=1)).to_be_visible()
    log = page.get_by_test_id("mail-log")
    expect(log.locator("tbody tr")).to_have_count(12)
    shot(page, "22-mail-log")
    more = log.locator("details").first
    more.get_by_text("and 177 more").click()
    expect(more).to_contain_text("friend99@elsewhere.example")
    expect(more).to_contain_text("(and 80 recipients the log does not list)")
    card_shot(page, log.locator("tbody tr").first, "22b-mail-log-more")
    page.get_by_label("Search", exact=True).fill("carol@partner")
    page.get_by_role("button", name="Filter").click()
    expect(log.locator("tbody tr")).to_have_count(1)
    expect(log).to_contain_text("4QCAROL")
    expect(log).to_contain_text("dan@partner.example")
    shot(page, "23-mail-log-search")
    page.get_by_label("Status").select_option("deferred")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("mail-log-empty")).to_contain_text("No message matches")
    page.get_by_role("link", name="Reset").click()
    page.get_by_label("Status").select_option("deferred")
    page.get_by_role("button", name="Filter").click()
    expect(log.locator("tbody tr")).to_have_count(1)
    expect(log.locator(".badge-red")).to_have_text("Deferred")

    # The same pages at a phone's width.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    mobile = phone.new_page()
    mobile.set_default_timeout(TIMEOUT_MS)
    mobile.goto(f"{service_url}addresses/olivia/")
    expect(mobile.get_by_test_id("sending-hourly").locator("svg g.sending-bar")).to_have_count(24)
    card_shot(mobile, mobile.get_by_test_id("sending"), "24-mobile-address-sending")
    mobile.goto(f"{service_url}addresses/olivia/mail-log/")
    shot(mobile, "25-mobile-mail-log")
    mobile.goto(service_url)
    card_shot(mobile, mobile.get_by_test_id("near-limit"), "26-mobile-near-limit")
    phone.close()
    context.close()
