"""Celery tasks of the tenancy core. Each takes a Job id and reports progress on it."""

import csv
import io

from celery import shared_task
from django.core.files.base import ContentFile
from django.utils.dateparse import parse_date

from . import jobs, selectors
from .activity import acting_via
from .models import Via

EXPORT_BATCH = 500
CSV_HEADER = ["date", "person", "action", "target_type", "target_id", "target", "via", "details"]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """Keep spreadsheets from running user-entered text as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _export_rows(job):
    params = job.params
    return selectors.activity_list(
        organisation=job.organisation,
        actor=params.get("actor"),
        kind=params.get("kind", ""),
        since=parse_date(params["since"]) if params.get("since") else None,
        until=parse_date(params["until"]) if params.get("until") else None,
    )


@shared_task(acks_late=True)
def export_activity(job_id: int) -> None:
    """Write the filtered activity log to a CSV file attached to the Job."""

    def body(job):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_HEADER)
        done = 0
        for event in _export_rows(job).iterator(chunk_size=EXPORT_BATCH):
            writer.writerow(
                [
                    _cell(value)
                    for value in (
                        event.created_at.isoformat(),
                        event.actor_email,
                        event.code,
                        event.target_type,
                        event.target_id,
                        event.target_repr,
                        event.via,
                        "; ".join(f"{k}={v}" for k, v in sorted(event.data.items())),
                    )
                ]
            )
            done += 1
            if done % EXPORT_BATCH == 0:
                jobs.job_progress(job, done)
        name = f"activity-{job.organisation_id}-{job.pk}.csv"
        jobs.job_succeed(
            job,
            result={"rows": done, "file_name": name},
            file_name=name,
            content=ContentFile(buffer.getvalue().encode("utf-8-sig")),
        )

    with acting_via(Via.TASK):
        jobs.run_job(job_id, body, total=lambda job: _export_rows(job).count())


@shared_task
def purge_expired_job_files() -> int:
    """Delete result files of jobs finished longer ago than the retention period."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from .models import Job

    # Maintenance across every organisation, hence the one query not scoped to a tenant.
    cutoff = timezone.now() - timedelta(days=settings.PANEL_JOB_RESULT_RETENTION_DAYS)
    purged = 0
    for job in Job.objects.filter(finished_at__lt=cutoff).exclude(result_file=""):
        job.result_file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(result_file="", result={**job.result, "expired": True})
        purged += 1
    return purged


@shared_task
def verify_domain_claims() -> int:
    """Beat: look again for the TXT record of every domain waiting for verification."""
    from .services.domain_claims import pending_claims_verify

    return pending_claims_verify()
