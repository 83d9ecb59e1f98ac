"""The rules of the tenancy core, called directly as the UI, the API and tasks call them."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from panel import services
from panel.access import Capability, access_by_id, access_for, organisations_of
from panel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from panel.models import (
    ActivityEvent,
    ApiToken,
    Grant,
    Invitation,
    InvitationStatus,
    Membership,
    Organisation,
    Role,
    Team,
    TeamMember,
)
from panel.tokens import hash_token
from tests import factories as f


@pytest.fixture
def acc(org_world):
    """`acc("admin")`: the Access of a person of the world to Acme."""
    return lambda who: access_for(org_world[who], org_world["org"])


# --- capabilities ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["user", "teammate"])
@pytest.mark.parametrize(
    "call",
    [
        lambda a, w: services.organisation_rename(access=a, name="Mine"),
        lambda a, w: services.organisation_delete(access=a, confirm_name="Acme"),
        lambda a, w: services.team_create(access=a, name="Ops"),
        lambda a, w: services.team_update(access=a, team=w["team"], name="Ops"),
        lambda a, w: services.team_delete(access=a, team=w["team"]),
        lambda a, w: services.team_members_add(access=a, team=w["team"], users=[w["user"]]),
        lambda a, w: services.team_member_remove(
            access=a, team=w["team"], user_id=w["teammate"].pk
        ),
        lambda a, w: services.grant_create(
            access=a,
            team=w["team"],
            product_type="mail_service",
            product_id=w["other_mail"].pk,
            level="manage",
        ),
        lambda a, w: services.grant_delete(access=a, grant=w["grant"]),
        lambda a, w: services.invitation_create(access=a, email="x@example.test", role="user"),
        lambda a, w: services.membership_change_role(
            access=a, membership=Membership.objects.get(user=w["admin"]), role="user"
        ),
        lambda a, w: services.membership_remove(
            access=a, membership=Membership.objects.get(user=w["admin"])
        ),
        lambda a, w: services.activity_export_start(access=a),
    ],
)
def test_people_without_the_capability_are_refused(org_world, acc, who, call):
    before = (
        ActivityEvent.objects.count(),
        Team.objects.count(),
        Grant.objects.count(),
        TeamMember.objects.count(),
        Membership.objects.count(),
    )
    with pytest.raises(PermissionDenied):
        call(acc(who), org_world)
    assert (
        ActivityEvent.objects.count(),
        Team.objects.count(),
        Grant.objects.count(),
        TeamMember.objects.count(),
        Membership.objects.count(),
    ) == before
    assert Organisation.objects.get(pk=org_world["org"].pk).name == "Acme"


def test_admin_may_not_delete_the_organisation_nor_transfer_the_role(org_world, acc):
    admin = acc("admin")
    with pytest.raises(PermissionDenied):
        services.organisation_delete(access=admin, confirm_name="Acme")
    with pytest.raises(PermissionDenied):
        services.legal_representative_transfer(
            access=admin, membership=Membership.objects.get(user=org_world["admin"])
        )
    assert Organisation.objects.filter(pk=org_world["org"].pk).exists()
    assert Membership.objects.get(user=org_world["legal"]).role == Role.LEGAL_REPRESENTATIVE


def test_capabilities_by_role(acc):
    legal, admin, user, guest = acc("legal"), acc("admin"), acc("user"), acc("teammate")
    assert all(
        legal.can(c)
        for c in Capability
        if c not in (Capability.VIEW_PRODUCT, Capability.MANAGE_PRODUCT)
    )
    assert not admin.can(Capability.DELETE_ORGANISATION)
    assert not admin.can(Capability.TRANSFER_LEGAL_REPRESENTATIVE)
    assert admin.can(Capability.MANAGE_MEMBERS) and admin.can(Capability.MANAGE_TEAMS)
    for person in (user, guest):
        assert person.can(Capability.VIEW_ORGANISATION)
        for capability in (
            Capability.MANAGE_MEMBERS,
            Capability.MANAGE_TEAMS,
            Capability.VIEW_ACTIVITY,
            Capability.EXPORT_ACTIVITY,
            Capability.CHANGE_ORGANISATION,
            Capability.VIEW_ALL_JOBS,
        ):
            assert not person.can(capability)


# --- tenancy: another organisation's objects ---------------------------------------


@pytest.fixture
def foreign(org_world):
    other = org_world["other_org"]
    team = f.TeamFactory(organisation=other, name="Theirs")
    mail = f.MailServiceFactory(organisation=other)
    return {
        "team": team,
        "mail": mail,
        "grant": f.GrantFactory(team=team, product_id=mail.pk),
        "membership": f.MembershipFactory(organisation=other, role=Role.USER),
        "invitation": Invitation.objects.create(organisation=other, email="x@example.test"),
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda a, x, w: services.team_update(access=a, team=x["team"], name="Mine"),
        lambda a, x, w: services.team_delete(access=a, team=x["team"]),
        lambda a, x, w: services.team_members_add(access=a, team=x["team"], users=[w["user"]]),
        lambda a, x, w: services.team_member_remove(access=a, team=x["team"], user_id=w["user"].pk),
        lambda a, x, w: services.grant_create(
            access=a,
            team=x["team"],
            product_type="mail_service",
            product_id=w["mail"].pk,
            level="view",
        ),
        lambda a, x, w: services.grant_delete(access=a, grant=x["grant"]),
        lambda a, x, w: services.membership_change_role(
            access=a, membership=x["membership"], role="admin"
        ),
        lambda a, x, w: services.membership_remove(access=a, membership=x["membership"]),
        lambda a, x, w: services.legal_representative_transfer(
            access=a, membership=x["membership"]
        ),
        lambda a, x, w: services.invitation_revoke(access=a, invitation=x["invitation"]),
        lambda a, x, w: services.invitation_resend(access=a, invitation=x["invitation"]),
    ],
)
def test_objects_of_another_organisation_are_not_found(org_world, acc, foreign, call):
    with pytest.raises(NotFound):
        call(acc("legal"), foreign, org_world)
    assert Team.objects.get(pk=foreign["team"].pk).name == "Theirs"
    assert Grant.objects.filter(pk=foreign["grant"].pk).exists()
    assert Membership.objects.get(pk=foreign["membership"].pk).role == Role.USER
    assert Invitation.objects.get(pk=foreign["invitation"].pk).status == "pending"


def test_a_product_of_another_organisation_cannot_be_granted(org_world, acc, foreign):
    with pytest.raises(InvalidInput) as error:
        services.grant_create(
            access=acc("admin"),
            team=org_world["team"],
            product_type="mail_service",
            product_id=foreign["mail"].pk,
            level="view",
        )
    assert "product_id" in error.value.fields
    assert not Grant.objects.filter(
        organisation=org_world["org"], product_id=foreign["mail"].pk
    ).exists()


def test_nobody_outside_gets_an_access(org_world):
    org = org_world["org"]
    assert access_for(org_world["outsider"], org) is None
    for org_id in (org.pk, 987654321, "abc", None):
        with pytest.raises(NotFound):
            access_by_id(org_world["outsider"], org_id)
    assert list(organisations_of(org_world["outsider"])) == [org_world["other_org"]]


# --- team guests and grants --------------------------------------------------------


def test_team_guest_sees_only_what_the_team_grants(org_world, acc):
    guest = acc("teammate")
    mail, hidden = org_world["mail"], org_world["other_mail"]
    assert guest is not None and guest.membership is None
    assert list(guest.visible_products("mail_service")) == [mail]
    assert guest.can(Capability.MANAGE_PRODUCT, mail)
    guest.require(Capability.MANAGE_PRODUCT, mail)
    assert not guest.can(Capability.VIEW_PRODUCT, hidden)
    with pytest.raises(NotFound):
        guest.require(Capability.VIEW_PRODUCT, hidden)
    assert list(organisations_of(org_world["teammate"])) == [org_world["org"]]


def test_view_grant_allows_viewing_not_managing(org_world, acc):
    Grant.objects.filter(pk=org_world["grant"].pk).update(level="view")
    guest = acc("teammate")
    guest.require(Capability.VIEW_PRODUCT, org_world["mail"])
    with pytest.raises(PermissionDenied):
        guest.require(Capability.MANAGE_PRODUCT, org_world["mail"])


def test_the_best_level_of_several_grants_wins(org_world, acc):
    org, mail = org_world["org"], org_world["mail"]
    view_team = f.TeamFactory(organisation=org, name="Readers")
    f.TeamMemberFactory(team=view_team, user=org_world["user"])
    f.GrantFactory(team=view_team, product_id=mail.pk, level="view")
    assert not acc("user").can(Capability.MANAGE_PRODUCT, mail)
    Grant.objects.create(
        organisation=org,
        user=org_world["user"],
        product_type="mail_service",
        product_id=mail.pk,
        level="manage",
    )
    assert acc("user").can(Capability.MANAGE_PRODUCT, mail)


def test_users_see_no_product_without_a_grant_and_admins_see_all(org_world, acc):
    assert list(acc("user").visible_products("mail_service")) == []
    assert set(acc("admin").visible_products("mail_service")) == {
        org_world["mail"],
        org_world["other_mail"],
    }
    assert acc("admin").can(Capability.MANAGE_PRODUCT, org_world["other_mail"])


def test_grants_of_another_organisation_give_nothing_here(org_world, foreign):
    f.TeamMemberFactory(team=foreign["team"], user=org_world["user"])
    access = access_for(org_world["user"], org_world["org"])
    assert list(access.visible_products("mail_service")) == []


def test_adding_people_to_a_team_and_removing_them(org_world, acc):
    admin, team, org = acc("admin"), org_world["team"], org_world["org"]
    guest = org_world["teammate"]  # from outside the organisation, already in the team
    added = services.team_members_add(access=admin, team=team, users=[org_world["user"], guest])
    assert {m.user for m in added} == {org_world["user"]}  # the guest is already in
    assert access_for(guest, org).membership is None
    assert list(access_for(guest, org).visible_products("mail_service")) == [org_world["mail"]]
    services.team_member_remove(access=admin, team=team, user_id=guest.pk)
    assert access_for(guest, org) is None
    with pytest.raises(NotFound):
        services.team_member_remove(access=admin, team=team, user_id=guest.pk)
    with pytest.raises(InvalidInput):
        services.team_members_add(access=admin, team=team, users=[])


def test_people_the_organisation_does_not_know_are_never_added_directly(org_world, acc):
    """Another organisation's owner and an id that exists nowhere get the same answer,
    and nobody is added: outside people join through an invitation."""
    admin, team = acc("admin"), org_world["team"]
    stranger = org_world["outsider"]
    before = set(team.team_members.values_list("user_id", flat=True))
    answers = []
    for user in (stranger, stranger.pk, 999_999):
        with pytest.raises(InvalidInput) as error:
            services.team_members_add(access=admin, team=team, users=[org_world["user"], user])
        pk = getattr(user, "pk", user)
        answers.append(error.value.fields["users"][0].replace(str(pk), "<id>"))
    assert len(set(answers)) == 1, answers
    assert set(team.team_members.values_list("user_id", flat=True)) == before
    assert access_for(stranger, org_world["org"]) is None


def test_adding_people_by_email_invites_those_without_account(
    org_world, acc, mailoutbox, django_capture_on_commit_callbacks
):
    admin, team = acc("admin"), org_world["team"]
    known = org_world["user"]  # a member of the organisation, not yet in the team
    f.UserFactory(email="stranger@example.test")  # has an account, unknown to the organisation
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.team_people_add(
            access=admin,
            team=team,
            emails=["User@example.test", "stranger@example.test", "new@example.test"],
        )
    assert [m.user for m in outcome["added"]] == [known]
    stranger_invitation, invitation = outcome["invited"]
    assert stranger_invitation.email == "stranger@example.test"
    assert (invitation.email, invitation.role, invitation.team) == (
        "new@example.test",
        "guest",
        team,
    )
    assert [m.to for m in mailoutbox] == [["stranger@example.test"], ["new@example.test"]]
    newcomer = f.UserFactory(email="new@example.test")
    services.invitation_accept(actor=newcomer, invitation_id=invitation.pk)
    assert TeamMember.objects.filter(team=team, user=newcomer).exists()
    assert not Membership.objects.filter(user=newcomer).exists()
    assert list(access_for(newcomer, org_world["org"]).visible_products("mail_service")) == [
        org_world["mail"]
    ]


def test_adding_people_by_email_names_the_bad_line(org_world, acc):
    before = (TeamMember.objects.count(), Invitation.objects.count())
    with pytest.raises(InvalidInput) as error:
        services.team_people_add(
            access=acc("admin"), team=org_world["team"], emails=["ok@example.test", "nope"]
        )
    assert "Line 2" in error.value.fields["emails"][0]
    assert (TeamMember.objects.count(), Invitation.objects.count()) == before


def test_the_team_leader_must_belong_to_the_organisation(org_world, acc):
    with pytest.raises(InvalidInput) as error:
        services.team_create(access=acc("admin"), name="Ops", leader=org_world["outsider"])
    assert "leader" in error.value.fields
    team = services.team_create(access=acc("admin"), name="Ops", leader=org_world["user"])
    assert TeamMember.objects.filter(team=team, user=org_world["user"]).exists()


def test_removing_the_leader_from_the_team_clears_the_leadership(org_world, acc):
    team = services.team_create(access=acc("admin"), name="Ops", leader=org_world["user"])
    services.team_member_remove(access=acc("admin"), team=team, user_id=org_world["user"].pk)
    team.refresh_from_db()
    assert team.leader is None


def test_removing_a_member_clears_their_team_leadership_and_grants(org_world, acc):
    org, user = org_world["org"], org_world["user"]
    team = services.team_create(access=acc("admin"), name="Ops", leader=user)
    Grant.objects.create(
        organisation=org,
        user=user,
        product_type="mail_service",
        product_id=org_world["mail"].pk,
        level="view",
    )
    services.membership_remove(
        access=acc("admin"), membership=Membership.objects.get(user=user, organisation=org)
    )
    assert not TeamMember.objects.filter(user=user, organisation=org).exists()
    assert not Grant.objects.filter(user=user, organisation=org).exists()
    team.refresh_from_db()
    assert team.leader is None


def test_team_names_are_unique_per_organisation_case_insensitively(org_world, acc):
    with pytest.raises(Conflict):
        services.team_create(access=acc("admin"), name="WEBMASTERS")
    other_team = services.team_create(access=acc("admin"), name="Ops")
    with pytest.raises(Conflict):
        services.team_update(access=acc("admin"), team=other_team, name="webmasters")


def test_a_product_is_granted_once_per_team(org_world, acc):
    with pytest.raises(Conflict):
        services.grant_create(
            access=acc("admin"),
            team=org_world["team"],
            product_type="mail_service",
            product_id=org_world["mail"].pk,
            level="view",
        )


# --- the legal representative ------------------------------------------------------


def test_creating_an_organisation_makes_the_creator_legal_representative(db):
    person = f.UserFactory()
    org = services.organisation_create(actor=person, name="  Globex  ")
    assert org.name == "Globex"
    assert access_for(person, org).role == Role.LEGAL_REPRESENTATIVE
    assert ActivityEvent.objects.filter(
        organisation=org, code="panel.organisation.created"
    ).exists()


def test_the_legal_representative_cannot_be_removed_or_demoted(org_world, acc):
    legal = Membership.objects.get(user=org_world["legal"], organisation=org_world["org"])
    for who in ("legal", "admin"):
        with pytest.raises(PermissionDenied):
            services.membership_remove(access=acc(who), membership=legal)
        with pytest.raises(InvalidInput):
            services.membership_change_role(access=acc(who), membership=legal, role="admin")
    legal.refresh_from_db()
    assert legal.role == Role.LEGAL_REPRESENTATIVE


def test_nobody_becomes_legal_representative_by_role_change(org_world, acc):
    membership = Membership.objects.get(user=org_world["user"])
    with pytest.raises(InvalidInput) as error:
        services.membership_change_role(
            access=acc("admin"), membership=membership, role="legal_representative"
        )
    assert "role" in error.value.fields
    assert Membership.objects.get(pk=membership.pk).role == Role.USER


def test_transfer_keeps_exactly_one_legal_representative(org_world, acc):
    org = org_world["org"]
    target = Membership.objects.get(user=org_world["user"], organisation=org)
    services.legal_representative_transfer(access=acc("legal"), membership=target)
    roles = dict(Membership.objects.filter(organisation=org).values_list("user__email", "role"))
    assert roles["user@example.test"] == Role.LEGAL_REPRESENTATIVE
    assert roles["legal@example.test"] == Role.ADMIN
    assert list(roles.values()).count(Role.LEGAL_REPRESENTATIVE) == 1
    with pytest.raises(InvalidInput):
        services.legal_representative_transfer(
            access=acc("user"), membership=Membership.objects.get(pk=target.pk)
        )


def test_the_database_refuses_a_second_legal_representative(org_world):
    membership = Membership.objects.get(user=org_world["admin"])
    membership.role = Role.LEGAL_REPRESENTATIVE
    with pytest.raises(IntegrityError), transaction.atomic():
        membership.save()


def test_deleting_the_organisation_needs_its_exact_name(org_world, acc):
    with pytest.raises(InvalidInput) as error:
        services.organisation_delete(access=acc("legal"), confirm_name="acme")
    assert error.value.code == "confirmation_mismatch"
    with pytest.raises(InvalidInput):
        services.organisation_delete(access=acc("legal"), confirm_name=None)
    assert Organisation.objects.filter(pk=org_world["org"].pk).exists()
    services.organisation_delete(access=acc("legal"), confirm_name="Acme")
    assert not Organisation.objects.filter(pk=org_world["org"].pk).exists()
    assert not Team.objects.filter(pk=org_world["team"].pk).exists()


# --- invitations -------------------------------------------------------------------


def test_accepting_an_invitation_gives_its_role(org_world, acc):
    invitation = services.invitation_create(
        access=acc("admin"), email="Sam@Example.test", role="admin"
    )
    assert invitation.email == "sam@example.test"
    sam = f.UserFactory(email="sam@example.test")
    with pytest.raises(NotFound):
        services.invitation_accept(actor=org_world["outsider"], invitation_id=invitation.pk)
    services.invitation_accept(actor=sam, invitation_id=invitation.pk)
    assert access_for(sam, org_world["org"]).role == Role.ADMIN
    with pytest.raises(NotFound):
        services.invitation_accept(actor=sam, invitation_id=invitation.pk)


def test_a_revoked_invitation_cannot_be_accepted(org_world, acc):
    invitation = services.invitation_create(
        access=acc("admin"), email="sam@example.test", role="user"
    )
    services.invitation_revoke(access=acc("admin"), invitation=invitation)
    assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.REVOKED
    with pytest.raises(InvalidInput):
        services.invitation_resend(access=acc("admin"), invitation=invitation)
    with pytest.raises(NotFound):
        services.invitation_accept(
            actor=f.UserFactory(email="sam@example.test"), invitation_id=invitation.pk
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "nope", "role": "user"}, "email"),
        ({"email": "x@example.test", "role": "legal_representative"}, "role"),
        ({"email": "x@example.test", "role": "guest"}, "team"),
    ],
)
def test_invitation_input_is_checked(org_world, acc, kwargs, field):
    with pytest.raises(InvalidInput) as error:
        services.invitation_create(access=acc("admin"), **kwargs)
    assert field in error.value.fields
    assert not Invitation.objects.exists()


# --- tokens ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": None}, "scopes"),
        ({"scopes": ["read", "admin"]}, "scopes"),
        ({"scopes": ["read"], "name": ""}, "name"),
        ({"scopes": ["read"], "expires_at": "past"}, "expires_at"),
    ],
)
def test_token_input_is_checked(org_world, kwargs, field):
    kwargs = {"name": "ci", **kwargs}
    if kwargs.get("expires_at") == "past":
        kwargs["expires_at"] = timezone.now() - dt.timedelta(seconds=1)
    with pytest.raises(InvalidInput) as error:
        services.token_create(actor=org_world["legal"], **kwargs)
    assert field in error.value.fields
    assert not ApiToken.objects.exists()


def test_token_scopes_are_stored_once_and_the_secret_only_as_a_hash(org_world):
    token, secret = services.token_create(
        actor=org_world["legal"], name="ci", scopes=["read", "read", "write"]
    )
    assert token.scopes == ["read", "write"]
    assert token.allows("write") and token.allows("read")
    assert token.token_hash == hash_token(secret) != secret
    assert secret.startswith(token.hint) and len(token.hint) < len(secret) // 3
    read_only, _secret = services.token_create(actor=org_world["legal"], name="r", scopes=["read"])
    assert not read_only.allows("write")


def test_tokens_are_revoked_only_by_their_owner(org_world):
    token, _secret = services.token_create(actor=org_world["legal"], name="ci", scopes=["read"])
    with pytest.raises(NotFound):
        services.token_revoke(actor=org_world["admin"], token_id=token.pk)
    services.token_revoke(actor=org_world["legal"], token_id=token.pk)
    assert not ApiToken.objects.filter(pk=token.pk).exists()


# --- the activity log --------------------------------------------------------------


def test_services_record_who_did_what(org_world, acc):
    team = services.team_create(access=acc("admin"), name="Ops")
    event = ActivityEvent.objects.get(code="panel.team.created")
    assert event.organisation == org_world["org"]
    assert event.actor == org_world["admin"]
    assert event.actor_email == "admin@example.test"
    assert (event.target_type, event.target_id, event.target_repr) == ("team", str(team.pk), "Ops")


@pytest.mark.parametrize(
    "name",
    ["Acme\u202egnp.exe", "Ac\u200bme", "\ufeffAcme", "Acme\U000e0041", "Acme\u2066x\u2069"],
)
def test_a_name_with_invisible_characters_is_refused(org_world, acc, name):
    with pytest.raises(InvalidInput) as error:
        services.team_create(access=acc("admin"), name=name)
    assert "invisible" in error.value.fields["name"][0]


def test_names_are_normalised_and_must_be_text(org_world, acc):
    team = services.team_create(access=acc("admin"), name="Cafe\u0301 team")
    assert team.name == "Café team"
    with pytest.raises(InvalidInput):
        services.team_create(access=acc("admin"), name=123)


@pytest.mark.parametrize("name", ["1.5", "192.0.2.1", "10.20"])
def test_a_number_is_not_a_domain_name(name):
    from domains.records import clean_domain_name

    with pytest.raises(InvalidInput):
        clean_domain_name(name)
