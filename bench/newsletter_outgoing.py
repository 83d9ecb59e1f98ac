"""Benchmark: writing each campaign email, ready for SMTP, against rendering it per contact.

It starts the rig's PostgreSQL and builds a newsletter with a first-name and a seat field,
a verified sender and BENCH_CONTACTS contacts (2,000), each with their own values, and a
campaign on the Classic theme: its starter blocks under a greeting by first name, the
subject and preview text personalised, its 5 web links tracked and the opens too. The old
path is `services.campaigns.render_for` for each contact: mrml, css-inline and
inscriptis every time, and it gives only the parts, not a message. The new one is
`outgoing.prepare(campaign)` once, then `message(contact)` for each contact: the whole
message in bytes (headers, quoted-printable parts, tracked links, the pixel). Both run
here, in the same process. It prints emails per second and the median time of one email
for both, their ratio, and the time `prepare` takes.

Then it gives the sender's domain a DKIM key the panel holds (the mail server's kind:
RSA 2048) and writes the same emails signed, and prints the cost of the signature per
email.

    DJANGO_SETTINGS_MODULE=panel.settings.dev .venv/bin/python bench/newsletter_outgoing.py

BENCH_CONTACTS (2,000) changes the number of contacts.
"""

import base64
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.dev")

from tests.rig import Rig  # noqa: E402

rig = Rig()
rig.require("postgresql")
os.environ["PANEL_DEBUG"] = "0"
os.environ["PANEL_CACHE_BACKEND"] = "django.core.cache.backends.locmem.LocMemCache"

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from domains.models import DkimKey, Domain  # noqa: E402
from newsletter import rendering  # noqa: E402
from newsletter.models import Campaign, Contact, ContactField, Newsletter, Sender  # noqa: E402
from newsletter.outgoing import campaign_links, prepare  # noqa: E402
from newsletter.services.campaigns import render_for  # noqa: E402
from panel.models import Organisation  # noqa: E402
from panel.secrets import seal  # noqa: E402

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "2000"))
DOMAIN = "bench-news.test"
GREETING = {
    "type": "text",
    "html": '<p>Hello {{ first_name }}, your seat: {{ seat }}. <a href="https://bench.test/'
    'seats">See the hall</a>.</p>',
}


def build() -> tuple[Campaign, list[Contact]]:
    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Bench")
    newsletter = Newsletter.objects.create(organisation=org, name="Bench news")
    for position, key in enumerate(("first_name", "seat")):
        ContactField.objects.create(
            organisation=org, newsletter=newsletter, key=key, label=key, type="text",
            position=position,
        )  # fmt: skip
    sender = Sender.objects.create(
        organisation=org, newsletter=newsletter, email=f"news@{DOMAIN}",
        email_key=f"news@{DOMAIN}", name="Bench Théâtre", kind="outside",
        verified_at=timezone.now(),
    )  # fmt: skip
    starter = rendering.theme_for("classic").starter["blocks"]
    campaign = Campaign.objects.create(
        organisation=org, newsletter=newsletter, title="{{ first_name }}, this month at ours",
        preview_text="News for {{ first_name }}", sender=sender, theme="classic",
        content={"blocks": [GREETING, *starter]}, track_opens=True, track_clicks=True,
        utm={"source": "newsletter", "medium": "email", "campaign": "bench"},
    )  # fmt: skip
    campaign = Campaign.objects.select_related("newsletter", "sender").get(pk=campaign.pk)
    campaign.links = campaign_links(campaign)  # as the engine does when the send starts
    campaign.save(update_fields=["links"])
    Contact.objects.bulk_create(
        [
            Contact(
                organisation=org,
                newsletter=newsletter,
                email=f"c{n}@example.test",
                email_key=f"c{n}@example.test",
                fields={"first_name": f"Zoé <{n}>", "seat": ("Stalls", "Balcony")[n % 2]},
            )  # fmt: skip
            for n in range(CONTACTS)
        ],
        batch_size=1000,
    )
    contacts = list(Contact.objects.filter(newsletter=newsletter).only("pk", "email", "fields"))
    return campaign, contacts


def hold_dkim_key(campaign: Campaign) -> None:
    """The sender's domain in the panel, with a key the mail server signs with."""
    domain = Domain.objects.create(organisation_id=campaign.organisation_id, name=DOMAIN)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    DkimKey.objects.create(
        organisation_id=campaign.organisation_id, domain=domain, selector="panel",
        public_key=base64.b64encode(public).decode(), sealed_private_key=seal(pem),
        signing_since=timezone.now(),
    )  # fmt: skip


def each(function, contacts) -> tuple[float, list[float], object]:
    """Total seconds, the time of each call, and the last result."""
    times = []
    began = time.perf_counter()
    for contact in contacts:
        one = time.perf_counter()
        result = function(contact)
        times.append(time.perf_counter() - one)
    return time.perf_counter() - began, times, result


def main() -> None:
    campaign, contacts = build()
    print(
        f"{len(contacts):,} contacts, theme {campaign.theme}, {len(campaign.links)} tracked "
        "links, opens tracked, subject and preview personalised"
    )
    old, old_each, rendered = each(lambda contact: render_for(campaign, contact), contacts)
    assert "Zoé &lt;" in rendered.html

    began = time.perf_counter()
    prepared = prepare(campaign)
    prepare_time = time.perf_counter() - began
    assert prepared.fast and prepared.signer is None, prepared.why_slow
    assert all(prepared.fast_for(contact) for contact in contacts)
    new, new_each, outgoing = each(prepared.message, contacts)
    assert b"/n/c/" in outgoing.data and b"/n/o/" in outgoing.data

    hold_dkim_key(campaign)
    signed_prepared = prepare(campaign)
    assert signed_prepared.signer is not None
    signed, signed_each, outgoing = each(signed_prepared.message, contacts)
    assert outgoing.data.startswith(b"DKIM-Signature:")

    count = len(contacts)
    print(
        f"render_for per contact (old path): {count / old:8,.0f} emails/s "
        f"(median {statistics.median(old_each) * 1000:.2f} ms)"
    )
    print(
        f"prepare once + message(contact):   {count / (prepare_time + new):8,.0f} emails/s "
        f"(median {statistics.median(new_each) * 1e6:.0f} µs per message, "
        f"prepare {prepare_time * 1000:.0f} ms, {len(outgoing.data) / 1024:.0f} KiB each)"
    )
    print(f"ratio old / new: {old / (prepare_time + new):.0f}")
    dkim_cost = statistics.median(signed_each) - statistics.median(new_each)
    print(
        f"with DKIM (RSA 2048): {count / signed:8,.0f} emails/s "
        f"(median {statistics.median(signed_each) * 1e6:.0f} µs per message, "
        f"the signature {dkim_cost * 1e6:.0f} µs of it)"
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        rig.stop()
