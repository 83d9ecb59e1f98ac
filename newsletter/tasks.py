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
