"""Reads of a newsletter's contacts, and the one rule of who receives a campaign.

`recipients` is the rule, written once: the count a campaign's page shows and the set
its sending walks through both come from it.
"""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from panel.access import Access, Capability
from panel.errors import NotFound

from .models import Contact, ContactGroup, Newsletter, Subscription, SubscriptionStatus


def recipients(
    *, newsletter: Newsletter | int, lists, include_groups=(), exclude_groups=()
) -> QuerySet[Contact]:
    """The contacts a campaign goes to, each once: a contact is a recipient when it is
    `subscribed` to at least one of `lists`; when `include_groups` are given, only if it
    is in one of them that belongs to a list it is subscribed to (among `lists`); and
    never when it is in any of `exclude_groups`, whatever its status on that group's
    list. Unconfirmed, unsubscribed, bounced and complained contacts are never counted."""
    list_ids = [getattr(item, "pk", item) for item in lists]
    include_ids = [getattr(group, "pk", group) for group in include_groups]
    exclude_ids = [getattr(group, "pk", group) for group in exclude_groups]
    subscribed = Subscription.objects.filter(
        contact=OuterRef("pk"), status=SubscriptionStatus.SUBSCRIBED, list_id__in=list_ids
    )
    if include_ids:
        # The included group must be a group of the very list the contact is subscribed to.
        subscribed = subscribed.filter(
            list__groups__in=include_ids, list__groups__contacts=OuterRef("pk")
        )
    contacts = Contact.objects.filter(newsletter_id=getattr(newsletter, "pk", newsletter)).filter(
        Exists(subscribed)
    )
    if exclude_ids:
        membership = Contact.groups.through.objects.filter(
            contact_id=OuterRef("pk"), contactgroup_id__in=exclude_ids
        )
        contacts = contacts.filter(~Exists(membership))
    return contacts


def recipient_count(**segment) -> int:
    return recipients(**segment).count()


def contact_list(
    newsletter: Newsletter, *, list=None, group=None, status=None, search=None, fields=None
) -> QuerySet[Contact]:
    """The newsletter's contacts with their subscriptions and groups (three queries for
    a page, whatever its size): `status` on `list` when one is given, else on any list;
    `search` in the address; `fields` {key: value}, each equal."""
    contacts = Contact.objects.filter(newsletter=newsletter)
    if list is not None:
        on_list = Subscription.objects.filter(contact=OuterRef("pk"), list=list)
        if status:
            on_list = on_list.filter(status=status)
        contacts = contacts.filter(Exists(on_list))
    elif status:
        contacts = contacts.filter(
            Exists(Subscription.objects.filter(contact=OuterRef("pk"), status=status))
        )
    if group is not None:
        contacts = contacts.filter(
            Exists(
                Contact.groups.through.objects.filter(contact_id=OuterRef("pk"), contactgroup=group)
            )
        )
    if search:
        contacts = contacts.filter(Q(email_key__contains=search.strip().lower()))
    for index, (key, value) in enumerate((fields or {}).items()):
        # KeyTransform, not `fields__<key>`: a key is data, never read as a lookup.
        contacts = contacts.alias(**{f"_value_{index}": KeyTransform(key, "fields")})
        contacts = contacts.filter(**{f"_value_{index}": value})
    return contacts.prefetch_related(
        Prefetch("subscriptions", queryset=Subscription.objects.select_related("list")),
        Prefetch("groups", queryset=ContactGroup.objects.select_related("list")),
    ).order_by("email_key", "pk")


def contact_for(access: Access, contact_id) -> Contact:
    """A contact of a newsletter the person may see, or NotFound."""
    try:
        pk = int(contact_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    contact = (
        Contact.objects.filter(pk=pk, organisation=access.organisation)
        .select_related("newsletter")
        .first()
    )
    if contact is None or not access.can(Capability.VIEW_PRODUCT, contact.newsletter):
        raise NotFound()
    return contact


def contact_history(contact: Contact):
    """The contact's history, latest first, with the lists named."""
    return contact.events.select_related("list").order_by("-at", "-pk")
