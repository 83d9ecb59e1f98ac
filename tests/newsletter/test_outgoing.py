"""The bytes of each campaign email (newsletter/outgoing.py): what the fast path fills in
equals what render_email writes for the same contact, in every theme and every block,
with HTML-special, non-ASCII and empty values; the headers a receiver and a mailbox
provider read (one-click unsubscribe, List-Id, Feedback-ID...); opens and clicks tracked
only when the campaign says so, each click to the right link; Liquid beyond `{{ name }}`
rendered per contact, still right; and a DKIM signature that dkimpy verifies against
the published key."""

import base64
import email
import html
import re
from email import policy
from urllib.parse import parse_qsl, urlsplit

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils import timezone

from domains.models import DkimKey
from newsletter import links, rendering, signing
from newsletter.models import Campaign, Contact, Sender
from newsletter.outgoing import add_open_pixel, campaign_links, prepare
from newsletter.services.campaigns import variables_of
from panel.secrets import seal
from tests import factories as f

pytestmark = pytest.mark.django_db

SENDER_DOMAIN = "jorat.example.test"
UTM = {"source": "newsletter", "medium": "email", "campaign": "autumn"}
#: Every block type, variables in headings, text, raw HTML, labels, alt texts and links.
BLOCKS = [
    {"type": "heading", "text": "Hello {{ first_name }}!", "level": 1},
    {
        "type": "text",
        "html": (
            "<p>Dear {{ first_name }}, your seat: <b>{{ seat }}</b>.</p>"
            '<p><a href="https://shop.example.test/offer">Our offer</a> · '
            '<a href="https://x.example.test/p?u={{ email }}">your page</a></p>'
        ),
    },
    {
        "type": "image",
        "src": "https://img.example.test/{{ seat }}.png",
        "alt": "Seat of {{ first_name }}",
        "href": "https://img.example.test/gallery",
        "width": 300,
    },  # fmt: skip
    {"type": "button", "label": "Book, {{ first_name }}", "href": "https://shop.example.test/book"},
    {"type": "divider"},
    {"type": "spacer", "height": 16},
    {
        "type": "columns",
        "columns": [
            {
                "blocks": [
                    {"type": "heading", "text": "For {{ first_name }}", "level": 3},
                    {"type": "text", "html": "<p>Left: {{ seat }}</p>"},
                ]
            },
            {
                "blocks": [
                    {"type": "button", "label": "More", "href": "https://shop.example.test/m"}
                ]
            },
        ],
    },  # fmt: skip
    {
        "type": "social",
        "links": [
            {"network": "mastodon", "href": "https://social.example.test/@jorat"},
            {"network": "website", "href": "https://jorat.example.test/"},
        ],
    },
    {
        "type": "html",
        "html": '<div><p>Raw {{ first_name }} &amp; co</p><a href="https://jorat.example.test/r">'
        "raw link</a></div>",
    },
    {
        "type": "footer",
        "html": '<p>Sent to {{ email }} · <a href="{{ preferences_url }}">preferences</a></p>',
    },
]
#: email, fields, and whether the fast path serves the contact.
CONTACTS = [
    ("ada@example.test", {"first_name": "Ada", "seat": "Stalls"}, True),
    (
        "zoe+news@example.test",
        {"first_name": 'Zoé <b>&amp; "Lou" O\'Neil \\ 1<2', "seat": "B"},
        True,
    ),
    ("lukasz@example.test", {"first_name": "Łukasz ❤️ 🎉 Ünal", "seat": "Balcony"}, True),
    ("nobody@example.test", {"first_name": ""}, True),
    ("bob@example.test", {"first_name": "Bob", "seat": 12}, True),
    # a value that would change the shape of the image's address
    ("eve@example.test", {"first_name": "Eve", "seat": "Box & co?"}, False),
    # spaces the renderer folds
    ("tom@example.test", {"first_name": "  Tom\tX ", "seat": "Stalls"}, False),
]


@pytest.fixture
def world(newsletter_world):
    w = newsletter_world
    w["sender"] = Sender.objects.create(
        organisation=w["org"], newsletter=w["newsletter"], email=f"news@{SENDER_DOMAIN}",
        email_key=f"news@{SENDER_DOMAIN}", name="Théâtre du Jorat", kind="service_mail",
        verified_at=timezone.now(),
    )  # fmt: skip
    return w


