"""A campaign's test send, as a person checks it: the panel writes over SMTP to the rig's
real Postfix, which delivers to a Service Mail mailbox in the rig's Dovecot, and the
message read back over IMAP is the campaign as the chosen contact receives it, marked as
a test, with its HTML and text parts and working unsubscribe and preferences links."""

import email
import itertools
from email import policy

import pytest
from django.test import Client
from django.utils import timezone

from mail.models import Address, AddressKind, MailService
from mail.passwords import hash_password
from newsletter import services
from newsletter.models import Contact, Sender, Subscription
from newsletter.services import campaigns
from panel.access import access_for
from tests import factories as f
from tests.factories import claim_verified

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Correct-Horse-7-Battery"
_domains = itertools.count(1)


@pytest.fixture
def rig_mail(servers, settings):
    """The panel's mail goes to the rig's Postfix, as in production."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", servers.postfix.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return servers


def _fetch_all(servers, user):
    client = servers.imap(user, PASSWORD)
    try:
        client.select("INBOX", readonly=True)
        _status, data = client.search(None, "ALL")
        found = []
        for number in data[0].split():
            _status, fetched = client.fetch(number, "(RFC822)")
            found.append(email.message_from_bytes(fetched[0][1], policy=policy.default))
        return found
    finally:
        client.logout()


def test_a_test_send_arrives_in_a_real_mailbox_as_the_contact_receives_it(rig_mail):
    n = next(_domains)
    domain = f"news{n}.mail.test"
    legal = f.UserFactory(email=f"legal{n}@example.test")
    org = f.OrganisationFactory(legal_representative=legal)
    claim_verified(org, domain)
    service = MailService.objects.create(
        organisation=org, name=domain, domain=domain, plan="premium", address_quota=5
    )
    for local_part in ("editor", "news"):
        Address.objects.create(
            organisation=org, service=service, local_part=local_part, kind=AddressKind.MAILBOX,
            password_hash=hash_password(PASSWORD),
        )  # fmt: skip
    access = access_for(legal, org)
    newsletter = services.newsletter_create(access=access, name="Jorat news")
    services.field_create(
        access=access, newsletter=newsletter, key="first_name", label="First name", type="text"
    )
    news = services.list_create(access=access, newsletter=newsletter, name="News")
    ada = Contact.objects.create(
        organisation=org, newsletter=newsletter, email="ada@example.test",
        email_key="ada@example.test", fields={"first_name": "Ada"},
    )  # fmt: skip
    Subscription.objects.create(organisation=org, contact=ada, list=news, status="subscribed")
    sender = Sender.objects.create(
        organisation=org, newsletter=newsletter, email=f"news@{domain}",
        email_key=f"news@{domain}", name="Jorat", kind="service_mail", verified_at=timezone.now(),
    )  # fmt: skip
    campaign = campaigns.campaign_create(
        access=access, newsletter=newsletter, title="Autumn for {{ first_name }}",
        preview_text="Three premieres", sender=sender.pk, theme="classic", lists=[news.pk],
        reply_to=f"editor@{domain}",
        content={"blocks": [{"type": "heading", "text": "Dear {{ first_name }}", "level": 1},
                            {"type": "button", "label": "Book", "href": "https://jorat.test/"}]},
    )  # fmt: skip

    sent = campaigns.campaign_test_send(
        access=access, campaign=campaign, emails=[f"editor@{domain}"], contact=ada
    )
    assert sent == [f"editor@{domain}"]

    deadline = timezone.now() + timezone.timedelta(seconds=15)
    messages = []
    while not messages and timezone.now() < deadline:
        messages = _fetch_all(rig_mail, f"editor@{domain}")
    [message] = messages
    assert message["Subject"] == "[Test] Autumn for Ada"
    assert message["X-Panel-Test"] == "yes"
    assert message["From"] == f"Jorat <news@{domain}>"
    assert message["Reply-To"] == f"editor@{domain}"
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Three premieres" in html  # the preheader
    assert "Dear Ada" in text and "Dear Ada" in html
    assert "https://jorat.test/?utm_source=newsletter" in html

    # the unsubscribe link of the message opens Ada's page, not anyone else's
    links = [word for word in text.split() if "/n/" in word]
    assert links, text
    client = Client()
    for link in links:
        path = link.strip("()<>[],.").split("://", 1)[-1].split("/", 1)[-1]
        page = client.get("/" + path)
        assert page.status_code == 200, link
        assert b"ada@example.test" in page.content or b"Ada" in page.content
