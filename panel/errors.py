"""Domain errors raised by services.

Each carries a stable `code`, a human `detail` and optional per-field messages. The API
exception handler turns them into the error envelope; the UI shows them as messages.
"""

from django.utils.translation import gettext_lazy as _


class PanelError(Exception):
    status = 400
    code = "error"
    default_detail = _("The request could not be completed.")

    def __init__(self, detail=None, *, code: str | None = None, fields: dict | None = None):
        self.detail = detail if detail is not None else self.default_detail
        if code:
            self.code = code
        self.fields = {
            name: [str(m) for m in _as_list(msgs)] for name, msgs in (fields or {}).items()
        }
        super().__init__(str(self.detail))


def _as_list(messages):
    return messages if isinstance(messages, list | tuple) else [messages]


class InvalidInput(PanelError):
    status = 400
    code = "invalid"
    default_detail = _("Some fields are not valid.")


class PermissionDenied(PanelError):
    status = 403
    code = "permission_denied"
    default_detail = _("You do not have permission to do this.")


class NotFound(PanelError):
    status = 404
    code = "not_found"
    default_detail = _("Not found.")


class Conflict(PanelError):
    status = 409
    code = "conflict"
    default_detail = _("This already exists.")


class Problems:
    """Every problem of one input, gathered so that a person sees them all in one answer
    instead of one per attempt. `check(fn, ...)` runs a check that raises InvalidInput
    and keeps its field messages; `add(field, message)`; `raise_if_any()` at the end."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}
        self.errors: list[InvalidInput] = []

    def add(self, field: str, message) -> None:
        self.errors.append(InvalidInput(fields={field: [str(message)]}))
        self.fields.setdefault(field, []).append(str(message))

    def check(self, check, *args, **kwargs):
        """`check(*args, **kwargs)`, or None once its problems are noted."""
        try:
            return check(*args, **kwargs)
        except InvalidInput as error:
            self.errors.append(error)
            for field, messages in error.fields.items():
                self.fields.setdefault(field, []).extend(messages)
            return None

    def raise_if_any(self) -> None:
        """One problem keeps its own code and detail (`weak_password` ...); several come
        as `invalid` with every field."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.fields:
            raise InvalidInput(fields=self.fields)
