"""Sender addresses through the REST API as a script uses them: a Service Mail address
is verified at once, an outside one is mailed its link, 409 for the same address in
another case, the warnings of a sender's domain on its own URL (and in the list only
once found), renaming, deleting unless a scheduled campaign uses it, sending the link
again with 429 and Retry-After, and the list in the same number of queries for 3
senders or 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from domains import services as domains
from mail.models import Address
from newsletter.models import Campaign, CampaignStatus, Sender
from newsletter.services import senders
from panel.access import access_for
from tests import factories as f

API = "/api/v1/organisations/{org}/newsletter/"


@pytest.fixture
def api(newsletter_world, client_for, zone_dir):
    world = newsletter_world
    service = f.MailServiceFactory(organisation=world["org"], name="jorat.example.test")
    Address.objects.create(organisation=world["org"], service=service, local_part="news")
    base = API.format(org=world["org"].pk)
    return world, client_for(world["legal"]), base


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what waits for the commit (the emails) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def add(client, base, world, email, name="Jorat news"):
    return client.post(
        base + f"newsletters/{world['newsletter'].pk}/senders/",
        {"email": email, "name": name},
        format="json",
    )


def test_a_service_mail_address_is_verified_at_once(api, mailoutbox, committed):
    world, client, base = api
    with committed():
        answer = add(client, base, world, "NEWS@jorat.example.test")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["email"], body["name"], body["kind"], body["verified"]) == (
        "NEWS@jorat.example.test", "Jorat news", "service_mail", True
    )  # fmt: skip
    assert body["verified_at"] and body["verification_sent_at"] is None
    assert body["newsletter"] == world["newsletter"].pk and body["warnings"] is None
    assert mailoutbox == []
    again = add(client, base, world, "news@JORAT.example.test", name="Other")
    assert again.status_code == 409 and again.json()["code"] == "already_exists"
    assert "email" in again.json()["fields"]


def test_an_outside_address_is_mailed_its_link(api, mailoutbox, client, committed):
    world, api_client, base = api
    with committed():
        answer = add(api_client, base, world, "hello@outside.test")
    body = answer.json()
    assert answer.status_code == 201
    assert (body["kind"], body["verified"], body["verified_at"]) == ("outside", False, None)
    assert body["verification_sent_at"]
    (message,) = mailoutbox
    [url] = [word for word in message.body.split() if "/n/senders/verify/" in word]
    assert client.post(url.removeprefix("http://127.0.0.1:8000")).status_code == 200
    detail = api_client.get(base + f"senders/{body['id']}/").json()
    assert detail["verified"] is True


def test_bad_input_is_named_and_adds_nothing(api):
    world, client, base = api
    answer = add(client, base, world, "no address", name="x" * 121)
    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {"email", "name"}
    answer = client.post(
        base + f"newsletters/{world['newsletter'].pk}/senders/", {"email": 12}, format="json"
    )
    assert answer.status_code == 400 and "email" in answer.json()["fields"]
    assert not Sender.objects.exists()


def test_the_warnings_are_asked_on_the_senders_url_and_then_listed(api):
    world, client, base = api
    theirs = access_for(world["outsider"], world["other_org"])
    strict = domains.domain_add(access=theirs, name="strict.test")
    domains.rrsets_apply(
        access=theirs, domain=strict,
        changes=[{"name": "_dmarc", "type": "TXT", "records": ["v=DMARC1; p=reject"]}],
    )  # fmt: skip
    created = add(client, base, world, "news@strict.test").json()
    listed = client.get(base + f"newsletters/{world['newsletter'].pk}/senders/").json()
    assert listed["results"][0]["warnings"] is None  # not checked yet: the list asks nothing

    detail = client.get(base + f"senders/{created['id']}/").json()
    (warning,) = detail["warnings"]
    assert warning["check"] == "dmarc" and "p=reject" in warning["message"]
    assert warning["fix"] is None
    listed = client.get(base + f"newsletters/{world['newsletter'].pk}/senders/").json()
    assert listed["results"][0]["warnings"] == detail["warnings"]


def test_renaming_and_deleting(api):
    world, client, base = api
    created = add(client, base, world, "news@jorat.example.test").json()
    url = base + f"senders/{created['id']}/"
    renamed = client.patch(url, {"name": "Théâtre du Jorat"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Théâtre du Jorat"
    assert renamed.json()["email"] == "news@jorat.example.test"

    campaign = Campaign.objects.create(
        organisation=world["org"], newsletter=world["newsletter"], title="June programme",
        sender_id=created["id"], status=CampaignStatus.SCHEDULED, scheduled_at=timezone.now(),
    )  # fmt: skip
    refused = client.delete(url)
    assert refused.status_code == 409
    assert refused.json()["code"] == "sender_in_use"
    assert "June programme" in refused.json()["detail"]
    campaign.status, campaign.scheduled_at = CampaignStatus.DRAFT, None
    campaign.save()
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    campaign.refresh_from_db()
    assert campaign.sender is None


def test_the_link_is_sent_again_with_429_when_too_soon(api, mailoutbox, committed):
    world, client, base = api
    created = add(client, base, world, "hello@outside.test").json()
    url = base + f"senders/{created['id']}/verification/"
    soon = client.post(url)
    assert soon.status_code == 429 and soon.json()["code"] == "too_soon"
    assert 0 < int(soon["Retry-After"]) <= senders.RESEND_INTERVAL.total_seconds()
    Sender.objects.filter(pk=created["id"]).update(
        verification_sent_at=timezone.now() - senders.RESEND_INTERVAL
    )
    with committed():
        sent = client.post(url)
    assert (
        sent.status_code == 200
        and sent.json()["verification_sent_at"] > created["verification_sent_at"]
    )
    assert [m.to for m in mailoutbox] == [["hello@outside.test"]]
    ready = add(client, base, world, "news@jorat.example.test").json()
    verified = client.post(base + f"senders/{ready['id']}/verification/")
    assert verified.status_code == 409 and verified.json()["code"] == "already_verified"


def test_the_list_takes_the_same_queries_whatever_its_size(api):
    world, client, base = api
    url = base + f"newsletters/{world['newsletter'].pk}/senders/"

    def listed(size):
        Sender.objects.bulk_create(
            Sender(
                organisation=world["org"],
                newsletter=world["newsletter"],
                kind="outside",
                email=f"s{n:03}@d{n}.test",
                email_key=f"s{n:03}@d{n}.test",
            )  # fmt: skip
            for n in range(Sender.objects.count(), size)
        )
        with CaptureQueriesContext(connection) as queries:
            answer = client.get(url)
        body = answer.json()
        assert body["count"] == size and len(body["results"]) == size
        assert all(sender["warnings"] is None for sender in body["results"])  # no DNS asked
        return len(queries)

    client.get(url)  # the session, the grants
    assert listed(3) == listed(30) <= 8
