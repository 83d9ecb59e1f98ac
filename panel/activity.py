"""Recording the activity log. Services call `record`; the entry point (UI, API, task)
sets how the action arrived with `acting_via`."""

import contextlib
from contextvars import ContextVar

from .models import ActivityEvent, Organisation, Via

_current_via: ContextVar[str] = ContextVar("panel_via", default=Via.UI)


@contextlib.contextmanager
def acting_via(via: str):
    token = _current_via.set(via)
    try:
        yield
    finally:
        _current_via.reset(token)


def set_via(via: str) -> None:
    """Mark the rest of the current request as coming from `via` (used by the API)."""
    _current_via.set(via)


def record(
    *, organisation: Organisation, actor, code: str, target=None, data: dict | None = None
) -> ActivityEvent:
    """Append one event. `code` is `<app>.<entity>.<verb>`, e.g. `panel.team.created`."""
    return ActivityEvent.objects.create(
        organisation=organisation,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_email=getattr(actor, "email", "") or "",
        code=code,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        via=_current_via.get(),
        data=data or {},
    )


def record_by(access, code: str, target=None, data: dict | None = None) -> ActivityEvent:
    """`record` for the person of an Access, in its organisation: what services call."""
    return record(
        organisation=access.organisation, actor=access.user, code=code, target=target, data=data
    )
