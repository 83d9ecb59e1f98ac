"""The campaign wizard in headless Chromium, as a new organiser goes through it.

An organisation has a newsletter with a first-name field, the lists "News" and
"Events", each with the groups VIP and Press, and contacts of every standing (made
through the services). At 1366px in English the organiser adds an address of their
Service Mail on the Senders page (ready at once), then: Campaigns, New campaign, the
set-up with a variable in the title, a theme, two blocks and a variable written in the
editor, the lists and groups ticked while the recipient count follows without a reload
(each figure computed here from the data, by the rule of the issue), the preview for a
contact in both widths, a test send that arrives marked "[Test]", and a date in the
schedule, shown with the time zone. At 390px in French the same steps, sent "now",
nothing scrolling sideways on any step.

Inputs are found by name, id and data-testid, not by their English text, so that the
test keeps working once the French strings are filled in. Screenshots:
tests/e2e/screenshots/newsletter-wizard-<step>-{desktop,phone}.png."""

import datetime
import re
import zoneinfo

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from mail.models import Address
from newsletter import services
from newsletter.models import Campaign, CampaignStatus, Contact, ContactGroup, Sender
from newsletter.services.contacts import contact_create
from panel.access import access_for
from tests import factories as f

from .conftest import TIMEOUT_MS, shot

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SERVICE_MAIL = "jorat.example.test"
SENDER = f"news@{SERVICE_MAIL}"

#: (email, first name, {list: (status, [groups of that list])})
CONTACTS = [
    ("ada@example.test", "Ada", {"News": ("subscribed", ["VIP"]), "Events": ("subscribed", [])}),
    ("bob@example.test", "Bob", {"News": ("subscribed", ["Press"])}),
    ("cleo@example.test", "Cléo", {"Events": ("subscribed", ["VIP"])}),
    ("dan@example.test", "Dan", {"News": ("unsubscribed", ["VIP"]), "Events": ("subscribed", [])}),
    ("eve@example.test", "Eve", {"News": ("bounced", ["VIP"])}),
    ("fay@example.test", "Fay", {"News": ("unconfirmed", ["VIP"])}),
    ("gus@example.test", "Gus", {"News": ("subscribed", []), "Events": ("subscribed", ["Press"])}),
    ("hal@example.test", "Hal",
     {"News": ("unsubscribed", ["Press"]), "Events": ("subscribed", ["Press"])}),
    ("ivy@example.test", "Ivy", {"Events": ("complained", ["VIP"])}),
]  # fmt: skip


def expected_count(lists, include=(), exclude=()) -> int:
    """The issue's rule, written again here from the data above: subscribed to a chosen
    list; when groups are included, in one of them on a list it is subscribed to; never
    in an excluded group, whatever its standing on that group's list. Groups are
    (list, group) names."""
    count = 0
    for _email, _name, subscriptions in CONTACTS:
        subscribed = [name for name in lists if subscriptions.get(name, ("",))[0] == "subscribed"]
        if not subscribed:
            continue
        if include and not any(
            (name, group) in include for name in subscribed for group in subscriptions[name][1]
        ):
            continue
        if any(
            (name, group) in exclude
            for name, (_status, groups) in subscriptions.items()
            for group in groups
        ):
            continue
        count += 1
    return count


@pytest.fixture
def world(transactional_db):
    legal = f.UserFactory(email="olivia@jorat.example.test")
    org = f.OrganisationFactory(name="Théâtre du Jorat", legal_representative=legal)
    access = access_for(legal, org)
    service = f.MailServiceFactory(organisation=org, name=SERVICE_MAIL)
    Address.objects.create(organisation=org, service=service, local_part="news")
    newsletter = services.newsletter_create(access=access, name="Jorat news")
    first_name = services.field_create(
        access=access, newsletter=newsletter, key="first_name", label="First name", type="text"
    )
    lists, groups = {}, {}
    for list_name in ("News", "Events"):
        lists[list_name] = services.list_create(
            access=access, newsletter=newsletter, name=list_name, form_fields=[first_name.pk]
        )
        for group_name in ("VIP", "Press"):
            groups[list_name, group_name] = services.group_create(
                access=access, contact_list=lists[list_name], name=group_name
            )
    contacts = {}
    for email, name, subscriptions in CONTACTS:
        contacts[name] = contact_create(
            access=access, newsletter=newsletter, email=email, fields={"first_name": name},
            subscriptions=[
                {"list": lists[list_name].pk, "status": status,
                 "groups": [groups[list_name, group].pk for group in in_groups]}
                for list_name, (status, in_groups) in subscriptions.items()
            ],
        )  # fmt: skip
    # The data is as the rule above reads it.
    assert set(ContactGroup.objects.get(pk=groups["News", "Press"].pk).contacts.all()) == {
        contacts["Bob"],
        contacts["Hal"],
    }
    return {
        "org": org,
        "access": access,
        "newsletter": newsletter,
        "lists": lists,
        "groups": groups,
        "contacts": contacts,
    }


