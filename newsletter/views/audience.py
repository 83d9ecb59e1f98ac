"""A newsletter's audience settings in the Manager: its lists (a list's page shows its
groups with their counts), the groups inside a list, and the custom fields of its
contacts; creating, changing and deleting each, deletions after a confirmation page.

VIEW_PRODUCT sees a list's page; every form needs MANAGE_PRODUCT (403 otherwise, 404
for a newsletter the person does not see); the services check it again."""

from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.access import Capability
from panel.mixins import organisation_view, post_only
from panel.views.common import confirm_then_run

from .. import queries, services
from ..forms import FieldForm, GroupForm, ListForm
from ..models import Contact
from .common import (
    contacts_url,
    found_or_404,
    list_url,
    newsletter_url,
    require_manage,
    run_or_403,
    submit_form,
)


def _managed(access, lookup, object_id, newsletter_of):
    found = found_or_404(lookup, access, object_id)
    require_manage(access, newsletter_of(found))
    return found


# -- lists ------------------------------------------------------------------------------------


@organisation_view()
def list_create(request, access, newsletter_id):
    newsletter = _managed(access, queries.newsletter_for, newsletter_id, lambda n: n)
    fields = list(queries.fields_of(newsletter))
    form = ListForm(request.POST or None, fields=fields)
    if request.method == "POST":
        created = submit_form(
            request,
            form,
            services.list_create,
            access=access,
            newsletter=newsletter,
            success=_("List created. Add its groups if you need them."),
        )
        if created:
            return redirect(list_url(created))
    return render(
        request,
        "newsletter/list_form.html",
        {"newsletter": newsletter, "form": form, "tab": "audience"},
    )


def _list_page(request, access, contact_list, *, form=None, group_form=None):
    newsletter = contact_list.newsletter
    can_manage = access.can(Capability.MANAGE_PRODUCT, newsletter)
    context = {
        "newsletter": newsletter,
        "contact_list": contact_list,
        "groups": list(queries.groups_of(contact_list)),
        "contacts_url": contacts_url(newsletter),
        "list_contacts_url": f"{contacts_url(newsletter)}?list={contact_list.pk}",
        "can_manage": can_manage,
        "tab": "audience",
    }
    if can_manage:
        fields = list(queries.fields_of(newsletter))
        context["form"] = form or ListForm(
            fields=fields,
            initial={
                "name": contact_list.name,
                "description": contact_list.description,
                "form_fields": [field.pk for field in contact_list.form_fields.all()],
            },
        )
        context["group_form"] = group_form or GroupForm(auto_id="group_%s")
    return render(request, "newsletter/list_detail.html", context)


@organisation_view()
def list_detail(request, access, list_id):
    """The list's page (GET); its POST saves the list's settings."""
    contact_list = found_or_404(queries.list_for, access, list_id)
    if request.method != "POST":
        return _list_page(request, access, contact_list)
    newsletter = contact_list.newsletter
    require_manage(access, newsletter)
    form = ListForm(request.POST, fields=list(queries.fields_of(newsletter)))
    saved = submit_form(
        request,
        form,
        services.list_update,
        access=access,
        contact_list=contact_list,
        success=_("List saved."),
    )
    if saved:
        return redirect(list_url(contact_list))
    contact_list.refresh_from_db()
    return _list_page(request, access, contact_list, form=form)


@organisation_view()
def list_delete(request, access, list_id):
    contact_list = _managed(access, queries.list_for, list_id, lambda li: li.newsletter)
    newsletter = contact_list.newsletter
    count = contact_list.subscriptions.count()
    return confirm_then_run(
        request,
        title=_("Delete a list"),
        question=_("Delete the list %(name)s?") % {"name": contact_list.name},
        detail=ngettext(
            "Its groups and the standing of its %(n)d contact go with it. The contacts "
            "stay in the newsletter, with their consents and history.",
            "Its groups and the standing of its %(n)d contacts go with it. The contacts "
            "stay in the newsletter, with their consents and history.",
            count,
        )
        % {"n": count},
        button=_("Delete the list"),
        keep_label=_("Keep the list"),
        cancel_url=list_url(contact_list),
        run=lambda: run_or_403(
            request,
            services.list_delete,
            access=access,
            contact_list=contact_list,
            success=_("The list %(name)s was deleted.") % {"name": contact_list.name},
        ),
        done_url=newsletter_url(newsletter),
    )


# -- groups -----------------------------------------------------------------------------------


@organisation_view()
@post_only
def group_create(request, access, list_id):
    contact_list = _managed(access, queries.list_for, list_id, lambda li: li.newsletter)
    form = GroupForm(request.POST, auto_id="group_%s")
    created = submit_form(
        request,
        form,
        services.group_create,
        access=access,
        contact_list=contact_list,
        success=_("Group created."),
    )
    if created:
        return redirect(list_url(contact_list) + "#groups")
    return _list_page(request, access, contact_list, group_form=form)


