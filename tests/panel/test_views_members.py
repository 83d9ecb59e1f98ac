"""The member page of the Manager UI: who the person is, their teams, and the products a
manager grants to them directly."""

import pytest
from django.urls import reverse

from panel import services
from panel.access import access_for
from panel.models import Grant, Membership
from tests import factories as f


def url(name, org, *args):
    return reverse(f"panel:{name}", args=[org.pk, *args])


def membership_of(world, who, org=None):
    return Membership.objects.get(organisation=org or world["org"], user=world[who])


def grant_directly(world, who, product, level="view"):
    return services.grant_create(
        access=access_for(world["admin"], world["org"]),
        user=world[who],
        product_type="mail_service",
        product_id=product.pk,
        level=level,
    )


def dashboard(login, world, who) -> str:
    return login(world[who]).get(url("organisation-dashboard", world["org"])).content.decode()


def test_members_list_links_to_each_member_page(login, org_world):
    html = login(org_world["admin"]).get(url("member-list", org_world["org"])).content.decode()
    for who in ("legal", "admin", "user"):
        assert url("member-detail", org_world["org"], membership_of(org_world, who).pk) in html


def test_member_page_shows_the_person_their_teams_and_direct_grants(login, org_world):
    org, team = org_world["org"], org_world["team"]
    f.TeamMemberFactory(team=team, user=org_world["user"])
    grant = grant_directly(org_world, "user", org_world["other_mail"], level="manage")
    membership = membership_of(org_world, "user")
    response = login(org_world["admin"]).get(url("member-detail", org, membership.pk))
    html = response.content.decode()
    assert "user@example.test" in html and ">User<" in html
    assert url("team-detail", org, team.pk) in html and "Webmasters" in html
    assert [g.product_name for g in response.context["grants"]] == ["hidden.test"]
    assert "Manage" in html
    assert url("member-grant-delete", org, membership.pk, grant.pk) in html


def test_a_member_without_direct_grant_sees_an_empty_state(login, org_world):
    membership = membership_of(org_world, "user")
    html = login(org_world["admin"]).get(url("member-detail", org_world["org"], membership.pk))
    html = html.content.decode()
    assert "No product granted directly" in html and "In no team yet." in html


