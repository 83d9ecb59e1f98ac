"""What comes back to a campaign's addresses, as the receiver hands it over: Postfix's
delivery status notifications (hard, soft, delayed then failed), abuse reports, emails
to the unsubscribe mailto, and what must change nothing: forged addresses, the same
report twice, messages that are no report. The messages are built as Postfix and the
feedback loops write them."""

import datetime
import logging
from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from newsletter import services, signing
from newsletter.models import (
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    Contact,
    ContactEvent,
    ContactEventKind,
    RecipientState,
    SubscriptionStatus,
)
from newsletter.services.bounces import inbound_message, read_report
from newsletter.services.contacts import contact_create

pytestmark = pytest.mark.django_db

UNKNOWN_USER = "550 5.1.1 <ada@example.test>: Recipient address rejected: User unknown"
TRY_LATER = "450 4.2.0 <ada@example.test>: Mailbox busy, try again later"


# -- the messages, as their senders write them --------------------------------------------------


def _campaign_email(campaign_id: int, contact_id: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Jorat <news@jorat.example.test>"
    message["To"] = "ada@example.test"
    message["Subject"] = "Autumn for Ada"
    message["Message-ID"] = signing.message_id(campaign_id, contact_id)
    message["List-Unsubscribe"] = f"<mailto:{signing.unsubscribe_mailto(campaign_id, contact_id)}>"
    message.set_content("Dear Ada, three premieres this autumn.\n")
    return message


def _fields(**fields) -> Message:
    block = Message()
    for name, value in fields.items():
        block[name.replace("_", "-")] = value
    return block


def postfix_dsn(
    campaign_id: int, contact_id: int, *, action: str = "failed", status: str = "5.1.1",
    diagnostic: str = UNKNOWN_USER, recipient: str = "ada@example.test",
) -> bytes:  # fmt: skip
    """A delivery status notification as Postfix 3.7's bounce daemon writes it: a
    notice for people, the report (one group for the message, one for the recipient),
    and the returned email (whole when it failed, its headers when it is delayed)."""
    return_path = signing.return_path(campaign_id, contact_id)
    delayed = action == "delayed"
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.rig.test (Mail Delivery System)"
    report["To"] = return_path
    report["Subject"] = (
        "Delayed Mail (still being retried)" if delayed else "Undelivered Mail Returned to Sender"
    )
    report["Auto-Submitted"] = "auto-replied"
    report.preamble = "This is a MIME-encapsulated message.\n"
    notice = MIMEText(
        "This is the mail system at host mx.rig.test.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        f"<{recipient}>: host 127.0.0.1[127.0.0.1] said: {diagnostic} (in\n"
        "    reply to RCPT TO command)\n",
        "plain",
        "us-ascii",
    )
    notice["Content-Description"] = "Delayed Mail" if delayed else "Notification"
    status_part = Message()
    status_part["Content-Description"] = "Delivery report"
    status_part["Content-Type"] = "message/delivery-status"
    arrived = timezone.now() - datetime.timedelta(minutes=5)
    per_recipient = _fields(
        Final_Recipient=f"rfc822; {recipient}", Original_Recipient=f"rfc822;{recipient}",
        Action=action, Status=status, Remote_MTA="dns; 127.0.0.1",
        Diagnostic_Code=f"smtp; {diagnostic}",
    )  # fmt: skip
    if delayed:
        per_recipient["Will-Retry-Until"] = format_datetime(arrived + datetime.timedelta(days=5))
    status_part.set_payload([
        _fields(
            Reporting_MTA="dns; mx.rig.test", X_Postfix_Queue_ID="4Fq2Yk1Zz3z9",
            X_Postfix_Sender=f"rfc822; {return_path}", Arrival_Date=format_datetime(arrived),
        ),
        per_recipient,
    ])  # fmt: skip
    original = _campaign_email(campaign_id, contact_id)
    if delayed:
        returned = MIMEText(str(original).split("\n\n", 1)[0] + "\n", "rfc822-headers")
        returned["Content-Description"] = "Undelivered Message Headers"
    else:
        returned = MIMEMessage(original)
        returned["Content-Description"] = "Undelivered Message"
    for part in (notice, status_part, returned):
        report.attach(part)
    return report.as_bytes()


def abuse_report(campaign_id: int, contact_id: int, *, feedback_type: str = "abuse") -> bytes:
    """An abuse report in ARF (RFC 5965), as a mailbox provider's feedback loop sends
    it when the person marked the email as spam."""
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "feedback@fbl.mail.example"
    report["To"] = signing.return_path(campaign_id, contact_id)
    report["Subject"] = "Email Feedback Report for IP 192.0.2.25"
    report.attach(MIMEText("This is an email abuse report for an email message.\n"))
    feedback = Message()
    feedback["Content-Type"] = "message/feedback-report"
    feedback.set_payload([
        _fields(
            Feedback_Type=feedback_type, User_Agent="ExampleFBL/1.0", Version="1",
            Original_Mail_From=f"<{signing.return_path(campaign_id, contact_id)}>",
            Original_Rcpt_To="<ada@example.test>", Source_IP="192.0.2.25",
            Arrival_Date=format_datetime(timezone.now()), Reported_Domain="jorat.example.test",
        )
    ])  # fmt: skip
    report.attach(feedback)
    report.attach(MIMEMessage(_campaign_email(campaign_id, contact_id)))
    return report.as_bytes()


def mail_to(address: str, text: str = "unsubscribe") -> bytes:
    """What a mail program sends for the List-Unsubscribe mailto."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ada@example.test", address, text
    message.set_content(text + "\n")
    return message.as_bytes()


# -- the world ------------------------------------------------------------------------------------


@pytest.fixture
def world(newsletter_world):
    """Ada is subscribed to "News" and "Offers", and left "Old"; three campaigns to News
    went to her."""
    w = newsletter_world
    access, newsletter = w["access"], w["newsletter"]
    offers = services.list_create(access=access, newsletter=newsletter, name="Offers")
    old = services.list_create(access=access, newsletter=newsletter, name="Old")
    ada = contact_create(
        access=access, newsletter=newsletter, email="ada@example.test",
        subscriptions=[{"list": w["news"].pk}, {"list": offers.pk},
                       {"list": old.pk, "status": "unsubscribed"}],
    )  # fmt: skip
    campaigns = []
    for title in ("March", "April", "May"):
        campaign = Campaign.objects.create(
            organisation=w["org"], newsletter=newsletter, title=title, status="sent",
            scheduled_at=timezone.now(),
        )  # fmt: skip
        campaign.lists.set([w["news"]])
        CampaignRecipient.objects.create(
            campaign=campaign, contact=ada, state=RecipientState.SENT, sent_at=timezone.now()
        )
        campaigns.append(campaign)
    return {**w, "ada": ada, "offers": offers, "old": old, "campaigns": campaigns}


def _standings(contact) -> dict[str, str]:
    return {s.list.name: s.status for s in contact.subscriptions.select_related("list")}


def _row(campaign, contact) -> CampaignRecipient:
    return CampaignRecipient.objects.get(campaign=campaign, contact=contact)


def _bounce(campaign, contact, **dsn) -> list[str]:
    return inbound_message(
        [signing.return_path(campaign.pk, contact.pk)],
        postfix_dsn(campaign.pk, contact.pk, **dsn),
    )


def _soft_bounces(contact) -> int:
    return Contact.objects.get(pk=contact.pk).soft_bounces


# -- reading ------------------------------------------------------------------------------------


def test_the_reports_read_as_postfix_and_the_feedback_loops_write_them():
    hard = read_report(postfix_dsn(1, 2))
    assert (hard.kind, hard.status, hard.diagnostic) == ("hard", "5.1.1", UNKNOWN_USER)
    expired = read_report(postfix_dsn(1, 2, status="4.2.0", diagnostic=TRY_LATER))
    assert (expired.kind, expired.status, expired.diagnostic) == ("soft", "4.2.0", TRY_LATER)
    delayed = read_report(postfix_dsn(1, 2, action="delayed", status="4.2.0"))
    assert (delayed.kind, delayed.status) == ("soft", "4.2.0")
    assert read_report(abuse_report(1, 2)).kind == "complaint"
    # a notice of success, a DMARC failure report and a "this is not spam" are no bounce
    # and no complaint; neither is an automatic reply
    assert read_report(postfix_dsn(1, 2, action="delivered", status="2.0.0")) is None
    assert read_report(abuse_report(1, 2, feedback_type="auth-failure")) is None
    assert read_report(abuse_report(1, 2, feedback_type="not-spam")) is None
    assert read_report(mail_to("someone@example.test", "Out of office")) is None


def test_a_long_answer_is_kept_to_the_length_of_the_recipient_row(world):
    ada, march = world["ada"], world["campaigns"][0]
    _bounce(march, ada, diagnostic="550 5.1.1 " + "x" * 900)
    row = _row(march, ada)
    assert len(row.smtp_reply) == 500 and row.smtp_reply.startswith("550 5.1.1 xxx")


# -- hard bounces -------------------------------------------------------------------------------


def test_a_hard_bounce_bounces_the_contact_on_every_list_still_receiving(world):
    ada, march = world["ada"], world["campaigns"][0]

    done = _bounce(march, ada)

    assert done == [f"campaign {march.pk}, contact {ada.pk}: hard bounce (5.1.1): contact bounced"]
    # the list she had left keeps saying why
    assert _standings(ada) == {"News": "bounced", "Offers": "bounced", "Old": "unsubscribed"}
    row = _row(march, ada)
    assert (row.bounce, row.smtp_reply) == ("hard", UNKNOWN_USER)
    assert row.bounced_at is not None and row.state == RecipientState.SENT
    [event] = CampaignEvent.objects.filter(campaign=march, contact=ada)
    assert event.kind == "bounce"
    assert event.detail == {"type": "hard", "status": "5.1.1", "diagnostic": UNKNOWN_USER}
    history = ContactEvent.objects.filter(contact=ada, kind=ContactEventKind.BOUNCED)
    assert sorted(e.list.name for e in history) == ["News", "Offers"]
    assert all(e.detail == {"campaign": march.pk, "status": "5.1.1"} for e in history)
    assert _soft_bounces(ada) == 0


def test_the_same_bounce_delivered_twice_changes_nothing_more(world):
    ada, march = world["ada"], world["campaigns"][0]
    _bounce(march, ada)
    first = _row(march, ada).bounced_at

    done = _bounce(march, ada)

    assert done == [f"campaign {march.pk}, contact {ada.pk}: hard bounce already recorded"]
    assert CampaignEvent.objects.filter(campaign=march, contact=ada).count() == 1
    assert ContactEvent.objects.filter(contact=ada, kind=ContactEventKind.BOUNCED).count() == 2
    assert _row(march, ada).bounced_at == first


# -- soft bounces -------------------------------------------------------------------------------


def test_three_soft_bounces_in_a_row_bounce_the_contact(world):
    ada, (march, april, may) = world["ada"], world["campaigns"]

    _bounce(march, ada, status="4.2.0", diagnostic=TRY_LATER)
    assert _soft_bounces(ada) == 1
    assert _standings(ada)["News"] == SubscriptionStatus.SUBSCRIBED
    row = _row(march, ada)
    assert (row.bounce, row.smtp_reply) == ("soft", TRY_LATER)
    [event] = CampaignEvent.objects.filter(campaign=march, contact=ada)
    assert event.detail == {"type": "soft", "status": "4.2.0", "diagnostic": TRY_LATER}

    assert _bounce(april, ada, status="4.2.0", diagnostic=TRY_LATER) == [
        f"campaign {april.pk}, contact {ada.pk}: soft bounce 2 in a row"
    ]
    assert _standings(ada)["News"] == SubscriptionStatus.SUBSCRIBED

    assert _bounce(may, ada, status="4.2.0", diagnostic=TRY_LATER) == [
        f"campaign {may.pk}, contact {ada.pk}: soft bounce 3 in a row: contact bounced"
    ]
    assert _standings(ada) == {"News": "bounced", "Offers": "bounced", "Old": "unsubscribed"}
    [line, _other] = ContactEvent.objects.filter(contact=ada, kind=ContactEventKind.BOUNCED)
    assert line.detail == {"campaign": may.pk, "status": "4.2.0", "soft_bounces": 3}


def test_an_open_between_soft_bounces_starts_the_count_again(world):
    ada, (march, april, may) = world["ada"], world["campaigns"]
    _bounce(march, ada, status="4.2.0")
    _bounce(april, ada, status="4.2.0")

    # May reached her mailbox after all: its pixel was loaded
    answer = Client().get(urlsplit(signing.open_url(may.pk, ada.pk)).path)
    assert answer.status_code == 200 and _soft_bounces(ada) == 0

    _bounce(may, ada, status="4.2.0")
    assert _soft_bounces(ada) == 1
    assert _standings(ada)["News"] == SubscriptionStatus.SUBSCRIBED


def test_a_delayed_notice_then_the_final_failure_count_once(world):
    ada, march = world["ada"], world["campaigns"][0]

    _bounce(march, ada, action="delayed", status="4.2.0", diagnostic=TRY_LATER)
    done = _bounce(march, ada, status="4.2.0", diagnostic=TRY_LATER)

    assert done == [f"campaign {march.pk}, contact {ada.pk}: soft bounce already recorded"]
    assert _soft_bounces(ada) == 1
    assert CampaignEvent.objects.filter(campaign=march, contact=ada).count() == 1


def test_a_delayed_notice_then_a_permanent_failure_is_a_hard_bounce(world):
    ada, march = world["ada"], world["campaigns"][0]
    _bounce(march, ada, action="delayed", status="4.4.1", diagnostic="connect timed out")

    _bounce(march, ada)

    assert _row(march, ada).bounce == "hard"
    assert _standings(ada)["News"] == SubscriptionStatus.BOUNCED
    kinds = CampaignEvent.objects.filter(campaign=march, contact=ada).values_list(
        "detail__type", flat=True
    )
    assert list(kinds) == ["soft", "hard"]


# -- complaints ---------------------------------------------------------------------------------


def test_an_abuse_report_marks_the_contact_complained_once(world):
    ada, march = world["ada"], world["campaigns"][0]
    address = signing.return_path(march.pk, ada.pk)

    done = inbound_message([address], abuse_report(march.pk, ada.pk))
    inbound_message([address], abuse_report(march.pk, ada.pk))

    assert done == [f"campaign {march.pk}, contact {ada.pk}: complaint: contact complained"]
    assert _standings(ada) == {"News": "complained", "Offers": "complained", "Old": "unsubscribed"}
    [event] = CampaignEvent.objects.filter(campaign=march, contact=ada)
    assert (event.kind, event.detail) == ("complaint", {"feedback_type": "abuse"})
    assert ContactEvent.objects.filter(contact=ada, kind=ContactEventKind.COMPLAINED).count() == 2


# -- the unsubscribe mailto ---------------------------------------------------------------------


def test_an_email_to_the_mailto_unsubscribes_from_the_campaigns_lists_once(world):
    ada, march = world["ada"], world["campaigns"][0]
    address = signing.unsubscribe_mailto(march.pk, ada.pk)

    done = inbound_message([address], mail_to(address))
    again = inbound_message([address], mail_to(address))

    assert done == [f"campaign {march.pk}, contact {ada.pk}: unsubscribed from 1 list(s)"]
    assert again == [f"campaign {march.pk}, contact {ada.pk}: already unsubscribed"]
    # March went to News only: Offers keeps her
    assert _standings(ada) == {
        "News": "unsubscribed",
        "Offers": "subscribed",
        "Old": "unsubscribed",
    }
    [event] = CampaignEvent.objects.filter(campaign=march, contact=ada)
    assert (event.kind, event.detail) == ("unsubscribe", {"via": "mailto"})
    line = ContactEvent.objects.filter(contact=ada, kind=ContactEventKind.UNSUBSCRIBED).first()
    assert line.list == world["news"] and line.detail == {"campaign": march.pk}


# -- what changes nothing -----------------------------------------------------------------------


def _nothing_changed(world):
    ada = world["ada"]
    assert _standings(ada) == {"News": "subscribed", "Offers": "subscribed", "Old": "unsubscribed"}
    assert not CampaignEvent.objects.exists()
    assert not CampaignRecipient.objects.exclude(bounce="").exists()
    assert _soft_bounces(ada) == 0


def test_forged_and_unknown_addresses_change_nothing(world, settings):
    ada, march = world["ada"], world["campaigns"][0]
    real = signing.return_path(march.pk, ada.pk)
    local, domain = real.split("@")
    tampered = local[:-1] + ("0" if local[-1] != "0" else "1")
    stranger = contact_create(
        access=world["access"], newsletter=world["newsletter"], email="eve@example.test",
        subscriptions=[{"list": world["news"].pk}],
    )  # fmt: skip
    addresses = [
        f"{tampered}@{domain}",  # the signature does not match
        f"b-{march.pk:x}-{stranger.pk:x}-{'0' * 16}@{domain}",  # another contact, unsigned
        f"{local}@elsewhere.test",  # not the bounce domain
        "postmaster@" + settings.NEWSLETTER_BOUNCE_DOMAIN,
        # signed, but March did not go to Eve
        signing.return_path(march.pk, stranger.pk),
        # a bounce token is no unsubscribe token
        "u-" + local.removeprefix("b-") + "@" + domain,
    ]

    for address in addresses:
        inbound_message([address], postfix_dsn(march.pk, ada.pk))
        inbound_message([address], abuse_report(march.pk, ada.pk))
        inbound_message([address], mail_to(address))

    _nothing_changed(world)
    assert _standings(stranger) == {"News": "subscribed"}


def test_what_is_no_report_is_dropped_and_logged_without_its_text(world, caplog):
    ada, march = world["ada"], world["campaigns"][0]
    address = signing.return_path(march.pk, ada.pk)
    reply = mail_to(address, "Out of office until Monday")
    garbage = b"\xff\xfe not a message \x00\x01"
    success = postfix_dsn(march.pk, ada.pk, action="delivered", status="2.0.0")

    with caplog.at_level(logging.INFO, logger="newsletter"):
        for data in (reply, garbage, success):
            done = inbound_message([address], data)
            assert done == [
                f"campaign {march.pk}, contact {ada.pk}: not a bounce or a complaint: dropped"
            ]

    _nothing_changed(world)
    assert "no bounce or complaint: dropped" in caplog.text
    assert "Out of office" not in caplog.text
    assert address.split("@")[0] not in caplog.text
