"""What a new customer met on the Service Mail pages (issue 13, items 2, 3 and 7)."""

import pytest
from django.urls import reverse

from mail.models import Address, MailService
from tests import factories as f

pytestmark = pytest.mark.django_db

STRONG = "Sturdy-Pass-2048"


@pytest.fixture
def member(org_world):
    """A plain `user` of the organisation holding the team's manage grant on acme.test,
    as the demo's member does."""
    f.TeamMemberFactory(team=org_world["team"], user=org_world["user"])
    return org_world["user"]


def _page(client, world, name="service-detail", **kwargs):
    return client.get(
        reverse(f"mail:{name}", args=[world["org"].pk, world["mail"].pk], kwargs=kwargs or None)
    )


def test_a_plain_user_with_a_manage_grant_cannot_change_what_the_organisation_pays(
    org_world, member, login
):
    client = login(member)
    service = org_world["mail"]
    before = (service.plan, service.address_quota)

    page = _page(client, org_world).content.decode()
    assert "Change plan" not in page and "Raise quota" not in page
    assert "only its administrators can do it" in page

    base = f"/o/{org_world['org'].pk}/mail/{service.pk}/"
    client.post(base + "quota/", {"address_quota": service.address_quota + 2})
    client.post(base + "plan/", {"plan": "premium"})
    service.refresh_from_db()
    assert (service.plan, service.address_quota) == before


def test_an_administrator_still_sees_the_plan_and_quota_forms(org_world, login):
    page = _page(login(org_world["admin"]), org_world).content.decode()
    assert "Change plan" in page


def test_a_member_without_access_to_the_domain_is_told_so(org_world, member, login):
    f.DomainFactory(organisation=org_world["org"], name="acme.test")
    page = _page(login(member), org_world).content.decode()
    assert 'data-testid="dns-no-access"' in page
    assert "you have no access to it in Domains" in page
    assert "is not among this organisation" not in page
    assert "Add it to Domains" not in page


def test_the_address_wizard_shows_every_problem_at_once(org_world, login):
    client = login(org_world["admin"])
    response = client.post(
        reverse("mail:address-create", args=[org_world["org"].pk, org_world["mail"].pk]),
        {
            "local_part": "Bad Name!",
            "mode": "self",
            "password": "short",
            "password_confirm": "other",
        },
    )
    errors = response.context["form"].errors
    assert set(errors) >= {"local_part", "password", "password_confirm"}
    assert "Use at least 10 characters." in errors["password"]
    assert not Address.objects.filter(service=org_world["mail"]).exists()


def test_the_api_reports_every_problem_of_a_new_address_and_service(org_world, client_for):
    client = client_for(org_world["admin"])
    org = org_world["org"].pk
    address = client.post(
        f"/api/v1/organisations/{org}/mail/services/{org_world['mail'].pk}/addresses/",
        {"local_part": "Bad Name!", "mode": "self", "password": "short"},
        format="json",
    )
    assert address.status_code == 400
    assert set(address.json()["fields"]) == {"local_part", "password"}

    count = MailService.objects.count()
    service = client.post(
        f"/api/v1/organisations/{org}/mail/services/",
        {"domain": "not a domain", "plan": "gold"},
        format="json",
    )
    assert service.status_code == 400
    assert set(service.json()["fields"]) == {"domain", "plan"}
    assert MailService.objects.count() == count


def test_a_reversed_range_on_the_mail_log_lists_nothing_and_says_why(org_world, login):
    from tests.mail.factories import MailLogEntryFactory

    address = Address.objects.create(
        organisation=org_world["org"], service=org_world["mail"], local_part="max"
    )
    MailLogEntryFactory(address=address)
    client = login(org_world["admin"])
    log = reverse("mail:address-mail-log", args=[org_world["org"].pk, org_world["mail"].pk, "max"])
    assert 'data-testid="mail-log-empty"' not in client.get(log).content.decode()
    reversed_range = client.get(log, {"since": "2026-12-31", "until": "2026-01-01"})
    page = reversed_range.content.decode()
    assert 'data-testid="mail-log-empty"' in page
    assert "Correct the filters" in page


def test_apply_all_fixes_from_the_service_page_comes_back_to_it(org_world, login, zone_dir):
    from domains import services as domain_services
    from panel.access import access_for

    domain_services.domain_add(
        access=access_for(org_world["legal"], org_world["org"]), name="acme.test"
    )
    client = login(org_world["legal"])
    page = _page(client, org_world, **{}).content.decode()
    back = f"/o/{org_world['org'].pk}/mail/{org_world['mail'].pk}/?check=dns#diagnostic"
    assert f'name="next" value="{back}"' in page
    fixed = client.post(f"/o/{org_world['org'].pk}/domains/acme.test/mail/fixes/", {"next": back})
    assert fixed.status_code == 302 and fixed["Location"] == back
