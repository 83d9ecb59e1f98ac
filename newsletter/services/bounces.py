"""What comes back to the addresses of the sending engine (newsletter/signing.py): the
bounces and complaints sent to an email's return path, and the emails sent to its
List-Unsubscribe mailto. The receiver `manage.py newsletter_inbound` (newsletter/inbound.py)
hands each message over to `inbound_message`.

The rules, written here once:
- Only our signed addresses count, and only for a contact the campaign went to (its
  CampaignRecipient row): any other address, forged or stale, is ignored.
- A bounce is read as a delivery status notification (RFC 3464), as Postfix writes it.
  A recipient `failed` with a 5.x.x status is a hard bounce: the contact's lists that
  still receive become `bounced` at once. `failed` with a 4.x.x status (Postfix gives up
  after its queue lifetime with the last temporary answer) or `delayed` is a soft bounce,
  counted once per campaign and contact; at SOFT_BOUNCE_LIMIT in a row the contact is
  bounced as for a hard one. A delivery proof (an open, a click) resets the count, where
  tracking records it.
- An abuse report (ARF, RFC 5965) makes the contact's lists that still receive
  `complained`.
- An email to the mailto unsubscribes from the campaign's lists, as the link does, and
  is counted as its unsubscribes are (services/tracking.py).
- Each recipient of a message is one transaction, and idempotent: the same report
  delivered twice changes nothing more. The campaign's reports count CampaignEvents.
- A message that is none of these (an automatic reply, a notice of success, a report we
  cannot read) is logged by its kind and size, never its text, and dropped.
"""

import email
import functools
import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import signing
from ..models import (
    CampaignEvent,
    CampaignEventKind,
    CampaignRecipient,
    Contact,
    Subscription,
    SubscriptionStatus,
)
from . import tracking
from .subscriptions import RECEIVING, _set_status

log = logging.getLogger(__name__)

#: soft bounces in a row that bounce a contact
SOFT_BOUNCE_LIMIT = 3
#: the length of CampaignRecipient.smtp_reply
REPLY_LENGTH = 500
#: ARF feedback types that are a person's complaint (not "not-spam", nor the
#: "auth-failure" of DMARC failure reports, nor "virus")
COMPLAINT_TYPES = {"abuse", "fraud"}
HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_DELIVERY_STATUS = {"message/delivery-status", "message/global-delivery-status"}


@dataclass(frozen=True)
class Report:
    """What a message that came back says about the email it answers."""

    kind: str  # HARD, SOFT or COMPLAINT
    status: str = ""
    diagnostic: str = ""
    feedback_type: str = ""


# -- reading --------------------------------------------------------------------------------


def read_report(data: bytes) -> Report | None:
    """The bounce or complaint `data` reports, or None when it reports neither (a notice
    of success, an automatic reply, a message that is not a report). Only the report's
    own parts are read, never the original email it quotes."""
    message = email.message_from_bytes(data, policy=policy.compat32)
    if message.get_content_type() != "multipart/report" or not message.is_multipart():
        return None
    for part in message.get_payload():
        if not isinstance(part, Message):
            continue
        content_type = part.get_content_type()
        if content_type in _DELIVERY_STATUS:
            return _bounce_of(_field_blocks(part))
        if content_type == "message/feedback-report":
            blocks = _field_blocks(part)
            feedback_type = _field(blocks[0], "Feedback-Type").lower() if blocks else ""
            if feedback_type in COMPLAINT_TYPES:
                return Report(COMPLAINT, feedback_type=feedback_type)
            return None
    return None


def _field_blocks(part: Message) -> list[Message]:
    """The groups of fields of a report part, each as a Message of headers. The parser
    splits message/delivery-status into them itself; for the other types it reads the
    first group as headers and leaves the rest as text."""
    payload = part.get_payload()
    blocks = []
    for item in payload if isinstance(payload, list) else [payload]:
        rest = item
        if isinstance(item, Message):
            blocks.append(item)
            rest = item.get_payload()
        if isinstance(rest, str) and rest.strip():
            blocks.extend(
                HeaderParser().parsestr(text.strip() + "\n")
                for text in re.split(r"\r?\n[ \t]*\r?\n", rest)
                if text.strip()
            )
    return blocks


def _field(block: Message, name: str) -> str:
    """A field's value, unfolded."""
    return " ".join(str(block.get(name, "")).split())


def _bounce_of(blocks: list[Message]) -> Report | None:
    """The worst of the recipients' outcomes: a hard bounce over a soft one; None when
    every recipient was delivered (or relayed, or expanded)."""
    found = None
    for block in blocks:
        action = _field(block, "Action").lower()
        if action not in ("failed", "delayed"):
            continue
        matched = _STATUS.search(_field(block, "Status"))
        status = ".".join(matched.groups()) if matched else ""
        # "failed" is final: without a readable status it is taken as permanent
        permanent = action == "failed" and (status or "5").startswith("5")
        report = Report(HARD if permanent else SOFT, status, _diagnostic(block))
        if permanent:
            return report
        found = found or report
    return found


def _diagnostic(block: Message) -> str:
    """The remote server's answer, without the type Postfix puts first ("smtp; 550 ...")."""
    value = _field(block, "Diagnostic-Code")
    kind, semicolon, text = value.partition(";")
    if semicolon and re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", kind.strip()):
        value = text.strip()
    return value[:REPLY_LENGTH]


# -- acting ---------------------------------------------------------------------------------