def _open(browser, viewport, language, **options):
    context = browser.new_context(
        viewport=viewport,
        locale="fr-CH" if language == "fr" else "en-GB",
        extra_http_headers={"Accept-Language": language},
        **options,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    return context, page, errors


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", f.PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def top_shot(page, name):
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, name)


def tall_shot(page, name):
    """`top_shot` with the window as tall as the page: Chromium leaves the frames of
    another origin (the sandboxed thumbnails) blank below the window in a full-page shot."""
    viewport = page.viewport_size
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": height})
    page.wait_for_timeout(300)
    top_shot(page, name)
    page.set_viewport_size(viewport)


def assert_no_sideways_scroll(page, where):
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{where} scrolls sideways: {width}px"


def submit(page, form_testid):
    """The main button of a step's form ("Save and continue", or the only one)."""
    page.locator(f"[data-testid={form_testid}] button[type=submit]:not([name=stay])").click()


def campaign_url(base, org, campaign, step=""):
    return f"{base}/o/{org.pk}/newsletter/campaigns/{campaign.pk}/{step + '/' if step else ''}"


def fill_setup(page, *, title, sender):
    page.fill("input[name=title]", title)
    page.fill("input[name=preview_text]", "Three premieres this spring, {{ first_name }}")
    page.locator("select[name=sender]").select_option(str(sender.pk))
    page.fill("input[name=reply_to]", "box-office@jorat.example.test")
    page.locator("select[name=language]").select_option("fr")
    page.locator("input[name=track_opens]").check()
    page.locator("input[name=track_clicks]").uncheck()
    page.fill("input[name=utm_source]", "jorat-news")
    page.fill("input[name=utm_medium]", "email")
    page.fill("input[name=utm_campaign]", "spring-2026")


def write_content(page):
    """A text after the first heading, with the first-name variable from the menu, and a
    button after it."""
    cards = page.locator("[data-nle-blocks] > .nle-block")
    expect(cards.first).to_be_visible()  # the theme's starter blocks, once the editor drew them
    before = cards.count()
    cards.nth(0).locator("[data-field=text]").click()
    page.locator(".nle-add[data-type=text] button").click()
    expect(cards).to_have_count(before + 1)
    text = cards.nth(1).locator(".nle-text")
    expect(text).to_be_focused()
    page.keyboard.type("Hello ")
    page.locator("[data-nle-varbutton]").click()
    page.locator("#nle-variables button[data-var=first_name]").click()
    page.keyboard.type(", our season opens in May.")
    expect(text).to_contain_text("Hello {{ first_name }}, our season opens in May.")
    page.locator(".nle-add[data-type=button] button").click()
    expect(cards).to_have_count(before + 2)
    button = cards.nth(2)
    expect(button).to_have_attribute("data-type", "button")
    page.keyboard.type("Book now")
    button.locator("input[data-field=href]").fill("https://jorat.example.test/tickets")
    return before + 2


def see_thumbnails(page):
    """Each theme's thumbnail (loaded lazily) scrolled to until its email is there."""
    for card in page.locator("[data-testid=themes] > li").all():
        card.scroll_into_view_if_needed()
        thumbnail = card.locator("iframe").content_frame
        expect(thumbnail.locator("table").first).to_be_attached()


