"""URLs of /api/v1/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views as v

org = "organisations/<int:org_id>/"
team = org + "teams/<int:team_id>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("me/", v.MeView.as_view(), name="me"),
    path("me/tokens/", v.MyTokensView.as_view(), name="token-list"),
    path("me/tokens/<int:token_id>/", v.MyTokenView.as_view(), name="token-detail"),
    path("me/invitations/", v.MyInvitationsView.as_view(), name="my-invitation-list"),
    path(
        "me/invitations/<int:invitation_id>/accept/",
        v.MyInvitationAnswerView.as_view(answer="accept"),
        name="my-invitation-accept",
    ),
    path(
        "me/invitations/<int:invitation_id>/decline/",
        v.MyInvitationAnswerView.as_view(answer="decline"),
        name="my-invitation-decline",
    ),
    path("organisations/", v.OrganisationsView.as_view(), name="organisation-list"),
    path(org, v.OrganisationView.as_view(), name="organisation-detail"),
    path(org + "members/", v.MembersView.as_view(), name="member-list"),
    path(org + "members/<int:member_id>/", v.MemberView.as_view(), name="member-detail"),
    path(
        org + "members/<int:member_id>/transfer-legal-representative/",
        v.MemberTransferView.as_view(),
        name="member-transfer",
    ),
    path(
        org + "members/<int:member_id>/grants/",
        v.MemberGrantsView.as_view(),
        name="member-grant-list",
    ),
    path(
        org + "members/<int:member_id>/grants/<int:grant_id>/",
        v.MemberGrantView.as_view(),
        name="member-grant-detail",
    ),
    path(org + "invitations/", v.InvitationsView.as_view(), name="invitation-list"),
    path(
        org + "invitations/<int:invitation_id>/",
        v.InvitationView.as_view(),
        name="invitation-detail",
    ),
    path(
        org + "invitations/<int:invitation_id>/resend/",
        v.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path(org + "teams/", v.TeamsView.as_view(), name="team-list"),
    path(team, v.TeamView.as_view(), name="team-detail"),
    path(team + "members/", v.TeamMembersView.as_view(), name="team-member-list"),
    path(team + "members/<int:user_id>/", v.TeamMemberView.as_view(), name="team-member-detail"),
    path(team + "grants/", v.TeamGrantsView.as_view(), name="team-grant-list"),
    path(team + "grants/<int:grant_id>/", v.TeamGrantView.as_view(), name="team-grant-detail"),
    path(org + "activity/", v.ActivityView.as_view(), name="activity-list"),
    path(org + "activity/exports/", v.ActivityExportView.as_view(), name="activity-export"),
    path(org + "jobs/", v.JobsView.as_view(), name="job-list"),
    path(org + "jobs/<int:job_id>/", v.JobView.as_view(), name="job-detail"),
    path(org + "jobs/<int:job_id>/download/", v.JobDownloadView.as_view(), name="job-download"),
    path(org + "mail/", include("mail.api.urls")),
    path(org + "domains/", include("domains.api.urls")),
    path(org + "ticketing/", include("ticketing.api.urls")),
    path(org + "newsletter/", include("newsletter.api.urls")),
    path("shop/<slug:office_slug>/", include("ticketing.shop.api_urls")),
    # newsletter-forms/<token>/, newsletter-links/...: reached through signed links only
    path("", include("newsletter.api.public")),
]
