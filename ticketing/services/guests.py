"""Guest lists: the organiser's invitations to an event, one by one or from a CSV file,
and the guest's answer from their personal link.

A guest's seats are `Ticket` rows linked to the guest, free, in no order and without
`expires_at`. That is exactly what the shop already counts as a sold seat (`counted()`
in sales.py), so availability, the no-oversell check and a date's cancellation treat
them right without a single change, while orders, revenue and the buyers' emails stay
about sales only (a free "guest order" would have shown in all of them). Accepting
claims the seats by the shop's rule: the zone's row lock, then the count, then the
write, in one short transaction.

The CSV file is checked whole before anything is written, every problem with its line
and column, as the mail CSV import does; a file that passes is created by a Job.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.access import Access, Capability, access_for
from panel.activity import record_by
from panel.csv_files import CsvInvalid, CsvProblem, column_letter, csv_records, decode_csv
from panel.errors import Conflict, InvalidInput, NotFound, PanelError, Problems
from panel.services.common import clean_name, normalise_email

from .. import secrets
from ..models import (
    MAX_GUEST_PLACES,
    Event,
    EventStatus,
    Guest,
    GuestStatus,
    Tariff,
    Ticket,
    TicketOffice,
)
from .forms import answers_check, name_on_ticket, ordered_fields
from .sales import SoldOut, _left, lock_zones, taken_counts

logger = logging.getLogger(__name__)

GUESTS_IMPORT_JOB = "ticketing_guests_import"
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_EXTRA_COLUMNS = 20
#: The columns read by name (lowercase); any other column is kept in `extra`.
KNOWN_COLUMNS = ("name", "email", "company", "places", "tariff")
REQUIRED_COLUMNS = ("name", "email", "tariff")


# -- reads ------------------------------------------------------------------------------------


def guest_for(*, access: Access, guest_id) -> Guest:
    """The guest, 404 unless the person sees its office."""
    try:
        pk = int(guest_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    guest = (
        Guest.objects.filter(organisation=access.organisation, pk=pk)
        .select_related("event__office", "tariff__zone__date")
        .first()
    )
    if guest is None or not access.can(Capability.VIEW_PRODUCT, guest.event.office):
        raise NotFound()
    return guest


def guest_list(*, event: Event, status=None, search=None):
    """The event's guests by name, with their tariffs, in one query."""
    guests = event.guests.select_related("tariff__zone__date")
    if status:
        guests = guests.filter(status=status)
    if search:
        search = str(search).strip()
        guests = guests.filter(name__icontains=search) | guests.filter(email__icontains=search)
    return guests.order_by("name", "id")


def guest_for_key(*, office: TicketOffice, key: str) -> Guest:
    """The guest a personal link opens: 404 for any other key."""
    guest = (
        Guest.objects.filter(event__office=office, token_hash=secrets.basket_key_hash(key))
        .select_related("event__office", "tariff__zone__date")
        .first()
    )
    if guest is None:
        raise NotFound()
    return guest


# -- the organiser's writes -------------------------------------------------------------------


def _require(access: Access, event: Event) -> None:
    access.require(Capability.MANAGE_PRODUCT, event.office)


def _tariff_of(event: Event, value, tariffs=None) -> Tariff:
    """The event's tariff named by id (or, in a file, by its name). InvalidInput."""
    if tariffs is None:
        tariffs = list(Tariff.objects.filter(zone__date__event=event).select_related("zone__date"))
    text = str(value if value is not None else "").strip()
    if not text:
        raise InvalidInput(fields={"tariff": [_("Choose the tariff of the invitation.")]})
    if text.isdigit():
        found = [t for t in tariffs if t.pk == int(text)]
    else:
        found = [t for t in tariffs if t.name.casefold() == text.casefold()]
    if not found:
        raise InvalidInput(fields={"tariff": [_("This event has no such tariff.")]})
    if len(found) > 1:
        raise InvalidInput(
            fields={
                "tariff": [_("Several tariffs have this name; give the tariff's number instead.")]
            }
        )
    return found[0]


