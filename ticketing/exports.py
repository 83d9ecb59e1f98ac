"""Exports of an event's orders, tickets (with their form answers), guests and check-in
scans,
as CSV or XLSX files built by a Job (ticketing.tasks.export_build).

The rows are read in a bounded number of queries and streamed in chunks. Every text
cell goes through one rule (`safe_text`): a value a spreadsheet would run as a formula
(it starts with = + - @, a tab or a carriage return) is written as text, never as a
formula. Times are in the panel's time zone.
"""

import csv
import datetime
import io
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Problems
from panel.jobs import job_enqueue
from panel.tasks import FORMULA_STARTS

from .models import Event, EventDate, Guest, Order, Scan, Ticket, TicketForm
from .services.forms import ordered_fields

EXPORT_JOB = "ticketing_export"
KINDS = ("orders", "tickets", "guests", "checkins")
FORMATS = ("csv", "xlsx")
CHUNK = 500
XLSX_TIME_FORMAT = "yyyy-mm-dd hh:mm"


# -- starting an export ---------------------------------------------------------------------


def export_start(
    *, access: Access, event: Event, kind: str, format: str, date: EventDate | int | None = None
):
    """Queue the export of one event (or one of its dates) as a Job; MANAGE_PRODUCT on
    its office, since the file carries the buyers' personal details. Returns the Job."""
    access.require(Capability.MANAGE_PRODUCT, event.office)
    problems = Problems()
    if kind not in KINDS:
        problems.add("kind", _("Choose orders, tickets, guests or check-ins."))
    if format not in FORMATS:
        problems.add("format", _("Choose CSV or XLSX."))
    date_id = getattr(date, "pk", date)
    if date_id is not None and not event.dates.filter(pk=date_id).exists():
        problems.add("date", _("This date is not one of the event's."))
    problems.raise_if_any()
    with transaction.atomic():
        job = job_enqueue(
            organisation=access.organisation,
            actor=access.user,
            kind=EXPORT_JOB,
            task="ticketing.export_build",
            # The file's titles and words in the language of the person who asked.
            params={
                "event": event.pk,
                "kind": kind,
                "format": format,
                "date": date_id,
                "language": get_language() or settings.LANGUAGE_CODE,
            },  # fmt: skip
        )
        record_by(
            access,
            "ticketing.export.started",
            event.office,
            {"event": event.title, "kind": kind, "format": format, "job": job.pk},
        )
    return job


# -- the rows ---------------------------------------------------------------------------------


def local(moment):
    """A time in the panel's time zone, naive (spreadsheets know no time zones)."""
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


class Export:
    """One export: `header`, `count()` and `rows()` (lists of str, int, Decimal,
    naive datetime or None)."""

    def __init__(self, *, event: Event, date_id: int | None = None):
        self.event = event
        self.date_id = date_id

    def file_name(self, kind, format, *, job_id) -> str:
        """Unique to the Job, so that a run started again replaces only its own file."""
        suffix = f"-date-{self.date_id}" if self.date_id else ""
        return f"{kind}-event-{self.event.pk}{suffix}-{job_id}.{format}"


