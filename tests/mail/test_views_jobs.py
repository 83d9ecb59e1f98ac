"""The Service Mail pages that start Jobs: the CSV template and upload (every problem listed
and nothing created, or a Job followed live), the creation budget, the Backups card (who
sees it, restorable or not, the restore Job) and the mailbox import form."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from mail import services
from mail.models import Address, CsvImport, MailboxImport, Snapshot
from mail.tasks import create_addresses_from_csv
from panel.access import access_for
from panel.models import ActivityEvent, Job, JobStatus
from panel.views.common import ACTIVITY_LABELS, JOB_KIND_LABELS, job_label
from tests import factories as f

PASSWORD = "Sturdy-Pass-2048"
IMPORT_SECRET = "Imap-Secret-Passphrase-77"


def url(name, *args):
    return reverse(f"mail:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def world(org_world):
    return org_world


@pytest.fixture
def premium(world):
    return f.MailServiceFactory(
        organisation=world["org"], name="premium.test", plan="premium", address_quota=100
    )


def make_address(world, service, local_part, **kwargs):
    kwargs.setdefault("mode", "unassigned")
    if kwargs["mode"] != "users":
        kwargs.setdefault("password", PASSWORD)
    address, _generated = services.address_create(
        access=access_for(world["admin"], world["org"]),
        service=service,
        local_part=local_part,
        **kwargs,
    )
    return address


def upload(client, world, service, text, name="people.csv"):
    return client.post(
        url("address-csv-import", world["org"], service),
        {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")},
    )


def snapshot(world, address, days_ago=0):
    return Snapshot.objects.create(
        organisation=world["org"],
        address=address,
        taken_on=timezone.localdate() - timedelta(days=days_ago),
        manifest="0" * 64,
    )


# --- Labels -----------------------------------------------------------------------------


def test_the_new_jobs_and_activities_have_labels():
    for kind in ("mail_csv_import", "mail_restore", "mail_import", "mail_storage_removal"):
        assert kind in JOB_KIND_LABELS
    for code in (
        "mail.csv_import.started",
        "mail.csv_import.done",
        "mail.restore.started",
        "mail.restore.done",
        "mail.import.started",
        "mail.import.done",
    ):
        assert code in ACTIVITY_LABELS


# --- CSV --------------------------------------------------------------------------------


def test_the_service_menu_offers_the_csv_pages_to_managers(login, world, premium):
    response = login(world["admin"]).get(url("service-detail", world["org"], premium))
    assert "Create addresses from a CSV file" in page(response)
    assert url("address-csv-template", world["org"], premium) in page(response)


def test_the_template_downloads_as_csv(login, world, premium):
    response = login(world["admin"]).get(url("address-csv-template", world["org"], premium))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="addresses-template.csv"'
    assert response.content.decode().splitlines()[0] == (
        "local_part,password,redirect_to,delete_after_redirect"
    )


def test_the_csv_pages_need_the_right_to_manage_the_service(login, world, premium):
    client = login(world["user"])
    for name in ("address-csv-import", "address-csv-template"):
        assert client.get(url(name, world["org"], premium)).status_code in (403, 404)
    foreign = f.MailServiceFactory(organisation=world["other_org"])
    client = login(world["admin"])
    assert client.get(url("address-csv-import", world["org"], foreign)).status_code == 404


def test_the_upload_page_explains_the_columns_and_what_is_left(login, world, premium):
    make_address(world, premium, "taken")
    response = login(world["admin"]).get(url("address-csv-import", world["org"], premium))
    text = page(response)
    assert response.status_code == 200
    assert "nothing is created" in text
    for words in (
        "The address",
        "Its password",
        "An address to redirect to",
        "0 or empty keeps a copy",
    ):
        assert words in text
    assert response.context["quota_left"] == 99
    assert response.context["budget_left"] == 50


def test_an_upload_with_errors_lists_every_problem_and_creates_nothing(login, world, premium):
    make_address(world, premium, "taken")
    text = (
        "local_part,password\n"
        "alice,Change-Me-2048\n"
        "taken,Change-Me-2048\n"
        "bob,short\n"
        "alice,Another-Pass-4096\n"
        "carol,Good-Pass-4096,not-an-address\n"
        "dave,Good-Pass-4096,,1\n"
    )
    response = upload(login(world["admin"]), world, premium, text)
    assert response.status_code == 200
    body = page(response)
    assert "5 problems; nothing was created." in body
    problems = response.context["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [
        (3, "A"),
        (4, "B"),
        (5, "A"),
        (6, "C"),
        (7, "D"),
    ]
    for line in (3, 4, 5, 6, 7):
        assert f'data-line="{line}"' in body
    assert "is already on line 2" in body
    assert list(Address.objects.filter(service=premium).values_list("local_part", flat=True)) == [
        "taken"
    ]
    assert not Job.objects.exists() and not CsvImport.objects.exists()


def test_an_upload_without_a_file_says_so(login, world, premium):
    client = login(world["admin"])
    response = client.post(url("address-csv-import", world["org"], premium), {})
    assert response.status_code == 200
    assert "Choose a CSV file." in page(response)


def test_a_valid_upload_starts_the_job_and_follows_it(login, world, premium):
    client = login(world["admin"])
    text = "alice;Change-Me-2048\nbob;Another-Pass-4096;bob@example.org;1\n"
    response = upload(client, world, premium, text)
    job = Job.objects.get(kind="mail_csv_import")
    job_url = url("service-job", world["org"], premium, job.pk)
    assert response.status_code == 302 and response["Location"] == job_url

    response = client.get(job_url)
    body = page(response)
    assert job_label(job) in body
    assert reverse("panel:job-status", args=[world["org"].pk, job.pk]) in body  # live
    assert "data-job-progress" in body
    assert url("service-detail", world["org"], premium) in body

    create_addresses_from_csv(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    bob = Address.objects.get(service=premium, local_part="bob")
    assert not bob.keep_copy
    assert Address.objects.filter(service=premium, local_part="alice").exists()
    assert ActivityEvent.objects.filter(code="mail.csv_import.done").exists()

    response = client.get(job_url)
    body = page(response)
    assert 'data-job-status="succeeded"' in body
    assert "Done: 2 addresses were created." in body
    assert reverse("panel:job-status", args=[world["org"].pk, job.pk]) not in body


def test_the_job_page_of_another_service_is_not_found(login, world, premium):
    client = login(world["admin"])
    upload(client, world, premium, "alice,Change-Me-2048\n")
    job = Job.objects.get(kind="mail_csv_import")
    other = f.MailServiceFactory(organisation=world["org"], name="other.test", plan="premium")
    assert client.get(url("service-job", world["org"], other, job.pk)).status_code == 404


def test_the_creation_budget_refuses_the_51st_address(login, world, premium):
    client = login(world["admin"])
    rows = "".join(f"user{n},Change-Me-2048\n" for n in range(40))
    assert upload(client, world, premium, rows).status_code == 302
    response = client.get(url("address-csv-import", world["org"], premium))
    assert response.context["budget_left"] == 10

    rows = "".join(f"more{n},Change-Me-2048\n" for n in range(11))
    response = upload(client, world, premium, rows)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("10 more addresses" in m and "More become available" in m for m in messages)
    assert Job.objects.filter(kind="mail_csv_import").count() == 1

    rows = "".join(f"last{n},Change-Me-2048\n" for n in range(10))
    assert upload(client, world, premium, rows).status_code == 302  # exactly 50 in all
    response = client.get(url("address-csv-import", world["org"], premium))
    assert response.context["budget_left"] == 0
    assert "More from" in page(response)
    response = upload(client, world, premium, "one.more,Change-Me-2048\n")
    messages = [str(m) for m in response.context["messages"]]
    assert any("0 more addresses" in m for m in messages)
    assert Job.objects.filter(kind="mail_csv_import").count() == 2


def test_a_file_over_the_quota_is_a_message(login, world):
    small = f.MailServiceFactory(
        organisation=world["org"], name="small.test", plan="premium", address_quota=5
    )
    rows = "".join(f"user{n},Change-Me-2048\n" for n in range(6))
    response = upload(login(world["admin"]), world, small, rows)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("only 5 remain in the quota" in m for m in messages)
    assert not response.context["problems"]


# --- Backups ----------------------------------------------------------------------------


def test_the_backups_card_shows_the_snapshots_newest_first_to_administrators(login, world, premium):
    address = make_address(world, premium, "box")
    snapshot(world, address, days_ago=2)
    snapshot(world, address, days_ago=0)
    snapshot(world, address, days_ago=1)
    response = login(world["admin"]).get(url("address-detail", world["org"], premium, "box"))
    body = page(response)
    assert 'data-testid="backups"' in body
    days = [str(timezone.localdate() - timedelta(days=n)) for n in range(3)]
    positions = [body.index(f'data-backup="{day}"') for day in days]
    assert positions == sorted(positions)
    for day in days:
        assert url("address-restore", world["org"], premium, "box", day) in body


def test_the_backups_card_says_when_the_first_backup_is_taken(login, world, premium, settings):
    settings.MAIL_BACKUP_HOUR = 3
    make_address(world, premium, "box")
    response = login(world["legal"]).get(url("address-detail", world["org"], premium, "box"))
    assert "The first backup is taken tonight at 03:00." in page(response)


def test_a_linked_user_sees_the_backups_only_with_the_right(login, world, premium):
    address = make_address(world, premium, "mine", mode="users", users=[world["user"].pk])
    snapshot(world, address)
    link = address.address_users.get(user=world["user"])
    link.may_manage_backups = False
    link.save()
    client = login(world["user"])
    day = str(timezone.localdate())
    response = client.get(url("address-detail", world["org"], premium, "mine"))
    assert response.status_code == 200
    assert 'data-testid="backups"' not in page(response)
    assert 'data-testid="import"' not in page(response)
    assert client.get(url("address-restore", world["org"], premium, "mine", day)).status_code == 403
    assert (
        client.post(url("address-restore", world["org"], premium, "mine", day)).status_code == 403
    )
    response = client.post(
        url("address-import", world["org"], premium, "mine"),
        {"host": "imap.example.org", "port": 993, "tls": "on", "username": "u", "password": "p"},
    )
    assert response.status_code == 403
    assert not Job.objects.exists()

    link.may_manage_backups = True
    link.save()
    response = client.get(url("address-detail", world["org"], premium, "mine"))
    assert 'data-testid="backups"' in page(response)
    assert 'data-testid="import"' in page(response)


def test_a_manager_who_is_not_an_administrator_may_import_but_not_restore(login, world):
    # The team of the world has a "manage" grant on acme.test.
    service = world["mail"]
    address = make_address(world, service, "box")
    snapshot(world, address)
    response = login(world["teammate"]).get(url("address-detail", world["org"], service, "box"))
    assert response.status_code == 200
    assert 'data-testid="backups"' not in page(response)
    assert 'data-testid="import"' in page(response)


def test_restoring_asks_then_starts_a_job(login, world, premium):
    address = make_address(world, premium, "box")
    taken = snapshot(world, address, days_ago=1)
    client = login(world["admin"])
    restore_url = url("address-restore", world["org"], premium, "box", str(taken.taken_on))
    response = client.get(restore_url)
    assert response.status_code == 200
    body = page(response)
    assert "not duplicated" in body and "automatic reply" in body
    assert not Job.objects.exists()

    response = client.post(restore_url)
    job = Job.objects.get(kind="mail_restore")
    job_url = url("address-job", world["org"], premium, "box", job.pk)
    assert response["Location"] == job_url
    assert job.params["snapshot"] == taken.pk
    assert ActivityEvent.objects.filter(code="mail.restore.started").exists()
    response = client.get(job_url)
    assert response.status_code == 200
    assert "Restore complete" in page(response)  # shown once the job succeeds
    assert url("address-detail", world["org"], premium, "box") in page(response)
    # Another address's page does not show this Job.
    make_address(world, premium, "other")
    assert client.get(url("address-job", world["org"], premium, "other", job.pk)).status_code == 404


def test_a_date_without_backup_is_not_found(login, world, premium):
    make_address(world, premium, "box")
    client = login(world["admin"])
    assert (
        client.get(url("address-restore", world["org"], premium, "box", "2020-01-01")).status_code
        == 404
    )
    assert (
        client.get(url("address-restore", world["org"], premium, "box", "yesterday")).status_code
        == 404
    )


def test_starter_backups_are_listed_but_not_restorable(login, world):
    starter = f.MailServiceFactory(organisation=world["org"], name="small.test", plan="starter")
    address = make_address(world, starter, "box")
    taken = snapshot(world, address)
    client = login(world["admin"])
    body = page(client.get(url("address-detail", world["org"], starter, "box")))
    assert 'data-testid="backup-list"' in body
    assert "Upgrade to Premium to restore" in body
    assert "is-unavailable" in body
    restore_url = url("address-restore", world["org"], starter, "box", str(taken.taken_on))
    assert restore_url not in body
    response = client.get(restore_url)
    assert "Upgrade to Premium to restore" in page(response)
    assert "Restore this backup" not in page(response)
    response = client.post(restore_url, follow=True)
    assert not Job.objects.exists()
    assert any("upgrade to Premium" in str(m) for m in response.context["messages"])


# --- Importing another mailbox -----------------------------------------------------------


def test_the_import_form_defaults_to_993_with_tls(login, world, premium):
    make_address(world, premium, "box")
    response = login(world["admin"]).get(url("address-detail", world["org"], premium, "box"))
    form = response.context["import_form"]
    assert form["port"].value() == 993 and form["tls"].value() is True


def test_the_import_starts_a_job_and_never_shows_the_password(login, world, premium):
    make_address(world, premium, "box")
    client = login(world["admin"])
    response = client.post(
        url("address-import", world["org"], premium, "box"),
        {
            "host": "imap.example.org",
            "port": "993",
            "tls": "on",
            "username": "alice",
            "password": IMPORT_SECRET,
        },
        follow=True,
    )
    job = Job.objects.get(kind="mail_import")
    assert response.redirect_chain[-1][0] == url(
        "address-job", world["org"], premium, "box", job.pk
    )
    assert IMPORT_SECRET not in page(response)
    assert IMPORT_SECRET not in str(job.params)
    task = MailboxImport.objects.get(job=job)
    assert (task.host, task.port, task.tls, task.username) == (
        "imap.example.org",
        993,
        True,
        "alice",
    )
    body = page(client.get(url("address-detail", world["org"], premium, "box")))
    assert IMPORT_SECRET not in body


def test_import_errors_come_back_on_the_form_without_the_password(login, world, premium):
    make_address(world, premium, "box")
    response = login(world["admin"]).post(
        url("address-import", world["org"], premium, "box"),
        {"host": "not a host!", "port": "993", "username": "alice", "password": IMPORT_SECRET},
    )
    assert response.status_code == 200
    assert response.context["import_form"].errors
    assert IMPORT_SECRET not in page(response)
    assert not Job.objects.exists()
