"""Manager UI: jobs."""

from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from .. import selectors
from ..errors import NotFound
from ..jobs import result_response
from ..mixins import organisation_view
from ..models import JobStatus
from .common import PAGE_SIZE, describe_jobs, first_or_404, job_label


def _job(access, job_id):
    return first_or_404(selectors.job_list(access=access).filter(pk=job_id))


def job_state(job, organisation_id) -> dict:
    """What the progress bars show, for the page and for the status endpoint."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": str(JobStatus(job.status).label),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "finished": job.is_finished,
        "finished_at": date_format(localtime(job.finished_at), "SHORT_DATETIME_FORMAT")
        if job.finished_at
        else "",
        "error": "; ".join(str(e.get("detail", e)) for e in job.errors or []),
        "download_url": reverse("panel:job-download", args=[organisation_id, job.pk])
        if job.result_file
        else "",
    }


@organisation_view()
def job_list(request, access):
    page = Paginator(selectors.job_list(access=access), PAGE_SIZE).get_page(request.GET.get("page"))
    describe_jobs(page)
    return render(request, "panel/jobs/list.html", {"page": page})


@organisation_view()
def job_detail(request, access, job_id):
    job = _job(access, job_id)
    job.label = job_label(job)
    return render(
        request,
        "panel/jobs/detail.html",
        {
            "job": job,
            "state": job_state(job, access.organisation.pk),
        },
    )


@organisation_view()
def job_status(request, access, job_id):
    return JsonResponse(job_state(_job(access, job_id), access.organisation.pk))


@organisation_view()
def job_download(request, access, job_id):
    try:
        return result_response(_job(access, job_id))
    except NotFound:
        raise Http404() from None
