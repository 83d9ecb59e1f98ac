"""Sender addresses as an organiser meets them: an address of their Service Mail is
ready at once, any other one gets a link by mail that verifies it (only once the button
is pressed, a tampered link is a 404 and an old one says it expired), the link can be
sent again but not every minute, the same address twice is refused in any case, a
sender of a scheduled campaign stays, and the DNS of the sender's domain is read for
what would keep its campaigns from arriving. Then the Manager pages."""

import datetime
import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from domains import services as domains
from mail import dns_records
from mail.models import Address, Alias, ExtraDomain
from newsletter.models import Campaign, CampaignStatus, Sender
from newsletter.services import senders
from panel.access import access_for
from panel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from panel.models import DomainClaim
from tests import factories as f

LINK = re.compile(r"https?://[^\s\"<>]+/n/senders/verify/[^\s\"<>/]+/")


@pytest.fixture
def world(newsletter_world, zone_dir):
    """newsletter_world with a Service Mail `jorat.example.test` of the organisation
    (mailbox `news`, its alias `info`, the extra domain `jorat.example.org`)."""
    w = dict(newsletter_world)
    org = w["org"]
    service = f.MailServiceFactory(organisation=org, name="jorat.example.test")
    news = Address.objects.create(organisation=org, service=service, local_part="news")
    Alias.objects.create(organisation=org, service=service, address=news, local_part="info")
    ExtraDomain.objects.create(organisation=org, service=service, domain="jorat.example.org")
    f.claim_verified(org, "jorat.example.org")
    w["service"] = service
    return w


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what waits for the commit (the emails) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def add(world, email, name="Jorat news", who="access"):
    access = world[who] if who == "access" else access_for(world[who], world["org"])
    return senders.sender_create(
        access=access, newsletter=world["newsletter"], email=email, name=name
    )


def link_of(message) -> str:
    (url,) = set(LINK.findall(message.body))
    return url.removeprefix("http://127.0.0.1:8000")


# -- adding -------------------------------------------------------------------------------------


def test_an_address_of_the_service_mail_is_ready_at_once_and_no_mail_goes(
    world, mailoutbox, committed
):
    with committed():
        mailbox = add(world, " News@Jorat.Example.test ")
        alias = add(world, "info@jorat.example.test")
        extra = add(world, "news@JORAT.example.org")
    assert mailbox.email == "News@jorat.example.test"
    assert mailbox.email_key == "news@jorat.example.test"
    for sender in (mailbox, alias, extra):
        assert sender.kind == "service_mail" and sender.verified
    assert mailoutbox == []


def test_an_address_the_service_mail_does_not_have_is_an_outside_one(world):
    assert add(world, "nobody@jorat.example.test").kind == "outside"


def test_a_service_mail_waiting_for_its_proof_of_control_is_not_the_organisations_yet(world):
    DomainClaim.objects.filter(name="jorat.example.test").update(verified_at=None)
    sender = add(world, "news@jorat.example.test")
    assert (sender.kind, sender.verified) == ("outside", False)


def test_another_organisations_service_mail_is_an_outside_address(world):
    theirs = f.MailServiceFactory(organisation=world["other_org"], name="other.example.test")
    Address.objects.create(organisation=world["other_org"], service=theirs, local_part="news")
    sender = add(world, "news@other.example.test")
    assert (sender.kind, sender.verified) == ("outside", False)


def test_the_same_address_in_any_case_is_refused_and_another_newsletter_may_have_it(world):
    add(world, "hello@outside.test")
    with pytest.raises(Conflict) as taken:
        add(world, "HELLO@Outside.TEST", name="Other")
    assert taken.value.code == "already_exists" and "email" in taken.value.fields
    assert Sender.objects.filter(newsletter=world["newsletter"]).count() == 1
    from newsletter import services

    spare = services.newsletter_create(access=world["access"], name="Spare")
    senders.sender_create(access=world["access"], newsletter=spare, email="hello@outside.test")


def test_every_problem_is_named_and_nothing_is_added(world):
    with pytest.raises(InvalidInput) as problems:
        add(world, "not an address", name="Line\nbreak")
    assert set(problems.value.fields) == {"email", "name"}
    assert not Sender.objects.exists()


def test_a_name_may_be_left_empty(world):
    sender = add(world, "news@jorat.example.test", name="  ")
    assert sender.name == "" and str(sender) == "news@jorat.example.test"


def test_viewers_may_not_add_and_outsiders_do_not_see_the_newsletter(world):
    with pytest.raises(PermissionDenied):
        add(world, "a@outside.test", who="viewer")
    with pytest.raises(NotFound):
        senders.sender_create(
            access=access_for(world["outsider"], world["other_org"]),
            newsletter=world["newsletter"], email="a@outside.test",
        )  # fmt: skip
    assert add(world, "a@outside.test", who="manager").kind == "outside"


