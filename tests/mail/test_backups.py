"""Backups without a mail server: the storage stays incremental, expired snapshots and
their content go, the plan decides what can be restored, and who may restore.
(tests/integration/test_mail_backups.py proves the restore itself over IMAP.)"""

import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from mail import backups
from mail.models import Snapshot
from mail.services import address_create, service_change_plan
from mail.services.backups import (
    RestoreNotAllowed,
    backup_list,
    is_restorable,
    restore_start,
    snapshot_take,
    snapshots_purge,
)
from panel.access import access_for
from panel.errors import NotFound
from tests import factories as f

PASSWORD = "Sturdy-Pass-2048"


@pytest.fixture
def stores(settings, tmp_path):
    settings.MAIL_STORE_ROOT = tmp_path / "mail"
    settings.MAIL_BACKUP_ROOT = tmp_path / "backups"
    settings.MAIL_STORE_ROOT.mkdir()
    return tmp_path


@pytest.fixture
def admin(org_world):
    return access_for(org_world["admin"], org_world["org"])


def service_with_address(org_world, admin, plan="premium"):
    service = f.MailServiceFactory(
        organisation=org_world["org"],
        plan=plan,
        address_quota=5 if plan == "premium" else 1,
        domain=f"{plan}.backup.test",
    )
    address, _ = address_create(
        access=admin, service=service, local_part="box", mode="unassigned", password=PASSWORD
    )
    return service, address


def deliver(address, subject: str, folder: str = "INBOX") -> None:
    maildir = backups.maildir_of(address.service.domain, address.local_part)
    backups.write_message(
        maildir, folder, f"Subject: {subject}\r\n\r\nhello\r\n".encode(), "S", 1700000000
    )


def test_a_second_backup_stores_only_the_new_message(org_world, admin, stores, monkeypatch):
    _service, address = service_with_address(org_world, admin)
    for n in range(20):
        deliver(address, f"m{n}", "INBOX" if n % 2 else "Archive")
    first = snapshot_take(address)
    assert first.messages == 20
    blobs = set(backups.BlobStore().all_shas())

    reads = []

    def counting_open(path, *args, **kwargs):
        reads.append(os.path.basename(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(backups, "open", counting_open, raising=False)
    deliver(address, "new one")
    Snapshot.objects.update(taken_on=timezone.localdate() - timedelta(days=1))
    second = snapshot_take(address)
    assert second.pk != first.pk and second.messages == 21
    message_reads = [name for name in reads if ":2," in name]
    assert len(message_reads) == 1  # only the new file was read
    # its content, the chunk of the list that holds it, and the manifest
    assert len(set(backups.BlobStore().all_shas()) - blobs) == 3


def test_expired_snapshots_and_their_content_are_purged(org_world, admin, stores):
    _service, address = service_with_address(org_world, admin)
    deliver(address, "old")
    old = snapshot_take(address)
    Snapshot.objects.filter(pk=old.pk).update(taken_on=timezone.localdate() - timedelta(days=31))
    maildir = backups.maildir_of(address.service.domain, address.local_part)
    for path in (maildir / "cur").iterdir():
        path.unlink()  # the old message is gone from the mailbox
    deliver(address, "new")
    snapshot_take(address)
    day_ago = time.time() - 2 * 86400
    for sha in backups.BlobStore().all_shas():
        os.utime(backups.BlobStore().path(sha), (day_ago, day_ago))
    assert snapshots_purge() == (1, 3)  # the old snapshot: manifest, chunk and message
    assert Snapshot.objects.count() == 1
    assert snapshots_purge() == (0, 0)


def test_the_plan_decides_what_can_be_restored(org_world, admin, stores):
    service, address = service_with_address(org_world, admin, plan="starter")
    today = timezone.localdate()
    for days in (0, 10, 29):
        Snapshot.objects.create(
            organisation=org_world["org"],
            address=address,
            taken_on=today - timedelta(days=days),
            manifest="0" * 64,
        )
    assert [row["restorable"] for row in backup_list(access=admin, address=address)] == [
        False,
        False,
        False,
    ]
    with pytest.raises(RestoreNotAllowed) as error:
        restore_start(access=admin, address=address, taken_on=today)
    assert "upgrade to Premium" in str(error.value.detail)
    service_change_plan(access=admin, service=service, plan="premium")
    address.refresh_from_db()
    rows = backup_list(access=admin, address=address)
    assert [row["date"] for row in rows] == [today - timedelta(days=d) for d in (0, 10, 29)]
    assert all(row["restorable"] for row in rows)  # taken before the upgrade, now restorable
    assert not is_restorable(address, today - timedelta(days=30))
    with pytest.raises(NotFound):
        restore_start(access=admin, address=address, taken_on=today - timedelta(days=1))
    job = restore_start(access=admin, address=address, taken_on=str(today))
    assert job.kind == "mail_restore"


def test_who_may_restore(org_world, admin, stores):
    service, address = service_with_address(org_world, admin)
    Snapshot.objects.create(
        organisation=org_world["org"],
        address=address,
        taken_on=timezone.localdate(),
        manifest="0" * 64,
    )
    member = org_world["user"]
    link = address.address_users.create(
        organisation=org_world["org"], user=member, may_manage_backups=False
    )
    mine = access_for(member, org_world["org"])
    with pytest.raises(RestoreNotAllowed):
        backup_list(access=mine, address=address)
    link.may_manage_backups = True
    link.save()
    assert len(backup_list(access=mine, address=address)) == 1
    # A product manager who is not an administrator may not restore.
    f.GrantFactory(
        team=org_world["team"], product_type="mail_service", product_id=service.pk, level="manage"
    )
    with pytest.raises(RestoreNotAllowed):
        backup_list(access=access_for(org_world["teammate"], org_world["org"]), address=address)
    with pytest.raises(NotFound):
        backup_list(
            access=access_for(org_world["outsider"], org_world["other_org"]), address=address
        )


def test_staff_can_back_up_from_the_command_line(org_world, admin, stores):
    _service, address = service_with_address(org_world, admin)
    deliver(address, "hello")
    out = StringIO()
    call_command("mail_backup", "--address", str(address), stdout=out)
    assert f"{address}: 1 messages" in out.getvalue()
    call_command("mail_backup", "--purge", stdout=out)
    assert Snapshot.objects.filter(address=address).count() == 1


def test_a_finished_restore_tells_the_address_and_the_person_who_asked(
    org_world, admin, stores, mailoutbox
):
    _service, address = service_with_address(org_world, admin)
    deliver(address, "precious")
    snapshot = snapshot_take(address)
    maildir = backups.maildir_of(address.service.domain, address.local_part)
    for path in (maildir / "cur").iterdir():
        path.unlink()
    job = restore_start(access=admin, address=address, taken_on=snapshot.taken_on)
    from mail.tasks import restore_mailbox

    restore_mailbox(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result["restored"] == 1
    assert len(list((maildir / "cur").iterdir())) == 1
    [message] = mailoutbox
    assert sorted(message.to) == sorted([str(address), org_world["admin"].email])
    assert f"Restore of {address} complete" == message.subject