def inbound_message(recipients: list[str], data: bytes) -> list[str]:
    """Acts on one message that came back, for each of its envelope recipients, as the
    module's rules say. Returns what it did, a line per recipient, for the receiver's
    log (ids, never addresses: they hold the signed tokens). Raises only on a database
    error, so the receiver answers 4xx and the MTA tries again."""
    done = []
    read = functools.cache(lambda: _read_logged(data))  # once, and only for a bounce
    for address in recipients:
        target = signing.parse_address(address)
        if target is None:
            done.append("a recipient that is not one of our addresses: ignored")
            continue
        kind, campaign_id, contact_id = target
        ids = {"campaign_id": campaign_id, "contact_id": contact_id}
        if kind == "unsubscribe":
            outcome = mailto_unsubscribe(**ids)
        elif (report := read()) is None:
            outcome = "not a bounce or a complaint: dropped"
        else:
            outcome = report_apply(**ids, report=report)
        done.append(f"campaign {campaign_id}, contact {contact_id}: {outcome}")
    return done


def _read_logged(data: bytes) -> Report | None:
    try:
        report = read_report(data)
    except Exception:  # a malformed message must not stop the receiver
        log.warning("An inbound message (%d bytes) could not be read: dropped", len(data))
        return None
    if report is None:
        content_type = BytesHeaderParser().parsebytes(data).get_content_type()
        log.info("An inbound message (%s, %d bytes) is no bounce or complaint: dropped",
                 content_type, len(data))  # fmt: skip
    return report


@transaction.atomic
def report_apply(*, campaign_id: int, contact_id: int, report: Report) -> str:
    """Records a bounce or a complaint of the contact's email of the campaign; what it
    did, in a few words. Nothing for a contact the campaign did not go to."""
    recipient = (
        CampaignRecipient.objects.select_for_update()
        .filter(campaign_id=campaign_id, contact_id=contact_id)
        .first()
    )
    if recipient is None:
        return "no such recipient: ignored"
    now = timezone.now()
    if report.kind == COMPLAINT:
        return _complaint(recipient, report, now)
    if recipient.bounce == HARD or (recipient.bounce == SOFT and report.kind == SOFT):
        return f"{report.kind} bounce already recorded"
    recipient.bounce, recipient.bounced_at = report.kind, now
    recipient.smtp_reply = (report.diagnostic or report.status)[:REPLY_LENGTH]
    recipient.save(update_fields=["bounce", "bounced_at", "smtp_reply"])
    _campaign_event(
        recipient, CampaignEventKind.BOUNCE, now,
        {"type": report.kind, "status": report.status, "diagnostic": report.diagnostic},
    )  # fmt: skip
    if report.kind == HARD:
        _stop_receiving(
            contact_id, SubscriptionStatus.BOUNCED, now,
            {"campaign": campaign_id, "status": report.status},
        )  # fmt: skip
        return f"hard bounce ({report.status or 'no status'}): contact bounced"
    Contact.objects.filter(pk=contact_id).update(soft_bounces=F("soft_bounces") + 1)
    count = Contact.objects.values_list("soft_bounces", flat=True).get(pk=contact_id)
    if count >= SOFT_BOUNCE_LIMIT:
        _stop_receiving(
            contact_id, SubscriptionStatus.BOUNCED, now,
            {"campaign": campaign_id, "status": report.status, "soft_bounces": count},
        )  # fmt: skip
        return f"soft bounce {count} in a row: contact bounced"
    return f"soft bounce {count} in a row"


def _complaint(recipient: CampaignRecipient, report: Report, now) -> str:
    if CampaignEvent.objects.filter(
        campaign_id=recipient.campaign_id, contact_id=recipient.contact_id,
        kind=CampaignEventKind.COMPLAINT,
    ).exists():  # fmt: skip
        return "complaint already recorded"
    _campaign_event(
        recipient, CampaignEventKind.COMPLAINT, now, {"feedback_type": report.feedback_type}
    )
    _stop_receiving(
        recipient.contact_id, SubscriptionStatus.COMPLAINED, now,
        {"campaign": recipient.campaign_id},
    )  # fmt: skip
    return "complaint: contact complained"


def _campaign_event(recipient: CampaignRecipient, kind, now, detail: dict) -> None:
    CampaignEvent.objects.create(
        campaign_id=recipient.campaign_id, contact_id=recipient.contact_id, kind=kind,
        detail=detail, at=now,
    )  # fmt: skip


def _stop_receiving(contact_id: int, status, now, detail: dict) -> None:
    """Every list of the contact that still receives gets `status`, with a history line
    each; the lists they left keep the reason they left."""
    subscriptions = (
        Subscription.objects.select_for_update()
        .select_related("contact", "list")
        .filter(contact_id=contact_id, status__in=RECEIVING)
        .order_by("list__name", "list_id")
    )
    for subscription in subscriptions:
        _set_status(subscription, status, detail=detail, now=now)


def mailto_unsubscribe(*, campaign_id: int, contact_id: int) -> str:
    """An email to the List-Unsubscribe mailto: the contact leaves the campaign's lists,
    as with the link, and the campaign counts it once (tracking.campaign_unsubscribe).
    Twice changes nothing."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return "no such contact: ignored"
    left = tracking.campaign_unsubscribe(contact, campaign_id, via=tracking.VIA_MAILTO)
    return f"unsubscribed from {len(left)} list(s)" if left else "already unsubscribed"
