"""The Domains lists run a fixed number of queries, whatever the number of rows: the
domain list and a zone's records cost the same with 5 rows and with 200."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from domains.models import Domain, RRset
from tests import factories as f

# An upper bound, so that a constant but wasteful list is caught as well.
MAX_QUERIES = 10


def queries(client, url, **params):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(context.captured_queries), response.json()


def add_domains(world, count, *, start=0):
    """`count` domains; every third a synonym of the one before it. Returns them."""
    org, domains = world["org"], []
    for i in range(start, start + count):
        main = domains[-1] if i % 3 == 2 and domains else None
        domains.append(
            Domain.objects.create(organisation=org, name=f"d{i:04d}.test", synonym_of=main)
        )
    return domains


def grant_all(world, domains):
    for domain in domains:
        f.GrantFactory(team=world["team"], product_type="domain", product_id=domain.pk)


@pytest.mark.parametrize("principal", ["legal", "teammate"])
def test_the_domain_list_costs_the_same_at_5_and_at_200_domains(org_world, client_for, principal):
    client = client_for(org_world[principal])
    url = f"/api/v1/organisations/{org_world['org'].pk}/domains/"
    grant_all(org_world, add_domains(org_world, 5))
    small, small_body = queries(client, url, page_size=200)
    grant_all(org_world, add_domains(org_world, 195, start=5))
    large, large_body = queries(client, url, page_size=200)
    assert (small_body["count"], large_body["count"]) == (5, 200)
    assert small == large <= MAX_QUERIES
    by_name = {d["name"]: d for d in large_body["results"]}
    assert by_name["d0002.test"]["synonym_of"] == "d0001.test"
    assert by_name["d0001.test"]["synonyms"] == ["d0002.test"]


def test_the_records_list_costs_the_same_at_5_and_at_200_rrsets(org_world, client_for):
    client = client_for(org_world["legal"])
    [domain] = add_domains(org_world, 1)
    url = f"/api/v1/organisations/{org_world['org'].pk}/domains/{domain.name}/records/"

    def add_rrsets(count, start=0):
        RRset.objects.bulk_create(
            [
                RRset(
                    organisation=org_world["org"],
                    domain=domain,
                    name=f"h{i:04d}.{domain.name}",
                    type="A",
                    records=[f"192.0.2.{i % 250 + 1}"],
                )
                for i in range(start, start + count)
            ]
        )

    add_rrsets(5)
    small, small_body = queries(client, url)
    add_rrsets(195, start=5)
    large, large_body = queries(client, url)
    assert (len(small_body), len(large_body)) == (5, 200)
    assert small == large <= MAX_QUERIES
