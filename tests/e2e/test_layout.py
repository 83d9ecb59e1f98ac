"""No page of the demo scrolls sideways: the organisation's pages, Service Mail, Domains, the
ticket office with its public shop and the account pages, each at a 390px phone width and
at 1366px, in English and French. A page that does names the elements that stick out past
the window's right edge. At 1366px no table is cut off either (scrolls inside its frame),
as the Members table's last column was."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from mail.models import Address
from panel.models import Team
from ticketing.models import TicketOffice

from .conftest import TIMEOUT_MS

pytestmark = pytest.mark.e2e

WIDTHS = [390, 1366]
LANGUAGES = ["en", "fr"]
DEMO_EMAIL = "owner@demo.panel.localhost"
DEMO_PASSWORD = "demo-panel-2026"

# Whether the page scrolls sideways, and if so what sticks out (the deepest elements first,
# as they are usually the cause).
OVERFLOW = """() => {
  const width = window.innerWidth;
  const html = document.documentElement, body = document.body;
  const wide = html.scrollWidth > width || body.scrollWidth > width;
  const out = [];
  if (wide) {
    for (const el of [...body.querySelectorAll("*")].reverse()) {
      const right = el.getBoundingClientRect().right + window.scrollX;
      if (right > width + 0.5 && out.length < 5) {
        const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
          + [...el.classList].map((c) => "." + c).join("");
        out.push(name + " (right edge " + Math.round(right) + "px)");
      }
    }
  }
  const cut = [...document.querySelectorAll(".table-wrap")]
    .filter((frame) => frame.scrollWidth > frame.clientWidth + 1)
    .map((frame) => {
      const table = frame.querySelector("table");
      return (table && (table.dataset.testid || table.className)) + " (" + frame.scrollWidth
        + "px in " + frame.clientWidth + "px)";
    });
  return {html: html.scrollWidth, body: body.scrollWidth, width, out, cut};
}"""


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """The organisation of `make run`, as seed_demo makes it."""
    settings.DNS_PUBLISHER = "zonefile"
    settings.DNS_ZONE_DIR = tmp_path
    settings.MAIL_DNS_RESOLVER = "127.0.0.1"
    settings.MAIL_DNS_RESOLVER_PORT = 9  # nothing answers there
    settings.MAIL_DNS_RESOLVER_TIMEOUT = 0.5
    call_command("seed_demo")
    address = Address.objects.get(local_part="max")
    office = TicketOffice.objects.get(organisation_id=address.organisation_id)
    event = office.events.get()
    return {
        "org": address.organisation_id,
        "service": address.service_id,
        "team": Team.objects.get(organisation_id=address.organisation_id).pk,
        "office": office,
        "event": event.pk,
        "date": event.dates.order_by("starts_at").first().pk,
        "form": office.forms.first().pk,
    }


def demo_pages(demo):
    o, service, team = f"/o/{demo['org']}", demo["service"], demo["team"]
    office = demo["office"]
    return [
        f"{o}/",
        f"{o}/members/",
        f"{o}/teams/",
        f"{o}/teams/{team}/",
        f"{o}/activity/",
        f"{o}/jobs/",
        f"{o}/settings/",
        f"{o}/mail/",
        f"{o}/mail/{service}/",
        f"{o}/mail/{service}/addresses/max/",
        f"{o}/mail/{service}/addresses/max/mail-log/",
        f"{o}/mail/{service}/addresses/contact/",
        f"{o}/domains/",
        f"{o}/domains/demo.example/",
        f"{o}/ticketing/",
        f"{o}/ticketing/offices/new/",
        f"{o}/ticketing/offices/{office.pk}/",
        f"{o}/ticketing/offices/{office.pk}/settings/",
        f"{o}/ticketing/offices/{office.pk}/forms/",
        f"{o}/ticketing/forms/{demo['form']}/",
        f"{o}/ticketing/offices/{office.pk}/orders/",
        f"{o}/ticketing/offices/{office.pk}/events/new/",
        f"{o}/ticketing/events/{demo['event']}/",
        f"{o}/ticketing/dates/{demo['date']}/",
        f"/shop/{office.slug}/",
        f"/shop/{office.slug}/events/{demo['event']}/",
        f"/shop/{office.slug}/basket/",
        f"{o}/newsletter/",
        f"{o}/cloud/",  # the product not built yet
        "/organisations/",
        "/invitations/",
        "/account/",
        "/account/tokens/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_of_the_demo_scrolls_sideways(live_server, demo, browser, width, language):
    base = live_server.url
    context = browser.new_context(
        viewport={"width": width, "height": 900}, extra_http_headers={"Accept-Language": language}
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    wide = []

    def check(path):
        page.goto(base + path)
        expect(page.locator("html")).to_have_attribute("lang", language)
        result = page.evaluate(OVERFLOW)
        if result["out"] or max(result["html"], result["body"]) > result["width"]:
            wide.append(f"{path}: {max(result['html'], result['body'])}px, {result['out']}")
        if width >= 1366 and result["cut"]:
            wide.append(f"{path}: tables cut off {result['cut']}")

    check("/accounts/login/")
    page.fill("input[name=login]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page.locator("[data-testid=user-menu]")).to_be_attached()

    pages = demo_pages(demo)
    # Every link of the organisation's top bar too, so a product added there is walked.
    page.goto(base + pages[0])
    for href in page.locator(".mainnav a").evaluate_all("links => links.map(a => a.pathname)"):
        if href not in pages:
            pages.append(href)
    for path in pages:
        check(path)
    context.close()
    assert not wide, f"Pages wider than {width}px in {language}:\n" + "\n".join(wide)
