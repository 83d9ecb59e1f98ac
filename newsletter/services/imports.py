"""Importing a list's contacts from a CSV file: checked whole first, then written by a
Job in chunks that resume where they stopped.

The file is UTF-8 (with or without BOM), comma-, semicolon- or tab-separated (read from
its header line), with a header line. The mapping says what each column is, by its
header: `email`, a field's key, `group:<id or name>` (a column whose yes/1/x cells put
the contact in that group of the list), `groups` (group names, or ids, separated by
`;`), `status`, or nothing (ignored). Without a mapping, columns are read by their
header: `email`, `status`, `groups`, `group:<name>` and the fields' keys, which is what
the export writes, so an exported file imports back as it is.

The rules, on top of those of contacts.py:
- Nothing is written unless the whole file is right: CsvInvalid lists every problem with
  its line and column (the first MAX_PROBLEMS of them, and how many there are).
- An address already a contact (in any case) is merged into it: the fields given
  overwrite theirs, the others stay, and groups are added. An empty cell changes
  nothing. An address given on several lines is one contact; for each field the last
  non-empty cell wins, and the lines after the first are counted as duplicates.
- New subscriptions are `subscribed`, or the row's status; so is an `unconfirmed` one
  (the organisation holds the consent). Each change of standing writes its history line,
  and each subscription the consent of the import (source import, the file's name).
- The standing of a contact who unsubscribed, complained or bounced on the list is never
  changed: they are skipped and counted (`skipped_left`). Their fields and groups are
  still updated, as anyone's: they receive nothing from this list either way, and the
  organisation's data about them stays current.
- Each chunk is written in one transaction together with the Job's position in the
  file, so a Job delivered again after its worker died resumes after the last chunk that
  committed: no contact, subscription, consent or history line is written twice.

The statements that write a chunk are in import_rows.py.
"""

import base64
import zlib
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability, access_for
from panel.activity import record, record_by
from panel.csv_files import CsvInvalid, CsvProblem, column_letter, csv_records, decode_csv
from panel.errors import Conflict, InvalidInput, NotFound, PanelError

from ..models import (
    ContactField,
    ContactList,
    FieldType,
    Newsletter,
    SubscriptionStatus,
)
from .contacts import clean_email, clean_field_value, email_key
from .import_rows import write_batch

IMPORT_JOB = "newsletter_contacts_import"
MAX_FILE_BYTES = 32 * 2**20
MAX_ROWS = 200_000
MAX_PROBLEMS = 1000
#: Contacts written per transaction; the Job's progress moves by as much.
CHUNK = 5000
GROUP_SEPARATOR = ";"
GROUP_PREFIX = "group:"
IGNORED = ("", "ignore")
_YES_NO = ContactField(key="group", type=FieldType.YES_NO)


@dataclass(frozen=True)
class Column:
    index: int
    kind: str  # email, field, group, groups, status
    target: object = None  # the ContactField, or the group's id


@dataclass
class Entry:
    """One address of the file, its lines merged."""

    line: int
    email: str
    key: str
    fields: dict = field(default_factory=dict)
    groups: set = field(default_factory=set)
    status: str | None = None


@dataclass
class ImportPlan:
    """What a right file will write: one entry per address, in the order of the file."""

    entries: list[Entry]
    rows: int
    duplicates: int


# -- reading the file -------------------------------------------------------------------------


def _message(error: InvalidInput) -> str:
    messages = [m for messages in error.fields.values() for m in messages]
    return " ".join(messages) or str(error.detail)


