"""Campaigns from the first draft to "scheduled", through the services, as the wizard and
the API use them: a draft with only its title, each setting checked when saved with every
problem at once, a theme bringing its starter blocks and a template its design, included
groups only of the chosen lists, the test send through the mail path marked as a test,
and the schedule refused, naming each problem, until everything is right."""

import datetime

import pytest
from django.utils import timezone

from newsletter import rendering, services
from newsletter.models import CampaignStatus, Contact, Sender, Subscription
from newsletter.services import campaigns, templates
from panel.access import access_for
from panel.errors import Conflict, InvalidInput, PermissionDenied

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(newsletter_world):
    """The newsletter with a verified sender, Ada (subscribed, VIP) and Bob (subscribed)
    on News."""
    w = newsletter_world
    w["sender"] = Sender.objects.create(
        organisation=w["org"], newsletter=w["newsletter"], email="news@jorat.example.test",
        email_key="news@jorat.example.test", name="Jorat", kind="service_mail",
        verified_at=timezone.now(),
    )  # fmt: skip
    for email, first_name, groups in (("ada@example.test", "Ada", [w["vip"]]),
                                      ("bob@example.test", "Bob", [])):  # fmt: skip
        contact = Contact.objects.create(
            organisation=w["org"], newsletter=w["newsletter"], email=email, email_key=email,
            fields={"first_name": first_name},
        )  # fmt: skip
        Subscription.objects.create(
            organisation=w["org"], contact=contact, list=w["news"], status="subscribed"
        )
        contact.groups.add(*groups)
        w[first_name.lower()] = contact
    return w


def _ready(world, **changes):
    """A campaign with everything a schedule needs."""
    theme = next(iter(rendering.THEMES))
    return campaigns.campaign_create(
        access=world["access"], newsletter=world["newsletter"],
        **{"title": "Hello {{ first_name }}", "sender": world["sender"].pk, "theme": theme,
           "lists": [world["news"].pk], **changes},
    )  # fmt: skip


def test_a_draft_needs_only_its_title_and_gets_sensible_defaults(world):
    draft = campaigns.campaign_create(
        access=world["access"], newsletter=world["newsletter"], title="Autumn season"
    )
    assert draft.status == CampaignStatus.DRAFT
    assert draft.utm == {"source": "newsletter", "medium": "email", "campaign": "autumn-season"}
    assert draft.track_opens and draft.track_clicks
    assert campaigns.recipient_count(draft) == 0
    problems = {p["field"] for p in campaigns.campaign_problems(draft)}
    assert problems == {"sender", "content", "lists"}


def test_every_bad_setting_is_named_at_once_and_nothing_is_saved(world, newsletter_world):
    other = services.list_create(access=world["access"], newsletter=world["newsletter"], name="B")
    with pytest.raises(InvalidInput) as raised:
        campaigns.campaign_create(
            access=world["access"], newsletter=world["newsletter"], title="",
            reply_to="not an address", language="de", utm={"source": "a" * 101, "term": "x"},
            theme="neon", lists=[999999], include_groups=[world["vip"].pk],
            content={"blocks": [{"type": "button", "label": "Go", "href": "javascript:alert(1)"}]},
        )  # fmt: skip
    fields = set(raised.value.fields)
    assert {"title", "reply_to", "language", "utm.source", "utm.term", "theme", "lists"} <= fields
    assert any(field.startswith("content.blocks.0") for field in fields)
    assert world["newsletter"].campaigns.count() == 0
    # a group of a list not chosen adds nobody: it is refused, naming it
    with pytest.raises(InvalidInput) as raised:
        campaigns.campaign_create(
            access=world["access"], newsletter=world["newsletter"], title="T",
            lists=[other.pk], include_groups=[world["vip"].pk],
        )  # fmt: skip
    assert "VIP" in raised.value.fields["include_groups"][0]


