"""The API permission table: every endpoint of /api/v1/ for every kind of principal.

One row per endpoint: (method, path template, body, expected status per principal). The
expected statuses come from the rules of the issue, not from running the code:

- a non-member gets 404 on everything under /organisations/{org}/;
- a plain user (and a team guest from outside) gets 403 on members, invitations, teams,
  activity and export, but sees the organisation and their own jobs;
- an administrator can do everything except delete the organisation and transfer the
  legal representative role;
- a read-only token gets 403 on every write and 2xx on reads;
- nobody authenticated gets 401.

Each case builds its own world, so destructive calls do not interfere with each other.
"""

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from panel import services
from panel.models import Grant, Invitation, Job, JobStatus, Role
from tests import factories as f
from tests.conftest import token_client

PRINCIPALS = ("legal", "admin", "user", "teammate", "outsider", "readonly", "anon")

ORG = "/api/v1/organisations/{org}/"
TEAM = ORG + "teams/{team}/"


def everyone(status):
    """Any authenticated person, whatever their organisation; writes need a write scope."""
    return (status, status, status, status, status, status, 401)


def my_write(status):
    return (status, status, status, status, status, 403, 401)


def org_member_read(status=200):
    """Everyone with access to the organisation (members and team guests)."""
    return (status, status, status, status, 404, status, 401)


def admin_read(status=200):
    return (status, status, 403, 403, 404, status, 401)


def admin_write(status):
    return (status, status, 403, 403, 404, 403, 401)


def legal_write(status):
    return (status, 403, 403, 403, 404, 403, 401)


TABLE = [
    # Schema and docs are public.
    ("get", "/api/v1/schema/", None, (200,) * 7),
    ("get", "/api/v1/docs/", None, (200,) * 7),
    # /me/
    ("get", "/api/v1/me/", None, everyone(200)),
    ("get", "/api/v1/me/tokens/", None, everyone(200)),
    ("post", "/api/v1/me/tokens/", {"name": "ci", "scopes": ["read"]}, my_write(201)),
    ("delete", "/api/v1/me/tokens/{my_token}/", None, my_write(204)),
    ("get", "/api/v1/me/invitations/", None, everyone(200)),
    ("post", "/api/v1/me/invitations/{my_invitation}/accept/", None, my_write(200)),
    ("post", "/api/v1/me/invitations/{my_invitation}/decline/", None, my_write(200)),
    # Organisations
    ("get", "/api/v1/organisations/", None, everyone(200)),
    ("post", "/api/v1/organisations/", {"name": "New Co"}, my_write(201)),
    ("get", ORG, None, org_member_read()),
    ("patch", ORG, {"name": "Acme SA"}, admin_write(200)),
    ("delete", ORG, {"confirm_name": "Acme"}, legal_write(204)),
    # Members
    ("get", ORG + "members/", None, admin_read()),
    ("get", ORG + "members/{member}/", None, admin_read()),
    ("patch", ORG + "members/{member}/", {"role": "admin"}, admin_write(200)),
    ("delete", ORG + "members/{member}/", None, admin_write(204)),
    ("post", ORG + "members/{member}/transfer-legal-representative/", None, legal_write(200)),
    ("get", ORG + "members/{member}/grants/", None, admin_read()),
    (
        "post",
        ORG + "members/{member}/grants/",
        {"product_type": "mail_service", "product_id": "{other_mail}", "level": "view"},
        admin_write(201),
    ),
    ("delete", ORG + "members/{member}/grants/{member_grant}/", None, admin_write(204)),
    # Invitations
    ("get", ORG + "invitations/", None, admin_read()),
    ("post", ORG + "invitations/", {"email": "new@example.test", "role": "user"}, admin_write(201)),
    ("delete", ORG + "invitations/{invitation}/", None, admin_write(204)),
    ("post", ORG + "invitations/{invitation}/resend/", None, admin_write(200)),
    # Teams
    ("get", ORG + "teams/", None, admin_read()),
    ("post", ORG + "teams/", {"name": "Support", "description": "Help desk"}, admin_write(201)),
    ("get", TEAM, None, admin_read()),
    ("patch", TEAM, {"description": "Web and mail"}, admin_write(200)),
    ("delete", TEAM, None, admin_write(204)),
    ("get", TEAM + "members/", None, admin_read()),
    ("post", TEAM + "members/", {"users": ["{member_user}"]}, admin_write(201)),
    ("delete", TEAM + "members/{teammate_user}/", None, admin_write(204)),
    ("get", TEAM + "grants/", None, admin_read()),
    (
        "post",
        TEAM + "grants/",
        {"product_type": "mail_service", "product_id": "{other_mail}", "level": "view"},
        admin_write(201),
    ),
    ("delete", TEAM + "grants/{grant}/", None, admin_write(204)),
    # Activity
    ("get", ORG + "activity/", None, admin_read()),
    ("post", ORG + "activity/exports/", {}, admin_write(202)),
    # Jobs: every member sees the list and their own jobs; users only their own.
    ("get", ORG + "jobs/", None, org_member_read()),
    ("get", ORG + "jobs/{my_job}/", None, org_member_read()),
    ("get", ORG + "jobs/{my_job}/download/", None, org_member_read()),
    ("get", ORG + "jobs/{admin_job}/", None, (200, 200, 404, 404, 404, 200, 401)),
    ("get", ORG + "jobs/{admin_job}/download/", None, (200, 200, 404, 404, 404, 200, 401)),
]

