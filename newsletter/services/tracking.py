"""What the recipients of a campaign do with its email, as its signed links report it
(newsletter/signing.py): opens (the pixel), clicks (the tracked links) and unsubscribes,
each a CampaignEvent that the reports count, and the recipient's first open and click.

The rules, written here once:
- An open or a click counts only with a valid token, for a contact of the campaign's
  newsletter who is one of its recipients (a CampaignRecipient row), and only where the
  campaign turned that tracking on. Anything else records nothing and tells nothing: the
  pixel is answered all the same, a click is a 404.
- A click goes to the campaign's own link number i (`Campaign.links`, a web link with
  its UTM parameters) and nowhere else: never to an address from the request, so the
  redirect cannot be used to send people to another site.
- Every hit is an event. Those of machines (MACHINE_AGENTS, a click too soon after the
  email left, several links in a burst, a HEAD request) are flagged `machine`, with the
  rule's name, and counted apart. They leave alone the recipient's `opened_at` and
  `clicked_at` and the contact's history, which say what a person did: the first
  human open, the first human click (which implies an open), once per campaign.
- Any valid hit, a machine's too, proves the email reached a mailbox: the contact's soft
  bounces in a row start again from 0.
- Neither the address nor the browser of a request is kept, only the verdict. The
  address is not used either: Apple's relays and the scanners' cloud networks also carry
  people's own browsing.
- Many people open and click at once: a hit takes a few statements, without a
  transaction or a lock. A conditional update decides the first open or click, so two
  hits at the same moment still write one history line.
- An unsubscribe through a campaign's email (its page, the one-click POST, its mailto)
  is counted once per contact and campaign, and only when it left a list.
"""

import datetime
import re

from django.db import transaction
from django.db.models import Case, DateTimeField, Exists, F, JSONField, OuterRef, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import signing
from ..models import (
    Campaign,
    CampaignEvent,
    CampaignEventKind,
    CampaignRecipient,
    Contact,
    ContactEvent,
    ContactEventKind,
)
from . import subscriptions

#: User agents of the machines that load the pixel or follow the links of an email on
#: behalf of its recipient, as (rule, pattern searched in the user agent, any case):
#: - apple-privacy: Apple Mail Privacy Protection loads every image of every message
#:   through Apple's relays as it reaches the device, read or not, saying only
#:   "Mozilla/5.0". A browser always says more, and so does Apple Mail itself when the
#:   protection is off ("... AppleWebKit/605.1.15 (KHTML, like Gecko)"), a person then.
#: - google-proxy: Gmail loads images through its caching proxy ("... (via ggpht.com
#:   GoogleImageProxy)"), often on delivery, and serves later opens from its cache: an
#:   open through it does not show that a person read the email.
#: - yahoo-proxy: Yahoo Mail's image proxy ("... YahooMailProxy; https://help.yahoo...").
#: - link-preview: chat and social apps fetching a forwarded link to show its preview.
#: - scanner: mail security gateways and the scripts and crawlers that check links, by
#:   their names or the "+http://" address robots give; Office's discovery requests
#:   before it hands a link to the browser.
#: - no-agent: nothing at all; every mail program and browser names itself.
MACHINE_AGENTS = tuple(
    (rule, re.compile(pattern, re.IGNORECASE))
    for rule, pattern in (
        ("apple-privacy", r"\A\s*Mozilla/5\.0\s*\Z"),
        ("google-proxy", r"GoogleImageProxy"),
        ("yahoo-proxy", r"YahooMailProxy"),
        (
            "link-preview",
            r"facebookexternalhit|Slackbot|Twitterbot|LinkedInBot|Discordbot|TelegramBot"
            r"|WhatsApp|SkypeUriPreview|BingPreview|Embedly|Iframely",
        ),
        (
            "scanner",
            r"bot[/;]|crawler|spider|\+https?://|python-requests|python-urllib|aiohttp"
            r"|\bcurl/|\bwget/|Go-http-client|okhttp|Apache-HttpClient|\bJava/|libwww-perl"
            r"|HeadlessChrome|PhantomJS|Barracuda|Proofpoint|Mimecast|MessageLabs"
            r"|Microsoft Office (?:Protocol|Existence) Discovery",
        ),
        ("no-agent", r"\A\s*\Z"),
    )
)
#: A click this soon after the email left (or before it is marked sent) is a scanner of
#: the receiving side: nobody has yet opened it, read it and clicked.
SCANNER_SECONDS = 10
#: Clicks on different links of one email this close together are a scanner following
#: them all; a person follows one link and looks at the page it opens.
BURST_SECONDS = 2
#: A HEAD request fetches no page: link checkers use it, browsers do not. It is
#: answered as a GET is, and counted as a machine's.
HEAD_RULE = "head-request"

