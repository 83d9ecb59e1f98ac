"""Newsletter API views: look the object up through newsletter.queries (404 unless its
newsletter is visible), call a newsletter service, answer.

A nested object is created under its parent (`POST newsletters/3/lists/`) and then lives
at its own flat URL (`lists/9/`). The services hold the rules and check the rights; the
views ask the same rights first so that every answer keeps the order 401, 404, 403,
then 400."""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response

from panel.api import nested
from panel.api.base import OrganisationScoped, confirm_name, confirm_name_parameter
from panel.api.views import _valid

from .. import queries, selectors, services
from ..models import (
    Campaign,
    Contact,
    ContactField,
    ContactGroup,
    ContactList,
    Newsletter,
    Sender,
    Template,
)
from . import serializers as s

#: The attributes leading from each object to its newsletter.
NEWSLETTER_PATHS = {
    Newsletter: (),
    ContactField: ("newsletter",),
    ContactList: ("newsletter",),
    ContactGroup: ("list", "newsletter"),
    Contact: ("newsletter",),
    Campaign: ("newsletter",),
    Template: ("newsletter",),
    Sender: ("newsletter",),
}

#: kind -> (its id's keyword in the URL, the lookup answering NotFound unless visible).
LOOKUPS = {
    "newsletter": ("newsletter_id", queries.newsletter_for),
    "field": ("contact_field_id", queries.field_for),
    "list": ("list_id", queries.list_for),
    "group": ("group_id", queries.group_for),
    "contact": ("contact_id", selectors.contact_for),
    "campaign": ("campaign_id", queries.campaign_for),
    "template": ("template_id", queries.template_for),
    "sender": ("sender_id", queries.sender_for),
}


def newsletter_of(obj) -> Newsletter:
    for name in NEWSLETTER_PATHS[type(obj)]:
        obj = getattr(obj, name)
    return obj


class NewsletterScoped(nested.ProductScoped):
    """Views under /newsletter/: the object named in the URL, found through LOOKUPS (404
    unless its newsletter is visible), managed with the right to manage its newsletter."""

    def lookup(self, kind: str):
        keyword, find = LOOKUPS[kind]
        return find(self.access, self.kwargs[keyword])

    def product_of(self, obj):
        return newsletter_of(obj)


class Children(NewsletterScoped, nested.Children):
    pass


class Detail(NewsletterScoped, nested.Detail):
    pass


# -- the shapes with counts, read again after a write ------------------------------------------


def _newsletter_out(view, newsletter) -> dict:
    return s.NewsletterOut(queries.newsletter_for(view.access, newsletter.pk)).data


def _list_out(view, contact_list) -> dict:
    return s.NewsletterListOut(queries.list_for(view.access, contact_list.pk)).data


def _group_out(view, group) -> dict:
    return s.NewsletterGroupOut(queries.group_for(view.access, group.pk)).data


# -- newsletters -------------------------------------------------------------------------------


class NewslettersView(OrganisationScoped, generics.ListAPIView):
    """The newsletters the person sees through a grant (all of them for administrators),
    by name, with how many lists and contacts each has."""

    serializer_class = s.NewsletterOut
    queryset = Newsletter.objects.none()  # schema only

    def get_queryset(self):
        return queries.newsletters_for(self.access)

    @extend_schema(
        request=s.NewsletterIn,
        responses={201: s.NewsletterOut},
        description=gettext_lazy("Creates a newsletter product; an administrator act."),
    )
    def post(self, request, org_id):
        self.access.require_billing()
        data = _valid(s.NewsletterIn, request.data)
        newsletter = services.newsletter_create(access=self.access, **data)
        return Response(_newsletter_out(self, newsletter), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses=s.NewsletterOut),
    patch=extend_schema(
        request=s.NewsletterIn(partial=True),
        responses=s.NewsletterOut,
        description=gettext_lazy("Renames the newsletter."),
    ),
)
class NewsletterView(Detail):
    """One newsletter product, with how many lists and contacts it has."""

    kind = "newsletter"
    patch_class = s.NewsletterIn

    def render(self, newsletter):
        return _newsletter_out(self, newsletter)

    def update(self, newsletter, changes):
        return services.newsletter_update(access=self.access, newsletter=newsletter, **changes)

    @extend_schema(
        request=s.NewsletterDeleteIn,
        parameters=[confirm_name_parameter(s.NewsletterDeleteIn)],
        responses={204: None},
        description=gettext_lazy(
            "Deletes the newsletter with its contacts, lists, groups and fields; an "
            "administrator act. Send `confirm_name` (the newsletter's name) in the body or "
            "the query string."
        ),
    )
    def delete(self, request, org_id, newsletter_id):
        newsletter = self.found("newsletter")
        self.access.require_billing(newsletter)
        confirm = confirm_name(request, s.NewsletterDeleteIn)
        services.newsletter_delete(access=self.access, newsletter=newsletter, confirm_name=confirm)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- fields ------------------------------------------------------------------------------------

KEY_TAKEN = OpenApiResponse(
    description=gettext_lazy("`already_exists`: another field of the newsletter has this key.")
)


