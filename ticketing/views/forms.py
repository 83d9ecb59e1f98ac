"""Manager pages of an office's forms (knowledge base: "Ticketing: créer un formulaire par
tarif"): the list, and a form's page with its field editor and a preview as buyers see it.

The page lists the questions in the order buyers meet them (services.forms.ordered_fields:
1, 2, 3 ..., then no position, then 0 at the very end; ties by creation) next to the
positions as typed, which can all be changed at once, so that the rule is seen at work.
VIEW_PRODUCT on the office sees the pages; MANAGE_PRODUCT changes them (403 otherwise)."""

from functools import partial

from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.access import Capability
from panel.errors import InvalidInput
from panel.mixins import organisation_view, post_only
from panel.views.common import confirm_then_run

from .. import selectors, services
from ..forms import FieldForm, PositionsForm, TicketFormForm
from ..models import CHOICE_TYPES, FieldType
from ..services.forms import field_order_key
from .common import found_or_404, require_manage, run_or_403, submit_form
from .offices import shop_url


def form_url(form) -> str:
    return reverse("ticketing:form-detail", args=[form.organisation_id, form.pk])


def _list_page(request, access, office, create_form=None):
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    ticket_forms = office.forms.annotate(
        field_count=Count("fields", distinct=True), tariff_count=Count("tariffs", distinct=True)
    ).order_by("name", "id")
    return render(
        request,
        "ticketing/form_list.html",
        {
            "office": office,
            "ticket_forms": list(ticket_forms),
            "can_manage": can_manage,
            "create_form": create_form or (TicketFormForm() if can_manage else None),
            "shop_url": shop_url(office),
            "tab": "forms",
        },
    )


@organisation_view()
def form_list(request, access, office_id):
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    return _list_page(request, access, office)


@organisation_view()
@post_only
def form_create(request, access, office_id):
    office = found_or_404(selectors.office_for, access, office_id=office_id)
    require_manage(access, office)
    form = TicketFormForm(request.POST)
    created = submit_form(
        request,
        form,
        services.form_create,
        access=access,
        office=office,
        success=_("Form created. Add its questions now."),
    )
    if created:
        return redirect(form_url(created))
    return _list_page(request, access, office, form)


# -- a form's page ----------------------------------------------------------------------------

#: The groups of the order rule, by the first item of `field_order_key`.
ORDER_GROUPS = {0: "numbered", 1: "unnumbered", 2: "last"}


def _describe(fields) -> list:
    """The fields in display order, each knowing its rank and its group in the rule."""
    ordered = []
    for rank, field in enumerate(fields, start=1):
        field.rank = rank
        field.group = ORDER_GROUPS[field_order_key(field)[0]]
        field.has_options = field.type in CHOICE_TYPES
        field.all_ticked = field.type == FieldType.CHECKBOXES and field.required
        ordered.append(field)
    return ordered


def _form_page(request, access, ticket_form, *, field_form=None, positions_form=None):
    office = ticket_form.office
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    fields = _describe(services.ordered_fields(ticket_form))
    tariffs = ticket_form.tariffs.select_related("zone__date__event").order_by(
        "zone__date__starts_at", "zone__date__event__title", "zone__name", "name", "id"
    )
    context = {
        "office": office,
        "ticket_form": ticket_form,
        "fields": fields,
        "tariffs": list(tariffs),
        "can_manage": can_manage,
        "tab": "forms",
    }
    if can_manage:
        context["field_form"] = field_form or FieldForm(prefix="field")
        context["positions_form"] = positions_form or PositionsForm(fields=fields)
    if context.get("positions_form") is not None:
        positions = context["positions_form"]
        for field in fields:
            field.position_input = positions[PositionsForm.key(field)]
    return render(request, "ticketing/form_detail.html", context)


@organisation_view()
def form_detail(request, access, form_id):
    ticket_form = found_or_404(selectors.form_for, access, form_id=form_id)
    return _form_page(request, access, ticket_form)