def _places(value) -> int:
    if value in (None, ""):
        return 1
    try:
        places = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        places = None
    if places is None or not 1 <= places <= MAX_GUEST_PLACES:
        raise InvalidInput(
            fields={
                "places": [_("Enter a number of places from 1 to %(n)d.") % {"n": MAX_GUEST_PLACES}]
            }
        )
    return places


def _extra(value) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInput(fields={"extra": [_("Give the custom columns as text by name.")]})
    if len(value) > MAX_EXTRA_COLUMNS or any(
        len(k) > 100 or len(v) > 1000 for k, v in value.items()
    ):
        raise InvalidInput(fields={"extra": [_("Too many or too long custom columns.")]})
    return dict(value)


def _email_taken(event: Event, email: str, *, excluding=None) -> bool:
    guests = event.guests.filter(email=email)
    if excluding is not None:
        guests = guests.exclude(pk=excluding.pk)
    return guests.exists()


def _new_key(guest: Guest) -> str:
    guest.link_nonce = secrets.new_nonce()
    key = guest_link_key(guest)
    guest.token_hash = secrets.basket_key_hash(key)
    return key


def guest_link_key(guest: Guest) -> str:
    """The key of the guest's personal link, derived again for each email."""
    return secrets.guest_key(guest.link_nonce)


@transaction.atomic
def guest_create(
    *,
    access: Access,
    event: Event,
    name,
    email,
    tariff,
    company="",
    places=1,
    extra=None,
) -> Guest:
    """Adds a guest to the event's list, invited to `places` free seats of `tariff` (an
    id of the event's tariffs). Needs MANAGE_PRODUCT. Raises InvalidInput naming every
    field at fault (`email` when the event already has this guest). The key of the
    guest's personal link is on `guest.link_key`, and only there: it is kept hashed."""
    _require(access, event)
    problems = Problems()
    name = problems.check(clean_name, name, max_length=200)
    email = problems.check(normalise_email, email)
    company = (
        problems.check(clean_name, company, field="company", max_length=200) if company else ""
    )
    tariff = problems.check(_tariff_of, event, tariff)
    places = problems.check(_places, places)
    extra = problems.check(_extra, extra)
    if email and _email_taken(event, email):
        problems.add("email", _("This guest is already on the list."))
    problems.raise_if_any()
    guest = Guest(
        organisation_id=event.organisation_id,
        event=event,
        name=name,
        email=email,
        company=company or "",
        places=places,
        tariff=tariff,
        extra=extra,
    )
    guest.link_key = _new_key(guest)
    guest.save()
    record_by(access, "ticketing.guest.created", event.office, {"guest": email})
    return guest


@transaction.atomic
def guest_update(*, access: Access, guest: Guest, **changes) -> Guest:
    """Changes a guest's name, email, company, places, tariff or custom columns. Needs
    MANAGE_PRODUCT. Places below what the guest has accepted, or another tariff once
    they have seats, are refused (InvalidInput): the guest answers again instead."""
    _require(access, guest.event)
    guest = Guest.objects.select_for_update().select_related("event__office").get(pk=guest.pk)
    problems = Problems()
    if "name" in changes:
        guest.name = problems.check(clean_name, changes["name"], max_length=200) or guest.name
    if "email" in changes:
        email = problems.check(normalise_email, changes["email"])
        if email and _email_taken(guest.event, email, excluding=guest):
            problems.add("email", _("This guest is already on the list."))
        elif email:
            guest.email = email
    if "company" in changes:
        company = changes["company"] or ""
        guest.company = (
            problems.check(clean_name, company, field="company", max_length=200) if company else ""
        ) or ""
    if "places" in changes:
        places = problems.check(_places, changes["places"])
        if places is not None and places < guest.places_accepted:
            problems.add(
                "places",
                ngettext(
                    "This guest has accepted %(n)d place.",
                    "This guest has accepted %(n)d places.",
                    guest.places_accepted,
                )
                % {"n": guest.places_accepted},
            )
        elif places is not None:
            guest.places = places
    if "tariff" in changes:
        tariff = problems.check(_tariff_of, guest.event, changes["tariff"])
        if tariff is not None and tariff.pk != guest.tariff_id and guest.places_accepted:
            problems.add("tariff", _("This guest has accepted already: their seats stay."))
        elif tariff is not None:
            guest.tariff = tariff
    if "extra" in changes:
        extra = problems.check(_extra, changes["extra"])
        if extra is not None:
            guest.extra = extra
    problems.raise_if_any()
    guest.save()
    record_by(access, "ticketing.guest.updated", guest.event.office, {"guest": guest.email})
    return guest


