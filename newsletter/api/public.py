"""The newsletter's public API, under /api/v1/ (panel/api/urls.py), for a site that builds
its own subscription form: a list's form and signing up to it, following a confirmation
link, a contact's preferences and unsubscribing. Nobody has an account here: each
endpoint is reached only through the signed token of a link (newsletter/links.py), and
every client address is limited to NEWSLETTER_FORM_RATE requests (429 beyond, with
Retry-After), counted together with the public pages' forms. A token tampered with, made
for another purpose or naming what is gone answers the 404 of an unknown address, word
for word; nothing is cached, the token being in the address. The rules are
services/subscriptions.py's, shared with the public pages."""

import ipaddress

from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.api.base import DB_INT_MAX, StrictCharField
from panel.api.parsers import SafeJSONParser
from panel.api.throttling import ClientAddressRateThrottle
from panel.api.views import _valid
from panel.errors import NotFound
from panel.views.errors import api_not_found

from .. import links
from ..models import SubscriptionStatus
from ..services import subscriptions


class PublicRateThrottle(ClientAddressRateThrottle):
    """`NEWSLETTER_FORM_RATE` requests per client address; the public pages
    (views/public.py) count their form posts in the same bucket."""

    scope = "newsletter_public"
    rate_setting = "NEWSLETTER_FORM_RATE"


def client_ip(request) -> str | None:
    """The client's address as the rate limit sees it, when it is an IP address."""
    ident = PublicRateThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(ident.strip()))
    except ValueError:
        return None


def user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]


def _body(request) -> dict:
    return request.data if isinstance(request.data, dict) else {}


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]
    parser_classes = [SafeJSONParser]

    def handle_exception(self, exc):
        if isinstance(exc, NotFound):
            return api_not_found(self.request._request)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response


def _field_data(field, value=None) -> dict:
    data = {"key": field.key, "label": field.label, "type": field.type}
    if field.choices:
        data["choices"] = list(field.choices)
    if value is not None:
        data["value"] = value
    return data


_FIELD = inline_serializer(
    "NewsletterPublicField",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "type": serializers.ChoiceField(["text", "number", "date", "yes_no", "choice"]),
        "choices": serializers.ListField(child=serializers.CharField(), required=False),
        "value": serializers.JSONField(required=False),
    },
    many=True,
)
_DETAIL = inline_serializer("NewsletterPublicDetail", {"detail": serializers.CharField()})


class SignUpIn(serializers.Serializer):
    """The shape only: the address and the values are checked by the service, every
    problem at once."""

    email = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    fields = serializers.DictField(required=False)
    #: the honeypot: empty, or not sent at all
    website = StrictCharField(required=False, allow_blank=True)
    #: the page the form is on, kept with the consent
    page = StrictCharField(required=False, allow_blank=True)


class PreferencesIn(serializers.Serializer):
    fields = serializers.DictField(required=False)
    lists = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=DB_INT_MAX), required=False
    )
    leave_all = serializers.BooleanField(required=False)


class FormView(PublicView):
    @extend_schema(
        responses=inline_serializer(
            "NewsletterPublicForm",
            {
                "newsletter": serializers.CharField(),
                "list": serializers.CharField(),
                "description": serializers.CharField(),
                "fields": _FIELD,
                "honeypot": serializers.CharField(),
                "consent": serializers.CharField(),
                "url": serializers.URLField(),
            },
        )
    )
    def get(self, request, form_token):
        """What a list's form asks: the address, then each of `fields`. `honeypot` names
        a field to send empty (hide it from people; robots fill it in)."""
        contact_list = links.form_list_from(form_token)
        newsletter = contact_list.newsletter
        return Response(
            {
                "newsletter": newsletter.name,
                "list": contact_list.name,
                "description": contact_list.description,
                "fields": [
                    _field_data(f) for f in subscriptions.form_fields_of(contact_list).values()
                ],
                "honeypot": links.HONEYPOT,
                "consent": links.consent_sentence(newsletter),
                "url": links.form_url(contact_list),
            }
        )

    @extend_schema(
        request=SignUpIn,
        responses={
            202: _DETAIL,
            400: OpenApiResponse(description="`email` or `fields.<key>` at fault, all at once."),
        },
    )
    def post(self, request, form_token):
        """Signs an address up: it gets an email whose link confirms the subscription
        (202; nothing is subscribed before). `page` is where your form is, kept with the
        consent. The answer is the same whether the address was known or not."""
        contact_list = links.form_list_from(form_token)
        body = _valid(SignUpIn, _body(request))
        page = body.get("page") or request.META.get("HTTP_REFERER") or "API"
        subscriptions.form_subscribe(
            contact_list,
            {"email": body.get("email"), "fields": body.get("fields"),
             links.HONEYPOT: body.get("website", "")},
            ip=client_ip(request), user_agent=user_agent(request), page=page,
        )  # fmt: skip
        return Response(
            {"detail": _("Check your inbox: follow the link we sent to confirm.")},
            status=status.HTTP_202_ACCEPTED,
        )


