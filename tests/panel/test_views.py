"""The Manager UI as people meet it: what each person sees, what they may do, and what the
forms say when the input is wrong."""

import pytest
from django.core import mail
from django.urls import reverse

from panel import services
from panel.access import access_for
from panel.models import (
    ActivityEvent,
    ApiToken,
    Invitation,
    InvitationStatus,
    Job,
    JobStatus,
    Membership,
    Organisation,
    Role,
    Team,
    TeamMember,
)
from tests import factories as f


def url(name, org=None, *args):
    parts = (org.pk if org else None, *args)
    return reverse(f"panel:{name}", args=[part for part in parts if part is not None])


# --- Shell, home and organisations --------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client, org_world):
    response = client.get(url("organisation-dashboard", org_world["org"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_home_leads_to_the_first_organisation(login, org_world):
    response = login(org_world["admin"]).get(url("home"))
    assert response.status_code == 302
    assert response["Location"] == url("organisation-dashboard", org_world["org"])


def test_home_without_organisation_offers_to_create_one(login, db):
    client = login(f.UserFactory())
    response = client.get(url("home"), follow=True)
    assert response.redirect_chain[-1][0] == url("organisation-list")
    assert b"Create an organisation" in response.content


def test_home_remembers_the_organisation_last_opened(login, db):
    person = f.UserFactory()
    first = f.OrganisationFactory(name="Alpha", legal_representative=person)
    second = f.MembershipFactory(user=person, organisation__name="Beta").organisation
    client = login(person)
    assert client.get(url("home"))["Location"] == url("organisation-dashboard", first)
    client.get(url("organisation-dashboard", second))
    assert client.get(url("home"))["Location"] == url("organisation-dashboard", second)


def test_create_organisation_makes_me_its_legal_representative(login, db):
    person = f.UserFactory()
    response = login(person).post(url("organisation-list"), {"name": "  Fresh Ltd  "}, follow=True)
    organisation = Organisation.objects.get(name="Fresh Ltd")
    assert response.redirect_chain[-1][0] == url("organisation-dashboard", organisation)
    assert Membership.objects.get(organisation=organisation, user=person).role == (
        Role.LEGAL_REPRESENTATIVE
    )
    assert "Fresh Ltd" in response.content.decode()


def test_create_organisation_with_blank_name_shows_the_error_under_the_field(login, db):
    response = login(f.UserFactory()).post(url("organisation-list"), {"name": "   "})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert Organisation.objects.count() == 0


def test_top_bar_switcher_lists_my_organisations_only(login, org_world):
    f.MembershipFactory(user=org_world["admin"], organisation__name="Second Org")
    page = login(org_world["admin"]).get(url("organisation-dashboard", org_world["org"]))
    html = page.content.decode()
    assert 'data-testid="org-switcher"' in html
    assert "Second Org" in html
    assert url("organisation-dashboard", org_world["other_org"]) not in html


# --- Dashboard ---------------------------------------------------------------------


def test_dashboard_has_an_empty_state_per_kind_saying_what_it_is_for(login, org_world):
    html = login(org_world["legal"]).get(url("organisation-dashboard", org_world["org"])).content
    html = html.decode()
    assert "acme.test" in html and "hidden.test" in html
    assert "Nothing here yet" in html
    assert "Your domain names and their DNS zones" in html
    assert "Sell tickets for your events" in html
    assert "OpenStack projects" in html


def test_user_sees_only_granted_products(login, org_world):
    user, org = org_world["user"], org_world["org"]
    html = login(user).get(url("organisation-dashboard", org)).content.decode()
    assert "acme.test" not in html and "hidden.test" not in html
    assert "Nothing shared with you yet" in html

    f.TeamMemberFactory(team=org_world["team"], user=user)
    html = login(user).get(url("organisation-dashboard", org)).content.decode()
    assert "acme.test" in html and "hidden.test" not in html


def test_team_guest_from_outside_sees_the_team_products(login, org_world):
    html = login(org_world["teammate"]).get(url("organisation-dashboard", org_world["org"]))
    html = html.content.decode()
    assert "acme.test" in html and "hidden.test" not in html
    assert "guest of one of this organisation" in html


def test_user_nav_hides_what_they_may_not_use(login, org_world):
    html = login(org_world["user"]).get(url("organisation-dashboard", org_world["org"]))
    html = html.content.decode()
    assert url("member-list", org_world["org"]) not in html
    assert url("team-list", org_world["org"]) not in html
    assert url("activity-list", org_world["org"]) not in html
    assert url("job-list", org_world["org"]) in html
    admin_html = login(org_world["admin"]).get(url("organisation-dashboard", org_world["org"]))
    assert url("member-list", org_world["org"]) in admin_html.content.decode()


# --- Tenancy: 404 for outsiders, 403 for missing capability -------------------------


ORG_PAGES = [
    ("organisation-dashboard", ()),
    ("organisation-settings", ()),
    ("member-list", ()),
    ("team-list", ()),
    ("activity-list", ()),
    ("job-list", ()),
]


@pytest.mark.parametrize("name,args", ORG_PAGES)
def test_outsider_gets_404_everywhere_in_the_organisation(login, org_world, name, args):
    response = login(org_world["outsider"]).get(url(name, org_world["org"], *args))
    assert response.status_code == 404


def test_outsider_gets_404_on_a_team_of_the_organisation(login, org_world):
    response = login(org_world["outsider"]).get(
        url("team-detail", org_world["org"], org_world["team"].pk)
    )
    assert response.status_code == 404


def test_unknown_organisation_is_404(login, org_world):
    assert login(org_world["admin"]).get("/o/999999/").status_code == 404


@pytest.mark.parametrize(
    "name", ["member-list", "team-list", "activity-list", "organisation-settings"]
)
def test_user_gets_403_on_management_pages(login, org_world, name):
    response = login(org_world["user"]).get(url(name, org_world["org"]))
    assert response.status_code == 403
    assert b"not allowed" in response.content


def test_user_cannot_invite_by_posting_either(login, org_world):
    response = login(org_world["user"]).post(
        url("member-list", org_world["org"]), {"email": "x@example.test", "role": "admin"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="x@example.test").exists()


def test_a_team_of_another_organisation_is_404(login, org_world):
    foreign = f.TeamFactory(organisation=org_world["other_org"])
    response = login(org_world["admin"]).get(url("team-detail", org_world["org"], foreign.pk))
    assert response.status_code == 404


# --- Settings -----------------------------------------------------------------------


def test_admin_renames_the_organisation(login, org_world):
    org = org_world["org"]
    response = login(org_world["admin"]).post(
        url("organisation-settings", org), {"name": "Acme Group"}, follow=True
    )
    org.refresh_from_db()
    assert org.name == "Acme Group"
    assert "Organisation renamed." in response.content.decode()


def test_admin_does_not_see_transfer_or_delete(login, org_world):
    html = login(org_world["admin"]).get(url("organisation-settings", org_world["org"]))
    html = html.content.decode()
    assert "Delete organisation" not in html and "Transfer the role" not in html
    response = login(org_world["admin"]).get(url("organisation-delete", org_world["org"]))
    assert response.status_code == 403


def test_legal_representative_transfers_the_role(login, org_world):
    org, admin = org_world["org"], org_world["admin"]
    membership = Membership.objects.get(organisation=org, user=admin)
    login(org_world["legal"]).post(url("organisation-transfer", org), {"membership": membership.pk})
    membership.refresh_from_db()
    assert membership.role == Role.LEGAL_REPRESENTATIVE
    assert Membership.objects.get(organisation=org, user=org_world["legal"]).role == Role.ADMIN


def test_delete_with_a_wrong_name_keeps_the_organisation(login, org_world):
    org = org_world["org"]
    response = login(org_world["legal"]).post(
        url("organisation-delete", org), {"confirm_name": "acme"}
    )
    assert response.status_code == 200
    assert "does not match" in response.content.decode()
    assert Organisation.objects.filter(pk=org.pk).exists()


def test_delete_with_the_exact_name_deletes_it(login, org_world):
    org = org_world["org"]
    response = login(org_world["legal"]).post(
        url("organisation-delete", org), {"confirm_name": "Acme"}, follow=True
    )
    assert not Organisation.objects.filter(pk=org.pk).exists()
    assert "was deleted" in response.content.decode()


# --- Members and invitations --------------------------------------------------------


def test_members_table_shows_roles_and_protects_the_legal_representative(login, org_world):
    html = login(org_world["admin"]).get(url("member-list", org_world["org"])).content.decode()
    assert "legal@example.test" in html and "user@example.test" in html
    assert "Cannot be removed" in html
    legal_membership = Membership.objects.get(
        user=org_world["legal"], organisation=org_world["org"]
    )
    assert url("member-remove", org_world["org"], legal_membership.pk) not in html


def test_admin_invites_by_email_and_the_mail_is_sent(
    login, org_world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(org_world["admin"]).post(
            url("member-list", org_world["org"]),
            {"email": "New@Example.test", "role": "admin"},
            follow=True,
        )
    invitation = Invitation.objects.get(email="new@example.test")
    assert invitation.role == "admin"
    assert "Invitation sent to" in response.content.decode()
    assert "new@example.test" in response.content.decode()
    assert mail.outbox and mail.outbox[-1].to == ["new@example.test"]


def test_inviting_an_existing_member_says_so_under_the_email(login, org_world):
    response = login(org_world["admin"]).post(
        url("member-list", org_world["org"]), {"email": "user@example.test", "role": "user"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Already a member."]


def test_invalid_email_changes_nothing(login, org_world):
    response = login(org_world["admin"]).post(
        url("member-list", org_world["org"]), {"email": "not-an-email", "role": "user"}
    )
    assert response.context["form"].errors["email"]
    assert not Invitation.objects.exists()


def test_resend_and_revoke_an_invitation(login, org_world, django_capture_on_commit_callbacks):
    org = org_world["org"]
    invitation = services.invitation_create(
        access=access_for(org_world["admin"], org), email="pending@example.test", role="user"
    )
    client = login(org_world["admin"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("invitation-resend", org, invitation.pk))
    assert len(mail.outbox) == 1
    confirm = client.get(url("invitation-revoke", org, invitation.pk))
    assert "Revoke the invitation sent to pending@example.test?" in confirm.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING  # asking is not doing
    client.post(url("invitation-revoke", org, invitation.pk))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED


def test_change_role_and_remove_member(login, org_world):
    org, user = org_world["org"], org_world["user"]
    membership = Membership.objects.get(organisation=org, user=user)
    client = login(org_world["admin"])
    client.post(url("member-role", org, membership.pk), {f"m{membership.pk}-role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    client.post(url("member-remove", org, membership.pk))
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_legal_representative_cannot_be_removed(login, org_world):
    org = org_world["org"]
    membership = Membership.objects.get(organisation=org, user=org_world["legal"])
    response = login(org_world["admin"]).post(url("member-remove", org, membership.pk), follow=True)
    assert "cannot be removed" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_invitee_sees_and_accepts_the_invitation(login, org_world):
    org = org_world["org"]
    newcomer = f.UserFactory(email="newcomer@example.test")
    invitation = services.invitation_create(
        access=access_for(org_world["admin"], org), email="newcomer@example.test", role="user"
    )
    client = login(newcomer)
    page = client.get(url("organisation-list")).content.decode()
    assert "Acme" in page and "Accept" in page
    response = client.post(url("my-invitation-accept", None, invitation.pk), follow=True)
    assert response.redirect_chain[-1][0] == url("organisation-dashboard", org)
    assert Membership.objects.filter(organisation=org, user=newcomer, role=Role.USER).exists()


def test_invitee_declines(login, org_world):
    newcomer = f.UserFactory(email="decliner@example.test")
    invitation = services.invitation_create(
        access=access_for(org_world["admin"], org_world["org"]),
        email=newcomer.email,
        role="user",
    )
    login(newcomer).post(url("my-invitation-decline", None, invitation.pk))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DECLINED


def test_someone_else_cannot_accept_my_invitation(login, org_world):
    invitation = services.invitation_create(
        access=access_for(org_world["admin"], org_world["org"]),
        email="mine@example.test",
        role="admin",
    )
    response = login(org_world["outsider"]).post(url("my-invitation-accept", None, invitation.pk))
    assert response.status_code == 404
    assert not Membership.objects.filter(
        user=org_world["outsider"], organisation=org_world["org"]
    ).exists()


@pytest.mark.parametrize("count", [5, 200])
def test_members_page_runs_a_bounded_number_of_queries(
    login, org_world, django_assert_max_num_queries, count
):
    org = org_world["org"]
    for _ in range(count):
        f.MembershipFactory(organisation=org, role=Role.USER)
    for n in range(min(count, 20)):
        f.TeamMemberFactory(team=org_world["team"])
        services.invitation_create(
            access=access_for(org_world["legal"], org),
            email=f"invitee{n}@example.test",
            role="user",
        )
    client = login(org_world["admin"])
    with django_assert_max_num_queries(14):
        response = client.get(url("member-list", org))
    assert response.status_code == 200
    assert len(response.context["memberships"]) == count + 3


@pytest.mark.parametrize("count", [5, 200])
def test_teams_and_activity_pages_run_a_bounded_number_of_queries(
    login, org_world, django_assert_max_num_queries, count
):
    org = org_world["org"]
    access = access_for(org_world["legal"], org)
    for n in range(count):
        services.team_create(access=access, name=f"Team {n:03}")
    client = login(org_world["admin"])
    with django_assert_max_num_queries(12):
        assert client.get(url("team-list", org)).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url("activity-list", org)).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(url("job-list", org)).status_code == 200


# --- Teams --------------------------------------------------------------------------


def test_create_a_team_with_a_leader(login, org_world):
    org, admin = org_world["org"], org_world["admin"]
    response = login(admin).post(
        url("team-list", org),
        {
            "name": "Support",
            "description": "Answers customers",
            "leader": admin.pk,
        },
        follow=True,
    )
    team = Team.objects.get(organisation=org, name="Support")
    assert response.redirect_chain[-1][0] == url("team-detail", org, team.pk)
    assert team.leader == admin
    assert TeamMember.objects.filter(team=team, user=admin).exists()
    assert "Support" in response.content.decode()


def test_team_name_clash_is_shown_under_the_name(login, org_world):
    response = login(org_world["admin"]).post(
        url("team-list", org_world["org"]), {"name": "webmasters"}
    )
    assert response.context["form"].errors["name"] == ["This name is already used."]
    assert Team.objects.filter(organisation=org_world["org"]).count() == 1


def test_leader_must_be_chosen_among_members(login, org_world):
    response = login(org_world["admin"]).post(
        url("team-list", org_world["org"]), {"name": "X", "leader": org_world["outsider"].pk}
    )
    assert response.context["form"].errors["leader"]
    assert not Team.objects.filter(name="X").exists()


def test_team_page_shows_members_guests_and_grants(login, org_world):
    org, team = org_world["org"], org_world["team"]
    html = login(org_world["admin"]).get(url("team-detail", org, team.pk)).content.decode()
    assert "teammate@example.test" in html and "Guest from outside" in html
    assert "acme.test" in html and "Manage" in html


def test_add_people_by_email_and_from_the_organisation(login, org_world):
    org, team = org_world["org"], org_world["team"]
    response = login(org_world["admin"]).post(
        url("team-member-add", org, team.pk),
        {
            "emails": "outsider@example.test,\nunknown@example.test",
            "users": [org_world["user"].pk],
        },
        follow=True,
    )
    html = response.content.decode()
    members = set(team.team_members.values_list("user__email", flat=True))
    assert "user@example.test" in members
    # People from outside join only by accepting, whether they have an account or not,
    # so the page does not tell who has one.
    assert "outsider@example.test" not in members
    for email in ("outsider@example.test", "unknown@example.test"):
        guest = Invitation.objects.get(email=email)
        assert guest.team == team and guest.role == "guest"
    assert "Invited to join the team: outsider@example.test, unknown@example.test" in html


def test_a_bad_address_adds_nobody(login, org_world):
    org, team = org_world["org"], org_world["team"]
    before = team.team_members.count()
    response = login(org_world["admin"]).post(
        url("team-member-add", org, team.pk),
        {
            "emails": "fine@example.test\nnot an email",
            "users": [org_world["user"].pk],
        },
    )
    assert "Line 2" in response.context["members_form"].errors["emails"][0]
    assert team.team_members.count() == before
    assert not Invitation.objects.filter(email="fine@example.test").exists()


def test_remove_from_team_and_delete_team_ask_first(login, org_world):
    org, team, teammate = org_world["org"], org_world["team"], org_world["teammate"]
    client = login(org_world["admin"])
    confirm = client.get(url("team-member-remove", org, team.pk, teammate.pk))
    assert "Remove teammate@example.test from Webmasters?" in confirm.content.decode()
    client.post(url("team-member-remove", org, team.pk, teammate.pk))
    assert access_for(teammate, org) is None
    client.post(url("team-delete", org, team.pk))
    assert not Team.objects.filter(pk=team.pk).exists()


def test_grant_and_remove_access_to_a_product(login, org_world):
    org, team, other_mail = org_world["org"], org_world["team"], org_world["other_mail"]
    client = login(org_world["admin"])
    client.post(
        url("grant-create", org, team.pk),
        {"product": f"mail_service:{other_mail.pk}", "level": "view"},
    )
    grant = team.grants.get(product_id=other_mail.pk)
    assert grant.level == "view"
    response = client.post(
        url("grant-create", org, team.pk),
        {"product": f"mail_service:{other_mail.pk}", "level": "manage"},
    )
    assert "already granted" in response.content.decode()
    client.post(url("grant-delete", org, team.pk, grant.pk))
    assert not team.grants.filter(pk=grant.pk).exists()


def test_grant_of_a_product_of_another_organisation_is_refused(login, org_world):
    foreign = f.MailServiceFactory(organisation=org_world["other_org"])
    response = login(org_world["admin"]).post(
        url("grant-create", org_world["org"], org_world["team"].pk),
        {"product": f"mail_service:{foreign.pk}", "level": "view"},
    )
    assert response.context["grant_form"].errors["product"]
    assert not org_world["team"].grants.filter(product_id=foreign.pk).exists()


# --- Activity and jobs --------------------------------------------------------------


def test_activity_filters_by_person_and_kind(login, org_world):
    org = org_world["org"]
    access = access_for(org_world["admin"], org)
    services.team_create(access=access, name="Filtered team")
    services.organisation_rename(access=access_for(org_world["legal"], org), name="Acme 2")
    client = login(org_world["admin"])
    page = client.get(
        url("activity-list", org), {"actor": org_world["admin"].pk, "kind": "panel.team"}
    )
    events = list(page.context["page"])
    assert events and all(e.code.startswith("panel.team") for e in events)
    assert all(e.actor_id == org_world["admin"].pk for e in events)
    assert "Renamed the organisation" not in page.content.decode()


def test_activity_rejects_an_inverted_date_range(login, org_world):
    page = login(org_world["admin"]).get(
        url("activity-list", org_world["org"]), {"since": "2025-02-01", "until": "2025-01-01"}
    )
    assert page.context["form"].errors["until"]


def test_export_creates_a_job_and_shows_its_progress(login, org_world, monkeypatch):
    sent = []
    monkeypatch.setattr("panel.tasks.export_activity.delay", lambda job_id: sent.append(job_id))
    org = org_world["org"]
    services.team_create(access=access_for(org_world["admin"], org), name="Exported")
    client = login(org_world["admin"])
    response = client.post(url("activity-export", org), {"kind": "panel.team"}, follow=True)
    job = Job.objects.get(organisation=org, kind="activity_export")
    assert job.params == {"kind": "panel.team"}
    assert response.redirect_chain[-1][0] == url("job-detail", org, job.pk)
    html = response.content.decode()
    assert 'role="progressbar"' in html and 'data-status="queued"' in html
    status = client.get(url("job-status", org, job.pk)).json()
    assert status["status"] == "queued" and status["percent"] == 0


def test_user_cannot_export_activity(login, org_world):
    response = login(org_world["user"]).post(url("activity-export", org_world["org"]))
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_finished_job_offers_its_file_and_the_menu_lists_it(login, org_world, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    org, admin = org_world["org"], org_world["admin"]
    job = Job.objects.create(
        organisation=org,
        actor=admin,
        kind="activity_export",
        status=JobStatus.SUCCEEDED,
        done=3,
        total=3,
        result={"file_name": "activity.csv"},
    )
    job.result_file.save("activity.csv", ContentFile(b"date,person\n"))
    client = login(admin)
    html = client.get(url("job-detail", org, job.pk)).content.decode()
    assert url("job-download", org, job.pk) in html
    assert 'aria-valuenow="100"' in html
    assert 'data-testid="jobs-menu"' in html and "Activity export (CSV)" in html
    download = client.get(url("job-download", org, job.pk))
    assert b"".join(download.streaming_content) == b"date,person\n"
    assert "activity.csv" in download["Content-Disposition"]


def test_failed_job_says_why(login, org_world):
    org = org_world["org"]
    job = Job.objects.create(
        organisation=org,
        actor=org_world["admin"],
        kind="activity_export",
        status=JobStatus.FAILED,
        errors=[{"detail": "Disk full"}],
    )
    html = login(org_world["admin"]).get(url("job-detail", org, job.pk)).content.decode()
    assert "The job failed:" in html and "Disk full" in html


def test_jobs_of_others_are_hidden_from_users(login, org_world):
    org = org_world["org"]
    job = Job.objects.create(organisation=org, actor=org_world["admin"], kind="activity_export")
    client = login(org_world["user"])
    assert client.get(url("job-detail", org, job.pk)).status_code == 404
    assert client.get(url("job-status", org, job.pk)).status_code == 404
    assert client.get(url("job-download", org, job.pk)).status_code == 404
    assert login(org_world["outsider"]).get(url("job-status", org, job.pk)).status_code == 404


# --- Account and tokens -------------------------------------------------------------


def test_account_page_links_to_email_password_mfa_and_tokens(login, org_world):
    html = login(org_world["user"]).get(url("account")).content.decode()
    for name in ("account_email", "account_change_password", "mfa_index"):
        assert reverse(name) in html
    assert url("token-list") in html


def test_token_secret_is_shown_exactly_once(login, org_world):
    client = login(org_world["user"])
    response = client.post(
        url("token-list"), {"name": "Deploy", "scopes": ["read", "write"]}, follow=True
    )
    token = ApiToken.objects.get(user=org_world["user"], name="Deploy")
    secret = response.context["new_token"]["secret"]
    assert secret.startswith("pnl_") and secret in response.content.decode()
    assert token.token_hash != secret
    assert secret not in client.get(url("token-list")).content.decode()


def test_token_needs_a_scope_and_a_future_expiry(login, org_world):
    response = login(org_world["user"]).post(
        url("token-list"), {"name": "Old", "scopes": ["read"], "expires_on": "2001-01-01"}
    )
    assert response.context["form"].errors["expires_on"]
    response = login(org_world["user"]).post(url("token-list"), {"name": "None"})
    assert response.context["form"].errors["scopes"]
    assert not ApiToken.objects.exists()


def test_revoke_a_token_after_confirmation(login, org_world):
    token, _secret = services.token_create(actor=org_world["user"], name="CI", scopes=["read"])
    client = login(org_world["user"])
    confirm = client.get(url("token-revoke", None, token.pk)).content.decode()
    assert "Revoke the token CI?" in confirm
    client.post(url("token-revoke", None, token.pk))
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert login(org_world["outsider"]).get(url("token-revoke", None, token.pk)).status_code == 404


# --- Sign-in pages and languages ------------------------------------------------------


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_sign_in_pages_use_the_panel_layout(client, db, name):
    html = client.get(reverse(name)).content.decode()
    assert '<meta charset="utf-8">' in html
    assert 'class="topbar"' in html and "panel/panel.css" in html
    assert 'class="card auth-card"' in html


def test_login_error_is_shown_in_the_form(client, org_world):
    response = client.post(
        reverse("account_login"), {"login": "admin@example.test", "password": "wrong"}
    )
    assert "form-errors" in response.content.decode()


def test_language_switch_to_french(client, org_world):
    client.force_login(org_world["admin"])
    target = url("organisation-dashboard", org_world["org"])
    response = client.post("/i18n/setlang/", {"language": "fr", "next": target})
    assert response.status_code == 302 and response["Location"] == target
    page = client.get(target)
    assert page.content.decode().startswith("<!DOCTYPE html>")
    html = page.content.decode()
    assert '<html lang="fr">' in html
    assert "Tableau de bord" in html and "Rien pour l’instant" in html


def test_activity_shows_my_actions_with_their_label(login, org_world):
    services.team_create(access=access_for(org_world["admin"], org_world["org"]), name="Labels")
    html = login(org_world["admin"]).get(url("activity-list", org_world["org"])).content.decode()
    assert "Created a team" in html and "Labels" in html
    assert ActivityEvent.objects.filter(code="panel.team.created").exists()


@pytest.mark.parametrize(
    "name,layout",
    [
        ("account_email", 'class="sidenav"'),
        ("account_change_password", 'class="sidenav"'),
        ("account_logout", 'class="sidenav"'),
        ("mfa_index", 'class="sidenav"'),
        # Turning on two-factor first asks for the password again, on an entrance card.
        ("mfa_activate_totp", 'class="card auth-card"'),
    ],
)
def test_account_pages_use_the_panel_layout(login, org_world, name, layout):
    response = login(org_world["admin"]).get(reverse(name), follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="topbar"' in html and layout in html
    # No organisation in the URL: no organisation navigation and no Jobs menu.
    assert 'data-testid="jobs-menu"' not in html and 'class="mainnav"' not in html


def test_password_reset_sends_a_link_and_confirms_in_the_layout(
    client, org_world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_reset_password"), {"email": "admin@example.test"}, follow=True
        )
    assert 'class="card auth-card"' in response.content.decode()
    assert mail.outbox and "admin@example.test" in mail.outbox[-1].to


def test_class_based_views_enter_the_organisation_the_same_way(rf, org_world):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404, HttpResponse
    from django.views import View

    from panel.access import Capability
    from panel.mixins import OrganisationMixin, require
    from panel.products import KINDS

    class MailSettings(OrganisationMixin, View):
        def get(self, request, org_id, product_id):
            product = KINDS["mail_service"].products_of(self.organisation).get(pk=product_id)
            require(self.access, Capability.MANAGE_PRODUCT, product)
            return HttpResponse(product.name)

    def get(user, product):
        request = rf.get("/")
        request.user, request.session = user, {}
        return MailSettings.as_view()(request, org_id=org_world["org"].pk, product_id=product.pk)

    assert get(org_world["teammate"], org_world["mail"]).content == b"acme.test"
    with pytest.raises(Http404):  # not granted: invisible, as if it did not exist
        get(org_world["teammate"], org_world["other_mail"])
    with pytest.raises(Http404):
        get(org_world["outsider"], org_world["mail"])
    f.GrantFactory(
        team=org_world["team"],
        product_type="mail_service",
        product_id=org_world["other_mail"].pk,
        level="view",
    )
    with pytest.raises(PermissionDenied):  # visible but not manageable
        get(org_world["teammate"], org_world["other_mail"])
