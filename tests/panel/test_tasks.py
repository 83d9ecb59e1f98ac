"""The activity export Job, run by a real Celery worker consuming from the rig's Redis."""

import csv
import datetime as dt
import io
import time
from urllib.parse import urlparse

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from panel import selectors
from panel.celery import app as celery_app
from panel.models import ActivityEvent, Job, JobStatus
from panel.tasks import export_activity

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 30
HEADER = ["date", "person", "action", "target_type", "target_id", "target", "via", "details"]


@pytest.fixture
def worker(settings, tmp_path):
    """A Celery worker thread; it sees the rows this test commits."""
    settings.MEDIA_ROOT = tmp_path
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def wait_for_job(client, org, job_id) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = client.get(f"/api/v1/organisations/{org.pk}/jobs/{job_id}/")
        assert response.status_code == 200
        job = response.json()
        if job["status"] in {"succeeded", "failed", "cancelled"}:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {WAIT_SECONDS}s"
        time.sleep(0.1)


def event(org, actor, code, *, days_ago=0, **extra):
    return ActivityEvent.objects.create(
        organisation=org,
        actor=actor,
        actor_email=actor.email,
        code=code,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
        **extra,
    )


def test_export_runs_on_the_worker_and_gives_the_filtered_csv(worker, org_world, client_for):
    org, admin, legal = org_world["org"], org_world["admin"], org_world["legal"]
    team = org_world["team"]
    wanted = [
        event(
            org,
            admin,
            "panel.team.created",
            days_ago=3,
            target_type="team",
            target_id=str(team.pk),
            target_repr="Webmasters",
            via="ui",
        ),
        event(
            org,
            admin,
            "panel.team.member_added",
            days_ago=2,
            target_type="team",
            target_id=str(team.pk),
            target_repr="Webmasters",
            via="api",
            data={"user": "teammate@example.test"},
        ),
        event(org, admin, "panel.team.updated", days_ago=1, target_repr='Équipe, "web"'),
    ]
    event(org, legal, "panel.team.deleted", days_ago=1)  # another person
    event(org, admin, "panel.member.role_changed", days_ago=1)  # another kind
    event(org, admin, "panel.team.created", days_ago=400)  # too old
    event(org_world["other_org"], admin, "panel.team.created")  # another organisation
    since = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    client = client_for(admin)

    response = client.post(
        f"/api/v1/organisations/{org.pk}/activity/exports/",
        {"actor": admin.pk, "kind": "panel.team", "since": since},
        format="json",
    )
    assert response.status_code == 202
    queued = response.json()["job"]
    assert queued["kind"] == "activity_export"
    assert queued["status"] == "queued"
    assert {"id", "done", "total", "result", "errors", "created_at", "finished_at"} <= set(queued)

    job = wait_for_job(client, org, queued["id"])
    assert job["status"] == "succeeded", job["errors"]
    assert job["done"] == job["total"] == 3
    assert job["result"]["rows"] == 3
    assert job["errors"] == []
    assert job["finished_at"]

    download = client.get(urlparse(job["result"]["download_url"]).path)
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    assert download["Content-Type"].startswith("text/csv")
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == HEADER
    newest_first = list(reversed(wanted))
    assert [(r[1], r[2], r[4], r[5], r[6]) for r in rows[1:]] == [
        (e.actor_email, e.code, e.target_id, e.target_repr, e.via) for e in newest_first
    ]
    assert rows[2][7] == "user=teammate@example.test"
    expected = selectors.activity_list(
        organisation=org,
        actor=admin.pk,
        kind="panel.team",
        since=dt.date.fromisoformat(since),
    )
    assert [r[2] for r in rows[1:]] == [e.code for e in expected]

    # The export is recorded in the activity log, as an API action.
    started = ActivityEvent.objects.get(code="panel.activity.export_started")
    assert (started.actor, started.via, started.target_id) == (admin, "api", str(job["id"]))

    # Running the finished job again (a redelivered message) changes nothing.
    row = Job.objects.get(pk=job["id"])
    before = (row.status, row.result, row.result_file.name, row.finished_at, row.done)
    export_activity(job["id"])
    row.refresh_from_db()
    assert (row.status, row.result, row.result_file.name, row.finished_at, row.done) == before
    again = client.get(urlparse(job["result"]["download_url"]).path)
    assert b"".join(again.streaming_content).decode("utf-8-sig") == content


def test_a_failing_job_says_why(worker, org_world, client_for):
    org, admin = org_world["org"], org_world["admin"]
    job = Job.objects.create(
        organisation=org, actor=admin, kind="activity_export", params={"since": "2026-13-45"}
    )
    export_activity.delay(job.pk)
    outcome = wait_for_job(client_for(admin), org, job.pk)
    assert outcome["status"] == "failed"
    assert outcome["finished_at"]
    assert outcome["errors"] and outcome["errors"][0]["detail"]
    assert "download_url" not in outcome["result"]
    # A failed job stays failed when its message comes again.
    export_activity(job.pk)
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
