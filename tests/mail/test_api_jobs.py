"""The Service Mail API of slow work, as an integrator script meets it: the CSV template
and bulk creation from it, the backups of an address and restoring one, and importing
another mailbox. Each answers 202 with the Job to follow; each refusal has its code."""

import csv
import io
import logging
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from mail.models import Address, CsvImport, MailboxImport, MailService, Snapshot
from mail.services import address_create
from mail.services.bulk import CSV_IMPORT_JOB
from mail.services.imports import IMPORT_JOB
from mail.tasks import create_addresses_from_csv
from panel.access import access_for
from panel.models import ActivityEvent, Job, JobStatus
from tests.mail.test_api import PASSWORD, assert_error, linked_member, url

JOB_KEYS = {
    "id",
    "kind",
    "status",
    "done",
    "total",
    "result",
    "errors",
    "created_at",
    "started_at",
    "finished_at",
}
SECRET = "Source-Secret-7431"


@pytest.fixture
def world(org_world):
    """Acme's acme.test service on the premium plan, with room for 10 addresses."""
    MailService.objects.filter(pk=org_world["mail"].pk).update(plan="premium", address_quota=10)
    org_world["mail"].refresh_from_db()
    return org_world


@pytest.fixture
def legal(world, client_for):
    return client_for(world["legal"])


def upload(client, world, content, name="people.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        url(world, "csv-imports/"),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
        format="multipart",
    )


def accepted_job(response, kind) -> Job:
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == {"job"}
    assert set(body["job"]) == JOB_KEYS
    job = Job.objects.get(pk=body["job"]["id"])
    assert job.kind == kind
    assert body["job"]["status"] == JobStatus.QUEUED
    return job


def make_alice(world):
    address, _generated = address_create(
        access=access_for(world["legal"], world["org"]),
        service=world["mail"],
        local_part="alice",
        mode="unassigned",
        password=PASSWORD,
    )
    return address


def rows(count, start=0):
    return "".join(f"user{n},{PASSWORD}\r\n" for n in range(start, start + count))


# -- CSV template and bulk creation --------------------------------------------------------