@transaction.atomic
def guest_delete(*, access: Access, guest: Guest) -> None:
    """Removes a guest from the list; their seats are free again at once."""
    _require(access, guest.event)
    record_by(access, "ticketing.guest.deleted", guest.event.office, {"guest": guest.email})
    guest.delete()


# -- the guest's answer -----------------------------------------------------------------------


def guest_opened(*, guest: Guest, now=None) -> Guest:
    """Notes the first time the guest opened their link."""
    if guest.opened_at is None:
        guest.opened_at = now or timezone.now()
        Guest.objects.filter(pk=guest.pk, opened_at__isnull=True).update(opened_at=guest.opened_at)
    return guest


def _answerable(guest: Guest) -> None:
    date = guest.tariff.zone.date
    if guest.event.status == EventStatus.CANCELLED or date.cancelled_at:
        raise Conflict(_("This event is cancelled."), code="event_cancelled")
    if date.starts_at <= timezone.now():
        raise Conflict(_("This event has started; answers are closed."), code="answers_closed")


def guest_closed(*, guest: Guest) -> Conflict | None:
    """Why the guest can no longer answer: the Conflict guest_answer would raise
    (`event_cancelled`, `answers_closed`), or None while they may."""
    try:
        _answerable(guest)
    except Conflict as error:
        return error
    return None


def _guest_ticket(guest: Guest, answers: dict, holder_name: str) -> Ticket:
    nonce = secrets.new_nonce()
    return Ticket(
        organisation_id=guest.organisation_id,
        zone_id=guest.tariff.zone_id,
        tariff=guest.tariff,
        guest=guest,
        price=0,
        expires_at=None,
        answers=answers,
        holder_name=holder_name,
        nonce=nonce,
        secret_hash=secrets.secret_hash(secrets.ticket_secret(nonce)),
    )


def _ticket_answers(guest: Guest, wanted: int, held: list, answers) -> list[dict] | None:
    """The checked answers of the tariff's form for each of the `wanted` tickets, every
    problem at once under `tickets.<n>.answers.<field id>`; None when the tariff has no
    form. Tickets already held keep their answers unless new ones are given."""
    if not guest.tariff.form_id:
        return None
    fields = ordered_fields(guest.tariff.form)
    if answers is not None and not isinstance(answers, list | tuple):
        raise InvalidInput(fields={"tickets": [_("Give one set of answers per place.")]})
    problems = Problems()
    checked = []
    for index in range(wanted):
        if answers is None and index < len(held):
            checked.append(held[index].answers)
            continue
        entry = answers[index] if answers is not None and index < len(answers) else {}
        entry = entry if isinstance(entry, dict) else {}
        result = problems.check(answers_check, fields, entry, prefix=f"tickets.{index}.answers.")
        checked.append({str(key): value for key, value in (result or {}).items()})
    if problems.fields:
        raise InvalidInput(
            _("Some answers are missing or not valid."), code="answers_invalid",
            fields=problems.fields,
        )  # fmt: skip
    return checked


