"""Error pages: the API answers every error with its JSON envelope ({code, detail,
fields}), also for an unknown path or a crash, where Django would send an HTML page; the
Manager keeps its HTML pages."""

from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt


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


@csrf_exempt  # an unknown address is a 404 for every method, not a CSRF refusal
def api_not_found(request, exception=None):
    """Any path under /api/ that names nothing: the JSON 404 for every method, also under
    DEBUG. A path missing only its final slash is redirected for GET and HEAD; for other
    methods, whose body a redirect would lose, the 404 names the right address."""
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "api-not-found":
            if request.method in ("GET", "HEAD"):
                query = request.META.get("QUERY_STRING", "")
                return HttpResponsePermanentRedirect(
                    request.path + "/" + (f"?{query}" if query else "")
                )
            return _envelope(
                "not_found",
                _("There is nothing at this address; did you mean %(path)s (with its final slash)?")
                % {"path": request.path + "/"},
                404,
            )
    return _envelope(
        "not_found",
        _("There is nothing at this address. The API is described at %(docs)s.")
        % {"docs": "/api/v1/docs/"},
        404,
    )
