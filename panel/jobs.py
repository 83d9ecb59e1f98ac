"""The Job lifecycle shared by every slow task: enqueue, start, progress, finish.

Status changes are conditional updates, so a task delivered twice (a worker killed after
it took the message) does not run finished work again.
"""

import logging
from collections.abc import Callable

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .access import Capability
from .errors import NotFound, PanelError
from .models import Job, JobStatus

logger = logging.getLogger(__name__)

#: The capability needed to see a Job of each kind and its result.
JOB_KIND_CAPABILITIES = {"activity_export": Capability.EXPORT_ACTIVITY}


def job_enqueue(*, organisation, actor, kind: str, task, params: dict | None = None) -> Job:
    """Create a queued Job and send `task(job_id)` once the transaction commits. `task` is
    a Celery task or its name ("mail.tasks.import_mailbox"), so that services enqueue the
    tasks that call them without importing them."""
    job = Job.objects.create(organisation=organisation, actor=actor, kind=kind, params=params or {})
    transaction.on_commit(lambda: _send(task, job.pk))
    return job


def task_named(name: str):
    """The registered Celery task `name`. Unlike `send_task`, its `delay()` keeps eager
    mode (CELERY_TASK_ALWAYS_EAGER). Outside a worker the apps' tasks modules may not be
    loaded yet: the lookup loads them, as a worker does when it starts."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def _send(task, job_id: int) -> None:
    """Queue the task; if the broker cannot be reached, the Job says so instead of
    waiting for ever."""
    try:
        (task_named(task) if isinstance(task, str) else task).delay(job_id)
    except Exception:  # broker down or misconfigured: report it on the Job
        logger.exception("Could not queue job %s", job_id)
        job_fail(job_id, str(_("The job could not be queued. Try again in a moment.")))


def job_start(job_id: int, *, total: int) -> Job | None:
    """Mark a job running; return None when it already finished (a redelivered message)."""
    claimed = Job.objects.filter(
        pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).update(status=JobStatus.RUNNING, started_at=timezone.now(), total=total, done=0)
    return Job.objects.select_related("organisation", "actor").get(pk=job_id) if claimed else None


def job_set_total(job: Job, total: int) -> None:
    """For jobs that learn their size while running (an import counts its messages)."""
    Job.objects.filter(pk=job.pk).update(total=total)
    job.total = total


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
    except PanelError as exc:  # a rule of ours: its sentence is meant for people
        job_fail(job_id, str(exc.detail))
        raise
    except Exception:  # anything else: a plain reason for people, the trace in the logs
        logger.exception("Job %s failed", job_id)
        job_fail(job_id, str(UNEXPECTED_FAILURE))
        raise


UNEXPECTED_FAILURE = _(
    "An unexpected error stopped this job. Nothing was changed; try again, and contact "
    "support if it happens again."
)


def result_response(job: Job) -> FileResponse:
    """The Job's result file as a download; NotFound when there is none (any more)."""
    if not job.result_file:
        raise NotFound()
    try:
        handle = job.result_file.open("rb")
    except FileNotFoundError:
        raise NotFound() from None
    name = job.result.get("file_name") or job.result_file.name.rsplit("/", 1)[-1]
    return FileResponse(handle, as_attachment=True, filename=name)
