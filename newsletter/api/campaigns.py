"""Campaigns and templates of the Newsletter API: a draft is created under its newsletter
(`POST newsletters/3/campaigns/`) and then lives at `campaigns/12/`, with its recipient
count, its preview for a contact, a test send and its schedule. The built-in themes are
at `themes/`. Shapes are checked here; the rules are newsletter.services.campaigns'."""

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.api.base import OrganisationScoped, StrictCharField
from panel.api.views import _valid
from panel.errors import InvalidInput, NotFound

from .. import queries, rendering, selectors
from ..models import Campaign, CampaignStatus, Template
from ..services import campaigns as campaign_services
from ..services import sending as sending_services
from ..services import templates as template_services
from .views import Children, Detail, NewsletterScoped

# -- shapes ------------------------------------------------------------------------------------


class UtmSerializer(serializers.Serializer):
    source = StrictCharField(allow_blank=True, required=False)
    medium = StrictCharField(allow_blank=True, required=False)
    campaign = StrictCharField(allow_blank=True, required=False)


class CampaignIn(serializers.Serializer):
    title = StrictCharField(max_length=campaign_services.TITLE_MAX)
    preview_text = StrictCharField(required=False, allow_blank=True)
    sender = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    reply_to = StrictCharField(required=False, allow_blank=True)
    language = StrictCharField(required=False)
    track_opens = serializers.BooleanField(required=False)
    track_clicks = serializers.BooleanField(required=False)
    utm = serializers.DictField(
        child=StrictCharField(allow_blank=True),
        required=False,
        help_text=gettext_lazy("`source`, `medium` and `campaign`, added to every link."),
    )
    theme = StrictCharField(required=False, allow_blank=True)
    template = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    content = serializers.JSONField(
        required=False,
        help_text=gettext_lazy("`{blocks: [...]}`: heading, text, image, button, divider, "
                               "columns, social, footer and html blocks."),
    )  # fmt: skip
    lists = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    include_groups = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text=gettext_lazy("Empty: everyone subscribed to the lists."),
    )
    exclude_groups = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False
    )


class CampaignOut(serializers.Serializer):
    id = serializers.IntegerField()
    newsletter = serializers.IntegerField(source="newsletter_id")
    title = StrictCharField()
    preview_text = StrictCharField()
    sender = serializers.IntegerField(source="sender_id", allow_null=True)
    sender_email = serializers.SerializerMethodField()
    reply_to = StrictCharField()
    language = StrictCharField()
    track_opens = serializers.BooleanField()
    track_clicks = serializers.BooleanField()
    utm = serializers.DictField(child=StrictCharField())
    theme = StrictCharField()
    template = serializers.IntegerField(source="template_id", allow_null=True)
    content = serializers.JSONField()
    lists = serializers.SerializerMethodField()
    include_groups = serializers.SerializerMethodField()
    exclude_groups = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    scheduled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_sender_email(self, campaign) -> str | None:
        return campaign.sender.email if campaign.sender_id else None

    def _ids(self, campaign, field) -> list[int]:
        return sorted(item.pk for item in getattr(campaign, field).all())

    def get_lists(self, campaign) -> list[int]:
        return self._ids(campaign, "lists")

    def get_include_groups(self, campaign) -> list[int]:
        return self._ids(campaign, "include_groups")

    def get_exclude_groups(self, campaign) -> list[int]:
        return self._ids(campaign, "exclude_groups")


class ProblemOut(serializers.Serializer):
    field = StrictCharField()
    message = StrictCharField()


class CampaignDetailOut(CampaignOut):
    problems = serializers.SerializerMethodField(
        help_text=gettext_lazy("What stops the campaign from being scheduled, all at once.")
    )
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    job = serializers.IntegerField(source="send_job_id", allow_null=True)
    sent = serializers.SerializerMethodField()
    pending = serializers.SerializerMethodField()
    failed = serializers.SerializerMethodField()
    skipped = serializers.SerializerMethodField()
    rate_per_hour = serializers.SerializerMethodField()
    estimated_end = serializers.SerializerMethodField()

    def get_problems(self, campaign) -> list[dict]:
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            return []
        return campaign_services.campaign_problems(campaign)

    def _progress(self, campaign) -> dict:
        if not hasattr(campaign, "_progress"):
            campaign._progress = sending_services.campaign_progress(campaign)
        return campaign._progress

    def get_sent(self, campaign) -> int:
        return self._progress(campaign)["sent"]

    def get_pending(self, campaign) -> int:
        return self._progress(campaign)["pending"]

    def get_failed(self, campaign) -> int:
        return self._progress(campaign)["failed"]

    def get_skipped(self, campaign) -> int:
        return self._progress(campaign)["skipped"]

    def get_rate_per_hour(self, campaign) -> int:
        return self._progress(campaign)["rate_per_hour"]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_estimated_end(self, campaign):
        end = self._progress(campaign)["estimated_end"]
        return serializers.DateTimeField().to_representation(end) if end else None