@extend_schema_view(
    post=extend_schema(
        request=s.NewsletterFieldIn,
        responses={201: s.NewsletterFieldOut, 409: KEY_TAKEN},
        description=gettext_lazy(
            "Adds a custom field to the newsletter's contacts; its key is the variable "
            "that writes its value in a campaign."
        ),
    ),
)
class FieldsView(Children):
    """The custom fields of a newsletter's contacts, by position, then label."""

    parent = "newsletter"
    input_class = s.NewsletterFieldIn
    serializer_class = s.NewsletterFieldOut
    queryset = ContactField.objects.none()  # schema only

    def children(self, newsletter):
        return queries.fields_of(newsletter)

    def create(self, newsletter, data):
        return services.field_create(access=self.access, newsletter=newsletter, **data)


@extend_schema_view(
    get=extend_schema(responses=s.NewsletterFieldOut),
    patch=extend_schema(
        request=s.NewsletterFieldIn(partial=True),
        responses={200: s.NewsletterFieldOut, 409: KEY_TAKEN},
        description=gettext_lazy(
            "Changes the field. Once contacts have a value for it, its key and type stay "
            "as they are and a choice they hold cannot be taken away (400 naming them)."
        ),
    ),
    delete=extend_schema(
        responses={204: None},
        description=gettext_lazy(
            "Deletes the field and its value on every contact; the lists' forms stop asking it."
        ),
    ),
)
class FieldView(Detail):
    """One custom field."""

    kind = "field"
    patch_class = s.NewsletterFieldIn

    def render(self, field):
        return s.NewsletterFieldOut(field).data

    def update(self, field, changes):
        return services.field_update(access=self.access, field=field, **changes)

    def remove(self, field):
        services.field_delete(access=self.access, field=field)


# -- lists -------------------------------------------------------------------------------------

LIST_TAKEN = OpenApiResponse(
    description=gettext_lazy("`already_exists`: another list of the newsletter has this name.")
)


@extend_schema_view(
    post=extend_schema(
        request=s.NewsletterListIn,
        responses={201: s.NewsletterListOut, 409: LIST_TAKEN},
        description=gettext_lazy("Adds a list to the newsletter."),
    ),
)
class ListsView(Children):
    """The lists of a newsletter, by name, each with how many contacts are subscribed."""

    parent = "newsletter"
    input_class = s.NewsletterListIn
    serializer_class = s.NewsletterListOut
    queryset = ContactList.objects.none()  # schema only

    def children(self, newsletter):
        return queries.lists_of(newsletter)

    def create(self, newsletter, data):
        return services.list_create(access=self.access, newsletter=newsletter, **data)

    def render(self, contact_list):
        return _list_out(self, contact_list)


@extend_schema_view(
    get=extend_schema(responses=s.NewsletterListOut),
    patch=extend_schema(
        request=s.NewsletterListIn(partial=True),
        responses={200: s.NewsletterListOut, 409: LIST_TAKEN},
    ),
    delete=extend_schema(
        responses={204: None},
        description=gettext_lazy(
            "Deletes the list with its groups and every contact's standing on it; the "
            "contacts stay in the newsletter."
        ),
    ),
)
class ListView(Detail):
    """One list, with how many contacts are subscribed to it."""

    kind = "list"
    patch_class = s.NewsletterListIn

    def render(self, contact_list):
        return _list_out(self, contact_list)

    def update(self, contact_list, changes):
        return services.list_update(access=self.access, contact_list=contact_list, **changes)

    def remove(self, contact_list):
        services.list_delete(access=self.access, contact_list=contact_list)


# -- groups ------------------------------------------------------------------------------------

GROUP_TAKEN = OpenApiResponse(
    description=gettext_lazy("`already_exists`: another group of the list has this name.")
)


@extend_schema_view(
    post=extend_schema(
        request=s.NewsletterGroupIn,
        responses={201: s.NewsletterGroupOut, 409: GROUP_TAKEN},
        description=gettext_lazy("Adds a group to the list, such as “VIP”."),
    ),
)
class GroupsView(Children):
    """The groups of a list, by name, each with how many contacts are in it and how many
    of them are subscribed to the list."""

    parent = "list"
    input_class = s.NewsletterGroupIn
    serializer_class = s.NewsletterGroupOut
    queryset = ContactGroup.objects.none()  # schema only

    def children(self, contact_list):
        return queries.groups_of(contact_list)

    def create(self, contact_list, data):
        return services.group_create(access=self.access, contact_list=contact_list, **data)

    def render(self, group):
        return _group_out(self, group)


@extend_schema_view(
    get=extend_schema(responses=s.NewsletterGroupOut),
    patch=extend_schema(
        request=s.NewsletterGroupIn(partial=True),
        responses={200: s.NewsletterGroupOut, 409: GROUP_TAKEN},
    ),
    delete=extend_schema(
        responses={204: None},
        description=gettext_lazy("Deletes the group; its contacts stay on the list."),
    ),
)
class GroupView(Detail):
    """One group of a list."""

    kind = "group"
    patch_class = s.NewsletterGroupIn

    def render(self, group):
        return _group_out(self, group)

    def update(self, group, changes):
        return services.group_update(access=self.access, group=group, **changes)

    def remove(self, group):
        services.group_delete(access=self.access, group=group)
