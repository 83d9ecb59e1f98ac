"""Reading and checking a CSV file of addresses to create, before anything is created.

Columns: A local part, B password, C (optional) an outside address to redirect to,
D (optional, only with C) `0` keeps the mail after redirecting, `1` does not. The file is
UTF-8 with or without BOM, comma- or semicolon-separated (detected), quoted as
spreadsheets write it; blank lines are skipped and a header row may be kept.

Every problem is reported with its line, column and reason; the caller creates nothing
unless the list is empty.
"""

import csv
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

from panel.csv_files import CsvInvalid, CsvProblem, decode_csv
from panel.errors import InvalidInput

from .models import MailService
from .services.forwarding import clean_targets
from .services.rules import (
    addresses_left,
    check_password_rules,
    clean_local_part,
    service_domains,
    taken_local_parts,
)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
COLUMNS = "ABCD"
#: What a header row's first cell may say (lowercase), in English and French.
HEADER_WORDS = {"local_part", "local part", "address", "local-part", "partie locale", "adresse"}
TEMPLATE_HEADER = ["local_part", "password", "redirect_to", "delete_after_redirect"]
TEMPLATE_EXAMPLES = [
    ["alice", "Change-Me-2048", "", ""],
    ["bob", "Another-Pass-4096", "bob@example.org", "0"],
]


@dataclass(frozen=True)
class CsvRow:
    """One line of addresses to create, as read (local part and targets cleaned)."""

    line: int
    local_part: str
    password: str
    redirect_to: str
    keep_copy: bool


def template_csv() -> str:
    """The template offered for download: the header and two example rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADER)
    writer.writerows(TEMPLATE_EXAMPLES)
    return buffer.getvalue()


def _decode(data: bytes) -> str:
    return decode_csv(data, max_bytes=MAX_FILE_BYTES)


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank record; quoted fields may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records = []
    start = 1
    for fields in reader:
        if any(field.strip() for field in fields):
            records.append((start, fields))
        start = reader.line_num + 1
    return records


def _delimiter(text: str) -> str:
    """Comma or semicolon: the one that splits the first lines into 2 to 4 columns."""
    sample = "\n".join(text.splitlines()[:50])
    best, best_score = ",", -1
    for delimiter in (",", ";"):
        try:
            rows = _records(sample, delimiter)
        except csv.Error:
            continue
        score = sum(1 for _line, fields in rows if 2 <= len(fields) <= 4)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_rows(data: bytes) -> tuple[list[tuple[int, list[str]]], list[CsvProblem]]:
    """The file's records without its header, and the problems of its shape."""
    text = _decode(data)
    try:
        records = _records(text, _delimiter(text))
    except csv.Error as error:
        raise CsvInvalid([CsvProblem(0, "", "unreadable", str(error))]) from None
    if records and records[0][1][0].strip().lower().lstrip("\ufeff") in HEADER_WORDS:
        records = records[1:]
    problems = []
    if not records:
        problems.append(CsvProblem(0, "", "empty", _("The file has no address to create.")))
    if len(records) > MAX_ROWS:
        problems.append(
            CsvProblem(
                0,
                "",
                "too_many_rows",
                _("At most %(n)d addresses per file.") % {"n": MAX_ROWS},
            )
        )
    return records, problems


def _field_problem(line: int, column: str, code: str, error: InvalidInput) -> CsvProblem:
    messages = [message for field_messages in error.fields.values() for message in field_messages]
    return CsvProblem(line, column, code, " ".join(messages) or str(error.detail))


def check_rows(service: MailService, records) -> tuple[list[CsvRow], list[CsvProblem]]:
    """Check each record against the same rules as creating one address, and the file
    as a whole against the service (duplicates, names taken, quota). Three queries."""
    own_domains = service_domains(service)
    taken = taken_local_parts(service)
    rows, problems, first_seen = [], [], {}
    for line, fields in records:
        fields = [field.strip() for field in fields] + ["", "", "", ""]
        raw_local, password, target, flag = fields[:4]
        if any(fields[4:]):
            problems.append(
                CsvProblem(
                    line,
                    "E",
                    "too_many_columns",
                    _("Only columns A to D are read; remove the others."),
                )
            )
        local_part = None
        try:
            local_part = clean_local_part(raw_local)
        except InvalidInput as error:
            problems.append(_field_problem(line, "A", "invalid_local_part", error))
        if local_part is not None:
            if local_part in first_seen:
                problems.append(
                    CsvProblem(
                        line,
                        "A",
                        "duplicate_in_file",
                        _("%(name)s is already on line %(line)d.")
                        % {"name": local_part, "line": first_seen[local_part]},
                    )
                )
            else:
                first_seen[local_part] = line
                if local_part in taken:
                    problems.append(
                        CsvProblem(
                            line,
                            "A",
                            "already_exists",
                            _("%(address)s already exists as an address, alias or redirection.")
                            % {"address": f"{local_part}@{service.domain}"},
                        )
                    )
        try:
            check_password_rules(password, local_part=local_part or raw_local)
        except InvalidInput as error:
            problems.append(_field_problem(line, "B", "weak_password", error))
        cleaned_target = ""
        if target:
            try:
                cleaned_target = clean_targets([target], own_domains=own_domains, required=True)[0]
            except InvalidInput as error:
                problems.append(_field_problem(line, "C", "invalid_redirect", error))
        if flag and flag not in ("0", "1"):
            problems.append(
                CsvProblem(
                    line,
                    "D",
                    "invalid_delete_flag",
                    _("Write 0 to keep the mail after redirecting, or 1 not to keep it."),
                )
            )
        elif flag and not target:
            problems.append(
                CsvProblem(
                    line,
                    "D",
                    "delete_flag_without_redirect",
                    _("Column D needs a redirect address in column C."),
                )
            )
        if local_part is not None:
            rows.append(CsvRow(line, local_part, password, cleaned_target, flag != "1"))
    available = addresses_left(service)
    if len(records) > available:
        problems.append(
            CsvProblem(
                0,
                "",
                "address_quota_reached",
                _(
                    "The file creates %(needed)d addresses but only %(available)d remain in "
                    "the quota. Raise the quota first."
                )
                % {"needed": len(records), "available": available},
            )
        )
    return rows, problems
