"""The send of a campaign in the Newsletter API: `campaigns/{id}/send/` starts it (202
with its Job: `done`/`total` are recipients), `pause/`, `resume/` and `cancel/` steer it,
and `quota/` tells the account's hourly quota. The same actions are also under their
newsletter (`newsletters/{id}/campaigns/{id}/send/` ...), where a campaign of another
newsletter is 404. The rules are newsletter.services.sending's."""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.api.base import OrganisationScoped
from panel.api.serializers import JobAcceptedOut, JobOut

from ..services import sending
from .campaigns import CampaignDetailOut, CampaignScoped, CampaignView, UnderNewsletter, _fresh


class QuotaOut(serializers.Serializer):
    hourly_quota = serializers.IntegerField(
        help_text=gettext_lazy("Emails per hour the account's campaigns may send, together.")
    )
    used_last_hour = serializers.IntegerField()
    global_rate = serializers.FloatField(
        help_text=gettext_lazy("Emails per second the whole platform sends at most.")
    )


class SendingScoped(UnderNewsletter, CampaignScoped):
    pass


class NestedCampaignView(UnderNewsletter, CampaignView):
    """A campaign at `newsletters/{id}/campaigns/{id}/`, as at `campaigns/{id}/`."""


class SendView(SendingScoped):
    """Starts sending now: a draft once everything is right (400 naming every problem),
    a scheduled campaign before its time, or an overdue one (its confirmation). 409
    `already_started` afterwards."""

    @extend_schema(request=None, responses={202: JobAcceptedOut})
    def post(self, request, org_id, campaign_id, newsletter_id=None):
        campaign = self.managed("campaign")
        job = sending.campaign_send(access=self.access, campaign=campaign)
        return Response(
            {"job": JobOut(job, context={"request": request}).data},
            status=status.HTTP_202_ACCEPTED,
        )


class _Steer(SendingScoped):
    act = None

    @extend_schema(request=None, responses=CampaignDetailOut)
    def post(self, request, org_id, campaign_id, newsletter_id=None):
        campaign = self.managed("campaign")
        campaign = type(self).act(access=self.access, campaign=campaign)
        return Response(CampaignDetailOut(_fresh(campaign)).data)


class PauseView(_Steer):
    """Pauses the sending within seconds (409 `not_sending` unless it is being sent)."""

    act = staticmethod(sending.campaign_pause)


class ResumeView(_Steer):
    """Continues a paused sending where it stopped (409 `not_paused`)."""

    act = staticmethod(sending.campaign_resume)


class CancelView(_Steer):
    """Stops for good: recipients not sent yet never will be (409 `not_cancellable`)."""

    act = staticmethod(sending.campaign_cancel)


class QuotaView(OrganisationScoped, APIView):
    """The account's hourly quota (from its newsletters' plans), what its campaigns
    sent in the last hour, and the platform's global volume."""

    @extend_schema(responses=QuotaOut)
    def get(self, request, org_id):
        return Response(sending.quota_usage(self.organisation.pk))
