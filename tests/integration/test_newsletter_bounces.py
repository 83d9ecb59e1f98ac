"""Bounces through the real MTA: campaign emails leave through the rig's Postfix with the
return path of their campaign and contact, the remote server (the SMTP sink) refuses one
recipient for good (550) and another for now (450), Postfix writes the real delivery
status notifications (the second one once its queue lifetime, seconds here, is over)
and hands them to the panel's receiver (`manage.py newsletter_inbound`), which bounces
the contacts. An email to the List-Unsubscribe mailto unsubscribes the same way, and a
forged address of the bounce domain is refused at Postfix's door, so that no bounce
goes back to whoever forged it.

The engine is not in the picture: the tests send the emails themselves, as it does."""

import smtplib
import time
import uuid
from email.message import EmailMessage

import pytest
from django.utils import timezone

from newsletter import signing
from newsletter.models import (
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    Contact,
    RecipientState,
    SubscriptionStatus,
)
from tests.newsletter.sending_world import sending_world
from tests.rig.core import log_tail

pytestmark = pytest.mark.django_db(transaction=True)

#: a busy machine with two cores: Postfix's retries, its bounce and the receiver
DEADLINE = 30.0
GONE = "550 5.1.1 No such user here"
BUSY = "450 4.2.0 Mailbox busy, try again later"


@pytest.fixture
def sink(servers):
    """The rig's sink, accepting every recipient again afterwards."""
    yield servers.sink
    servers.sink.accept_all()


@pytest.fixture
def world(servers):
    """A newsletter whose list has three subscribed contacts, `gone`, `busy` and `fine`,
    and three campaigns sent to all of them (their recipient rows written, as the engine
    does when a send starts)."""
    world = sending_world(3)
    gone, busy, fine = Contact.objects.filter(newsletter=world["newsletter"]).order_by("email")
    campaigns = [world["campaign"]]
    for title in ("April", "May"):
        campaign = Campaign.objects.create(
            organisation=world["org"], newsletter=world["newsletter"], title=title,
            sender=world["sender"], status="sending", scheduled_at=timezone.now(),
        )  # fmt: skip
        campaign.lists.set([world["news"]])
        campaigns.append(campaign)
    for campaign in campaigns:
        CampaignRecipient.objects.bulk_create(
            CampaignRecipient(
                campaign=campaign,
                contact=contact,
                state=RecipientState.SENT,
                sent_at=timezone.now(),
            )  # fmt: skip
            for contact in (gone, busy, fine)
        )
    return {**world, "gone": gone, "busy": busy, "fine": fine, "campaigns": campaigns}


def _smtp(servers) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", servers.postfix.port, timeout=DEADLINE)


def _send(servers, mail_from: str, to: str, message: EmailMessage) -> None:
    """One message through Postfix's port 25. The first recipient of the bounce domain
    waits for Postfix's verification of the address (4xx meanwhile): try again."""
    deadline = time.monotonic() + DEADLINE
    while True:
        with _smtp(servers) as smtp:
            smtp.mail(mail_from)
            code, reply = smtp.rcpt(to)
            if code == 250:
                code, reply = smtp.data(message.as_bytes())
                assert code == 250, f"DATA refused: {code} {reply!r}"
                return
        assert 400 <= code < 500 and time.monotonic() < deadline, f"RCPT {to}: {code} {reply!r}"
        time.sleep(0.5)


def _campaign_email(servers, campaign, contact) -> str:
    """The email of `campaign` to `contact` as the engine sends it: its return path and
    unsubscribe mailto name both. Returns its subject."""
    subject = f"{campaign.title} {uuid.uuid4().hex}"
    message = EmailMessage()
    message["From"] = str(campaign.sender)
    message["To"], message["Subject"] = contact.email, subject
    message["Message-ID"] = signing.message_id(campaign.pk, contact.pk)
    message["List-Unsubscribe"] = f"<mailto:{signing.unsubscribe_mailto(campaign.pk, contact.pk)}>"
    message.set_content("Three premieres this autumn.\n")
    _send(servers, signing.return_path(campaign.pk, contact.pk), contact.email, message)
    return subject


def _eventually(servers, check, what: str):
    """Poll the database until `check()` holds."""
    deadline = time.monotonic() + DEADLINE
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what}: not within {DEADLINE:.0f}s.\nPostfix:\n{log_tail(servers.postfix.log)}"
                f"\nReceiver:\n{log_tail(servers.inbound.log)}"
            )
        time.sleep(0.2)
    return result


def _row(campaign, contact) -> CampaignRecipient:
    return CampaignRecipient.objects.get(campaign=campaign, contact=contact)


