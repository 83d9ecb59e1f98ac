"""The report of a campaign's send in the Newsletter API: `campaigns/{id}/report/` its
figures, `campaigns/{id}/recipients/` its recipients with their state (paginated, by
`state` and part of the address), and `campaigns/{id}/recipients.csv` all of them as a
CSV file. The figures and their rules are newsletter.services.reports'.

The figures and the list need the view right on the newsletter; the file, which carries
every address at once, the right to manage it, as the export of a list's contacts does."""

from django.http import StreamingHttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, renderers, serializers
from rest_framework.response import Response

from panel.api.base import StrictCharField
from panel.api.views import _valid

from ..models import CampaignRecipient, CampaignStatus, RecipientState
from ..services import reports
from .campaigns import CampaignScoped, UnderNewsletter
from .views import NewsletterScoped

# -- shapes ------------------------------------------------------------------------------------


def _rate(help_text):
    return serializers.FloatField(allow_null=True, help_text=help_text)


class ReportRecipientsOut(serializers.Serializer):
    total = serializers.IntegerField()
    pending = serializers.IntegerField(help_text=gettext_lazy("Not sent yet (or being sent)."))
    sent = serializers.IntegerField(help_text=gettext_lazy("Delivered plus bounced."))
    delivered = serializers.IntegerField(help_text=gettext_lazy("Sent and not bounced."))
    failed = serializers.IntegerField(
        help_text=gettext_lazy("Refused by the mail server while sending.")
    )
    skipped = serializers.IntegerField(
        help_text=gettext_lazy("Left the lists or bounced between scheduling and sending.")
    )


class ReportBouncesOut(serializers.Serializer):
    total = serializers.IntegerField()
    hard = serializers.IntegerField()
    soft = serializers.IntegerField()


class ReportCountsOut(serializers.Serializer):
    tracked = serializers.BooleanField(
        help_text=gettext_lazy("Whether the campaign tracked them; the figures are 0 if not.")
    )
    unique = serializers.IntegerField(
        help_text=gettext_lazy("Recipients who did it at least once (people, not machines).")
    )
    total = serializers.IntegerField(help_text=gettext_lazy("Every time, by people."))
    machine_unique = serializers.IntegerField(
        help_text=gettext_lazy(
            "Recipients for whom a machine did it (a mail privacy proxy, a link scanner), "
            "counted apart from the rates."
        )
    )
    machine_total = serializers.IntegerField()


class ReportLinkOut(serializers.Serializer):
    index = serializers.IntegerField()
    url = StrictCharField()
    unique = serializers.IntegerField()
    total = serializers.IntegerField()


class ReportRatesOut(serializers.Serializer):
    open = _rate(gettext_lazy("Unique opens over delivered; null when not tracked."))
    click = _rate(gettext_lazy("Unique clicks over delivered; null when not tracked."))
    click_to_open = _rate(gettext_lazy("Unique clicks over unique opens."))
    bounce = _rate(gettext_lazy("Bounced over sent."))
    unsubscribe = _rate(gettext_lazy("Unsubscribes over delivered."))
    complaint = _rate(gettext_lazy("Complaints over delivered."))


class ReportActivityPointOut(serializers.Serializer):
    at = serializers.DateTimeField(help_text=gettext_lazy("The start of the slot."))
    opens = serializers.IntegerField()
    clicks = serializers.IntegerField()


class ReportSendingPointOut(serializers.Serializer):
    at = serializers.DateTimeField()
    sent = serializers.IntegerField()


class ReportActivityOut(serializers.Serializer):
    step = serializers.IntegerField(
        allow_null=True, help_text=gettext_lazy("Seconds per slot; null before the send.")
    )
    points = ReportActivityPointOut(many=True)


class ReportSendingOut(serializers.Serializer):
    step = serializers.IntegerField(allow_null=True)
    points = ReportSendingPointOut(many=True)


class ReportOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    recipients = ReportRecipientsOut()
    bounces = ReportBouncesOut()
    opens = ReportCountsOut()
    clicks = ReportCountsOut()
    links = ReportLinkOut(many=True, help_text=gettext_lazy("The links of the email as sent."))
    unsubscribes = serializers.IntegerField()
    complaints = serializers.IntegerField()
    rates = ReportRatesOut(help_text=gettext_lazy("Shares from 0 to 1, of people's actions only."))
    activity = ReportActivityOut(help_text=gettext_lazy("People's opens and clicks over time."))
    sending = ReportSendingOut(help_text=gettext_lazy("Emails sent over time."))


class CampaignRecipientFilterIn(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=RecipientState.choices,
        required=False,
        help_text=gettext_lazy("pending, sending, sent, failed or skipped."),
    )
    search = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=254,
        help_text=gettext_lazy("Part of the address."),
    )


class CampaignRecipientOut(serializers.Serializer):
    id = serializers.IntegerField()
    contact = serializers.IntegerField(source="contact_id")
    email = serializers.EmailField(source="contact.email")
    state = serializers.ChoiceField(choices=RecipientState.choices)
    attempts = serializers.IntegerField()
    sent_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField(
        allow_null=True, help_text=gettext_lazy("The first open by a person.")
    )
    clicked_at = serializers.DateTimeField(
        allow_null=True, help_text=gettext_lazy("The first click by a person.")
    )
    bounce = StrictCharField(help_text=gettext_lazy("hard, soft or empty."))
    bounced_at = serializers.DateTimeField(allow_null=True)
    smtp_reply = StrictCharField(
        help_text=gettext_lazy("The mail server's answer to a failure, or the bounce's.")
    )


# -- views -------------------------------------------------------------------------------------


class ReportView(UnderNewsletter, CampaignScoped):
    """The figures of the campaign's send: delivered, bounced, opens, clicks per link,
    unsubscribes and complaints, their rates, and opens, clicks and sends over time.
    Machines' opens and clicks are counted apart and left out of the rates."""

    @extend_schema(responses=ReportOut)
    def get(self, request, org_id, campaign_id, newsletter_id=None):
        campaign = self.found("campaign")
        return Response(ReportOut(reports.campaign_report(campaign)).data)


@extend_schema(parameters=[CampaignRecipientFilterIn])
class RecipientsView(UnderNewsletter, NewsletterScoped, generics.ListAPIView):
    """The campaign's recipients in the order they were written, with their state, when
    they were sent, opened and clicked, and what came back; `state` keeps one state
    (400 naming `state` for another word), `search` the addresses holding it."""

    serializer_class = CampaignRecipientOut
    queryset = CampaignRecipient.objects.none()  # schema only

    def get_queryset(self):
        campaign = self.found("campaign")
        filters = _valid(CampaignRecipientFilterIn, self.request.query_params)
        return reports.recipients_of(
            campaign, state=filters.get("state") or None, search=filters.get("search") or None
        )


class CsvRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: text/csv`; the view writes the file itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)  # only an error gets here


class RecipientsCsvView(UnderNewsletter, CampaignScoped):
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description=gettext_lazy(
            "Every recipient as a CSV file (UTF-8): email, state, sent_at, opened_at, "
            "clicked_at (in the panel's time zone), bounce and reply. Needs the right to "
            "manage the newsletter."
        ),
    )
    def get(self, request, org_id, campaign_id, newsletter_id=None):
        campaign = self.managed("campaign")
        response = StreamingHttpResponse(
            reports.recipients_csv(campaign), content_type="text/csv; charset=utf-8"
        )
        name = f"campaign-{campaign.pk}-recipients.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


campaign = "campaigns/<int:campaign_id>/"
# Also under their newsletter, as the sending's actions are (api/sending.py).
urlpatterns = [
    route
    for prefix, tag in ((campaign, ""), ("newsletters/<int:newsletter_id>/" + campaign, "-nested"))
    for route in (
        path(prefix + "report/", ReportView.as_view(), name=f"newsletter-campaign{tag}-report"),
        path(
            prefix + "recipients/",
            RecipientsView.as_view(),
            name=f"newsletter-campaign{tag}-recipient-list",
        ),
        path(
            prefix + "recipients.csv",
            RecipientsCsvView.as_view(),
            name=f"newsletter-campaign{tag}-recipient-csv",
        ),
    )
]
