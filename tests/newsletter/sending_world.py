"""A newsletter ready to send, with as many subscribed contacts as a test asks for,
written in bulk: shared by the sending tests, the integration tests and bench/."""

import itertools

from django.utils import timezone

from newsletter import services
from newsletter.models import Contact, Sender, Subscription
from newsletter.services import campaigns
from panel.access import access_for
from tests import factories as f

_numbers = itertools.count(1)

CONTENT = {
    "blocks": [
        {"type": "heading", "text": "Dear {{ first_name }}", "level": 1},
        {"type": "text", "html": "<p>Three premieres this autumn, {{ first_name }}.</p>"},
        {"type": "button", "label": "Book", "href": "https://jorat.test/book"},
        {"type": "text", "html": '<p><a href="https://jorat.test/programme">Programme</a></p>'},
    ]
}


def sending_world(
    contacts: int = 3, *, name: str = "", domain: str = "", hourly_quota: int | None = 10**7
) -> dict:
    """An organisation whose newsletter has a verified sender, a list "News" with
    `contacts` subscribed contacts (c0@..., c1@... of `domain`) and a campaign ready to
    send to it. Its hourly quota is staff's override `hourly_quota` (no limit, unless a
    test is about it; None: the plan's)."""
    number = next(_numbers)
    domain = domain or f"people{number}.test"
    legal = f.UserFactory(email=f"legal{number}@jorat{number}.example.test")
    org = f.OrganisationFactory(name=name or f"Théâtre {number}", legal_representative=legal)
    access = access_for(legal, org)
    newsletter = services.newsletter_create(access=access, name=f"News {number}")
    newsletter.hourly_quota_override = hourly_quota
    newsletter.save(update_fields=["hourly_quota_override"])
    services.field_create(
        access=access, newsletter=newsletter, key="first_name", label="First name", type="text"
    )
    news = services.list_create(access=access, newsletter=newsletter, name="News")
    add_contacts(org, newsletter, news, contacts, domain=domain)
    sender = Sender.objects.create(
        organisation=org, newsletter=newsletter, email=f"news@jorat{number}.example.test",
        email_key=f"news@jorat{number}.example.test", name="Jorat", kind="service_mail",
        verified_at=timezone.now(),
    )  # fmt: skip
    campaign = campaigns.campaign_create(
        access=access, newsletter=newsletter, title=f"Autumn {number} for {{{{ first_name }}}}",
        sender=sender.pk, theme="classic", lists=[news.pk], content=CONTENT,
    )  # fmt: skip
    return {
        "legal": legal, "org": org, "access": access, "newsletter": newsletter, "news": news,
        "sender": sender, "campaign": campaign, "domain": domain,
    }  # fmt: skip


def add_contacts(org, newsletter, contact_list, count: int, *, domain: str, start: int = 0):
    """`count` subscribed contacts c<start>@domain ..., in a few statements."""
    for first in range(start, start + count, 5000):
        numbers = range(first, min(start + count, first + 5000))
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    organisation=org,
                    newsletter=newsletter,
                    email=f"c{i}@{domain}",
                    email_key=f"c{i}@{domain}",
                    fields={"first_name": f"Name{i}"},
                )  # fmt: skip
                for i in numbers
            ]
        )
        Subscription.objects.bulk_create(
            [
                Subscription(
                    organisation=org, contact=contact, list=contact_list, status="subscribed"
                )  # fmt: skip
                for contact in contacts
            ]
        )
