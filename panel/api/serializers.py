"""API shapes. Input serializers check shape only; rules live in panel.services."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from panel.api.base import DB_INT_MAX, StrictCharField
from panel.forms import date_range_errors
from panel.models import (
    ActivityEvent,
    ApiToken,
    Grant,
    GrantLevel,
    Invitation,
    InvitationRole,
    Job,
    Membership,
    Role,
    Team,
    TokenScope,
    User,
)
from panel.products import PRODUCT_TYPE_CHOICES


class UserBrief(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email"]


class MeOut(serializers.ModelSerializer):
    mfa_enabled = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "date_joined", "mfa_enabled"]

    def get_mfa_enabled(self, user) -> bool:
        from allauth.mfa.models import Authenticator

        return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class TokenIn(serializers.Serializer):
    name = StrictCharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=TokenScope.choices), allow_empty=False
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class TokenOut(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "scopes", "hint", "expires_at", "created_at", "last_used_at"]


class TokenCreatedOut(TokenOut):
    token = serializers.CharField(help_text=_("The secret; shown only in this response."))

    class Meta(TokenOut.Meta):
        fields = [*TokenOut.Meta.fields, "token"]


class OrganisationIn(serializers.Serializer):
    name = StrictCharField(max_length=120)


class OrganisationDeleteIn(serializers.Serializer):
    confirm_name = StrictCharField(
        required=False, allow_blank=True, help_text=_("Type the organisation's name to confirm")
    )


class OrganisationOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    role = serializers.CharField(help_text="legal_representative, admin, user, or guest")


class MembershipOut(serializers.ModelSerializer):
    user = UserBrief()

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]


class MembershipIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=[Role.ADMIN, Role.USER])


class InvitationIn(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=[InvitationRole.ADMIN, InvitationRole.USER])


class InvitationOut(serializers.ModelSerializer):
    invited_by = UserBrief(allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "team", "invited_by", "created_at", "sent_at"]


class MyInvitationOut(InvitationOut):
    organisation = serializers.SerializerMethodField()

    class Meta(InvitationOut.Meta):
        fields = [*InvitationOut.Meta.fields, "organisation"]

    def get_organisation(self, invitation) -> dict:
        return {"id": invitation.organisation_id, "name": invitation.organisation.name}


class TeamIn(serializers.Serializer):
    name = StrictCharField(max_length=100)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
    leader = serializers.IntegerField(
        max_value=DB_INT_MAX,
        required=False,
        allow_null=True,
        min_value=1,
        help_text="User id of a member",
    )


class TeamOut(serializers.ModelSerializer):
    leader = UserBrief(allow_null=True)
    member_count = serializers.IntegerField(read_only=True)
    grant_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Team
        fields = [
            "id",
            "name",
            "description",
            "leader",
            "member_count",
            "grant_count",
            "created_at",
        ]


class TeamMemberOut(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    email = serializers.EmailField(source="user.email")
    added_at = serializers.DateTimeField()


class TeamDetailOut(TeamOut):
    members = TeamMemberOut(source="team_members", many=True)

    class Meta(TeamOut.Meta):
        fields = [*TeamOut.Meta.fields, "members"]


class TeamMembersIn(serializers.Serializer):
    users = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        default=list,
        max_length=500,
        help_text="Ids of people the organisation already knows (its members and the people "
        "of its teams); they join at once.",
    )
    emails = serializers.ListField(
        child=StrictCharField(max_length=254),
        required=False,
        default=list,
        max_length=500,
        help_text="Email addresses: people the organisation knows join at once, anyone else "
        "gets an invitation to the team.",
    )


class TeamMembersAddedOut(TeamDetailOut):
    invited = serializers.SerializerMethodField(help_text="The addresses invited to the team.")

    class Meta(TeamDetailOut.Meta):
        fields = [*TeamDetailOut.Meta.fields, "invited"]

    def get_invited(self, team) -> list[str]:
        return [invitation.email for invitation in self.context.get("invited", [])]


class GrantIn(serializers.Serializer):
    product_type = serializers.ChoiceField(choices=PRODUCT_TYPE_CHOICES)
    product_id = serializers.CharField(
        max_length=253, help_text="The product's id; a domain may also be given by its name."
    )
    level = serializers.ChoiceField(choices=GrantLevel.choices)


class GrantOut(serializers.ModelSerializer):
    class Meta:
        model = Grant
        fields = ["id", "product_type", "product_id", "level", "created_at"]


class ActivityOut(serializers.ModelSerializer):
    actor = UserBrief(allow_null=True)

    class Meta:
        model = ActivityEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_email",
            "code",
            "target_type",
            "target_id",
            "target_repr",
            "via",
            "data",
        ]


class ActivityFilterIn(serializers.Serializer):
    actor = serializers.IntegerField(max_value=DB_INT_MAX, required=False, min_value=1)
    kind = StrictCharField(required=False, allow_blank=True, max_length=64)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)

    def validate(self, attrs):
        errors = date_range_errors(attrs.get("since"), attrs.get("until"))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class JobOut(serializers.ModelSerializer):
    result = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "done",
            "total",
            "result",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_result(self, job) -> dict:
        result = dict(job.result or {})
        if job.result_file:
            request = self.context.get("request")
            path = f"/api/v1/organisations/{job.organisation_id}/jobs/{job.pk}/download/"
            result["download_url"] = request.build_absolute_uri(path) if request else path
        return result


class JobAcceptedOut(serializers.Serializer):
    job = JobOut()


class DomainVerificationRecordOut(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    value = serializers.CharField()


class DomainVerificationOut(serializers.Serializer):
    """How far a domain a product uses is proven: `verified`, or
    `waiting_for_verification` until `record` is served (panel.services.domain_claims)."""

    domain = serializers.CharField()
    status = serializers.ChoiceField(choices=["verified", "waiting_for_verification"])
    record = DomainVerificationRecordOut(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    check_result = serializers.CharField(allow_blank=True)
