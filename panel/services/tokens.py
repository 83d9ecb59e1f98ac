"""Services: api tokens."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import InvalidInput, NotFound, PermissionDenied, Problems
from ..models import (
    ApiToken,
    TokenScope,
    User,
)
from ..tokens import hash_token
from .common import clean_name


def check_token_expiry(expires_at) -> None:
    """A token's expiry lies in the future (InvalidInput on `expires_at`)."""
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(fields={"expires_at": [_("The expiry must be in the future.")]})


@transaction.atomic
def token_create(
    *, actor: User, name: str, scopes, expires_at=None, using_token: ApiToken | None = None
) -> tuple[ApiToken, str]:
    """Create a personal access token. The secret is returned once and stored hashed.

    A token created with a token (`using_token`) gets no more than it: no other scope and
    no later expiry, so a short-lived token cannot mint a lasting one.
    """
    problems = Problems()  # every problem at once
    name = problems.check(clean_name, name, max_length=100)
    scopes = list(dict.fromkeys(scopes or []))
    if not scopes or any(scope not in TokenScope.values for scope in scopes):
        problems.add("scopes", _("Choose among: read, write."))
    problems.check(check_token_expiry, expires_at)
    problems.raise_if_any()
    if using_token is not None:
        if not set(scopes) <= set(using_token.scopes):
            raise PermissionDenied(
                _("A token can only create tokens with its own scopes."), code="scope_escalation"
            )
        if using_token.expires_at is not None:
            if expires_at is None or expires_at > using_token.expires_at:
                expires_at = using_token.expires_at
    secret = ApiToken.generate_secret()
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        scopes=scopes,
        expires_at=expires_at,
        token_hash=hash_token(secret),
        hint=secret[: len(ApiToken.PREFIX) + 4],
    )
    return token, secret


def token_revoke(*, actor: User, token_id) -> None:
    deleted, _count = ApiToken.objects.filter(user=actor, pk=token_id).delete()
    if not deleted:
        raise NotFound()
