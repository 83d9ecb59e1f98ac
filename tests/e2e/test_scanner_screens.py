"""The door scanner as door staff see it on a phone (390 x 844), in English and in French:
a door device's link opened in a browser with a (fake) camera, then a green "valid" with
the answers shown at check-in under the name on the ticket, a red "already used" with
the time and gate of the first entry, a red "wrong date", a red "unknown", a ticket
checked offline with its answers, and the search. Each screen is saved to
/tmp/scanner_<language>_<screen>.png for a human to look at; the test checks what the
door reads on it: the words, the colours, the size of the result, and that nothing
runs off the screen."""

import datetime
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from panel.access import access_for
from ticketing import secrets, services
from ticketing.services import checkin as door_services

from .conftest import CHROMIUM_ARGS, TIMEOUT_MS
from .test_scanner import PHONE, door_world

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp")
GREEN, RED = "rgb(19, 122, 82)", "rgb(200, 50, 31)"

#: What the door reads, per language (the French is the shipped translation).
WORDS = {
    "en": {
        "locale": "en-GB", "gate": "Gate B", "valid": "Valid", "let_in": "Let them in.",
        "used": "Already used", "came_in": r"Came in at \d{2}:\d{2} at Gate B\.",
        "wrong_date": "Wrong date", "other_date": "This ticket is for another date.",
        "unknown": "Unknown ticket", "search": "No phone? Find the ticket",
        "search_button": "Search", "check_in": "Check in", "meal": "Meal: Vegetarian",
        "needs": "Access needs: Wheelchair place", "in_since": "In since",
        "fish": "Meal: Fish", "loop": "Access needs: Hearing loop",
    },
    "fr": {
        "locale": "fr-CH", "gate": "Porte B", "valid": "Valide", "let_in": "Laissez entrer.",
        "used": "Déjà utilisé", "came_in": r"Entré à \d{2}:\d{2} par Porte B\.",
        "wrong_date": "Mauvaise date", "other_date": "Ce billet est pour une autre date.",
        "unknown": "Billet inconnu", "search": "Pas de téléphone ? Trouvez le billet",
        "search_button": "Rechercher", "check_in": "Faire entrer",
        "meal": "Repas\u00a0: Végétarien", "needs": "Besoins d’accès\u00a0: Fauteuil roulant",
        "in_since": "Entré depuis", "fish": "Repas\u00a0: Poisson",
        "loop": "Besoins d’accès\u00a0: Boucle magnétique",
    },
}  # fmt: skip

#: Whatever sticks out of the page's width, or is cut off inside its own box.
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    for (const node of document.querySelectorAll("body *")) {
        const box = node.getBoundingClientRect();
        if (!box.width || getComputedStyle(node).visibility === "hidden") continue;
        if (node.closest(".skip-link, .visually-hidden")) continue;  // off-screen on purpose
        if (box.right > width + 1 || box.left < -1) out.push(node.tagName + "." + node.className);
        const style = getComputedStyle(node);
        if (node.scrollWidth > node.clientWidth + 1 && style.overflowX !== "visible"
            && !["VIDEO", "svg", "INPUT", "TEXTAREA", "SELECT"].includes(node.tagName)
            && !["auto", "scroll"].includes(style.overflowX)) {
            out.push("cut: " + node.tagName + "." + node.className);
        }
    }
    return out;
}"""


@pytest.fixture
def camera_browser(monkeypatch):
    """Chromium with a fake camera, as a phone with one: the video takes its place on
    the page as it does at the door, and reads no code of itself."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        yield browser
        browser.close()
        connections.close_all()


