"""API views: look the object up from the organisation, call a service, answer."""

from django.db.models import Prefetch
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from panel import selectors, services
from panel.access import Capability, organisations_of
from panel.jobs import result_response
from panel.models import (
    ActivityEvent,
    ApiToken,
    Grant,
    Invitation,
    Job,
    Membership,
    Organisation,
    Team,
    TeamMember,
)

from . import serializers as s
from .base import ApiEntry, OrganisationScoped, confirm_name, confirm_name_parameter


def _plain(serializer_class, data):
    """A form or multipart body as a plain dict. DRF reads a form's missing boolean as
    false (an unticked checkbox), so a PUT without `enabled` would turn a responder off;
    a plain dict makes a missing field missing, and required fields then answer 400."""
    if not isinstance(data, QueryDict):
        return data
    fields = serializer_class().fields
    return {
        key: data.getlist(key)
        if isinstance(fields.get(key), serializers.ListField | serializers.MultipleChoiceField)
        else data.get(key)
        for key in data
    }


def _valid(serializer_class, data):
    serializer = serializer_class(data=_plain(serializer_class, data))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- /me/ -------------------------------------------------------------------------


class MeView(ApiEntry, APIView):
    @extend_schema(responses=s.MeOut)
    def get(self, request):
        return Response(s.MeOut(request.user).data)


class MyTokensView(ApiEntry, generics.ListAPIView):
    serializer_class = s.TokenOut
    queryset = ApiToken.objects.none()  # schema only

    def get_queryset(self):
        return selectors.token_list(user=self.request.user)

    @extend_schema(request=s.TokenIn, responses={201: s.TokenCreatedOut})
    def post(self, request):
        data = _valid(s.TokenIn, request.data)
        using_token = request.auth if isinstance(request.auth, ApiToken) else None
        token, secret = services.token_create(actor=request.user, using_token=using_token, **data)
        token.token = secret
        return Response(s.TokenCreatedOut(token).data, status=status.HTTP_201_CREATED)


