"""The send as a script drives it: `send/` answers 202 with the Job whose done/total are
recipients, the campaign shows its progress, `pause/`, `resume/` and `cancel/` steer it
with 409 when they make no sense, the nested URLs under another newsletter answer 404,
and `quota/` tells the account's hourly quota and its use."""

import pytest
from rest_framework.test import APIClient

from newsletter import services
from newsletter.models import CampaignStatus
from newsletter.services import campaigns, sending
from newsletter.services.delivery import Deliverer
from tests.newsletter.sending_world import sending_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(rig, settings):
    sink = rig.require("smtp_sink")
    settings.NEWSLETTER_SMTP_URL = f"smtp://127.0.0.1:{sink.port}"
    settings.NEWSLETTER_GLOBAL_RATE = 100_000
    world = sending_world(4, hourly_quota=None)
    client = APIClient()
    client.force_authenticate(user=world["legal"])
    base = f"/api/v1/organisations/{world['org'].pk}/newsletter/"
    client.url = lambda rest="": base + rest
    world["api"] = client
    return world


def test_send_answers_its_job_and_the_campaign_its_progress(world):
    api, campaign = world["api"], world["campaign"]
    answer = api.post(api.url(f"campaigns/{campaign.pk}/send/"))
    assert answer.status_code == 202, answer.json()
    job = answer.json()["job"]
    assert job["kind"] == "newsletter_send" and job["status"] == "queued"
    sending.campaign_start_run(job["id"])

    detail = api.get(api.url(f"campaigns/{campaign.pk}/")).json()
    assert detail["status"] == "sending" and detail["job"] == job["id"]
    assert (detail["sent"], detail["pending"], detail["failed"]) == (0, 4, 0)
    assert detail["estimated_end"] is not None
    assert (
        api.get(f"/api/v1/organisations/{world['org'].pk}/jobs/{job['id']}/").json()["total"] == 4
    )

    Deliverer().run()
    detail = api.get(api.url(f"campaigns/{campaign.pk}/")).json()
    assert (detail["status"], detail["sent"], detail["pending"]) == ("sent", 4, 0)
    assert detail["estimated_end"] is None
    again = api.post(api.url(f"campaigns/{campaign.pk}/send/"))
    assert (again.status_code, again.json()["code"]) == (409, "already_started")


def test_a_draft_that_is_not_ready_is_refused_with_every_problem(world):
    api = world["api"]
    draft = campaigns.campaign_create(
        access=world["access"], newsletter=world["newsletter"], title="Empty"
    )
    answer = api.post(api.url(f"campaigns/{draft.pk}/send/"))
    assert answer.status_code == 400
    assert {"sender", "content", "lists"} <= set(answer.json()["fields"])
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.DRAFT


def test_pause_resume_and_cancel_steer_the_send(world):
    api, campaign = world["api"], world["campaign"]
    job = api.post(api.url(f"campaigns/{campaign.pk}/send/")).json()["job"]
    sending.campaign_start_run(job["id"])
    refused = api.post(api.url(f"campaigns/{campaign.pk}/resume/"))
    assert (refused.status_code, refused.json()["code"]) == (409, "not_paused")

    paused = api.post(api.url(f"campaigns/{campaign.pk}/pause/"))
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    Deliverer().run()
    assert api.get(api.url(f"campaigns/{campaign.pk}/")).json()["sent"] == 0

    resumed = api.post(api.url(f"campaigns/{campaign.pk}/resume/"))
    assert resumed.json()["status"] == "sending"
    cancelled = api.post(api.url(f"campaigns/{campaign.pk}/cancel/"))
    assert cancelled.json()["status"] == "cancelled"
    Deliverer().run()
    assert api.get(api.url(f"campaigns/{campaign.pk}/")).json()["sent"] == 0
    again = api.post(api.url(f"campaigns/{campaign.pk}/cancel/"))
    assert (again.status_code, again.json()["code"]) == (409, "not_cancellable")


def test_the_nested_urls_answer_only_for_a_campaign_of_that_newsletter(world):
    api, campaign = world["api"], world["campaign"]
    other = services.newsletter_create(access=world["access"], name="Other news")
    wrong = api.post(api.url(f"newsletters/{other.pk}/campaigns/{campaign.pk}/send/"))
    assert wrong.status_code == 404
    assert api.get(api.url(f"newsletters/{other.pk}/campaigns/{campaign.pk}/")).status_code == 404
    right = api.post(api.url(f"newsletters/{world['newsletter'].pk}/campaigns/{campaign.pk}/send/"))
    assert right.status_code == 202
    nested = api.get(api.url(f"newsletters/{world['newsletter'].pk}/campaigns/{campaign.pk}/"))
    assert nested.json()["status"] == "sending"


def test_quota_tells_the_accounts_hourly_quota_and_its_use(world):
    api, campaign = world["api"], world["campaign"]
    quota = api.get(api.url("quota/")).json()
    assert quota == {"hourly_quota": 1000, "used_last_hour": 0, "global_rate": 100000.0}
    job = api.post(api.url(f"campaigns/{campaign.pk}/send/")).json()["job"]
    sending.campaign_start_run(job["id"])
    Deliverer().run()
    assert api.get(api.url("quota/")).json()["used_last_hour"] == 4
    # A second newsletter brings its own plan's quota; staff's override replaces a plan's.
    second = services.newsletter_create(access=world["access"], name="Second")
    second.hourly_quota_override = 250
    second.save()
    assert api.get(api.url("quota/")).json()["hourly_quota"] == 1250