class _Problems:
    """The problems of a file, the first MAX_PROBLEMS kept, all counted."""

    def __init__(self):
        self.kept: list[CsvProblem] = []
        self.count = 0

    def add(self, line: int, column: str, code: str, detail: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(CsvProblem(line, column, code, str(detail)))

    def raise_if_any(self) -> None:
        if not self.count:
            return
        problems = sorted(self.kept, key=lambda p: (p.line, len(p.column), p.column))
        if self.count > len(self.kept):
            problems.append(
                CsvProblem(
                    0,
                    "",
                    "too_many_problems",
                    _("The first %(shown)d problems of %(n)d are listed.")
                    % {"shown": len(self.kept), "n": self.count},
                )
            )
        raise CsvInvalid(problems)


# -- the mapping ------------------------------------------------------------------------------


def _auto_mapping(names: list[str]) -> dict:
    """Columns read by their header, as the export writes them."""
    return {name: name for name in names if name}


def _mapped(mapping, names: list[str], header_line: int, problems: _Problems):
    """[(column index, target)] of the mapping, by header (case ignored) or, for a list,
    by position."""
    folded = [name.casefold() for name in names]
    if mapping is None:
        mapping = _auto_mapping(names)
        auto = True
    else:
        auto = False
    if isinstance(mapping, list | tuple):
        if len(mapping) > len(names):
            problems.add(
                header_line,
                column_letter(len(names)),
                "unknown_column",
                _("The mapping has more columns than the file."),
            )
        pairs = list(enumerate(mapping[: len(names)]))
    elif isinstance(mapping, dict):
        pairs = []
        for name, target in mapping.items():
            wanted = name.strip().casefold() if isinstance(name, str) else None
            index = folded.index(wanted) if wanted in folded else None
            if index is None:
                problems.add(
                    header_line,
                    "",
                    "unknown_column",
                    _("The file has no column named %(name)s.") % {"name": name},
                )
                continue
            pairs.append((index, target))
    else:
        problems.add(
            0,
            "",
            "invalid_mapping",
            _("Give the mapping as an object of column names and what each column is."),
        )
        return [], auto
    cleaned = []
    for index, target in pairs:
        if target is not None and not isinstance(target, str):
            problems.add(
                header_line,
                column_letter(index),
                "invalid_mapping",
                _("Say what this column is with a text."),
            )
            continue
        target = (target or "").strip()
        if target.casefold() not in IGNORED:
            cleaned.append((index, target))
    return cleaned, auto


def _columns(
    contact_list: ContactList, header_line: int, header: list[str], mapping, problems: _Problems
) -> list[Column]:
    """What each mapped column is; header and mapping problems are noted."""
    names = [cell.strip() for cell in header]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name.casefold() in seen:
            problems.add(
                header_line,
                column_letter(index),
                "duplicate_column",
                _("This column is already column %(col)s.")
                % {"col": column_letter(seen[name.casefold()])},
            )
        else:
            seen[name.casefold()] = index
    pairs, auto = _mapped(mapping, names, header_line, problems)
    fields = {
        f.key: f for f in ContactField.objects.filter(newsletter_id=contact_list.newsletter_id)
    }
    groups = list(contact_list.groups.all())
    columns, targets = [], {}
    for index, target in pairs:
        letter = column_letter(index)
        lowered = target.casefold()
        if lowered == "email":
            column = Column(index, "email")
        elif lowered in ("status", "groups"):
            column = Column(index, lowered)
        elif lowered.startswith(GROUP_PREFIX):
            group = _group_named(groups, target[len(GROUP_PREFIX) :].strip())
            if group is None:
                problems.add(
                    header_line,
                    letter,
                    "unknown_group",
                    _("%(list)s has no group %(name)s.")
                    % {"list": contact_list.name, "name": target[len(GROUP_PREFIX) :].strip()},
                )
                continue
            column = Column(index, "group", group.pk)
        elif lowered in fields:  # keys are in lower case
            column = Column(index, "field", fields[lowered])
        elif auto:
            continue  # a column the export writes for people (subscribed_at), or any other
        else:
            problems.add(
                header_line,
                letter,
                "unknown_target",
                _(
                    "No field has the key %(key)s: map the column to email, a field's key, "
                    "group:<name>, groups or status, or leave it out."
                )
                % {"key": target},
            )
            continue
        name = (column.kind, getattr(column.target, "pk", column.target))
        if name in targets:
            problems.add(
                header_line,
                letter,
                "duplicate_target",
                _("Column %(col)s is mapped to %(target)s already.")
                % {"col": column_letter(targets[name]), "target": target},
            )
            continue
        targets[name] = index
        columns.append(column)
    if ("email", None) not in targets:
        problems.add(
            header_line, "", "missing_email_column", _("No column is mapped to the email address.")
        )
    return columns


def _group_named(groups, text: str):
    for group in groups:
        if group.name.casefold() == text.casefold():
            return group
    if text.isdigit():
        for group in groups:
            if group.pk == int(text):
                return group
    return None


class _CellProblem(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


def _read_email(raw: str) -> str:
    if not raw:
        raise _CellProblem("missing_email", _("Give the contact's address."))
    return clean_email(raw)


def _read_groups(raw: str, groups: dict, contact_list: ContactList) -> set:
    """The ids of the groups a `groups` cell names (names ignoring case, or ids)."""
    names = [name.strip() for name in raw.split(GROUP_SEPARATOR) if name.strip()]
    unknown = [name for name in names if name.casefold() not in groups]
    if unknown:
        raise _CellProblem(
            "unknown_group",
            _("%(list)s has no group %(name)s.")
            % {"list": contact_list.name, "name": ", ".join(unknown)},
        )
    return {groups[name.casefold()] for name in names}


def _read_status(raw: str) -> str | None:
    if not raw:
        return None
    if raw.lower() not in SubscriptionStatus.values:
        raise _CellProblem(
            "invalid_status",
            _("Choose one of: %(c)s.") % {"c": ", ".join(SubscriptionStatus.values)},
        )
    return raw.lower()


# -- the check --------------------------------------------------------------------------------


def contacts_import_check(
    *, newsletter: Newsletter, contact_list: ContactList, data: bytes, mapping=None
) -> ImportPlan:
    """Every line of the file checked against the rules of adding a contact, and the
    file and mapping as a whole (module docstring). Reads the newsletter's fields and
    the list's groups, nothing else; writes nothing. Raises CsvInvalid with every
    problem by line and column (a letter, A for the first; line 0 is the whole file)."""
    if contact_list.newsletter_id != newsletter.pk:
        raise NotFound()
    records = csv_records(decode_csv(data, max_bytes=MAX_FILE_BYTES))
    if not records:
        raise CsvInvalid([CsvProblem(0, "", "empty", _("The file has no contact."))])
    problems = _Problems()
    header_line, header = records[0]
    columns = _columns(contact_list, header_line, header, mapping, problems)
    body = records[1:]
    if not body:
        problems.add(0, "", "empty", _("The file has no contact."))
    if len(body) > MAX_ROWS:
        problems.add(
            0, "", "too_many_rows", _("At most %(n)d contacts per file.") % {"n": MAX_ROWS}
        )
    problems.raise_if_any()
    # A group is named by its name (case ignored) or, failing that, its id.
    groups = {}
    for group in contact_list.groups.all():
        groups.setdefault(str(group.pk), group.pk)
        groups[group.name.casefold()] = group.pk
    width = len(header)
    entries: dict[str, Entry] = {}
    duplicates = 0
    for line, cells in body:
        before = problems.count
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            problems.add(
                line,
                column_letter(width),
                "too_many_cells",
                _("This line has more cells than the header has columns."),
            )
        address, values, in_groups, status = None, {}, set(), None
        for column in columns:
            raw = cells[column.index].strip() if column.index < len(cells) else ""
            try:
                if column.kind == "email":
                    address = _read_email(raw)
                elif column.kind == "field":
                    value = clean_field_value(column.target, raw)
                    if value is not None:
                        values[column.target.key] = value
                elif column.kind == "group":
                    if clean_field_value(_YES_NO, raw):
                        in_groups.add(column.target)
                elif column.kind == "groups":
                    in_groups |= _read_groups(raw, groups, contact_list)
                else:
                    status = _read_status(raw)
            except InvalidInput as error:
                code = "invalid_email" if column.kind == "email" else "invalid_value"
                problems.add(line, column_letter(column.index), code, _message(error))
            except _CellProblem as problem:
                problems.add(line, column_letter(column.index), problem.code, problem.detail)
        if problems.count > before or address is None:
            continue
        key = email_key(address)
        entry = entries.get(key)
        if entry is None:
            entries[key] = Entry(line, address, key, values, in_groups, status)
        else:
            duplicates += 1
            entry.fields.update(values)
            entry.groups |= in_groups
            entry.status = status or entry.status
    problems.raise_if_any()
    return ImportPlan(entries=list(entries.values()), rows=len(body), duplicates=duplicates)


# -- the Job ----------------------------------------------------------------------------------


def _pack(data: bytes) -> str:
    """The file kept for its Job: compressed, then sealed (addresses are personal data)."""
    from panel.secrets import seal

    return seal(base64.b64encode(zlib.compress(data, 6)).decode("ascii"))


def _unpack(token) -> bytes:
    from panel.secrets import unseal

    try:
        return zlib.decompress(base64.b64decode(unseal(token)))
    except (ValueError, TypeError, AttributeError, zlib.error):
        raise Conflict(
            _("The file could not be read back; upload it again."), code="csv_unreadable"
        ) from None


@transaction.atomic
def contacts_import_start(
    *, access: Access, contact_list: ContactList, data: bytes, mapping=None, filename: str = ""
):
    """Checks the file now (CsvInvalid with every problem, nothing written) and starts
    the Job that writes it; the Job checks it again, in case fields or groups changed
    meanwhile. Needs MANAGE_PRODUCT on the newsletter. Returns the Job."""
    from panel.jobs import job_enqueue

    newsletter = contact_list.newsletter
    access.require(Capability.MANAGE_PRODUCT, newsletter)
    plan = contacts_import_check(
        newsletter=newsletter, contact_list=contact_list, data=data, mapping=mapping
    )
    filename = (filename or "")[:255]
    job = job_enqueue(
        organisation=access.organisation,
        actor=access.user,
        kind=IMPORT_JOB,
        task="newsletter.contacts_import",
        params={
            "newsletter": newsletter.pk,
            "list": contact_list.pk,
            "file_name": filename,
            "rows": plan.rows,
            "contacts": len(plan.entries),
            "mapping": mapping,
            "file": _pack(data),
        },
    )
    record_by(
        access,
        "newsletter.contacts.import_started",
        newsletter,
        {"list": contact_list.name, "file": filename, "rows": plan.rows, "job": job.pk},
    )
    return job


COUNTS = ("created", "merged", "skipped_left", "subscribed")


def contacts_import_run(job_id: int) -> None:
    """The Job's body: the checked file written chunk after chunk, each chunk with the
    Job's position in one transaction. A file that no longer passes fails the Job with
    its problems by line. The Job's result: {created, merged, duplicates_in_file,
    skipped_left, subscribed, rows}."""
    from panel.jobs import job_progress, job_succeed, run_job
    from panel.models import Job, JobStatus

    def body(job):
        params = job.params
        contact_list = (
            ContactList.objects.filter(pk=params["list"], organisation=job.organisation)
            .select_related("newsletter")
            .first()
        )
        if contact_list is None:
            raise Conflict(_("The list was deleted before its import ran."), code="list_gone")
        newsletter = contact_list.newsletter
        access = access_for(job.actor, job.organisation) if job.actor else None
        if access is None or not access.can(Capability.MANAGE_PRODUCT, newsletter):
            raise Conflict(
                _("The person who sent the file may no longer change this newsletter."),
                code="actor_gone",
            )
        data = _unpack(params.get("file"))
        try:
            plan = contacts_import_check(
                newsletter=newsletter,
                contact_list=contact_list,
                data=data,
                mapping=params.get("mapping"),
            )
        except CsvInvalid as error:
            Job.objects.filter(pk=job.pk).update(
                status=JobStatus.FAILED,
                errors=[p.as_dict() for p in error.errors],
                finished_at=timezone.now(),
            )
            return
        if job.result.get("position"):
            job_progress(job, job.result["position"])
        counts = _write_chunks(job, plan, contact_list, params.get("file_name", ""))
        result = {
            **counts,
            "duplicates_in_file": plan.duplicates,
            "rows": plan.rows,
        }
        with transaction.atomic():
            record(
                organisation=job.organisation,
                actor=job.actor,
                code="newsletter.contacts.imported",
                target=newsletter,
                data={"list": contact_list.name, "file": params.get("file_name", ""), **result},
            )
            job_succeed(job, result=result)

    try:
        run_job(job_id, body, total=lambda job: job.params.get("contacts", 0))
    except PanelError:
        pass  # the Job carries the reason
    finally:
        _forget_file(job_id)


def _forget_file(job_id: int) -> None:
    """A finished Job no longer keeps the file."""
    from panel.models import Job

    job = Job.objects.filter(pk=job_id, status__in=Job.FINISHED).only("params").first()
    if job is not None and "file" in job.params:
        params = {k: v for k, v in job.params.items() if k != "file"}
        Job.objects.filter(pk=job_id).update(params=params)


def _write_chunks(job, plan: ImportPlan, contact_list: ContactList, filename: str) -> dict:
    """Writes the entries from the Job's position on, CHUNK at a time; the counts."""
    from panel.models import Job

    while True:
        for attempt in range(3):
            try:
                with transaction.atomic():
                    state = (
                        Job.objects.select_for_update()
                        .values_list("result", flat=True)
                        .get(pk=job.pk)
                    )
                    position = state.get("position", 0)
                    counts = {name: state.get(name, 0) for name in COUNTS}
                    if position >= len(plan.entries):
                        return counts
                    batch = plan.entries[position : position + CHUNK]
                    for name, added in write_batch(contact_list, batch, filename).items():
                        counts[name] += added
                    position += len(batch)
                    Job.objects.filter(pk=job.pk).update(
                        result={**counts, "position": position}, done=position
                    )
                break
            except IntegrityError:
                # Someone added one of these addresses meanwhile: read them again.
                if attempt == 2:
                    raise
        job.done = position