class MyTokenView(ApiEntry, APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, token_id):
        services.token_revoke(actor=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyInvitationsView(ApiEntry, generics.ListAPIView):
    serializer_class = s.MyInvitationOut
    queryset = Invitation.objects.none()

    def get_queryset(self):
        return selectors.my_invitations(user=self.request.user)


class MyInvitationAnswerView(ApiEntry, APIView):
    answer = "accept"

    @extend_schema(request=None, responses=s.MyInvitationOut)
    def post(self, request, invitation_id):
        service = (
            services.invitation_accept if self.answer == "accept" else (services.invitation_decline)
        )
        invitation = service(actor=request.user, invitation_id=invitation_id)
        return Response(s.MyInvitationOut(invitation).data)


# --- organisations ----------------------------------------------------------------


def _organisation_out(organisation, role):
    return s.OrganisationOut(
        {
            "id": organisation.pk,
            "name": organisation.name,
            "created_at": organisation.created_at,
            "role": role or "guest",
        }
    ).data


class OrganisationsView(ApiEntry, generics.GenericAPIView):
    serializer_class = s.OrganisationOut
    queryset = Organisation.objects.none()  # schema only

    @extend_schema(operation_id="organisations_list", responses=s.OrganisationOut(many=True))
    def get(self, request):
        return self._list(request)

    def get_queryset(self):
        return organisations_of(self.request.user).order_by("name", "id")

    def _list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        roles = dict(
            Membership.objects.filter(user=request.user, organisation__in=page).values_list(
                "organisation_id", "role"
            )
        )
        return self.get_paginated_response([_organisation_out(o, roles.get(o.pk)) for o in page])

    @extend_schema(request=s.OrganisationIn, responses={201: s.OrganisationOut})
    def post(self, request):
        data = _valid(s.OrganisationIn, request.data)
        organisation = services.organisation_create(actor=request.user, name=data["name"])
        return Response(
            _organisation_out(organisation, "legal_representative"),
            status=status.HTTP_201_CREATED,
        )


class OrganisationView(OrganisationScoped, APIView):
    write_capability = Capability.CHANGE_ORGANISATION

    @extend_schema(responses=s.OrganisationOut)
    def get(self, request, org_id):
        return Response(_organisation_out(self.organisation, self.access.role))

    @extend_schema(request=s.OrganisationIn, responses=s.OrganisationOut)
    def patch(self, request, org_id):
        data = _valid(s.OrganisationIn, request.data)
        services.organisation_rename(access=self.access, name=data["name"])
        return Response(_organisation_out(self.organisation, self.access.role))

    @extend_schema(
        request=s.OrganisationDeleteIn,
        parameters=[confirm_name_parameter(s.OrganisationDeleteIn)],
        responses={204: None},
    )
    def delete(self, request, org_id):
        self.access.require(Capability.DELETE_ORGANISATION)
        services.organisation_delete(
            access=self.access, confirm_name=confirm_name(request, s.OrganisationDeleteIn)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- members and invitations ------------------------------------------------------


class MembersView(OrganisationScoped, generics.ListAPIView):
    queryset = Membership.objects.none()  # schema only
    capability = Capability.MANAGE_MEMBERS
    serializer_class = s.MembershipOut

    def get_queryset(self):
        return selectors.membership_list(organisation=self.organisation)


class MemberScoped(OrganisationScoped):
    capability = Capability.MANAGE_MEMBERS

    def membership(self):
        return get_object_or_404(
            selectors.membership_list(organisation=self.organisation), pk=self.kwargs["member_id"]
        )

    def direct_grants(self):
        return selectors.direct_grant_list(membership=self.membership())


class MemberView(MemberScoped, APIView):
    @extend_schema(responses=s.MembershipOut)
    def get(self, request, org_id, member_id):
        return Response(s.MembershipOut(self.membership()).data)

    @extend_schema(request=s.MembershipIn, responses=s.MembershipOut)
    def patch(self, request, org_id, member_id):
        data = _valid(s.MembershipIn, request.data)
        membership = services.membership_change_role(
            access=self.access, membership=self.membership(), role=data["role"]
        )
        return Response(s.MembershipOut(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, member_id):
        services.membership_remove(access=self.access, membership=self.membership())
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberTransferView(MemberScoped, APIView):
    capability = Capability.TRANSFER_LEGAL_REPRESENTATIVE

    @extend_schema(request=None, responses=s.MembershipOut, operation_id="transfer_legal_rep")
    def post(self, request, org_id, member_id):
        membership = self.membership()
        services.legal_representative_transfer(access=self.access, membership=membership)
        return Response(s.MembershipOut(membership).data)


class MemberGrantsView(MemberScoped, generics.ListAPIView):
    """Products granted to one member directly (not through a team)."""

    serializer_class = s.GrantOut
    queryset = Grant.objects.none()  # schema only

    def get_queryset(self):
        return self.direct_grants()

    @extend_schema(request=s.GrantIn, responses={201: s.GrantOut})
    def post(self, request, org_id, member_id):
        data = _valid(s.GrantIn, request.data)
        grant = services.grant_create(access=self.access, user=self.membership().user, **data)
        return Response(s.GrantOut(grant).data, status=status.HTTP_201_CREATED)


class MemberGrantView(MemberScoped, APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, org_id, member_id, grant_id):
        grant = get_object_or_404(self.direct_grants(), pk=grant_id)
        services.grant_delete(access=self.access, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationsView(OrganisationScoped, generics.ListAPIView):
    queryset = Invitation.objects.none()  # schema only
    capability = Capability.MANAGE_MEMBERS
    serializer_class = s.InvitationOut

    def get_queryset(self):
        return selectors.invitation_list(organisation=self.organisation)

    @extend_schema(request=s.InvitationIn, responses={201: s.InvitationOut})
    def post(self, request, org_id):
        data = _valid(s.InvitationIn, request.data)
        invitation = services.invitation_create(access=self.access, **data)
        return Response(s.InvitationOut(invitation).data, status=status.HTTP_201_CREATED)


class InvitationScoped(OrganisationScoped, APIView):
    capability = Capability.MANAGE_MEMBERS

    def _invitation(self, invitation_id):
        return get_object_or_404(
            selectors.invitation_list(organisation=self.organisation), pk=invitation_id
        )


class InvitationView(InvitationScoped):
    @extend_schema(responses={204: None})
    def delete(self, request, org_id, invitation_id):
        services.invitation_revoke(access=self.access, invitation=self._invitation(invitation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendView(InvitationScoped):
    @extend_schema(request=None, responses=s.InvitationOut)
    def post(self, request, org_id, invitation_id):
        invitation = services.invitation_resend(
            access=self.access, invitation=self._invitation(invitation_id)
        )
        return Response(s.InvitationOut(invitation).data)


# --- teams ------------------------------------------------------------------------


class TeamsView(OrganisationScoped, generics.ListAPIView):
    queryset = Team.objects.none()  # schema only
    capability = Capability.MANAGE_TEAMS
    serializer_class = s.TeamOut

    def get_queryset(self):
        return selectors.team_list(organisation=self.organisation)

    @extend_schema(request=s.TeamIn, responses={201: s.TeamOut})
    def post(self, request, org_id):
        data = _valid(s.TeamIn, request.data)
        team = services.team_create(access=self.access, **data)
        return Response(
            s.TeamOut(selectors.team_list(organisation=self.organisation).get(pk=team.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class TeamScoped(OrganisationScoped):
    capability = Capability.MANAGE_TEAMS

    def team(self):
        return get_object_or_404(self.organisation.teams, pk=self.kwargs["team_id"])

    def team_detail(self):
        """The team with its counts and members, for answers that show them."""
        return get_object_or_404(
            selectors.team_list(organisation=self.organisation).prefetch_related(
                Prefetch("team_members", queryset=TeamMember.objects.select_related("user"))
            ),
            pk=self.kwargs["team_id"],
        )


class TeamView(TeamScoped, APIView):
    @extend_schema(responses=s.TeamDetailOut)
    def get(self, request, org_id, team_id):
        return Response(s.TeamDetailOut(self.team_detail()).data)

    @extend_schema(request=s.TeamIn(partial=True), responses=s.TeamDetailOut)
    def patch(self, request, org_id, team_id):
        serializer = s.TeamIn(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.team_update(access=self.access, team=self.team(), **serializer.validated_data)
        return Response(s.TeamDetailOut(self.team_detail()).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, team_id):
        services.team_delete(access=self.access, team=self.team())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamMembersView(TeamScoped, generics.ListAPIView):
    serializer_class = s.TeamMemberOut
    queryset = TeamMember.objects.none()  # schema only

    def get_queryset(self):
        return self.team().team_members.select_related("user").order_by("user__email")

    @extend_schema(request=s.TeamMembersIn, responses={201: s.TeamMembersAddedOut})
    def post(self, request, org_id, team_id):
        data = _valid(s.TeamMembersIn, request.data)
        outcome = services.team_people_add(
            access=self.access, team=self.team(), emails=data["emails"], users=data["users"]
        )
        answer = s.TeamMembersAddedOut(self.team_detail(), context={"invited": outcome["invited"]})
        return Response(answer.data, status=status.HTTP_201_CREATED)


class TeamMemberView(TeamScoped, APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, org_id, team_id, user_id):
        services.team_member_remove(access=self.access, team=self.team(), user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamGrantsView(TeamScoped, generics.ListAPIView):
    queryset = Grant.objects.none()  # schema only
    serializer_class = s.GrantOut

    def get_queryset(self):
        return selectors.grant_list(team=self.team())

    @extend_schema(request=s.GrantIn, responses={201: s.GrantOut})
    def post(self, request, org_id, team_id):
        data = _valid(s.GrantIn, request.data)
        grant = services.grant_create(access=self.access, team=self.team(), **data)
        return Response(s.GrantOut(grant).data, status=status.HTTP_201_CREATED)


class TeamGrantView(TeamScoped, APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, org_id, team_id, grant_id):
        grant = get_object_or_404(selectors.grant_list(team=self.team()), pk=grant_id)
        services.grant_delete(access=self.access, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- activity and jobs ------------------------------------------------------------


class ActivityView(OrganisationScoped, generics.ListAPIView):
    queryset = ActivityEvent.objects.none()  # schema only
    capability = Capability.VIEW_ACTIVITY
    serializer_class = s.ActivityOut

    @extend_schema(parameters=[s.ActivityFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = _valid(s.ActivityFilterIn, self.request.query_params)
        return selectors.activity_list(organisation=self.organisation, **filters)


class ActivityExportView(OrganisationScoped, APIView):
    capability = Capability.EXPORT_ACTIVITY

    @extend_schema(request=s.ActivityFilterIn, responses={202: s.JobAcceptedOut})
    def post(self, request, org_id):
        filters = _valid(s.ActivityFilterIn, request.data)
        filters = {k: str(v) for k, v in filters.items() if v not in (None, "")}
        job = services.activity_export_start(access=self.access, filters=filters)
        return Response(
            {"job": s.JobOut(job, context={"request": request}).data},
            status=status.HTTP_202_ACCEPTED,
        )


class JobsView(OrganisationScoped, generics.ListAPIView):
    queryset = Job.objects.none()  # schema only
    serializer_class = s.JobOut

    def get_queryset(self):
        return selectors.job_list(access=self.access)


class JobView(OrganisationScoped, generics.RetrieveAPIView):
    queryset = Job.objects.none()  # schema only
    serializer_class = s.JobOut
    lookup_url_kwarg = "job_id"

    def get_queryset(self):
        return selectors.job_list(access=self.access)


class JobDownloadView(JobView):
    @extend_schema(responses={(200, "text/csv"): bytes})
    def get(self, request, org_id, job_id):
        return result_response(self.get_object())