def test_grant_through_the_form_shows_it_on_their_dashboard_and_removing_hides_it(login, org_world):
    org, other_mail = org_world["org"], org_world["other_mail"]
    membership = membership_of(org_world, "user")
    assert "hidden.test" not in dashboard(login, org_world, "user")

    client = login(org_world["admin"])
    response = client.post(
        url("member-grant-create", org, membership.pk),
        {"product": f"mail_service:{other_mail.pk}", "level": "view"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url("member-detail", org, membership.pk)
    assert "Access granted to user@example.test." in response.content.decode()
    grant = Grant.objects.get(user=org_world["user"], product_id=other_mail.pk)
    assert grant.team is None and grant.level == "view"
    assert "hidden.test" in dashboard(login, org_world, "user")

    client = login(org_world["admin"])
    confirm = client.get(url("member-grant-delete", org, membership.pk, grant.pk))
    assert (
        "Remove the direct access of user@example.test to hidden.test?" in confirm.content.decode()
    )
    assert Grant.objects.filter(pk=grant.pk).exists()  # asking is not doing
    response = client.post(url("member-grant-delete", org, membership.pk, grant.pk))
    assert response["Location"] == url("member-detail", org, membership.pk)
    assert not Grant.objects.filter(pk=grant.pk).exists()
    assert "hidden.test" not in dashboard(login, org_world, "user")


def test_granting_the_same_product_twice_says_so_in_the_form(login, org_world):
    org, other_mail = org_world["org"], org_world["other_mail"]
    grant_directly(org_world, "user", other_mail)
    membership = membership_of(org_world, "user")
    response = login(org_world["admin"]).post(
        url("member-grant-create", org, membership.pk),
        {"product": f"mail_service:{other_mail.pk}", "level": "manage"},
    )
    assert response.status_code == 200
    assert "already granted" in response.context["grant_form"].non_field_errors()[0]
    assert Grant.objects.get(user=org_world["user"], product_id=other_mail.pk).level == "view"


def test_a_product_of_another_organisation_cannot_be_granted(login, org_world):
    foreign = f.MailServiceFactory(organisation=org_world["other_org"])
    membership = membership_of(org_world, "user")
    response = login(org_world["admin"]).post(
        url("member-grant-create", org_world["org"], membership.pk),
        {"product": f"mail_service:{foreign.pk}", "level": "view"},
    )
    assert response.context["grant_form"].errors["product"]
    assert not Grant.objects.filter(product_id=foreign.pk).exists()


@pytest.mark.parametrize(
    "who,sentence",
    [
        ("admin", "As an administrator, this person already sees"),
        ("legal", "As the legal representative, this person already sees"),
    ],
)
def test_administrators_are_told_they_already_see_everything(login, org_world, who, sentence):
    org = org_world["org"]
    client = login(org_world["legal"])
    html = client.get(url("member-detail", org, membership_of(org_world, who).pk))
    assert sentence in html.content.decode()
    assert 'name="product"' in html.content.decode()  # granting stays possible
    user_page = client.get(url("member-detail", org, membership_of(org_world, "user").pk))
    assert "already sees" not in user_page.content.decode()


def test_plain_user_gets_403_and_cannot_grant_by_posting(login, org_world):
    org, other_mail = org_world["org"], org_world["other_mail"]
    membership = membership_of(org_world, "user")
    client = login(org_world["user"])
    assert client.get(url("member-detail", org, membership.pk)).status_code == 403
    response = client.post(
        url("member-grant-create", org, membership.pk),
        {"product": f"mail_service:{other_mail.pk}", "level": "manage"},
    )
    assert response.status_code == 403
    assert not Grant.objects.filter(user=org_world["user"]).exists()


def test_outsider_gets_404(login, org_world):
    membership = membership_of(org_world, "user")
    client = login(org_world["outsider"])
    assert client.get(url("member-detail", org_world["org"], membership.pk)).status_code == 404


def test_a_member_of_another_organisation_is_404(login, org_world):
    org = org_world["org"]
    foreign = membership_of(org_world, "outsider", org=org_world["other_org"])
    client = login(org_world["admin"])
    assert client.get(url("member-detail", org, foreign.pk)).status_code == 404
    response = client.post(
        url("member-grant-create", org, foreign.pk),
        {"product": f"mail_service:{org_world['other_mail'].pk}", "level": "view"},
    )
    assert response.status_code == 404
    assert not Grant.objects.filter(user=org_world["outsider"]).exists()


def test_only_this_members_direct_grants_can_be_removed_from_their_page(login, org_world):
    org = org_world["org"]
    admins_grant = grant_directly(org_world, "admin", org_world["other_mail"])
    membership = membership_of(org_world, "user")
    client = login(org_world["legal"])
    for grant in (admins_grant, org_world["grant"]):  # another member's, and a team's
        response = client.post(url("member-grant-delete", org, membership.pk, grant.pk))
        assert response.status_code == 404
        assert Grant.objects.filter(pk=grant.pk).exists()


@pytest.mark.parametrize("count", [3, 40])
def test_member_page_runs_a_bounded_number_of_queries(
    login, org_world, django_assert_max_num_queries, count
):
    org, user = org_world["org"], org_world["user"]
    access = access_for(org_world["legal"], org)
    for n in range(count):
        product = f.MailServiceFactory(organisation=org)
        domain = f.DomainFactory(organisation=org)
        services.grant_create(
            access=access,
            user=user,
            product_type="mail_service",
            product_id=product.pk,
            level="view",
        )
        services.grant_create(
            access=access, user=user, product_type="domain", product_id=domain.pk, level="manage"
        )
        team = services.team_create(access=access, name=f"Team {n:03}")
        services.team_members_add(access=access, team=team, users=[user])
    membership = membership_of(org_world, "user")
    client = login(org_world["admin"])
    with django_assert_max_num_queries(20):
        response = client.get(url("member-detail", org, membership.pk))
    assert response.status_code == 200
    assert len(response.context["grants"]) == 2 * count
    assert len(response.context["teams"]) == count
