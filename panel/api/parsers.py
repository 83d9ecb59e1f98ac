"""The API's JSON parser: DRF's, made safe for any input.

- A body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 (DRF reads JSON without
  that check).
- A body nested too deeply is a parse error, not a RecursionError.
- Text the database cannot store (a NUL character, a lone surrogate from a `\\ud800`
  escape) is refused at once, naming the field, before any view or service sees it.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

#: deeper than any request of the API needs, far below Python's recursion limit
MAX_DEPTH = 32


def _is_storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(value, path: str, depth: int, problems: dict) -> None:
    if depth > MAX_DEPTH:
        raise exceptions.ParseError(_("JSON nested deeper than %(n)d levels.") % {"n": MAX_DEPTH})
    if isinstance(value, str):
        if not _is_storable(value):
            problems.setdefault(path or "non_field_errors", []).append(
                _("Text may not contain NUL characters or lone surrogates.")
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _is_storable(key):
                raise exceptions.ParseError(
                    _("A key may not contain NUL characters or lone surrogates.")
                )
            _check(item, f"{path}.{key}" if path else key, depth + 1, problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]" if path else f"[{index}]", depth + 1, problems)


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length and length.isdigit() and int(length) > limit:
            raise RequestDataTooBig("JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                _("JSON nested deeper than %(n)d levels.") % {"n": MAX_DEPTH}
            ) from None
        problems: dict[str, list[str]] = {}
        _check(data, "", 0, problems)
        if problems:
            raise exceptions.ValidationError(problems)
        return data
