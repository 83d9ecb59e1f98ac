"""The Service Mail lists run a fixed number of queries, whatever the number of rows: the
address table of a service with 2,000 addresses costs what it costs with 10."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mail.models import Address, AddressUser, Alias, ExtraDomain, ForwardTarget, Responder
from mail.passwords import hash_password
from panel.models import Role
from tests import factories as f

from .factories import MailLogEntryFactory

PASSWORD = "Sturdy-Pass-2048"
# An upper bound, so that a constant but wasteful list is caught as well.
MAX_QUERIES = 12


@pytest.fixture
def world(org_world):
    org_world["mail"].plan, org_world["mail"].address_quota = "premium", 5000
    org_world["mail"].save(update_fields=["plan", "address_quota"])
    return org_world


def fill(world, service, count):
    """`count` addresses sharing one precomputed hash; every third with an alias, every
    fourth redirected, every fifth linked to a member, every seventh with a responder."""
    org = world["org"]
    hashed = hash_password(PASSWORD)
    members = [f.MembershipFactory(organisation=org, role=Role.USER).user for _i in range(3)]
    addresses = Address.objects.bulk_create(
        [
            Address(
                organisation=org, service=service, local_part=f"box{i:05d}", password_hash=hashed
            )
            for i in range(count)
        ]
    )
    Alias.objects.bulk_create(
        [
            Alias(organisation=org, service=service, address=a, local_part=f"alias{i:05d}")
            for i, a in enumerate(addresses)
            if i % 3 == 0
        ]
    )
    ForwardTarget.objects.bulk_create(
        [
            ForwardTarget(organisation=org, address=a, email=f"out{i}@elsewhere.org")
            for i, a in enumerate(addresses)
            if i % 4 == 0
        ]
    )
    AddressUser.objects.bulk_create(
        [
            AddressUser(organisation=org, address=a, user=members[i % len(members)])
            for i, a in enumerate(addresses)
            if i % 5 == 0
        ]
    )
    Responder.objects.bulk_create(
        [
            Responder(organisation=org, address=a, enabled=True, subject="Away", body="Later")
            for i, a in enumerate(addresses)
            if i % 7 == 0
        ]
    )
    return members


def queries(client, url, **params):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(context.captured_queries), response.json()


def addresses_url(world):
    org, mail = world["org"].pk, world["mail"].pk
    return f"/api/v1/organisations/{org}/mail/services/{mail}/addresses/"


@pytest.mark.parametrize("params", [{}, {"page_size": 200}, {"search": "box", "page_size": 200}])
def test_the_address_list_costs_the_same_at_10_and_at_2000_addresses(world, client_for, params):
    client = client_for(world["legal"])
    fill(world, world["mail"], 10)
    small, small_body = queries(client, addresses_url(world), **params)
    Address.objects.all().delete()
    fill(world, world["mail"], 2000)
    large, large_body = queries(client, addresses_url(world), **params)
    assert (small_body["count"], large_body["count"]) == (10, 2000)
    assert len(large_body["results"]) == params.get("page_size", 50)
    assert small == large <= MAX_QUERIES
    # The page shows what was prefetched.
    first = large_body["results"][0]
    assert first["aliases"] == ["alias00000"]
    assert first["redirection"]["targets"] == ["out0@elsewhere.org"]
    assert first["responder"]["enabled"] is True
    assert len(first["users"]) == 1


def test_a_linked_person_s_address_list_costs_the_same_too(world, client_for):
    members = fill(world, world["mail"], 10)
    small, small_body = queries(client_for(members[0]), addresses_url(world), page_size=200)
    Address.objects.all().delete()
    members = fill(world, world["mail"], 2000)
    large, large_body = queries(client_for(members[0]), addresses_url(world), page_size=200)
    assert (small_body["count"], large_body["count"]) == (1, 134)
    assert small == large <= MAX_QUERIES


def test_the_service_list_costs_the_same_at_2_and_at_40_services(world, client_for):
    client = client_for(world["legal"])
    url = f"/api/v1/organisations/{world['org'].pk}/mail/services/"

    def add_services(count):
        for i in range(count):
            service = f.MailServiceFactory(organisation=world["org"], plan="premium")
            ExtraDomain.objects.create(
                organisation=world["org"], service=service, domain=f"extra{i}.{service.domain}"
            )
            fill(world, service, 3)

    small, small_body = queries(client, url, page_size=200)
    add_services(38)
    large, large_body = queries(client, url, page_size=200)
    assert (small_body["count"], large_body["count"]) == (2, 40)
    assert small == large <= MAX_QUERIES
    filled = [s for s in large_body["results"] if s["extra_domains"]]
    assert len(filled) == 38
    assert {s["addresses_used"] for s in filled} == {3}


@pytest.mark.parametrize("params", [{}, {"page_size": 200, "status": "accepted", "search": "x"}])
def test_the_mail_log_costs_the_same_at_5_and_at_200_entries(world, client_for, params):
    client = client_for(world["legal"])
    address = f.AddressFactory(service=world["mail"], local_part="sender")
    org, mail = world["org"].pk, world["mail"].pk
    url = f"/api/v1/organisations/{org}/mail/services/{mail}/addresses/sender/mail-log/"
    recipients = "x@elsewhere.example, y@elsewhere.example"
    MailLogEntryFactory.create_batch(5, address=address, recipients=recipients)
    small, small_body = queries(client, url, **params)
    MailLogEntryFactory.create_batch(195, address=address, recipients=recipients)
    large, large_body = queries(client, url, **params)
    assert (small_body["count"], large_body["count"]) == (5, 200)
    assert len(large_body["results"]) == params.get("page_size", 50)
    assert small == large <= MAX_QUERIES
