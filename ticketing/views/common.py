"""Helpers that every ticket office page of the Manager shares: looking an object up
from the URL, requiring the capability to change it, and running a service whose
refusal becomes a 404, a 403 or errors on the form."""

from functools import partial

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from panel.access import Capability
from panel.errors import NotFound
from panel.errors import PermissionDenied as PanelPermissionDenied
from panel.mixins import require, run_service


def found_or_404(selector, access, **kwargs):
    """`selector(access=access, **kwargs)`, with what the person may not see a 404."""
    try:
        return selector(access=access, **kwargs)
    except NotFound:
        raise Http404() from None


def run_or_403(request, service, /, **kwargs):
    """`run_service`, where the service's refusal for a missing capability is a 403."""

    def call(**arguments):
        try:
            return service(**arguments)
        except PanelPermissionDenied:
            raise DjangoPermissionDenied() from None

    return run_service(request, call, **kwargs)


def submit_form(request, form, service, *, success, field_map=None, **kwargs):
    """`service(**kwargs, **form.values())` for a bound form: the object made or changed,
    or None when the form or the service refused (its errors are then on the form)."""
    if not form.is_valid():
        return None
    call = partial(service, **kwargs, **form.values())  # `form` may be one of the values
    ok, result = run_or_403(request, call, form=form, field_map=field_map, success=success)
    return result if ok else None


def require_manage(access, office) -> None:
    """403 for a person who sees the office but may not change it."""
    require(access, Capability.MANAGE_PRODUCT, office)
