"""The Job lifecycle shared by every slow task: enqueue, start, progress, finish.

Status changes are conditional updates, so a task delivered twice (a worker killed after
it took the message) does not run finished work again.
"""

from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Job, JobStatus


def job_enqueue(*, organisation, actor, kind: str, task, params: dict | None = None) -> Job:
    """Create a queued Job and send `task(job_id)` once the transaction commits."""
    job = Job.objects.create(organisation=organisation, actor=actor, kind=kind, params=params or {})
    transaction.on_commit(lambda: task.delay(job.pk))
    return job


def job_start(job_id: int, *, total: int) -> Job | None:
    """Mark a job running; return None when it already finished (a redelivered message)."""
    claimed = Job.objects.filter(
        pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(status=JobStatus.RUNNING, started_at=timezone.now(), total=total, done=0)
    return Job.objects.select_related("organisation", "actor").get(pk=job_id) if claimed else None


def job_progress(job: Job, done: int) -> None:
    Job.objects.filter(pk=job.pk).update(done=done)
    job.done = done


def job_advance(job: Job, by: int = 1) -> None:
    Job.objects.filter(pk=job.pk).update(done=F("done") + by)
    job.done += by


def job_succeed(job: Job, *, result: dict | None = None, file_name=None, content=None) -> None:
    if content is not None:
        job.result_file.save(file_name, content, save=False)
    job.status = JobStatus.SUCCEEDED
    job.result = result or {}
    job.done = job.total
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "done", "finished_at", "result_file"])


def job_fail(job_id: int, reason: str) -> None:
    Job.objects.filter(pk=job_id).exclude(status__in=Job.FINISHED).update(
        status=JobStatus.FAILED, errors=[{"detail": reason}], finished_at=timezone.now()
    )


def run_job(job_id: int, body: Callable[[Job], None], *, total: Callable[[Job], int]) -> None:
    """Run `body` for a job with the standard bookkeeping; any error fails the job
    with its reason instead of leaving it running for ever."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    try:
        job = job_start(job_id, total=total(job))
        if job is None:
            return
        body(job)
    except Exception as exc:  # the job must say why it failed; the worker logs the trace
        job_fail(job_id, f"{type(exc).__name__}: {exc}")
        raise
