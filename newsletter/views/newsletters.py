"""The newsletters of the Manager: the list with the creation form, a newsletter's page
with its lists, groups and fields, renaming it and deleting it.

Creating and deleting a newsletter change what the organisation pays (administrators:
the services call `require_billing`); VIEW_PRODUCT on a newsletter sees its pages,
MANAGE_PRODUCT changes it. Controls a person may not use are not shown, and their POST
answers 403 (404 for a newsletter they do not see)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from panel.access import Capability
from panel.mixins import organisation_view, post_only

from .. import queries, services
from ..forms import NewsletterDeleteForm, NewsletterForm
from ..models import ContactGroup, Subscription, SubscriptionStatus
from .common import found_or_404, newsletter_url, require_manage, run_or_403, submit_form


def _list_page(request, access, form=None):
    return render(
        request,
        "newsletter/newsletter_list.html",
        {
            "newsletters": list(queries.newsletters_for(access)),
            "may_create": access.may_change_billing(),
            "form": form or NewsletterForm(),
        },
    )


@organisation_view()
def newsletter_list(request, access):
    return _list_page(request, access)


@organisation_view()
@post_only
def newsletter_create(request, access):
    if not access.may_change_billing():  # an administrator's act
        raise DjangoPermissionDenied()
    form = NewsletterForm(request.POST)
    newsletter = submit_form(
        request,
        form,
        services.newsletter_create,
        access=access,
        success=_("Newsletter created. Add its first list now."),
    )
    if newsletter:
        return redirect(newsletter_url(newsletter))
    return _list_page(request, access, form)


def _detail_page(request, access, newsletter, rename_form=None):
    lists = queries.lists_of(newsletter).prefetch_related(
        Prefetch("groups", queryset=ContactGroup.objects.order_by("name", "id"))
    )
    subscribed = Subscription.objects.filter(
        contact=OuterRef("pk"), status=SubscriptionStatus.SUBSCRIBED
    )
    can_manage = access.can(Capability.MANAGE_PRODUCT, newsletter)
    return render(
        request,
        "newsletter/newsletter_detail.html",
        {
            "newsletter": newsletter,
            "lists": list(lists),
            "fields": list(queries.fields_of(newsletter)),
            "subscribed_count": newsletter.contacts.filter(Exists(subscribed)).count(),
            "can_manage": can_manage,
            "can_delete": access.may_change_billing(newsletter),
            "rename_form": rename_form
            or NewsletterForm(initial={"name": newsletter.name}, auto_id="rename_%s"),
            "tab": "audience",
        },
    )


@organisation_view()
def newsletter_detail(request, access, newsletter_id):
    newsletter = found_or_404(queries.newsletter_for, access, newsletter_id)
    return _detail_page(request, access, newsletter)


@organisation_view()
@post_only
def newsletter_rename(request, access, newsletter_id):
    newsletter = found_or_404(queries.newsletter_for, access, newsletter_id)
    require_manage(access, newsletter)
    form = NewsletterForm(request.POST, auto_id="rename_%s")
    saved = submit_form(
        request,
        form,
        services.newsletter_update,
        access=access,
        newsletter=newsletter,
        success=_("Newsletter renamed."),
    )
    if saved:
        return redirect(newsletter_url(newsletter))
    newsletter.refresh_from_db()
    return _detail_page(request, access, newsletter, rename_form=form)


@organisation_view()
def newsletter_delete(request, access, newsletter_id):
    newsletter = found_or_404(queries.newsletter_for, access, newsletter_id)
    if not access.may_change_billing(newsletter):  # an administrator's act
        raise DjangoPermissionDenied()
    form = NewsletterDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _result = run_or_403(
            request,
            services.newsletter_delete,
            form=form,
            access=access,
            newsletter=newsletter,
            confirm_name=form.cleaned_data["confirm_name"],
        )
        if ok:
            messages.success(
                request, _("The newsletter %(name)s was deleted.") % {"name": newsletter.name}
            )
            return redirect(reverse("newsletter:newsletter-list", args=[access.organisation.pk]))
    return render(
        request,
        "newsletter/newsletter_delete.html",
        {"newsletter": newsletter, "form": form},
    )


urlpatterns = [
    path("", newsletter_list, name="newsletter-list"),
    path("newsletters/new/", newsletter_create, name="newsletter-create"),
    path("newsletters/<int:newsletter_id>/", newsletter_detail, name="newsletter-detail"),
    path("newsletters/<int:newsletter_id>/rename/", newsletter_rename, name="newsletter-rename"),
    path("newsletters/<int:newsletter_id>/delete/", newsletter_delete, name="newsletter-delete"),
]
