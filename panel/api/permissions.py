"""API permission classes. Organisation capabilities are checked in `base.py`
through panel.access; here only the token scopes."""

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from panel.models import ApiToken
from panel.models import TokenScope as Scope


class TokenScope(permissions.BasePermission):
    """A token needs `write` for any write, and `read` or `write` to read."""

    message = _("This token does not have the scope this request needs.")
    code = "insufficient_scope"

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        if request.method in permissions.SAFE_METHODS:
            return token.allows(Scope.READ) or token.allows(Scope.WRITE)
        return token.allows(Scope.WRITE)
