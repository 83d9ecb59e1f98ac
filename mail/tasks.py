"""Celery tasks of Service Mail. Each takes a Job id and reports progress on it.

Tasks call services; services never import this module, they enqueue a task by its
name (`panel.jobs.job_enqueue(task="mail.tasks.<name>")`), after the commit."""

import shutil

from celery import shared_task
from django.db import transaction
from django.utils.translation import gettext as _

from panel import activity, jobs
from panel.activity import acting_via
from panel.errors import Conflict, NotFound
from panel.models import Via
from panel.secrets import unseal
from panel.services.common import lock

from . import backups, importer
from .dns_records import dkim_waiting_keys_activate
from .models import (
    Address,
    CsvImport,
    CsvImportStatus,
    ForwardTarget,
    MailboxImport,
    MailService,
    Snapshot,
)
from .passwords import hash_many
from .services import sending
from .services.backups import (
    back_up_service,
    restore_apply,
    restore_notify,
    snapshot_take,
    snapshots_purge,
)
from .services.rules import addresses_left, taken_local_parts
from .storage import mailbox_directory

INSERT_BATCH = 1000


@shared_task(acks_late=True)
def remove_mail_storage(job_id: int) -> None:
    """Remove the mail storage of deleted addresses. Safe to run twice: a directory
    already gone is skipped, and so is one whose address was created again since."""

    def body(job):
        removed = skipped = 0
        for domain, local_part in job.params["mailboxes"]:
            if Address.objects.filter(
                service__domain=domain, local_part=local_part
            ).exists():  # a new address took the name: its mail is not ours to remove
                skipped += 1
            else:
                path = mailbox_directory(domain, local_part)
                if path.exists():
                    shutil.rmtree(path)
                    removed += 1
            jobs.job_advance(job)
        jobs.job_succeed(job, result={"removed": removed, "kept": skipped})

    with acting_via(Via.TASK):
        jobs.run_job(job_id, body, total=lambda job: len(job.params["mailboxes"]))


def _still_fits(service: MailService, local_parts: list[str]) -> None:
    """Between the check and the Job, names may have been taken or the quota used: the
    whole file is refused then, as at upload."""
    taken = sorted(taken_local_parts(service, local_parts))
    if taken:
        raise Conflict(
            _("%(address)s was created since the file was checked; nothing was created.")
            % {"address": f"{taken[0]}@{service.domain}"},
            code="already_exists",
        )
    available = addresses_left(service)
    if len(local_parts) > available:
        raise Conflict(
            _(
                "Only %(available)d addresses remain in the quota now, for %(needed)d in the "
                "file; nothing was created."
            )
            % {"available": available, "needed": len(local_parts)},
            code="address_quota_reached",
        )


@shared_task(acks_late=True)
def create_addresses_from_csv(job_id: int) -> None:
    """Create the addresses of a checked CSV file: every one or none.

    Passwords are hashed first, on every core, with progress; then one transaction
    re-checks the names and the quota, inserts everything in bulk and marks the import
    and the Job done. A worker that dies before that commit leaves nothing behind, and the
    redelivered message starts over; one that dies after it finds the Job finished."""

    def body(job):
        csv_import = CsvImport.objects.select_related("service").get(job=job)
        try:
            rows = unseal(csv_import.payload)
        except ValueError:
            raise Conflict(
                _("The file could not be read back; upload it again."), code="csv_unreadable"
            ) from None
        hashes = hash_many(
            [row[2] for row in rows], on_progress=lambda done: jobs.job_progress(job, done)
        )
        with transaction.atomic():
            service = lock(csv_import.service)
            _still_fits(service, [row[1] for row in rows])
            created = Address.objects.bulk_create(
                [
                    Address(
                        organisation_id=service.organisation_id,
                        service=service,
                        local_part=local_part,
                        password_hash=hashed,
                        keep_copy=keep_copy if target else True,
                    )
                    for (_line, local_part, _password, target, keep_copy), hashed in zip(
                        rows, hashes, strict=True
                    )
                ],
                batch_size=INSERT_BATCH,
            )
            ForwardTarget.objects.bulk_create(
                [
                    ForwardTarget(
                        organisation_id=service.organisation_id, address=address, email=row[3]
                    )
                    for address, row in zip(created, rows, strict=True)
                    if row[3]
                ],
                batch_size=INSERT_BATCH,
            )
            CsvImport.objects.filter(pk=csv_import.pk).update(
                status=CsvImportStatus.DONE, payload=""
            )
            activity.record(
                organisation=job.organisation,
                actor=job.actor,
                code="mail.csv_import.done",
                target=service,
                data={"file": csv_import.file_name, "addresses": len(created)},
            )
            jobs.job_succeed(job, result={"created": len(created), "service": service.pk})

    try:
        with acting_via(Via.TASK):
            jobs.run_job(job_id, body, total=lambda job: job.params.get("addresses", 0))
    except Exception:
        # The budget reserved by a failed import is given back; its secrets are dropped.
        CsvImport.objects.filter(job_id=job_id).exclude(status=CsvImportStatus.DONE).update(
            status=CsvImportStatus.FAILED, payload=""
        )
        raise


