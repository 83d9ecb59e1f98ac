"""Service Mail pages: the list with the order form, one service with its address table
and settings, and the service's settings forms."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from domains.models import Domain
from panel.access import Capability
from panel.mixins import organisation_view, post_only, run_service
from panel.views.common import PAGE_SIZE, confirm_then_run, first_or_404

from .. import dns_records, selectors, services
from ..forms import (
    DefaultsForm,
    DeleteServiceForm,
    DomainForm,
    PlanForm,
    QuotaForm,
    ServiceOrderForm,
    SignatureForm,
    plan_summary,
)
from ..plans import PLANS, plan_of
from ..services.rules import percent_used
from .common import need, service_or_404, service_url
from .sending import near_limit_card

#: Sortable columns of the address table: (public key, label source)
SORTABLE = ("local_part", "kind", "created_at")


@organisation_view()
def service_list(request, access):
    may_order = access.can(Capability.CHANGE_ORGANISATION)
    form = ServiceOrderForm(request.POST or None)
    if request.method == "POST":
        need(access, Capability.CHANGE_ORGANISATION)
        if form.is_valid():
            ok, service = run_service(
                request,
                services.service_order,
                form=form,
                access=access,
                domain=form.cleaned_data["domain"],
                plan=form.cleaned_data["plan"],
                address_quota=form.cleaned_data["address_quota"],
                success=_("Service Mail ordered. Create its first address now."),
            )
            if ok:
                return redirect(service_url(access, service))
    service_rows = list(selectors.service_list(access=access))
    waiting = selectors.waiting_for_verification(service_rows)
    for service in service_rows:  # seen only through an address linked to the person
        service.via_link = not access.can(Capability.VIEW_PRODUCT, service)
    used = selectors.address_counts(service_rows)
    for service in service_rows:
        service.used = used.get(service.pk, 0)
        service.plan_label = plan_of(service.plan).label
        service.waiting = service.pk in waiting
    return render(
        request,
        "mail/service_list.html",
        {
            "services": service_rows,
            "form": form,
            "may_order": may_order,
            "plans": [(plan, plan_summary(plan)) for plan in PLANS.values()],
        },
    )


def _sort_links(request, current):
    """Each sortable column's link: ascending first, descending when already ascending."""
    links = {}
    for key in SORTABLE:
        wanted = f"-{key}" if current == key else key
        query = request.GET.copy()
        query["sort"] = wanted
        query.pop("page", None)
        links[key] = {
            "url": "?" + query.urlencode(),
            "direction": "asc" if current == key else "desc" if current == f"-{key}" else "",
        }
    return links


def _address_page(request, access, service):
    search = (request.GET.get("q") or "").strip()
    ordering = request.GET.get("sort") or "local_part"
    if ordering not in selectors.ADDRESS_ORDERINGS:
        ordering = "local_part"
    addresses = selectors.address_list(
        service=service, search=search, access=access, ordering=ordering
    ).prefetch_related("pending_address_users__invitation")
    page = Paginator(addresses, PAGE_SIZE).get_page(request.GET.get("page"))
    for address in page:
        responder = getattr(address, "responder", None)
        address.responder_on = bool(responder and responder.enabled)
    return page, search, ordering