def tick(page, name, pk, *, on=True):
    box = page.locator(f"input[name={name}][value='{pk}']")
    box.check() if on else box.uncheck()


def test_the_whole_wizard_at_desktop_width_with_a_test_send_and_a_date(world, live_server, browser):
    base, org, newsletter = live_server.url, world["org"], world["newsletter"]
    lists, groups, contacts = world["lists"], world["groups"], world["contacts"]
    context, page, errors = _open(browser, DESKTOP, "en")
    sign_in(page, base, "olivia@jorat.example.test")

    # The sender, on the Senders page reached from the newsletter's page.
    page.goto(f"{base}/o/{org.pk}/newsletter/")
    page.locator(f"a[href='/o/{org.pk}/newsletter/newsletters/{newsletter.pk}/']").first.click()
    page.locator(f"a[href$='/newsletters/{newsletter.pk}/senders/']").first.click()
    expect(page.get_by_test_id("senders-empty")).to_be_visible()
    page.locator(f"a[href$='/newsletters/{newsletter.pk}/senders/new/']").first.click()
    page.fill("input[name=email]", SENDER)
    page.fill("input[name=name]", "Théâtre du Jorat")
    page.locator("[data-testid=sender-form] button[type=submit]").click()
    expect(page.locator("li.message-success")).to_contain_text(SENDER)
    sender = Sender.objects.get(newsletter=newsletter)
    assert (sender.kind, sender.verified) == ("service_mail", True)
    top_shot(page, "newsletter-wizard-sender-desktop")

    # Campaigns tab, New campaign.
    page.goto(f"{base}/o/{org.pk}/newsletter/newsletters/{newsletter.pk}/")
    page.locator(f"nav.nl-tabs a[href$='/newsletters/{newsletter.pk}/campaigns/']").click()
    expect(page.get_by_test_id("campaigns-empty")).to_be_visible()
    top_shot(page, "newsletter-wizard-list-desktop")
    page.locator(f".page-actions a[href$='/{newsletter.pk}/campaigns/new/']").click()

    # 1. Set-up, approved as a draft.
    expect(page.locator("select[name=sender] option")).to_have_count(2)
    assert page.locator("input[name=utm_source]").input_value() == "newsletter"
    fill_setup(page, title="Spring at the Jorat, {{ first_name }}", sender=sender)
    top_shot(page, "newsletter-wizard-setup-desktop")
    submit(page, "campaign-setup")
    expect(page).to_have_url(re.compile(r"/theme/$"))
    campaign = Campaign.objects.get(newsletter=newsletter)
    assert campaign.status == CampaignStatus.DRAFT
    assert (campaign.title, campaign.sender_id) == (
        "Spring at the Jorat, {{ first_name }}",
        sender.pk,
    )
    assert (campaign.reply_to, campaign.language) == ("box-office@jorat.example.test", "fr")
    assert (campaign.track_opens, campaign.track_clicks) == (True, False)
    assert campaign.utm == {"source": "jorat-news", "medium": "email", "campaign": "spring-2026"}
    expect(page.locator("h1")).to_have_text("Spring at the Jorat, {{ first_name }}")
    expect(page.get_by_test_id("campaign-status")).to_be_visible()

    # 2. A theme.
    expect(page.locator("[data-testid=themes] > li")).to_have_count(4)
    see_thumbnails(page)
    top_shot(page, "newsletter-wizard-theme-desktop")
    page.locator("[data-theme=classic] button[name=theme]").click()
    expect(page).to_have_url(re.compile(r"/content/$"))
    campaign.refresh_from_db()
    assert campaign.theme == "classic" and campaign.content["blocks"]

    # 3. Content: two blocks and a variable, saved.
    count = write_content(page)
    top_shot(page, "newsletter-wizard-content-desktop")
    page.locator("[data-testid=campaign-content] button[name=stay]").click()
    expect(page).to_have_url(re.compile(r"/content/$"))
    expect(page.locator("[data-nle-blocks] > .nle-block")).to_have_count(count)
    campaign.refresh_from_db()
    blocks = campaign.content["blocks"]
    assert blocks[1] == {
        "type": "text",
        "html": "<p>Hello {{ first_name }}, our season opens in May.</p>",
    }
    assert blocks[2] == {
        "type": "button", "label": "Book now", "href": "https://jorat.example.test/tickets",
        "align": "center",
    }  # fmt: skip
    expect(page.get_by_test_id("content-problems")).to_have_count(0)
    submit(page, "campaign-content")

    # 4. Recipients: the count follows every tick, without a reload.
    expect(page).to_have_url(re.compile(r"/recipients/$"))
    page.evaluate("window.__same_page = true")
    figure = page.get_by_test_id("recipient-count")
    expect(figure).to_have_text("0")
    chosen_lists, include, exclude = [], [], []
    seen = [0]

    def choose(kind, key):
        if kind == "lists":
            chosen_lists.append(key)
            tick(page, "lists", lists[key].pk)
        else:
            (include if kind == "include_groups" else exclude).append(key)
            tick(page, kind, groups[key].pk)
        number = expected_count(chosen_lists, include, exclude)
        assert number != seen[-1], "each choice of this walk changes the count"
        expect(figure).to_have_text(str(number))
        seen.append(number)

    choose("lists", "News")  # Ada, Bob, Gus
    choose("lists", "Events")  # and Cléo, Dan, Hal
    choose("include_groups", ("News", "VIP"))  # Ada (Dan left News, Eve bounced, Fay unconfirmed)
    choose("include_groups", ("Events", "VIP"))  # and Cléo (Ivy complained)
    choose("include_groups", ("Events", "Press"))  # and Gus, Hal
    choose("exclude_groups", ("News", "Press"))  # not Hal, who left News but is in its Press
    assert seen == [0, 3, 6, 1, 2, 4, 3]
    expect(page.locator(".nl-count-label")).to_have_text("recipients")
    assert page.evaluate("window.__same_page") is True
    top_shot(page, "newsletter-wizard-recipients-desktop")
    submit(page, "campaign-recipients")
    expect(page).to_have_url(re.compile(r"/preview/$"))
    campaign.refresh_from_db()
    assert {item.name for item in campaign.lists.all()} == {"News", "Events"}
    assert set(campaign.include_groups.all()) == {
        groups[key] for key in (("News", "VIP"), ("Events", "VIP"), ("Events", "Press"))
    }
    assert list(campaign.exclude_groups.all()) == [groups["News", "Press"]]

    # 5. Preview for a contact, in both widths; a test send as that contact.
    ada = contacts["Ada"]
    options = page.locator("#preview-contact option")
    expect(options).to_have_count(1 + 3)  # sample values, then the three recipients
    page.locator("#preview-contact").select_option(str(ada.pk))
    expect(page).to_have_url(re.compile(rf"\?contact={ada.pk}$"))
    expect(page.get_by_test_id("preview-subject")).to_have_text("Spring at the Jorat, Ada")
    expect(page.get_by_test_id("preview-preheader")).to_have_text(
        "Three premieres this spring, Ada"
    )
    for width in ("desktop", "phone"):
        email = page.frame_locator(f"[data-testid=preview-{width}]")
        expect(email.locator("body")).to_contain_text("Hello Ada, our season opens in May.")
        expect(email.locator("body")).not_to_contain_text("{{")
    phone = page.get_by_test_id("preview-phone").bounding_box()
    desktop = page.get_by_test_id("preview-desktop").bounding_box()
    assert phone["width"] == 375 and desktop["width"] > phone["width"]
    assert abs(phone["y"] - desktop["y"]) < 2, "side by side"
    top_shot(page, "newsletter-wizard-preview-desktop")
    test_form = page.get_by_test_id("test-send")
    test_form.locator("input[name=emails]").fill("olivia@jorat.example.test, tester@example.test")
    test_form.locator("select[name=contact]").select_option(str(ada.pk))
    mail.outbox.clear()
    test_form.locator("button[type=submit]").click()
    expect(page.locator("li.message-success")).to_contain_text("tester@example.test")
    assert sorted(message.to[0] for message in mail.outbox) == [
        "olivia@jorat.example.test",
        "tester@example.test",
    ]
    sent = mail.outbox[0]
    assert sent.subject.startswith("[Test]") and sent.subject.endswith("Spring at the Jorat, Ada")
    assert sent.from_email == f"Théâtre du Jorat <{SENDER}>"
    assert sent.reply_to == ["box-office@jorat.example.test"]
    assert "Hello Ada, our season opens in May." in sent.body
    html = sent.alternatives[0][0]
    assert "utm_source=jorat-news" in html and "Hello Ada" in html

    # 6. Schedule at a date and time, shown in the organisation's time zone.
    page.locator(f"a[href$='/campaigns/{campaign.pk}/schedule/']").last.click()
    expect(page).to_have_url(re.compile(r"/schedule/$"))
    expect(page.get_by_test_id("schedule-problems")).to_have_count(0)
    expect(page.get_by_test_id("time-zone")).to_contain_text(settings.TIME_ZONE)
    expect(page.get_by_test_id("summary-count")).to_have_text("3")
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    at = (timezone.now().astimezone(zone) + datetime.timedelta(days=3)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    page.locator("input[name=when][value=later]").check()
    page.fill("input[name=at]", at.strftime("%Y-%m-%dT%H:%M"))
    top_shot(page, "newsletter-wizard-schedule-desktop")
    page.locator("[data-testid=schedule-form] button[type=submit]").click()
    expect(page.get_by_test_id("scheduled")).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at == at
    expect(page.get_by_test_id("scheduled")).to_contain_text(settings.TIME_ZONE)
    expect(page.get_by_test_id("scheduled")).to_contain_text("9:30")
    expect(page.get_by_test_id("campaign-status")).to_contain_text("Scheduled")
    top_shot(page, "newsletter-wizard-scheduled-desktop")

    # The list says so too.
    page.locator(f".eyebrow a[href$='/newsletters/{newsletter.pk}/campaigns/']").click()
    row = page.locator("[data-testid=campaigns] tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("campaign-status")).to_contain_text("Scheduled")
    top_shot(page, "newsletter-wizard-list-scheduled-desktop")
    assert errors == []
    context.close()


def test_the_wizard_on_a_phone_in_french_never_scrolls_sideways(world, live_server, browser):
    """A French organiser writes {{ prenom }}: the preview and the schedule name the
    mistake (no blank, no server error) until the set-up is corrected."""
    base, org, newsletter = live_server.url, world["org"], world["newsletter"]
    lists, groups = world["lists"], world["groups"]
    sender = services.sender_create(
        access=world["access"], newsletter=newsletter, email=SENDER, name="Jorat"
    )
    assert sender.verified
    context, page, errors = _open(browser, PHONE, "fr", is_mobile=True, has_touch=True)
    sign_in(page, base, "olivia@jorat.example.test")

    page.goto(f"{base}/o/{org.pk}/newsletter/newsletters/{newsletter.pk}/campaigns/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert_no_sideways_scroll(page, "the campaign list")
    top_shot(page, "newsletter-wizard-list-phone")
    page.locator(f".page-actions a[href$='/{newsletter.pk}/campaigns/new/']").click()

    assert_no_sideways_scroll(page, "the set-up")
    fill_setup(page, title="Printemps au Jorat, {{ prenom }}", sender=sender)
    top_shot(page, "newsletter-wizard-setup-phone")
    submit(page, "campaign-setup")
    expect(page).to_have_url(re.compile(r"/theme/$"))
    campaign = Campaign.objects.get(newsletter=newsletter)
    assert campaign.language == "fr"
    assert_no_sideways_scroll(page, "the themes")
    see_thumbnails(page)
    tall_shot(page, "newsletter-wizard-theme-phone")
    page.locator("[data-theme=minimal] button[name=theme]").click()

    expect(page).to_have_url(re.compile(r"/content/$"))
    # The steps speak the reader's language, whatever the language the server started in.
    with translation.override("fr"):
        expect(page.locator(".nl-steps [aria-current=step]")).to_contain_text(gettext("Content"))
    all_steps = page.locator(".nl-steps li")
    expect(all_steps).to_have_count(6)
    assert all_steps.last.bounding_box()["x"] + all_steps.last.bounding_box()["width"] <= 390
    expect(page.locator("[data-nle-blocks] > .nle-block").first).to_be_visible()
    assert_no_sideways_scroll(page, "the content")
    write_content(page)
    assert_no_sideways_scroll(page, "the content with new blocks")
    top_shot(page, "newsletter-wizard-content-phone")
    submit(page, "campaign-content")

    expect(page).to_have_url(re.compile(r"/recipients/$"))
    figure = page.get_by_test_id("recipient-count")
    tick(page, "lists", lists["News"].pk)
    expect(figure).to_have_text(str(expected_count(["News"])))
    tick(page, "exclude_groups", groups["News", "VIP"].pk)
    expect(figure).to_have_text(str(expected_count(["News"], exclude=[("News", "VIP")])))
    assert_no_sideways_scroll(page, "the recipients")
    top_shot(page, "newsletter-wizard-recipients-phone")
    submit(page, "campaign-recipients")

    # The unknown variable is named, in the page and in the email's frame.
    expect(page).to_have_url(re.compile(r"/preview/$"))
    bob = Contact.objects.get(email="bob@example.test")
    page.locator("#preview-contact").select_option(str(bob.pk))
    expect(page).to_have_url(re.compile(rf"\?contact={bob.pk}$"))
    expect(page.get_by_test_id("content-problems")).to_contain_text("prenom")
    email = page.frame_locator("[data-testid=preview-phone]")
    expect(email.locator("body")).to_contain_text("prenom")
    assert_no_sideways_scroll(page, "the preview with a mistake")
    page.locator(f"a[href$='/campaigns/{campaign.pk}/schedule/']").last.click()
    expect(page.get_by_test_id("schedule-problems")).to_contain_text("prenom")
    expect(page.locator("[data-testid=schedule-form] button[type=submit]")).to_be_disabled()

    # Corrected in the set-up, from the steps.
    page.locator(f".nl-steps a[href$='/campaigns/{campaign.pk}/']").click()
    page.fill("input[name=title]", "Printemps au Jorat, {{ first_name }}")
    page.locator("[data-testid=campaign-setup] button[name=stay]").click()
    expect(page.locator("input[name=title]")).to_have_value("Printemps au Jorat, {{ first_name }}")
    page.locator(f".nl-steps a[href$='/campaigns/{campaign.pk}/preview/']").click()
    page.locator("#preview-contact").select_option(str(bob.pk))
    expect(page.get_by_test_id("preview-subject")).to_have_text("Printemps au Jorat, Bob")
    expect(page.get_by_test_id("content-problems")).to_have_count(0)
    expect(email.locator("body")).to_contain_text("Hello Bob")
    assert_no_sideways_scroll(page, "the preview")
    top_shot(page, "newsletter-wizard-preview-phone")

    page.locator(f"a[href$='/campaigns/{campaign.pk}/schedule/']").last.click()
    expect(page).to_have_url(re.compile(r"/schedule/$"))
    expect(page.get_by_test_id("time-zone")).to_contain_text(settings.TIME_ZONE)
    expect(page.locator("input[name=at]")).to_be_hidden()  # "Send now" needs no date
    assert_no_sideways_scroll(page, "the schedule")
    top_shot(page, "newsletter-wizard-schedule-phone")
    page.locator("input[name=when][value=now]").check()
    page.locator("[data-testid=schedule-form] button[type=submit]").click()
    # "Send now" starts the sending: the campaign's report follows it.
    expect(page).to_have_url(re.compile(r"/report/$"))
    expect(page.get_by_test_id("progress")).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert timezone.now() - campaign.scheduled_at < datetime.timedelta(minutes=2)
    assert_no_sideways_scroll(page, "the report of the campaign being sent")
    top_shot(page, "newsletter-wizard-sending-phone")
    # Once sent, the steps lead to the report; its email stays viewable.
    for step in ("", "theme", "content", "recipients"):
        page.goto(campaign_url(base, org, campaign, step))
        expect(page).to_have_url(re.compile(r"/report/$"))
    page.goto(campaign_url(base, org, campaign, "preview"))
    expect(page).to_have_url(re.compile(r"/preview/$"))
    assert_no_sideways_scroll(page, "the preview of a campaign being sent")
    assert errors == []
    context.close()