@organisation_view()
def group_edit(request, access, group_id):
    group = _managed(access, queries.group_for, group_id, lambda g: g.list.newsletter)
    form = GroupForm(request.POST or None, initial={"name": group.name})
    if request.method == "POST":
        saved = submit_form(
            request,
            form,
            services.group_update,
            access=access,
            group=group,
            success=_("Group renamed."),
        )
        if saved:
            return redirect(list_url(group.list) + "#groups")
        group.refresh_from_db()
    return render(
        request,
        "newsletter/group_form.html",
        {
            "newsletter": group.list.newsletter,
            "contact_list": group.list,
            "group": group,
            "form": form,
            "tab": "audience",
        },
    )


@organisation_view()
def group_delete(request, access, group_id):
    group = _managed(access, queries.group_for, group_id, lambda g: g.list.newsletter)
    back = list_url(group.list) + "#groups"
    return confirm_then_run(
        request,
        title=_("Delete a group"),
        question=_("Delete the group %(name)s of %(list)s?")
        % {"name": group.name, "list": group.list.name},
        detail=ngettext(
            "Its %(n)d member stays on the list: only the group goes.",
            "Its %(n)d members stay on the list: only the group goes.",
            group.contact_count,
        )
        % {"n": group.contact_count},
        button=_("Delete the group"),
        keep_label=_("Keep the group"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            services.group_delete,
            access=access,
            group=group,
            success=_("The group %(name)s was deleted.") % {"name": group.name},
        ),
        done_url=back,
    )


# -- fields -----------------------------------------------------------------------------------


def _field_page(request, newsletter, form, field=None):
    return render(
        request,
        "newsletter/field_form.html",
        {"newsletter": newsletter, "field": field, "form": form, "tab": "audience"},
    )


def _fields_url(newsletter) -> str:
    return newsletter_url(newsletter) + "#fields"


@organisation_view()
def field_create(request, access, newsletter_id):
    newsletter = _managed(access, queries.newsletter_for, newsletter_id, lambda n: n)
    form = FieldForm(request.POST or None)
    if request.method == "POST":
        created = submit_form(
            request,
            form,
            services.field_create,
            access=access,
            newsletter=newsletter,
            success=_("Field added."),
        )
        if created:
            return redirect(_fields_url(newsletter))
    return _field_page(request, newsletter, form)


@organisation_view()
def field_edit(request, access, field_id):
    field = _managed(access, queries.field_for, field_id, lambda f: f.newsletter)
    form = FieldForm.for_field(field, request.POST or None)
    if request.method == "POST":
        saved = submit_form(
            request, form, services.field_update, access=access, field=field,
            success=_("Field saved."),
        )  # fmt: skip
        if saved:
            return redirect(_fields_url(field.newsletter))
        field.refresh_from_db()
    return _field_page(request, field.newsletter, form, field)


@organisation_view()
def field_delete(request, access, field_id):
    field = _managed(access, queries.field_for, field_id, lambda f: f.newsletter)
    holders = Contact.objects.filter(newsletter=field.newsletter, fields__has_key=field.key)
    count = holders.count()
    return confirm_then_run(
        request,
        title=_("Delete a field"),
        question=_("Delete the field %(label)s?") % {"label": field.label},
        detail=ngettext(
            "Its value is removed from the %(n)d contact who has one, and the lists' "
            "forms stop asking it. Campaigns writing {{ %(key)s }} must be changed.",
            "Its value is removed from the %(n)d contacts who have one, and the lists' "
            "forms stop asking it. Campaigns writing {{ %(key)s }} must be changed.",
            count,
        )
        % {"n": count, "key": field.key},
        button=_("Delete the field"),
        keep_label=_("Keep the field"),
        cancel_url=reverse("newsletter:field-edit", args=[field.organisation_id, field.pk]),
        run=lambda: run_or_403(
            request,
            services.field_delete,
            access=access,
            field=field,
            success=_("The field %(label)s was deleted.") % {"label": field.label},
        ),
        done_url=_fields_url(field.newsletter),
    )


urlpatterns = [
    path("newsletters/<int:newsletter_id>/lists/new/", list_create, name="list-create"),
    path("lists/<int:list_id>/", list_detail, name="list-detail"),
    path("lists/<int:list_id>/delete/", list_delete, name="list-delete"),
    path("lists/<int:list_id>/groups/new/", group_create, name="group-create"),
    path("groups/<int:group_id>/", group_edit, name="group-edit"),
    path("groups/<int:group_id>/delete/", group_delete, name="group-delete"),
    path("newsletters/<int:newsletter_id>/fields/new/", field_create, name="field-create"),
    path("fields/<int:field_id>/", field_edit, name="field-edit"),
    path("fields/<int:field_id>/delete/", field_delete, name="field-delete"),
]
