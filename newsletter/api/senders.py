"""The sender addresses of the Newsletter API: a newsletter's senders, one sender, and
sending its verification link again. The rules are newsletter/services/senders.py's.

`POST newsletters/{id}/senders/ {email, name}`: an address of one of the organisation's
Service Mails is verified at once; another one gets a verification link by mail. The
`warnings` of a sender (what in its domain's DNS would make its campaigns fail) are
asked on its own URL; the list shows those found in the last minutes, or null."""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.api.base import StrictCharField

from .. import queries
from ..models import Sender, SenderKind
from ..services import senders
from .views import Children, Detail, NewsletterScoped

# -- shapes -----------------------------------------------------------------------------------


class NewsletterSenderIn(serializers.Serializer):
    email = StrictCharField(
        max_length=254,
        help_text=gettext_lazy("Unique in the newsletter, ignoring case; it cannot change."),
    )
    # Its length is checked by the service, so that it is named with every other problem.
    name = StrictCharField(
        required=False,
        allow_blank=True,
        help_text=gettext_lazy(
            "Shown beside the address in the recipients' mailboxes; at most 120 characters."
        ),
    )


class NewsletterSenderChangeIn(serializers.Serializer):
    name = StrictCharField(required=False, allow_blank=True)


class NewsletterSenderWarningOut(serializers.Serializer):
    check = serializers.ChoiceField(choices=["spf", "dkim", "dmarc"])
    message = serializers.CharField()
    fix = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("The record to set, in zone-file form.")
    )


class NewsletterSenderOut(serializers.Serializer):
    id = serializers.IntegerField()
    newsletter = serializers.IntegerField(source="newsletter_id")
    email = serializers.EmailField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=SenderKind.choices,
        help_text=gettext_lazy(
            "service_mail: an address of one of the organisation's Service Mails, "
            "verified when added; outside: any other, verified through the link mailed "
            "to it."
        ),
    )
    verified = serializers.BooleanField(
        help_text=gettext_lazy("Only a verified sender sends campaigns.")
    )
    verified_at = serializers.DateTimeField(allow_null=True)
    verification_sent_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    warnings = NewsletterSenderWarningOut(
        many=True,
        allow_null=True,
        help_text=gettext_lazy(
            "What in the DNS of the address's domain would make its campaigns fail: "
            "asked on the sender's own URL; in a list, what was found in the last "
            "minutes, or null when the domain was not checked lately."
        ),
    )


def _out(sender: Sender, warnings) -> dict:
    sender.warnings = warnings
    return NewsletterSenderOut(sender).data


def _cached(sender: Sender) -> dict:
    return _out(sender, senders.cached_warnings([sender])[sender.pk])


# -- views ------------------------------------------------------------------------------------

SENDER_TAKEN = OpenApiResponse(
    description=gettext_lazy("`already_exists`: the newsletter has this sender, in any case.")
)


@extend_schema_view(
    post=extend_schema(
        request=NewsletterSenderIn,
        responses={201: NewsletterSenderOut, 409: SENDER_TAKEN},
        description=gettext_lazy(
            "Adds a sender address. An address of one of the organisation's Service Mails "
            "is verified at once; any other one is mailed a link that verifies it, valid "
            "for 7 days."
        ),
    ),
)
class SendersView(Children):
    """A newsletter's sender addresses, by address, with whether each is verified."""

    parent = "newsletter"
    input_class = NewsletterSenderIn
    serializer_class = NewsletterSenderOut
    queryset = Sender.objects.none()  # schema only

    def children(self, newsletter):
        return queries.senders_of(newsletter)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is None:
            return None
        found = senders.cached_warnings(page)
        for sender in page:
            sender.warnings = found[sender.pk]
        return page

    def create(self, newsletter, data):
        return senders.sender_create(access=self.access, newsletter=newsletter, **data)

    def render(self, sender):
        return _cached(sender)


@extend_schema_view(
    get=extend_schema(
        responses=NewsletterSenderOut,
        description=gettext_lazy(
            "The sender, with the warnings found now in the DNS of its domain."
        ),
    ),
    patch=extend_schema(
        request=NewsletterSenderChangeIn,
        responses=NewsletterSenderOut,
        description=gettext_lazy("Changes the sender's name; its address does not change."),
    ),
    delete=extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(
                description=gettext_lazy(
                    "`sender_in_use`: a scheduled campaign is sent from this address."
                )
            ),
        },
        description=gettext_lazy(
            "Deletes the sender; the draft campaigns using it lose their sender."
        ),
    ),
)
class SenderView(Detail):
    """One sender address."""

    kind = "sender"
    patch_class = NewsletterSenderChangeIn

    def render(self, sender):
        if self.request.method == "GET":
            return _out(sender, senders.sender_warnings(sender, access=self.access))
        return _cached(sender)

    def update(self, sender, changes):
        return senders.sender_update(access=self.access, sender=sender, **changes)

    def remove(self, sender):
        senders.sender_delete(access=self.access, sender=sender)


class SenderVerificationView(NewsletterScoped, APIView):
    """Mails the verification link of an outside address again."""

    @extend_schema(
        request=None,
        responses={
            200: NewsletterSenderOut,
            409: OpenApiResponse(description=gettext_lazy("`already_verified`.")),
            429: OpenApiResponse(
                description=gettext_lazy(
                    "`too_soon`: the link was sent less than 5 minutes ago (see Retry-After)."
                )
            ),
        },
    )
    def post(self, request, org_id, sender_id):
        sender = self.managed("sender")
        sender = senders.sender_verification_send(access=self.access, sender=sender)
        return Response(_cached(sender))