class CountOut(serializers.Serializer):
    count = serializers.IntegerField()


class PreviewOut(serializers.Serializer):
    subject = StrictCharField()
    html = StrictCharField()
    text = StrictCharField()
    problems = ProblemOut(many=True)


class TestIn(serializers.Serializer):
    emails = serializers.ListField(child=StrictCharField(), min_length=1)
    contact = serializers.IntegerField(required=False, min_value=1)


class TestOut(serializers.Serializer):
    sent_to = serializers.ListField(child=StrictCharField())


class ScheduleIn(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("When to send; now when left out."),
    )


class TemplateIn(serializers.Serializer):
    name = StrictCharField(max_length=template_services.NAME_MAX)
    theme = StrictCharField(required=False)
    content = serializers.JSONField(required=False)
    campaign = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=gettext_lazy("Save this campaign's theme and blocks as the template."),
    )


class TemplatePatchIn(serializers.Serializer):
    name = StrictCharField(max_length=template_services.NAME_MAX, required=False)
    theme = StrictCharField(required=False)
    content = serializers.JSONField(required=False)


class TemplateOut(serializers.Serializer):
    id = serializers.IntegerField()
    newsletter = serializers.IntegerField(source="newsletter_id")
    name = StrictCharField()
    theme = StrictCharField()
    content = serializers.JSONField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ThemeOut(serializers.Serializer):
    key = StrictCharField()
    name = StrictCharField()
    description = StrictCharField()


# -- campaigns ---------------------------------------------------------------------------------

RELATIONS_PREFETCHED = ("lists", "include_groups", "exclude_groups")


def _fresh(campaign: Campaign) -> Campaign:
    return (
        queries.campaigns_of(campaign.newsletter)
        .prefetch_related(*RELATIONS_PREFETCHED)
        .get(pk=campaign.pk)
    )


@extend_schema_view(
    post=extend_schema(
        request=CampaignIn,
        responses={201: CampaignDetailOut},
        description=gettext_lazy(
            "Creates a draft campaign; only `title` is needed, everything is checked when "
            "it is scheduled. A `theme` brings its starter blocks, a `template` its theme "
            "and blocks."
        ),
    ),
)
class CampaignsView(Children):
    """The campaigns of a newsletter, latest first."""

    parent = "newsletter"
    input_class = CampaignIn
    serializer_class = CampaignOut
    queryset = Campaign.objects.none()  # schema only

    def children(self, newsletter):
        return queries.campaigns_of(newsletter).prefetch_related(*RELATIONS_PREFETCHED)

    def create(self, newsletter, data):
        return campaign_services.campaign_create(access=self.access, newsletter=newsletter, **data)

    def render(self, campaign):
        return CampaignDetailOut(_fresh(campaign)).data


@extend_schema_view(
    get=extend_schema(responses=CampaignDetailOut),
    patch=extend_schema(
        request=CampaignIn(partial=True),
        responses=CampaignDetailOut,
        description=gettext_lazy("Changes a draft (409 `not_draft` for any other campaign)."),
    ),
    delete=extend_schema(
        responses={204: None},
        description=gettext_lazy("Deletes a campaign that has not been sent."),
    ),
)
class CampaignView(Detail):
    """One campaign, with what stops it from being scheduled (`problems`)."""

    kind = "campaign"
    patch_class = CampaignIn

    def render(self, campaign):
        return CampaignDetailOut(_fresh(campaign)).data

    def update(self, campaign, changes):
        return campaign_services.campaign_update(access=self.access, campaign=campaign, **changes)

    def remove(self, campaign):
        campaign_services.campaign_delete(access=self.access, campaign=campaign)


def _ids_parameter(name: str, description) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, description=description)


class SelectionIn(serializers.Serializer):
    lists = StrictCharField(required=False, allow_blank=True)
    include_groups = StrictCharField(required=False, allow_blank=True)
    exclude_groups = StrictCharField(required=False, allow_blank=True)


def _id_list(text: str, field: str) -> list[int]:
    parts = [part for part in text.replace(" ", "").split(",") if part]
    if not all(part.isdigit() for part in parts):
        raise InvalidInput(fields={field: [gettext_lazy("Give ids separated by commas.")]})
    return [int(part) for part in parts]


class CampaignScoped(NewsletterScoped, APIView):
    """The actions of the campaign named in the URL."""


class UnderNewsletter:
    """The campaign of the URL; under a newsletter's URL, only one of that newsletter."""

    def lookup(self, kind: str):
        found = super().lookup(kind)
        under = self.kwargs.get("newsletter_id")
        if kind == "campaign" and under is not None and found.newsletter_id != under:
            raise NotFound()
        return found


