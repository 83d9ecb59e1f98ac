"""Small things a new customer hit (issue 13, item 10): the pages of the products not built
yet, the dashboard's way to add a domain, the team page's grant list and role labels, one
log line per 403, and the API's JSON 404 for any unknown path."""

import io
import logging
import sys

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.log import configure_logging

from panel.settings.base import _no_traceback_below_500
from tests import factories as f


def url(name, *args):
    return reverse(name, args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


# -- products not built yet ------------------------------------------------------------------

UPCOMING = ["cloud:project-list"]


@pytest.mark.parametrize("name", UPCOMING)
def test_an_upcoming_product_says_what_it_will_do_and_leads_back(login, org_world, name):
    org = org_world["org"]
    response = login(org_world["user"]).get(url(name, org))
    assert response.status_code == 200
    body = page(response)
    assert "Not available yet" in body
    assert "Once it opens" in body or "Once they open" in body
    assert url("panel:organisation-dashboard", org) in body
    assert url("mail:service-list", org) in body and url("domains:domain-list", org) in body
    assert "<form" not in body.split('data-testid="upcoming-product"')[1]  # nothing to submit


@pytest.mark.parametrize("name", UPCOMING)
def test_an_upcoming_product_of_another_organisation_is_not_found(login, org_world, name):
    assert login(org_world["user"]).get(url(name, org_world["other_org"])).status_code == 404


# -- the dashboard's way to add a domain -----------------------------------------------------


def test_the_dashboard_offers_to_add_a_domain_to_those_who_may(login, org_world):
    org = org_world["org"]
    add_url = url("domains:domain-list", org) + "#add"
    body = page(login(org_world["admin"]).get(url("panel:organisation-dashboard", org)))
    assert 'data-testid="kind-actions-domain"' in body and add_url in body
    assert "Add a domain" in body
    # an administrator is offered to create a ticket office and a newsletter
    assert f'href="{url("ticketing:office-list", org)}#add"' in body
    assert f'href="{url("newsletter:newsletter-list", org)}#add"' in body
    for upcoming in UPCOMING:
        assert f'href="{url(upcoming, org)}"' in body  # "What it will do"
    body = page(login(org_world["user"]).get(url("panel:organisation-dashboard", org)))
    assert add_url not in body


# -- the team page ---------------------------------------------------------------------------


def product_choices(response) -> set[str]:
    choices = response.context["grant_form"].fields["product"].choices
    return {value for _group, options in choices[1:] for value, _label in options}


def test_the_team_grant_list_leaves_out_what_the_team_holds(login, org_world):
    org, team = org_world["org"], org_world["team"]
    client = login(org_world["admin"])
    response = client.get(url("panel:team-detail", org, team.pk))
    assert product_choices(response) == {f"mail_service:{org_world['other_mail'].pk}"}

    f.GrantFactory(team=team, product_type="mail_service", product_id=org_world["other_mail"].pk)
    response = client.get(url("panel:team-detail", org, team.pk))
    assert product_choices(response) == set()
    body = page(response)
    assert "already has access to every product" in body
    assert "The organisation has no product yet" not in body


def test_the_team_page_shows_each_persons_role(login, org_world):
    org, team = org_world["org"], org_world["team"]
    for person in (org_world["user"], org_world["admin"], org_world["legal"]):
        f.TeamMemberFactory(team=team, user=person)
    body = page(login(org_world["admin"]).get(url("panel:team-detail", org, team.pk)))

    def badge(email):
        row = body.split(f'data-team-member="{email}"')[1].split("</tr>")[0]
        return row.split('class="badge role-')[1].split("</span>")[0]

    assert badge("user@example.test") == 'user">User'
    assert badge("admin@example.test") == 'admin">Administrator'
    assert badge("legal@example.test") == 'legal_representative">Legal representative'
    assert badge("teammate@example.test") == 'guest">Guest from outside'
    assert ">Member<" not in body


# -- logs ------------------------------------------------------------------------------------


def panel_console() -> logging.Handler:
    """The root's console handler, configured from settings.LOGGING as Django does when it
    starts (a Celery worker started by an earlier test may have replaced it)."""
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    return next(
        handler
        for handler in logging.getLogger().handlers
        if any(getattr(flt, "callback", None) is _no_traceback_below_500 for flt in handler.filters)
    )


@pytest.fixture
def console():
    """What the panel's console handler prints."""
    handler = panel_console()
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_django_has_no_console_of_its_own(console):
    # Under DEBUG, Django's default "django" console handler printed every request error
    # a second time, after the root's.
    assert logging.getLogger("django").handlers == []


@pytest.mark.parametrize("debug", [False, True])
def test_a_403_is_one_log_line_without_traceback(login, org_world, console, settings, debug):
    settings.DEBUG = debug
    path = url("panel:organisation-settings", org_world["org"])
    assert login(org_world["user"]).get(path).status_code == 403
    lines = console.getvalue().splitlines()
    assert lines == [f"Forbidden (Permission denied): {path}"]


def test_a_crash_keeps_its_traceback():
    record = logging.LogRecord("django.request", logging.ERROR, "", 0, "boom", None, None)
    record.status_code = 500
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert panel_console().filter(record) and record.exc_info is not None


# -- unknown API paths -----------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/", "/api/v1/", "/api/v1/nope/", "/api/v2/organisations/"])
def test_an_unknown_api_path_is_the_json_404_envelope(api, settings, path, debug):
    settings.DEBUG = debug
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "code": "not_found",
        "detail": "There is nothing at this address. The API is described at /api/v1/docs/.",
        "fields": {},
    }


