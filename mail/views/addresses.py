"""Service Mail pages of addresses: the creation wizard, generic and redirect-only
addresses, one address with its aliases, redirection, responder, password and signature,
and deletion one by one or several at once."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel import selectors as panel_selectors
from panel.access import Capability
from panel.mixins import organisation_view, post_only, run_service
from panel.views.common import confirm_then_run, first_or_404

from .. import services
from ..forms import (
    PERMISSION_LABELS,
    AddressCreateForm,
    AddressSignatureForm,
    AliasForm,
    GenericAddressForm,
    MailboxImportForm,
    PasswordChangeForm,
    RedirectAddressForm,
    RedirectionForm,
    ResponderForm,
)
from ..models import AddressKind
from ..plans import PLANS, plan_of
from ..services import PERMISSIONS
from .common import (
    address_or_404,
    address_rights,
    address_url,
    backup_card,
    need,
    need_right,
    pop_password,
    remember_password,
    service_or_404,
    service_url,
)
from .sending import sending_card

GENERIC_KINDS = {"no-reply": AddressKind.NO_REPLY, "catch-all": AddressKind.CATCH_ALL}


def _managed_service(access, service_id):
    service = service_or_404(access, service_id)
    need(access, Capability.MANAGE_PRODUCT, service)
    return service


def _created(request, access, address, generated):
    remember_password(request, address, generated)
    messages.success(request, _("%(address)s was created.") % {"address": address})
    return redirect(address_url(access, address))


@organisation_view()
def address_create(request, access, service_id):
    service = _managed_service(access, service_id)
    form = AddressCreateForm(
        request.POST or None,
        service=service,
        people=[m.user for m in panel_selectors.membership_list(organisation=access.organisation)],
        signatures=service.signatures.all(),
        may_invite=access.can(Capability.MANAGE_MEMBERS),
    )
    if request.method == "POST" and form.is_valid():
        ok, created = run_service(
            request,
            services.address_create,
            form=form,
            access=access,
            service=service,
            **form.service_arguments(),
        )
        if ok:
            return _created(request, access, *created)
    return render(
        request,
        "mail/address_create.html",
        {
            "service": service,
            "form": form,
            "extra_domains": list(service.extra_domains.all()),
            "used": service.addresses.count(),
        },
    )


@organisation_view()
def generic_address_create(request, access, service_id, kind):
    service = _managed_service(access, service_id)
    address_kind = GENERIC_KINDS[kind]
    form = GenericAddressForm(request.POST or None, initial={"local_part": kind})
    if request.method == "POST" and form.is_valid():
        ok, created = run_service(
            request,
            services.generic_address_create,
            form=form,
            access=access,
            service=service,
            kind=address_kind,
            local_part=form.cleaned_data["local_part"],
            password=form.cleaned_data["password"] or None,
        )
        if ok:
            return _created(request, access, *created)
    return render(
        request,
        "mail/generic_create.html",
        {"service": service, "form": form, "kind": address_kind},
    )


@organisation_view()
def redirect_address_create(request, access, service_id):
    service = _managed_service(access, service_id)
    form = RedirectAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, redirect_address = run_service(
            request,
            services.redirect_address_create,
            form=form,
            access=access,
            service=service,
            local_part=form.cleaned_data["local_part"],
            targets=form.cleaned_data["targets"],
        )
        if ok:
            messages.success(
                request,
                _("%(address)s@%(domain)s now redirects.")
                % {"address": redirect_address.local_part, "domain": service.domain},
            )
            return redirect(service_url(access, service) + "#redirects")
    return render(request, "mail/redirect_create.html", {"service": service, "form": form})


@organisation_view()
def redirect_address_delete(request, access, service_id, redirect_id):
    service = _managed_service(access, service_id)
    target = first_or_404(service.redirect_addresses.filter(pk=redirect_id))
    name = f"{target.local_part}@{service.domain}"
    back = service_url(access, service)
    return confirm_then_run(
        request,
        title=_("Delete a redirect-only address"),
        question=_("Delete %(address)s?") % {"address": name},
        detail=_("Mail sent to it is refused at once."),
        button=_("Delete address"),
        cancel_url=back,
        done_url=back + "#redirects",
        run=lambda: run_service(
            request,
            services.redirect_address_delete,
            access=access,
            redirect=target,
            success=_("%(address)s deleted.") % {"address": name},
        ),
    )


def _address(access, service_id, local_part):
    service = service_or_404(access, service_id)
    return service, address_or_404(access, service, local_part)


def _address_page(request, access, service, address, **forms):
    """The address page; a form that fails re-renders it bound."""
    rights = address_rights(access, address)
    plan = plan_of(service.plan)
    aliases = list(address.aliases.all())
    targets = [target.email for target in address.forward_targets.all()]
    responder = getattr(address, "responder", None)
    links = list(address.address_users.all())
    for link in links:
        link.rights = [
            PERMISSION_LABELS[name] for name in PERMISSIONS if getattr(link, f"may_{name}")
        ]
    pending = list(address.pending_address_users.select_related("invitation"))
    signatures = list(service.signatures.all()) if rights["manage"] else []
    responder_initial = (
        {
            "enabled": responder.enabled,
            "subject": responder.subject,
            "body": responder.body,
            "starts_at": responder.starts_at,
            "ends_at": responder.ends_at,
        }
        if responder
        else {}
    )
    return render(
        request,
        "mail/address_detail.html",
        {
            "service": service,
            "address": address,
            "rights": rights,
            "plan": plan,
            "aliases": aliases,
            "alias_cap_reached": len(aliases) >= plan.aliases_per_address,
            "roomier_plan": max(
                (p for p in PLANS.values() if p.aliases_per_address > plan.aliases_per_address),
                key=lambda p: p.aliases_per_address,
                default=None,
            ),
            "targets": targets,
            "responder": responder,
            "links": links,
            "pending": pending,
            "extra_domains": list(service.extra_domains.all()),
            "new_password": pop_password(request, address),
            "alias_form": forms.get("alias_form") or AliasForm(),
            "redirection_form": forms.get("redirection_form")
            or RedirectionForm(
                initial={"targets": "\n".join(targets), "keep_copy": address.keep_copy}
            ),
            "responder_form": forms.get("responder_form")
            or ResponderForm(initial=responder_initial),
            "password_form": forms.get("password_form") or PasswordChangeForm(),
            "signature_form": forms.get("signature_form")
            or AddressSignatureForm(
                signatures=signatures, initial={"signature": address.signature_id}
            ),
            "has_signatures": bool(signatures),
            "backups": backup_card(access, address),
            "import_form": forms.get("import_form") or MailboxImportForm(),
            "sending": sending_card(address),
        },
    )


@organisation_view()
def address_detail(request, access, service_id, local_part):
    service, address = _address(access, service_id, local_part)
    return _address_page(request, access, service, address)


def _address_form(request, access, service_id, local_part, *, right, form_class, form_name, call):
    """POST of one form of the address page: check the right, call the service, then back
    to the page, or the page again with the form's errors."""
    service, address = _address(access, service_id, local_part)
    need_right(access, address, right)
    form = form_class(request.POST)
    if form.is_valid():
        ok, _result = call(address, form)
        if ok:
            return redirect(address_url(access, address))
    service, address = _address(access, service_id, local_part)  # reload after a failure
    return _address_page(request, access, service, address, **{form_name: form})


