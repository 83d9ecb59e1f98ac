"""Domains pages: the list with the add form, one domain with its records, zone file,
synonyms and mail card, and the deletion after typing the name.

Every write calls domains.services / zonefiles, or the mail records' hook (domains.hooks);
their errors come back under the field at fault (a record's `records.<n>` under the content
box, with its line)."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from panel.access import Capability
from panel.errors import Conflict, NotFound, PanelError
from panel.mixins import organisation_view, post_only, report_error, require, run_service
from panel.views.common import confirm_then_run, next_url

from . import selectors, services, zonefiles
from .forms import (
    KIND_HELP,
    DeleteDomainForm,
    DomainAddForm,
    MailUseForm,
    RecordForm,
    RRsetEditForm,
    SynonymForm,
    ZoneImportForm,
)
from .hooks import mail_records
from .models import Domain


def domain_or_404(access, name) -> Domain:
    try:
        return selectors.domain_for(access=access, name=name)
    except NotFound:
        raise Http404() from None


def domain_url(access, domain, anchor="") -> str:
    url = reverse("domains:domain-detail", args=[access.organisation.pk, domain.name])
    return f"{url}#{anchor}" if anchor else url


def relative(name: str, zone: str) -> str:
    """A record name as typed in the panel: "@" for the apex, else the part before it."""
    if name == zone:
        return "@"
    if name.endswith("." + zone):
        return name[: -len(zone) - 1]
    return name + "."


# -- list -----------------------------------------------------------------------------------


@organisation_view()
def domain_list(request, access):
    may_add = access.can(Capability.CHANGE_ORGANISATION)
    form = DomainAddForm(request.POST or None)
    if request.method == "POST":
        require(access, Capability.CHANGE_ORGANISATION)
        if form.is_valid():
            ok, domain = run_service(
                request,
                services.domain_add,
                form=form,
                access=access,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                success=_("Domain added: its zone is served by our name servers now."),
            )
            if ok:
                return redirect(domain_url(access, domain))
    return render(
        request,
        "domains/domain_list.html",
        {
            "domains": list(selectors.domain_list(access=access)),
            "form": form,
            "may_add": may_add,
            "kind_help": KIND_HELP,
        },
    )


# -- one domain ------------------------------------------------------------------------------


def _rows(domain, rrsets):
    """The records table: one row per rrset, the apex first, then by name; the name is
    shown on the first row of its name."""
    rows, previous = [], None
    apex_first = sorted(
        rrsets, key=lambda r: (r.name != domain.name, relative(r.name, domain.name), r.type)
    )
    for rrset in apex_first:
        rows.append(
            {
                "name": rrset.name,
                "relative": relative(rrset.name, domain.name),
                "type": rrset.type,
                "ttl": rrset.ttl,
                "records": list(rrset.records),
                "content": "\n".join(rrset.records),
                "first_of_name": rrset.name != previous,
                "key": f"{rrset.name} {rrset.type}",
            }
        )
        previous = rrset.name
    return rows


def _domain_page(request, access, domain, *, status=200, **forms):
    """The domain page; a form that fails re-renders it bound, with its errors."""
    can_manage = access.can(Capability.MANAGE_PRODUCT, domain)
    visible = list(selectors.domain_list(access=access))
    synonyms = [d for d in visible if d.synonym_of_id == domain.pk]
    context = {
        "domain": domain,
        "rows": _rows(domain, selectors.rrset_list(domain=domain)),
        "synonyms": synonyms,
        "can_manage": can_manage,
        "can_delete": can_manage and access.can(Capability.CHANGE_ORGANISATION),
        "checks": forms.get("checks"),
        "pending_checks": forms.get("pending_checks"),
        "check_query": "check=mail",
    }
    if can_manage and not domain.is_synonym:
        candidates = [d for d in visible if d.pk != domain.pk and d.synonym_of_id != domain.pk]
        mail = mail_records()
        mail_services = list(mail.services(access=access)) if mail else []
        edit_form = forms.get("edit_form")
        context.update(
            record_form=forms.get("record_form") or RecordForm(),
            edit_form=edit_form,
            edit_key=f"{edit_form.data.get('name')} {edit_form.data.get('type')}"
            if edit_form
            else None,
            import_form=forms.get("import_form") or ZoneImportForm(),
            synonym_form=forms.get("synonym_form") or SynonymForm(candidates=candidates),
            synonym_candidates=candidates,
            mail_form=forms.get("mail_form")
            or MailUseForm(
                services=mail_services,
                initial={
                    "service": next((s.pk for s in mail_services if s.domain == domain.name), None)
                },
            ),
            mail_services=mail_services,
        )
    return render(request, "domains/domain_detail.html", context, status=status)


@organisation_view()
@require_GET
def domain_detail(request, access, name):
    domain = domain_or_404(access, name)
    checks = pending = None
    mail = mail_records()
    if mail and request.GET.get("check") == "mail" and not domain.is_synonym:
        if request.GET.get("wait"):  # without JavaScript: every answer before the page
            _ok, checks = run_service(request, mail.checks, access=access, domain=domain)
        else:  # the rows at once, each answer fetched by mail_checks.js (mail_check)
            _ok, pending = run_service(request, mail.expected, access=access, domain=domain)
    return _domain_page(request, access, domain, checks=checks, pending_checks=pending)


@organisation_view()
@require_GET
def mail_check(request, access, name, check):
    """One record of the mail DNS diagnostic, as the table row that replaces its pending
    row: the page asks each record on its own so that it fills in as answers come."""
    domain = domain_or_404(access, name)
    mail = mail_records()
    if mail is None or domain.is_synonym:
        raise Http404
    checks = mail.checks(access=access, domain=domain, only=[check])
    if not checks:
        raise Http404
    return render(request, "domains/mail_check_row.html", {"check": checks[0], "domain": domain})


def _manage(access, name) -> Domain:
    domain = domain_or_404(access, name)
    require(access, Capability.MANAGE_PRODUCT, domain)
    return domain


class _RecordsToContent(dict):
    """field_map for rrsets_apply: every `records` error goes under the content box."""

    def get(self, key, default=None):
        return "content" if key.split(".")[0] == "records" else key


def _apply(request, access, domain, form, change, *, success, service=None):
    """A record service for one change (rrsets_apply by default); errors under the form's
    fields, a record's error with its line in the content box when there are several."""
    try:
        if service is None:
            services.rrsets_apply(access=access, domain=domain, changes=[change])
        else:
            service(access=access, domain=domain, change=change)
    except NotFound:
        raise Http404() from None
    except PanelError as error:
        lines = len(change["records"])
        fields = {}
        for key, errors in error.fields.items():
            head, _dot, index = key.partition(".")
            if head == "records" and index.isdigit() and lines > 1:
                line = int(index) + 1
                errors = [
                    _("Line %(line)d: %(reason)s") % {"line": line, "reason": e} for e in errors
                ]
            fields[key] = errors
        error.fields = fields
        report_error(request, error, form, _RecordsToContent(records="content"))
        return False
    messages.success(request, success)
    return True


