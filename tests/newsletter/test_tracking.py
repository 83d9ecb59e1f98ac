"""Opens and clicks of a campaign's emails, as the recipient's mail program sends them:
the pixel and the tracked links of newsletter/signing.py, what the campaign's events and
the recipient's row then say, what is a machine's, and what is refused."""

import datetime
import re

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone

from newsletter import services, signing
from newsletter.models import (
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    ContactEvent,
    ContactEventKind,
    RecipientState,
)
from newsletter.services.contacts import contact_create
from newsletter.views.tracking import PIXEL

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
APPLE_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"  # noqa: E501
)
APPLE_PRIVACY = "Mozilla/5.0"
GOOGLE_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"  # noqa: E501
)
LINKS = [
    "https://jorat.example.test/programme?utm_source=newsletter&utm_medium=email&utm_campaign=march",
    "https://tickets.example.test/buy?show=7&utm_source=newsletter&utm_medium=email&utm_campaign=march",
]


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def world(newsletter_world):
    """Grace, subscribed to "News", was sent the "March" campaign an hour ago."""
    w = newsletter_world
    grace = contact_create(
        access=w["access"], newsletter=w["newsletter"], email="grace@example.test",
        subscriptions=[{"list": w["news"].pk}],
    )  # fmt: skip
    campaign = Campaign.objects.create(
        organisation=w["org"], newsletter=w["newsletter"], title="March", status="sending",
        scheduled_at=timezone.now(), links=LINKS,
    )  # fmt: skip
    campaign.lists.set([w["news"]])
    recipient = CampaignRecipient.objects.create(
        campaign=campaign, contact=grace, state=RecipientState.SENT,
        sent_at=timezone.now() - datetime.timedelta(hours=1),
    )  # fmt: skip
    return {**w, "grace": grace, "campaign": campaign, "recipient": recipient}


@pytest.fixture
def reader():
    return Client(HTTP_USER_AGENT=FIREFOX)


def pixel(world, contact=None):
    return _path(signing.open_url(world["campaign"].pk, (contact or world["grace"]).pk))


def link(world, index, contact=None):
    return _path(signing.click_url(world["campaign"].pk, (contact or world["grace"]).pk, index))


def events(world, kind=None):
    found = CampaignEvent.objects.filter(campaign=world["campaign"])
    return found.filter(kind=kind) if kind else found


def history(world, kind):
    return ContactEvent.objects.filter(contact=world["grace"], kind=kind)


def recipient(world):
    return CampaignRecipient.objects.get(pk=world["recipient"].pk)


def a_minute_later(world):
    """Moves what was recorded a minute back, as if the next hit came a minute later."""
    minute = datetime.timedelta(minutes=1)
    events(world).update(at=F("at") - minute)
    CampaignRecipient.objects.filter(pk=world["recipient"].pk).update(
        sent_at=F("sent_at") - minute, opened_at=F("opened_at") - minute,
        clicked_at=F("clicked_at") - minute,
    )  # fmt: skip


def assert_pixel(answer):
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/gif"
    assert answer.content == PIXEL
    assert "no-store" in answer["Cache-Control"]


# -- opens --------------------------------------------------------------------------------------


def test_an_open_answers_the_pixel_and_records_the_first_open_once(world, reader):
    assert_pixel(reader.get(pixel(world)))
    first = recipient(world).opened_at
    assert first is not None
    [event] = events(world)
    assert (event.kind, event.contact, event.machine) == ("open", world["grace"], False)
    [line] = history(world, ContactEventKind.OPENED)
    assert line.detail == {"campaign": world["campaign"].pk}

    assert_pixel(reader.get(pixel(world)))  # opened again: counted, not a new first open
    assert events(world, "open").count() == 2
    assert recipient(world).opened_at == first
    assert history(world, ContactEventKind.OPENED).count() == 1


def test_a_forged_or_altered_pixel_answers_the_same_image_and_records_nothing(world, reader):
    campaign, grace = world["campaign"], world["grace"]
    real = signing.open_token(campaign.pk, grace.pk)
    signature = real.rsplit("-", 1)[1]
    forged = [
        real[:-1] + ("0" if real[-1] != "0" else "1"),  # one character of the signature
        f"{campaign.pk:x}-{grace.pk + 1:x}-{signature}",  # another contact, same signature
        signing.click_token(campaign.pk, grace.pk, 0),  # a link's token
        signing.sign("b", campaign.pk, grace.pk),  # a bounce address's token
        "not-a-token",
    ]
    for token in forged:
        assert_pixel(reader.get(f"/n/o/{token}.gif"))
    assert not events(world).exists()
    assert recipient(world).opened_at is None
    assert not history(world, ContactEventKind.OPENED).exists()