def _statuses(contact) -> list[str]:
    return list(contact.subscriptions.values_list("status", flat=True))


def test_real_bounces_bounce_the_refused_contact_at_once_and_the_busy_one_at_the_third(
    servers, sink, world
):
    gone, busy, fine = world["gone"], world["busy"], world["fine"]
    march, april, may = world["campaigns"]
    sink.refuse(gone.email, GONE)
    sink.refuse(busy.email, BUSY)

    subjects = {
        contact.pk: _campaign_email(servers, march, contact) for contact in (gone, busy, fine)
    }

    hard = _eventually(servers, lambda: _row(march, gone).bounce == "hard" and _row(march, gone),
                       f"the hard bounce of {gone.email}")  # fmt: skip
    assert hard.smtp_reply == GONE and hard.bounced_at is not None
    assert _statuses(gone) == [SubscriptionStatus.BOUNCED]
    [event] = CampaignEvent.objects.filter(campaign=march, contact=gone)
    assert event.detail == {"type": "hard", "status": "5.1.1", "diagnostic": GONE}

    # Postfix retried the 450 until its queue lifetime was over, then bounced it
    soft = _eventually(servers, lambda: _row(march, busy).bounce == "soft" and _row(march, busy),
                       f"the soft bounce of {busy.email}")  # fmt: skip
    assert soft.smtp_reply == BUSY
    assert Contact.objects.get(pk=busy.pk).soft_bounces == 1
    assert _statuses(busy) == [SubscriptionStatus.SUBSCRIBED]
    [event] = CampaignEvent.objects.filter(campaign=march, contact=busy)
    assert event.detail == {"type": "soft", "status": "4.2.0", "diagnostic": BUSY}

    # the third one was delivered, and nothing came back for it
    assert sink.received(subjects[fine.pk])[0].rcpt_tos == (fine.email,)
    assert not sink.received(subjects[gone.pk]) and not sink.received(subjects[busy.pk])
    assert _row(march, fine).bounce == "" and _statuses(fine) == [SubscriptionStatus.SUBSCRIBED]

    # two more campaigns the busy mailbox cannot take: three in a row
    for campaign in (april, may):
        _campaign_email(servers, campaign, busy)
    _eventually(servers, lambda: _statuses(busy) == [SubscriptionStatus.BOUNCED],
                f"{busy.email} bounced after three soft bounces")  # fmt: skip
    assert Contact.objects.get(pk=busy.pk).soft_bounces == 3
    assert {_row(c, busy).bounce for c in (april, may)} == {"soft"}
    assert _statuses(fine) == [SubscriptionStatus.SUBSCRIBED]


def test_an_email_to_the_unsubscribe_mailto_through_postfix_unsubscribes(servers, world):
    fine, march = world["fine"], world["campaigns"][0]
    mailto = signing.unsubscribe_mailto(march.pk, fine.pk)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = fine.email, mailto, "unsubscribe"
    message.set_content("unsubscribe\n")

    _send(servers, fine.email, mailto, message)

    _eventually(servers, lambda: _statuses(fine) == [SubscriptionStatus.UNSUBSCRIBED],
                f"{fine.email} unsubscribed by the mailto")  # fmt: skip
    [event] = CampaignEvent.objects.filter(campaign=march, contact=fine)
    assert (event.kind, event.detail) == ("unsubscribe", {"via": "mailto"})
    assert _statuses(world["gone"]) == [SubscriptionStatus.SUBSCRIBED]


def test_a_forged_address_of_the_bounce_domain_is_refused_at_rcpt(servers, world):
    gone, march = world["gone"], world["campaigns"][0]
    real = signing.return_path(march.pk, gone.pk)
    at = real.index("@")
    forged = real[: at - 1] + ("1" if real[at - 1] == "0" else "0") + real[at:]

    # the receiver itself, and Postfix, which asks it before accepting the address
    with smtplib.SMTP("127.0.0.1", servers.inbound.port, timeout=DEADLINE) as smtp:
        smtp.ehlo()
        smtp.mail("")
        assert smtp.rcpt(forged) == (550, b"5.1.1 No such recipient here")
        assert smtp.rcpt(real)[0] == 250
    deadline = time.monotonic() + DEADLINE
    while True:
        with _smtp(servers) as smtp:
            smtp.mail("someone@forger.test")
            code, reply = smtp.rcpt(forged)
        if code != 450 or time.monotonic() > deadline:  # 450: verification in progress
            break
        time.sleep(0.5)
    assert code == 550, reply
    assert _statuses(gone) == [SubscriptionStatus.SUBSCRIBED]