def make_campaign(world, **changes) -> Campaign:
    """A campaign as the engine holds it once the send began (its links stored)."""
    values = {
        "organisation": world["org"], "newsletter": world["newsletter"],
        "title": "{{ first_name }}, your autumn at the Jorat",
        "preview_text": "News for {{ first_name }} ({{ seat }})", "sender": world["sender"],
        "reply_to": "desk@jorat.example.test", "language": "fr", "theme": "classic",
        "content": {"blocks": BLOCKS}, "utm": UTM,
    }  # fmt: skip
    values.update(changes)
    campaign = Campaign.objects.create(**values)
    campaign = Campaign.objects.select_related("newsletter", "sender").get(pk=campaign.pk)
    campaign.links = campaign_links(campaign)
    campaign.save(update_fields=["links"])
    return campaign


def make_contact(world, address: str, fields: dict) -> Contact:
    return Contact.objects.create(
        organisation=world["org"], newsletter=world["newsletter"], email=address,
        email_key=address.lower(), fields=fields,
    )  # fmt: skip


def expected(campaign: Campaign, contact: Contact) -> tuple[str, str, str]:
    """(subject, html, text) as render_email writes them for the contact, its links
    rewritten to the click redirect of their index in Campaign.links."""
    index = {url: number for number, url in enumerate(campaign.links)}

    def track(url):
        number = index.get(url)
        if number is None or not campaign.track_clicks:
            return url
        return signing.click_url(campaign.pk, contact.pk, number)

    rendered = rendering.render_email(
        content=campaign.content, theme=campaign.theme,
        variables=variables_of(contact, campaign.newsletter),
        preview_text=campaign.preview_text, title=campaign.title,
        unsubscribe_url=links.unsubscribe_url(contact, campaign),
        preferences_url=links.preferences_url(contact), utm=campaign.utm,
        rewrite_link=track, language=campaign.language,
    )  # fmt: skip
    page = rendered.html
    if campaign.track_opens:
        page = add_open_pixel(page, signing.open_url(campaign.pk, contact.pk))
    return rendered.subject, page, rendered.text


def parsed(data: bytes):
    return email.message_from_bytes(data, policy=policy.default)


def decoded(data: bytes) -> tuple[str, str, str]:
    message = parsed(data)
    return (
        str(message["Subject"]),
        message.get_body(("html",)).get_content().replace("\r\n", "\n"),
        message.get_body(("plain",)).get_content().replace("\r\n", "\n"),
    )


def hrefs(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a\b[^>]*?\shref="([^"]*)"', page)]


# -- the fast path gives what render_email gives ------------------------------------------------


@pytest.mark.parametrize("theme", list(rendering.THEMES))
def test_every_theme_and_block_gives_what_render_email_gives_for_each_contact(world, theme):
    campaign = make_campaign(world, theme=theme)
    prepared = prepare(campaign)
    assert prepared.fast, prepared.why_slow
    for address, fields, fast in CONTACTS:
        contact = make_contact(world, address, fields)
        assert prepared.fast_for(contact) is fast, address
        subject, page, text = expected(campaign, contact)
        assert decoded(prepared.message(contact).data) == (subject, page, text), address


def test_values_land_escaped_in_the_html_and_as_they_are_in_the_text(world):
    campaign = make_campaign(world)
    prepared = prepare(campaign)
    contact = make_contact(world, "zoe@example.test", {"first_name": 'Zoé <b> & "L"', "seat": "B"})
    subject, page, text = decoded(prepared.message(contact).data)
    assert subject == 'Zoé <b> & "L", your autumn at the Jorat'
    assert 'Hello Zoé &lt;b&gt; &amp; "L"!' in page
    assert 'alt="Seat of Zoé <b> &amp; &quot;L&quot;"' in page
    # unescaped only where HTML allows it: in the alt text and the subject's aria-label
    assert page.count("Zoé <b>") == page.count('"Seat of Zoé <b>') + page.count('"Zoé <b>')
    assert 'Hello Zoé <b> & "L"!' in text
    # the link with a variable: the contact's address, UTM added, not tracked
    assert "https://x.example.test/p?u=zoe@example.test&utm_" in text


