"""The contacts of the Newsletter API: a newsletter's contacts with filters, and one
contact. The rules are newsletter/services/contacts.py's; the reads newsletter/selectors'.

A contact is `{email, fields?: {key: value}, subscriptions: [{list, status?, groups?}]}`;
added by the organisation it is `subscribed` unless it says otherwise."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from panel.api.base import DB_INT_MAX, StrictCharField
from panel.api.views import _valid
from panel.errors import InvalidInput

from .. import selectors
from ..models import ConsentSource, Contact, ContactGroup, SubscriptionStatus
from ..services import contacts
from .views import Children, Detail

# -- shapes -----------------------------------------------------------------------------------


class NewsletterSubscriptionIn(serializers.Serializer):
    list = serializers.IntegerField(
        min_value=1,
        max_value=DB_INT_MAX,
        help_text=gettext_lazy("The id of one of the newsletter's lists."),
    )
    # Checked by the service, so that a wrong status is named with every other problem.
    status = StrictCharField(
        required=False,
        max_length=20,
        help_text=gettext_lazy(
            "subscribed (when left out), unconfirmed, unsubscribed, bounced or complained."
        ),
    )
    groups = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=DB_INT_MAX),
        required=False,
        max_length=500,
        help_text=gettext_lazy(
            "The ids of the list's groups the contact is in (replacing those of this list)."
        ),
    )


class NewsletterContactIn(serializers.Serializer):
    email = StrictCharField(max_length=254)
    fields = serializers.DictField(
        required=False,
        help_text=gettext_lazy(
            "Values by field key, each read by its field's type; null or empty removes one."
        ),
    )
    subscriptions = NewsletterSubscriptionIn(many=True, required=False, max_length=500)


class NewsletterSubscriptionOut(serializers.Serializer):
    list = serializers.IntegerField(source="list_id")
    list_name = serializers.CharField(source="list.name")
    status = serializers.CharField()
    groups = serializers.ListField(child=serializers.IntegerField(), source="group_ids")
    changed_at = serializers.DateTimeField()


class NewsletterContactOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    fields = serializers.DictField()
    subscriptions = NewsletterSubscriptionOut(many=True, source="standings")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class NewsletterContactFilterIn(serializers.Serializer):
    list = serializers.IntegerField(min_value=1, max_value=DB_INT_MAX, required=False)
    group = serializers.IntegerField(min_value=1, max_value=DB_INT_MAX, required=False)
    status = serializers.ChoiceField(
        choices=SubscriptionStatus.choices,
        required=False,
        help_text=gettext_lazy("On `list` when one is given, else on any list."),
    )
    search = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=254,
        help_text=gettext_lazy("Part of the address."),
    )


FIELD_PARAMETER = OpenApiParameter(
    "field",
    OpenApiTypes.STR,
    many=True,
    description=gettext_lazy(
        "`key:value`, a field's value to match exactly (repeat for several fields)."
    ),
)


def _standings(contact: Contact) -> Contact:
    """The contact with `standings`: each subscription with the ids of its list's groups
    the contact is in, from what was prefetched."""
    groups = list(contact.groups.all())
    standings = []
    for subscription in contact.subscriptions.all():
        subscription.group_ids = sorted(g.pk for g in groups if g.list_id == subscription.list_id)
        standings.append(subscription)
    contact.standings = standings
    return contact


def _read(view, contact) -> dict:
    fresh = selectors.contact_list(contact.newsletter).get(pk=contact.pk)
    return NewsletterContactOut(_standings(fresh)).data


def _field_filters(view, newsletter) -> dict:
    """{key: value} of the `field=key:value` parameters, each value read by its field's
    type; InvalidInput naming `field` otherwise."""
    known = {field.key: field for field in newsletter.fields.all()}
    wanted, problems = {}, []
    for raw in view.request.query_params.getlist("field"):
        key, sep, value = raw.partition(":")
        field = known.get(key)
        if not sep or field is None:
            problems.append(_("Write key:value with the key of one of the fields."))
            continue
        try:
            wanted[key] = contacts.clean_field_value(field, value)
        except InvalidInput as error:
            problems.extend(error.fields.get(f"fields.{key}", []))
    if problems:
        raise InvalidInput(fields={"field": problems})
    return wanted


# -- views ------------------------------------------------------------------------------------

CONTACT_TAKEN = OpenApiResponse(
    description=gettext_lazy("`already_exists`: a contact has this address, in any case.")
)


@extend_schema_view(
    get=extend_schema(parameters=[NewsletterContactFilterIn, FIELD_PARAMETER]),
    post=extend_schema(
        request=NewsletterContactIn,
        responses={201: NewsletterContactOut, 409: CONTACT_TAKEN},
        description=gettext_lazy(
            "Adds a contact, `subscribed` to the lists given unless their status says "
            "otherwise: the organisation holds their consent, recorded with the API as its "
            "source."
        ),
    ),
)
class ContactsView(Children):
    """A newsletter's contacts by address, with their lists and groups."""

    parent = "newsletter"
    input_class = NewsletterContactIn
    serializer_class = NewsletterContactOut
    queryset = Contact.objects.none()  # schema only

    def children(self, newsletter):
        filters = _valid(NewsletterContactFilterIn, self.request.query_params)
        lookups = {}
        if filters.get("list"):
            lookups["list"] = newsletter.lists.filter(pk=filters["list"]).first()
            if lookups["list"] is None:
                raise InvalidInput(fields={"list": [_("No such list here.")]})
        if filters.get("group"):
            lookups["group"] = ContactGroup.objects.filter(
                list__newsletter=newsletter, pk=filters["group"]
            ).first()
            if lookups["group"] is None:
                raise InvalidInput(fields={"group": [_("No such group here.")]})
        return selectors.contact_list(
            newsletter, status=filters.get("status") or None, search=filters.get("search"),
            fields=_field_filters(self, newsletter), **lookups,
        )  # fmt: skip

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return [_standings(contact) for contact in page] if page is not None else None

    def create(self, newsletter, data):
        return contacts.contact_create(
            access=self.access, newsletter=newsletter, source=ConsentSource.API, **data
        )

    def render(self, contact):
        return _read(self, contact)


@extend_schema_view(
    get=extend_schema(responses=NewsletterContactOut),
    patch=extend_schema(
        request=NewsletterContactIn(partial=True),
        responses={200: NewsletterContactOut, 409: CONTACT_TAKEN},
        description=gettext_lazy(
            "Changes the address, the fields given and the lists given (the others stay). "
            "A contact who left a list is not subscribed to it again: only they can, "
            "through the list's form."
        ),
    ),
    delete=extend_schema(
        responses={204: None},
        description=gettext_lazy("Forgets the contact with their history and consents."),
    ),
)
class ContactView(Detail):
    """One contact with their lists and groups."""

    kind = "contact"
    patch_class = NewsletterContactIn

    def render(self, contact):
        return _read(self, contact)

    def update(self, contact, changes):
        return contacts.contact_update(access=self.access, contact=contact, **changes)

    def remove(self, contact):
        contacts.contact_delete(access=self.access, contact=contact)
