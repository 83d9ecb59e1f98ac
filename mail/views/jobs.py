"""Service Mail pages that start a Job: creating addresses from a CSV file, backing a
mailbox up now, restoring it from a backup, importing another mailbox; and the page that
follows such a Job live (the progress bar is refreshed by panel.js from `panel:job-status`)."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel import selectors as panel_selectors
from panel.mixins import organisation_view, post_only, run_service
from panel.views.common import job_label

from ..csv_import import COLUMNS, MAX_FILE_BYTES, MAX_ROWS, CsvInvalid, template_csv
from ..forms import CsvUploadForm, MailboxImportForm
from ..services.backups import BACKUP_JOB, RESTORE_JOB, backup_start, restore_start
from ..services.bulk import CSV_IMPORT_JOB, budget_left, csv_import_start
from ..services.imports import IMPORT_JOB, import_start
from .addresses import _address, _address_page, _managed_service
from .common import address_url, backup_card, need_right, service_url

TEMPLATE_FILE_NAME = "addresses-template.csv"


def _job_or_404(access, job_id, kinds):
    """A Job of these kinds that the person may follow (their own, or all of them for
    the people who see every Job), else 404."""
    job = panel_selectors.job_list(access=access).filter(pk=job_id, kind__in=kinds).first()
    if job is None:
        raise Http404()
    job.label = job_label(job)
    return job


def _job_page(request, job, *, service, address=None, summary, back_url, back_label, done_text):
    return render(
        request,
        "mail/job.html",
        {
            "job": job,
            "service": service,
            "address": address,
            "summary": summary,
            "back_url": back_url,
            "back_label": back_label,
            "done_text": done_text,
            "error": "; ".join(str(e.get("detail", e)) for e in job.errors or []),
        },
    )


# -- creating addresses from a CSV file -----------------------------------------------------


@organisation_view()
def csv_template(request, access, service_id):
    _managed_service(access, service_id)
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILE_NAME}"'
    return response


def _csv_start(problems):
    """csv_import_start, with the problems of an invalid file kept for the page's table
    instead of one message."""

    def start(**kwargs):
        try:
            return csv_import_start(**kwargs)
        except CsvInvalid as invalid:
            problems.extend(invalid.errors)
            return None

    return start


@organisation_view()
def csv_import(request, access, service_id):
    service = _managed_service(access, service_id)
    posted = request.method == "POST"
    form = CsvUploadForm(request.POST if posted else None, request.FILES if posted else None)
    problems = []
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        ok, started = run_service(
            request,
            _csv_start(problems),
            access=access,
            service=service,
            data=upload.read(MAX_FILE_BYTES + 1),  # one byte more: the service says too big
            file_name=upload.name or "",
        )
        if ok and started is not None:
            return redirect(
                reverse(
                    "mail:service-job",
                    args=[access.organisation.pk, service.pk, started.job_id],
                )
            )
    column_names = dict(
        zip(
            COLUMNS,
            [_("address"), _("password"), _("redirect to"), _("keep the mail")],
            strict=True,
        ),
        E=_("extra columns"),
    )
    used = service.addresses.count()
    budget, more_from = budget_left(access.organisation)
    return render(
        request,
        "mail/csv_import.html",
        {
            "service": service,
            "form": form,
            "problems": [
                {**problem.as_dict(), "column_name": column_names.get(problem.column, "")}
                for problem in problems
            ],
            "problem_count": ngettext(
                "%(n)d problem; nothing was created.",
                "%(n)d problems; nothing was created.",
                len(problems),
            )
            % {"n": len(problems)},
            "quota_left": max(service.address_quota - used, 0),
            "used": used,
            "budget_left": budget,
            "budget_more_from": more_from,
            "max_rows": MAX_ROWS,
            "max_megabytes": MAX_FILE_BYTES // 2**20,
        },
    )


@organisation_view()
def service_job(request, access, service_id, job_id):
    service = _managed_service(access, service_id)
    job = _job_or_404(access, job_id, [CSV_IMPORT_JOB])
    if job.params.get("service") != service.pk:
        raise Http404()
    count = job.params.get("addresses", 0)
    return _job_page(
        request,
        job,
        service=service,
        summary=ngettext("%(n)d address from %(file)s.", "%(n)d addresses from %(file)s.", count)
        % {"n": count, "file": job.params.get("file_name") or _("a CSV file")},
        back_url=service_url(access, service),
        back_label=_("Back to %(domain)s") % {"domain": service.domain},
        done_text=ngettext(
            "Done: %(n)d address was created.", "Done: %(n)d addresses were created.", count
        )
        % {"n": count},
    )


# -- restoring a backup, importing another mailbox -----------------------------------------


def _address_job_url(access, address, job):
    return reverse(
        "mail:address-job",
        args=[access.organisation.pk, address.service_id, address.local_part, job.pk],
    )


@organisation_view()
def address_restore(request, access, service_id, local_part, taken_on):
    """A confirmation saying what a restore does (GET), then the restore Job (POST)."""
    service, address = _address(access, service_id, local_part)
    card = backup_card(access, address)
    if card is None:
        raise PermissionDenied()
    try:
        day = date.fromisoformat(taken_on)
    except ValueError:
        raise Http404() from None
    backup = next((row for row in card["recent"] + card["older"] if row["date"] == day), None)
    if backup is None:
        raise Http404()
    back = address_url(access, address) + "#backups"
    if request.method == "POST":
        ok, job = run_service(request, restore_start, access=access, address=address, taken_on=day)
        return redirect(_address_job_url(access, address, job) if ok else back)
    return render(
        request,
        "mail/restore_confirm.html",
        {"service": service, "address": address, "backup": backup, "back": back},
    )


@organisation_view()
@post_only
def address_backup(request, access, service_id, local_part):
    """Back the mailbox up now (the Backups card's button), then follow the Job."""
    _service, address = _address(access, service_id, local_part)
    if backup_card(access, address) is None:
        raise PermissionDenied()
    ok, job = run_service(request, backup_start, access=access, address=address)
    return redirect(
        _address_job_url(access, address, job) if ok else address_url(access, address) + "#backups"
    )


@organisation_view()
@post_only
def address_import(request, access, service_id, local_part):
    service, address = _address(access, service_id, local_part)
    need_right(access, address, "manage_backups")
    form = MailboxImportForm(request.POST)
    if form.is_valid():
        ok, started = run_service(
            request, import_start, form=form, access=access, address=address, **form.cleaned_data
        )
        if ok:
            return redirect(_address_job_url(access, address, started.job))
    service, address = _address(access, service_id, local_part)  # reload after a failure
    return _address_page(request, access, service, address, import_form=form)


@organisation_view()
def address_job(request, access, service_id, local_part, job_id):
    service, address = _address(access, service_id, local_part)
    job = _job_or_404(access, job_id, [RESTORE_JOB, IMPORT_JOB, BACKUP_JOB])
    if job.params.get("address") != str(address):
        raise Http404()
    if job.kind == BACKUP_JOB:
        summary = _("A backup of %(address)s, taken now.") % {"address": address}
        done_text = _(
            "Backup complete: it is in the list of backups of %(address)s, as today's."
        ) % {"address": address}
    elif job.kind == RESTORE_JOB:
        try:
            day = date_format(date.fromisoformat(job.params.get("date", "")), "DATE_FORMAT")
        except ValueError:
            day = job.params.get("date", "")
        summary = _("%(address)s, from the backup of %(date)s.") % {
            "address": address,
            "date": day,
        }
        done_text = _(
            "Restore complete: the messages the mailbox held on %(date)s and that were "
            "deleted since are back in their folders. An email confirms it."
        ) % {"date": day}
    else:
        summary = _("Into %(address)s, from %(source)s.") % {
            "address": address,
            "source": job.params.get("source", ""),
        }
        done_text = _("Import complete: the messages of %(source)s are in this mailbox.") % {
            "source": job.params.get("source", "")
        }
    return _job_page(
        request,
        job,
        service=service,
        address=address,
        summary=summary,
        back_url=address_url(access, address),
        back_label=_("Back to %(address)s") % {"address": address},
        done_text=done_text,
    )
