"""The one way into an organisation for the Manager UI, and the one way a service error
reaches the person.

`organisation_view(capability)` (function views) and `OrganisationMixin` (class-based views)
resolve `/o/<org_id>/...` with `access_by_id`, answer 404 to anyone without access (exactly
as if the organisation did not exist), set `request.organisation` and `request.access`, then
answer 403 when the view's capability is missing. `require` does the same for one product.
`run_service` calls a service and turns a `PanelError` into form errors or a message.
"""

from functools import partial, wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from .access import Access, Capability, access_by_id
from .errors import NotFound, PanelError, PermissionDenied

#: session key remembering the organisation last opened, where `/` leads back to
LAST_ORGANISATION_KEY = "panel_organisation"


def enter_organisation(request, org_id, capability: Capability) -> Access:
    """Resolve the organisation of the URL for the signed-in person: 404 without access,
    403 without `capability`. Sets `request.organisation` and `request.access`."""
    try:
        access = access_by_id(request.user, org_id)
    except NotFound:
        raise Http404() from None
    request.organisation = access.organisation
    request.access = access
    if request.session.get(LAST_ORGANISATION_KEY) != access.organisation.pk:
        request.session[LAST_ORGANISATION_KEY] = access.organisation.pk
    require(access, capability)
    return access


def require(access: Access, capability: Capability, product=None) -> None:
    """`access.require` for views: a product the person may not see is 404, a missing
    capability is 403."""
    try:
        access.require(capability, product)
    except NotFound:
        raise Http404() from None
    except PermissionDenied:
        raise DjangoPermissionDenied() from None


def organisation_view(capability: Capability = Capability.VIEW_ORGANISATION):
    """Decorate a function view `view(request, access, **kwargs)` under `/o/<org_id>/`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, org_id, *args, **kwargs):
            access = enter_organisation(request, org_id, capability)
            return view(request, access, *args, **kwargs)

        return login_required(wrapper)

    return decorator


class OrganisationMixin(LoginRequiredMixin):
    """The same way in for class-based views: sets `self.access` and `self.organisation`."""

    capability: Capability = Capability.VIEW_ORGANISATION

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.access = enter_organisation(request, kwargs["org_id"], self.capability)
        self.organisation = self.access.organisation
        return super().dispatch(request, *args, **kwargs)


def report_error(request, error: PanelError, form=None, field_map: dict | None = None) -> None:
    """Show a service error: its per-field messages under the form's fields (else its
    sentence at the top of the form), or everything as one message when there is no form."""
    detail = str(error.detail)
    field_messages = [
        ((field_map or {}).get(name, name), message)
        for name, messages_ in error.fields.items()
        for message in messages_
    ]
    if form is None:
        generic = detail == str(type(error).default_detail) and bool(field_messages)
        extra = [message for _name, message in field_messages]
        messages.error(request, " ".join(extra if generic else [detail, *extra]))
        return
    for name, message in field_messages:
        form.add_error(name if name in form.fields else None, message)
    if not field_messages:
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


def found_or_404(lookup, /, *args, **kwargs):
    """`lookup(*args, **kwargs)`, with what the person may not see (NotFound) a 404."""
    try:
        return lookup(*args, **kwargs)
    except NotFound:
        raise Http404() from None


def run_or_403(request, service, /, **kwargs):
    """`run_service`, where the service's refusal for a missing capability is a 403."""

    def call(**arguments):
        try:
            return service(**arguments)
        except PermissionDenied:
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


def post_only(view):
    """A form's target, which only acts on POST, reached by GET: after a form error the
    address bar keeps its URL, and reloading or sharing it must not show a blank 405.
    GET (and HEAD) go to the page the form belongs to: the nearest URL above this one
    that is a page, not another form target. Use instead of require_POST on UI views."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method in ("GET", "HEAD"):
            page = page_above(request.path)
            if page is not None:
                return redirect(page)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request, *args, **kwargs)

    wrapped.post_only = True
    return wrapped


def page_above(path: str) -> str | None:
    """The nearest path above `path` (one segment less at a time) that resolves to a
    view other than a post_only one; None if there is none."""
    segments = path.rstrip("/").split("/")
    while len(segments) > 1:
        segments.pop()
        candidate = "/".join(segments) + "/"
        try:
            match = resolve(candidate)
        except Resolver404:
            continue
        if not getattr(match.func, "post_only", False):
            return candidate
    return None
