"""Products granted to one member directly, without a team."""

import pytest

from panel import services
from panel.access import access_for
from panel.errors import InvalidInput, PermissionDenied
from panel.models import Grant

pytestmark = pytest.mark.django_db


def _access(world, who):
    return access_for(world[who], world["org"])


def test_a_direct_grant_shows_the_product_to_that_member_only(org_world):
    user, hidden = org_world["user"], org_world["other_mail"]
    assert hidden not in access_for(user, org_world["org"]).visible_products("mail_service")
    services.grant_create(
        access=_access(org_world, "admin"),
        user=user,
        product_type="mail_service",
        product_id=hidden.pk,
        level="view",
    )
    assert list(access_for(user, org_world["org"]).visible_products("mail_service")) == [hidden]
    assert hidden not in access_for(org_world["teammate"], org_world["org"]).visible_products(
        "mail_service"
    )


def test_withdrawing_a_direct_grant_hides_the_product_at_once(org_world, client_for):
    user, hidden, org = org_world["user"], org_world["other_mail"], org_world["org"]
    admin = client_for(org_world["admin"])
    membership = org.memberships.get(user=user)
    url = f"/api/v1/organisations/{org.pk}/members/{membership.pk}/grants/"
    created = admin.post(
        url,
        {"product_type": "mail_service", "product_id": hidden.pk, "level": "manage"},
        format="json",
    )
    assert created.status_code == 201
    assert admin.get(url).json()["count"] == 1
    assert admin.delete(f"{url}{created.json()['id']}/").status_code == 204
    assert list(access_for(user, org).visible_products("mail_service")) == []


def test_outside_people_get_access_through_a_team_not_directly(org_world):
    before = Grant.objects.count()
    with pytest.raises(InvalidInput) as error:
        services.grant_create(
            access=_access(org_world, "admin"),
            user=org_world["teammate"],
            product_type="mail_service",
            product_id=org_world["mail"].pk,
            level="view",
        )
    assert "user" in error.value.fields
    assert Grant.objects.count() == before


def test_plain_users_cannot_grant_access(org_world):
    with pytest.raises(PermissionDenied):
        services.grant_create(
            access=_access(org_world, "user"),
            user=org_world["user"],
            product_type="mail_service",
            product_id=org_world["other_mail"].pk,
            level="manage",
        )


def test_a_domain_can_be_granted_by_its_name(org_world, client_for):
    from tests import factories as f

    domain = f.DomainFactory(organisation=org_world["org"], name="granted.example")
    team = org_world["team"]
    response = client_for(org_world["admin"]).post(
        f"/api/v1/organisations/{org_world['org'].pk}/teams/{team.pk}/grants/",
        {"product_type": "domain", "product_id": "Granted.Example", "level": "view"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["product_id"] == domain.pk