@shared_task
def back_up_every_mailbox() -> int:
    """The nightly run (Celery beat, at MAIL_BACKUP_HOUR): one task per service, then
    the purge of expired snapshots. Each mailbox's snapshot of the day is taken once
    however often this runs."""
    service_ids = list(MailService.objects.values_list("pk", flat=True))
    for service_id in service_ids:
        back_up_service_task.delay(service_id)
    purge_snapshots.delay()
    return len(service_ids)


@shared_task(acks_late=True)
def back_up_service_task(service_id: int) -> tuple[int, int]:
    return back_up_service(service_id)


@shared_task(acks_late=True)
def back_up_mailbox(job_id: int) -> None:
    """Back up one mailbox now (mail.services.backups.backup_start). Running it twice
    replaces today's snapshot with the same content."""

    def body(job):
        address = Address.objects.filter(
            organisation=job.organisation, pk=job.params["address_id"]
        ).first()
        if address is None:
            raise NotFound(_("This address no longer exists."))
        snapshot = snapshot_take(address)
        jobs.job_succeed(
            job,
            result={
                "date": str(snapshot.taken_on),
                "messages": snapshot.messages,
                "size": snapshot.size,
            },
        )

    with acting_via(Via.TASK):
        jobs.run_job(job_id, body, total=lambda job: 1)


@shared_task
def purge_snapshots() -> tuple[int, int]:
    return snapshots_purge()


@shared_task(acks_late=True)
def restore_mailbox(job_id: int) -> None:
    """Restore a mailbox from a snapshot, then tell the address and the requester. A
    redelivered message redoes nothing: restoring is idempotent."""

    def body(job):
        snapshot = Snapshot.objects.select_related("address__service").get(
            pk=job.params["snapshot"]
        )
        outcome = restore_apply(snapshot, on_progress=lambda done: jobs.job_progress(job, done))
        activity.record(
            organisation=job.organisation,
            actor=job.actor,
            code="mail.restore.done",
            target=snapshot.address,
            data={"date": str(snapshot.taken_on), **outcome},
        )
        jobs.job_succeed(job, result={"date": str(snapshot.taken_on), **outcome})
        restore_notify(snapshot, job.actor)

    def total(job):
        snapshot = Snapshot.objects.filter(pk=job.params["snapshot"]).first()
        return snapshot.messages if snapshot else 0

    with acting_via(Via.TASK):
        jobs.run_job(job_id, body, total=total)


@shared_task(acks_late=True)
def import_mailbox(job_id: int) -> None:
    """Copy another mailbox into an address over IMAP. The encrypted password is erased
    when the Job ends, whatever the outcome; a redelivered message copies only what is
    still missing."""

    def body(job):
        task = MailboxImport.objects.select_related("address__service").get(job=job)
        try:
            password = unseal(task.sealed_password)
        except ValueError:
            raise importer.ImportFailed(
                _("Start the import again: its password was lost.")
            ) from None
        address = task.address
        client = importer.connect(task.host, task.port, task.tls, task.username, password)
        try:
            outcome = importer.copy_mailbox(
                client,
                backups.maildir_of(address.service.domain, address.local_part),
                on_total=lambda total: jobs.job_set_total(job, total),
                on_progress=lambda done: jobs.job_progress(job, done),
            )
        finally:
            client.logout()
        activity.record(
            organisation=job.organisation,
            actor=job.actor,
            code="mail.import.done",
            target=address,
            data=outcome,
        )
        jobs.job_succeed(job, result=outcome)

    try:
        with acting_via(Via.TASK):
            jobs.run_job(job_id, body, total=lambda job: 0)
    finally:
        MailboxImport.objects.filter(job_id=job_id).update(sealed_password="")


@shared_task
def notify_sending_limit_reached(address_id: int, at: float) -> None:
    sending.sending_limit_notify(address_id=address_id, at=at)


@shared_task
def purge_mail_log() -> int:
    return sending.mail_log_purge()


@shared_task
def activate_dkim_keys(domain_id: int | None = None) -> int:
    """Start signing with the DKIM keys whose records are now served: one domain's after
    a zone change, every waiting key's from beat. Returns how many started."""
    return dkim_waiting_keys_activate(domain_id=domain_id)
