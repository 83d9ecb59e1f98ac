"""URLs of the Manager UI. Everything of one organisation lives under `/o/<org_id>/`."""

from django.urls import path

from . import views as v

app_name = "panel"

org = "o/<int:org_id>/"
member = org + "members/<int:member_id>/"
team = org + "teams/<int:team_id>/"
job = org + "jobs/<int:job_id>/"

urlpatterns = [
    path("", v.home, name="home"),
    path("organisations/", v.organisation_list, name="organisation-list"),
    path("invitations/", v.my_invitation_list, name="my-invitation-list"),
    path(
        "invitations/<int:invitation_id>/accept/",
        v.my_invitation_accept,
        name="my-invitation-accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        v.my_invitation_decline,
        name="my-invitation-decline",
    ),
    path("account/", v.account, name="account"),
    path("account/tokens/", v.token_list, name="token-list"),
    path("account/tokens/<int:token_id>/revoke/", v.token_revoke, name="token-revoke"),
    path(org, v.organisation_dashboard, name="organisation-dashboard"),
    path(org + "settings/", v.organisation_settings, name="organisation-settings"),
    path(org + "settings/transfer/", v.organisation_transfer, name="organisation-transfer"),
    path(org + "settings/delete/", v.organisation_delete, name="organisation-delete"),
    path(org + "members/", v.member_list, name="member-list"),
    path(member, v.member_detail, name="member-detail"),
    path(member + "role/", v.member_role, name="member-role"),
    path(member + "remove/", v.member_remove, name="member-remove"),
    path(member + "grants/add/", v.member_grant_create, name="member-grant-create"),
    path(
        member + "grants/<int:grant_id>/delete/", v.member_grant_delete, name="member-grant-delete"
    ),
    path(
        org + "invitations/<int:invitation_id>/resend/",
        v.invitation_resend,
        name="invitation-resend",
    ),
    path(
        org + "invitations/<int:invitation_id>/revoke/",
        v.invitation_revoke,
        name="invitation-revoke",
    ),
    path(org + "teams/", v.team_list, name="team-list"),
    path(team, v.team_detail, name="team-detail"),
    path(team + "edit/", v.team_update, name="team-update"),
    path(team + "delete/", v.team_delete, name="team-delete"),
    path(team + "members/add/", v.team_member_add, name="team-member-add"),
    path(team + "members/<int:user_id>/remove/", v.team_member_remove, name="team-member-remove"),
    path(team + "grants/add/", v.grant_create, name="grant-create"),
    path(team + "grants/<int:grant_id>/delete/", v.grant_delete, name="grant-delete"),
    path(org + "activity/", v.activity_list, name="activity-list"),
    path(org + "activity/export/", v.activity_export, name="activity-export"),
    path(org + "jobs/", v.job_list, name="job-list"),
    path(job, v.job_detail, name="job-detail"),
    path(job + "status/", v.job_status, name="job-status"),
    path(job + "download/", v.job_download, name="job-download"),
]