def test_an_empty_value_that_changes_the_layout_is_rendered_for_that_contact(world):
    """A button whose whole label is the value: empty, the text part shows its link
    alone; such contacts get render_email, the others the fast path."""
    blocks = [{"type": "button", "label": "{{ first_name }}", "href": "https://x.example.test/"}]
    campaign = make_campaign(world, content={"blocks": blocks}, preview_text="")
    prepared = prepare(campaign)
    assert prepared.fast and prepared.empty_sensitive == {"first_name"}
    for fields in ({"first_name": ""}, {"first_name": "Ada"}):
        contact = make_contact(world, f"c{len(fields['first_name'])}@example.test", fields)
        assert prepared.fast_for(contact) is bool(fields["first_name"])
        assert decoded(prepared.message(contact).data) == expected(campaign, contact)


def test_the_markers_survive_mrml_css_inline_and_inscriptis():
    marks = {"first_name": "\u27e6v0\u27e7", "email": "\u27e6v1\u27e7"}
    content = {"blocks": [BLOCKS[0], BLOCKS[1], BLOCKS[2], BLOCKS[3], BLOCKS[8]]}
    rendered = rendering.render_email(
        content=content, theme="bold", variables={**marks, "seat": "s"}, title="\u27e6t\u27e7",
        preview_text="\u27e6p\u27e7", unsubscribe_url="https://slot.invalid/\u27e6u\u27e7",
        preferences_url="https://slot.invalid/\u27e6r\u27e7", utm=UTM,
    )  # fmt: skip
    for mark in [*marks.values(), "\u27e6t\u27e7", "\u27e6p\u27e7"]:
        assert mark in rendered.html
    for mark in [*marks.values(), "https://slot.invalid/\u27e6u\u27e7"]:
        assert mark in rendered.text
    assert 'alt="Seat of \u27e6v0\u27e7"' in rendered.html
    assert "?u=\u27e6v1\u27e7&amp;utm_source=newsletter" in rendered.html


@pytest.mark.parametrize(
    "text",
    [
        "<p>{% if first_name %}Hello {{ first_name }}{% else %}Hello you{% endif %}</p>",
        "<p>Hello {{ first_name | upcase }}</p>",
        "<p>Hello {{ first_name | default: 'friend' }}</p>",
    ],
)
def test_liquid_beyond_plain_outputs_is_rendered_per_contact_and_still_right(world, text):
    content = {"blocks": [{"type": "text", "html": text}, BLOCKS[3]]}
    campaign = make_campaign(world, content=content)
    prepared = prepare(campaign)
    assert not prepared.fast and "Liquid" in prepared.why_slow
    for fields in ({"first_name": "Ada"}, {"first_name": ""}):
        contact = make_contact(world, f"l{len(fields['first_name'])}@example.test", fields)
        assert decoded(prepared.message(contact).data) == expected(campaign, contact)


def test_a_link_made_of_a_variable_or_a_marker_in_the_content_is_rendered_per_contact(world):
    world["newsletter"].fields.create(
        organisation=world["org"], key="site", label="Site", type="text"
    )
    for content, why in (
        ({"blocks": [{"type": "button", "label": "Go", "href": "{{ site }}"}]}, "host"),
        ({"blocks": [{"type": "heading", "text": "A \u27e6 bracket", "level": 2}]}, "marker"),
    ):
        campaign = make_campaign(world, content=content)
        prepared = prepare(campaign)
        assert not prepared.fast and why in prepared.why_slow
        contact = make_contact(world, f"{why}@example.test", {"site": "https://ada.test/"})
        assert decoded(prepared.message(contact).data) == expected(campaign, contact)


# -- headers ----------------------------------------------------------------------------------


