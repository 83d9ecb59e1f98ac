"""What every CSV import of the panel answers when a file is wrong: each problem with its
line and column, all at once, and nothing created (the mail addresses import, the
ticket office's guest lists)."""

import csv
import io
from dataclasses import asdict, dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .errors import InvalidInput


@dataclass(frozen=True)
class CsvProblem:
    """One problem of a file: line 0 is the file as a whole; column is a letter or ""."""

    line: int
    column: str
    code: str
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


class CsvInvalid(InvalidInput):
    """The file cannot be imported; `errors` lists every problem found."""

    code = "csv_invalid"

    def __init__(self, errors: list[CsvProblem]):
        self.errors = errors
        super().__init__(
            ngettext(
                "The file has %(n)d problem; nothing was created.",
                "The file has %(n)d problems; nothing was created.",
                len(errors),
            )
            % {"n": len(errors)},
        )


def decode_csv(data: bytes, *, max_bytes: int) -> str:
    """An uploaded file as text: UTF-8 with or without BOM (what spreadsheets save as
    "CSV UTF-8"), at most `max_bytes`; otherwise CsvInvalid naming the first line that
    is not UTF-8."""
    if len(data) > max_bytes:
        raise CsvInvalid(
            [
                CsvProblem(
                    0,
                    "",
                    "file_too_large",
                    _("The file is larger than %(n)d MB.") % {"n": max_bytes // 2**20},
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CsvInvalid(
            [
                CsvProblem(
                    line,
                    "",
                    "not_utf8",
                    _("This line is not UTF-8 text; save the file as CSV UTF-8."),
                )
            ]
        ) from None


def column_letter(index: int) -> str:
    """The spreadsheet letter of a column: 0 is A, 26 is AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _delimiter(text: str) -> str:
    """The separator the header line uses most: comma, semicolon or tab."""
    header = text.lstrip("\ufeff\r\n").split("\n", 1)[0]
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def csv_records(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank record of a decoded file, separated by what
    its header uses most (comma, semicolon or tab); quoted cells may span lines.
    CsvInvalid naming the line when the file cannot be read as CSV."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=_delimiter(text))
    records, start = [], 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        raise CsvInvalid([CsvProblem(start, "", "unreadable", str(error))]) from None
    return records