def _service_page(request, access, service, **forms):
    """The service page; a settings form that fails re-renders it bound."""
    plan = plan_of(service.plan)
    can_manage = access.can(Capability.MANAGE_PRODUCT, service)
    sees_all = selectors.sees_all_addresses(access, service)
    page, search, ordering = _address_page(request, access, service)
    used = service.addresses.count()
    quota = service.address_quota
    context = {
        "service": service,
        "plan": plan,
        "plan_summary": plan_summary(plan),
        "used": used,
        "percent": percent_used(used, quota),
        "page": page,
        "search": search,
        "ordering": ordering,
        "sort_links": _sort_links(request, ordering),
        "sees_all": sees_all,
        "can_manage": can_manage,
        "can_delete": access.may_change_billing(service),
        "can_bill": access.may_change_billing(service),
        "extra_domains": list(service.extra_domains.all()),
        "waiting_domains": [
            v
            for v in selectors.domain_verifications([service])[service.pk]
            if v["status"] != "verified"
        ],
        "redirects": list(selectors.redirect_address_list(service=service)) if sees_all else [],
        "signatures": list(service.signatures.all()) if sees_all else [],
        "quota_open": plan.max_addresses is None,
        "near_limit": near_limit_card(service) if sees_all and used else [],
    }
    context.update(_dns_context(request, access, service) if sees_all else {})
    if can_manage:  # the plan and quota forms are shown to can_bill only
        context.update(
            domain_form=forms.get("domain_form") or DomainForm(),
            plan_form=forms.get("plan_form") or PlanForm(initial={"plan": service.plan}),
            quota_form=forms.get("quota_form")
            or QuotaForm(initial={"address_quota": service.address_quota + 1}),
            defaults_form=forms.get("defaults_form") or DefaultsForm(service=service),
            signature_form=forms.get("signature_form") or SignatureForm(),
        )
    return render(request, "mail/service_detail.html", context)


def _dns_context(request, access, service) -> dict:
    """The DNS card: the service's domain when this organisation holds it in Domains, and
    its mail DNS checks when asked for (`?check=dns`: a resolver may take seconds)."""
    domain = Domain.objects.filter(organisation=access.organisation, name=service.domain).first()
    if domain is None:
        return {"dns_domain": None, "dns_domain_hidden": False}
    if not access.can(Capability.VIEW_PRODUCT, domain):  # one of ours, not shared with them
        return {"dns_domain": None, "dns_domain_hidden": True}
    checks = pending = None
    if request.GET.get("check") == "dns":
        if request.GET.get("wait"):  # without JavaScript: every answer before the page
            _ok, checks = run_service(
                request, dns_records.mail_checks, access=access, domain=domain
            )
        else:  # the rows at once, each answer fetched (domains:mail-check)
            _ok, pending = run_service(
                request, dns_records.mail_expected, access=access, domain=domain
            )
    return {
        "dns_domain": domain,
        "dns_checks": checks,
        "dns_pending_checks": pending,
        "can_fix_dns": access.can(Capability.MANAGE_PRODUCT, domain) and not domain.is_synonym,
    }


@organisation_view()
def service_detail(request, access, service_id):
    return _service_page(request, access, service_or_404(access, service_id))


def _manage(request, access, service_id):
    service = service_or_404(access, service_id)
    need(access, Capability.MANAGE_PRODUCT, service)
    return service


def _settings_form(request, access, service_id, *, form_class, form_name, call, form_kwargs=None):
    """POST of one settings form of the service page: call the service, then back to the
    page, or the page again with the form's errors."""
    service = _manage(request, access, service_id)
    form = form_class(request.POST, **(form_kwargs(service) if form_kwargs else {}))
    if form.is_valid():
        ok, _result = call(service, form)
        if ok:
            return redirect(service_url(access, service))
    service.refresh_from_db()
    return _service_page(request, access, service, **{form_name: form})


@organisation_view()
@post_only
def extra_domain_add(request, access, service_id):
    return _settings_form(
        request,
        access,
        service_id,
        form_class=DomainForm,
        form_name="domain_form",
        call=lambda service, form: run_service(
            request,
            services.extra_domain_add,
            form=form,
            access=access,
            service=service,
            domain=form.cleaned_data["domain"],
            success=_("Extra domain added: addresses also receive mail there now."),
        ),
    )


@organisation_view()
@post_only
def service_verify(request, access, service_id):
    """ "Check now" on the verification card: look for the TXT records at once."""
    service = _manage(request, access, service_id)
    ok, verified = run_service(
        request, services.service_domains_verify, access=access, service=service
    )
    if ok and verified:
        messages.success(
            request,
            _("Verified: %(domains)s now receives mail.") % {"domains": ", ".join(verified)},
        )
    elif ok:
        messages.warning(
            request, _("The record is not visible yet; see what the check found below.")
        )
    return redirect(service_url(access, service) + "#verification")


