"""Contacts through the REST API as a script uses them: add one subscribed with fields
and groups, 409 for the same address in another case, every problem at once by field,
the list filtered by list, status, group, address and field value, a contact who left a
list not put back, and the list answered in the same number of queries for 10 contacts
or 10,000."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.models import Contact, Subscription

API = "/api/v1/organisations/{org}/newsletter/"


@pytest.fixture
def api(newsletter_world, client_for):
    world = newsletter_world
    client = client_for(world["legal"])
    base = API.format(org=world["org"].pk)
    return world, client, base


def add(client, base, world, email, **body):
    return client.post(
        base + f"newsletters/{world['newsletter'].pk}/contacts/", {"email": email, **body},
        format="json",
    )  # fmt: skip


def test_a_contact_is_added_subscribed_with_its_fields_and_groups(api):
    world, client, base = api
    on_news = [{"list": world["news"].pk, "groups": [world["vip"].pk]}]
    fields = {"first_name": "Ada", "seat": "balcony"}
    answer = add(client, base, world, "Ada@Example.test", fields=fields, subscriptions=on_news)
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["email"] == "Ada@example.test" and body["fields"] == {
        "first_name": "Ada", "seat": "Balcony"
    }  # fmt: skip
    (standing,) = body["subscriptions"]
    assert (standing["list"], standing["list_name"], standing["status"], standing["groups"]) == (
        world["news"].pk, "News", "subscribed", [world["vip"].pk]
    )  # fmt: skip
    again = add(client, base, world, "ADA@example.TEST")
    assert again.status_code == 409 and again.json()["code"] == "already_exists"
    detail = client.get(base + f"contacts/{body['id']}/")
    assert detail.status_code == 200 and detail.json() == body


def test_every_problem_is_answered_at_once_and_nothing_is_added(api):
    world, client, base = api
    answer = add(client, base, world, "nope", fields={"seat": "Pit", "colour": "red"},
                 subscriptions=[{"list": world["news"].pk, "status": "gone"}])  # fmt: skip
    assert answer.status_code == 400
    assert set(answer.json()["fields"]) >= {"email", "fields.seat", "fields.colour"}
    assert not Contact.objects.exists()


def test_the_list_filters_by_list_status_group_address_and_field(api):
    world, client, base = api
    news = world["news"].pk
    add(client, base, world, "vip@x.test", fields={"seat": "Stalls"},
        subscriptions=[{"list": news, "groups": [world["vip"].pk]}])  # fmt: skip
    add(
        client, base, world, "left@x.test", subscriptions=[{"list": news, "status": "unsubscribed"}]
    )
    add(client, base, world, "nolist@x.test", fields={"seat": "Balcony"})
    url = base + f"newsletters/{world['newsletter'].pk}/contacts/"

    def emails(**params):
        answer = client.get(url, params)
        assert answer.status_code == 200, answer.json()
        return [c["email"] for c in answer.json()["results"]]

    assert emails() == ["left@x.test", "nolist@x.test", "vip@x.test"]
    assert emails(list=news, status="subscribed") == ["vip@x.test"]
    assert emails(status="unsubscribed") == ["left@x.test"]
    assert emails(group=world["vip"].pk) == ["vip@x.test"]
    assert emails(search="NOL") == ["nolist@x.test"]
    assert emails(field="seat:balcony") == ["nolist@x.test"]
    bad = client.get(url, {"field": "shoe:42"})
    assert bad.status_code == 400 and "field" in bad.json()["fields"]


def test_a_contact_who_left_a_list_is_not_put_back_through_the_api(api):
    world, client, base = api
    news = world["news"].pk
    contact = add(client, base, world, "left@x.test",
                  subscriptions=[{"list": news, "status": "unsubscribed"}]).json()  # fmt: skip
    back = client.patch(base + f"contacts/{contact['id']}/",
                        {"subscriptions": [{"list": news}]}, format="json")  # fmt: skip
    assert back.status_code == 400
    assert "subscriptions.0.status" in back.json()["fields"]
    assert Subscription.objects.get().status == "unsubscribed"


@pytest.mark.parametrize("count", [10, 10_000])
def test_the_contact_list_takes_the_same_queries_for_10_or_10000_contacts(api, count):
    world, client, base = api
    org, newsletter, news = world["org"], world["newsletter"], world["news"]
    people = Contact.objects.bulk_create(
        Contact(organisation=org, newsletter=newsletter, email=f"p{n}@x.test",
                email_key=f"p{n}@x.test", fields={"seat": "Stalls"})
        for n in range(count)
    )  # fmt: skip
    Subscription.objects.bulk_create(
        Subscription(organisation=org, contact=person, list=news, status="subscribed")
        for person in people
    )
    Contact.groups.through.objects.bulk_create(
        Contact.groups.through(contact_id=person.pk, contactgroup_id=world["vip"].pk)
        for person in people[::3]
    )
    url = base + f"newsletters/{newsletter.pk}/contacts/"
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url, {"list": news.pk, "status": "subscribed"})
    assert answer.status_code == 200 and answer.json()["count"] == count
    assert len(answer.json()["results"]) == min(count, 50) or answer.json()["results"]
    assert len(queries) <= 12, [q["sql"][:80] for q in queries]
