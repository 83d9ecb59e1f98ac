"""Exporting a list's contacts as a CSV file, built by a Job and downloaded from it.

One row per contact on the list, whatever their standing: `email`, `status` (its value,
`subscribed` ...), `groups` (the list's groups they are in, separated by `;`), one
column per field by its key, `subscribed_at` (when they were put on the list) and
`status_changed_at`, in the panel's time zone. The header is the import's own words, so
the file imports back without a mapping. A text cell a spreadsheet would run as a
formula (it starts with = + - @, a tab or a carriage return) is written as text.
"""

import csv
import io

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, PanelError
from panel.tasks import FORMULA_STARTS

from ..models import Contact, ContactList, Subscription
from .imports import GROUP_SEPARATOR

EXPORT_JOB = "newsletter_contacts_export"
CHUNK = 2000


def contacts_export_start(*, access: Access, contact_list: ContactList):
    """Queues the export of the list's contacts as a Job; MANAGE_PRODUCT on the
    newsletter, since the file carries the contacts' personal details. Returns the
    Job."""
    from panel.jobs import job_enqueue

    newsletter = contact_list.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    with transaction.atomic():
        job = job_enqueue(
            organisation=access.organisation,
            actor=access.user,
            kind=EXPORT_JOB,
            task="newsletter.contacts_export",
            params={"newsletter": newsletter.pk, "list": contact_list.pk},
        )
        record_by(
            access,
            "newsletter.contacts.export_started",
            newsletter,
            {"list": contact_list.name, "job": job.pk},
        )
    return job


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _moment(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def contacts_csv(contact_list: ContactList, *, progress=lambda done: None) -> tuple[bytes, int]:
    """The file of the list's contacts, by address, and its number of contacts; read in
    chunks of CHUNK contacts, three queries each."""
    keys = list(
        contact_list.newsletter.fields.order_by("position", "label", "pk").values_list(
            "key", flat=True
        )
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["email", "status", "groups", *keys, "subscribed_at", "status_changed_at"])
    subscriptions = Subscription.objects.filter(list=contact_list).order_by(
        "contact__email_key", "pk"
    )
    membership = Contact.groups.through
    done, after = 0, None
    while True:
        chunk = subscriptions
        if after is not None:
            chunk = chunk.filter(contact__email_key__gt=after)
        chunk = list(
            chunk.values_list(
                "contact_id", "contact__email", "contact__email_key", "contact__fields",
                "status", "created_at", "changed_at",
            )[:CHUNK]
        )  # fmt: skip
        if not chunk:
            break
        groups: dict[int, list[str]] = {}
        for contact_id, name in (
            membership.objects.filter(
                contact_id__in=[row[0] for row in chunk], contactgroup__list=contact_list
            )
            .order_by("contactgroup__name")
            .values_list("contact_id", "contactgroup__name")
        ):
            groups.setdefault(contact_id, []).append(name)
        for contact_id, email, _key, fields, status, created_at, changed_at in chunk:
            fields = fields or {}
            writer.writerow(
                [
                    _cell(email),
                    status,
                    _cell(f"{GROUP_SEPARATOR} ".join(groups.get(contact_id, []))),
                    *(_cell(fields.get(key)) for key in keys),
                    _moment(created_at),
                    _moment(changed_at),
                ]
            )
        done += len(chunk)
        after = chunk[-1][2]
        progress(done)
    return buffer.getvalue().encode("utf-8-sig"), done  # Excel reads UTF-8 with the mark


def contacts_export_run(job_id: int) -> None:
    """The Job's body: the file attached to the Job under a name of its own, so that a
    run started again after a worker died replaces only its own file."""
    from django.core.files.base import ContentFile

    from panel.jobs import job_progress, job_succeed, run_job

    def body(job):
        contact_list = ContactList.objects.filter(
            pk=job.params["list"], organisation=job.organisation
        ).first()
        if contact_list is None:
            raise Conflict(_("The list was deleted before its export ran."), code="list_gone")
        content, rows = contacts_csv(contact_list, progress=lambda done: job_progress(job, done))
        name = f"contacts-list-{contact_list.pk}-{job.pk}.csv"
        _forget_earlier_file(job, name)
        job_succeed(
            job, result={"rows": rows, "file_name": name}, file_name=name,
            content=ContentFile(content),
        )  # fmt: skip

    def total(job):
        return Subscription.objects.filter(
            list_id=job.params["list"], organisation=job.organisation
        ).count()

    try:
        run_job(job_id, body, total=total)
    except PanelError:
        pass  # the Job carries the reason


def _forget_earlier_file(job, name: str) -> None:
    """Remove what an interrupted run of this Job may have left under this name."""
    if job.result_file:
        job.result_file.delete(save=False)
    field = job._meta.get_field("result_file")
    target = field.generate_filename(job, name)
    if field.storage.exists(target):
        field.storage.delete(target)
