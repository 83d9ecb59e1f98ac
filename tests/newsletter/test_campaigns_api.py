"""The campaign API as a script uses it: a draft created with its title only, then set up
field by field; the recipient count of the saved selection or of one given in the query
string, which is the number the send will use; the preview rendered for a contact; a
test send; the schedule refused with every problem named, then accepted; and the list of
campaigns in a bounded number of queries whatever their number."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from newsletter import rendering, selectors, services
from newsletter.models import Contact, Sender, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(newsletter_world):
    client = APIClient()
    client.force_authenticate(user=newsletter_world["legal"])
    base = f"/api/v1/organisations/{newsletter_world['org'].pk}/newsletter/"
    client.url = lambda rest="": base + rest
    return client


@pytest.fixture
def audience(newsletter_world):
    """Two lists with overlapping contacts of every standing, a VIP group on News and a
    Press group on Events; a verified sender."""
    w = newsletter_world
    events = services.list_create(access=w["access"], newsletter=w["newsletter"], name="Events")
    press = services.group_create(access=w["access"], contact_list=events, name="Press")
    people = {
        # email: ({list: status}, groups)
        "ada": ({w["news"]: "subscribed", events: "subscribed"}, [w["vip"]]),
        "bob": ({w["news"]: "subscribed"}, []),
        "cy": ({w["news"]: "unsubscribed", events: "subscribed"}, [w["vip"], press]),
        "di": ({w["news"]: "unconfirmed"}, [w["vip"]]),
        "ed": ({w["news"]: "bounced", events: "subscribed"}, []),
        "flo": ({events: "subscribed"}, [press]),
    }
    contacts = {}
    for name, (statuses, groups) in people.items():
        email = f"{name}@example.test"
        contact = Contact.objects.create(
            organisation=w["org"], newsletter=w["newsletter"], email=email, email_key=email,
            fields={"first_name": name.title()},
        )  # fmt: skip
        for contact_list, status in statuses.items():
            Subscription.objects.create(
                organisation=w["org"], contact=contact, list=contact_list, status=status
            )
        contact.groups.add(*groups)
        contacts[name] = contact
    sender = Sender.objects.create(
        organisation=w["org"], newsletter=w["newsletter"], email="news@jorat.example.test",
        email_key="news@jorat.example.test", kind="service_mail", verified_at=timezone.now(),
    )  # fmt: skip
    return {**w, "events": events, "press": press, "contacts": contacts, "sender": sender}


def test_a_script_writes_a_campaign_up_to_its_schedule(api, audience, mailoutbox):
    created = api.post(
        api.url(f"newsletters/{audience['newsletter'].pk}/campaigns/"),
        {"title": "Season {{ first_name }}"},
        format="json",
    )
    assert created.status_code == 201, created.content
    campaign = created.json()
    assert campaign["status"] == "draft" and campaign["id"]
    assert {p["field"] for p in campaign["problems"]} == {"sender", "content", "lists"}
    url = api.url(f"campaigns/{campaign['id']}/")

    theme = next(iter(rendering.THEMES))
    changed = api.patch(
        url,
        {"sender": audience["sender"].pk, "theme": theme, "lists": [audience["news"].pk],
         "utm": {"source": "jorat", "medium": "email", "campaign": "season"},
         "track_clicks": False},
        format="json",
    )  # fmt: skip
    assert changed.status_code == 200, changed.content
    assert changed.json()["problems"] == []
    assert changed.json()["content"] == rendering.theme_for(theme).starter

    count = api.get(url + "recipients/count/")
    assert count.json() == {"count": 2}  # Ada and Bob; Cy left, Di unconfirmed, Ed bounced

    preview = api.get(url + "preview/", {"contact": audience["contacts"]["ada"].pk})
    assert preview.status_code == 200
    assert preview.json()["subject"] == "Season Ada"
    assert "utm_source=jorat" in preview.json()["html"]
    assert preview.json()["text"].strip()

    tested = api.post(url + "test/", {"emails": ["me@example.test"]}, format="json")
    assert tested.status_code == 200, tested.content
    assert tested.json() == {"sent_to": ["me@example.test"]}
    assert mailoutbox[0].subject.startswith("[Test]")

    scheduled = api.post(url + "schedule/", {}, format="json")
    assert scheduled.status_code == 200, scheduled.content
    assert scheduled.json()["status"] == "scheduled" and scheduled.json()["scheduled_at"]
    assert api.patch(url, {"title": "x"}, format="json").status_code == 409
    back = api.delete(url + "schedule/")
    assert back.json()["status"] == "draft"


def test_the_schedule_names_every_problem(api, audience):
    created = api.post(
        api.url(f"newsletters/{audience['newsletter'].pk}/campaigns/"),
        {"title": "Hi {{ nickname }}"},
        format="json",
    )
    refused = api.post(api.url(f"campaigns/{created.json()['id']}/schedule/"), {}, format="json")
    assert refused.status_code == 400
    fields = refused.json()["fields"]
    assert {"sender", "content", "lists", "title"} <= set(fields)
    assert "nickname" in " ".join(fields["title"])


@pytest.mark.parametrize(
    "lists, include, exclude",
    [
        (["news"], [], []),
        (["news", "events"], [], []),
        (["news", "events"], ["vip"], []),
        (["news", "events"], ["vip", "press"], []),
        (["news", "events"], [], ["press"]),
        (["news"], [], ["press"]),  # excluded from a list not chosen: still never a recipient
        (["news", "events"], ["press"], ["vip"]),
    ],
)
def test_the_count_is_the_recipients_of_the_selection(api, audience, lists, include, exclude):
    """The count of a selection in the query string, as the wizard asks while choosing,
    is the number of recipients computed here by hand, and the send's own set."""
    created = api.post(
        api.url(f"newsletters/{audience['newsletter'].pk}/campaigns/"), {"title": "T"},
        format="json",
    )  # fmt: skip
    objects = {"news": audience["news"], "events": audience["events"], "vip": audience["vip"],
               "press": audience["press"]}  # fmt: skip
    query = {
        "lists": ",".join(str(objects[n].pk) for n in lists),
        "include_groups": ",".join(str(objects[n].pk) for n in include),
        "exclude_groups": ",".join(str(objects[n].pk) for n in exclude),
    }
    answered = api.get(api.url(f"campaigns/{created.json()['id']}/recipients/count/"), query)
    assert answered.status_code == 200, answered.content

    expected = set()
    for name, contact in audience["contacts"].items():
        subscribed = {s.list_id for s in contact.subscriptions.all() if s.status == "subscribed"}
        chosen = subscribed & {objects[n].pk for n in lists}
        groups = list(contact.groups.all())
        if not chosen:
            continue
        if include and not any(g.pk in {objects[n].pk for n in include} and g.list_id in chosen
                               for g in groups):  # fmt: skip
            continue
        if any(g.pk in {objects[n].pk for n in exclude} for g in groups):
            continue
        expected.add(name)
    assert answered.json() == {"count": len(expected)}
    segment = {
        "newsletter": audience["newsletter"].pk,
        "lists": [objects[n].pk for n in lists],
        "include_groups": [objects[n].pk for n in include],
        "exclude_groups": [objects[n].pk for n in exclude],
    }
    sent_to = {c.email.split("@")[0] for c in selectors.recipients(**segment)}
    assert sent_to == expected


def test_another_newsletters_contact_is_not_previewed(api, audience, newsletter_world):
    other = services.newsletter_create(access=audience["access"], name="Other")
    stranger = Contact.objects.create(
        organisation=audience["org"], newsletter=other, email="s@x.test", email_key="s@x.test"
    )
    created = api.post(
        api.url(f"newsletters/{audience['newsletter'].pk}/campaigns/"), {"title": "T"},
        format="json",
    )  # fmt: skip
    answer = api.get(
        api.url(f"campaigns/{created.json()['id']}/preview/"), {"contact": stranger.pk}
    )
    assert answer.status_code == 404


def test_the_campaign_list_takes_the_same_queries_for_2_or_20(api, audience):
    url = api.url(f"newsletters/{audience['newsletter'].pk}/campaigns/")

    def listed(n):
        while audience["newsletter"].campaigns.count() < n:
            api.post(url, {"title": "T", "lists": [audience["news"].pk],
                           "include_groups": [audience["vip"].pk]}, format="json")  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            answer = api.get(url)
        assert len(answer.json()["results"] if "results" in answer.json() else answer.json()) == n
        return len(queries)

    assert listed(2) == listed(20)
