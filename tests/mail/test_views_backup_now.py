"""The Backups card's "Back up now": a Job that takes today's snapshot at once, for the
people who may restore the address (the same rule as the card), followed on the address's
Job page; others get 403, another organisation 404."""

import pytest
from django.urls import reverse
from django.utils import timezone

from mail import services
from mail.models import Snapshot
from mail.tasks import back_up_mailbox
from panel.access import access_for
from panel.models import Job, JobStatus
from tests import factories as f

PASSWORD = "Sturdy-Pass-2048"


def url(name, *args):
    return reverse(f"mail:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def stores(settings, tmp_path):
    settings.MAIL_STORE_ROOT = tmp_path / "mail"
    settings.MAIL_BACKUP_ROOT = tmp_path / "backups"
    settings.MAIL_STORE_ROOT.mkdir()
    return tmp_path


@pytest.fixture
def premium(org_world):
    return f.MailServiceFactory(
        organisation=org_world["org"], name="premium.test", plan="premium", address_quota=100
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


def test_back_up_now_starts_a_job_that_takes_todays_backup(login, org_world, premium, stores):
    org = org_world["org"]
    make_address(org_world, premium, "box")
    client = login(org_world["admin"])
    body = page(client.get(url("address-detail", org, premium, "box")))
    backup_url = url("address-backup", org, premium, "box")
    assert backup_url in body and "Back up now" in body

    response = client.post(backup_url)
    job = Job.objects.get(kind="mail_backup")
    job_url = url("address-job", org, premium, "box", job.pk)
    assert response.status_code == 302 and response["Location"] == job_url
    assert job.actor == org_world["admin"] and job.params["address"] == "box@premium.test"
    body = page(client.get(job_url))
    assert 'data-testid="mail-job"' in body and "A backup of box@premium.test" in body

    back_up_mailbox(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.done == job.total == 1
    today = timezone.localdate()
    assert Snapshot.objects.filter(address__local_part="box", taken_on=today).count() == 1
    body = page(client.get(url("address-detail", org, premium, "box")))
    assert url("address-restore", org, premium, "box", str(today)) in body

    client.post(backup_url)  # again the same day: today's backup is replaced, not doubled
    back_up_mailbox(Job.objects.filter(kind="mail_backup").latest("pk").pk)
    assert Snapshot.objects.filter(address__local_part="box", taken_on=today).count() == 1


def test_a_linked_user_backs_up_only_with_the_right(login, org_world, premium, stores):
    org = org_world["org"]
    address = make_address(org_world, premium, "mine", mode="users", users=[org_world["user"].pk])
    link = address.address_users.get(user=org_world["user"])
    link.may_manage_backups = False
    link.save()
    client = login(org_world["user"])
    backup_url = url("address-backup", org, premium, "mine")
    assert backup_url not in page(client.get(url("address-detail", org, premium, "mine")))
    assert client.post(backup_url).status_code == 403
    assert not Job.objects.exists()

    link.may_manage_backups = True
    link.save()
    assert backup_url in page(client.get(url("address-detail", org, premium, "mine")))
    assert client.post(backup_url).status_code == 302
    assert Job.objects.filter(kind="mail_backup").count() == 1


def test_a_manager_who_may_not_restore_may_not_back_up_now(login, org_world, stores):
    # The team of the world manages acme.test, but restoring is for administrators.
    service = org_world["mail"]
    make_address(org_world, service, "box")
    client = login(org_world["teammate"])
    backup_url = url("address-backup", org_world["org"], service, "box")
    assert backup_url not in page(
        client.get(url("address-detail", org_world["org"], service, "box"))
    )
    assert client.post(backup_url).status_code == 403
    assert not Job.objects.exists()


def test_another_organisation_gets_404_and_a_get_starts_nothing(login, org_world, premium, stores):
    make_address(org_world, premium, "box")
    backup_url = url("address-backup", org_world["org"], premium, "box")
    assert login(org_world["outsider"]).post(backup_url).status_code == 404
    response = login(org_world["admin"]).get(backup_url)  # a form target: back to its page
    assert response.status_code == 302
    assert response["Location"] == url("address-detail", org_world["org"], premium, "box")
    assert not Job.objects.exists()