def test_a_head_request_for_the_pixel_records_nothing(world, reader):
    answer = reader.head(pixel(world))
    assert answer.status_code == 200 and answer["Content-Type"] == "image/gif"
    assert not events(world).exists()


# -- clicks -------------------------------------------------------------------------------------


def test_a_click_goes_to_exactly_the_campaigns_link_with_its_utm(world, reader):
    answer = reader.get(link(world, 1) + "?next=https://evil.example.test/")
    assert answer.status_code == 302
    assert answer["Location"] == LINKS[1]
    assert "no-store" in answer["Cache-Control"]
    [event] = events(world)
    assert (event.kind, event.link_index, event.machine) == ("click", 1, False)
    row = recipient(world)
    assert row.clicked_at is not None
    assert row.opened_at == row.clicked_at  # a click is an open, even with images off
    [line] = history(world, ContactEventKind.CLICKED)
    assert line.detail == {"campaign": world["campaign"].pk, "url": LINKS[1]}

    a_minute_later(world)
    first = recipient(world).clicked_at
    assert reader.get(link(world, 0))["Location"] == LINKS[0]
    assert list(events(world).values_list("link_index", flat=True)) == [1, 0]
    assert not events(world).filter(machine=True).exists()
    assert recipient(world).clicked_at == first
    assert history(world, ContactEventKind.CLICKED).count() == 1


def test_a_link_the_campaign_does_not_have_or_a_forged_one_is_a_404(world, reader):
    campaign, grace = world["campaign"], world["grace"]
    assert reader.get(link(world, 2)).status_code == 404  # signed, but no such link
    real = signing.click_token(campaign.pk, grace.pk, 0)
    assert reader.get(f"/n/c/{real[:-1]}{'0' if real[-1] != '0' else '1'}").status_code == 404
    signature = real.rsplit("-", 1)[1]
    assert reader.get(f"/n/c/{campaign.pk:x}-{grace.pk:x}-1-{signature}").status_code == 404
    assert reader.get(f"/n/c/{signing.open_token(campaign.pk, grace.pk)}").status_code == 404
    assert not events(world).exists()


def test_a_link_that_is_not_a_web_link_is_never_followed(world, reader):
    world["campaign"].links = ["javascript:alert(1)", "mailto:box@example.test"]
    world["campaign"].save(update_fields=["links"])
    assert reader.get(link(world, 0)).status_code == 404
    assert reader.get(link(world, 1)).status_code == 404
    assert not events(world).exists()


def test_a_campaign_without_tracking_records_nothing(world, reader):
    campaign = world["campaign"]
    campaign.track_opens = campaign.track_clicks = False
    campaign.save(update_fields=["track_opens", "track_clicks"])
    assert_pixel(reader.get(pixel(world)))
    assert reader.get(link(world, 0)).status_code == 404
    assert not events(world).exists()
    row = recipient(world)
    assert row.opened_at is None and row.clicked_at is None


def test_a_contact_of_another_newsletter_cannot_use_this_campaign(world, reader):
    other_newsletter = services.newsletter_create(access=world["access"], name="Other news")
    stranger = contact_create(
        access=world["access"], newsletter=other_newsletter, email="stranger@example.test"
    )
    assert_pixel(reader.get(pixel(world, stranger)))
    assert reader.get(link(world, 0, stranger)).status_code == 404
    # even with a recipient row that should never have been written
    CampaignRecipient.objects.create(
        campaign=world["campaign"], contact=stranger, state=RecipientState.SENT,
        sent_at=timezone.now() - datetime.timedelta(hours=1),
    )  # fmt: skip
    assert_pixel(reader.get(pixel(world, stranger)))
    assert reader.get(link(world, 0, stranger)).status_code == 404
    assert not events(world).exists()
    assert not ContactEvent.objects.filter(contact=stranger, kind="opened").exists()


def test_a_contact_who_was_not_a_recipient_records_nothing(world, reader):
    ada = contact_create(
        access=world["access"], newsletter=world["newsletter"], email="ada@example.test",
        subscriptions=[{"list": world["news"].pk}],
    )  # fmt: skip
    assert_pixel(reader.get(pixel(world, ada)))
    assert reader.get(link(world, 0, ada)).status_code == 404
    assert not events(world).exists()


