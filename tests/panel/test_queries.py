"""List endpoints run a bounded number of SQL queries, whatever the number of rows."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from panel.models import (
    ActivityEvent,
    Grant,
    Invitation,
    Job,
    JobStatus,
    Membership,
    Organisation,
    Role,
    Team,
    TeamMember,
    User,
)

# A list page may use a handful of queries (access, count, rows, relations), never one per row.
MAX_QUERIES = 12
_serial = itertools.count()


def _users(n):
    start = next(_serial) * 1000
    return User.objects.bulk_create(
        [User(email=f"bulk{start + i}@example.test", password="!") for i in range(n)]
    )


def add_members(world, n):
    Membership.objects.bulk_create(
        [Membership(organisation=world["org"], user=u, role=Role.USER) for u in _users(n)]
    )


def add_teams(world, n):
    org = world["org"]
    start = next(_serial) * 1000
    users = _users(n)
    teams = Team.objects.bulk_create(
        [Team(organisation=org, name=f"Team {start + i}", leader=users[i]) for i in range(n)]
    )
    TeamMember.objects.bulk_create(
        [TeamMember(organisation=org, team=t, user=u) for t, u in zip(teams, users, strict=True)]
    )
    Grant.objects.bulk_create(
        [
            Grant(
                organisation=org, team=t, product_type="mail_service", product_id=world["mail"].pk
            )
            for t in teams
        ]
    )


def add_team_members(world, n):
    org, team = world["org"], world["team"]
    TeamMember.objects.bulk_create(
        [TeamMember(organisation=org, team=team, user=u) for u in _users(n)]
    )


def add_activity(world, n):
    actors = _users(n)
    ActivityEvent.objects.bulk_create(
        [
            ActivityEvent(
                organisation=world["org"],
                actor=a,
                actor_email=a.email,
                code="panel.team.created",
                target_type="team",
                target_id=str(i),
                target_repr=f"Team {i}",
                data={"n": i},
            )
            for i, a in enumerate(actors)
        ]
    )


def add_jobs(world, n):
    Job.objects.bulk_create(
        [
            Job(
                organisation=world["org"],
                actor=world["legal"],
                kind="activity_export",
                status=JobStatus.SUCCEEDED,
                result={"rows": i},
                result_file=f"jobs/x-{i}.csv",
            )
            for i in range(n)
        ]
    )


def add_invitations(world, n):
    start = next(_serial) * 1000
    Invitation.objects.bulk_create(
        [
            Invitation(
                organisation=world["org"],
                email=f"guest{start + i}@example.test",
                invited_by=world["admin"],
                team=world["team"],
            )
            for i in range(n)
        ]
    )


def add_organisations(world, n):
    start = next(_serial) * 1000
    orgs = Organisation.objects.bulk_create(
        [Organisation(name=f"Org {start + i}") for i in range(n)]
    )
    Membership.objects.bulk_create(
        [Membership(organisation=o, user=world["legal"], role=Role.ADMIN) for o in orgs]
    )


def add_my_invitations(world, n):
    orgs = Organisation.objects.bulk_create([Organisation(name=f"Inviter {i}") for i in range(n)])
    Invitation.objects.bulk_create(
        [
            Invitation(organisation=o, email=world["legal"].email, invited_by=world["admin"])
            for o in orgs
        ]
    )


def add_grants(world, n):
    from tests.factories import MailServiceFactory

    mails = [MailServiceFactory.build(organisation=world["org"]) for _ in range(n)]
    mails = type(world["mail"]).objects.bulk_create(mails)
    Grant.objects.bulk_create(
        [
            Grant(
                organisation=world["org"],
                team=world["team"],
                product_type="mail_service",
                product_id=m.pk,
            )
            for m in mails
        ]
    )


@pytest.mark.parametrize(
    ("path", "add"),
    [
        ("{org}/members/", add_members),
        ("{org}/teams/", add_teams),
        ("{org}/activity/", add_activity),
        ("{org}/jobs/", add_jobs),
        ("{org}/invitations/", add_invitations),
        ("{org}/teams/{team}/grants/", add_grants),
        ("{org}/teams/{team}/", add_team_members),
        ("", add_organisations),
        ("me/invitations/", add_my_invitations),
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_list_queries_do_not_grow_with_rows(org_world, client_for, path, add):
    org = f"organisations/{org_world['org'].pk}"
    url = "/api/v1/" + (
        path.format(org=org, team=org_world["team"].pk) if path else "organisations/"
    )
    client = client_for(org_world["legal"])

    def run():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page_size": 200})
        assert response.status_code == 200, response.content
        return len(queries), response.json()

    add(org_world, 5)
    run()  # warm caches (content types, sessions) out of the count
    few, few_body = run()
    add(org_world, 195)
    many, many_body = run()

    rows = "members" if path.endswith("{team}/") else "results"
    assert len(many_body[rows]) >= len(few_body[rows]) + 190
    assert many <= few, f"{url}: {few} queries with 5 rows, {many} with 200"
    assert few <= MAX_QUERIES, f"{url}: {few} queries"