@organisation_view()
@post_only
def alias_add(request, access, service_id, local_part):
    return _address_form(
        request,
        access,
        service_id,
        local_part,
        right="manage_aliases",
        form_class=AliasForm,
        form_name="alias_form",
        call=lambda address, form: run_service(
            request,
            services.alias_add,
            form=form,
            access=access,
            address=address,
            local_part=form.cleaned_data["local_part"],
            success=_("Alias added."),
        ),
    )


@organisation_view()
@post_only
def alias_remove(request, access, service_id, local_part, alias_id):
    service, address = _address(access, service_id, local_part)
    need_right(access, address, "manage_aliases")
    alias = next((alias for alias in address.aliases.all() if alias.pk == alias_id), None)
    if alias is None:
        return redirect(address_url(access, address))
    alias.address = address
    run_service(
        request,
        services.alias_remove,
        access=access,
        alias=alias,
        success=_("Alias %(alias)s removed.") % {"alias": alias.local_part},
    )
    return redirect(address_url(access, address))


@organisation_view()
@post_only
def redirection_set(request, access, service_id, local_part):
    return _address_form(
        request,
        access,
        service_id,
        local_part,
        right="manage_redirection",
        form_class=RedirectionForm,
        form_name="redirection_form",
        call=lambda address, form: run_service(
            request,
            services.redirection_set,
            form=form,
            access=access,
            address=address,
            targets=form.cleaned_data["targets"],
            keep_copy=form.cleaned_data["keep_copy"],
            success=_("Redirection saved."),
        ),
    )