def screens_world(language: str) -> dict:
    """door_world with a "Dinner and show" tariff whose form asks a meal and access needs
    (shown at check-in) and allergies (not shown), Camille's ticket of it, a second date
    whose ticket (Léon's) the list, limited to the first date, turns away; and a door
    device of the list."""
    world = door_world(slug=f"jorat-screens-{language}", list_names=["Main door"])
    access = access_for(world["legal"], world["org"])
    event, checkin_list = world["event"], world["lists"][0]
    office, zone = event.office, world["zoe"].zone
    fr = language == "fr"
    form = services.form_create(access=access, office=office, name="Dinner")
    meal = services.field_create(
        access=access, form=form, label="Repas" if fr else "Meal", type="radio",
        options=["Végétarien" if fr else "Vegetarian", "Poisson" if fr else "Fish"],
        position=1, show_at_checkin=True,
    )  # fmt: skip
    allergies = services.field_create(
        access=access, form=form, label="Allergies", type="text", position=2
    )
    needs = services.field_create(
        access=access, form=form, label="Besoins d’accès" if fr else "Access needs",
        type="checkboxes", position=3, show_at_checkin=True,
        options=["Fauteuil roulant" if fr else "Wheelchair place",
                 "Boucle magnétique" if fr else "Hearing loop"],
    )  # fmt: skip
    dinner = services.tariff_create(
        access=access, zone=zone, name="Dîner et spectacle" if fr else "Dinner and show",
        price="0", max_per_order=4, form=form.pk,
    )  # fmt: skip

    def sold(tariff, name, answers=None):
        basket, _key = services.basket_create(
            office=office, items=[{"tariff": tariff.pk, "quantity": 1}]
        )
        if answers is not None:
            services.basket_answers_set(
                basket=basket, entries=[{"tariff": tariff.pk, "answers": answers}]
            )
        order = services.checkout(
            basket=basket, name=name, email="guest@example.test", payment="free"
        )
        return order.tickets.get()

    camille = sold(dinner, "Camille Dubois-Lefèvre de La Harpe", {
        str(meal.pk): meal.options[0], str(allergies.pk): "Arachides" if fr else "Peanuts",
        str(needs.pk): [needs.options[0]],
    })  # fmt: skip
    ines = sold(dinner, "Inès Favre", {
        str(meal.pk): meal.options[1], str(needs.pk): [needs.options[1]],
    })  # fmt: skip
    later = services.date_create(
        access=access, event=event, starts_at=timezone.now() + datetime.timedelta(days=1)
    )
    later_zone = services.zone_create(access=access, date=later, name="Stalls", capacity=50)
    later_tariff = services.tariff_create(
        access=access, zone=later_zone, name="Invitation", price="0", max_per_order=4
    )
    leon = sold(later_tariff, "Léon Martin")
    services.checkin_list_update(access=access, checkin_list=checkin_list, dates=[zone.date_id])
    _device, key = door_services.device_create(
        access=access, event=event, name="Gate B phone", lists=[checkin_list]
    )
    return {
        **world, "list": checkin_list, "camille": camille, "ines": ines, "leon": leon, "key": key,
    }  # fmt: skip


def save(page, language, screen, *, full=False):
    page.screenshot(path=str(SHOTS / f"scanner_{language}_{screen}.png"), full_page=full)


def result_fits(page):
    """The whole result is on the first screen, under the camera, without scrolling; in
    large type; and nothing runs off the page."""
    assert page.evaluate("() => window.scrollY") == 0
    camera = page.locator("[data-camera]").bounding_box()
    box = page.get_by_test_id("scan-result").bounding_box()
    assert camera["height"] >= 150 and camera["y"] + camera["height"] <= box["y"], camera
    assert box["y"] + box["height"] <= PHONE["height"], box
    title = page.locator("[data-result-title]")
    assert float(title.evaluate("node => parseFloat(getComputedStyle(node).fontSize)")) >= 40
    assert page.evaluate(OVERFLOW) == []


