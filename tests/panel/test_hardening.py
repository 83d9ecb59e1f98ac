"""Odd input and failures that must neither crash nor leak: found in review."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from panel import jobs, services
from panel.access import access_for
from panel.celery import app as celery_app
from panel.models import ApiToken, Invitation, Job, JobStatus, Organisation, Role

pytestmark = pytest.mark.django_db

ORG = "/api/v1/organisations/{}/"


def test_delete_with_a_non_text_confirmation_is_refused_not_crashed(org_world, client_for):
    org = org_world["org"]
    response = client_for(org_world["legal"]).delete(
        ORG.format(org.pk), {"confirm_name": 123}, format="json"
    )
    assert response.status_code == 400
    assert Organisation.objects.filter(pk=org.pk).exists()


@pytest.mark.parametrize("name", ["Acme\nLtd", "Acme\rLtd", "Acme\x00"])
def test_names_are_single_lines(org_world, client_for, name):
    org = org_world["org"]
    response = client_for(org_world["admin"]).patch(ORG.format(org.pk), {"name": name})
    assert response.status_code == 400
    assert "name" in response.json()["fields"]
    org.refresh_from_db()
    assert org.name == "Acme"


def test_a_mail_failure_does_not_fail_the_invitation(org_world, client_for, monkeypatch):
    def broken_send_mail(**kwargs):
        raise ConnectionRefusedError("SMTP relay down")

    monkeypatch.setattr("panel.services.invitations.send_mail", broken_send_mail)
    client = client_for(org_world["admin"])
    org = org_world["org"]
    response = client.post(
        f"{ORG.format(org.pk)}invitations/", {"email": "late@example.test", "role": "user"}
    )
    assert response.status_code == 201
    assert Invitation.objects.get(email="late@example.test").status == "pending"


def _export_job(org, actor, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    job = Job.objects.create(
        organisation=org, actor=actor, kind="activity_export", status=JobStatus.SUCCEEDED
    )
    job.result_file.save("activity.csv", ContentFile(b"date,person\r\n"), save=True)
    return job


def test_an_admin_made_user_loses_the_exports_they_started(
    org_world, client_for, tmp_path, settings
):
    org, admin = org_world["org"], org_world["admin"]
    job = _export_job(org, admin, tmp_path, settings)
    client = client_for(admin)
    assert client.get(f"{ORG.format(org.pk)}jobs/{job.pk}/download/").status_code == 200
    org.memberships.filter(user=admin).update(role=Role.USER)
    assert client.get(f"{ORG.format(org.pk)}jobs/{job.pk}/").status_code == 404
    assert client.get(f"{ORG.format(org.pk)}jobs/{job.pk}/download/").status_code == 404


def test_a_result_file_gone_from_disk_answers_404(org_world, client_for, tmp_path, settings):
    org = org_world["org"]
    job = _export_job(org, org_world["legal"], tmp_path, settings)
    job.result_file.storage.delete(job.result_file.name)
    response = client_for(org_world["legal"]).get(f"{ORG.format(org.pk)}jobs/{job.pk}/download/")
    assert response.status_code == 404


def _bearer(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_token_cannot_mint_a_stronger_or_longer_lived_token(org_world):
    legal = org_world["legal"]
    expiry = timezone.now() + timedelta(days=1)
    _short, secret = services.token_create(
        actor=legal, name="short", scopes=["read", "write"], expires_at=expiry
    )
    created = _bearer(secret).post("/api/v1/me/tokens/", {"name": "forever", "scopes": ["write"]})
    assert created.status_code == 201
    assert ApiToken.objects.get(pk=created.json()["id"]).expires_at == expiry

    _write_only, write_secret = services.token_create(actor=legal, name="w", scopes=["write"])
    escalation = _bearer(write_secret).post(
        "/api/v1/me/tokens/", {"name": "x", "scopes": ["read", "write"]}
    )
    assert escalation.status_code == 403
    assert ApiToken.objects.filter(user=legal).count() == 3


def test_an_unknown_leader_id_and_a_stranger_get_the_same_answer(org_world, client_for):
    org = org_world["org"]
    client = client_for(org_world["admin"])
    answers = [
        client.post(f"{ORG.format(org.pk)}teams/", {"name": f"T{i}", "leader": leader}).json()
        for i, leader in enumerate([org_world["outsider"].pk, 987654321])
    ]
    assert answers[0] == answers[1]
    assert "leader" in answers[0]["fields"]


def test_an_unexpected_job_error_says_so_plainly(org_world):
    job = Job.objects.create(organisation=org_world["org"], kind="report")

    def body(job):
        raise RuntimeError("psycopg: relation secret_table does not exist at /srv/x")

    with pytest.raises(RuntimeError):
        jobs.run_job(job.pk, body, total=lambda job: 1)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    reason = job.errors[0]["detail"]
    assert "unexpected error" in reason
    assert "secret_table" not in reason


def test_a_job_that_cannot_be_queued_fails_with_a_reason(
    org_world, django_capture_on_commit_callbacks
):
    class BrokerDown:
        @staticmethod
        def delay(job_id):
            raise ConnectionError("redis down")

    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_enqueue(
            organisation=org_world["org"], actor=org_world["legal"], kind="report", task=BrokerDown
        )
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "could not be queued" in job.errors[0]["detail"]
    assert access_for(org_world["legal"], org_world["org"]) is not None


def test_a_job_queued_by_task_name_runs_that_task_and_keeps_eager_mode(
    org_world, django_capture_on_commit_callbacks, monkeypatch, settings, tmp_path
):
    """Services enqueue by name, without importing the tasks module; in eager mode (the
    benchmarks, `make run` without a worker) the job still runs at the commit."""
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_enqueue(
            organisation=org_world["org"],
            actor=org_world["legal"],
            kind="activity_export",
            task="panel.tasks.export_activity",
        )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.errors


def test_a_job_queued_under_an_unknown_task_name_fails_with_a_reason(
    org_world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_enqueue(
            organisation=org_world["org"], actor=org_world["legal"], kind="report", task="no.such"
        )
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "could not be queued" in job.errors[0]["detail"]