VIA_PAGE, VIA_ONE_CLICK, VIA_MAILTO = "page", "one-click", "mailto"

_RECIPIENT_FIELDS = (
    "pk", "campaign_id", "contact_id", "sent_at", "opened_at", "clicked_at",
    "contact__organisation_id", "contact__soft_bounces",
)  # fmt: skip


def machine_agent(user_agent: str) -> str:
    """The rule of MACHINE_AGENTS the user agent matches, or ""."""
    for rule, pattern in MACHINE_AGENTS:
        if pattern.search(user_agent or ""):
            return rule
    return ""


def _recipient(campaign_id: int, contact_id: int, *fields: str) -> dict | None:
    """The recipient row of a token, in one query, when the contact is of the campaign's
    newsletter."""
    return (
        CampaignRecipient.objects.filter(
            campaign_id=campaign_id,
            contact_id=contact_id,
            contact__newsletter_id=F("campaign__newsletter_id"),
        )
        .values(*_RECIPIENT_FIELDS, *fields)
        .first()
    )


def _event(row: dict, kind, *, machine: str, now, link_index=None) -> None:
    CampaignEvent.objects.create(
        campaign_id=row["campaign_id"], contact_id=row["contact_id"], kind=kind,
        link_index=link_index, machine=bool(machine),
        detail={"machine": machine} if machine else {}, at=now,
    )  # fmt: skip


def _history(row: dict, kind, detail: dict, now) -> None:
    ContactEvent.objects.create(
        organisation_id=row["contact__organisation_id"], contact_id=row["contact_id"],
        kind=kind, detail=detail, at=now,
    )  # fmt: skip


def _delivered(row: dict) -> None:
    """The email arrived: the soft bounces in a row are over."""
    if row["contact__soft_bounces"]:
        Contact.objects.filter(pk=row["contact_id"], soft_bounces__gt=0).update(soft_bounces=0)


def record_open(token: str, *, user_agent: str = "") -> None:
    """Records the pixel of one email being loaded, as the module's rules say; a token
    that is not one, or a campaign that does not track opens, records nothing."""
    numbers = signing.unsign("o", token, 2)
    row = _recipient(*numbers, "campaign__track_opens") if numbers else None
    if row is None or not row["campaign__track_opens"]:
        return
    now = timezone.now()
    machine = machine_agent(user_agent)
    _event(row, CampaignEventKind.OPEN, machine=machine, now=now)
    if not machine and row["opened_at"] is None:
        first = CampaignRecipient.objects.filter(pk=row["pk"], opened_at__isnull=True)
        if first.update(opened_at=now):
            _history(row, ContactEventKind.OPENED, {"campaign": row["campaign_id"]}, now)
    _delivered(row)


def _link(links, index: int) -> str | None:
    """The campaign's web link number `index`, else None."""
    if not isinstance(links, list) or not 0 <= index < len(links):
        return None
    url = links[index]
    if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
        return None
    return url


def _flag_burst(row: dict, index: int, now) -> str:
    """Flags the clicks of other links of this email within BURST_SECONDS, and says
    "burst" when there were any: this click is then a machine's too. One statement,
    run on every click so that the first click of a burst is flagged as well."""
    earlier = CampaignEvent.objects.filter(
        campaign_id=row["campaign_id"], contact_id=row["contact_id"],
        kind=CampaignEventKind.CLICK, at__gte=now - datetime.timedelta(seconds=BURST_SECONDS),
    ).exclude(link_index=index)  # fmt: skip
    flagged = earlier.update(
        machine=True,
        detail=Case(
            When(machine=True, then=F("detail")),
            default=Value({"machine": "burst"}, output_field=JSONField()),
        ),
    )
    return "burst" if flagged else ""