# -- the verification link ------------------------------------------------------------------------


def test_an_outside_address_is_verified_by_the_link_mailed_to_it(
    world, mailoutbox, client, committed
):
    with committed():
        sender = add(world, "Hello@Outside.test")
    assert (sender.kind, sender.verified) == ("outside", False)
    (message,) = mailoutbox
    assert message.to == ["Hello@outside.test"]
    assert "Hello@outside.test" in message.subject
    html, _type = message.alternatives[0]
    url = link_of(message)
    assert url in html

    shown = client.get(url)  # what a mail scanner does: nothing is verified
    assert shown.status_code == 200
    assert "Confirm this address" in shown.content.decode()
    sender.refresh_from_db()
    assert not sender.verified

    confirmed = client.post(url)
    assert confirmed.status_code == 200 and "is confirmed" in confirmed.content.decode()
    sender.refresh_from_db()
    assert sender.verified

    again = client.get(url)
    assert again.status_code == 200 and "confirmed already" in again.content.decode()


def test_a_tampered_link_or_one_of_another_sender_is_a_404(world, client):
    first = add(world, "one@outside.test")
    second = add(world, "two@outside.test")
    url = reverse("newsletter_public:sender-verify", args=[senders.verification_token(first)])
    token = url.rstrip("/").rsplit("/", 1)[1]
    value, _sep, signature = token.rpartition(":")
    tampered = f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    for bad in (tampered, "nothing", token + "x"):
        address = reverse("newsletter_public:sender-verify", args=[bad])
        assert client.get(address).status_code == 404
        assert client.post(address).status_code == 404
    second.delete()
    gone = reverse("newsletter_public:sender-verify", args=[senders.verification_token(second)])
    assert client.post(gone).status_code == 404
    first.refresh_from_db()
    assert not first.verified


def test_an_old_link_says_it_expired_and_verifies_nothing(world, client, monkeypatch):
    sender = add(world, "late@outside.test")
    now = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: now - senders.LINK_MAX_AGE.total_seconds() - 60)
        token = senders.verification_token(sender)
    url = reverse("newsletter_public:sender-verify", args=[token])
    for answer in (client.get(url), client.post(url)):
        assert answer.status_code == 410
        assert "This link has expired" in answer.content.decode()
        assert "send the link again" in answer.content.decode()
    sender.refresh_from_db()
    assert not sender.verified


def test_the_link_is_sent_again_but_not_every_minute(world, mailoutbox, committed):
    sender = add(world, "again@outside.test")
    with pytest.raises(senders.ResendTooSoon) as soon:
        senders.sender_verification_send(access=world["access"], sender=sender)
    assert 0 < soon.value.retry_after <= senders.RESEND_INTERVAL.total_seconds()
    assert soon.value.status == 429
    Sender.objects.filter(pk=sender.pk).update(
        verification_sent_at=timezone.now() - senders.RESEND_INTERVAL
    )
    sender.refresh_from_db()
    with committed():
        senders.sender_verification_send(access=world["access"], sender=sender)
    assert [m.to for m in mailoutbox] == [["again@outside.test"]]
    assert link_of(mailoutbox[0])
    ready = add(world, "news@jorat.example.test")
    with pytest.raises(Conflict) as verified:
        senders.sender_verification_send(access=world["access"], sender=ready)
    assert verified.value.code == "already_verified"


# -- changing and deleting ------------------------------------------------------------------------


def test_the_name_changes_and_the_address_does_not(world):
    sender = add(world, "news@jorat.example.test")
    senders.sender_update(access=world["access"], sender=sender, name="Théâtre du Jorat")
    sender.refresh_from_db()
    assert sender.name == "Théâtre du Jorat"
    with pytest.raises(InvalidInput) as refused:
        senders.sender_update(access=world["access"], sender=sender, email="x@outside.test")
    assert "email" in refused.value.fields


def test_a_sender_of_a_scheduled_campaign_stays_and_drafts_lose_theirs(world):
    sender = add(world, "news@jorat.example.test")

    def campaign(title, status):
        return Campaign.objects.create(
            organisation=world["org"], newsletter=world["newsletter"], title=title,
            sender=sender, status=status,
            scheduled_at=None if status == "draft" else timezone.now() + datetime.timedelta(days=1),
        )  # fmt: skip

    draft = campaign("Spring draft", CampaignStatus.DRAFT)
    scheduled = campaign("June programme", CampaignStatus.SCHEDULED)
    with pytest.raises(Conflict) as in_use:
        senders.sender_delete(access=world["access"], sender=sender)
    assert in_use.value.code == "sender_in_use"
    assert "June programme" in str(in_use.value.detail)
    assert Sender.objects.filter(pk=sender.pk).exists()

    scheduled.status, scheduled.scheduled_at = CampaignStatus.DRAFT, None
    scheduled.save()
    senders.sender_delete(access=world["access"], sender=sender)
    assert not Sender.objects.filter(pk=sender.pk).exists()
    draft.refresh_from_db()
    assert draft.sender is None