@organisation_view()
@post_only
def record_add(request, access, name):
    domain = _manage(access, name)
    form = RecordForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        new = form.records()
        change = {
            "name": data["name"] or "@",
            "type": data["type"],
            "ttl": data["ttl"],
            "records": new,
        }
        if not new:
            form.add_error("content", _("Enter the record's content."))
        elif _apply(
            request,
            access,
            domain,
            form,
            change,
            success=_("Record added."),
            service=services.records_add,
        ):
            return redirect(domain_url(access, domain, "records"))
    return _domain_page(request, access, domain, record_form=form, status=400)


@organisation_view()
@post_only
def rrset_edit(request, access, name):
    domain = _manage(access, name)
    form = RRsetEditForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        records = form.records()
        if not records:
            form.add_error("content", _("Enter at least one record, or delete the rrset."))
        elif _apply(
            request,
            access,
            domain,
            form,
            {"name": data["name"] + ".", "type": data["type"], "ttl": data["ttl"],
             "records": records},
            success=_("Records saved."),
        ):  # fmt: skip
            return redirect(domain_url(access, domain, "records"))
    return _domain_page(request, access, domain, edit_form=form, status=400)


@organisation_view()
def rrset_delete(request, access, name):
    domain = _manage(access, name)
    rname = request.POST.get("name") or request.GET.get("name") or ""
    rtype = request.POST.get("type") or request.GET.get("type") or ""
    rrset = next(
        (r for r in selectors.rrset_list(domain=domain) if r.name == rname and r.type == rtype),
        None,
    )
    if rrset is None:
        raise Http404()
    back = domain_url(access, domain, "records")
    return confirm_then_run(
        request,
        title=_("Delete records"),
        question=_("Delete the %(type)s records of %(name)s?") % {"type": rtype, "name": rname},
        detail=", ".join(rrset.records),
        button=_("Delete records"),
        cancel_url=back,
        done_url=back,
        run=lambda: run_service(
            request,
            services.rrsets_apply,
            access=access,
            domain=domain,
            changes=[{"name": rname + ".", "type": rtype, "ttl": rrset.ttl, "records": []}],
            success=_("Records deleted."),
        ),
    )


# -- zone file -------------------------------------------------------------------------------


