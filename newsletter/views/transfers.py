"""A list's contacts in and out as CSV files: an import page that sends the file to its
Job once it is checked whole (every problem is listed by line and column, and nothing
is written), and the export, a Job whose file the Job's page offers to download. Both
need MANAGE_PRODUCT on the newsletter; their progress is on the Job's page."""

from django import forms
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy, ngettext

from panel.csv_files import CsvInvalid
from panel.mixins import organisation_view, post_only

from .. import queries
from ..services.exports import contacts_export_start
from ..services.imports import (
    GROUP_PREFIX,
    GROUP_SEPARATOR,
    MAX_FILE_BYTES,
    MAX_ROWS,
    contacts_import_start,
)
from .common import found_or_404, require_manage, run_or_403


class ContactCsvForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
        error_messages={
            "required": gettext_lazy("Choose a CSV file."),
            "empty": gettext_lazy("The file is empty."),
        },
    )


def _managed_list(access, list_id):
    contact_list = found_or_404(queries.list_for, access, list_id)
    require_manage(access, contact_list.newsletter)
    return contact_list


def _job_url(job) -> str:
    return reverse("panel:job-detail", args=[job.organisation_id, job.pk])


def _import_start(problems):
    """contacts_import_start, with an invalid file's problems kept for the page."""

    def start(**kwargs):
        try:
            return contacts_import_start(**kwargs)
        except CsvInvalid as invalid:
            problems.extend(invalid.errors)
            return None

    return start


@organisation_view()
def contact_import(request, access, list_id):
    contact_list = _managed_list(access, list_id)
    newsletter = contact_list.newsletter
    posted = request.method == "POST"
    form = ContactCsvForm(request.POST if posted else None, request.FILES if posted else None)
    problems = []
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        ok, job = run_or_403(
            request,
            _import_start(problems),
            access=access,
            contact_list=contact_list,
            data=upload.read(MAX_FILE_BYTES + 1),  # one byte more: the service says too big
            filename=upload.name or "",
        )
        if ok and job is not None:
            return redirect(_job_url(job))
    return render(
        request,
        "newsletter/contact_import.html",
        {
            "newsletter": newsletter,
            "contact_list": contact_list,
            "fields": list(queries.fields_of(newsletter)),
            "groups": list(contact_list.groups.order_by("name", "id")),
            "group_prefix": GROUP_PREFIX,
            "group_separator": GROUP_SEPARATOR,
            "form": form,
            "problems": [problem.as_dict() for problem in problems],
            "problem_count": ngettext(
                "%(n)d problem; nothing was imported.",
                "%(n)d problems; nothing was imported.",
                len(problems),
            )
            % {"n": len(problems)},
            "max_rows": MAX_ROWS,
            "max_megabytes": MAX_FILE_BYTES // 2**20,
            "tab": "audience",
        },
    )


@organisation_view()
@post_only
def contact_export(request, access, list_id):
    contact_list = _managed_list(access, list_id)
    ok, job = run_or_403(request, contacts_export_start, access=access, contact_list=contact_list)
    if ok:
        return redirect(_job_url(job))
    return redirect(reverse("newsletter:list-detail", args=[access.organisation.pk, list_id]))


urlpatterns = [
    path("lists/<int:list_id>/import/", contact_import, name="contact-import"),
    path("lists/<int:list_id>/export/", contact_export, name="contact-export"),
]