@organisation_view()
@post_only
def responder_set(request, access, service_id, local_part):
    return _address_form(
        request,
        access,
        service_id,
        local_part,
        right="manage_redirection",
        form_class=ResponderForm,
        form_name="responder_form",
        call=lambda address, form: run_service(
            request,
            services.responder_set,
            form=form,
            access=access,
            address=address,
            success=_("Automatic reply saved."),
            **form.cleaned_data,
        ),
    )


@organisation_view()
@post_only
def password_set(request, access, service_id, local_part):
    def call(address, form):
        if not form.cleaned_data["password"]:
            form.add_error("password", _("Choose a password."))
            return False, None
        return run_service(
            request,
            services.address_set_password,
            form=form,
            access=access,
            address=address,
            password=form.cleaned_data["password"],
            success=_("Password changed. The old one no longer works."),
        )

    return _address_form(
        request,
        access,
        service_id,
        local_part,
        right="change_password",
        form_class=PasswordChangeForm,
        form_name="password_form",
        call=call,
    )


@organisation_view()
@post_only
def signature_set(request, access, service_id, local_part):
    service, address = _address(access, service_id, local_part)
    need(access, Capability.MANAGE_PRODUCT, service)
    form = AddressSignatureForm(request.POST, signatures=service.signatures.all())
    if form.is_valid():
        ok, _result = run_service(
            request,
            services.address_set_signature,
            form=form,
            access=access,
            address=address,
            signature=form.cleaned_data["signature"],
            success=_("Signature saved."),
        )
        if ok:
            return redirect(address_url(access, address))
    return _address_page(request, access, service, address, signature_form=form)


@organisation_view()
def address_delete(request, access, service_id, local_part):
    service, address = _address(access, service_id, local_part)
    need(access, Capability.MANAGE_PRODUCT, service)
    return confirm_then_run(
        request,
        title=_("Delete an address"),
        question=_("Delete %(address)s?") % {"address": address},
        detail=_(
            "It stops logging in and receiving mail at once, its aliases go with it, and "
            "all the mail it holds is destroyed. Nobody can undo this."
        ),
        button=_("Delete address and its mail"),
        cancel_url=address_url(access, address),
        done_url=service_url(access, service),
        run=lambda: run_service(
            request,
            services.address_delete,
            access=access,
            address=address,
            success=_("%(address)s deleted; its mail storage is being removed.")
            % {"address": address},
        ),
    )


@organisation_view()
def address_delete_many(request, access, service_id):
    """The table's "Delete selected": a confirmation listing the addresses (GET), then
    the deletion (POST)."""
    service = _managed_service(access, service_id)
    back = service_url(access, service)
    source = request.POST if request.method == "POST" else request.GET
    wanted = sorted({lp.strip().lower() for lp in source.getlist("local_parts") if lp.strip()})
    if not wanted:
        messages.info(request, _("Tick the addresses to delete first."))
        return redirect(back)
    if request.method == "POST":
        ok, _job = run_service(
            request,
            services.address_delete_many,
            access=access,
            service=service,
            local_parts=wanted,
            success=ngettext(
                "%(n)d address deleted; its mail storage is being removed.",
                "%(n)d addresses deleted; their mail storage is being removed.",
                len(wanted),
            )
            % {"n": len(wanted)},
        )
        return redirect(back)
    addresses = list(service.addresses.filter(local_part__in=wanted).select_related("service"))
    if not addresses:
        raise Http404()
    return render(
        request,
        "mail/address_delete_many.html",
        {"service": service, "addresses": addresses, "back": back},
    )