def guest_answer(*, guest: Guest, accept: bool, places: int | None = None, answers=None) -> Guest:
    """The guest's answer from their personal link. Accepting takes `places` free seats
    (1 to what they were offered) in their tariff's zone, under the zone's row lock and by
    the shop's count, so guests and buyers together never pass its capacity; a full zone
    is refused with SoldOut (409) saying how many are left. When the tariff has a form,
    `answers` gives one dict per place (by field id), checked as the shop checks a
    buyer's. Accepting fewer later, or declining, frees the seats given up. The same
    answer twice changes nothing. Once an acceptance has changed the guest's tickets,
    they are emailed to the guest after commit, in the active language. Raises
    InvalidInput `places` or `tickets.<n>.answers.<field>`, or Conflict when the event
    is cancelled or has started."""
    with transaction.atomic():
        # The guest's row first, the zone's last: the shop never locks a guest, so no
        # two claims wait for each other.
        guest = (
            Guest.objects.select_for_update(of=("self",))
            .select_related("event", "tariff__zone__date", "tariff__form")
            .get(pk=guest.pk)
        )
        _answerable(guest)
        if not accept:
            wanted = 0
        else:
            places = _answer_places(places)
            if not 1 <= places <= guest.places:
                raise InvalidInput(
                    fields={
                        "places": [
                            ngettext(
                                "Choose %(n)d place.",
                                "Choose from 1 to %(n)d places.",
                                guest.places,
                            )
                            % {"n": guest.places}
                        ]
                    }
                )
            wanted = places
        status = GuestStatus.ACCEPTED if accept else GuestStatus.DECLINED
        held = list(guest.tickets.filter(cancelled=False).order_by("pk"))
        checked = _ticket_answers(guest, wanted, held, answers)
        if status == guest.status and len(held) == wanted and answers is None:
            return guest
        fields = ordered_fields(guest.tariff.form) if checked is not None else []

        def holder(index):
            if checked is None:
                return guest.name
            return name_on_ticket(fields, checked[index], buyer_name=guest.name)

        changed = status != guest.status or wanted != len(held)
        for index, ticket in enumerate(held[:wanted]):
            if checked is not None and ticket.answers != checked[index]:
                ticket.answers, ticket.holder_name = checked[index], holder(index)
                ticket.save(update_fields=["answers", "holder_name"])
                changed = True
        if wanted > len(held):
            tariff = guest.tariff
            lock_zones([tariff.zone_id])
            more = wanted - len(held)
            left = _left(tariff, taken_counts([tariff.zone_id]))
            if more > left:
                # What this guest can have: their seats already taken and those left.
                can = len(held) + left
                detail = (
                    ngettext("Only %(n)d place is left.", "Only %(n)d places are left.", can)
                    % {"n": can}
                    if can
                    else _("No place is left.")
                )
                raise SoldOut(
                    detail,
                    fields={"places": [detail]},
                    available=[{"tariff": tariff.pk, "available": can}],
                )
            Ticket.objects.bulk_create(
                [
                    _guest_ticket(
                        guest,
                        checked[index] if checked is not None else {},
                        holder(index),
                    )
                    for index in range(len(held), wanted)
                ]
            )
        elif wanted < len(held):
            # Freeing seats needs no lock: it only ever makes room.
            Ticket.objects.filter(pk__in=[t.pk for t in held[wanted:]]).update(cancelled=True)
        guest.status, guest.places_accepted = status, wanted
        guest.answered_at = timezone.now()
        guest.save(update_fields=["status", "places_accepted", "answered_at"])
        if changed and status == GuestStatus.ACCEPTED:
            answered_at, language = guest.answered_at.isoformat(), translation.get_language()
            transaction.on_commit(lambda: _tickets_mail_later(guest.pk, answered_at, language))
    return guest


def _tickets_mail_later(guest_id: int, answered_at: str, language: str | None) -> None:
    """Queue the guest's tickets. The answer is committed already: a broker that cannot
    be reached must not turn it into an error page; the tickets stay on their page."""
    from ..tasks import guest_tickets_send

    try:
        guest_tickets_send.delay(guest_id, answered_at, language)
    except Exception:  # broker down or misconfigured
        logger.exception("Could not queue the tickets email of guest %s", guest_id)


