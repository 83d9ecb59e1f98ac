"""The newsletter's public API, as a site that builds its own form uses it: no account,
only signed tokens, the same rules as the public pages, and a rate limit per address."""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from newsletter import links
from newsletter.models import Consent, Contact, Subscription, SubscriptionStatus
from newsletter.services.contacts import contact_create
from tests.newsletter import test_public_forms

pytestmark = pytest.mark.django_db

# the pages' world: the "News" form asks the first name and the seat; an "Events" list
world = test_public_forms.world

API = "/api/v1/"
ADDRESS = "grace@example.test"


@pytest.fixture
def script():
    return APIClient(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")


def form_api(contact_list) -> str:
    return f"{API}newsletter-forms/{links.form_token(contact_list)}/"


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def subscribe(script, contact_list, captured, **body):
    with captured(execute=True):
        return script.post(form_api(contact_list), {"email": ADDRESS, **body}, format="json")


def test_a_form_describes_its_fields(world, script):
    answer = script.get(form_api(world["news"]))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["newsletter"], body["list"]) == ("Jorat news", "News")
    assert body["fields"] == [
        {"key": "first_name", "label": "First name", "type": "text"},
        {"key": "seat", "label": "Seat", "type": "choice", "choices": ["Stalls", "Balcony"]},
    ]
    assert body["honeypot"] == "website"
    assert body["url"] == links.form_url(world["news"])
    assert "no-cache" in answer["Cache-Control"] or "max-age=0" in answer["Cache-Control"]


def test_a_bad_token_answers_the_404_of_an_unknown_address(world, script):
    good = links.form_token(world["news"])
    unknown = script.get(f"{API}no-such-thing/").json()
    for token in (good[:-1] + ("A" if good[-1] != "A" else "B"), "nothing", links.preferences_token(
        contact_create(access=world["access"], newsletter=world["newsletter"], email=ADDRESS)
    )):  # fmt: skip
        answer = script.get(f"{API}newsletter-forms/{token}/")
        assert answer.status_code == 404
        assert answer.json() == unknown
        assert script.post(f"{API}newsletter-links/confirm/{token}/").status_code == 404


def test_signing_up_names_every_field_at_fault(world, script, django_capture_on_commit_callbacks):
    answer = subscribe(
        script, world["news"], django_capture_on_commit_callbacks,
        email="nope", fields={"seat": "Gallery", "vip": True},
    )  # fmt: skip
    assert answer.status_code == 400
    fields = answer.json()["fields"]
    assert set(fields) == {"email", "fields.seat", "fields.vip"}
    assert fields["fields.vip"] == ["This form does not ask for this field."]
    assert not Contact.objects.exists() and mail.outbox == []


def test_signing_up_then_confirming_through_the_api(
    world, script, django_capture_on_commit_callbacks
):
    answer = subscribe(
        script, world["news"], django_capture_on_commit_callbacks,
        fields={"first_name": "Grace"}, page="https://theatre.example/news",
    )  # fmt: skip
    assert answer.status_code == 202
    assert "Check your inbox" in answer.json()["detail"]
    contact = Contact.objects.get()
    consent = Consent.objects.get()
    assert (consent.ip_address, consent.detail) == ("203.0.113.9", "https://theatre.example/news")
    assert Subscription.objects.get().status == SubscriptionStatus.UNCONFIRMED

    [message] = mail.outbox
    link = re.search(r"https?://\S+/n/confirm/\S+/", message.body).group(0)
    confirm = f"{API}newsletter-links/confirm/{token_of(link)}/"
    done = script.post(confirm)
    assert done.status_code == 200
    assert done.json() == {"list": "News", "status": "subscribed", "already": False}
    assert script.post(confirm).json()["already"] is True
    assert Subscription.objects.get(contact=contact).status == SubscriptionStatus.SUBSCRIBED
    assert Consent.objects.get().confirmed_at is not None


def test_a_robot_filling_the_honeypot_gets_202_and_nothing_happens(
    world, script, django_capture_on_commit_callbacks
):
    answer = subscribe(script, world["news"], django_capture_on_commit_callbacks, website="x")
    assert answer.status_code == 202
    assert not Contact.objects.exists() and mail.outbox == []


def test_the_public_api_is_rate_limited_per_address(world, script, settings):
    settings.NEWSLETTER_FORM_RATE = "2/min"
    codes = [script.get(form_api(world["news"])).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = script.get(form_api(world["news"]))
    assert limited.json()["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    assert APIClient(REMOTE_ADDR="203.0.113.10").get(form_api(world["news"])).status_code == 200


def test_preferences_are_read_and_changed_by_their_token(world, script):
    contact = contact_create(
        access=world["access"], newsletter=world["newsletter"], email=ADDRESS,
        fields={"first_name": "Grace"},
        subscriptions=[{"list": world["news"].pk}, {"list": world["events"].pk}],
    )  # fmt: skip
    url = f"{API}newsletter-links/preferences/{links.preferences_token(contact)}/"
    body = script.get(url).json()
    assert body["email"] == ADDRESS
    assert [f["key"] for f in body["fields"]] == ["first_name", "seat"]
    assert body["fields"][0]["value"] == "Grace"
    assert {(s["name"], s["status"]) for s in body["lists"]} == {
        ("News", "subscribed"), ("Events", "subscribed"),
    }  # fmt: skip

    changed = script.patch(url, {"fields": {"first_name": "Ada"}, "lists": [world["news"].pk]},
                           format="json")  # fmt: skip
    assert changed.status_code == 200
    assert changed.json()["fields"][0]["value"] == "Ada"
    assert {(s["name"], s["status"]) for s in changed.json()["lists"]} == {
        ("News", "subscribed"), ("Events", "unsubscribed"),
    }  # fmt: skip

    refused = script.patch(url, {"fields": {"seat": "Gallery"}, "lists": [999999]}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["fields"]) == {"fields.seat", "lists"}

    left = script.patch(url, {"leave_all": True}, format="json")
    assert {s["status"] for s in left.json()["lists"]} == {"unsubscribed"}


def test_unsubscribing_through_the_api(world, script):
    contact = contact_create(
        access=world["access"], newsletter=world["newsletter"], email=ADDRESS,
        subscriptions=[{"list": world["news"].pk}],
    )  # fmt: skip
    url = f"{API}newsletter-links/unsubscribe/{token_of(links.unsubscribe_url(contact))}/"
    assert script.get(url).json() == {"lists": ["News"]}
    assert script.post(url).json() == {"lists": ["News"]}
    assert script.post(url).json() == {"lists": []}
    assert Subscription.objects.get().status == SubscriptionStatus.UNSUBSCRIBED


def test_an_expired_confirmation_answers_410(world, script, monkeypatch,
                                             django_capture_on_commit_callbacks):  # fmt: skip
    import time

    from django.core import signing

    subscribe(script, world["news"], django_capture_on_commit_callbacks)
    link = re.search(r"https?://\S+/n/confirm/\S+/", mail.outbox[0].body).group(0)
    later = time.time() + links.CONFIRM_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    answer = script.post(f"{API}newsletter-links/confirm/{token_of(link)}/")
    assert answer.status_code == 410
    assert answer.json()["code"] == "link_expired"
    assert Subscription.objects.get().status == SubscriptionStatus.UNCONFIRMED


def test_a_number_where_text_is_expected_is_refused_by_name(world, script):
    for field in ("email", "website", "page"):
        answer = script.post(form_api(world["news"]), {"email": ADDRESS, field: 123}, format="json")
        assert answer.status_code == 400, field
        assert field in answer.json()["fields"]
    assert not Contact.objects.exists()
