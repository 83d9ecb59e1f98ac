"""Celery tasks of Service Mail. Each takes a Job id and reports progress on it."""

import shutil
from pathlib import Path

from celery import shared_task
from django.conf import settings

from panel import jobs
from panel.activity import acting_via
from panel.models import Via

from .models import Address


def mailbox_directory(domain: str, local_part: str) -> Path:
    """Where Dovecot keeps a mailbox: `<root>/<domain>/<local>` (its Maildir inside).
    Refuses names that would leave the mail-store root."""
    root = Path(settings.MAIL_STORE_ROOT).resolve()
    path = (root / domain / local_part).resolve()
    if path.parent.parent != root or not domain or not local_part:
        raise ValueError(f"{domain}/{local_part} is not a mailbox directory")
    return path


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
