"""What every CSV import of the panel answers when a file is wrong: each problem with its
line and column, all at once, and nothing created (the mail addresses import, the
ticket office's guest lists)."""

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
