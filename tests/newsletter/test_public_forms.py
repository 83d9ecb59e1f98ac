"""The public pages of a newsletter, as a visitor uses them: a list's hosted form and the
snippet embedded on another site, the confirmation link (double opt-in), the preferences
page and the unsubscribe page; what the organisation then sees on the contact's page."""

import re
import time
from html.parser import HTMLParser

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.test import Client

from newsletter import links, services
from newsletter.models import (
    Campaign,
    Consent,
    Contact,
    ContactEvent,
    ContactEventKind,
    Subscription,
    SubscriptionStatus,
)
from newsletter.selectors import recipient_count
from newsletter.services.contacts import contact_create, contact_update
from panel.errors import InvalidInput

pytestmark = pytest.mark.django_db

ADDRESS = "grace@example.test"


@pytest.fixture
def world(newsletter_world):
    """The "News" list's form asks the first name and the seat; an "Events" list too."""
    w = newsletter_world
    services.list_update(
        access=w["access"], contact_list=w["news"], form_fields=[w["first_name"].pk, w["seat"].pk]
    )
    w["events"] = services.list_create(
        access=w["access"], newsletter=w["newsletter"], name="Events"
    )
    return w


@pytest.fixture
def visitor():
    return Client(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Firefox/140")


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def sign_up(client, contact_list, captured, **post):
    data = {"email": ADDRESS, "field_first_name": "Grace", "field_seat": "Balcony", **post}
    with captured(execute=True):
        return client.post(_path(links.form_url(contact_list)), data)


def standing(contact, contact_list) -> str:
    return Subscription.objects.get(contact=contact, list=contact_list).status


def link_in(message) -> str:
    return re.search(r"https?://\S+/n/\S+/", message.body).group(0)


# -- the form -----------------------------------------------------------------------------------


def test_the_hosted_form_shows_the_list_its_fields_and_what_one_agrees_to(world, visitor):
    page = visitor.get(_path(links.form_url(world["news"])))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Jorat news" in html and "News" in html
    assert 'name="email"' in html and 'name="field_first_name"' in html
    assert "Stalls" in html and "Balcony" in html
    assert 'name="website"' in html  # the honeypot
    assert "every email has a link to unsubscribe" in html
    assert page["Cache-Control"].startswith("max-age=0")


def test_every_field_at_fault_is_named_at_once_and_nothing_is_written(
    world, visitor, django_capture_on_commit_callbacks
):
    answer = sign_up(
        visitor, world["news"], django_capture_on_commit_callbacks,
        email="grace@", field_seat="Gallery", field_first_name="x" * 1001,
    )  # fmt: skip
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "Please fix these 3 problems" in html
    assert "Email address: Enter a valid email address." in html
    assert "Seat: Choose one of: Stalls, Balcony." in html
    assert "First name: At most 1000 characters." in html
    assert 'value="grace@"' in html  # what was typed stays
    assert not Contact.objects.exists() and not Consent.objects.exists()
    assert mail.outbox == []


def test_a_robot_filling_the_honeypot_is_thanked_and_subscribed_to_nothing(
    world, visitor, django_capture_on_commit_callbacks
):
    answer = sign_up(visitor, world["news"], django_capture_on_commit_callbacks,
                     website="http://spam.example")  # fmt: skip
    assert answer.status_code == 302
    assert answer["Location"].endswith("/thanks/")
    assert not Contact.objects.exists()
    assert not Consent.objects.exists() and not ContactEvent.objects.exists()
    assert mail.outbox == []


def test_signing_up_mails_a_link_and_subscribes_nobody_yet(
    world, visitor, django_capture_on_commit_callbacks
):
    answer = sign_up(visitor, world["news"], django_capture_on_commit_callbacks)
    assert answer.status_code == 302
    thanks = visitor.get(answer["Location"])
    assert "Check your inbox" in thanks.content.decode()

    contact = Contact.objects.get()
    assert contact.email == ADDRESS
    assert contact.fields == {"first_name": "Grace", "seat": "Balcony"}
    assert standing(contact, world["news"]) == SubscriptionStatus.UNCONFIRMED
    assert recipient_count(newsletter=world["newsletter"], lists=[world["news"]]) == 0
    consent = Consent.objects.get()
    assert (consent.source, consent.list, consent.ip_address) == (
        "form",
        world["news"],
        "198.51.100.7",
    )
    assert consent.user_agent == "Firefox/140"
    assert consent.detail == links.form_url(world["news"])
    assert consent.confirmed_at is None

    [message] = mail.outbox
    assert message.to == [ADDRESS]
    assert message.from_email == "Jorat news <no-reply@panel.localhost>"
    assert message.subject == "Confirm your subscription to News"
    assert "/n/confirm/" in link_in(message)
    html, kind = message.alternatives[0]
    assert kind == "text/html" and link_in(message) in html.replace("&amp;", "&")


def test_following_the_link_asks_then_subscribes_and_dates_the_consent(
    world, visitor, django_capture_on_commit_callbacks
):
    sign_up(visitor, world["news"], django_capture_on_commit_callbacks)
    link = _path(link_in(mail.outbox[0]))
    contact = Contact.objects.get()

    page = visitor.get(link)  # a mail filter opening the link confirms nothing
    assert page.status_code == 200
    assert "Yes, subscribe me" in page.content.decode()
    assert standing(contact, world["news"]) == SubscriptionStatus.UNCONFIRMED

    confirmed = visitor.post(link)
    assert confirmed.status_code == 302
    done = visitor.get(link)
    assert "You are subscribed" in done.content.decode()
    assert standing(contact, world["news"]) == SubscriptionStatus.SUBSCRIBED
    assert Consent.objects.get().confirmed_at is not None
    assert recipient_count(newsletter=world["newsletter"], lists=[world["news"]]) == 1

    visitor.post(link)  # twice changes nothing
    kinds = list(contact.events.values_list("kind", flat=True))
    assert kinds == [
        ContactEventKind.CONFIRMED, ContactEventKind.CONFIRMATION_SENT, ContactEventKind.CREATED
    ]  # fmt: skip


def test_signing_up_again_within_minutes_sends_no_second_email(
    world, visitor, django_capture_on_commit_callbacks
):
    for _attempt in range(3):
        assert (
            sign_up(visitor, world["news"], django_capture_on_commit_callbacks).status_code == 302
        )
    assert len(mail.outbox) == 1
    assert Consent.objects.count() == 1

    cache.clear()  # the interval has passed
    sign_up(visitor, world["news"], django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    assert Consent.objects.count() == 2
    # either link confirms; the second one dates its own sign-up
    visitor.post(_path(link_in(mail.outbox[1])))
    newest, oldest = Consent.objects.order_by("-id")
    assert newest.confirmed_at is not None and oldest.confirmed_at is None


def test_too_many_posts_from_one_address_answer_429(
    world, visitor, settings, django_capture_on_commit_callbacks
):
    settings.NEWSLETTER_FORM_RATE = "2/min"
    answers = [
        sign_up(
            visitor, world["news"], django_capture_on_commit_callbacks, email=f"p{i}@example.test"
        )
        for i in range(3)
    ]
    assert [a.status_code for a in answers] == [302, 302, 429]
    assert int(answers[2]["Retry-After"]) > 0
    assert "Too many forms were sent from your connection" in answers[2].content.decode()
    assert Contact.objects.count() == 2
    other = Client(REMOTE_ADDR="198.51.100.8")
    assert sign_up(other, world["news"], django_capture_on_commit_callbacks).status_code == 302


def test_the_form_speaks_the_visitors_language(world):
    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get(_path(links.form_url(world["news"])))
    assert '<html lang="fr">' in page.content.decode()


def test_the_confirmation_email_is_in_the_language_of_the_page(
    world, django_capture_on_commit_callbacks
):
    french = Client(HTTP_ACCEPT_LANGUAGE="fr", REMOTE_ADDR="198.51.100.9")
    sign_up(french, world["news"], django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert 'lang="fr"' in message.alternatives[0][0]


# -- tokens -------------------------------------------------------------------------------------


def test_a_token_tampered_with_or_made_for_another_link_is_a_404(
    world, visitor, django_capture_on_commit_callbacks
):
    sign_up(visitor, world["news"], django_capture_on_commit_callbacks)
    contact = Contact.objects.get()
    form = links.form_url(world["news"])
    confirm = link_in(mail.outbox[0])
    preferences = links.preferences_url(contact)
    unsubscribe = links.unsubscribe_url(contact)
    for url in (form, confirm, preferences, unsubscribe):
        token = url.rstrip("/").rsplit("/", 1)[1]
        tampered = url.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
        assert visitor.get(_path(tampered)).status_code == 404, url
    # a valid token of one link does not open another
    preferences_token = links.preferences_token(contact)
    assert visitor.get(f"/n/confirm/{preferences_token}/").status_code == 404
    assert visitor.get(f"/n/unsubscribe/{preferences_token}/").status_code == 404
    assert visitor.get(f"/n/forms/{preferences_token}/").status_code == 404
    assert visitor.post(f"/n/unsubscribe/{preferences_token}/").status_code == 404
    assert standing(contact, world["news"]) == SubscriptionStatus.UNCONFIRMED


def test_a_form_whose_list_is_gone_is_a_404(world, visitor):
    url = _path(links.form_url(world["events"]))
    services.list_delete(access=world["access"], contact_list=world["events"])
    assert visitor.get(url).status_code == 404


def test_an_expired_confirmation_link_says_so_and_subscribes_nobody(
    world, visitor, monkeypatch, django_capture_on_commit_callbacks
):
    sign_up(visitor, world["news"], django_capture_on_commit_callbacks)
    link = _path(link_in(mail.outbox[0]))
    later = time.time() + links.CONFIRM_MAX_AGE.total_seconds() + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    for answer in (visitor.get(link), visitor.post(link)):
        assert answer.status_code == 410
        assert "This link has expired" in answer.content.decode()
        assert _path(links.form_url(world["news"])) in answer.content.decode()
    assert standing(Contact.objects.get(), world["news"]) == SubscriptionStatus.UNCONFIRMED


# -- existing contacts --------------------------------------------------------------------------


def test_an_unsubscribed_contact_is_not_put_back_by_the_organisation_but_may_sign_up_again(
    world, visitor, django_capture_on_commit_callbacks
):
    contact = contact_create(
        access=world["access"], newsletter=world["newsletter"], email=ADDRESS,
        subscriptions=[{"list": world["news"].pk, "status": "unsubscribed"}],
    )  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        contact_update(
            access=world["access"], contact=contact,
            subscriptions=[{"list": world["news"].pk, "status": "subscribed"}],
        )  # fmt: skip
    assert "only they can subscribe again" in str(refused.value.fields)

    sign_up(visitor, world["news"], django_capture_on_commit_callbacks)
    assert standing(contact, world["news"]) == SubscriptionStatus.UNCONFIRMED
    visitor.post(_path(link_in(mail.outbox[0])))
    assert standing(contact, world["news"]) == SubscriptionStatus.SUBSCRIBED


def test_a_stranger_typing_an_address_changes_its_details_only_once_confirmed(
    world, visitor, django_capture_on_commit_callbacks
):
    contact = contact_create(
        access=world["access"], newsletter=world["newsletter"], email=ADDRESS,
        fields={"first_name": "Grace"},
        subscriptions=[{"list": world["events"].pk}],
    )  # fmt: skip
    sign_up(visitor, world["news"], django_capture_on_commit_callbacks,
            field_first_name="Mallory")  # fmt: skip
    contact.refresh_from_db()
    assert contact.fields == {"first_name": "Grace"}
    visitor.post(_path(link_in(mail.outbox[0])))
    contact.refresh_from_db()
    assert contact.fields == {"first_name": "Mallory", "seat": "Balcony"}


def test_a_subscribed_contact_stays_so_and_is_mailed_their_preferences(
    world, visitor, django_capture_on_commit_callbacks
):
    contact = contact_create(
        access=world["access"], newsletter=world["newsletter"], email=ADDRESS.upper(),
        subscriptions=[{"list": world["news"].pk}],
    )  # fmt: skip
    answer = sign_up(visitor, world["news"], django_capture_on_commit_callbacks)
    assert answer.status_code == 302  # the same answer: the page tells nobody who is subscribed
    assert standing(contact, world["news"]) == SubscriptionStatus.SUBSCRIBED
    [message] = mail.outbox
    assert message.subject == "You are already subscribed to News"
    assert link_in(message) == links.preferences_url(contact)
    assert contact.consents.count() == 1  # the organisation's, nothing more


# -- the Manager --------------------------------------------------------------------------------


def test_the_contact_page_shows_the_consent_with_its_time_address_and_form(
    world, visitor, login, django_capture_on_commit_callbacks
):
    sign_up(visitor, world["news"], django_capture_on_commit_callbacks)
    visitor.post(_path(link_in(mail.outbox[0])))
    contact = Contact.objects.get()
    page = login(world["legal"]).get(f"/o/{world['org'].pk}/newsletter/contacts/{contact.pk}/")
    html = page.content.decode()
    consents = html[html.index('data-testid="consents"') :]
    assert "Subscription form" in consents
    assert "198.51.100.7" in consents
    assert links.form_url(world["news"]) in consents
    assert "Not yet" not in consents
    assert "Confirmed" in html[html.index('data-testid="history"') :]


def test_the_list_page_gives_the_hosted_link_and_a_snippet_that_works_from_another_site(
    world, login, django_capture_on_commit_callbacks
):
    page = login(world["legal"]).get(f"/o/{world['org'].pk}/newsletter/lists/{world['news'].pk}/")
    html = page.content.decode()
    assert links.form_url(world["news"]) in html
    snippet = _Snippet.of(html)
    assert snippet.action == links.form_action_url(world["news"])
    assert snippet.inputs == ["email", "field_first_name", "field_seat", "website"]

    # posted from another site: no CSRF token, only the snippet's inputs
    elsewhere = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.4",
                       HTTP_REFERER="https://theatre.example/newsletter")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        posted = {"email": ADDRESS, "field_first_name": "Ada", "field_seat": "", "website": ""}
        answer = elsewhere.post(_path(snippet.action), posted)
    assert answer.status_code == 302
    contact = Contact.objects.get()
    assert contact.fields == {"first_name": "Ada"}
    assert Consent.objects.get().detail == "https://theatre.example/newsletter"
    assert len(mail.outbox) == 1
    # the hosted form keeps its CSRF protection
    hosted = elsewhere.post(_path(links.form_url(world["news"])), {"email": "x@example.test"})
    assert hosted.status_code == 403


class _Snippet(HTMLParser):
    """The action and input names of the snippet's form, unescaped from the textarea."""

    def __init__(self):
        super().__init__()
        self.action, self.inputs = "", []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs["action"]
        elif tag in ("input", "select") and attrs.get("name") not in self.inputs:
            self.inputs.append(attrs["name"])

    @classmethod
    def of(cls, page_html: str) -> "_Snippet":
        import html

        raw = re.search(r'<textarea id="form-snippet"[^>]*>(.*?)</textarea>', page_html, re.S)
        parser = cls()
        parser.feed(html.unescape(raw.group(1)))
        return parser


# -- preferences and unsubscribe ----------------------------------------------------------------


@pytest.fixture
def subscriber(world):
    return contact_create(
        access=world["access"], newsletter=world["newsletter"], email=ADDRESS,
        fields={"first_name": "Grace", "seat": "Stalls"},
        subscriptions=[{"list": world["news"].pk}, {"list": world["events"].pk}],
    )  # fmt: skip


def test_the_preferences_page_changes_the_details_and_lists(world, visitor, subscriber):
    url = _path(links.preferences_url(subscriber))
    page = visitor.get(url).content.decode()
    assert 'value="Grace"' in page
    assert 'data-list="News"' in page and 'data-list="Events"' in page

    saved = visitor.post(url, {"field_first_name": "Ada", "field_seat": "Balcony",
                               "lists_shown": "1", "lists": [str(world["news"].pk)]})  # fmt: skip
    assert saved.status_code == 302
    assert "Your preferences are saved" in visitor.get(url).content.decode()
    subscriber.refresh_from_db()
    assert subscriber.fields == {"first_name": "Ada", "seat": "Balcony"}
    assert standing(subscriber, world["news"]) == SubscriptionStatus.SUBSCRIBED
    assert standing(subscriber, world["events"]) == SubscriptionStatus.UNSUBSCRIBED
    kinds = set(subscriber.events.values_list("kind", flat=True))
    assert {ContactEventKind.CHANGED, ContactEventKind.UNSUBSCRIBED} <= kinds

    # ticking it again subscribes them again, their own consent through their own link
    visitor.post(
        url, {"lists_shown": "1", "lists": [str(world["news"].pk), str(world["events"].pk)]}
    )
    assert standing(subscriber, world["events"]) == SubscriptionStatus.SUBSCRIBED
    assert subscriber.consents.filter(
        list=world["events"], source="form", ip_address="198.51.100.7"
    ).exists()


def test_a_wrong_value_on_the_preferences_page_is_named_and_changes_nothing(
    world, visitor, subscriber
):
    url = _path(links.preferences_url(subscriber))
    answer = visitor.post(url, {"field_first_name": "Ada", "field_seat": "Gallery",
                                "lists_shown": "1"})  # fmt: skip
    assert answer.status_code == 400
    assert "Seat: Choose one of: Stalls, Balcony." in answer.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.fields["first_name"] == "Grace"
    assert standing(subscriber, world["events"]) == SubscriptionStatus.SUBSCRIBED


def test_leaving_everything_asks_first(world, visitor, subscriber):
    url = _path(links.preferences_url(subscriber)) + "leave/"
    question = visitor.get(url)
    assert "Unsubscribe from everything?" in question.content.decode()
    assert standing(subscriber, world["news"]) == SubscriptionStatus.SUBSCRIBED
    assert visitor.post(url).status_code == 302
    assert set(subscriber.subscriptions.values_list("status", flat=True)) == {"unsubscribed"}


def test_the_unsubscribe_link_asks_with_one_button_then_unsubscribes(world, visitor, subscriber):
    url = _path(links.unsubscribe_url(subscriber))
    page = visitor.get(url).content.decode()
    assert "Unsubscribe?" in page and "News" in page and "Events" in page
    assert standing(subscriber, world["news"]) == SubscriptionStatus.SUBSCRIBED

    done = visitor.post(url)  # no CSRF token needed: the signed link is the proof
    assert done.status_code == 200
    assert "You are unsubscribed" in done.content.decode()
    assert set(subscriber.subscriptions.values_list("status", flat=True)) == {"unsubscribed"}
    assert "You are unsubscribed" in visitor.get(url).content.decode()


def test_a_campaigns_unsubscribe_link_leaves_its_lists_and_names_it(world, visitor, subscriber):
    campaign = Campaign.objects.create(
        organisation=world["org"], newsletter=world["newsletter"], title="March"
    )
    campaign.lists.set([world["news"]])
    url = _path(links.unsubscribe_url(subscriber, campaign))
    strict = Client(enforce_csrf_checks=True)
    done = strict.post(url).content.decode()
    assert "News" in done and "You still receive one other list" in done
    assert standing(subscriber, world["news"]) == SubscriptionStatus.UNSUBSCRIBED
    assert standing(subscriber, world["events"]) == SubscriptionStatus.SUBSCRIBED
    event = subscriber.events.get(kind=ContactEventKind.UNSUBSCRIBED)
    assert event.detail == {"campaign": campaign.pk} and event.list == world["news"]


def test_unsubscribing_is_never_rate_limited(world, visitor, subscriber, settings):
    settings.NEWSLETTER_FORM_RATE = "1/min"
    url = _path(links.unsubscribe_url(subscriber))
    assert [visitor.post(url).status_code for _ in range(3)] == [200, 200, 200]