# -- DNS warnings ---------------------------------------------------------------------------------


def _zone(access, name, txt=()):
    domain = domains.domain_add(access=access, name=name)
    changes = [{"name": label, "type": "TXT", "records": [value]} for label, value in txt]
    if changes:
        domains.rrsets_apply(access=access, domain=domain, changes=changes)
    return domain


def test_an_outside_domain_refusing_unauthenticated_mail_gets_a_warning(world):
    """Outside domains, served by the panel's name servers for another organisation, as
    the panel's resolver answers them."""
    theirs = access_for(world["outsider"], world["other_org"])
    _zone(theirs, "strict.test", [("_dmarc", "v=DMARC1; p=reject; rua=mailto:d@strict.test")])
    _zone(theirs, "spam.test", [("_dmarc", "v=DMARC1; p=quarantine")])
    _zone(theirs, "relaxed.test", [("_dmarc", "v=DMARC1; p=none")])
    _zone(theirs, "bare.test")

    def warnings(email):
        return senders.sender_warnings(add(world, email), access=world["access"])

    (strict,) = warnings("news@strict.test")
    assert strict["check"] == "dmarc" and "p=reject" in strict["message"]
    assert "strict.test" in strict["message"] and strict["fix"] is None
    (spam,) = warnings("news@spam.test")
    assert "p=quarantine" in spam["message"]
    assert warnings("news@relaxed.test") == []
    assert warnings("news@bare.test") == []
    # A subdomain without its own record follows its organisational domain's policy.
    (inherited,) = warnings("news@mail.strict.test")
    assert "p=reject" in inherited["message"]


def test_a_domain_of_the_panel_gets_the_mail_records_it_misses_then_none(world):
    domain = _zone(world["access"], "jorat-news.test")
    sender = add(world, "news@jorat-news.test")

    before = senders.sender_warnings(sender, access=world["access"])
    assert sorted(w["check"] for w in before) == ["dkim", "dmarc", "spf"]
    spf = next(w for w in before if w["check"] == "spf")
    assert "jorat-news.test" in spf["message"]
    assert "v=spf1 include:spf.panel.localhost -all" in spf["fix"]
    dmarc = next(w for w in before if w["check"] == "dmarc")
    assert "_dmarc.jorat-news.test." in dmarc["fix"]

    dns_records.mail_fixes_apply(access=world["access"], domain=domain)
    assert senders.sender_warnings(sender, access=world["access"]) == []


def test_a_manager_without_any_right_on_the_domain_gets_the_same_warnings(world):
    _zone(world["access"], "jorat-news.test")
    manager = access_for(world["manager"], world["org"])
    sender = add(world, "news@jorat-news.test", who="manager")
    checks = senders.sender_warnings(sender, access=manager)
    assert sorted(w["check"] for w in checks) == ["dkim", "dmarc", "spf"]


def test_the_lists_show_the_warnings_found_last_without_asking_again(world, settings):
    theirs = access_for(world["outsider"], world["other_org"])
    _zone(theirs, "strict.test", [("_dmarc", "v=DMARC1; p=reject")])
    sender = add(world, "news@strict.test")
    assert senders.cached_warnings([sender]) == {sender.pk: None}
    found = senders.sender_warnings(sender, access=world["access"])
    settings.DNS_RESOLVER = "192.0.2.1"  # nothing answers there: the list must not ask
    assert senders.cached_warnings([sender]) == {sender.pk: found}
    assert senders.warnings_of([sender], access=world["access"]) == {sender.pk: found}


# -- the Manager pages ----------------------------------------------------------------------------


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def page_url(name, world, obj=None):
    """A Manager page: of the newsletter of `world`, or of `obj`."""
    return reverse(f"newsletter:{name}", args=[world["org"].pk, (obj or world["newsletter"]).pk])


def test_the_senders_page_shows_each_sender_with_its_standing(world, client):
    ready = add(world, "news@jorat.example.test")
    waiting = add(world, "hello@outside.test", name="")
    client.force_login(world["legal"])
    html = page(client.get(page_url("sender-list", world)))
    assert 'data-sender="news@jorat.example.test"' in html
    assert html.index(waiting.email) < html.index(ready.email)  # by address
    assert html.count('data-status="verified"') == 1
    assert html.count('data-status="waiting"') == 1
    assert "Add a sender" in html
    detail = page(client.get(page_url("newsletter-detail", world)))
    assert page_url("sender-list", world) in detail
    assert 'data-sender="hello@outside.test"' in detail


