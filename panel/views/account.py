"""Manager UI: my account."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import selectors, services
from ..access import organisations_of
from ..forms import (
    TokenForm,
)
from ..mixins import run_service
from .common import NEW_TOKEN_KEY, confirm_then_run, first_or_404


@login_required
def account(request):
    from allauth.mfa.utils import is_mfa_enabled

    return render(
        request,
        "panel/account/index.html",
        {
            "mfa_enabled": is_mfa_enabled(request.user),
            "token_count": selectors.token_list(user=request.user).count(),
            "organisation_count": organisations_of(request.user).count(),
        },
    )


@login_required
def token_list(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, created = run_service(
            request,
            services.token_create,
            form=form,
            field_map={"expires_at": "expires_on"},
            actor=request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.expires_at(),
        )
        if ok:
            token, secret = created
            # Shown once, on the next page, then forgotten.
            request.session[NEW_TOKEN_KEY] = {"id": token.pk, "secret": secret}
            return redirect("panel:token-list")
    new_token = request.session.pop(NEW_TOKEN_KEY, None)
    return render(
        request,
        "panel/account/tokens.html",
        {
            "tokens": selectors.token_list(user=request.user),
            "form": form,
            "new_token": new_token,
        },
    )


@login_required
def token_revoke(request, token_id):
    token = first_or_404(selectors.token_list(user=request.user).filter(pk=token_id))
    tokens_url = reverse("panel:token-list")
    return confirm_then_run(
        request,
        title=_("Revoke a token"),
        question=_("Revoke the token %(name)s?") % {"name": token.name},
        detail=_("Scripts using it stop working at once. This cannot be undone."),
        button=_("Revoke token"),
        cancel_url=tokens_url,
        done_url=tokens_url,
        run=lambda: run_service(
            request,
            services.token_revoke,
            actor=request.user,
            token_id=token.pk,
            success=_("Token revoked."),
        ),
    )