@organisation_view()
@require_GET
def zone_export(request, access, name):
    domain = domain_or_404(access, name)
    ok, text = run_service(request, zonefiles.zone_export, access=access, domain=domain)
    if not ok:
        return redirect(domain_url(access, domain))
    response = HttpResponse(text, content_type="text/dns; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{domain.name}.zone"'
    return response


@organisation_view()
@post_only
def zone_import(request, access, name):
    domain = _manage(access, name)
    form = ZoneImportForm(request.POST, request.FILES)
    if form.is_valid():
        ok, _rrsets = run_service(
            request,
            zonefiles.zone_import,
            form=form,
            access=access,
            domain=domain,
            text=form.cleaned_data["text"],
            success=_("Zone imported: it replaced every record of the domain."),
        )
        if ok:
            return redirect(domain_url(access, domain, "records"))
    return _domain_page(request, access, domain, import_form=form, status=400)


# -- synonyms --------------------------------------------------------------------------------


@organisation_view()
@post_only
def synonym_make(request, access, name):
    main = _manage(access, name)
    candidates = [d for d in selectors.domain_list(access=access) if d.pk != main.pk]
    form = SynonymForm(request.POST, candidates=candidates)
    if form.is_valid():
        synonym = domain_or_404(access, form.cleaned_data["synonym"])
        ok, _result = run_service(
            request,
            services.synonym_make,
            form=form,
            field_map={"name": "synonym"},
            access=access,
            main=main,
            synonym=synonym,
            success=_("%(synonym)s is now a synonym of %(main)s.")
            % {"synonym": synonym.name, "main": main.name},
        )
        if ok:
            return redirect(domain_url(access, main, "synonyms"))
    return _domain_page(request, access, main, synonym_form=form, status=400)


@organisation_view()
def synonym_dissociate(request, access, name):
    synonym = _manage(access, name)
    if not synonym.is_synonym:
        raise Http404()
    main = synonym.synonym_of
    back = request.GET.get("back") == "main"
    cancel = domain_url(access, main, "synonyms") if back else domain_url(access, synonym)
    return confirm_then_run(
        request,
        title=_("Dissociate a synonym"),
        question=_("Give %(synonym)s its own zone again?") % {"synonym": synonym.name},
        detail=_(
            "It keeps a copy of the records it answers now, and stops following the changes "
            "of %(main)s."
        )
        % {"main": main.name},
        button=_("Dissociate"),
        cancel_url=cancel,
        done_url=cancel if back else domain_url(access, synonym),
        run=lambda: run_service(
            request,
            services.synonym_dissociate,
            access=access,
            synonym=synonym,
            success=_("%(synonym)s has its own zone now.") % {"synonym": synonym.name},
        ),
    )


# -- mail ------------------------------------------------------------------------------------


def _mail_or_404():
    mail = mail_records()
    if mail is None:
        raise Http404()
    return mail


@organisation_view()
@post_only
def mail_use(request, access, name):
    domain = _manage(access, name)
    mail = _mail_or_404()
    mail_services = list(mail.services(access=access))
    form = MailUseForm(request.POST, services=mail_services)
    if form.is_valid():
        service = next(s for s in mail_services if str(s.pk) == form.cleaned_data["service"])
        ok, _records = run_service(
            request,
            mail.records_add,
            form=form,
            access=access,
            domain=domain,
            service=service,
            success=_("The mail records of %(service)s are in the zone.")
            % {"service": service.domain},
        )
        if ok:
            return redirect(domain_url(access, domain, "mail"))
    return _domain_page(request, access, domain, mail_form=form, status=400)


def _mail_action(request, access, name, action: str, success: str):
    """Run one of the mail side's zone actions, then show the checks again."""
    domain = _manage(access, name)
    run_service(
        request, getattr(_mail_or_404(), action), access=access, domain=domain, success=success
    )
    url = reverse("domains:domain-detail", args=[access.organisation.pk, domain.name])
    # Back where the button was (the Service Mail page's DNS card), else the zone's checks.
    return redirect(next_url(request, f"{url}?check=mail#mail"))


@organisation_view()
@post_only
def mail_fixes(request, access, name):
    return _mail_action(
        request, access, name, "fixes_apply",
        _("The expected mail records are in the zone; the checks below ran again."),
    )  # fmt: skip


@organisation_view()
@post_only
def mail_dkim_rotate(request, access, name):
    return _mail_action(
        request, access, name, "dkim_rotate",
        _("A new DKIM key is published; mail is signed with it as soon as its record is served."),
    )  # fmt: skip


# -- deletion --------------------------------------------------------------------------------


@organisation_view()
def domain_delete(request, access, name):
    domain = _manage(access, name)
    require(access, Capability.CHANGE_ORGANISATION)
    form = DeleteDomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.domain_delete(
                access=access, domain=domain, confirm_name=form.cleaned_data["confirm_name"]
            )
        except NotFound:
            raise Http404() from None
        except Conflict as error:  # has_synonyms: nothing to retype, a message says why
            messages.error(request, str(error.detail))
            return redirect(domain_url(access, domain, "synonyms"))
        except PanelError as error:
            report_error(request, error, form)
        else:
            messages.success(
                request,
                _("The domain %(name)s was deleted; its zone is no longer served.")
                % {"name": domain.name},
            )
            return redirect(reverse("domains:domain-list", args=[access.organisation.pk]))
    return render(request, "domains/domain_delete.html", {"domain": domain, "form": form})
