"""One exception handler: every error answers {"code", "detail", "fields"}, with
`errors` when the error lists several problems (a CSV file's, by line and column) and a
Retry-After header when it says how long to wait."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from panel.errors import PanelError

CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def _flatten(detail):
    if isinstance(detail, dict):
        return {key: _messages(value) for key, value in detail.items()}
    return {}


def messages_of(value) -> list[str]:
    """A serializer's errors for one field, as the flat list of sentences the envelope
    shows."""
    return _messages(value)


def _messages(value):
    if isinstance(value, list):
        out = []
        for item in value:
            out.extend(_messages(item) if isinstance(item, list | dict) else [str(item)])
        return out
    if isinstance(value, dict):
        return [f"{k}: {', '.join(_messages(v))}" for k, v in value.items()]
    return [str(value)]


def safe_text(value):
    """Messages may repeat what a client sent: keep them encodable whatever it was (a lone
    surrogate becomes its escape), so writing the answer cannot fail."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {safe_text(key): safe_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [safe_text(item) for item in value]
    return value


def exception_handler(exc, context):
    response = _handle(exc, context)
    if response is not None:
        response.data = safe_text(response.data)
    return response


def _handle(exc, context):
    if isinstance(exc, RequestDataTooBig):
        body = {
            "code": CODES[413],
            "detail": _("The request body is larger than this API accepts."),
            "fields": {},
        }
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, PanelError):
        body = {"code": exc.code, "detail": str(exc.detail), "fields": exc.fields}
        body.update(getattr(exc, "extra", None) or {})  # what is left of a sold-out tariff
        if getattr(exc, "errors", None) is not None:  # a file's problems, line by line
            body["errors"] = [e.as_dict() if hasattr(e, "as_dict") else e for e in exc.errors]
        response = Response(body, status=exc.status)
        if getattr(exc, "retry_after", None) is not None:
            response["Retry-After"] = str(max(int(exc.retry_after), 1))
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(exc.detail, dict):
            fields = {"non_field_errors": _messages(exc.detail)}
        body = {"code": "invalid", "detail": "Some fields are not valid.", "fields": fields}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None)
        if not code or code in {"error", "invalid"} or response.status_code in (401, 404, 429):
            code = CODES.get(response.status_code, "error")
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            code = (
                "not_authenticated"
                if isinstance(exc, exceptions.NotAuthenticated)
                else ("authentication_failed")
            )
        body = {"code": str(code), "detail": str(detail), "fields": {}}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" not in response:
        response["Retry-After"] = str(int(getattr(exc, "wait", 1) or 1))
    response.data = body
    return response
