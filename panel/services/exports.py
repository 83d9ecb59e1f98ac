"""Services: activity export."""

from django.db import transaction

from .. import activity
from ..access import Access, Capability
from ..jobs import job_enqueue
from ..tasks import export_activity


def activity_export_start(*, access: Access, filters: dict | None = None):
    """Queue a CSV export of the activity log (administrators). Returns the Job."""
    access.require(Capability.EXPORT_ACTIVITY)
    with transaction.atomic():
        job = job_enqueue(
            organisation=access.organisation,
            actor=access.user,
            kind="activity_export",
            task=export_activity,
            params={k: v for k, v in (filters or {}).items() if v},
        )
        activity.record(
            organisation=access.organisation,
            actor=access.user,
            code="panel.activity.export_started",
            target=job,
        )
    return job
