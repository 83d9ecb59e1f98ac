"""Double opt-in by real email: a visitor fills in a list's public form in a browser-like
client (with its CSRF cookie), the confirmation email leaves the panel over SMTP for the
rig's sink, its link is read out of the message as a mail program shows it and followed,
and only then is the address subscribed, with its consent dated and its address kept. A
robot filling the honeypot gets the same thanks, and no email reaches anyone."""

import email
import re
import uuid
from email import policy
from urllib.parse import urlsplit

import pytest
from django.test import Client

from newsletter import links, services
from newsletter.models import Consent, Contact, SubscriptionStatus
from newsletter.selectors import recipient_count
from tests.newsletter import conftest as newsletter_fixtures

pytestmark = pytest.mark.django_db

newsletter_world = newsletter_fixtures.newsletter_world


@pytest.fixture
def news(newsletter_world):
    world = newsletter_world
    services.list_update(
        access=world["access"], contact_list=world["news"], form_fields=[world["first_name"].pk]
    )
    return world["news"]


def _csrf(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def _fill_in(browser, contact_list, address, captured, **extra):
    """Open the hosted form, then send it as the browser would, with its CSRF token."""
    path = urlsplit(links.form_url(contact_list)).path
    page = browser.get(path)
    assert page.status_code == 200
    data = {"csrfmiddlewaretoken": _csrf(page), "email": address,
            "field_first_name": "Grace", "website": "", **extra}  # fmt: skip
    with captured(execute=True):
        return browser.post(path, data)


def test_a_visitor_is_subscribed_only_once_the_link_of_the_real_email_is_followed(
    news, smtp_sink, django_capture_on_commit_callbacks
):
    address = f"optin-{uuid.uuid4().hex[:12]}@example.test"
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.44",
                     HTTP_USER_AGENT="Mozilla/5.0 (integration)")  # fmt: skip
    sent = _fill_in(browser, news, address, django_capture_on_commit_callbacks)
    assert sent.status_code == 302
    assert "Check your inbox" in browser.get(sent["Location"]).content.decode()
    contact = Contact.objects.get(email_key=address)
    assert contact.subscriptions.get(list=news).status == SubscriptionStatus.UNCONFIRMED
    assert recipient_count(newsletter=news.newsletter, lists=[news]) == 0

    [received] = smtp_sink.received(address)
    assert received.rcpt_tos == (address,)
    message = email.message_from_bytes(received.data, policy=policy.default)
    assert message["To"] == address
    assert message["Subject"] == "Confirm your subscription to News"
    assert message["From"].addresses[0].display_name == "Jorat news"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    link = re.search(r"https?://\S+/n/confirm/\S+/", text).group(0)
    assert link in html

    # A mail filter opening the link subscribes nobody: the page asks.
    path = urlsplit(link).path
    page = browser.get(path)
    assert page.status_code == 200 and "Yes, subscribe me" in page.content.decode()
    assert contact.subscriptions.get(list=news).status == SubscriptionStatus.UNCONFIRMED

    confirmed = browser.post(path, {"csrfmiddlewaretoken": _csrf(page)})
    assert confirmed.status_code == 302
    assert "You are subscribed" in browser.get(path).content.decode()
    assert contact.subscriptions.get(list=news).status == SubscriptionStatus.SUBSCRIBED
    assert recipient_count(newsletter=news.newsletter, lists=[news]) == 1
    consent = Consent.objects.get(contact=contact)
    assert consent.source == "form" and consent.list == news
    assert consent.ip_address == "192.0.2.44"
    assert consent.user_agent == "Mozilla/5.0 (integration)"
    assert consent.detail == links.form_url(news)
    assert consent.confirmed_at is not None and consent.confirmed_at >= consent.at
    contact.refresh_from_db()
    assert contact.fields == {"first_name": "Grace"}
    assert len(smtp_sink.received(address)) == 1


def test_a_robot_filling_the_honeypot_is_subscribed_to_nothing_and_mails_nobody(
    news, smtp_sink, django_capture_on_commit_callbacks
):
    address = f"robot-{uuid.uuid4().hex[:12]}@example.test"
    robot = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.45")
    sent = _fill_in(robot, news, address, django_capture_on_commit_callbacks,
                    website="https://cheap-pills.example")  # fmt: skip
    assert sent.status_code == 302  # thanked like a person
    assert not Contact.objects.filter(email_key=address).exists()
    assert smtp_sink.received(address) == []
