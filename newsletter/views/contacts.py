"""A newsletter's contacts in the Manager: the list with its search and filters (by
list, status on that list or on any, group, and a field's value), adding a contact; a
contact's page with its field values, its standing and groups on each list, its
consents and its history; changing and deleting a contact.

The list answers in a bounded number of queries whatever the number of contacts: the
lists and fields of the filters, the count, one page of contacts and their
subscriptions and groups. VIEW_PRODUCT sees; MANAGE_PRODUCT changes (the services
check it again)."""

import datetime

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from panel.access import Capability
from panel.errors import InvalidInput
from panel.mixins import organisation_view
from panel.views.common import PAGE_SIZE, confirm_then_run

from .. import queries, selectors
from ..forms import ContactFilterForm, ContactForm
from ..models import ConsentSource, ContactEventKind, ContactGroup, FieldType, SubscriptionStatus
from ..services.contacts import clean_field_value, contact_create, contact_delete, contact_update
from .common import contacts_url, found_or_404, require_manage, run_or_403

STATUS_BADGES = {
    SubscriptionStatus.SUBSCRIBED: "badge-green",
    SubscriptionStatus.UNCONFIRMED: "badge-amber",
    SubscriptionStatus.UNSUBSCRIBED: "",
    SubscriptionStatus.BOUNCED: "badge-red",
    SubscriptionStatus.COMPLAINED: "badge-red",
}
#: The keys of a history line's details, as the contact's page names them.
DETAIL_LABELS = {
    "source": gettext_lazy("Source"),
    "fields": gettext_lazy("Fields"),
    "campaign": gettext_lazy("Campaign"),
    "url": gettext_lazy("Link"),
    "ip": gettext_lazy("IP address"),
    "status": gettext_lazy("Status"),
    "soft_bounces": gettext_lazy("Soft bounces in a row"),
    "via": gettext_lazy("How"),
}


def contact_url(contact) -> str:
    return reverse("newsletter:contact-detail", args=[contact.organisation_id, contact.pk])


def _lists_with_groups(newsletter):
    return list(
        queries.lists_of(newsletter).prefetch_related(
            Prefetch("groups", queryset=ContactGroup.objects.order_by("name", "id"))
        )
    )


def _standing(subscription) -> dict:
    return {
        "list": subscription.list,
        "status": subscription.status,
        "label": SubscriptionStatus(subscription.status).label,
        "badge": STATUS_BADGES[subscription.status],
        "changed_at": subscription.changed_at,
    }


def _filters(form, lists, fields) -> dict | None:
    """The selector's arguments of a valid filter form, or None when a value cannot
    apply (its error is then on the form)."""
    data = form.cleaned_data
    lists_by_id = {item.pk: item for item in lists}
    groups_by_id = {group.pk: group for item in lists for group in item.groups.all()}
    chosen = {
        "list": lists_by_id.get(data["list"]),
        "group": groups_by_id.get(data["group"]),
        "status": data["status"] or None,
        "search": data["q"].strip() or None,
    }
    key = data.get("field")
    if key:
        field = next(f for f in fields if f.key == key)
        try:
            value = clean_field_value(field, data["value"])
        except InvalidInput as error:
            for message in error.fields.get(f"fields.{field.key}", []):
                form.add_error("value", message)
            return None
        chosen["fields"] = {key: value}
    return chosen


def _contacts_page(request, access, newsletter, *, add_form=None):
    can_manage = access.can(Capability.MANAGE_PRODUCT, newsletter)
    lists = _lists_with_groups(newsletter)
    fields = list(queries.fields_of(newsletter))
    form = ContactFilterForm(
        request.GET if set(request.GET) - {"page"} else None, lists=lists, fields=fields
    )
    filtered, chosen = False, {}
    if form.is_bound:
        chosen = _filters(form, lists, fields) if form.is_valid() else None
        filtered = True
    if chosen is None:  # a filter that cannot apply lists nothing rather than everything
        contacts = selectors.contact_list(newsletter).none()
    else:
        contacts = selectors.contact_list(newsletter, **chosen)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    for contact in page:
        contact.standings = [_standing(s) for s in contact.subscriptions.all()]
    context = {
        "newsletter": newsletter,
        "form": form,
        "page": page,
        "filtered": filtered,
        "invalid": chosen is None,
        "lists": lists,
        "chosen_list": (chosen or {}).get("list"),
        "can_manage": can_manage,
        "tab": "contacts",
    }
    if can_manage:
        default = context["chosen_list"] or (lists[0] if len(lists) == 1 else None)
        context["add_form"] = add_form or ContactForm(
            fields=fields, lists=lists, default_list=default, auto_id="add_%s"
        )
    return render(request, "newsletter/contact_list.html", context)


