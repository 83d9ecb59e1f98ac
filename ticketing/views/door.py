"""The scanner for a door device: a phone opened by a device link, without an account.

`/door/<key>/` finds the device by its key (services.checkin.device_for_key), keeps the
device's id in the session and redirects to `/door/`, so that the key leaves the address
bar and the history. Every request under `/door/` then looks the device up again
(`device_for_id`): a revoked device gets a 403 at once, a session without a device a 404,
and a list that is not one of the device's (another event's above all) a 404. The scanner
page and its endpoints are those of views/checkin.py, fed the device's URLs; the scans
record the device's name, whatever the page sends. The session gives nothing in the
Manager or its API: it holds no user."""

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from panel.errors import NotFound, PermissionDenied

from ..services import checkin as services_checkin
from .checkin import offline_response, render_scanner, scan_response, search_response
from .checkin import upload_response as offline_upload_response

SESSION_KEY = "ticketing.door_device"


class Refused(Exception):
    def __init__(self, response):
        self.response = response


def _device(request, *, json: bool):
    """The session's device, still valid; raises Refused with the answer otherwise."""
    try:
        return services_checkin.device_for_id(request.session.get(SESSION_KEY))
    except PermissionDenied as error:
        if json:
            body = {"code": "device_revoked", "detail": str(error.detail), "fields": {}}
            raise Refused(JsonResponse(body, status=403)) from None
        raise Refused(render(request, "ticketing/door_revoked.html", status=403)) from None
    except NotFound:
        if json:
            body = {"code": "not_found", "detail": _("Not found."), "fields": {}}
            raise Refused(JsonResponse(body, status=404)) from None
        raise Http404() from None


def door_view(*, json: bool):
    """Runs the view with the session's device (and its list, for `checkin_list_id`)."""

    def decorate(view):
        def wrapped(request, **kwargs):
            try:
                device = _device(request, json=json)
            except Refused as refused:
                return refused.response
            if "checkin_list_id" in kwargs:
                try:
                    checkin_list = services_checkin.device_list(
                        device, kwargs.pop("checkin_list_id")
                    )
                except NotFound:
                    if json:
                        body = {"code": "not_found", "detail": _("Not found."), "fields": {}}
                        return JsonResponse(body, status=404)
                    raise Http404() from None
                kwargs["checkin_list"] = checkin_list
            return view(request, device, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return never_cache(wrapped)

    return decorate


@never_cache
@require_GET
def door_open(request, key):
    """The device link: keeps the device in the session and drops the key from the
    address."""
    try:
        device = services_checkin.device_for_key(key)
    except NotFound:
        raise Http404() from None
    request.session.cycle_key()
    request.session[SESSION_KEY] = device.pk
    return redirect("door:home")


@require_GET
@door_view(json=False)
def door_home(request, device):
    """The device's lists: its scanner straight away when it has one."""
    lists = list(services_checkin.device_lists(device))
    if len(lists) == 1:
        return redirect("door:scanner", lists[0].pk)
    return render(
        request,
        "ticketing/door_home.html",
        {"device": device, "event": device.event, "lists": lists},
    )


@require_GET
@door_view(json=False)
def door_scanner(request, device, checkin_list):
    urls = {
        name: reverse(f"door:{name}", args=[checkin_list.pk])
        for name in ("scan", "search", "offline", "upload")
    }
    return render_scanner(
        request, checkin_list, urls=urls, back_url=reverse("door:home"), device=device
    )


@require_POST
@door_view(json=True)
def door_scan(request, device, checkin_list):
    return scan_response(request, checkin_list, device_name=device.name)


@require_GET
@door_view(json=True)
def door_search(request, device, checkin_list):
    return search_response(request, checkin_list)


@require_GET
@door_view(json=True)
def door_offline(request, device, checkin_list):
    return offline_response(checkin_list)


@require_POST
@door_view(json=True)
def door_upload(request, device, checkin_list):
    return offline_upload_response(request, checkin_list, device_name=device.name)
