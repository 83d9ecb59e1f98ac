"""Creating addresses in bulk from a CSV file: the whole file is checked first, the
organisation's creation budget is reserved, and a Job creates every address or none."""

import math
from datetime import timedelta

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, PanelError
from panel.jobs import job_enqueue
from panel.models import JobStatus, Organisation
from panel.secrets import seal
from panel.services.common import lock

from ..csv_import import CsvInvalid, check_rows, read_rows
from ..models import CreationBudget, CsvImport, CsvImportStatus, MailService

CSV_IMPORT_JOB = "mail_csv_import"
BUDGET_WINDOW = timedelta(hours=24)


class CreationBudgetExceeded(PanelError):
    """HTTP 429: the file would create more addresses than the budget has left."""

    status = 429
    code = "creation_budget_exceeded"

    def __init__(self, detail, *, retry_after: int):
        self.retry_after = retry_after
        super().__init__(detail)


def budget_left(
    organisation: Organisation, *, wanted: int = 1, now=None
) -> tuple[int | None, object]:
    """(addresses that files may still create now, when `wanted` of them will be). None
    means no limit. Pending and finished imports of the last 24 hours count; the second
    value is None when nothing counts yet (then only a smaller file can pass)."""
    limit = creation_limit(organisation)
    if limit is None:
        return None, None
    now = now or timezone.now()
    recent = list(
        CsvImport.objects.filter(
            organisation=organisation,
            created_at__gt=now - BUDGET_WINDOW,
            status__in=[CsvImportStatus.PENDING, CsvImportStatus.DONE],
        )
        .exclude(job__status=JobStatus.FAILED)  # e.g. never queued: the broker was down
        .order_by("created_at")
        .values_list("created_at", "address_count")
    )
    left = max(limit - sum(count for _at, count in recent), 0)
    freed_at, available = None, left
    for created_at, count in recent:  # oldest first: when do enough leave the window?
        if available >= wanted:
            break
        available += count
        freed_at = created_at + BUDGET_WINDOW
    return left, freed_at


def creation_limit(organisation: Organisation) -> int | None:
    """Addresses files may create in 24 hours (None: no limit)."""
    budget = CreationBudget.objects.filter(organisation=organisation).first()
    if budget is None:
        return CreationBudget.DEFAULT_PER_DAY
    return None if budget.unlimited else budget.addresses_per_day


def _budget_exceeded(organisation, left: int, count: int, freed_at) -> CreationBudgetExceeded:
    limit = creation_limit(organisation)
    if freed_at is None or count > limit:  # no wait is enough: the file alone is too big
        return CreationBudgetExceeded(
            _(
                "Files may create at most %(limit)d addresses in 24 hours; this one has "
                "%(count)d. Split it, or ask us to raise the limit."
            )
            % {"limit": limit, "count": count},
            retry_after=int(BUDGET_WINDOW.total_seconds()),
        )
    wait = max((freed_at - timezone.now()).total_seconds(), 1)
    return CreationBudgetExceeded(
        ngettext(
            "Files may create %(left)d more address in the next 24 hours; this one has "
            "%(count)d. More become available from %(when)s.",
            "Files may create %(left)d more addresses in the next 24 hours; this one has "
            "%(count)d. More become available from %(when)s.",
            left,
        )
        % {
            "left": left,
            "count": count,
            "when": formats.date_format(timezone.localtime(freed_at), "j F Y, H:i T"),
        },
        retry_after=math.ceil(wait),
    )


@transaction.atomic
def csv_import_start(
    *, access: Access, service: MailService, data: bytes, file_name: str = ""
) -> CsvImport:
    """Check a CSV file of addresses and start the Job that creates them. Needs
    MANAGE_PRODUCT.

    Nothing is created unless the whole file is right: CsvInvalid lists every problem
    with its line and column; a file that is right but does not fit the quota is a
    Conflict `address_quota_reached`; one that would pass the organisation's creation
    budget (50 addresses per rolling 24 hours unless staff changed it) is refused whole
    with `creation_budget_exceeded` saying how many can still be created and when more
    become available. The rows, passwords included, are kept encrypted until the Job
    ends."""
    access.require(Capability.MANAGE_PRODUCT, service)
    records, problems = read_rows(data)
    lock(service)
    rows, row_problems = check_rows(service, records)
    problems += row_problems
    if problems:
        if [p.code for p in problems] == ["address_quota_reached"]:
            raise Conflict(problems[0].detail, code="address_quota_reached")
        raise CsvInvalid(sorted(problems, key=lambda p: (p.line, p.column)))
    lock(access.organisation)  # one budget decision at a time per organisation
    left, freed_at = budget_left(access.organisation, wanted=len(rows))
    if left is not None and len(rows) > left:
        raise _budget_exceeded(access.organisation, left, len(rows), freed_at)
    job = job_enqueue(
        organisation=access.organisation,
        actor=access.user,
        kind=CSV_IMPORT_JOB,
        task="mail.tasks.create_addresses_from_csv",
        params={"service": service.pk, "file_name": file_name[:255], "addresses": len(rows)},
    )
    csv_import = CsvImport.objects.create(
        organisation=access.organisation,
        service=service,
        job=job,
        file_name=file_name[:255],
        address_count=len(rows),
        payload=seal(
            [
                [row.line, row.local_part, row.password, row.redirect_to, row.keep_copy]
                for row in rows
            ]
        ),
    )
    record_by(
        access,
        "mail.csv_import.started",
        service,
        {"file": file_name[:255], "addresses": len(rows), "job": job.pk},
    )
    return csv_import