CASES = [
    pytest.param(
        method, path, body, principal, expected[i], id=f"{method.upper()} {path} [{principal}]"
    )
    for method, path, body, expected in TABLE
    for i, principal in enumerate(PRINCIPALS)
]


def test_table_covers_every_api_url():
    """A new endpoint must get its row here."""
    from django.urls import URLPattern

    from panel.api import urls

    # Included apps (mail/) keep their own table and guard.
    routes = {str(p.pattern) for p in urls.urlpatterns if isinstance(p, URLPattern)}
    covered = set()
    for _method, path, _body, _expected in TABLE:
        template = path.removeprefix("/api/v1/")
        for placeholder, converter in [
            ("{org}", "<int:org_id>"),
            ("{team}", "<int:team_id>"),
            ("{member}", "<int:member_id>"),
            ("{invitation}", "<int:invitation_id>"),
            ("{my_invitation}", "<int:invitation_id>"),
            ("{my_token}", "<int:token_id>"),
            ("{teammate_user}", "<int:user_id>"),
            ("{grant}", "<int:grant_id>"),
            ("{member_grant}", "<int:grant_id>"),
            ("{my_job}", "<int:job_id>"),
            ("{admin_job}", "<int:job_id>"),
        ]:
            template = template.replace(placeholder, converter)
        covered.add(template)
    assert routes - covered == set()


def _fill(value, ids):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def _job(org, actor, kind="activity_export"):
    """A finished Job with a result file. Kinds outside JOB_KIND_CAPABILITIES are visible
    to whoever started them; an activity export needs the export capability."""
    job = Job.objects.create(
        organisation=org,
        actor=actor,
        kind=kind,
        status=JobStatus.SUCCEEDED,
        result={"rows": 0, "file_name": "activity.csv"},
    )
    job.result_file.save(f"activity-{job.pk}.csv", ContentFile(b"date,person\r\n"), save=True)
    return job


@pytest.fixture
def world(org_world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    w = dict(org_world)
    org = w["org"]
    w["member"] = f.MembershipFactory(
        organisation=org, role=Role.USER, user__email="member2@example.test"
    )
    w["invitation"] = Invitation.objects.create(
        organisation=org, email="pending@example.test", role="user", invited_by=w["legal"]
    )
    w["inviter"] = f.OrganisationFactory(name="Inviter")
    w["member_grant"] = Grant.objects.create(
        organisation=org,
        user=w["member"].user,
        product_type="mail_service",
        product_id=w["mail"].pk,
        level="view",
    )
    w["admin_job"] = _job(org, w["admin"])
    return w


def _principal(world, principal):
    """The client of a principal, and the person whose own objects it acts on."""
    if principal == "anon":
        return APIClient(), world["legal"]
    if principal == "readonly":
        return token_client(world["legal"], scopes=["read"]), world["legal"]
    person = world[principal]
    client = APIClient()
    client.force_authenticate(user=person)
    return client, person


@pytest.mark.parametrize(("method", "path", "body", "principal", "expected"), CASES)
def test_permission_table(world, method, path, body, principal, expected):
    client, person = _principal(world, principal)
    my_token, _secret = services.token_create(actor=person, name="mine", scopes=["read"])
    my_invitation = Invitation.objects.create(
        organisation=world["inviter"], email=person.email, role="user"
    )
    ids = {
        "org": world["org"].pk,
        "team": world["team"].pk,
        "member": world["member"].pk,
        "member_user": world["member"].user_id,
        "teammate_user": world["teammate"].pk,
        "invitation": world["invitation"].pk,
        "grant": world["grant"].pk,
        "member_grant": world["member_grant"].pk,
        "other_mail": world["other_mail"].pk,
        "my_token": my_token.pk,
        "my_invitation": my_invitation.pk,
        "my_job": _job(world["org"], person, kind="report").pk,
        "admin_job": world["admin_job"].pk,
    }
    url = path.format(**ids)
    kwargs = {"format": "json"}
    if body is not None:
        kwargs["data"] = _fill(body, ids)
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == expected, (
        f"{method.upper()} {url} as {principal}: {response.status_code} "
        f"{getattr(response, 'data', '')}"
    )
    if expected >= 400:
        assert set(response.json()) == {"code", "detail", "fields"}