def test_the_template_uploaded_back_unchanged_creates_its_two_addresses(world, legal):
    response = legal.get(url(world, "csv-template/"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="addresses-template.csv"'
    template = response.content
    header, *examples = list(csv.reader(io.StringIO(template.decode())))
    assert header[0] == "local_part" and len(examples) == 2

    job = accepted_job(upload(legal, world, template, "addresses-template.csv"), CSV_IMPORT_JOB)
    assert not Address.objects.filter(service=world["mail"]).exists()  # the Job creates them
    assert job.params["addresses"] == 2

    create_addresses_from_csv(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert sorted(
        Address.objects.filter(service=world["mail"]).values_list("local_part", flat=True)
    ) == [
        "alice",
        "bob",
    ]
    shown = legal.get(f"/api/v1/organisations/{world['org'].pk}/jobs/{job.pk}/").json()
    assert shown["result"]["created"] == 2


def test_a_file_with_problems_answers_every_one_and_creates_nothing(world, legal):
    make_alice(world)
    content = "\r\n".join(
        [
            "local_part,password",
            f"alice,{PASSWORD}",  # line 2: taken
            "bad name!,short",  # line 3: both columns wrong
            f"carol,{PASSWORD},not-an-address",  # line 4: column C
            f"dave,{PASSWORD},,1",  # line 5: column D without C
            f"carol,{PASSWORD}",  # line 6: twice in the file
        ]
    )
    response = upload(legal, world, content)
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "detail", "fields", "errors"}
    assert body["code"] == "csv_invalid"
    assert body["fields"] == {}
    assert body["detail"]
    for problem in body["errors"]:
        assert set(problem) == {"line", "column", "code", "detail"} and problem["detail"]
    assert [(p["line"], p["column"], p["code"]) for p in body["errors"]] == [
        (2, "A", "already_exists"),
        (3, "A", "invalid_local_part"),
        (3, "B", "weak_password"),
        (4, "C", "invalid_redirect"),
        (5, "D", "delete_flag_without_redirect"),
        (6, "A", "duplicate_in_file"),
    ]
    assert list(Address.objects.values_list("local_part", flat=True)) == ["alice"]
    assert not CsvImport.objects.exists() and not Job.objects.exists()


def test_an_unreadable_or_empty_file_names_the_whole_file(world, legal):
    body = assert_error_with_errors(upload(legal, world, b"\xff\xfe\x00bad"))
    assert [(p["line"], p["code"]) for p in body["errors"]] == [(1, "not_utf8")]
    body = assert_error_with_errors(upload(legal, world, ""))
    assert [(p["line"], p["column"], p["code"]) for p in body["errors"]] == [(0, "", "empty")]


def assert_error_with_errors(response):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "csv_invalid" and body["errors"]
    return body


def test_a_missing_file_is_invalid_input_naming_the_field(world, legal):
    body = assert_error(
        legal.post(url(world, "csv-imports/"), {}, format="multipart"),
        400,
        code="invalid",
        field="file",
    )
    assert "errors" not in body
    assert_error(legal.post(url(world, "csv-imports/"), {"file": "x"}, format="json"), 415)


def test_a_file_over_the_quota_is_a_conflict(world, legal):
    response = upload(legal, world, rows(11))
    assert_error(response, 409, code="address_quota_reached")
    assert not Job.objects.exists()


def test_the_creation_budget_answers_429_with_retry_after(world, legal):
    MailService.objects.filter(pk=world["mail"].pk).update(address_quota=200)
    accepted_job(upload(legal, world, rows(30)), CSV_IMPORT_JOB)
    accepted_job(upload(legal, world, rows(20, start=30)), CSV_IMPORT_JOB)  # 50 in the day

    response = upload(legal, world, rows(1, start=50))
    assert_error(response, 429, code="creation_budget_exceeded")
    assert 23 * 3600 < int(response["Retry-After"]) <= 24 * 3600
    assert CsvImport.objects.count() == 2

    # A file larger than the whole budget is refused too, however quiet the day was.
    CsvImport.objects.update(created_at=timezone.now() - timedelta(days=2))
    response = upload(legal, world, rows(51, start=100))
    assert_error(response, 429, code="creation_budget_exceeded")
    assert int(response["Retry-After"]) == 24 * 3600


# -- backups and restores ------------------------------------------------------------------


@pytest.fixture
def snapshots(world):
    """alice with backups of today, 3 days ago and 40 days ago."""
    alice = make_alice(world)
    today = timezone.localdate()
    for days in (3, 0, 40):
        Snapshot.objects.create(
            organisation=world["org"],
            address=alice,
            taken_on=today - timedelta(days=days),
            manifest="x" * 64,
        )
    return alice, today


def test_backups_are_listed_newest_first_with_what_the_plan_restores(world, legal, snapshots):
    _alice, today = snapshots
    response = legal.get(url(world, "addresses/alice/backups/"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3
    assert body["results"] == [
        {"date": str(today), "restorable": True},
        {"date": str(today - timedelta(days=3)), "restorable": True},
        {"date": str(today - timedelta(days=40)), "restorable": False},
    ]

    MailService.objects.filter(pk=world["mail"].pk).update(plan="starter")
    body = legal.get(url(world, "addresses/alice/backups/")).json()
    assert [b["restorable"] for b in body["results"]] == [False, False, False]


def test_restoring_a_backup_answers_its_job(world, legal, snapshots):
    _alice, today = snapshots
    response = legal.post(
        url(world, "addresses/alice/restores/"), {"date": str(today - timedelta(days=3))}, "json"
    )
    job = accepted_job(response, "mail_restore")
    assert job.params["date"] == str(today - timedelta(days=3))
    assert ActivityEvent.objects.filter(code="mail.restore.started").exists()


def test_restore_refusals(world, legal, client_for, snapshots):
    alice, today = snapshots
    restores = url(world, "addresses/alice/restores/")
    assert_error(legal.post(restores, {"date": "2001-01-01"}, "json"), 404, code="not_found")
    assert_error(legal.post(restores, {"date": "yesterday"}, "json"), 400, field="date")
    assert_error(legal.post(restores, {}, "json"), 400, field="date")
    too_old = str(today - timedelta(days=40))
    assert_error(legal.post(restores, {"date": too_old}, "json"), 403, code="restore_not_allowed")

    # A manager of the service who is not an administrator may not restore.
    teammate = client_for(world["teammate"])
    assert_error(
        teammate.post(restores, {"date": str(today)}, "json"), 403, code="restore_not_allowed"
    )
    assert_error(teammate.get(url(world, "addresses/alice/backups/")), 403)
    # Nor a linked person without the right, even with bad input; with it, they may.
    restricted = client_for(linked_member(world, alice, may_manage_backups=False))
    assert_error(
        restricted.post(restores, {"date": "bad"}, "json"), 403, code="restore_not_allowed"
    )
    allowed = client_for(linked_member(world, alice, may_manage_backups=True))
    accepted_job(allowed.post(restores, {"date": str(today)}, "json"), "mail_restore")

    # On the starter plan nobody restores.
    MailService.objects.filter(pk=world["mail"].pk).update(plan="starter")
    assert_error(
        legal.post(restores, {"date": str(today)}, "json"), 403, code="restore_not_allowed"
    )
    assert Job.objects.count() == 1


# -- importing another mailbox -------------------------------------------------------------


def test_an_import_answers_its_job_and_keeps_the_password_out_of_sight(world, legal, caplog):
    make_alice(world)
    caplog.set_level(logging.DEBUG)
    response = legal.post(
        url(world, "addresses/alice/imports/"),
        {
            "host": "IMAP.Old-Host.example",
            "port": 993,
            "tls": True,
            "username": "alice@old-host.example",
            "password": SECRET,
        },
        format="json",
    )
    job = accepted_job(response, IMPORT_JOB)
    assert SECRET not in response.content.decode()
    mailbox_import = MailboxImport.objects.get(job=job)
    assert (mailbox_import.host, mailbox_import.port, mailbox_import.tls) == (
        "imap.old-host.example",
        993,
        True,
    )
    assert mailbox_import.sealed_password and SECRET not in mailbox_import.sealed_password
    assert SECRET not in str(job.params) and SECRET not in str(job.result)
    for event in ActivityEvent.objects.all():
        assert SECRET not in str(event.data) and SECRET not in event.target_repr
    assert SECRET not in caplog.text
    shown = legal.get(f"/api/v1/organisations/{world['org'].pk}/jobs/{job.pk}/")
    assert SECRET not in shown.content.decode()


def test_import_input_errors_never_echo_the_password(world, legal):
    make_alice(world)
    imports = url(world, "addresses/alice/imports/")
    good = {"host": "imap.example.org", "port": 993, "username": "me", "password": SECRET}
    for change, field in [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"host": "not a host"}, "host"),
        ({"username": ""}, "username"),
        ({"password": ""}, "password"),
    ]:
        response = legal.post(imports, {**good, **change}, format="json")
        assert_error(response, 400, field=field)
        assert SECRET not in response.content.decode()
    assert not MailboxImport.objects.exists()


def test_a_linked_person_imports_only_with_the_backups_right(world, client_for):
    alice = make_alice(world)
    body = {
        "host": "imap.example.org",
        "port": 143,
        "tls": False,
        "username": "me",
        "password": SECRET,
    }
    imports = url(world, "addresses/alice/imports/")
    without = client_for(linked_member(world, alice, may_manage_backups=False))
    assert_error(without.post(imports, body, format="json"), 403)
    with_right = client_for(linked_member(world, alice, may_manage_backups=True))
    job = accepted_job(with_right.post(imports, body, format="json"), IMPORT_JOB)
    assert MailboxImport.objects.get(job=job).tls is False
