"""A campaign's report page in the Manager, for each status a campaign can be in: what
it shows (the live progress with its buttons while sending, the confirmation an
overdue campaign waits for, the figures and recipients once started), the buttons that
pause, resume, cancel (after a confirmation naming the campaign) and send now, the
progress JSON the page polls, the CSV file, and who may do what: a viewer reads but
cannot steer (403), another organisation sees nothing (404)."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from newsletter.models import Campaign, CampaignEvent, CampaignRecipient, CampaignStatus, Contact
from panel.models import Job
from tests import factories as f
from tests.newsletter.sending_world import sending_world

pytestmark = pytest.mark.django_db

AGO = datetime.timedelta(minutes=20)


@pytest.fixture
def world():
    """A campaign of 6 recipients with a viewer (view grant) and an outsider (legal
    representative of another organisation)."""
    w = sending_world(6)
    w["viewer"] = f.MembershipFactory(organisation=w["org"], role="user").user
    f.GrantFactory(
        team=None, user=w["viewer"], organisation=w["org"], product_type="newsletter",
        product_id=w["newsletter"].pk, level="view",
    )  # fmt: skip
    w["outsider"] = f.UserFactory()
    w["other_org"] = f.OrganisationFactory(legal_representative=w["outsider"])
    return w


def _as(world, status: str, *, sent: int = 0) -> Campaign:
    """The campaign in `status`; once started, with its rows (`sent` of them sent)."""
    now = timezone.now()
    started = status in ("sending", "paused", "sent", "cancelled")
    Campaign.objects.filter(pk=world["campaign"].pk).update(
        status=status,
        scheduled_at=None if status == "draft" else now - AGO,
        started_at=now - AGO if started else None,
        finished_at=now if status in ("sent", "cancelled") else None,
        recipients_ready=started,
        links=["https://jorat.test/book", "https://jorat.test/programme"],
    )
    campaign = Campaign.objects.get(pk=world["campaign"].pk)
    if started:
        contacts = Contact.objects.filter(newsletter=world["newsletter"]).order_by("pk")
        CampaignRecipient.objects.bulk_create(
            CampaignRecipient(
                campaign=campaign,
                contact=contact,
                state="sent" if number < sent else "pending",
                sent_at=now - datetime.timedelta(minutes=number) if number < sent else None,
            )  # fmt: skip
            for number, contact in enumerate(contacts)
        )
    return campaign


def _url(world, name: str, org=None) -> str:
    return reverse(f"newsletter:{name}", args=[(org or world["org"]).pk, world["campaign"].pk])


def _client(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("status", "shown", "absent"),
    [
        ("draft", ["report-not-started", "Continue the campaign"], ["data-report-progress"]),
        ("scheduled", ["report-not-started", "See the schedule"], ["data-report-progress"]),
        ("overdue", ['data-testid="send-now"', "Waiting for your confirmation"],
         ["data-report-progress"]),
        ("sending", ['data-testid="pause"', "data-report-progress", 'data-testid="results"'],
         ['data-testid="resume"']),
        ("paused", ['data-testid="resume"', 'data-testid="paused-notice"'],
         ['data-testid="pause"']),
        ("sent", ['data-testid="results"', 'data-testid="recipients"', "report-data"],
         ["data-report-progress", 'data-testid="cancel"']),
        ("cancelled", ['data-testid="results"'], ["data-report-progress"]),
    ],
)  # fmt: skip
def test_the_page_of_each_status(client, world, status, shown, absent):
    _as(world, status, sent=2)
    page = _client(client, world["legal"]).get(_url(world, "campaign-report"))
    assert page.status_code == 200
    html = page.content.decode()
    for text in shown:
        assert text in html, text
    for text in absent:
        assert text not in html, text


def test_while_sending_the_page_shows_the_progress_and_the_json_follows_it(client, world):
    campaign = _as(world, "sending", sent=2)
    client = _client(client, world["legal"])
    html = client.get(_url(world, "campaign-report")).content.decode()
    assert 'data-testid="progress-sent">2<' in html
    assert 'data-testid="progress-pending">4<' in html
    assert "per hour" in html

    CampaignRecipient.objects.filter(campaign=campaign, state="pending").order_by("pk").filter(
        pk__in=CampaignRecipient.objects.filter(campaign=campaign, state="pending")
        .order_by("pk").values("pk")[:1]
    ).update(state="sent", sent_at=timezone.now())  # fmt: skip
    state = client.get(_url(world, "campaign-report-progress")).json()
    assert (state["status"], state["sent"], state["pending"], state["total"]) == (
        "sending", 3, 3, 6,
    )  # fmt: skip
    assert state["percent"] == 50 and state["shares"]["sent"] == 50.0
    assert state["rate_per_hour"] > 0
    assert state["estimated_end"] is not None
    assert sum(point["sent"] for point in state["sending"]["points"]) == 3


def test_pause_then_resume_then_cancel_from_the_buttons(client, world):
    _as(world, "sending", sent=1)
    client = _client(client, world["legal"])
    report = _url(world, "campaign-report")

    paused = client.post(_url(world, "campaign-pause"))
    assert paused.status_code == 302 and paused.url == report
    assert Campaign.objects.get(pk=world["campaign"].pk).status == CampaignStatus.PAUSED
    assert 'data-testid="resume"' in client.get(report).content.decode()

    client.post(_url(world, "campaign-resume"))
    assert Campaign.objects.get(pk=world["campaign"].pk).status == CampaignStatus.SENDING

    confirm = client.get(_url(world, "campaign-cancel"))
    assert confirm.status_code == 200
    assert world["campaign"].title in confirm.content.decode()
    assert Campaign.objects.get(pk=world["campaign"].pk).status == CampaignStatus.SENDING
    done = client.post(_url(world, "campaign-cancel"))
    assert done.url == report
    assert Campaign.objects.get(pk=world["campaign"].pk).status == CampaignStatus.CANCELLED


def test_pausing_a_campaign_that_is_not_sent_says_why(client, world):
    _as(world, "sent", sent=6)
    client = _client(client, world["legal"])
    response = client.post(_url(world, "campaign-pause"), follow=True)
    assert "Only a campaign being sent can be paused." in response.content.decode()
    assert Campaign.objects.get(pk=world["campaign"].pk).status == CampaignStatus.SENT


def test_an_overdue_campaign_is_sent_when_its_customer_confirms(client, world):
    _as(world, "overdue")
    response = _client(client, world["legal"]).post(_url(world, "campaign-send-now"))
    assert response.url == _url(world, "campaign-report")
    campaign = Campaign.objects.get(pk=world["campaign"].pk)
    assert campaign.status == CampaignStatus.SENDING
    assert Job.objects.filter(pk=campaign.send_job_id).exists()


def test_a_viewer_sees_the_report_but_cannot_steer_it(client, world):
    _as(world, "sending", sent=1)
    client = _client(client, world["viewer"])
    html = client.get(_url(world, "campaign-report")).content.decode()
    assert "data-report-progress" in html
    assert 'data-testid="pause"' not in html and 'data-testid="recipients-csv"' not in html
    for name in ("campaign-pause", "campaign-cancel", "campaign-send-now"):
        assert client.post(_url(world, name)).status_code == 403, name
    assert client.get(_url(world, "campaign-report-csv")).status_code == 403
    assert Campaign.objects.get(pk=world["campaign"].pk).status == CampaignStatus.SENDING


def test_another_organisation_sees_nothing(client, world):
    _as(world, "sending", sent=1)
    client = _client(client, world["outsider"])
    for name in ("campaign-report", "campaign-report-progress", "campaign-report-csv"):
        assert client.get(_url(world, name)).status_code == 404, name
        # Under their own organisation's address, our campaign does not exist either.
        assert client.get(_url(world, name, org=world["other_org"])).status_code == 404, name
    assert client.post(_url(world, "campaign-pause", org=world["other_org"])).status_code == 404
    assert Campaign.objects.get(pk=world["campaign"].pk).status == CampaignStatus.SENDING


def test_the_recipients_are_filtered_and_downloaded(client, world):
    campaign = _as(world, "sent", sent=4)
    first = CampaignRecipient.objects.filter(campaign=campaign).order_by("pk").first()
    CampaignRecipient.objects.filter(pk=first.pk).update(opened_at=timezone.now())
    CampaignEvent.objects.create(campaign=campaign, contact_id=first.contact_id, kind="open")
    client = _client(client, world["legal"])
    html = client.get(_url(world, "campaign-report"), {"state": "pending"}).content.decode()
    assert html.count('data-recipient="') == 2
    assert "2 recipients match" in html
    html = client.get(_url(world, "campaign-report"), {"q": "c1@"}).content.decode()
    assert html.count('data-recipient="') == 1
    download = client.get(_url(world, "campaign-report-csv"))
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "email,state,sent_at,opened_at,clicked_at,bounce,reply"
    assert len(lines) == 7


def test_the_charts_get_their_data_and_an_untracked_campaign_says_so(client, world):
    campaign = _as(world, "sent", sent=6)
    contact_id = CampaignRecipient.objects.filter(campaign=campaign).first().contact_id
    CampaignEvent.objects.create(campaign=campaign, contact_id=contact_id, kind="click",
                                 link_index=1)  # fmt: skip
    client = _client(client, world["legal"])
    page = client.get(_url(world, "campaign-report"))
    html = page.content.decode()
    start = html.index('<script id="report-data" type="application/json">') + 49
    data = json.loads(html[start : html.index("</script>", start)])
    assert data["links"][0] == {
        "label": "jorat.test/programme", "url": "https://jorat.test/programme",
        "unique": 1, "total": 1,
    }  # fmt: skip
    assert sum(point["clicks"] for point in data["activity"]["points"]) == 1
    assert 'data-chart="activity"' in html and 'data-chart="links"' in html
    assert "vendor/chart.js/" in html

    Campaign.objects.filter(pk=campaign.pk).update(track_opens=False, track_clicks=False)
    html = client.get(_url(world, "campaign-report")).content.decode()
    assert 'data-testid="activity-off"' in html and 'data-testid="links-off"' in html
    assert "Opens were not tracked for this campaign." in html
    assert 'data-chart="activity"' not in html


def test_no_opens_yet_is_said_rather_than_drawn(client, world):
    _as(world, "sent", sent=6)
    html = _client(client, world["legal"]).get(_url(world, "campaign-report")).content.decode()
    assert 'data-testid="activity-empty"' in html
    assert 'data-testid="links-empty"' in html


def test_the_campaign_list_leads_a_started_campaign_to_its_report(client, world):
    _as(world, "sending", sent=1)
    response = _client(client, world["legal"]).get(
        reverse("newsletter:campaign-list", args=[world["org"].pk, world["newsletter"].pk])
    )
    html = response.content.decode()
    assert f'href="{_url(world, "campaign-report")}"' in html
    assert f'href="{_url(world, "campaign-setup")}"' not in html


def test_the_page_takes_as_many_queries_for_30_recipients_as_for_6(
    client, world, django_assert_max_num_queries
):
    _as(world, "sending", sent=3)
    client = _client(client, world["legal"])
    client.get(_url(world, "campaign-report"))  # the session, looked up once
    with CaptureQueriesContext(connection) as few:
        client.get(_url(world, "campaign-report"))
    queries = len(few)
    big = sending_world(30)
    big_world = {**world, **big}
    _as(big_world, "sending", sent=20)
    client.force_login(big["legal"])
    client.get(_url(big_world, "campaign-report"))
    with django_assert_max_num_queries(queries):
        page = client.get(_url(big_world, "campaign-report"))
    assert page.content.decode().count('data-recipient="') == 25  # one page of them
