"""Reads of the newsletter products and their audience settings (fields, lists, groups)
that the panel and the API share: each `<kind>_for` answers NotFound unless the person
may see the newsletter, exactly as for an object that does not exist; each list answers
with its counts in one query, whatever the number of rows. (The contacts and the
recipients of a campaign are read in newsletter.selectors.)"""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from panel.access import Access, Capability
from panel.errors import NotFound

from .models import (
    Campaign,
    Contact,
    ContactField,
    ContactGroup,
    ContactList,
    Newsletter,
    Sender,
    Subscription,
    SubscriptionStatus,
    Template,
)

_ID_MAX = 2**63 - 1  # the ids are big integers


def _id(value) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < pk <= _ID_MAX:
        raise NotFound()
    return pk


def _count(queryset, outer: str):
    """How many rows of `queryset` point at the outer row through `outer`, as a column."""
    counted = (
        queryset.filter(**{outer: OuterRef("pk")})
        .order_by()
        .values(outer)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _subscribed(outer: str):
    return _count(Subscription.objects.filter(status=SubscriptionStatus.SUBSCRIBED), outer)


def _lookup(access: Access, queryset, pk, path: str):
    """An object of the organisation by id, NotFound unless its newsletter (at `path`) is
    visible to the person."""
    obj = queryset.filter(organisation=access.organisation, pk=_id(pk)).select_related(path).first()
    if obj is None:
        raise NotFound()
    newsletter = obj
    for part in path.split("__"):
        newsletter = getattr(newsletter, part)
    if not access.can(Capability.VIEW_PRODUCT, newsletter):
        raise NotFound()
    return obj


# -- newsletters ------------------------------------------------------------------------------


def newsletters_for(access: Access) -> QuerySet[Newsletter]:
    """The newsletters the person sees (all of them for administrators), by name, each
    with `list_count` and `contact_count`."""
    return (
        access.visible_products("newsletter")
        .annotate(
            list_count=_count(ContactList.objects.all(), "newsletter"),
            contact_count=_count(Contact.objects.all(), "newsletter"),
        )
        .order_by("name", "id")
    )


def newsletter_for(access: Access, newsletter_id) -> Newsletter:
    newsletter = newsletters_for(access).filter(pk=_id(newsletter_id)).first()
    if newsletter is None:
        raise NotFound()
    return newsletter


# -- fields -----------------------------------------------------------------------------------


def fields_of(newsletter: Newsletter) -> QuerySet[ContactField]:
    """The newsletter's custom fields, by position, then label."""
    return ContactField.objects.filter(newsletter=newsletter).order_by("position", "label", "id")


def field_for(access: Access, field_id) -> ContactField:
    return _lookup(access, ContactField.objects.all(), field_id, "newsletter")


# -- lists and groups -------------------------------------------------------------------------


def _lists():
    return ContactList.objects.annotate(
        subscribed_count=_subscribed("list"),
        group_count=_count(ContactGroup.objects.all(), "list"),
    ).prefetch_related("form_fields")


def lists_of(newsletter: Newsletter) -> QuerySet[ContactList]:
    """The newsletter's lists by name, each with `subscribed_count` (its contacts whose
    standing is `subscribed`), `group_count` and its form's fields, in two queries."""
    return _lists().filter(newsletter=newsletter).order_by("name", "id")


def list_for(access: Access, list_id) -> ContactList:
    return _lookup(access, _lists(), list_id, "newsletter")


def _groups():
    members = Contact.groups.through.objects.all()
    subscribed = members.filter(
        contact__subscriptions__list=OuterRef("list_id"),
        contact__subscriptions__status=SubscriptionStatus.SUBSCRIBED,
    )
    return ContactGroup.objects.annotate(
        contact_count=_count(members, "contactgroup"),
        subscribed_count=_count(subscribed, "contactgroup"),
    )


def groups_of(contact_list: ContactList) -> QuerySet[ContactGroup]:
    """The list's groups by name, each with `contact_count` (its members) and
    `subscribed_count` (those of them subscribed to the list), in one query."""
    return _groups().filter(list=contact_list).order_by("name", "id")


def group_for(access: Access, group_id) -> ContactGroup:
    return _lookup(access, _groups(), group_id, "list__newsletter")


# -- campaigns and templates ------------------------------------------------------------------


def campaigns_of(newsletter: Newsletter) -> QuerySet[Campaign]:
    """The newsletter's campaigns, latest first, with their sender, in one query."""
    return Campaign.objects.filter(newsletter=newsletter).select_related("sender")


def campaign_for(access: Access, campaign_id) -> Campaign:
    return _lookup(access, Campaign.objects.select_related("sender"), campaign_id, "newsletter")


def templates_of(newsletter: Newsletter) -> QuerySet[Template]:
    return Template.objects.filter(newsletter=newsletter).order_by("name", "id")


def template_for(access: Access, template_id) -> Template:
    return _lookup(access, Template.objects.all(), template_id, "newsletter")


# -- senders ----------------------------------------------------------------------------------


def senders_of(newsletter: Newsletter) -> QuerySet[Sender]:
    """The newsletter's sender addresses, by address, in one query."""
    return Sender.objects.filter(newsletter=newsletter).order_by("email_key", "id")


def sender_for(access: Access, sender_id) -> Sender:
    return _lookup(access, Sender.objects.all(), sender_id, "newsletter")
