"""The campaign wizard in the Manager, page by page, as a person goes through it: the
set-up saves a draft, the theme brings its blocks, the content is saved from the
editor's JSON, the recipients page counts as the lists and groups are chosen, the
preview shows the email for a contact with a test send, and the schedule says what is
missing before it accepts. Someone with a view grant sees the pages without forms."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from newsletter import rendering
from newsletter.models import Campaign, CampaignStatus, Contact, Sender, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(newsletter_world):
    w = newsletter_world
    w["sender"] = Sender.objects.create(
        organisation=w["org"], newsletter=w["newsletter"], email="news@jorat.example.test",
        email_key="news@jorat.example.test", name="Jorat", kind="service_mail",
        verified_at=timezone.now(),
    )  # fmt: skip
    for email, name, vip in (("ada@example.test", "Ada", True), ("bob@example.test", "Bob", False)):
        contact = Contact.objects.create(
            organisation=w["org"], newsletter=w["newsletter"], email=email, email_key=email,
            fields={"first_name": name},
        )  # fmt: skip
        Subscription.objects.create(
            organisation=w["org"], contact=contact, list=w["news"], status="subscribed"
        )
        if vip:
            contact.groups.add(w["vip"])
        w[name.lower()] = contact
    return w


def _url(world, name, *args):
    return reverse(f"newsletter:{name}", args=[world["org"].pk, *args])


def test_the_wizard_from_set_up_to_schedule(client, world, mailoutbox):
    client.force_login(world["legal"])
    newsletter = world["newsletter"]
    page = client.get(_url(world, "campaign-list", newsletter.pk))
    assert b"No campaign yet" in page.content

    created = client.post(
        _url(world, "campaign-create", newsletter.pk),
        {"title": "Season {{ first_name }}", "preview_text": "Three premieres",
         "sender": world["sender"].pk, "language": "en", "track_opens": "on",
         "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": ""},
    )  # fmt: skip
    campaign = Campaign.objects.get(newsletter=newsletter)
    assert created.status_code == 302 and created.url == _url(world, "campaign-theme", campaign.pk)
    assert (campaign.track_opens, campaign.track_clicks) == (True, False)
    assert campaign.utm["campaign"] == "season"

    # the set-up lists the variables a title or a text may write: the address and the fields
    setup = client.get(_url(world, "campaign-setup", campaign.pk)).content.decode()
    variables = setup[setup.index('data-testid="variables"') :]
    assert "{{ email }}" in variables and "{{ first_name }}" in variables and "Seat" in variables

    themes = client.get(created.url)
    for key in rendering.THEMES:
        assert f'data-theme="{key}"'.encode() in themes.content
        sample = client.get(_url(world, "campaign-theme-sample", campaign.pk, key))
        assert sample.status_code == 200 and b"<html" in sample.content.lower()
        assert "sandbox" in sample["Content-Security-Policy"]
    chosen = client.post(created.url, {"theme": "bold"})
    assert chosen.url == _url(world, "campaign-content", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.content == rendering.theme_for("bold").starter

    content = {"blocks": [{"type": "heading", "text": "Hello {{ first_name }}", "level": 1},
                          {"type": "text", "html": "<p>Our <b>season</b>.</p>"}]}  # fmt: skip
    editor_page = client.get(chosen.url)
    assert editor_page.status_code == 200
    saved = client.post(chosen.url, {"content": json.dumps(content)})
    assert saved.url == _url(world, "campaign-recipients", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.content["blocks"][0]["text"] == "Hello {{ first_name }}"
    preview = client.post(
        _url(world, "campaign-content-preview", campaign.pk), {"content": json.dumps(content)}
    )
    assert b"season" in preview.content

    count_url = _url(world, "campaign-recipient-count", campaign.pk)
    assert client.get(count_url, {"lists": [world["news"].pk]}).json() == {"count": 2}
    answer = client.get(
        count_url, {"lists": [world["news"].pk], "exclude_groups": [world["vip"].pk]}
    )
    assert answer.json() == {"count": 1}
    recipients = client.post(
        saved.url, {"lists": [world["news"].pk], "exclude_groups": [world["vip"].pk]}
    )
    assert recipients.url == _url(world, "campaign-preview", campaign.pk)

    preview_page = client.get(recipients.url, {"contact": world["bob"].pk})
    assert b"Season Bob" in preview_page.content
    email = client.get(
        _url(world, "campaign-preview-email", campaign.pk), {"contact": world["bob"].pk}
    )
    assert b"Hello Bob" in email.content
    tested = client.post(recipients.url, {"emails": "me@example.test", "contact": world["bob"].pk})
    assert tested.status_code == 302
    assert mailoutbox[0].subject == "[Test] Season Bob"

    schedule_url = _url(world, "campaign-schedule", campaign.pk)
    assert b"cannot be scheduled yet" not in client.get(schedule_url).content
    later = (timezone.localtime() + timezone.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    scheduled = client.post(schedule_url, {"when": "later", "at": later})
    assert scheduled.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    locked = client.get(_url(world, "campaign-setup", campaign.pk))
    assert b"Back to draft" in locked.content

    # "Send now" starts the sending at once; the campaign is then its report.
    done = client.post(schedule_url, {"when": "now"})
    report = _url(world, "campaign-report", campaign.pk)
    assert (done.status_code, done.url) == (302, report)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert client.get(_url(world, "campaign-setup", campaign.pk)).url == report
    assert client.get(_url(world, "campaign-preview", campaign.pk)).status_code == 200


def test_the_schedule_page_says_what_is_missing(client, world):
    client.force_login(world["legal"])
    client.post(
        _url(world, "campaign-create", world["newsletter"].pk),
        {"title": "Bare", "language": "en", "utm_source": "", "utm_medium": ""},
    )
    campaign = Campaign.objects.get(title="Bare")
    page = client.get(_url(world, "campaign-schedule", campaign.pk))
    assert b"cannot be scheduled yet" in page.content
    assert (
        b"Choose the sender address" in page.content and b"Choose at least one list" in page.content
    )
    refused = client.post(_url(world, "campaign-schedule", campaign.pk), {"when": "now"})
    assert refused.status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_a_viewer_sees_the_steps_but_changes_nothing(client, world):
    client.force_login(world["legal"])
    client.post(
        _url(world, "campaign-create", world["newsletter"].pk),
        {"title": "Seen", "language": "en", "utm_source": "", "utm_medium": ""},
    )
    campaign = Campaign.objects.get(title="Seen")
    client.force_login(world["viewer"])
    for step in ("setup", "theme", "content", "recipients", "preview", "schedule"):
        page = client.get(_url(world, f"campaign-{step}", campaign.pk))
        assert page.status_code == 200, step
    assert (
        client.post(_url(world, "campaign-setup", campaign.pk), {"title": "X"}).status_code == 403
    )
    client.force_login(world["user"])
    assert client.get(_url(world, "campaign-setup", campaign.pk)).status_code == 404
