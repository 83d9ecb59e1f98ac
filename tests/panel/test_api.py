"""The REST API contract of the tenancy core, as an integrator script meets it."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from panel import activity, selectors, services
from panel.access import access_for
from panel.models import (
    ActivityEvent,
    ApiToken,
    Grant,
    Invitation,
    InvitationStatus,
    Job,
    JobStatus,
    Membership,
    Organisation,
    Role,
    Team,
    TeamMember,
    User,
)
from tests import factories as f

API = "/api/v1"
ENVELOPE = {"code", "detail", "fields"}


def org_url(world, rest=""):
    return f"{API}/organisations/{world['org'].pk}/{rest}"


def bearer(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def assert_error(response, status, *, code=None, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == ENVELOPE
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["fields"], dict)
    if code is not None:
        assert body["code"] == code
    if field is not None:
        assert body["fields"].get(field), body
    return body


def visible_mail(user, org):
    access = access_for(user, org)
    return set() if access is None else set(access.visible_products("mail_service"))


def dashboard_products(user, org):
    access = access_for(user, org)
    if access is None:
        return set()
    return {
        product
        for entry in selectors.organisation_products(access=access)
        for product in entry["products"]
    }


# --- /me/ and tokens ---------------------------------------------------------------


def test_me_returns_my_id_and_email(org_world, client_for):
    response = client_for(org_world["admin"]).get(f"{API}/me/")
    assert response.status_code == 200
    assert response.json()["id"] == org_world["admin"].pk
    assert response.json()["email"] == "admin@example.test"


def test_token_is_shown_once_stored_hashed_and_works_as_bearer(org_world, client_for):
    client = client_for(org_world["legal"])
    response = client.post(
        f"{API}/me/tokens/", {"name": "deploy", "scopes": ["read", "write"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert {"id", "name", "scopes", "token"} <= set(body)
    assert body["name"] == "deploy"
    assert body["scopes"] == ["read", "write"]
    secret = body["token"]
    assert len(secret) >= 32

    listing = client.get(f"{API}/me/tokens/")
    assert listing.status_code == 200
    [item] = [t for t in listing.json()["results"] if t["id"] == body["id"]]
    assert "token" not in item
    assert secret not in listing.content.decode()

    row = ApiToken.objects.get(pk=body["id"])
    assert row.token_hash != secret
    assert secret not in row.hint
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        stored = repr(cursor.fetchall())
        cursor.execute(f"SELECT * FROM {ActivityEvent._meta.db_table}")
        stored += repr(cursor.fetchall())
    assert secret not in stored

    me = bearer(secret).get(f"{API}/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "legal@example.test"
    created = bearer(secret).post(f"{API}/organisations/", {"name": "Scripted"}, format="json")
    assert created.status_code == 201


def test_expired_token_answers_401(org_world):
    token, secret = services.token_create(
        actor=org_world["legal"],
        name="short",
        scopes=["read"],
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    assert bearer(secret).get(f"{API}/me/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert_error(bearer(secret).get(f"{API}/me/"), 401)


def test_unknown_token_answers_401(db):
    assert_error(bearer("pnl_not-a-real-token").get(f"{API}/me/"), 401)


def test_revoked_token_answers_401(org_world, client_for):
    token, secret = services.token_create(actor=org_world["legal"], name="ci", scopes=["read"])
    assert bearer(secret).get(f"{API}/me/").status_code == 200
    response = client_for(org_world["legal"]).delete(f"{API}/me/tokens/{token.pk}/")
    assert response.status_code == 204
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert_error(bearer(secret).get(f"{API}/me/"), 401)


def test_someone_elses_token_cannot_be_revoked(org_world, client_for):
    token, secret = services.token_create(actor=org_world["legal"], name="ci", scopes=["read"])
    response = client_for(org_world["admin"]).delete(f"{API}/me/tokens/{token.pk}/")
    assert_error(response, 404)
    assert bearer(secret).get(f"{API}/me/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["admin"]}, "scopes"),
        ({"name": "x"}, "scopes"),
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "scopes": ["read"], "expires_at": "tomorrow"}, "expires_at"),
    ],
)
def test_bad_token_input_answers_400_and_writes_nothing(org_world, client_for, body, field):
    before = ApiToken.objects.count()
    response = client_for(org_world["legal"]).post(f"{API}/me/tokens/", body, format="json")
    assert_error(response, 400, code="invalid", field=field)
    assert ApiToken.objects.count() == before


def test_token_of_a_deactivated_person_answers_401(org_world):
    _token, secret = services.token_create(actor=org_world["admin"], name="ci", scopes=["read"])
    assert bearer(secret).get(f"{API}/me/").status_code == 200
    User.objects.filter(pk=org_world["admin"].pk).update(is_active=False)
    assert_error(bearer(secret).get(f"{API}/me/"), 401)


def test_token_list_shows_only_mine(org_world, client_for):
    services.token_create(actor=org_world["legal"], name="legal's", scopes=["read"])
    services.token_create(actor=org_world["admin"], name="admin's", scopes=["read"])
    names = [
        t["name"] for t in client_for(org_world["admin"]).get(f"{API}/me/tokens/").json()["results"]
    ]
    assert names == ["admin's"]


# --- organisations -----------------------------------------------------------------


def test_creating_an_organisation_makes_me_its_legal_representative(org_world, client_for):
    response = client_for(org_world["user"]).post(
        f"{API}/organisations/", {"name": "Globex"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Globex"
    assert body["role"] == "legal_representative"
    membership = Membership.objects.get(organisation_id=body["id"])
    assert membership.user == org_world["user"]
    assert membership.role == Role.LEGAL_REPRESENTATIVE


def test_bad_organisation_name_answers_400_and_writes_nothing(org_world, client_for):
    before = Organisation.objects.count()
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 121}):
        response = client_for(org_world["user"]).post(f"{API}/organisations/", body, format="json")
        assert_error(response, 400, field="name")
    assert Organisation.objects.count() == before


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("legal", [("Acme", "legal_representative")]),
        ("admin", [("Acme", "admin")]),
        ("user", [("Acme", "user")]),
        ("teammate", [("Acme", "guest")]),
        ("outsider", [("Other", "legal_representative")]),
    ],
)
def test_organisation_list_shows_only_mine_with_my_role(org_world, client_for, who, expected):
    response = client_for(org_world[who]).get(f"{API}/organisations/")
    assert response.status_code == 200
    assert [(o["name"], o["role"]) for o in response.json()["results"]] == expected


def test_rename_organisation(org_world, client_for):
    response = client_for(org_world["admin"]).patch(
        org_url(org_world), {"name": "Acme SA"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Acme SA"
    org_world["org"].refresh_from_db()
    assert org_world["org"].name == "Acme SA"


def test_deleting_organisation_needs_its_exact_name(org_world, client_for):
    client = client_for(org_world["legal"])
    response = client.delete(org_url(org_world), {"confirm_name": "Acne"}, format="json")
    assert_error(response, 400, field="confirm_name")
    assert Organisation.objects.filter(pk=org_world["org"].pk).exists()
    response = client.delete(org_url(org_world), {"confirm_name": "Acme"}, format="json")
    assert response.status_code == 204
    assert not Organisation.objects.filter(pk=org_world["org"].pk).exists()
    assert Organisation.objects.filter(pk=org_world["other_org"].pk).exists()


def test_deleting_organisation_without_its_name_is_refused(org_world, client_for):
    client = client_for(org_world["legal"])
    assert_error(client.delete(org_url(org_world)), 400, field="confirm_name")
    assert_error(client.delete(org_url(org_world, "?confirm_name=Acne")), 400, field="confirm_name")
    assert Organisation.objects.filter(pk=org_world["org"].pk).exists()
    assert client.delete(org_url(org_world, "?confirm_name=Acme")).status_code == 204
    assert not Organisation.objects.filter(pk=org_world["org"].pk).exists()


def test_unknown_organisation_looks_like_a_foreign_one(org_world, client_for):
    client = client_for(org_world["outsider"])
    foreign = client.get(org_url(org_world))
    missing = client.get(f"{API}/organisations/987654321/")
    assert_error(foreign, 404)
    assert_error(missing, 404)
    assert foreign.json() == missing.json()


def test_objects_of_another_organisation_are_404_through_my_organisation(org_world, client_for):
    other = org_world["other_org"]
    other_member = f.MembershipFactory(organisation=other, role=Role.USER)
    other_team = f.TeamFactory(organisation=other, name="Theirs")
    other_mail = f.MailServiceFactory(organisation=other)
    other_grant = f.GrantFactory(team=other_team, product_id=other_mail.pk)
    other_invitation = Invitation.objects.create(organisation=other, email="x@example.test")
    other_job = Job.objects.create(organisation=other, actor=org_world["outsider"], kind="k")
    client = client_for(org_world["legal"])
    team = org_world["team"].pk
    attempts = [
        ("get", f"members/{other_member.pk}/", None),
        ("patch", f"members/{other_member.pk}/", {"role": "admin"}),
        ("delete", f"members/{other_member.pk}/", None),
        ("post", f"members/{other_member.pk}/transfer-legal-representative/", None),
        ("delete", f"invitations/{other_invitation.pk}/", None),
        ("post", f"invitations/{other_invitation.pk}/resend/", None),
        ("get", f"teams/{other_team.pk}/", None),
        ("patch", f"teams/{other_team.pk}/", {"name": "Mine now"}),
        ("delete", f"teams/{other_team.pk}/", None),
        ("get", f"teams/{other_team.pk}/members/", None),
        ("post", f"teams/{other_team.pk}/members/", {"users": [org_world["user"].pk]}),
        ("get", f"teams/{other_team.pk}/grants/", None),
        ("delete", f"teams/{other_team.pk}/grants/{other_grant.pk}/", None),
        ("delete", f"teams/{team}/grants/{other_grant.pk}/", None),
        ("get", f"jobs/{other_job.pk}/", None),
        ("get", f"jobs/{other_job.pk}/download/", None),
    ]
    for method, rest, body in attempts:
        response = getattr(client, method)(org_url(org_world, rest), body, format="json")
        assert_error(response, 404)
    assert Membership.objects.get(pk=other_member.pk).role == Role.USER
    assert Team.objects.get(pk=other_team.pk).name == "Theirs"
    assert Grant.objects.filter(pk=other_grant.pk).exists()
    assert Invitation.objects.get(pk=other_invitation.pk).status == InvitationStatus.PENDING
    assert not TeamMember.objects.filter(team=other_team).exists()


@pytest.mark.parametrize(
    ("who", "status"), [("outsider", 404), ("user", 403), ("teammate", 403), ("readonly", 403)]
)
@pytest.mark.parametrize(
    "rest",
    [
        "",
        "teams/",
        "invitations/",
        "activity/exports/",
        "teams/{team}/grants/",
        "teams/{team}/members/",
    ],
)
def test_visibility_and_capability_are_checked_before_the_input(
    org_world, client_for, who, status, rest
):
    """Bad input must not reveal an organisation or an endpoint the person may not use."""
    client = (
        client_for(org_world["legal"], scopes=["read"])
        if who == "readonly"
        else client_for(org_world[who])
    )
    url = org_url(org_world, rest.format(team=org_world["team"].pk))
    method = client.patch if rest == "" else client.post
    response = method(
        url,
        {"name": "", "email": "bad", "users": "x", "since": "never", "product_type": "?"},
        format="json",
    )
    assert_error(response, status)


def test_bad_organisation_rename_answers_400_and_changes_nothing(org_world, client_for):
    response = client_for(org_world["admin"]).patch(
        org_url(org_world), {"name": " "}, format="json"
    )
    assert_error(response, 400, field="name")
    org_world["org"].refresh_from_db()
    assert org_world["org"].name == "Acme"


# --- invitations -------------------------------------------------------------------


def test_invitation_to_an_address_without_account(
    org_world, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org_world["admin"]).post(
            org_url(org_world, "invitations/"),
            {"email": "Newbie@Example.test", "role": "admin"},
            format="json",
        )
    assert response.status_code == 201
    assert response.json()["email"] == "newbie@example.test"
    assert response.json()["status"] == "pending"
    assert [m.to for m in mailoutbox] == [["newbie@example.test"]]

    signup = Client().post(
        "/accounts/signup/",
        {
            "email": "newbie@example.test",
            "password1": "a-long-pass-phrase-42",
            "password2": "a-long-pass-phrase-42",
        },
    )
    assert signup.status_code == 302
    newbie = User.objects.get(email="newbie@example.test")
    client = client_for(newbie)

    mine = client.get(f"{API}/me/invitations/")
    assert mine.status_code == 200
    [invitation] = mine.json()["results"]
    assert invitation["role"] == "admin"
    assert invitation["organisation"] == {"id": org_world["org"].pk, "name": "Acme"}

    accepted = client.post(f"{API}/me/invitations/{invitation['id']}/accept/")
    assert accepted.status_code == 200
    assert Membership.objects.get(organisation=org_world["org"], user=newbie).role == Role.ADMIN
    assert client.get(f"{API}/me/invitations/").json()["count"] == 0
    orgs = client.get(f"{API}/organisations/").json()["results"]
    assert [(o["name"], o["role"]) for o in orgs] == [("Acme", "admin")]
    assert client.get(org_url(org_world, "members/")).status_code == 200


def test_declining_an_invitation(org_world, client_for):
    invitation = services.invitation_create(
        access=access_for(org_world["admin"], org_world["org"]),
        email="outsider@example.test",
        role="user",
    )
    client = client_for(org_world["outsider"])
    assert [i["id"] for i in client.get(f"{API}/me/invitations/").json()["results"]] == [
        invitation.pk
    ]
    response = client.post(f"{API}/me/invitations/{invitation.pk}/decline/")
    assert response.status_code == 200
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DECLINED
    assert not Membership.objects.filter(
        organisation=org_world["org"], user=org_world["outsider"]
    ).exists()
    assert client.get(f"{API}/me/invitations/").json()["count"] == 0
    assert_error(client.post(f"{API}/me/invitations/{invitation.pk}/accept/"), 404)


def test_nobody_else_can_answer_my_invitation(org_world, client_for):
    invitation = services.invitation_create(
        access=access_for(org_world["admin"], org_world["org"]),
        email="outsider@example.test",
        role="admin",
    )
    response = client_for(org_world["user"]).post(f"{API}/me/invitations/{invitation.pk}/accept/")
    assert_error(response, 404)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    assert Membership.objects.get(user=org_world["user"], organisation=org_world["org"]).role == (
        Role.USER
    )


def test_resend_and_revoke_an_invitation(
    org_world, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = Invitation.objects.create(
        organisation=org_world["org"],
        email="later@example.test",
        role="user",
        sent_at=timezone.now() - dt.timedelta(days=2),
    )
    client = client_for(org_world["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(org_url(org_world, f"invitations/{invitation.pk}/resend/"))
    assert response.status_code == 200
    assert [m.to for m in mailoutbox] == [["later@example.test"]]
    old_sent_at = invitation.sent_at
    invitation.refresh_from_db()
    assert invitation.sent_at > old_sent_at

    response = client.delete(org_url(org_world, f"invitations/{invitation.pk}/"))
    assert response.status_code == 204
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED
    listed = client.get(org_url(org_world, "invitations/")).json()["results"]
    assert invitation.pk not in [i["id"] for i in listed]
    later = f.UserFactory(email="later@example.test")
    assert client_for(later).get(f"{API}/me/invitations/").json()["count"] == 0
    assert_error(client_for(later).post(f"{API}/me/invitations/{invitation.pk}/accept/"), 404)


def test_inviting_a_member_or_inviting_twice_is_a_conflict(org_world, client_for):
    client = client_for(org_world["admin"])
    url = org_url(org_world, "invitations/")
    member = client.post(url, {"email": "USER@example.test", "role": "user"}, format="json")
    assert_error(member, 409, code="already_member", field="email")
    assert (
        client.post(url, {"email": "fresh@example.test", "role": "user"}, format="json").status_code
        == 201
    )
    again = client.post(url, {"email": "fresh@example.test", "role": "admin"}, format="json")
    assert_error(again, 409, code="already_invited", field="email")
    assert Invitation.objects.filter(email="fresh@example.test").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "role": "user"}, "email"),
        ({"role": "user"}, "email"),
        ({"email": "x@example.test", "role": "legal_representative"}, "role"),
        ({"email": "x@example.test", "role": "owner"}, "role"),
        ({"email": "x@example.test"}, "role"),
    ],
)
def test_bad_invitation_answers_400_and_writes_nothing(org_world, client_for, body, field):
    before = (Invitation.objects.count(), ActivityEvent.objects.count())
    response = client_for(org_world["admin"]).post(
        org_url(org_world, "invitations/"), body, format="json"
    )
    assert_error(response, 400, code="invalid", field=field)
    assert (Invitation.objects.count(), ActivityEvent.objects.count()) == before


# --- members -----------------------------------------------------------------------


def test_member_list_shape(org_world, client_for):
    response = client_for(org_world["admin"]).get(org_url(org_world, "members/"))
    assert response.status_code == 200
    results = response.json()["results"]
    assert {(m["user"]["email"], m["role"]) for m in results} == {
        ("legal@example.test", "legal_representative"),
        ("admin@example.test", "admin"),
        ("user@example.test", "user"),
    }
    for member in results:
        assert {"id", "user", "role"} <= set(member)
        assert set(member["user"]) >= {"id", "email"}


def test_change_a_member_role(org_world, client_for):
    membership = Membership.objects.get(user=org_world["user"])
    response = client_for(org_world["admin"]).patch(
        org_url(org_world, f"members/{membership.pk}/"), {"role": "admin"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    assert access_for(org_world["user"], org_world["org"]).is_admin


@pytest.mark.parametrize("role", ["legal_representative", "owner", ""])
def test_bad_role_answers_400_and_changes_nothing(org_world, client_for, role):
    membership = Membership.objects.get(user=org_world["user"])
    response = client_for(org_world["admin"]).patch(
        org_url(org_world, f"members/{membership.pk}/"), {"role": role}, format="json"
    )
    assert_error(response, 400, field="role")
    membership.refresh_from_db()
    assert membership.role == Role.USER
    assert (
        Membership.objects.filter(
            role=Role.LEGAL_REPRESENTATIVE, organisation=org_world["org"]
        ).count()
        == 1
    )


@pytest.mark.parametrize("who", ["admin", "legal"])
def test_legal_representative_cannot_be_removed_or_demoted(org_world, client_for, who):
    legal = Membership.objects.get(user=org_world["legal"], organisation=org_world["org"])
    client = client_for(org_world[who])
    removed = client.delete(org_url(org_world, f"members/{legal.pk}/"))
    assert 400 <= removed.status_code < 500
    assert set(removed.json()) == ENVELOPE
    demoted = client.patch(
        org_url(org_world, f"members/{legal.pk}/"), {"role": "user"}, format="json"
    )
    assert 400 <= demoted.status_code < 500
    legal.refresh_from_db()
    assert legal.role == Role.LEGAL_REPRESENTATIVE


def test_removing_a_member_takes_their_team_places_and_access(org_world, client_for):
    user, org, team = org_world["user"], org_world["org"], org_world["team"]
    TeamMember.objects.create(organisation=org, team=team, user=user)
    assert visible_mail(user, org) == {org_world["mail"]}
    membership = Membership.objects.get(user=user, organisation=org)
    response = client_for(org_world["admin"]).delete(
        org_url(org_world, f"members/{membership.pk}/")
    )
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert not TeamMember.objects.filter(user=user, team=team).exists()
    assert access_for(user, org) is None
    assert_error(client_for(user).get(org_url(org_world)), 404)


def test_transfer_the_legal_representative_role(org_world, client_for):
    org = org_world["org"]
    target = Membership.objects.get(user=org_world["admin"], organisation=org)
    client = client_for(org_world["legal"])
    response = client.post(
        org_url(org_world, f"members/{target.pk}/transfer-legal-representative/")
    )
    assert response.status_code == 200
    assert response.json()["role"] == "legal_representative"
    roles = dict(Membership.objects.filter(organisation=org).values_list("user__email", "role"))
    assert roles == {
        "legal@example.test": "admin",
        "admin@example.test": "legal_representative",
        "user@example.test": "user",
    }
    # The former legal representative is now an administrator and may no longer delete.
    assert_error(client.delete(org_url(org_world), {"confirm_name": "Acme"}, format="json"), 403)
    assert (
        client_for(org_world["admin"])
        .delete(org_url(org_world), {"confirm_name": "Acme"}, format="json")
        .status_code
        == 204
    )


def test_transfer_to_myself_changes_nothing(org_world, client_for):
    mine = Membership.objects.get(user=org_world["legal"], organisation=org_world["org"])
    response = client_for(org_world["legal"]).post(
        org_url(org_world, f"members/{mine.pk}/transfer-legal-representative/")
    )
    assert_error(response, 400)
    mine.refresh_from_db()
    assert mine.role == Role.LEGAL_REPRESENTATIVE


# --- teams -------------------------------------------------------------------------


def test_team_create_read_update_delete(org_world, client_for):
    client = client_for(org_world["admin"])
    user = org_world["user"]
    created = client.post(
        org_url(org_world, "teams/"),
        {"name": "Support", "description": "Help desk", "leader": user.pk},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Support"
    assert body["description"] == "Help desk"
    assert body["leader"] == {"id": user.pk, "email": user.email}
    team_url = org_url(org_world, f"teams/{body['id']}/")

    detail = client.get(team_url)
    assert detail.status_code == 200
    assert [m["email"] for m in detail.json()["members"]] == [user.email]

    listed = client.get(org_url(org_world, "teams/")).json()["results"]
    assert sorted(t["name"] for t in listed) == ["Support", "Webmasters"]

    patched = client.patch(team_url, {"name": "Helpdesk", "leader": None}, format="json")
    assert patched.status_code == 200
    assert patched.json()["name"] == "Helpdesk"
    assert patched.json()["leader"] is None

    assert client.delete(team_url).status_code == 204
    assert not Team.objects.filter(pk=body["id"]).exists()
    assert_error(client.get(team_url), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Ops", "leader": 987654321}, "leader"),
        ({"name": "Ops", "leader": "outsider"}, "leader"),
        ({"name": "Ops", "description": "x" * 2001}, "description"),
    ],
)
def test_bad_team_input_answers_400_and_writes_nothing(org_world, client_for, body, field):
    if body.get("leader") == "outsider":
        body = {**body, "leader": org_world["outsider"].pk}
    before = (Team.objects.count(), TeamMember.objects.count(), ActivityEvent.objects.count())
    response = client_for(org_world["admin"]).post(
        org_url(org_world, "teams/"), body, format="json"
    )
    assert_error(response, 400, code="invalid", field=field)
    assert (
        Team.objects.count(),
        TeamMember.objects.count(),
        ActivityEvent.objects.count(),
    ) == before


def test_team_name_is_unique_in_the_organisation(org_world, client_for):
    response = client_for(org_world["admin"]).post(
        org_url(org_world, "teams/"), {"name": "webmasters"}, format="json"
    )
    assert_error(response, 409, code="team_exists", field="name")
    assert Team.objects.filter(organisation=org_world["org"]).count() == 1
    # Another organisation may use the same name.
    other = client_for(org_world["outsider"]).post(
        f"{API}/organisations/{org_world['other_org'].pk}/teams/",
        {"name": "Webmasters"},
        format="json",
    )
    assert other.status_code == 201


def test_add_several_people_at_once_and_invite_outside_people(org_world, client_for):
    org, team = org_world["org"], org_world["team"]
    stranger = f.UserFactory(email="stranger@example.test")
    response = client_for(org_world["admin"]).post(
        org_url(org_world, f"teams/{team.pk}/members/"),
        {"users": [org_world["user"].pk, org_world["teammate"].pk],
         "emails": ["stranger@example.test", "new@example.test"]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    assert sorted(m["email"] for m in body["members"]) == [
        "teammate@example.test",
        "user@example.test",
    ]
    # Outside people, with an account or not, are invited: nobody joins without consent.
    assert sorted(body["invited"]) == ["new@example.test", "stranger@example.test"]
    assert visible_mail(stranger, org) == set()
    assert client_for(stranger).get(f"{API}/organisations/").json()["results"] == []


def test_ids_the_organisation_does_not_know_answer_like_unknown_ids(org_world, client_for):
    """Another organisation's owner, a person in no organisation and an id that exists
    nowhere: the same 400, nobody added, no email shown."""
    team = org_world["team"]
    client = client_for(org_world["admin"])
    lonely = f.UserFactory(email="lonely@example.test")
    before = set(TeamMember.objects.values_list("user_id", flat=True))
    answers = []
    for pk in (org_world["outsider"].pk, lonely.pk, 987654321):
        response = client.post(
            org_url(org_world, f"teams/{team.pk}/members/"), {"users": [pk]}, format="json"
        )
        assert_error(response, 400, field="users")
        assert "@" not in response.content.decode()
        answers.append(response.json()["fields"]["users"][0].replace(str(pk), "<id>"))
    assert len(set(answers)) == 1, answers
    assert set(TeamMember.objects.values_list("user_id", flat=True)) == before
    for person in (org_world["outsider"], lonely):
        names = [
            o["name"] for o in client_for(person).get(f"{API}/organisations/").json()["results"]
        ]
        assert "Acme" not in names


@pytest.mark.parametrize(
    ("users", "field"),
    [([], "emails"), ([987654321], "users"), ("not-a-list", "users"), (["abc"], "users")],
)
def test_bad_team_members_input_answers_400_and_writes_nothing(org_world, client_for, users, field):
    team = org_world["team"]
    ids = users if users != [987654321] else [org_world["user"].pk, 987654321]
    before = TeamMember.objects.count()
    response = client_for(org_world["admin"]).post(
        org_url(org_world, f"teams/{team.pk}/members/"), {"users": ids}, format="json"
    )
    assert_error(response, 400, field=field)
    assert TeamMember.objects.count() == before


def test_grants_give_and_remove_access(org_world, client_for):
    org, team, teammate = org_world["org"], org_world["team"], org_world["teammate"]
    other_mail = org_world["other_mail"]
    client = client_for(org_world["admin"])
    grants_url = org_url(org_world, f"teams/{team.pk}/grants/")
    assert visible_mail(teammate, org) == {org_world["mail"]}

    created = client.post(
        grants_url,
        {"product_type": "mail_service", "product_id": other_mail.pk, "level": "view"},
        format="json",
    )
    assert created.status_code == 201
    grant = created.json()
    assert {k: grant[k] for k in ("product_type", "product_id", "level")} == {
        "product_type": "mail_service",
        "product_id": other_mail.pk,
        "level": "view",
    }
    assert visible_mail(teammate, org) == {org_world["mail"], other_mail}
    assert client.get(grants_url).json()["count"] == 2

    again = client.post(
        grants_url,
        {"product_type": "mail_service", "product_id": other_mail.pk, "level": "manage"},
        format="json",
    )
    assert_error(again, 409)

    deleted = client.delete(org_url(org_world, f"teams/{team.pk}/grants/{grant['id']}/"))
    assert deleted.status_code == 204
    assert visible_mail(teammate, org) == {org_world["mail"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product_type": "mail_service", "product_id": "foreign", "level": "view"}, "product_id"),
        ({"product_type": "mail_service", "product_id": 987654321, "level": "view"}, "product_id"),
        ({"product_type": "spaceship", "product_id": 1, "level": "view"}, "product_type"),
        ({"product_type": "mail_service", "product_id": "own", "level": "admin"}, "level"),
        ({"product_type": "mail_service", "level": "view"}, "product_id"),
    ],
)
def test_bad_grant_answers_400_and_writes_nothing(org_world, client_for, body, field):
    foreign = f.MailServiceFactory(organisation=org_world["other_org"])
    ids = {"foreign": foreign.pk, "own": org_world["other_mail"].pk}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = Grant.objects.count()
    response = client_for(org_world["admin"]).post(
        org_url(org_world, f"teams/{org_world['team'].pk}/grants/"), body, format="json"
    )
    assert_error(response, 400, field=field)
    assert Grant.objects.count() == before


def test_removing_a_person_from_a_team_removes_their_access_at_once(org_world, client_for):
    org, team, teammate, user = (
        org_world["org"],
        org_world["team"],
        org_world["teammate"],
        org_world["user"],
    )
    TeamMember.objects.create(organisation=org, team=team, user=user)
    assert dashboard_products(user, org) == {org_world["mail"]}
    assert visible_mail(teammate, org) == {org_world["mail"]}
    client = client_for(org_world["admin"])

    for person in (user, teammate):
        response = client.delete(org_url(org_world, f"teams/{team.pk}/members/{person.pk}/"))
        assert response.status_code == 204

    assert dashboard_products(user, org) == set()
    assert visible_mail(user, org) == set()
    # The outside person was only in this team: the organisation disappears for them.
    assert access_for(teammate, org) is None
    assert_error(client_for(teammate).get(org_url(org_world)), 404)


def test_deleting_a_team_removes_its_access_at_once(org_world, client_for):
    org, team, user = org_world["org"], org_world["team"], org_world["user"]
    TeamMember.objects.create(organisation=org, team=team, user=user)
    assert dashboard_products(user, org) == {org_world["mail"]}
    response = client_for(org_world["admin"]).delete(org_url(org_world, f"teams/{team.pk}/"))
    assert response.status_code == 204
    assert dashboard_products(user, org) == set()
    assert access_for(org_world["teammate"], org) is None
    assert not Grant.objects.filter(pk=org_world["grant"].pk).exists()


# --- errors and pagination ---------------------------------------------------------


def test_errors_use_the_envelope(org_world, client_for):
    admin, user = client_for(org_world["admin"]), client_for(org_world["user"])
    assert_error(
        admin.post(org_url(org_world, "teams/"), {"name": ""}, format="json"),
        400,
        code="invalid",
        field="name",
    )
    assert_error(APIClient().get(f"{API}/me/"), 401, code="not_authenticated")
    assert_error(user.get(org_url(org_world, "teams/")), 403, code="permission_denied")
    assert_error(
        client_for(org_world["outsider"]).get(org_url(org_world, "teams/")), 404, code="not_found"
    )
    assert_error(admin.get(org_url(org_world, "teams/987654321/")), 404, code="not_found")
    assert_error(
        admin.post(org_url(org_world, "teams/"), {"name": "Webmasters"}, format="json"), 409
    )
    readonly = bearer(services.token_create(actor=org_world["admin"], name="r", scopes=["read"])[1])
    assert_error(readonly.post(org_url(org_world, "teams/"), {"name": "Ops"}, format="json"), 403)


def _fill_lists(world):
    """At least three rows in every list an admin of Acme can read."""
    org, legal, team = world["org"], world["legal"], world["team"]
    for n in range(3):
        services.token_create(actor=legal, name=f"t{n}", scopes=["read"])
        inviter = f.OrganisationFactory()
        Invitation.objects.create(organisation=inviter, email=legal.email)
        f.OrganisationFactory(legal_representative=legal)
        Invitation.objects.create(organisation=org, email=f"p{n}@example.test")
        f.TeamFactory(organisation=org)
        f.TeamMemberFactory(team=team)
        mail = f.MailServiceFactory(organisation=org)
        f.GrantFactory(team=team, product_id=mail.pk)
        activity.record(organisation=org, actor=legal, code="panel.test.done")
        Job.objects.create(organisation=org, actor=legal, kind="activity_export")


@pytest.mark.parametrize(
    "path",
    [
        "/me/tokens/",
        "/me/invitations/",
        "/organisations/",
        "{org}members/",
        "{org}invitations/",
        "{org}teams/",
        "{org}teams/{team}/members/",
        "{org}teams/{team}/grants/",
        "{org}activity/",
        "{org}jobs/",
    ],
)
def test_lists_are_paginated(org_world, client_for, path):
    _fill_lists(org_world)
    url = API + path.format(org=f"/organisations/{org_world['org'].pk}/", team=org_world["team"].pk)
    response = client_for(org_world["legal"]).get(url, {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, dict), f"{url} is not paginated"
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] >= 3
    assert len(body["results"]) == 2
    assert body["next"] and body["previous"] is None
    following = client_for(org_world["legal"]).get(body["next"]).json()
    assert following["previous"]
    ids = {r.get("id") for r in body["results"]} | {r.get("id") for r in following["results"]}
    assert len(ids) == min(body["count"], 4)


# --- activity ----------------------------------------------------------------------


def test_activity_records_who_did_what_through_the_api(org_world, client_for):
    admin = org_world["admin"]
    client = client_for(admin)
    created = client.post(org_url(org_world, "teams/"), {"name": "Support"}, format="json")
    team_id = created.json()["id"]
    response = client.get(org_url(org_world, "activity/"))
    assert response.status_code == 200
    event = response.json()["results"][0]
    assert event["code"] == "panel.team.created"
    assert event["actor"] == {"id": admin.pk, "email": admin.email}
    assert event["actor_email"] == admin.email
    assert event["target_type"] == "team"
    assert event["target_id"] == str(team_id)
    assert event["target_repr"] == "Support"
    assert event["via"] == "api"
    assert event["created_at"]


def test_actions_after_an_api_request_are_not_marked_api(org_world, client_for):
    """The API marks its own actions; the next action handled by the same worker thread
    (a UI request, a command) must not inherit that mark."""
    assert client_for(org_world["admin"]).get(f"{API}/me/").status_code == 200
    team = services.team_create(
        access=access_for(org_world["admin"], org_world["org"]), name="From the UI"
    )
    event = ActivityEvent.objects.get(code="panel.team.created", target_id=str(team.pk))
    assert event.via == "ui"


def _event(org, actor, code, day):
    return ActivityEvent.objects.create(
        organisation=org,
        actor=actor,
        actor_email=actor.email,
        code=code,
        created_at=timezone.make_aware(dt.datetime(2026, day[0], day[1], 12, 0)),
    )


@pytest.fixture
def history(org_world):
    org, legal, admin = org_world["org"], org_world["legal"], org_world["admin"]
    ActivityEvent.objects.filter(organisation=org).delete()
    return {
        "created": _event(org, legal, "panel.team.created", (1, 10)),
        "role": _event(org, admin, "panel.member.role_changed", (2, 10)),
        "deleted": _event(org, admin, "panel.team.deleted", (3, 10)),
        "foreign": _event(
            org_world["other_org"], org_world["outsider"], "panel.team.created", (2, 10)
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["deleted", "role", "created"]),
        ({"actor": "admin"}, ["deleted", "role"]),
        ({"actor": "legal"}, ["created"]),
        ({"kind": "panel.team"}, ["deleted", "created"]),
        ({"kind": "panel.member.role_changed"}, ["role"]),
        ({"since": "2026-02-01"}, ["deleted", "role"]),
        ({"until": "2026-02-10"}, ["role", "created"]),
        ({"since": "2026-02-01", "until": "2026-02-28"}, ["role"]),
        ({"actor": "admin", "kind": "panel.team"}, ["deleted"]),
    ],
)
def test_activity_filters(org_world, client_for, history, query, expected):
    if "actor" in query:
        query = {**query, "actor": org_world[query["actor"]].pk}
    response = client_for(org_world["legal"]).get(org_url(org_world, "activity/"), query)
    assert response.status_code == 200
    ids = [e["id"] for e in response.json()["results"]]
    assert ids == [history[name].pk for name in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "2026-13-45"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"actor": "bob"}, "actor"),
        ({"since": "2026-02-10", "until": "2026-02-01"}, "until"),
    ],
)
def test_bad_activity_filter_answers_400(org_world, client_for, query, field):
    response = client_for(org_world["legal"]).get(org_url(org_world, "activity/"), query)
    assert_error(response, 400, field=field)


# --- jobs --------------------------------------------------------------------------


def test_jobs_users_see_only_their_own(org_world, client_for):
    org = org_world["org"]
    admin_job = Job.objects.create(organisation=org, actor=org_world["admin"], kind="k")
    user_job = Job.objects.create(
        organisation=org,
        actor=org_world["user"],
        kind="k",
        status=JobStatus.FAILED,
        errors=[{"detail": "boom"}],
    )
    user = client_for(org_world["user"])
    listed = user.get(org_url(org_world, "jobs/")).json()["results"]
    assert [j["id"] for j in listed] == [user_job.pk]
    job = user.get(org_url(org_world, f"jobs/{user_job.pk}/")).json()
    assert {
        "id",
        "kind",
        "status",
        "done",
        "total",
        "result",
        "errors",
        "created_at",
        "finished_at",
    } <= set(job)
    assert job["status"] == "failed"
    assert job["errors"] == [{"detail": "boom"}]
    assert_error(user.get(org_url(org_world, f"jobs/{admin_job.pk}/")), 404)
    admin_sees = client_for(org_world["admin"]).get(org_url(org_world, "jobs/")).json()
    assert {j["id"] for j in admin_sees["results"]} == {admin_job.pk, user_job.pk}


def test_export_answers_202_with_the_job(org_world, client_for):
    response = client_for(org_world["admin"]).post(
        org_url(org_world, "activity/exports/"), {"kind": "panel.team"}, format="json"
    )
    assert response.status_code == 202
    job = response.json()["job"]
    assert job["kind"] == "activity_export"
    assert job["status"] == "queued"
    assert Job.objects.get(pk=job["id"]).params == {"kind": "panel.team"}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"since": "2026-13-45"}, "since"), ({"since": "2026-02-10", "until": "2026-02-01"}, "until")],
)
def test_export_with_bad_filter_answers_400_and_queues_nothing(org_world, client_for, body, field):
    before = Job.objects.count()
    response = client_for(org_world["admin"]).post(
        org_url(org_world, "activity/exports/"), body, format="json"
    )
    assert_error(response, 400, field=field)
    assert Job.objects.count() == before


# --- schema and docs ---------------------------------------------------------------


def test_schema_and_docs(db):
    schema = APIClient().get(f"{API}/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/organisations/{org_id}/teams/{team_id}/grants/" in paths
    assert "/api/v1/me/tokens/" in paths
    docs = APIClient().get(f"{API}/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organisations/{org_id}/",
        "/api/v1/organisations/{org_id}/mail/services/{service_id}/",
        "/api/v1/organisations/{org_id}/domains/{name}/",
    ],
)
def test_schema_offers_confirm_name_in_the_query_of_deletes(db, path):
    schema = APIClient().get(f"{API}/schema/", {"format": "json"}).json()
    parameters = schema["paths"][path]["delete"]["parameters"]
    confirm = [p for p in parameters if p["name"] == "confirm_name"]
    assert len(confirm) == 1 and confirm[0]["in"] == "query", parameters
    assert confirm[0]["description"]