def _undo_burst_click(row: dict, now) -> None:
    """The recipient's first click, and the open it implied, came from the burst: they
    were a machine's."""
    since = now - datetime.timedelta(seconds=BURST_SECONDS)
    if row["clicked_at"] is None or row["clicked_at"] < since:
        return
    CampaignRecipient.objects.filter(pk=row["pk"], clicked_at__gte=since).update(
        clicked_at=None,
        opened_at=Case(
            When(opened_at=F("clicked_at"), then=Value(None)),
            default=F("opened_at"),
            output_field=DateTimeField(),
        ),
    )


def _too_soon(sent_at, now) -> str:
    if sent_at is None or now - sent_at < datetime.timedelta(seconds=SCANNER_SECONDS):
        return "too-soon"
    return ""


def record_click(token: str, *, user_agent: str = "", head: bool = False) -> str | None:
    """Records a tracked link of one email being followed, as the module's rules say,
    and returns the campaign's link to redirect to. None, recording nothing, for a token
    that is not one, a link the campaign does not have, or a campaign that does not
    track clicks. `head`: the request was a HEAD (HEAD_RULE)."""
    numbers = signing.unsign("c", token, 3)
    if numbers is None:
        return None
    campaign_id, contact_id, index = numbers
    row = _recipient(campaign_id, contact_id, "campaign__track_clicks", "campaign__links")
    if row is None or not row["campaign__track_clicks"]:
        return None
    url = _link(row["campaign__links"], index)
    if url is None:
        return None
    now = timezone.now()
    burst = _flag_burst(row, index, now)
    machine = (
        (HEAD_RULE if head else "")
        or machine_agent(user_agent)
        or _too_soon(row["sent_at"], now)
        or burst
    )
    _event(row, CampaignEventKind.CLICK, machine=machine, now=now, link_index=index)
    if burst:
        _undo_burst_click(row, now)
    elif not machine and row["clicked_at"] is None:
        first = CampaignRecipient.objects.filter(pk=row["pk"], clicked_at__isnull=True)
        if first.update(clicked_at=now, opened_at=Coalesce(F("opened_at"), Value(now))):
            _history(row, ContactEventKind.CLICKED, {"campaign": campaign_id, "url": url}, now)
    _delivered(row)
    return url


# -- unsubscribes -------------------------------------------------------------------------------


def record_unsubscribe(campaign_id: int | None, contact: Contact, via: str) -> bool:
    """Counts in the report of the campaign that the contact unsubscribed through its
    email (`via`: VIA_PAGE, VIA_ONE_CLICK, VIA_MAILTO), once per contact and campaign;
    no campaign, or one of another newsletter, counts nothing. True when counted. Call
    it once the unsubscribe left a list, as campaign_unsubscribe does."""
    if campaign_id is None:
        return False
    counted = CampaignEvent.objects.filter(
        campaign=OuterRef("pk"), contact=contact, kind=CampaignEventKind.UNSUBSCRIBE
    )
    campaign = Campaign.objects.filter(
        ~Exists(counted), pk=campaign_id, newsletter_id=contact.newsletter_id
    )
    if not campaign.exists():
        return False
    CampaignEvent.objects.create(
        campaign_id=campaign_id, contact=contact, kind=CampaignEventKind.UNSUBSCRIBE,
        detail={"via": via},
    )  # fmt: skip
    return True


@transaction.atomic
def campaign_unsubscribe(contact: Contact, campaign_id: int | None, *, via: str,
                         lists=None) -> list:  # fmt: skip
    """The unsubscribe of a campaign's email: the contact leaves `lists` (by default the
    campaign's lists they receive, subscriptions.unsubscribe_scope) and the campaign
    counts it (record_unsubscribe) when a list was left. Returns the lists left. A second
    post, or one from a person already out, changes and counts nothing: the first holds
    the subscriptions' locks until it commits."""
    if lists is None:
        lists = [s.list_id for s in subscriptions.unsubscribe_scope(contact, campaign_id)]
    left = subscriptions.unsubscribe(contact, lists, campaign_id=campaign_id)
    if left:
        record_unsubscribe(campaign_id, contact, via)
    return left