class ConfirmView(PublicView):
    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "NewsletterPublicConfirmed",
                {
                    "list": serializers.CharField(),
                    "status": serializers.CharField(),
                    "already": serializers.BooleanField(),
                },
            ),  # fmt: skip
            409: OpenApiResponse(description="`not_pending`: the contact left the list since."),
            410: OpenApiResponse(description="`link_expired`: sign up again."),
        },
    )
    def post(self, request, confirm_token):
        """Confirms the sign-up of a confirmation link: the address is subscribed from
        now on. Again, it changes nothing (`already`)."""
        ip = client_ip(request)
        _contact, contact_list, already = subscriptions.confirm(confirm_token, ip=ip)
        return Response(
            {"list": contact_list.name, "status": SubscriptionStatus.SUBSCRIBED, "already": already}
        )


def _preferences(contact) -> dict:
    return {
        "email": contact.email,
        "newsletter": contact.newsletter.name,
        "fields": [
            _field_data(f, contact.fields.get(f.key))
            for f in subscriptions.preference_fields(contact)
        ],
        "lists": [
            {"id": s.list_id, "name": s.list.name, "status": s.status}
            for s in subscriptions.preference_lists(contact)
        ],
    }


_PREFERENCES = inline_serializer(
    "NewsletterPublicPreferences",
    {
        "email": serializers.EmailField(),
        "newsletter": serializers.CharField(),
        "fields": _FIELD,
        "lists": inline_serializer(
            "NewsletterPublicStanding",
            {
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "status": serializers.ChoiceField(SubscriptionStatus.values),
            },
            many=True,
        ),  # fmt: skip
    },
)


class PreferencesView(PublicView):
    @extend_schema(responses=_PREFERENCES)
    def get(self, request, preferences_token):
        """A contact's fields (those their lists' forms ask) and their lists with their
        status."""
        return Response(_preferences(links.preferences_contact_from(preferences_token)))

    @extend_schema(
        request=PreferencesIn,
        responses=_PREFERENCES,
    )
    def patch(self, request, preferences_token):
        """Changes the `fields` given (an empty value removes one); `lists` are the ids of
        the contact's lists to be subscribed to, the others are left; `leave_all`
        unsubscribes from every list. 400 names every field at fault."""
        contact = links.preferences_contact_from(preferences_token)
        subscriptions.preferences_update(
            contact, _valid(PreferencesIn, _body(request)), ip=client_ip(request),
            user_agent=user_agent(request), page="API",
        )  # fmt: skip
        contact.refresh_from_db()
        return Response(_preferences(contact))


_LISTS = inline_serializer(
    "NewsletterPublicLists", {"lists": serializers.ListField(child=serializers.CharField())}
)


class UnsubscribeView(PublicView):
    #: Never limited: a campaign's recipients at one provider share its few addresses.
    throttle_classes: list = []

    @extend_schema(responses=_LISTS)
    def get(self, request, unsubscribe_token):
        """The lists this link would unsubscribe from (empty: none is receiving)."""
        contact, campaign_id = links.unsubscribe_target_from(unsubscribe_token)
        scope = subscriptions.unsubscribe_scope(contact, campaign_id)
        return Response({"lists": [s.list.name for s in scope]})

    @extend_schema(request=None, responses=_LISTS)
    def post(self, request, unsubscribe_token):
        """Unsubscribes at once from those lists; `lists` are the ones left. Twice
        changes nothing."""
        contact, campaign_id = links.unsubscribe_target_from(unsubscribe_token)
        scope = subscriptions.unsubscribe_scope(contact, campaign_id)
        left = subscriptions.unsubscribe(
            contact, [s.list_id for s in scope], campaign_id=campaign_id
        )
        return Response({"lists": [li.name for li in left]})


urlpatterns = [
    path("newsletter-forms/<str:form_token>/", FormView.as_view(), name="newsletter-form"),
    path(
        "newsletter-links/confirm/<str:confirm_token>/",
        ConfirmView.as_view(),
        name="newsletter-link-confirm",
    ),
    path(
        "newsletter-links/preferences/<str:preferences_token>/",
        PreferencesView.as_view(),
        name="newsletter-link-preferences",
    ),
    path(
        "newsletter-links/unsubscribe/<str:unsubscribe_token>/",
        UnsubscribeView.as_view(),
        name="newsletter-link-unsubscribe",
    ),
]