# -- machines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "rule"),
    [(APPLE_PRIVACY, "apple-privacy"), (GOOGLE_PROXY, "google-proxy"), ("", "no-agent")],
)
def test_a_mail_privacy_proxy_open_is_a_machines_and_counted_apart(world, agent, rule):
    assert_pixel(Client(HTTP_USER_AGENT=agent).get(pixel(world)))
    [event] = events(world)
    assert event.machine is True and event.detail == {"machine": rule}
    assert recipient(world).opened_at is None
    assert not history(world, ContactEventKind.OPENED).exists()

    # the person's own open afterwards is theirs
    Client(HTTP_USER_AGENT=APPLE_MAIL).get(pixel(world))
    assert events(world).filter(machine=False).count() == 1
    assert recipient(world).opened_at is not None
    assert history(world, ContactEventKind.OPENED).count() == 1


def test_a_click_seconds_after_the_email_left_is_a_scanners(world, reader):
    CampaignRecipient.objects.filter(pk=world["recipient"].pk).update(
        sent_at=timezone.now() - datetime.timedelta(seconds=2)
    )
    answer = reader.get(link(world, 0))
    assert answer.status_code == 302 and answer["Location"] == LINKS[0]  # still followed
    [event] = events(world)
    assert event.machine is True and event.detail == {"machine": "too-soon"}
    row = recipient(world)
    assert row.clicked_at is None and row.opened_at is None
    assert not history(world, ContactEventKind.CLICKED).exists()


def test_every_link_clicked_at_once_is_a_scanner_the_first_one_included(world, reader):
    assert reader.get(link(world, 0)).status_code == 302
    assert recipient(world).clicked_at is not None  # alone, it looked like a person
    assert reader.get(link(world, 1)).status_code == 302
    assert set(events(world).values_list("machine", flat=True)) == {True}
    assert {e.detail["machine"] for e in events(world)} == {"burst"}
    row = recipient(world)
    assert row.clicked_at is None and row.opened_at is None

    a_minute_later(world)  # the person, later, following one link
    reader.get(link(world, 1))
    assert recipient(world).clicked_at is not None
    assert events(world).filter(machine=False).count() == 1


def test_the_same_link_clicked_twice_is_still_a_person(world, reader):
    reader.get(link(world, 0))
    reader.get(link(world, 0))
    assert set(events(world).values_list("machine", flat=True)) == {False}


def test_a_head_request_on_a_link_is_a_machines_click(world, reader):
    answer = reader.head(link(world, 1))
    assert answer.status_code == 302 and answer["Location"] == LINKS[1]
    [event] = events(world)
    assert event.machine is True and event.detail == {"machine": "head-request"}
    assert recipient(world).clicked_at is None


def test_a_scanners_user_agent_is_a_machines_click(world):
    Client(HTTP_USER_AGENT="python-requests/2.32").get(link(world, 0))
    [event] = events(world)
    assert event.machine is True and event.detail == {"machine": "scanner"}


# -- delivery, and the cost of a hit ------------------------------------------------------------


@pytest.mark.parametrize("agent", [FIREFOX, APPLE_PRIVACY])
def test_any_open_proves_delivery_and_ends_the_soft_bounces(world, agent):
    world["grace"].soft_bounces = 2
    world["grace"].save(update_fields=["soft_bounces"])
    Client(HTTP_USER_AGENT=agent).get(pixel(world))
    world["grace"].refresh_from_db()
    assert world["grace"].soft_bounces == 0


def test_a_click_ends_the_soft_bounces(world, reader):
    world["grace"].soft_bounces = 1
    world["grace"].save(update_fields=["soft_bounces"])
    reader.get(link(world, 0))
    world["grace"].refresh_from_db()
    assert world["grace"].soft_bounces == 0


def test_a_hit_takes_a_few_statements(world, reader, django_assert_max_num_queries):
    world["grace"].soft_bounces = 1
    world["grace"].save(update_fields=["soft_bounces"])
    # the first open: the recipient, the event, the first open, the history, the bounces
    with django_assert_max_num_queries(5):
        reader.get(pixel(world))
    with django_assert_max_num_queries(2):  # then: the recipient and the event
        reader.get(pixel(world))
    # the first click: the recipient, the burst, the event, the first click, the history
    with django_assert_max_num_queries(5):
        reader.get(link(world, 0))
    with django_assert_max_num_queries(3):  # then: the recipient, the burst, the event
        reader.get(link(world, 0))
    with django_assert_max_num_queries(1):  # a link it does not have: only the lookup
        reader.get(link(world, 9))
    with django_assert_max_num_queries(0):  # a forged token: not even a lookup
        reader.get("/n/o/1-2-0123456789abcdef.gif")
