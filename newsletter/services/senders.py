"""Sender addresses of a newsletter: who its campaigns are sent from. Every write needs
MANAGE_PRODUCT on the newsletter, but the verification itself, which is the reader of
the mailbox's act, through the link mailed to it.

The rules, written here once (the panel, the API and the public page call them):
- An address is compared trimmed and in lower case: a second sender with the same
  address, in any case, answers 409 `already_exists`.
- An address of one of the organisation's Service Mails (a mailbox, an alias or a
  redirect address of a domain the organisation proved is theirs, read through
  mail.selectors, the only way the newsletter reads mail) is `service_mail`, verified
  when it is added. Any other is `outside`: once the change is committed, a link is
  mailed to it, and it is verified when someone reading that mailbox opens the link
  and confirms. Opening the link only shows the button: mail scanners open links.
- The link is signed (a TimestampSigner with a salt of its own), never stored, and
  lasts LINK_MAX_AGE; a tampered link is a NotFound, an old one `SenderLinkExpired`.
  It may be sent again, at most once every RESEND_INTERVAL (429 `too_soon`, with how
  long to wait), and not once the address is verified (409 `already_verified`).
- A sender's address does not change (add another sender); its name does.
- A sender that a scheduled or sending campaign uses cannot be deleted (409
  `sender_in_use`); the drafts that use it lose their sender.
- `sender_warnings`: what, in the DNS of the sender's domain, would make its campaigns
  fail. A domain whose zone is in the organisation's panel gets Domains' diagnostic of
  its SPF, DKIM and DMARC records (through mail.selectors), with the record to set; an
  outside domain is asked for its DMARC policy, and `reject` or `quarantine` is a
  warning, since mail the panel sends from it cannot be authenticated for it. The
  answer is kept for the lists (`cached_warnings`), which ask no DNS.
"""

import datetime
import hashlib
import logging
from functools import cache as memoise

import dns.exception
import dns.resolver
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from publicsuffixlist import PublicSuffixList

from mail import selectors as mail_selectors
from panel.access import Access, Capability
from panel.activity import record, record_by
from panel.errors import Conflict, NotFound, PanelError, Problems
from panel.resolvers import resolver_for
from panel.services.common import clean_name, lock

from ..models import Campaign, CampaignStatus, Newsletter, Sender, SenderKind
from .contacts import clean_email, email_key

logger = logging.getLogger(__name__)

NAME_MAX = 120
LINK_MAX_AGE = datetime.timedelta(days=7)
RESEND_INTERVAL = datetime.timedelta(minutes=5)
#: How long the lists show the warnings last found for a domain.
WARNINGS_SECONDS = 600
#: The campaigns whose sender must stay.
IN_USE = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING)
_SALT = "newsletter.senders.verify"


class ResendTooSoon(PanelError):
    """HTTP 429: the link was sent moments ago."""

    status = 429
    code = "too_soon"

    def __init__(self, detail, *, retry_after: int):
        self.retry_after = retry_after
        super().__init__(detail)


class SenderLinkExpired(PanelError):
    status = 410
    code = "link_expired"
    default_detail = gettext_lazy(
        "This verification link has expired. Ask the person who added this address to "
        "send the link again."
    )


# -- adding, renaming, deleting ---------------------------------------------------------------


