"""Error pages: the API answers every error with its JSON envelope ({code, detail,
fields}), also for an unknown path or a crash, where Django would send an HTML page; the
Manager keeps its HTML pages."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _envelope(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, "fields": {}}, status=status)


def bad_request(request, exception=None):
    if _is_api(request):
        return _envelope("bad_request", _("The request could not be understood."), 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return _envelope("permission_denied", _("You may not do this."), 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if _is_api(request):
        return _envelope("not_found", _("There is nothing at this address."), 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return _envelope(
            "server_error", _("Something went wrong on our side; it has been logged."), 500
        )
    return defaults.server_error(request)