def test_a_theme_brings_its_starter_and_a_template_its_design(world):
    theme = list(rendering.THEMES)[1]
    draft = campaigns.campaign_create(
        access=world["access"], newsletter=world["newsletter"], title="T", theme=theme
    )
    assert draft.content == rendering.theme_for(theme).starter
    saved = templates.template_from_campaign(access=world["access"], campaign=draft, name="Mine")
    mine = {"blocks": [{"type": "heading", "text": "Only mine", "level": 1}]}
    templates.template_update(access=world["access"], template=saved, content=mine)
    second = campaigns.campaign_create(
        access=world["access"], newsletter=world["newsletter"], title="U", template=saved.pk
    )
    assert (second.theme, second.content["blocks"][0]["text"]) == (theme, "Only mine")
    # editing the campaign leaves the template as it is
    campaigns.campaign_update(access=world["access"], campaign=second, content={"blocks": []})
    saved.refresh_from_db()
    assert saved.content["blocks"][0]["text"] == "Only mine"
    with pytest.raises(Conflict):
        templates.template_create(
            access=world["access"], newsletter=world["newsletter"], name="MINE", theme=theme
        )


def test_an_unknown_variable_stops_the_test_and_the_schedule(world, mailoutbox):
    campaign = _ready(world, preview_text="For {{ frist_name }}")
    with pytest.raises(InvalidInput) as raised:
        campaigns.campaign_test_send(
            access=world["access"], campaign=campaign, emails=["me@x.test"]
        )
    assert "frist_name" in str(raised.value.fields)
    with pytest.raises(InvalidInput):
        campaigns.campaign_schedule(access=world["access"], campaign=campaign)
    assert mailoutbox == []


def test_the_test_send_is_marked_and_written_as_the_contact_receives_it(world, mailoutbox):
    campaign = _ready(world, reply_to="answers@jorat.example.test")
    sent = campaigns.campaign_test_send(
        access=world["access"], campaign=campaign, emails="me@example.test, Me@example.test",
        contact=world["ada"],
    )  # fmt: skip
    assert sent == ["me@example.test"]
    message = mailoutbox[0]
    assert message.subject == "[Test] Hello Ada"
    assert message.extra_headers["X-Panel-Test"] == "yes"
    assert message.from_email == "Jorat <news@jorat.example.test>"
    assert message.reply_to == ["answers@jorat.example.test"]
    html = message.alternatives[0][0]
    assert "Ada" in html and "unsubscribe" in html.lower()
    with pytest.raises(InvalidInput):
        campaigns.campaign_test_send(
            access=world["access"], campaign=campaign, emails=[f"a{i}@x.test" for i in range(11)]
        )


def test_schedule_checks_everything_then_locks_the_campaign_until_back_to_draft(world):
    campaign = _ready(world)
    with pytest.raises(InvalidInput) as raised:
        campaigns.campaign_schedule(
            access=world["access"], campaign=campaign,
            at=timezone.now() - datetime.timedelta(hours=1),
        )  # fmt: skip
    assert "at" in raised.value.fields
    at = timezone.now() + datetime.timedelta(days=2)
    scheduled = campaigns.campaign_schedule(access=world["access"], campaign=campaign, at=at)
    assert (scheduled.status, scheduled.scheduled_at) == (CampaignStatus.SCHEDULED, at)
    with pytest.raises(Conflict) as raised:
        campaigns.campaign_update(access=world["access"], campaign=scheduled, title="Other")
    assert raised.value.code == "not_draft"
    draft = campaigns.campaign_unschedule(access=world["access"], campaign=scheduled)
    assert (draft.status, draft.scheduled_at) == (CampaignStatus.DRAFT, None)


def test_nobody_to_send_to_and_an_unverified_sender_are_problems(world):
    unverified = Sender.objects.create(
        organisation=world["org"], newsletter=world["newsletter"], email="x@outside.test",
        email_key="x@outside.test", kind="outside",
    )  # fmt: skip
    excluded = services.group_create(access=world["access"], contact_list=world["news"], name="All")
    world["ada"].groups.add(excluded)
    world["bob"].groups.add(excluded)
    campaign = _ready(world, sender=unverified.pk, exclude_groups=[excluded.pk])
    messages = {p["field"]: p["message"] for p in campaigns.campaign_problems(campaign)}
    assert "x@outside.test" in messages["sender"]
    assert "Nobody" in messages["lists"]


def test_only_who_manages_the_newsletter_writes_campaigns(world):
    viewer = access_for(world["viewer"], world["org"])
    with pytest.raises(PermissionDenied):
        campaigns.campaign_create(access=viewer, newsletter=world["newsletter"], title="T")
    manager = access_for(world["manager"], world["org"])
    assert campaigns.campaign_create(access=manager, newsletter=world["newsletter"], title="T")