class TicketsExport(Export):
    """One row per ticket of an order, with one column per form field of the event's
    tariffs, in each form's display order (checkbox answers joined)."""

    def queryset(self):
        tickets = Ticket.objects.filter(
            zone__date__event=self.event,
            order__isnull=False,
            organisation_id=self.event.organisation_id,
        )
        if self.date_id:
            tickets = tickets.filter(zone__date_id=self.date_id)
        return tickets.select_related("order", "zone__date", "tariff").order_by("order_id", "pk")

    def fields(self):
        if not hasattr(self, "_fields"):
            forms = (
                TicketForm.objects.filter(tariffs__zone__date__event=self.event)
                .distinct()
                .prefetch_related("fields")
                .order_by("name", "pk")
            )
            several = len(forms) > 1
            self._fields = [
                (field, f"{form.name}: {field.label}" if several else field.label)
                for form in forms
                for field in ordered_fields(form)
            ]
        return self._fields

    @property
    def header(self):
        return [
            _("Order"),
            _("Status"),
            _("Buyer"),
            _("Email"),
            _("Event"),
            _("Date"),
            _("Zone"),
            _("Tariff"),
            _("Price"),
            _("Name on the ticket"),
            _("Checked in at"),
            *(label for _field, label in self.fields()),
        ]

    def count(self):
        return self.queryset().count()

    def rows(self):
        fields = self.fields()
        for ticket in self.queryset().iterator(chunk_size=CHUNK):
            order = ticket.order
            answers = ticket.answers or {}
            yield [
                order.code,
                str(_("Cancelled")) if ticket.cancelled else order.get_status_display(),
                order.buyer_name,
                order.buyer_email,
                self.event.title,
                local(ticket.zone.date.starts_at),
                ticket.zone.name,
                ticket.tariff.name,
                ticket.price,
                ticket.holder_name or order.buyer_name,
                local(ticket.checked_in_at),
                *(_answer(answers.get(str(field.pk))) for field, _label in fields),
            ]


def _answer(value):
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


class OrdersExport(Export):
    """One row per order with tickets of the event (or date); its tickets counted here."""

    def queryset(self):
        scope = Q(tickets__zone__date__event=self.event)
        if self.date_id:
            scope &= Q(tickets__zone__date_id=self.date_id)
        return (
            Order.objects.filter(scope, organisation_id=self.event.organisation_id)
            .annotate(here=Count("tickets", filter=scope & Q(tickets__cancelled=False)))
            .order_by("created_at", "pk")
        )

    @property
    def header(self):
        return [
            _("Order"),
            _("Status"),
            _("Buyer"),
            _("Email"),
            _("Ordered at"),
            _("Paid at"),
            _("Payment"),
            _("Tickets"),
            _("Total"),
            _("Currency"),
        ]

    def count(self):
        return self.queryset().count()

    def rows(self):
        for order in self.queryset().iterator(chunk_size=CHUNK):
            yield [
                order.code,
                order.get_status_display(),
                order.buyer_name,
                order.buyer_email,
                local(order.created_at),
                local(order.paid_at),
                order.get_payment_method_display(),
                order.here,
                order.total,
                order.currency,
            ]


class GuestsExport(Export):
    """One row per guest of the event (or of a date, by their tariff), with the seats
    they took and how many came in, then one column per custom column of the list."""

    def queryset(self):
        guests = Guest.objects.filter(event=self.event, organisation_id=self.event.organisation_id)
        if self.date_id:
            guests = guests.filter(tariff__zone__date_id=self.date_id)
        return (
            guests.select_related("tariff__zone__date")
            .annotate(came_in=Count("tickets", filter=Q(tickets__checked_in_at__isnull=False)))
            .order_by("name", "pk")
        )

    def columns(self) -> list[str]:
        """The custom columns, in the order they first appear (one query)."""
        if not hasattr(self, "_columns"):
            seen: dict[str, None] = {}
            for extra in self.queryset().values_list("extra", flat=True).iterator(CHUNK):
                for name in extra or {}:
                    seen.setdefault(str(name), None)
            self._columns = list(seen)
        return self._columns

    @property
    def header(self):
        return [
            _("Name"),
            _("Email"),
            _("Company"),
            _("Date"),
            _("Zone"),
            _("Tariff"),
            _("Places offered"),
            _("Status"),
            _("Places accepted"),
            _("Checked in"),
            _("Invited at"),
            _("Opened at"),
            _("Answered at"),
            *self.columns(),
        ]

    def count(self):
        return self.queryset().count()

    def rows(self):
        columns = self.columns()
        for guest in self.queryset().iterator(chunk_size=CHUNK):
            extra = guest.extra or {}
            yield [
                guest.name,
                guest.email,
                guest.company,
                local(guest.tariff.zone.date.starts_at),
                guest.tariff.zone.name,
                guest.tariff.name,
                guest.places,
                guest.get_status_display(),
                guest.places_accepted,
                guest.came_in,
                local(guest.invited_at),
                local(guest.opened_at),
                local(guest.answered_at),
                *(_answer(extra.get(name)) for name in columns),
            ]


