"""The one way into an organisation for the Manager UI, and the one way a service error
reaches the person.

`organisation_view(capability)` resolves `/o/<org_id>/...` with `access_by_id`, answers 404
to anyone without access (exactly as if the organisation did not exist), sets
`request.organisation` and `request.access`, then answers 403 when the view's capability is
missing. `run_service` calls a service and turns a `PanelError` into form errors or a
message.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from .access import Capability, access_by_id
from .errors import NotFound, PanelError, PermissionDenied

#: session key remembering the organisation last opened, where `/` leads back to
LAST_ORGANISATION_KEY = "panel_organisation"


def organisation_view(capability: Capability = Capability.VIEW_ORGANISATION):
    """Decorate a view `view(request, access, **kwargs)` served under `/o/<org_id>/`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, org_id, *args, **kwargs):
            try:
                access = access_by_id(request.user, org_id)
            except NotFound:
                raise Http404() from None
            request.organisation = access.organisation
            request.access = access
            if request.session.get(LAST_ORGANISATION_KEY) != access.organisation.pk:
                request.session[LAST_ORGANISATION_KEY] = access.organisation.pk
            try:
                access.require(capability)
            except PermissionDenied:
                raise DjangoPermissionDenied() from None
            return view(request, access, *args, **kwargs)

        return login_required(wrapper)

    return decorator


def report_error(request, error: PanelError, form=None, field_map: dict | None = None) -> None:
    """Show a service error: per-field messages under the form's fields, the sentence
    itself at the top of the form, or everything as one message when there is no form."""
    detail = str(error.detail)
    field_messages = [
        ((field_map or {}).get(name, name), message)
        for name, messages_ in error.fields.items()
        for message in messages_
    ]
    generic = detail == str(type(error).default_detail) and bool(field_messages)
    if form is None:
        extra = [message for _name, message in field_messages]
        messages.error(request, " ".join(extra if generic else [detail, *extra]))
        return
    for name, message in field_messages:
        form.add_error(name if name in form.fields else None, message)
    if not generic:
        form.add_error(None, detail)


def run_service(request, service, /, *, form=None, field_map=None, success=None, **kwargs):
    """Call `service(**kwargs)` and return `(ok, result)`.

    A `NotFound` from the service answers 404 like any invisible object; other domain
    errors become form errors (`form`, with `field_map` renaming service fields to form
    fields) or an error message. `success` is a message shown when the call succeeded.
    """
    try:
        result = service(**kwargs)
    except NotFound:
        raise Http404() from None
    except PanelError as error:
        report_error(request, error, form, field_map)
        return False, None
    if success:
        messages.success(request, success)
    return True, result