def colour(page):
    return page.get_by_test_id("scan-result").evaluate(
        "node => getComputedStyle(node).backgroundColor"
    )


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_scanner_screens_on_a_phone(live_server, transactional_db, camera_browser, language):
    words = WORDS[language]
    world = screens_world(language)
    context = camera_browser.new_context(
        viewport=PHONE, locale=words["locale"], is_mobile=True, has_touch=True,
        device_scale_factor=2, permissions=["camera"],
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.goto(f"{live_server.url}/door/{world['key']}/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_have_text("Main door")
    page.wait_for_function("() => window.panelScanner && window.panelScanner.offlineReady()")
    expect(page.get_by_test_id("camera-notice")).to_be_hidden()  # the camera runs
    page.wait_for_function("() => document.querySelector('[data-video]').videoWidth > 0")
    page.locator("[data-gate]").fill(words["gate"])
    page.locator("[data-gate]").dispatch_event("change")
    save(page, language, "ready")
    result = page.get_by_test_id("scan-result")

    def scan(ticket_or_code):
        code = ticket_or_code
        if not isinstance(code, str):
            code = secrets.ticket_secret(ticket_or_code.nonce)
        page.evaluate("(code) => window.panelScanner.submit(code)", code)

    # Green, with the name on the ticket and the answers shown at check-in under it.
    scan(world["camille"])
    expect(result).to_have_attribute("data-code", "valid")
    expect(result.locator("[data-result-title]")).to_have_text(words["valid"])
    expect(result.locator("[data-result-reason]")).to_have_text(words["let_in"])
    expect(page.get_by_test_id("ticket-name")).to_have_text("Camille Dubois-Lefèvre de La Harpe")
    answers = page.get_by_test_id("ticket-answers").locator("p")
    expect(answers).to_have_text([words["meal"], words["needs"]])
    expect(result).not_to_contain_text("Allergies")
    assert colour(page) == GREEN
    result_fits(page)
    save(page, language, "valid")

    # Red, with when and at which gate it first came in.
    scan(world["camille"])
    expect(result).to_have_attribute("data-code", "already_used")
    expect(result.locator("[data-result-title]")).to_have_text(words["used"])
    expect(result.locator("[data-result-reason]")).to_have_text(re.compile(words["came_in"]))
    expect(page.get_by_test_id("ticket-name")).to_have_text("Camille Dubois-Lefèvre de La Harpe")
    assert colour(page) == RED
    result_fits(page)
    save(page, language, "already_used")

    scan(world["leon"])
    expect(result).to_have_attribute("data-code", "wrong_date")
    expect(result.locator("[data-result-title]")).to_have_text(words["wrong_date"])
    expect(result.locator("[data-result-reason]")).to_have_text(words["other_date"])
    expect(page.get_by_test_id("ticket-name")).to_have_text("Léon Martin")
    assert colour(page) == RED
    result_fits(page)
    save(page, language, "wrong_date")

    scan("NOT-A-TICKET-OF-OURS")
    expect(result).to_have_attribute("data-code", "unknown")
    expect(result.locator("[data-result-title]")).to_have_text(words["unknown"])
    expect(page.get_by_test_id("ticket-name")).to_be_hidden()
    assert colour(page) == RED
    result_fits(page)
    save(page, language, "unknown")

    # The network drops: the offline data carries the answers shown at check-in too.
    context.set_offline(True)
    scan(world["ines"])
    expect(result).to_have_attribute("data-offline", "true")
    expect(result).to_have_attribute("data-code", "valid")
    expect(page.get_by_test_id("offline-badge")).to_be_visible()
    expect(page.get_by_test_id("ticket-name")).to_have_text("Inès Favre")
    expect(answers).to_have_text([words["fish"], words["loop"]])
    result_fits(page)
    save(page, language, "offline_valid")
    context.set_offline(False)
    expect(page.get_by_test_id("sync-status")).to_have_attribute("data-waiting", "0")

    # No phone: found by email, with the answers shown at check-in, and let in by hand.
    page.get_by_label(words["search"]).fill("guest@example.test")
    page.get_by_role("button", name=words["search_button"], exact=True).click()
    found = page.get_by_test_id("search-results").locator("li")
    expect(found).to_have_count(5)
    camille = found.filter(has_text="Camille")
    expect(camille.locator(".sc-found-answer")).to_have_text([words["meal"], words["needs"]])
    expect(camille).to_contain_text(words["in_since"])
    page.locator("[data-search]").evaluate("node => node.scrollIntoView()")
    assert page.evaluate(OVERFLOW) == []
    save(page, language, "search")
    found.filter(has_text="Zoé Rochat").get_by_role("button", name=words["check_in"]).click()
    expect(result).to_have_attribute("data-code", "valid")
    expect(page.get_by_test_id("ticket-name")).to_have_text("Zoé Rochat")
    expect(page.get_by_test_id("ticket-answers")).to_be_hidden()

    assert problems == []
    context.close()