def test_every_header_a_receiver_reads_and_a_mime_structure_of_text_then_html(world):
    campaign = make_campaign(world)
    contact = make_contact(world, "ada@example.test", {"first_name": "Zoé", "seat": "Stalls"})
    prepared = prepare(campaign)
    outgoing = prepared.message(contact)
    message = parsed(outgoing.data)

    assert outgoing.recipient == "ada@example.test"
    assert outgoing.envelope_from == signing.return_path(campaign.pk, contact.pk)
    assert signing.parse_address(outgoing.envelope_from) == ("bounce", campaign.pk, contact.pk)
    assert message["From"].addresses[0].display_name == "Théâtre du Jorat"
    assert message["From"].addresses[0].addr_spec == f"news@{SENDER_DOMAIN}"
    assert message["To"] == "ada@example.test"
    assert message["Subject"] == "Zoé, your autumn at the Jorat"
    assert message["Date"].datetime is not None
    bounce_domain = settings.NEWSLETTER_BOUNCE_DOMAIN
    assert message["Message-ID"] == outgoing.message_id
    assert outgoing.message_id == f"<c{campaign.pk}.r{contact.pk}@{bounce_domain}>"
    assert message["MIME-Version"] == "1.0"
    assert message["Reply-To"] == "desk@jorat.example.test"
    assert message["Precedence"] == "bulk"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == (
        f'"Jorat news" <newsletter-{campaign.newsletter_id}.{settings.NEWSLETTER_BOUNCE_DOMAIN}>'
    )
    assert message["Feedback-ID"] == (
        f"{campaign.pk}:{campaign.newsletter_id}:{campaign.organisation_id}:panel"
    )
    assert message["Content-Language"] == "fr"

    web, mailto = re.fullmatch(r"<([^>]+)>, <mailto:([^>]+)>", message["List-Unsubscribe"]).groups()
    assert web == links.unsubscribe_url(contact, campaign)
    assert web.startswith(settings.PANEL_BASE_URL + "/n/")
    assert signing.parse_address(mailto) == ("unsubscribe", campaign.pk, contact.pk)

    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    # 7-bit, no line over 998 octets (76 in the quoted-printable bodies)
    assert outgoing.data.isascii()
    head, _blank, body = outgoing.data.partition(b"\r\n\r\n")
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert b"\n" not in outgoing.data.replace(b"\r\n", b"")
    # The Subject and From are RFC 2047 words in the raw bytes.
    assert b"Subject: =?utf-8?b?" in outgoing.data and b"From: =?utf-8?b?" in outgoing.data

    again = prepare(campaign).message(contact)
    assert again.message_id == outgoing.message_id
    assert parsed(again.data)["Message-ID"] == message["Message-ID"]


def test_a_long_or_non_ascii_subject_is_encoded_and_reads_back_whole(world):
    title = "Grande saison d’automne au Théâtre du Jorat : " + "é" * 60 + " {{ first_name }}"
    campaign = make_campaign(world, title=title, reply_to="")
    contact = make_contact(world, "ada@example.test", {"first_name": "Ünal"})
    outgoing = prepare(campaign).message(contact)
    head = outgoing.data.partition(b"\r\n\r\n")[0]
    # folded at 78 but for the unsubscribe URL, which must stay whole
    assert max(len(line) for line in head.split(b"\r\n") if b"://" not in line) <= 78
    message = parsed(outgoing.data)
    assert message["Subject"] == title.replace("{{ first_name }}", "Ünal")
    assert message["Reply-To"] is None


# -- tracking ---------------------------------------------------------------------------------


def test_the_pixel_comes_only_with_opens_tracked(world):
    contact = make_contact(world, "ada@example.test", {"first_name": "Ada"})
    for track_opens in (True, False):
        campaign = make_campaign(world, track_opens=track_opens)
        _subject, page, _text = decoded(prepare(campaign).message(contact).data)
        pixel = f'<img src="{signing.open_url(campaign.pk, contact.pk)}" width="1" height="1"'
        assert (pixel in page) is track_opens
        assert ("/n/o/" in page) is track_opens
        if track_opens:  # last in the body, after the unsubscribe line
            assert page.index(pixel) < page.rindex("</body>")
            assert page.index(pixel) > page.rindex(links.unsubscribe_url(contact, campaign))


def test_each_tracked_link_redirects_to_its_entry_of_campaign_links(world):
    contact = make_contact(world, "ada@example.test", {"first_name": "Ada", "seat": "Stalls"})
    tracked = make_campaign(world, track_clicks=True)
    untracked = make_campaign(world, track_clicks=False)
    assert tracked.links == untracked.links == campaign_links(tracked)
    assert len(tracked.links) == len(set(tracked.links)) == 7
    for url in tracked.links:
        assert dict(parse_qsl(urlsplit(url).query)).items() >= {
            ("utm_source", "newsletter"), ("utm_medium", "email"), ("utm_campaign", "autumn")
        }  # fmt: skip
    assert not any("\u27e6" in url or "/n/unsubscribe/" in url for url in tracked.links)

    _s, with_tracking, text = decoded(prepare(tracked).message(contact).data)
    _s, without, _t = decoded(prepare(untracked).message(contact).data)
    # the same links in the same places, each tracked one to its entry of the list
    leave = {links.unsubscribe_url(contact, tracked), links.unsubscribe_url(contact, untracked)}
    clicks = 0
    for href, original in zip(hrefs(with_tracking), hrefs(without), strict=True):
        if href.startswith(f"{settings.PANEL_BASE_URL}/n/c/"):
            token = href.rpartition("/")[2]
            campaign_id, contact_id, index = signing.unsign("c", token, 3)
            assert (campaign_id, contact_id) == (tracked.pk, contact.pk)
            assert tracked.links[index] == original
            clicks += 1
        elif href in leave:
            assert original in leave
        else:
            assert href == original
    assert clicks >= 7
    assert "/n/c/" not in without and "/n/c/" in text
    # never rewritten: the unsubscribe and preferences links, and a link with a variable
    assert links.unsubscribe_url(contact, tracked) in hrefs(with_tracking)
    assert links.preferences_url(contact) in hrefs(with_tracking)
    assert any(href.startswith("https://x.example.test/p?u=ada@example.test&utm_")
               for href in hrefs(with_tracking))  # fmt: skip