@organisation_view()
def contact_list(request, access, newsletter_id):
    """The contacts (GET); its POST adds one."""
    newsletter = found_or_404(queries.newsletter_for, access, newsletter_id)
    if request.method != "POST":
        return _contacts_page(request, access, newsletter)
    require_manage(access, newsletter)
    form = ContactForm(
        request.POST,
        fields=list(queries.fields_of(newsletter)),
        lists=_lists_with_groups(newsletter),
        auto_id="add_%s",
    )
    if form.is_valid():
        ok, contact = run_or_403(
            request,
            contact_create,
            form=form,
            field_map=form.field_map(),
            access=access,
            newsletter=newsletter,
            source=ConsentSource.MANAGER,
            success=_("Contact added."),
            **form.values(),
        )
        if ok:
            return redirect(contacts_url(newsletter))
    return _contacts_page(request, access, newsletter, add_form=form)


def _field_text(field, value) -> str:
    if field.type == FieldType.YES_NO:
        return _("Yes") if value else _("No")
    if field.type == FieldType.DATE and isinstance(value, str):
        try:
            return formats.date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
        except ValueError:
            return value
    if field.type == FieldType.NUMBER and isinstance(value, int | float):
        return formats.number_format(value, use_l10n=True)
    return str(value)


def _event_details(event, field_labels) -> list[tuple[str, str]]:
    details = []
    for key, value in (event.detail or {}).items():
        if value in ("", None, [], {}):
            continue
        if key == "source" and value in ConsentSource.values:
            text = str(ConsentSource(value).label)
        elif key == "fields" and isinstance(value, list):
            text = ", ".join(str(field_labels.get(k, k)) for k in value)
        else:
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        details.append((str(DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())), text))
    return details


@organisation_view()
def contact_detail(request, access, contact_id):
    contact = found_or_404(selectors.contact_for, access, contact_id)
    newsletter = contact.newsletter
    fields = list(queries.fields_of(newsletter))
    groups = list(contact.groups.select_related("list"))
    standings = []
    for subscription in contact.subscriptions.select_related("list"):
        standing = _standing(subscription)
        standing["groups"] = [g for g in groups if g.list_id == subscription.list_id]
        standings.append(standing)
    history = Paginator(selectors.contact_history(contact), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    labels = {field.key: field.label for field in fields}
    for event in history:
        event.label = (
            ContactEventKind(event.kind).label
            if event.kind in ContactEventKind.values
            else event.kind
        )
        event.details = _event_details(event, labels)
    return render(
        request,
        "newsletter/contact_detail.html",
        {
            "newsletter": newsletter,
            "contact": contact,
            "values": [
                (
                    field,
                    _field_text(field, contact.fields[field.key])
                    if field.key in contact.fields
                    else None,
                )
                for field in fields
            ],
            "standings": standings,
            "consents": list(contact.consents.select_related("list")),
            "page": history,
            "can_manage": access.can(Capability.MANAGE_PRODUCT, newsletter),
            "tab": "contacts",
        },
    )


@organisation_view()
def contact_edit(request, access, contact_id):
    contact = found_or_404(selectors.contact_for, access, contact_id)
    newsletter = contact.newsletter
    require_manage(access, newsletter)
    form = ContactForm(
        request.POST or None,
        fields=list(queries.fields_of(newsletter)),
        lists=_lists_with_groups(newsletter),
        contact=contact,
    )
    if request.method == "POST" and form.is_valid():
        ok, _contact = run_or_403(
            request,
            contact_update,
            form=form,
            field_map=form.field_map(),
            access=access,
            contact=contact,
            source=ConsentSource.MANAGER,
            success=_("Contact saved."),
            **form.values(),
        )
        if ok:
            return redirect(contact_url(contact))
        contact.refresh_from_db()
    return render(
        request,
        "newsletter/contact_form.html",
        {"newsletter": newsletter, "contact": contact, "form": form, "tab": "contacts"},
    )


@organisation_view()
def contact_delete_view(request, access, contact_id):
    contact = found_or_404(selectors.contact_for, access, contact_id)
    require_manage(access, contact.newsletter)
    return confirm_then_run(
        request,
        title=_("Delete a contact"),
        question=_("Delete the contact %(email)s?") % {"email": contact.email},
        detail=_(
            "They leave every list of this newsletter, and their history and consents are "
            "deleted with them. Nobody can undo this."
        ),
        button=_("Delete the contact"),
        keep_label=_("Keep the contact"),
        cancel_url=contact_url(contact),
        run=lambda: run_or_403(
            request,
            contact_delete,
            access=access,
            contact=contact,
            success=_("The contact %(email)s was deleted.") % {"email": contact.email},
        ),
        done_url=contacts_url(contact.newsletter),
    )


urlpatterns = [
    path("newsletters/<int:newsletter_id>/contacts/", contact_list, name="contact-list"),
    path("contacts/<int:contact_id>/", contact_detail, name="contact-detail"),
    path("contacts/<int:contact_id>/edit/", contact_edit, name="contact-edit"),
    path("contacts/<int:contact_id>/delete/", contact_delete_view, name="contact-delete"),
]