def _clean_sender_name(value, problems: Problems) -> str:
    """The name shown beside the address in the recipients' mailboxes; it may be left
    empty (the address alone is shown)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return problems.check(clean_name, value, max_length=NAME_MAX) or ""


def _taken(address: str) -> Conflict:
    message = _("%(email)s is a sender of this newsletter already.") % {"email": address}
    return Conflict(message, code="already_exists", fields={"email": [message]})


@transaction.atomic
def sender_create(*, access: Access, newsletter: Newsletter, email, name="") -> Sender:
    """A new sender address of the newsletter: `email` (unique in the newsletter,
    ignoring case), `name` (may be empty). An address of one of the organisation's
    Service Mails is verified at once; any other gets the verification link by mail
    once the change is committed. Raises InvalidInput or Conflict `already_exists`."""
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    address = problems.check(clean_email, email)
    name = _clean_sender_name(name, problems)
    problems.raise_if_any()
    key = email_key(address)
    if Sender.objects.filter(newsletter=newsletter, email_key=key).exists():
        raise _taken(address)
    own = mail_selectors.organisation_address_exists(newsletter.organisation_id, key)
    now = timezone.now()
    sender = Sender(
        organisation=newsletter.organisation,
        newsletter=newsletter,
        email=address,
        email_key=key,
        name=name,
        kind=SenderKind.SERVICE_MAIL if own else SenderKind.OUTSIDE,
        verified_at=now if own else None,
        verification_sent_at=None if own else now,
    )
    try:
        with transaction.atomic():
            sender.save()
    except IntegrityError:  # a concurrent request added it first
        raise _taken(address) from None
    record_by(
        access, "newsletter.sender.created", newsletter, {"sender": address, "kind": sender.kind}
    )
    if not own:
        _link_send_after_commit(sender)
    return sender


@transaction.atomic
def sender_update(*, access: Access, sender: Sender, **changes) -> Sender:
    """Changes the sender's `name`. Its address does not change (InvalidInput): add
    another sender instead."""
    newsletter = sender.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    problems = Problems()
    if "email" in changes and email_key(str(changes["email"] or "")) != sender.email_key:
        problems.add(
            "email",
            _("The address of a sender does not change: add a new sender instead."),
        )
    name = _clean_sender_name(changes["name"], problems) if "name" in changes else sender.name
    problems.raise_if_any()
    if name != sender.name:
        sender.name = name
        sender.save(update_fields=["name"])
        record_by(
            access, "newsletter.sender.changed", newsletter, {"sender": sender.email, "name": name}
        )
    return sender


def scheduled_campaigns(sender: Sender) -> list[str]:
    """The titles of the campaigns scheduled or sending from the sender."""
    return list(
        Campaign.objects.filter(sender=sender, status__in=IN_USE)
        .order_by("scheduled_at", "id")
        .values_list("title", flat=True)
    )


@transaction.atomic
def sender_delete(*, access: Access, sender: Sender) -> None:
    """Deletes the sender; the drafts that use it lose their sender. Raises Conflict
    `sender_in_use` while a scheduled or sending campaign uses it."""
    newsletter = sender.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    lock(sender)
    titles = scheduled_campaigns(sender)
    if titles:
        raise Conflict(
            ngettext(
                "The campaign %(titles)s is scheduled from this address: take it back "
                "to draft or give it another sender first.",
                "The campaigns %(titles)s are scheduled from this address: take them "
                "back to draft or give them another sender first.",
                len(titles),
            )
            % {"titles": ", ".join(f"“{title}”" for title in titles)},
            code="sender_in_use",
        )
    record_by(access, "newsletter.sender.deleted", newsletter, {"sender": sender.email})
    sender.delete()


# -- the verification link --------------------------------------------------------------------


def verification_token(sender: Sender) -> str:
    """The sender's id and address, signed with the time: the address is part of it, so
    a link made for another address never verifies this one."""
    value = {"s": sender.pk, "e": sender.email_key}
    return signing.TimestampSigner(salt=_SALT).sign_object(value, compress=True)


def verification_url(sender: Sender) -> str:
    base = getattr(settings, "PANEL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    path = reverse("newsletter_public:sender-verify", args=[verification_token(sender)])
    return base + path


def _sender_named(value) -> Sender:
    if not isinstance(value, dict):
        raise NotFound()
    pk, key = value.get("s"), value.get("e")
    if not isinstance(pk, int) or not isinstance(key, str):
        raise NotFound()
    sender = Sender.objects.filter(pk=pk, email_key=key).select_related("newsletter").first()
    if sender is None:
        raise NotFound()
    return sender


def sender_from_token(token: str) -> Sender:
    """The sender a verification link names. NotFound when the link was tampered with,
    made for another purpose, or names a sender deleted since; SenderLinkExpired when
    it is older than LINK_MAX_AGE and the address is not verified yet (once verified,
    an old link still shows it is)."""
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        return _sender_named(signer.unsign_object(token, max_age=LINK_MAX_AGE))
    except signing.SignatureExpired:
        sender = _sender_named(signer.unsign_object(token))
        if sender.verified:
            return sender
        raise SenderLinkExpired() from None
    except (signing.BadSignature, ValueError):
        raise NotFound() from None


@transaction.atomic
def sender_verify(*, token: str) -> Sender:
    """Verifies the sender the link names (see `sender_from_token` for its errors); a
    sender verified already stays as it was."""
    sender = lock(sender_from_token(token))
    if not sender.verified:
        sender.verified_at = timezone.now()
        sender.save(update_fields=["verified_at"])
        record(
            organisation=sender.newsletter.organisation,
            actor=None,
            code="newsletter.sender.verified",
            target=sender.newsletter,
            data={"sender": sender.email},
        )
    return sender


def resend_wait(sender: Sender, now=None) -> int:
    """Seconds until the link may be sent again (0: now)."""
    if sender.verification_sent_at is None:
        return 0
    left = sender.verification_sent_at + RESEND_INTERVAL - (now or timezone.now())
    return max(0, int(left.total_seconds() + 0.999))


@transaction.atomic
def sender_verification_send(*, access: Access, sender: Sender) -> Sender:
    """Mails the verification link again, once the change is committed. Raises
    Conflict `already_verified`, or ResendTooSoon (429) within RESEND_INTERVAL of the
    last one."""
    newsletter = sender.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    lock(sender)
    if sender.verified:
        raise Conflict(
            _("%(email)s is verified already.") % {"email": sender.email},
            code="already_verified",
        )
    now = timezone.now()
    wait = resend_wait(sender, now)
    if wait:
        minutes = max(1, round(wait / 60))
        raise ResendTooSoon(
            ngettext(
                "The link was sent moments ago: check the mailbox (and its spam folder), "
                "or send it again in %(n)d minute.",
                "The link was sent moments ago: check the mailbox (and its spam folder), "
                "or send it again in %(n)d minutes.",
                minutes,
            )
            % {"n": minutes},
            retry_after=wait,
        )
    sender.verification_sent_at = now
    sender.save(update_fields=["verification_sent_at"])
    record_by(access, "newsletter.sender.link_sent", newsletter, {"sender": sender.email})
    _link_send_after_commit(sender)
    return sender


def _link_send_after_commit(sender: Sender) -> None:
    language = translation.get_language()
    sender_id = sender.pk
    transaction.on_commit(lambda: verification_mail_send(sender_id, language=language))


def verification_mail_send(sender_id: int, *, language: str | None = None) -> bool:
    """Sends the verification email of a sender not verified yet, in `language`.
    Whether it left; a mail failure is logged, never a failed request (the link can be
    sent again)."""
    sender = (
        Sender.objects.filter(pk=sender_id, verified_at__isnull=True)
        .select_related("newsletter__organisation")
        .first()
    )
    if sender is None:
        return False
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {
            "sender": sender,
            "newsletter": sender.newsletter,
            "organisation": sender.newsletter.organisation,
            "url": verification_url(sender),
            "days": LINK_MAX_AGE.days,
        }
        message = EmailMultiAlternatives(
            subject=_("Confirm %(email)s as a sender address") % {"email": sender.email},
            body=render_to_string("newsletter/emails/verify_sender.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[sender.email],
        )
        message.attach_alternative(
            render_to_string("newsletter/emails/verify_sender.html", context), "text/html"
        )
    try:
        message.send()
    except Exception:  # SMTP down, a refused address ...: the link can be sent again
        logger.exception("Could not send the verification of sender %s", sender.pk)
        return False
    return True


# -- DNS warnings -----------------------------------------------------------------------------


def domain_of(sender: Sender) -> str:
    return sender.email_key.rpartition("@")[2]


def _cache_key(organisation_id: int, domain: str) -> str:
    digest = hashlib.sha256(domain.encode("utf-8", "replace")).hexdigest()[:32]
    return f"newsletter:sender-warnings:{organisation_id}:{digest}"


def sender_warnings(sender: Sender, *, access: Access, resolver=None) -> list[dict]:
    """What in the DNS of the sender's domain would make its campaigns fail, asked now:
    `[{check, message, fix}]`, `check` one of spf, dkim, dmarc, `fix` the record to
    set (zone-file form) or None. A record the resolver could not answer for is no
    warning (it may well be right). `resolver`: anything with dnspython's
    `resolve(name, type)`; by default the mail diagnostic's for a domain in the panel,
    the panel's (DNS_RESOLVER) for another. Kept for `cached_warnings`."""
    domain = domain_of(sender)
    rows = mail_selectors.sender_domain_checks(
        access=access, email=sender.email_key, resolver=resolver
    )
    if rows is None:
        warnings = _outside_warnings(domain, resolver or _panel_resolver())
    else:
        warnings = [
            _panel_warning(domain, row)
            for row in rows
            if not row["ok"] and row["status"] != "unknown"
        ]
    cache.set(_cache_key(sender.organisation_id, domain), warnings, WARNINGS_SECONDS)
    return warnings


