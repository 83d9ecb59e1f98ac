"""Celery tasks of the newsletter: thin wrappers that take a Job's id."""

from celery import shared_task


@shared_task(name="newsletter.contacts_import", acks_late=True)
def contacts_import(job_id: int) -> None:
    """Writes the contacts of a checked CSV file (services/imports.py). Delivered again
    after its worker died, it resumes after the last chunk that committed."""
    from panel.activity import acting_via
    from panel.models import Via

    from .services.imports import contacts_import_run

    with acting_via(Via.TASK):
        contacts_import_run(job_id)


@shared_task(name="newsletter.contacts_export", acks_late=True)
def contacts_export(job_id: int) -> None:
    """Builds the CSV file of a list's contacts and attaches it to the Job
    (services/exports.py); delivered again after the Job finished, it does nothing."""
    from panel.activity import acting_via
    from panel.models import Via

    from .services.exports import contacts_export_run

    with acting_via(Via.TASK):
        contacts_export_run(job_id)


@shared_task(name="newsletter.campaign_start", acks_late=True)
def campaign_start(job_id: int) -> None:
    """Writes a campaign's recipient rows (services/sending.py); run again, it adds only
    the missing ones."""
    from panel.activity import acting_via
    from panel.models import Via

    from .services.sending import campaign_start_run

    with acting_via(Via.TASK):
        campaign_start_run(job_id)


@shared_task(name="newsletter.deliver", ignore_result=True)
def deliver() -> None:
    """One worker loop (services/delivery.py) for up to NEWSLETTER_DELIVER_SECONDS, if one
    of the NEWSLETTER_DELIVER_CONCURRENCY slots is free. Not acks_late: a loop that died
    needs no redelivery, the rows say what is left and beat starts another."""
    from .services.delivery import deliver_in_slot

    deliver_in_slot()


@shared_task(name="newsletter.tick", ignore_result=True)
def tick() -> None:
    """Beat, every few seconds: start the campaigns that are due and keep the workers
    going (services/sending.py)."""
    from .services.sending import tick as sending_tick

    sending_tick()