@organisation_view()
def extra_domain_remove(request, access, service_id, extra_id):
    service = _manage(request, access, service_id)
    extra = first_or_404(service.extra_domains.filter(pk=extra_id))
    back = service_url(access, service)
    return confirm_then_run(
        request,
        title=_("Remove an extra domain"),
        question=_("Remove %(domain)s from %(service)s?")
        % {"domain": extra.domain, "service": service.domain},
        detail=_("Mail sent to addresses at %(domain)s is refused at once.")
        % {"domain": extra.domain},
        button=_("Remove domain"),
        cancel_url=back,
        done_url=back,
        run=lambda: run_service(
            request,
            services.extra_domain_remove,
            access=access,
            service=service,
            domain=extra.domain,
            success=_("%(domain)s removed.") % {"domain": extra.domain},
        ),
    )


@organisation_view()
@post_only
def service_plan(request, access, service_id):
    return _settings_form(
        request,
        access,
        service_id,
        form_class=PlanForm,
        form_name="plan_form",
        call=lambda service, form: run_service(
            request,
            services.service_change_plan,
            form=form,
            access=access,
            service=service,
            plan=form.cleaned_data["plan"],
            success=_("Plan changed."),
        ),
    )


@organisation_view()
@post_only
def service_quota(request, access, service_id):
    return _settings_form(
        request,
        access,
        service_id,
        form_class=QuotaForm,
        form_name="quota_form",
        call=lambda service, form: run_service(
            request,
            services.service_raise_quota,
            form=form,
            access=access,
            service=service,
            address_quota=form.cleaned_data["address_quota"],
            success=_("Address quota raised."),
        ),
    )


@organisation_view()
@post_only
def service_defaults(request, access, service_id):
    return _settings_form(
        request,
        access,
        service_id,
        form_class=DefaultsForm,
        form_name="defaults_form",
        form_kwargs=lambda service: {"service": service},
        call=lambda service, form: run_service(
            request,
            services.service_update_defaults,
            form=form,
            access=access,
            service=service,
            success=_("Default permissions saved."),
            **form.permissions(),
        ),
    )


@organisation_view()
@post_only
def signature_create(request, access, service_id):
    return _settings_form(
        request,
        access,
        service_id,
        form_class=SignatureForm,
        form_name="signature_form",
        call=lambda service, form: run_service(
            request,
            services.signature_create,
            form=form,
            access=access,
            service=service,
            name=form.cleaned_data["name"],
            body=form.cleaned_data["body"],
            success=_("Signature added."),
        ),
    )


@organisation_view()
def signature_delete(request, access, service_id, signature_id):
    service = _manage(request, access, service_id)
    signature = first_or_404(service.signatures.filter(pk=signature_id))
    back = service_url(access, service)
    return confirm_then_run(
        request,
        title=_("Delete a signature"),
        question=_("Delete the signature %(name)s?") % {"name": signature.name},
        detail=_("The addresses using it are left without a signature."),
        button=_("Delete signature"),
        cancel_url=back,
        done_url=back,
        run=lambda: run_service(
            request,
            services.signature_delete,
            access=access,
            signature=signature,
            success=_("Signature deleted."),
        ),
    )


@organisation_view()
def service_delete(request, access, service_id):
    service = _manage(request, access, service_id)
    need(access, Capability.CHANGE_ORGANISATION)
    form = DeleteServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _job = run_service(
            request,
            services.service_delete,
            form=form,
            access=access,
            service=service,
            confirm_name=form.cleaned_data["confirm_name"],
        )
        if ok:
            messages.success(
                request,
                _("The Service Mail %(domain)s was deleted; its mail storage is being removed.")
                % {"domain": service.domain},
            )
            return redirect(reverse("mail:service-list", args=[access.organisation.pk]))
    return render(
        request,
        "mail/service_delete.html",
        {"service": service, "form": form, "used": service.addresses.count()},
    )