def test_adding_a_sender_in_the_manager(world, client, mailoutbox, committed):
    client.force_login(world["legal"])
    url = page_url("sender-create", world)
    assert "sender-form" in page(client.get(url))
    with committed():
        answer = client.post(url, {"email": "hello@outside.test", "name": "Jorat"})
    sender = Sender.objects.get()
    assert answer.status_code == 302 and answer.url == page_url("sender-detail", world, sender)
    html = page(client.get(answer.url))
    assert "A link was sent to hello@outside.test" in html
    assert "Send the link again" in html and 'disabled aria-describedby="resend-wait"' in html
    assert len(mailoutbox) == 1
    again = client.post(url, {"email": "HELLO@outside.test"})
    assert "is a sender of this newsletter already" in page(again)


def test_the_resend_button_is_throttled_with_a_clear_message(world, client, mailoutbox,
                                                             committed):  # fmt: skip
    sender = add(world, "hello@outside.test")
    client.force_login(world["legal"])
    resend = page_url("sender-resend", world, sender)
    answer = client.post(resend, follow=True)
    assert "The link was sent moments ago" in page(answer)
    Sender.objects.filter(pk=sender.pk).update(
        verification_sent_at=timezone.now() - datetime.timedelta(hours=1)
    )
    with committed():
        answer = client.post(resend, follow=True)
    assert "The link was sent again to hello@outside.test" in page(answer)
    assert len(mailoutbox) == 1


def test_the_sender_page_shows_the_warnings_and_renames(world, client):
    _zone(world["access"], "jorat-news.test")
    sender = add(world, "news@jorat-news.test")
    client.force_login(world["legal"])
    url = page_url("sender-detail", world, sender)
    html = page(client.get(url))
    assert html.count('class="alert alert-warning" data-check=') == 3
    assert "v=spf1 include:spf.panel.localhost -all" in html
    answer = client.post(url, {"name": "Jorat letters"})
    assert answer.status_code == 302
    sender.refresh_from_db()
    assert sender.name == "Jorat letters"
    # The list shows what the page found, without asking the DNS again.
    listed = page(client.get(page_url("sender-list", world)))
    assert "3 DNS warnings" in listed


def test_deleting_asks_first_and_a_scheduled_campaign_keeps_the_sender(world, client):
    sender = add(world, "news@jorat.example.test")
    Campaign.objects.create(
        organisation=world["org"], newsletter=world["newsletter"], title="June programme",
        sender=sender, status=CampaignStatus.SCHEDULED, scheduled_at=timezone.now(),
    )  # fmt: skip
    client.force_login(world["legal"])
    url = page_url("sender-delete", world, sender)
    assert "June programme" in page(client.get(url))
    refused = client.post(url, follow=True)
    assert "is scheduled from this address" in page(refused)
    assert Sender.objects.filter(pk=sender.pk).exists()
    Campaign.objects.all().delete()
    assert "No campaign uses it" in page(client.get(url))
    done = client.post(url)
    assert done.status_code == 302 and done.url == page_url("sender-list", world)
    assert not Sender.objects.exists()


def test_a_viewer_sees_the_senders_and_changes_nothing(world, client):
    sender = add(world, "hello@outside.test")
    client.force_login(world["viewer"])
    org, newsletter = world["org"].pk, world["newsletter"].pk
    html = page(client.get(reverse("newsletter:sender-list", args=[org, newsletter])))
    assert "hello@outside.test" in html and "Add a sender" not in html
    detail = page(client.get(reverse("newsletter:sender-detail", args=[org, sender.pk])))
    assert "Send the link again" not in detail and "Delete…" not in detail
    for name, args, method in (
        ("sender-create", [org, newsletter], "post"),
        ("sender-detail", [org, sender.pk], "post"),
        ("sender-resend", [org, sender.pk], "post"),
        ("sender-delete", [org, sender.pk], "post"),
        ("sender-delete", [org, sender.pk], "get"),
    ):
        answer = getattr(client, method)(reverse(f"newsletter:{name}", args=args), {"name": "x"})
        assert answer.status_code == 403, name
    client.force_login(world["user"])
    assert client.get(reverse("newsletter:sender-list", args=[org, newsletter])).status_code == 404
    assert client.get(reverse("newsletter:sender-detail", args=[org, sender.pk])).status_code == 404
    sender.refresh_from_db()
    assert sender.name == "Jorat news"