class RecipientCountView(CampaignScoped):
    """How many contacts would receive the campaign, each counted once: its saved lists
    and groups, or a selection given in the query string (ids separated by commas), to
    count before saving it."""

    @extend_schema(
        parameters=[
            _ids_parameter("lists", gettext_lazy("Lists to count instead of the saved ones.")),
            _ids_parameter("include_groups", gettext_lazy("Groups to include instead.")),
            _ids_parameter("exclude_groups", gettext_lazy("Groups to exclude instead.")),
        ],
        responses=CountOut,
    )
    def get(self, request, org_id, campaign_id):
        campaign = self.found("campaign")
        selection = _valid(SelectionIn, request.query_params)
        chosen = {field: _id_list(text, field) for field, text in selection.items()}
        return Response({"count": campaign_services.selection_count(campaign, **chosen)})


class ContactIn(serializers.Serializer):
    contact = serializers.IntegerField(required=False, min_value=1)


def _contact_of(view, campaign, contact_id):
    if contact_id is None:
        return None
    contact = selectors.contact_for(view.access, contact_id)
    if contact.newsletter_id != campaign.newsletter_id:
        raise NotFound()
    return contact


class PreviewView(CampaignScoped):
    """The email as a contact receives it (`?contact=` its id; sample values otherwise),
    with the problems of its content (unknown variables)."""

    @extend_schema(parameters=[OpenApiParameter("contact", OpenApiTypes.INT)], responses=PreviewOut)
    def get(self, request, org_id, campaign_id):
        campaign = self.found("campaign")
        contact = _contact_of(
            self, campaign, _valid(ContactIn, request.query_params).get("contact")
        )
        rendered = campaign_services.render_for(campaign, contact)
        return Response(
            {
                "subject": rendered.subject,
                "html": rendered.html,
                "text": rendered.text,
                "problems": campaign_services.content_problems(campaign),
            }
        )


class TestSendView(CampaignScoped):
    """Sends the campaign now to the addresses given, marked as a test and counted
    nowhere, as `contact` would receive it."""

    @extend_schema(request=TestIn, responses=TestOut)
    def post(self, request, org_id, campaign_id):
        campaign = self.managed("campaign")
        data = _valid(TestIn, request.data)
        contact = _contact_of(self, campaign, data.get("contact"))
        sent = campaign_services.campaign_test_send(
            access=self.access, campaign=campaign, emails=data["emails"], contact=contact
        )
        return Response({"sent_to": sent})


class ScheduleView(CampaignScoped):
    """POST schedules the draft (now, or `at`), once everything is right (400 naming
    every problem); DELETE puts a scheduled campaign back to draft."""

    @extend_schema(request=ScheduleIn, responses=CampaignDetailOut)
    def post(self, request, org_id, campaign_id):
        campaign = self.managed("campaign")
        at = _valid(ScheduleIn, request.data).get("at")
        campaign = campaign_services.campaign_schedule(access=self.access, campaign=campaign, at=at)
        return Response(self.render(campaign))

    @extend_schema(request=None, responses=CampaignDetailOut)
    def delete(self, request, org_id, campaign_id):
        campaign = self.managed("campaign")
        campaign = campaign_services.campaign_unschedule(access=self.access, campaign=campaign)
        return Response(self.render(campaign))

    def render(self, campaign):
        return CampaignDetailOut(_fresh(campaign)).data


# -- templates and themes ------------------------------------------------------------------------


@extend_schema_view(
    post=extend_schema(
        request=TemplateIn,
        responses={201: TemplateOut},
        description=gettext_lazy(
            "Saves a template: `{name, theme, content?}`, or `{name, campaign}` to keep a "
            "campaign's design."
        ),
    ),
)
class TemplatesView(Children):
    """The newsletter's saved templates, by name."""

    parent = "newsletter"
    input_class = TemplateIn
    serializer_class = TemplateOut
    queryset = Template.objects.none()  # schema only

    def children(self, newsletter):
        return queries.templates_of(newsletter)

    def create(self, newsletter, data):
        campaign_id = data.pop("campaign", None)
        if campaign_id is not None:
            campaign = queries.campaign_for(self.access, campaign_id)
            if campaign.newsletter_id != newsletter.pk:
                raise NotFound()
            return template_services.template_from_campaign(
                access=self.access, campaign=campaign, name=data["name"]
            )
        return template_services.template_create(access=self.access, newsletter=newsletter, **data)


@extend_schema_view(
    get=extend_schema(responses=TemplateOut),
    patch=extend_schema(request=TemplatePatchIn, responses=TemplateOut),
    delete=extend_schema(
        responses={204: None},
        description=gettext_lazy("Deletes the template; campaigns made from it keep their copy."),
    ),
)
class TemplateView(Detail):
    kind = "template"
    patch_class = TemplatePatchIn

    def render(self, template):
        return TemplateOut(template).data

    def update(self, template, changes):
        return template_services.template_update(access=self.access, template=template, **changes)

    def remove(self, template):
        template_services.template_delete(access=self.access, template=template)


class ThemesView(OrganisationScoped, APIView):
    """The built-in themes a campaign or a template can take."""

    @extend_schema(responses=ThemeOut(many=True))
    def get(self, request, org_id):
        return Response(
            [
                {"key": theme.key, "name": str(theme.name), "description": str(theme.description)}
                for theme in rendering.THEMES.values()
            ]
        )