def cached_warnings(senders) -> dict[int, list[dict] | None]:
    """The warnings last found for each sender's domain, by sender id, None for a
    domain not checked in the last WARNINGS_SECONDS: no DNS question, no query."""
    keys = {sender.pk: _cache_key(sender.organisation_id, domain_of(sender)) for sender in senders}
    found = cache.get_many(list(set(keys.values()))) if keys else {}
    return {pk: found.get(key) for pk, key in keys.items()}


def warnings_of(senders, *, access: Access, resolver=None) -> dict[int, list[dict]]:
    """Every sender's warnings for a page: those kept, else asked once per domain."""
    senders = list(senders)
    known = cached_warnings(senders)
    by_domain: dict[str, list[dict]] = {}
    result = {}
    for sender in senders:
        if known[sender.pk] is not None:
            result[sender.pk] = known[sender.pk]
            continue
        domain = domain_of(sender)
        if domain not in by_domain:
            by_domain[domain] = sender_warnings(sender, access=access, resolver=resolver)
        result[sender.pk] = by_domain[domain]
    return result


def _panel_warning(domain: str, row: dict) -> dict:
    """A row of the mail diagnostic that is not OK, said for a sender."""
    check, found = row["check"], row["found"]
    if row["status"] == "no_key":
        message = row["message"]
    elif check == "spf":
        message = (
            _(
                "%(domain)s publishes no SPF record: receivers cannot tell that the "
                "panel's servers may send its mail, and may refuse campaigns from this "
                "address or file them as spam."
            )
            if not found
            else _(
                "The SPF record of %(domain)s does not list the panel's servers: "
                "receivers may refuse campaigns from this address or file them as spam."
            )
        ) % {"domain": domain}
    elif check == "dkim":
        message = _(
            "%(domain)s does not publish the panel's DKIM key: campaigns from this "
            "address are not signed for it, and may be refused or filed as spam."
        ) % {"domain": domain}
    else:
        message = (
            _(
                "%(domain)s publishes no DMARC record: large mailbox providers expect one "
                "from senders of bulk mail, and may refuse campaigns without it."
            )
            if not found
            else _(
                "The DMARC record of %(domain)s is not the one Service Mail sets for it: "
                "check that its policy lets the panel's mail through."
            )
        ) % {"domain": domain}
    if row["status"] != "no_key" and row["message"]:
        message = f"{message} {row['message']}"
    return {"check": check, "message": message, "fix": row["fix"]}