@organisation_view()
def form_delete(request, access, form_id):
    ticket_form = found_or_404(selectors.form_for, access, form_id=form_id)
    office = ticket_form.office
    require_manage(access, office)
    linked = ticket_form.tariffs.count()
    return confirm_then_run(
        request,
        title=_("Delete a form"),
        question=_("Delete the form %(name)s?") % {"name": ticket_form.name},
        detail=ngettext(
            "Its questions go with it, and the %(n)d tariff linked to it asks nothing any "
            "more. Answers already given stay with their tickets.",
            "Its questions go with it, and the %(n)d tariffs linked to it ask nothing any "
            "more. Answers already given stay with their tickets.",
            linked,
        )
        % {"n": linked},
        button=_("Delete the form"),
        cancel_url=form_url(ticket_form),
        run=lambda: run_or_403(
            request,
            partial(services.form_delete, form=ticket_form),  # `form` is run_service's own
            access=access,
            success=_("Form deleted."),
        ),
        done_url=reverse("ticketing:form-list", args=[office.organisation_id, office.pk]),
    )


@organisation_view()
@post_only
def field_create(request, access, form_id):
    ticket_form = found_or_404(selectors.form_for, access, form_id=form_id)
    require_manage(access, ticket_form.office)
    form = FieldForm(request.POST, prefix="field")
    call = partial(services.field_create, access=access, form=ticket_form)
    field = submit_form(request, form, call, success=_("Question added."))
    if field:
        return redirect(form_url(ticket_form) + f"#field-{field.pk}")
    return _form_page(request, access, ticket_form, field_form=form)


@organisation_view()
@post_only
def form_positions(request, access, form_id):
    """Every position typed in the list, saved at once (or none, on any error)."""
    ticket_form = found_or_404(selectors.form_for, access, form_id=form_id)
    require_manage(access, ticket_form.office)
    form = PositionsForm(request.POST, fields=services.ordered_fields(ticket_form))
    if form.is_valid():
        ok, _changed = run_or_403(
            request,
            _positions_save,
            form=form,
            access=access,
            changes=form,
            success=_("Positions saved: the list shows the new order."),
        )
        if ok:
            return redirect(form_url(ticket_form) + "#questions")
    return _form_page(request, access, ticket_form, positions_form=form)


@transaction.atomic
def _positions_save(*, access, changes: PositionsForm) -> int:
    """`field_update` for each changed position, in one transaction; an error names the
    position's input."""
    changed = changes.changes()
    for field, position in changed:
        try:
            services.field_update(access=access, field=field, position=position)
        except InvalidInput as error:
            raise InvalidInput(
                fields={PositionsForm.key(field): error.fields.get("position", [str(error)])}
            ) from None
    return len(changed)


@organisation_view()
def field_edit(request, access, field_id):
    field = found_or_404(selectors.field_for, access, field_id=field_id)
    ticket_form = field.form
    require_manage(access, ticket_form.office)
    form = FieldForm.for_field(field, request.POST or None)
    call = partial(services.field_update, access=access, field=field)
    if form.is_bound and submit_form(request, form, call, success=_("Question saved.")):
        return redirect(form_url(ticket_form) + f"#field-{field.pk}")
    return render(
        request,
        "ticketing/field_edit.html",
        {
            "office": ticket_form.office,
            "ticket_form": ticket_form,
            "field": field,
            "form": form,
            "tab": "forms",
        },
    )


@organisation_view()
def field_delete(request, access, field_id):
    field = found_or_404(selectors.field_for, access, field_id=field_id)
    ticket_form = field.form
    require_manage(access, ticket_form.office)
    back = form_url(ticket_form)
    return confirm_then_run(
        request,
        title=_("Delete a question"),
        question=_("Delete the question %(label)s?") % {"label": field.label},
        detail=_("Buyers are no longer asked it. Answers already given stay with their tickets."),
        button=_("Delete the question"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            services.field_delete,
            access=access,
            field=field,
            success=_("Question deleted."),
        ),
        done_url=back + "#questions",
    )


urlpatterns = [
    path("offices/<int:office_id>/forms/", form_list, name="form-list"),
    path("offices/<int:office_id>/forms/new/", form_create, name="form-create"),
    path("forms/<int:form_id>/", form_detail, name="form-detail"),
    path("forms/<int:form_id>/delete/", form_delete, name="form-delete"),
    path("forms/<int:form_id>/positions/", form_positions, name="form-positions"),
    path("forms/<int:form_id>/fields/new/", field_create, name="field-create"),
    path("fields/<int:field_id>/edit/", field_edit, name="field-edit"),
    path("fields/<int:field_id>/delete/", field_delete, name="field-delete"),
]