def test_links_stored_when_the_send_began_keep_their_indices(world):
    """The index is the stored list's: a link not in it is left untracked, never sent to
    another one's redirect."""
    campaign = make_campaign(world)
    stored = list(reversed(campaign.links[1:]))
    Campaign.objects.filter(pk=campaign.pk).update(links=stored)
    campaign.links = stored
    contact = make_contact(world, "ada@example.test", {"first_name": "Ada", "seat": "S"})
    _s, page, _t = decoded(prepare(campaign).message(contact).data)
    targets = []
    for href in hrefs(page):
        if "/n/c/" in href:
            targets.append(stored[signing.unsign("c", href.rpartition("/")[2], 3)[2]])
    assert set(targets) == set(stored)
    assert campaign_links(campaign)[0] in hrefs(page)  # the one left out: as it is


# -- DKIM -------------------------------------------------------------------------------------


def _signing_key(world) -> str:
    domain = f.DomainFactory(organisation=world["org"], name=SENDER_DOMAIN)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    key = DkimKey.objects.create(
        organisation=world["org"], domain=domain, selector="panel",
        public_key=base64.b64encode(public).decode(), sealed_private_key=seal(pem),
        signing_since=timezone.now(),
    )  # fmt: skip
    return key.public_key


def _dns(public_key: str):
    def lookup(name, timeout=5):
        assert name == f"panel._domainkey.{SENDER_DOMAIN}.".encode()
        return f"v=DKIM1; k=rsa; p={public_key}".encode()

    return lookup


def test_a_domain_whose_key_the_panel_holds_signs_and_dkimpy_verifies(world):
    public_key = _signing_key(world)
    campaign = make_campaign(world)
    prepared = prepare(campaign)
    for address, fields, _fast in CONTACTS[:4]:
        data = prepared.message(make_contact(world, address, fields)).data
        assert data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
        assert dkim.verify(data, dnsfunc=_dns(public_key)), address
    tags = dict(part.strip().split("=", 1) for part in parsed(data)["DKIM-Signature"].split(";"))
    signed = tags["h"].split(":")
    for header in ("from", "to", "subject", "date", "message-id", "list-unsubscribe",
                   "list-unsubscribe-post", "list-id", "feedback-id", "content-type"):  # fmt: skip
        assert header in signed
    assert (tags["d"], tags["s"]) == (SENDER_DOMAIN, "panel")
    # a changed body or header no longer verifies
    assert not dkim.verify(data.replace(b"Left", b"Lef7", 1), dnsfunc=_dns(public_key))
    assert not dkim.verify(data.replace(b"Precedence: bulk", b"Precedence: list"),
                           dnsfunc=_dns(public_key))  # fmt: skip


def test_without_a_key_of_the_sender_domain_the_email_goes_unsigned(world):
    f.DomainFactory(organisation=world["org"], name=SENDER_DOMAIN)  # a domain, no key
    contact = make_contact(world, "ada@example.test", {"first_name": "Ada"})
    data = prepare(make_campaign(world)).message(contact).data
    assert b"DKIM-Signature" not in data


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n",
        b"x",
        b"a \t b\r\n\r\n",
        b"a\t\r\nb  c \r\n",
        b"  a\t\tb  \r\n\r\n\r\n",
        b"=\r\n",
    ],
)
def test_the_body_hash_reads_the_body_as_dkimpy_does(body):
    from dkim.canonicalization import Relaxed

    from newsletter.outgoing import _relaxed_body

    assert _relaxed_body(body) == Relaxed.canonicalize_body(body)