def _panel_resolver():
    return resolver_for(
        settings.DNS_RESOLVER, settings.DNS_RESOLVER_PORT, settings.DNS_RESOLVER_TIMEOUT
    )


@memoise
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def _dmarc_tags(resolver, name: str) -> dict | None:
    """The tags of the DMARC record at `_dmarc.<name>`: {} when there is none (or
    several, which receivers ignore), None when the resolver could not say."""
    try:
        answer = resolver.resolve(f"_dmarc.{name}.", "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return {}
    except dns.exception.DNSException:
        return None
    texts = [b"".join(rdata.strings).decode("utf-8", "replace").strip() for rdata in answer]
    records = [text for text in texts if text.lower().replace(" ", "").startswith("v=dmarc1")]
    if len(records) != 1:
        return {}
    tags = {}
    for part in records[0].split(";"):
        tag, sep, value = part.partition("=")
        if sep:
            tags[tag.strip().lower()] = value.strip().lower()
    return tags


def dmarc_policy(domain: str, resolver) -> str | None:
    """The DMARC policy receivers apply to mail from `domain`: its own record's `p`,
    else its organisational domain's `sp` (or `p`); None when there is none or the
    resolver could not say."""
    tags = _dmarc_tags(resolver, domain)
    if tags is None:
        return None
    if tags:
        return tags.get("p")
    parent = _public_suffixes().privatesuffix(domain)
    if not parent or parent == domain:
        return None
    tags = _dmarc_tags(resolver, parent)
    return (tags.get("sp") or tags.get("p")) if tags else None


def _outside_warnings(domain: str, resolver) -> list[dict]:
    policy = dmarc_policy(domain, resolver)
    if policy == "reject":
        message = _(
            "%(domain)s tells receivers to refuse mail that is not authenticated for it "
            "(its DMARC policy is p=reject). Campaigns the panel sends from an outside "
            "address cannot be authenticated for its domain, so most receivers would "
            "refuse them. Send from an address of one of your Service Mails, or from a "
            "domain whose DNS zone is in the panel."
        )
    elif policy == "quarantine":
        message = _(
            "%(domain)s tells receivers to treat mail that is not authenticated for it "
            "as spam (its DMARC policy is p=quarantine). Campaigns the panel sends from "
            "an outside address cannot be authenticated for its domain, so they would "
            "land in spam folders. Send from an address of one of your Service Mails, or "
            "from a domain whose DNS zone is in the panel."
        )
    else:
        return []
    return [{"check": "dmarc", "message": message % {"domain": domain}, "fix": None}]