def _answer_places(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(fields={"places": [_("Enter a number of places.")]}) from None


# -- CSV files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuestRow:
    line: int
    name: str
    email: str
    company: str
    places: int
    tariff: Tariff
    extra: dict


def decode_guest_csv(data: bytes) -> str:
    """The uploaded guest list as text: UTF-8 with or without BOM, at most 2 MB."""
    return decode_csv(data, max_bytes=MAX_FILE_BYTES)


def _problem(line, column, code, error: InvalidInput) -> CsvProblem:
    messages = [m for messages in error.fields.values() for m in messages]
    return CsvProblem(line, column, code, " ".join(messages) or str(error.detail))


def guests_import_check(*, event: Event, text: str) -> list[GuestRow]:
    """Every line of a guest list checked against the rules of adding one guest, and the
    file as a whole (an email twice, or already on the list). The header names the
    columns: name, email, tariff (its id or name), optionally company and places (1 when
    empty); any other column is kept with the guest. Raises CsvInvalid with every
    problem by line and column (a letter, A for the first)."""
    records = csv_records(text)
    if not records:
        raise CsvInvalid([CsvProblem(0, "", "empty", _("The file has no guest."))])
    header_line, header = records[0]
    names = [cell.strip().lower() for cell in header]
    problems: list[CsvProblem] = []
    for column in REQUIRED_COLUMNS:
        if column not in names:
            problems.append(
                CsvProblem(
                    header_line,
                    "",
                    "missing_column",
                    _("The header has no %(column)s column.") % {"column": column},
                )
            )
    seen_names: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            problems.append(
                CsvProblem(
                    header_line,
                    column_letter(index),
                    "empty_column_name",
                    _("Give this column a name in the header."),
                )
            )
        elif name in seen_names:
            problems.append(
                CsvProblem(
                    header_line,
                    column_letter(index),
                    "duplicate_column",
                    _("This column is already column %(col)s.")
                    % {"col": column_letter(seen_names[name])},
                )
            )
        else:
            seen_names[name] = index
    extras = [(i, header[i].strip()) for i, n in enumerate(names) if n and n not in KNOWN_COLUMNS]
    if len(extras) > MAX_EXTRA_COLUMNS:
        problems.append(
            CsvProblem(
                header_line,
                "",
                "too_many_columns",
                _("At most %(n)d custom columns.") % {"n": MAX_EXTRA_COLUMNS},
            )
        )
    body = records[1:]
    if not body and not problems:
        problems.append(CsvProblem(0, "", "empty", _("The file has no guest.")))
    if len(body) > MAX_ROWS:
        problems.append(
            CsvProblem(
                0, "", "too_many_rows", _("At most %(n)d guests per file.") % {"n": MAX_ROWS}
            )
        )
    if problems:
        raise CsvInvalid(problems)
    tariffs = list(Tariff.objects.filter(zone__date__event=event).select_related("zone__date"))
    taken = set(event.guests.values_list("email", flat=True))
    first_seen: dict[str, int] = {}
    rows = []

    def cell(cells, column):
        index = seen_names.get(column)
        return (cells[index].strip() if index is not None and index < len(cells) else ""), (
            column_letter(index) if index is not None else ""
        )

    for line, cells in body:
        if len(cells) > len(header):
            problems.append(
                CsvProblem(
                    line,
                    column_letter(len(header)),
                    "too_many_cells",
                    _("This line has more cells than the header has columns."),
                )
            )
        values = {}
        for column, clean, code in (
            ("name", lambda v: clean_name(v, max_length=200), "invalid_name"),
            ("email", normalise_email, "invalid_email"),
            (
                "company",
                lambda v: clean_name(v, field="company", max_length=200) if v else "",
                "invalid_company",
            ),
            ("places", _places, "invalid_places"),
            ("tariff", lambda v: _tariff_of(event, v, tariffs), "invalid_tariff"),
        ):
            raw, letter = cell(cells, column)
            try:
                values[column] = clean(raw)
            except InvalidInput as error:
                problems.append(_problem(line, letter, code, error))
        email = values.get("email")
        if email:
            _raw, letter = cell(cells, "email")
            if email in first_seen:
                problems.append(
                    CsvProblem(
                        line,
                        letter,
                        "duplicate_in_file",
                        _("%(email)s is already on line %(line)d.")
                        % {"email": email, "line": first_seen[email]},
                    )
                )
            else:
                first_seen[email] = line
                if email in taken:
                    problems.append(
                        CsvProblem(
                            line,
                            letter,
                            "already_exists",
                            _("%(email)s is already on the guest list.") % {"email": email},
                        )
                    )
        extra = {}
        for index, column in extras:
            value = cells[index].strip() if index < len(cells) else ""
            if len(value) > 1000:
                problems.append(
                    CsvProblem(
                        line, column_letter(index), "too_long", _("At most 1000 characters.")
                    )
                )
            elif value:
                extra[column] = value
        if len(values) == len(KNOWN_COLUMNS):
            rows.append(GuestRow(line=line, extra=extra, **values))
    if problems:
        raise CsvInvalid(sorted(problems, key=lambda p: (p.line, len(p.column), p.column)))
    return rows


def guests_import_csv(*, access: Access, event: Event, text: str) -> list[Guest]:
    """Adds every guest of a CSV file, or none: the whole file is checked first
    (guests_import_check; CsvInvalid lists every problem by line and column), then
    written in one transaction under the event's row lock, so that two files at once
    cannot both add one email. Needs MANAGE_PRODUCT. Returns the guests, each with its
    link's key on `link_key`."""
    _require(access, event)
    with transaction.atomic():
        Event.objects.select_for_update().filter(pk=event.pk).first()
        rows = guests_import_check(event=event, text=text)
        guests = []
        for row in rows:
            guest = Guest(
                organisation_id=event.organisation_id,
                event=event,
                name=row.name,
                email=row.email,
                company=row.company,
                places=row.places,
                tariff=row.tariff,
                extra=row.extra,
            )
            guest.link_key = _new_key(guest)
            guests.append(guest)
        Guest.objects.bulk_create(guests)
        record_by(access, "ticketing.guests.imported", event.office, {"guests": len(guests)})
    return guests


@transaction.atomic
def guests_import_start(*, access: Access, event: Event, text: str, file_name: str = ""):
    """Checks a guest list now (CsvInvalid with every problem, nothing created) and
    starts the Job that adds the guests; the Job checks again, in case the list changed
    meanwhile. Needs MANAGE_PRODUCT. Returns the Job."""
    from panel.jobs import job_enqueue
    from panel.secrets import seal

    _require(access, event)
    rows = guests_import_check(event=event, text=text)
    return job_enqueue(
        organisation=access.organisation,
        actor=access.user,
        kind=GUESTS_IMPORT_JOB,
        task="ticketing.guests_import",
        params={
            "event": event.pk,
            "file_name": file_name[:255],
            "guests": len(rows),
            "file": seal(text),
        },
    )


def guests_import_run(job_id: int) -> None:
    """The Job's body: the guests of the file, every one or none. A file that no longer
    passes fails the Job with its problems by line."""
    from panel.jobs import job_succeed, run_job
    from panel.models import Job, JobStatus
    from panel.secrets import unseal

    def body(job):
        event = Event.objects.select_related("office").get(
            pk=job.params["event"], organisation=job.organisation
        )
        try:
            text = unseal(job.params["file"])
        except ValueError:
            raise Conflict(
                _("The file could not be read back; upload it again."), code="csv_unreadable"
            ) from None
        access = access_for(job.actor, job.organisation)
        if access is None:
            raise Conflict(_("The person who sent the file has left."), code="actor_gone")
        try:
            guests = guests_import_csv(access=access, event=event, text=text)
        except CsvInvalid as error:
            Job.objects.filter(pk=job.pk).update(
                status=JobStatus.FAILED,
                errors=[p.as_dict() for p in error.errors],
                finished_at=timezone.now(),
            )
            return
        job_succeed(job, result={"created": len(guests)})

    try:
        run_job(job_id, body, total=lambda job: job.params.get("guests", 0))
    except PanelError:
        pass  # the Job carries the reason