def test_a_known_api_path_without_its_slash_still_finds_it(api, org_world):
    response = api.get("/api/v1/me")
    assert response.status_code in (301, 308)
    assert response["Location"].endswith("/api/v1/me/")


def test_the_member_grant_list_leaves_out_what_the_person_holds(login, org_world):
    from panel.models import Grant, Membership

    org = org_world["org"]
    membership = Membership.objects.get(organisation=org, user=org_world["user"])
    client = login(org_world["admin"])
    everything = {
        f"mail_service:{org_world['mail'].pk}",
        f"mail_service:{org_world['other_mail'].pk}",
    }
    response = client.get(url("panel:member-detail", org, membership.pk))
    assert product_choices(response) == everything
    Grant.objects.create(
        organisation=org,
        user=org_world["user"],
        product_type="mail_service",
        product_id=org_world["mail"].pk,
        level="view",
    )
    response = client.get(url("panel:member-detail", org, membership.pk))
    assert product_choices(response) == {f"mail_service:{org_world['other_mail'].pk}"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unknown_api_path_is_a_json_404_for_every_method_not_a_csrf_page(method, org_world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/v1/nope/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "/api/v1/docs/" in response.json()["detail"]


def test_a_post_without_its_final_slash_names_the_right_address(org_world, client_for):
    client = client_for(org_world["admin"])
    path = f"/api/v1/organisations/{org_world['org'].pk}/mail/services"
    response = client.post(path, {"domain": "x.test", "plan": "starter"}, format="json")
    assert response.status_code == 404
    assert f"{path}/" in response.json()["detail"]


def test_activity_details_show_words_for_codes():
    from django.utils import translation

    from panel.views.common import activity_details

    details = dict(
        activity_details(
            {
                "plan": "premium",
                "kind": "no_reply",
                "level": "manage",
                "mode": "self",
                "to": "admin",
            }
        )
    )
    assert list(details.values()) == ["Premium", "No-reply", "Manage", "For me", "Administrator"]
    with translation.override("fr"):
        assert dict(activity_details({"level": "view", "kind": "alias"})) != {
            "Level": "view",
            "Kind": "alias",
        }


def test_the_activity_page_shows_no_event_codes_and_french_colons(login, org_world):
    from panel.access import access_for
    from panel.activity import record_by

    access = access_for(org_world["admin"], org_world["org"])
    record_by(access, "mail.service.plan_changed", org_world["mail"], {"from": "starter"})
    client = login(org_world["admin"])
    body = page(client.get(url("panel:activity-list", org_world["org"])))
    assert "Changed the plan of a Service Mail" in body
    assert '<span class="cell-sub mono">mail.service.plan_changed</span>' not in body
    body = page(client.get(url("panel:activity-list", org_world["org"]), HTTP_ACCEPT_LANGUAGE="fr"))
    assert " :</span>" in body  # French puts a space before the colon
