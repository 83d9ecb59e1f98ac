"""A campaign's report, from recipient rows and events written here as the sending
engine and the tracking would: delivered and bounced add up to sent, machines' opens
and clicks are counted apart from every rate, a campaign that did not track opens says
so instead of 0 %, opens and clicks and sends per slot of time, the recipients list with
its filters (and a 400 naming `state`), its CSV file with the formula guard, and the
bounded number of queries of each."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from newsletter.models import (
    Campaign,
    CampaignEvent,
    CampaignRecipient,
    CampaignStatus,
    Contact,
)
from newsletter.services import reports
from tests.newsletter.sending_world import add_contacts, sending_world

pytestmark = pytest.mark.django_db

LINKS = [
    "https://jorat.test/book?utm_source=newsletter",
    "https://jorat.test/programme?utm_source=newsletter",
    "https://jorat.test/map",
]
START = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=3)


def at(minutes: float) -> datetime.datetime:
    return START + datetime.timedelta(minutes=minutes)


def _contacts(world) -> list[Contact]:
    return list(Contact.objects.filter(newsletter=world["newsletter"]).order_by("pk"))


def sent_campaign(world, **changes) -> Campaign:
    Campaign.objects.filter(pk=world["campaign"].pk).update(
        status=CampaignStatus.SENT, scheduled_at=START, started_at=START,
        finished_at=at(30), recipients_ready=True, links=LINKS, **changes,
    )  # fmt: skip
    return Campaign.objects.get(pk=world["campaign"].pk)


def row(campaign, contact, state="sent", minute=None, **fields) -> CampaignRecipient:
    return CampaignRecipient.objects.create(
        campaign=campaign, contact=contact, state=state,
        sent_at=at(minute) if minute is not None else None, **fields,
    )  # fmt: skip


def event(campaign, contact, kind, minute, *, link=None, machine=False):
    CampaignEvent.objects.create(
        campaign=campaign, contact=contact, kind=kind, link_index=link, machine=machine,
        detail={"machine": "scanner"} if machine else {}, at=at(minute),
    )  # fmt: skip


@pytest.fixture
def world():
    """Eight recipients of a sent campaign: c0 to c5 were sent (c1 came back as a hard
    bounce, c2 as a soft one), c6 was refused (550), c7 skipped. c0 opened twice and
    clicked the first link twice, c3 opened and clicked the second link, c5 clicked the
    second link without the pixel loading (images off); a privacy proxy opened for c0
    and c4, and a scanner followed both links for c4. c3 unsubscribed, c4 complained."""
    w = sending_world(8)
    campaign = w["campaign"] = sent_campaign(w)
    c = w["contacts"] = _contacts(w)
    row(campaign, c[0], minute=0, opened_at=at(10), clicked_at=at(11))
    row(campaign, c[1], minute=1, bounce="hard", bounced_at=at(5), smtp_reply="5.1.1 unknown")
    row(campaign, c[2], minute=2, bounce="soft", bounced_at=at(6), smtp_reply="4.2.2 full")
    row(campaign, c[3], minute=3, opened_at=at(20), clicked_at=at(21))
    row(campaign, c[4], minute=4)
    row(campaign, c[5], minute=5, opened_at=at(130), clicked_at=at(130))
    row(campaign, c[6], state="failed", smtp_reply="550 5.1.1 no such user", attempts=1)
    row(campaign, c[7], state="skipped")
    for contact, kind, minute, link, machine in (
        (c[0], "open", 1, None, True),
        (c[0], "open", 10, None, False),
        (c[0], "click", 11, 0, False),
        (c[0], "open", 70, None, False),
        (c[0], "click", 75, 0, False),
        (c[3], "open", 20, None, False),
        (c[3], "click", 21, 1, False),
        (c[4], "open", 4.2, None, True),
        (c[4], "click", 4.3, 0, True),
        (c[4], "click", 4.3, 1, True),
        (c[5], "click", 130, 1, False),
        (c[3], "unsubscribe", 25, None, False),
        (c[4], "complaint", 40, None, False),
        (c[1], "bounce", 5, None, False),
        (c[2], "bounce", 6, None, False),
    ):
        event(campaign, contact, kind, minute, link=link, machine=machine)
    return w


def test_the_figures_add_up_and_machines_are_counted_apart(world):
    report = reports.campaign_report(world["campaign"])

    assert report["recipients"] == {
        "total": 8, "pending": 0, "sent": 6, "delivered": 4, "failed": 1, "skipped": 1,
    }  # fmt: skip
    assert report["bounces"] == {"total": 2, "hard": 1, "soft": 1}
    assert report["opens"] == {
        "tracked": True, "unique": 3, "total": 3, "machine_unique": 2, "machine_total": 2,
    }  # fmt: skip
    assert report["clicks"] == {
        "tracked": True, "unique": 3, "total": 4, "machine_unique": 1, "machine_total": 2,
    }  # fmt: skip
    assert report["links"] == [
        {"index": 0, "url": LINKS[0], "unique": 1, "total": 2},
        {"index": 1, "url": LINKS[1], "unique": 2, "total": 2},
        {"index": 2, "url": LINKS[2], "unique": 0, "total": 0},
    ]
    assert (report["unsubscribes"], report["complaints"]) == (1, 1)
    assert report["rates"] == {
        "open": 0.75,  # 3 people of 4 delivered; the proxies' opens do not count
        "click": 0.75,
        "click_to_open": 1.0,
        "bounce": 0.3333,  # 2 of 6 sent
        "unsubscribe": 0.25,
        "complaint": 0.25,
    }


def test_opens_clicks_and_sends_over_time_by_slot(world):
    report = reports.campaign_report(world["campaign"])

    activity = report["activity"]
    # From the start to the last human click, 130 minutes later: ten-minute slots.
    assert activity["step"] == 600
    assert len(activity["points"]) == 14
    assert activity["points"][0]["at"] == START
    assert activity["points"][13]["at"] == at(130)
    busy = {i: (p["opens"], p["clicks"]) for i, p in enumerate(activity["points"])
            if p["opens"] or p["clicks"]}  # fmt: skip
    assert busy == {1: (1, 1), 2: (1, 1), 7: (1, 1), 13: (0, 1)}
    # Sent over the 30 minutes of the sending: one-minute slots, one email a minute.
    sends = report["sending"]
    assert sends["step"] == 60
    assert len(sends["points"]) == 31
    assert [p["sent"] for p in sends["points"][:7]] == [1, 1, 1, 1, 1, 1, 0]
    assert sum(p["sent"] for p in sends["points"]) == 6


def test_the_slot_grows_with_the_span_shown():
    hours = datetime.timedelta(hours=1)
    assert reports.slot_for(hours * 0.2) == 10
    assert reports.slot_for(hours * 1.5) == 60
    assert reports.slot_for(hours * 20) == 600
    assert reports.slot_for(hours * 24 * 6) == 3600
    assert reports.slot_for(hours * 24 * 90) == 86400
    assert reports.slot_for(hours * 24 * 400) == 7 * 86400


def test_a_campaign_that_tracked_nothing_says_so_instead_of_zero(world):
    campaign = sent_campaign(world, track_opens=False, track_clicks=False)
    report = reports.campaign_report(campaign)
    assert report["opens"]["tracked"] is False and report["opens"]["unique"] == 0
    assert report["clicks"]["tracked"] is False and report["clicks"]["unique"] == 0
    rates = report["rates"]
    assert (rates["open"], rates["click"], rates["click_to_open"]) == (None, None, None)
    assert rates["bounce"] == 0.3333  # what does not depend on tracking stays


def test_before_anything_is_delivered_no_rate_is_made_up():
    world = sending_world(2)
    Campaign.objects.filter(pk=world["campaign"].pk).update(
        status=CampaignStatus.SENDING, scheduled_at=START, started_at=timezone.now()
    )
    campaign = Campaign.objects.get(pk=world["campaign"].pk)
    for contact in _contacts(world):
        row(campaign, contact, state="pending")
    report = reports.campaign_report(campaign)
    assert report["recipients"]["pending"] == 2
    assert set(report["rates"].values()) == {None}
    assert not any(p["opens"] or p["clicks"] for p in report["activity"]["points"])


def test_the_report_is_five_queries_whatever_the_size(world, django_assert_num_queries):
    with django_assert_num_queries(5):
        reports.campaign_report(world["campaign"])
    add_contacts(world["org"], world["newsletter"], world["news"], 40, domain="more.test")
    for contact in Contact.objects.filter(email_key__endswith="@more.test"):
        row(world["campaign"], contact, minute=7, opened_at=at(50))
        event(world["campaign"], contact, "open", 50)
    with django_assert_num_queries(5):
        report = reports.campaign_report(world["campaign"])
    assert report["opens"]["unique"] == 43


# -- the recipients --------------------------------------------------------------------------------


def test_recipients_by_state_and_address(world):
    campaign, c = world["campaign"], world["contacts"]
    everyone = reports.recipients_of(campaign)
    assert [r.contact.email for r in everyone] == [contact.email for contact in c]
    (failed,) = reports.recipients_of(campaign, state="failed")
    assert (failed.contact.email, failed.smtp_reply) == (c[6].email, "550 5.1.1 no such user")
    assert reports.recipients_of(campaign, state="pending").count() == 0
    (found,) = reports.recipients_of(campaign, search=f" C3@{world['domain'].upper()} ")
    assert found.contact == c[3]


def _csv(campaign) -> tuple[str, list[list[str]]]:
    text = "".join(reports.recipients_csv(campaign))
    return text, list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_csv_file_has_every_recipient_and_writes_formulas_as_text(world):
    campaign, c = world["campaign"], world["contacts"]
    Contact.objects.filter(pk=c[4].pk).update(email="=HYPERLINK(1)@x.test")
    CampaignRecipient.objects.filter(campaign=campaign, contact=c[6]).update(smtp_reply="=2+2")

    text, rows = _csv(campaign)

    assert text.startswith("\ufeffemail,state,sent_at,opened_at,clicked_at,bounce,reply\r\n")
    assert rows[0] == ["email", "state", "sent_at", "opened_at", "clicked_at", "bounce", "reply"]
    assert len(rows) == 9
    first = rows[1]
    local = timezone.localtime
    assert first == [
        c[0].email, "sent", local(at(0)).strftime("%Y-%m-%d %H:%M"),
        local(at(10)).strftime("%Y-%m-%d %H:%M"), local(at(11)).strftime("%Y-%m-%d %H:%M"),
        "", "",
    ]  # fmt: skip
    assert rows[2][5:] == ["hard", "5.1.1 unknown"]
    assert rows[5][0] == "'=HYPERLINK(1)@x.test"
    assert rows[7] == [c[6].email, "failed", "", "", "", "", "'=2+2"]
    assert rows[8][1] == "skipped"


def test_the_csv_file_is_read_in_chunks(world, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(reports, "CHUNK", 3)
    with django_assert_num_queries(4):  # 3 + 3 + 2 recipients, then none
        pieces = list(reports.recipients_csv(world["campaign"]))
    assert len(pieces) == 4  # the header, then one piece a chunk
    assert sum(piece.count("\r\n") for piece in pieces) == 9


# -- the API -----------------------------------------------------------------------------------


def _api(world, user=None):
    client = APIClient()
    client.force_authenticate(user=user or world["legal"])
    return client


def _url(world, tail: str) -> str:
    return (
        f"/api/v1/organisations/{world['org'].pk}/newsletter/campaigns/"
        f"{world['campaign'].pk}/{tail}"
    )


def test_the_api_answers_the_report(world):
    response = _api(world).get(_url(world, "report/"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "sent"
    assert body["recipients"]["delivered"] == 4
    assert body["opens"]["machine_total"] == 2
    assert body["rates"]["open"] == 0.75
    assert body["links"][1] == {"index": 1, "url": LINKS[1], "unique": 2, "total": 2}
    assert body["activity"]["step"] == 600 and len(body["activity"]["points"]) == 14
    assert body["activity"]["points"][1] == {
        "at": body["activity"]["points"][1]["at"], "opens": 1, "clicks": 1,
    }  # fmt: skip
    assert body["started_at"].startswith(str(START.year))


def test_the_api_lists_the_recipients_with_filters(world):
    client, c = _api(world), world["contacts"]
    everyone = client.get(_url(world, "recipients/")).json()
    assert everyone["count"] == 8
    first = everyone["results"][0]
    assert first["email"] == c[0].email and first["state"] == "sent"
    assert first["opened_at"] and first["clicked_at"] and first["bounce"] == ""
    failed = client.get(_url(world, "recipients/"), {"state": "failed"}).json()
    assert [(r["email"], r["smtp_reply"]) for r in failed["results"]] == [
        (c[6].email, "550 5.1.1 no such user")
    ]
    found = client.get(_url(world, "recipients/"), {"search": "c2@"}).json()
    assert [r["bounce"] for r in found["results"]] == ["soft"]
    paged = client.get(_url(world, "recipients/"), {"page_size": 3, "page": 3}).json()
    assert [r["email"] for r in paged["results"]] == [c[6].email, c[7].email]


def test_an_unknown_state_is_a_400_naming_it(world):
    response = _api(world).get(_url(world, "recipients/"), {"state": "opened"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"state"}


def test_the_api_gives_the_csv_file(world):
    for accept in ("*/*", "text/csv"):
        response = _api(world).get(_url(world, "recipients.csv"), HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert "attachment" in response["Content-Disposition"]
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        assert body.splitlines()[0] == "email,state,sent_at,opened_at,clicked_at,bounce,reply"
        assert len(body.splitlines()) == 9


def test_a_viewer_reads_the_report_and_the_list_but_not_the_file(world):
    from panel.access import access_for
    from tests import factories as f

    viewer = f.MembershipFactory(organisation=world["org"], role="user").user
    f.GrantFactory(
        team=None, user=viewer, organisation=world["org"], product_type="newsletter",
        product_id=world["newsletter"].pk, level="view",
    )  # fmt: skip
    assert access_for(viewer, world["org"])
    client = _api(world, viewer)
    assert client.get(_url(world, "report/")).status_code == 200
    assert client.get(_url(world, "recipients/")).status_code == 200
    assert client.get(_url(world, "recipients.csv")).status_code == 403


def _listed(size: int):
    """A sent campaign of `size` recipients, and its list's URL and client."""
    world = sending_world(size)
    campaign = sent_campaign(world)
    for number, contact in enumerate(_contacts(world)):
        row(campaign, contact, minute=number % 20, opened_at=at(40))
    client = _api(world)
    url = _url({**world, "campaign": campaign}, "recipients/")
    client.get(url)  # what is looked up once a session is not counted
    return client, url


def test_the_recipients_list_takes_as_many_queries_for_30_as_for_3(django_assert_max_num_queries):
    client, url = _listed(3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url, {"state": "sent"}).json()["count"] == 3
    queries = len(small)
    assert queries <= 6
    client, url = _listed(30)
    with django_assert_max_num_queries(queries):
        assert client.get(url, {"state": "sent"}).json()["count"] == 30
