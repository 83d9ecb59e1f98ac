"""The Newsletter API as a script uses it: each create answers 201 with the object and
its id, then the object lives at its flat URL; a taken name is a 409 `already_exists`,
bad input a 400 naming every field; a list counts only its subscribed contacts; and the
lists answer in a bounded number of queries, whatever their number."""

import pytest
from rest_framework.test import APIClient

from newsletter import services
from newsletter.models import Contact, Newsletter, Subscription

pytestmark = pytest.mark.django_db

#: An upper bound, so that a constant but wasteful list is caught as well.
MAX_QUERIES = 6


@pytest.fixture
def api(newsletter_world):
    client = APIClient()
    client.force_authenticate(user=newsletter_world["legal"])
    base = f"/api/v1/organisations/{newsletter_world['org'].pk}/newsletter/"
    client.url = lambda rest="": base + rest
    return client


def _subscribe(world, email, statuses: dict, groups=()):
    contact = Contact.objects.create(
        organisation=world["org"], newsletter=world["newsletter"], email=email, email_key=email
    )
    for contact_list, status in statuses.items():
        Subscription.objects.create(
            organisation=world["org"], contact=contact, list=contact_list, status=status
        )
    contact.groups.add(*groups)
    return contact


def test_a_script_sets_up_a_newsletter_from_nothing(api):
    created = api.post(api.url("newsletters/"), {"name": "Opera news"}, format="json")
    assert created.status_code == 201
    newsletter = created.json()
    assert (newsletter["name"], newsletter["list_count"], newsletter["contact_count"]) == (
        "Opera news", 0, 0,
    )  # fmt: skip
    field = api.post(
        api.url(f"newsletters/{newsletter['id']}/fields/"),
        {"key": "first_name", "label": "First name", "type": "text"},
        format="json",
    ).json()
    made = api.post(
        api.url(f"newsletters/{newsletter['id']}/lists/"),
        {"name": "Season", "form_fields": [field["id"]]},
        format="json",
    )
    assert made.status_code == 201
    season = made.json()
    assert (season["form_fields"], season["subscribed_count"]) == ([field["id"]], 0)
    group = api.post(api.url(f"lists/{season['id']}/groups/"), {"name": "VIP"}, format="json")
    assert group.status_code == 201
    assert api.get(api.url(f"groups/{group.json()['id']}/")).json()["list"] == season["id"]
    assert api.get(api.url(f"lists/{season['id']}/")).json()["group_count"] == 1
    assert api.get(api.url(f"newsletters/{newsletter['id']}/")).json()["list_count"] == 1


def test_a_taken_name_is_a_conflict_naming_the_field(api, newsletter_world):
    url = api.url(f"newsletters/{newsletter_world['newsletter'].pk}/lists/")
    response = api.post(url, {"name": "NEWS"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_exists"
    assert response.json()["fields"] == {"name": ["A list named NEWS exists already."]}
    url = api.url(f"newsletters/{newsletter_world['newsletter'].pk}/fields/")
    response = api.post(url, {"key": "seat", "label": "Seat", "type": "text"}, format="json")
    assert (response.status_code, response.json()["fields"]) == (
        409, {"key": ["A field with the key seat exists already."]},
    )  # fmt: skip


def test_bad_input_names_every_field_at_once(api, newsletter_world):
    url = api.url(f"newsletters/{newsletter_world['newsletter'].pk}/fields/")
    response = api.post(
        url, {"key": "Seat", "label": "Seat", "type": "choice", "choices": []}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"key", "choices"}
    assert newsletter_world["newsletter"].fields.count() == 2


def test_a_list_counts_its_subscribed_contacts_only(api, newsletter_world):
    w = newsletter_world
    events = services.list_create(access=w["access"], newsletter=w["newsletter"], name="Events")
    _subscribe(w, "ada@example.test", {w["news"]: "subscribed", events: "unsubscribed"}, [w["vip"]])
    _subscribe(w, "grace@example.test", {w["news"]: "subscribed"})
    for status in ("unconfirmed", "unsubscribed", "bounced", "complained"):
        _subscribe(w, f"{status}@example.test", {w["news"]: status}, [w["vip"]])
    lists = api.get(api.url(f"newsletters/{w['newsletter'].pk}/lists/")).json()["results"]
    assert [(item["name"], item["subscribed_count"]) for item in lists] == [
        ("Events", 0), ("News", 2),
    ]  # fmt: skip
    [vip] = api.get(api.url(f"lists/{w['news'].pk}/groups/")).json()["results"]
    assert (vip["contact_count"], vip["subscribed_count"]) == (5, 1)
    assert api.get(api.url(f"newsletters/{w['newsletter'].pk}/")).json()["contact_count"] == 6


def test_deleting_a_newsletter_takes_its_name_in_the_query_string(api, newsletter_world):
    url = api.url(f"newsletters/{newsletter_world['newsletter'].pk}/")
    refused = api.delete(url + "?confirm_name=Jorat")
    assert (refused.status_code, list(refused.json()["fields"])) == (400, ["confirm_name"])
    assert api.delete(url + "?confirm_name=Jorat%20news").status_code == 204
    assert not Newsletter.objects.exists()


def test_a_field_key_is_locked_once_contacts_have_values(api, newsletter_world):
    w = newsletter_world
    contact = _subscribe(w, "ada@example.test", {w["news"]: "subscribed"})
    contact.fields = {"first_name": "Ada"}
    contact.save()
    url = api.url(f"fields/{w['first_name'].pk}/")
    response = api.patch(url, {"key": "given_name"}, format="json")
    assert (response.status_code, list(response.json()["fields"])) == (400, ["key"])
    assert api.patch(url, {"label": "Given name"}, format="json").json()["key"] == "first_name"


# -- query counts -----------------------------------------------------------------------------


def _grow(world, lists: int):
    """`lists` lists in all, each with two groups, a contact subscribed in one of them
    and the newsletter's two fields on its form."""
    access, newsletter = world["access"], world["newsletter"]
    fields = [world["first_name"].pk, world["seat"].pk]
    for i in range(lists - newsletter.lists.count()):
        contact_list = services.list_create(
            access=access, newsletter=newsletter, name=f"List {i:02d}", form_fields=fields
        )
        group = services.group_create(access=access, contact_list=contact_list, name="A")
        services.group_create(access=access, contact_list=contact_list, name="B")
        _subscribe(world, f"c{i}@example.test", {contact_list: "subscribed"}, [group])


@pytest.mark.parametrize("size", [3, 30])
def test_the_list_endpoints_stay_within_a_bound_of_queries_at_3_and_at_30_rows(
    api, newsletter_world, size, django_assert_max_num_queries
):
    w = newsletter_world
    _grow(w, size)
    for i in range(size - 2):
        services.field_create(
            access=w["access"], newsletter=w["newsletter"], key=f"f{i}", label=f"F{i}",
            type="text",
        )  # fmt: skip
    for i in range(size - 1):
        services.newsletter_create(access=w["access"], name=f"Newsletter {i:02d}")
    for rest, count in [
        ("newsletters/", size),
        (f"newsletters/{w['newsletter'].pk}/lists/", size),
        (f"newsletters/{w['newsletter'].pk}/fields/", size),
    ]:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = api.get(api.url(rest), {"page_size": 200})
        assert response.json()["count"] == count, rest
    groups = services.group_create(access=w["access"], contact_list=w["news"], name="Extra")
    for i in range(size - 2):
        services.group_create(access=w["access"], contact_list=w["news"], name=f"G{i}")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = api.get(api.url(f"lists/{groups.list_id}/groups/"), {"page_size": 200})
    assert response.json()["count"] == size