class CheckinsExport(Export):
    """One row per scan at the event's doors, refused ones too, in the order they came."""

    def queryset(self):
        scans = Scan.objects.filter(
            checkin_list__event=self.event, organisation_id=self.event.organisation_id
        )
        if self.date_id:
            scans = scans.filter(ticket__zone__date_id=self.date_id)
        return scans.select_related(
            "checkin_list", "ticket__order", "ticket__zone", "ticket__tariff"
        ).order_by("scanned_at", "pk")

    @property
    def header(self):
        return [
            _("Scanned at"),
            _("Check-in list"),
            _("Gate"),
            _("Device"),
            _("Direction"),
            _("Result"),
            _("Order"),
            _("Name on the ticket"),
            _("Zone"),
            _("Tariff"),
            _("Offline"),
            _("Conflict"),
        ]

    def count(self):
        return self.queryset().count()

    def rows(self):
        yes, no = str(_("yes")), str(_("no"))
        for scan in self.queryset().iterator(chunk_size=CHUNK):
            ticket = scan.ticket
            order = ticket.order if ticket else None
            yield [
                local(scan.scanned_at),
                scan.checkin_list.name,
                scan.gate,
                scan.device,
                scan.get_direction_display(),
                scan.get_result_display(),
                order.code if order else None,
                (ticket.holder_name or order.buyer_name) if order else None,
                ticket.zone.name if ticket else None,
                ticket.tariff.name if ticket else None,
                yes if scan.offline else no,
                yes if scan.conflict else no,
            ]


EXPORTS = {
    "orders": OrdersExport,
    "tickets": TicketsExport,
    "guests": GuestsExport,
    "checkins": CheckinsExport,
}


def export_for(params: dict) -> tuple[Export, str, str]:
    """The export a Job's parameters describe: (export, kind, format)."""
    event = Event.objects.select_related("office").get(pk=params["event"])
    export = EXPORTS[params["kind"]](event=event, date_id=params.get("date"))
    return export, params["kind"], params["format"]


# -- the files --------------------------------------------------------------------------------


def safe_text(value) -> tuple[str, bool]:
    """The text of a cell, and whether a spreadsheet would read it as a formula (the
    one rule every writer applies: OWASP's "CSV injection")."""
    text = str(value)
    return text, text.startswith(FORMULA_STARTS)


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (int, Decimal)):
        return str(value)
    text, formula_like = safe_text(value)
    return "'" + text if formula_like else text


def write_csv(header, rows, *, progress) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_cell(str(label)) for label in header])
    for done, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(value) for value in row])
        progress(done)
    return buffer.getvalue().encode("utf-8-sig")  # Excel reads UTF-8 with the mark


def write_xlsx(header, rows, *, progress, title) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])

    def cell(value, *, bold=False):
        if isinstance(value, datetime.datetime):
            out = WriteOnlyCell(sheet, value=value)
            out.number_format = XLSX_TIME_FORMAT
            return out
        if value is None or isinstance(value, (int, Decimal)):
            return WriteOnlyCell(sheet, value=value)
        text, _formula_like = safe_text(value)
        out = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", text))
        out.data_type = "s"  # text, whatever it starts with: never a formula
        if bold:
            out.font = Font(bold=True)
        return out

    sheet.append([cell(str(label), bold=True) for label in header])
    for done, row in enumerate(rows, start=1):
        sheet.append([cell(value) for value in row])
        progress(done)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
