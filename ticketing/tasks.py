"""Celery tasks of the ticket office: thin wrappers that take ids."""

from celery import shared_task
from django.conf import settings
from django.utils import translation

from .models import Guest, Order


@shared_task(
    name="ticketing.order_mail_send",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def order_mail_send(order_id: int, kind: str) -> None:
    """The buyer's email about an order (`tickets`, `pending`, `cancelled`,
    `date_cancelled`). Sending the tickets twice is harmless; the task may be retried."""
    from .emails import order_mail

    order = Order.objects.filter(pk=order_id).select_related("office").first()
    if order is not None:
        order_mail(order, kind)


@shared_task(
    name="ticketing.guest_tickets_send",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=8,
)
def guest_tickets_send(guest_id: int, answered_at: str, language: str | None = None) -> None:
    """A guest's tickets after they accepted (emails.guest_tickets_mail). Only the answer
    given at `answered_at` is mailed: a later answer queues its own email. Delivered
    again, it sends nothing more, or at worst the same tickets once more."""
    from .emails import guest_tickets_mail

    guest = (
        Guest.objects.filter(pk=guest_id)
        .select_related("event__office", "tariff__zone__date")
        .first()
    )
    if guest is not None:
        guest_tickets_mail(guest, answered_at=answered_at, language=language)


@shared_task(name="ticketing.unsent_tickets_send")
def unsent_tickets_send() -> int:
    """Paid orders whose tickets email never went out get it (services.sales)."""
    from .services.sales import unsent_tickets_send as send

    return send()


@shared_task(name="ticketing.orders_expire")
def orders_expire() -> int:
    from .services.sales import orders_expire as expire

    return expire()


@shared_task(name="ticketing.export_build", acks_late=True)
def export_build(job_id: int) -> None:
    """Build the file of an export Job (ticketing/exports.py) and attach it to the Job.
    A message delivered again after the Job finished does nothing; after a worker died
    half-way, the file is built again under the same name, so the Job keeps one file."""
    from django.core.files.base import ContentFile

    from panel import jobs
    from panel.activity import acting_via
    from panel.models import Via

    from .exports import export_for, write_csv, write_xlsx

    def body(job):
        export, kind, format = export_for(job.params)
        step = max(1, min(500, job.total // 20 or 1))
        written = [0]

        def progress(done):
            written[0] = done
            if done % step == 0:
                jobs.job_progress(job, done)

        if format == "xlsx":
            content = write_xlsx(export.header, export.rows(), progress=progress, title=kind)
        else:
            content = write_csv(export.header, export.rows(), progress=progress)
        name = export.file_name(kind, format, job_id=job.pk)
        _forget_earlier_file(job, name)
        jobs.job_succeed(
            job,
            result={"rows": written[0], "file_name": name},
            file_name=name,
            content=ContentFile(content),
        )

    def total(job):
        return export_for(job.params)[0].count()

    def in_its_language(job):
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            body(job)

    with acting_via(Via.TASK):
        jobs.run_job(job_id, in_its_language, total=total)


def _forget_earlier_file(job, name: str) -> None:
    """Remove what an interrupted run of this Job may have left: its saved file, or a
    file already written under the name this run is about to use."""
    if job.result_file:
        job.result_file.delete(save=False)
    field = job._meta.get_field("result_file")
    target = field.generate_filename(job, name)
    if field.storage.exists(target):
        field.storage.delete(target)


@shared_task(name="ticketing.guests_import")
def guests_import(job_id: int) -> None:
    """Adds the guests of a checked CSV file, every one or none (services/guests.py)."""
    from panel.activity import acting_via
    from panel.models import Via

    from .services.guests import guests_import_run

    with acting_via(Via.TASK):
        guests_import_run(job_id)


@shared_task(name="ticketing.guest_invitations_send", acks_late=True)
def guest_invitations_send(job_id: int) -> None:
    """Emails the invitations of a Job, once per guest (services/invitations.py)."""
    from panel.activity import acting_via
    from panel.models import Via

    from .services.invitations import invitations_run

    with acting_via(Via.TASK):
        invitations_run(job_id)


@shared_task(name="ticketing.guest_reminders_send", acks_late=True)
def guest_reminders_send(job_id: int) -> None:
    """Emails a planned reminder to the guests still silent, once each."""
    from panel.activity import acting_via
    from panel.models import Via

    from .services.invitations import reminders_run

    with acting_via(Via.TASK):
        reminders_run(job_id)


@shared_task(name="ticketing.guest_reminders_due")
def guest_reminders_due() -> int:
    """The beat's minute: starts the reminders whose moment has come."""
    from .services.invitations import reminders_start_due

    return reminders_start_due()
