"""The newsletter pages of the Manager as an organiser meets them: creating a newsletter
from the list, its page with its lists, groups and fields, creating, changing and
deleting each of those, renaming and deleting the newsletter; what viewers, people
without the billing right and other organisations get."""

import pytest
from django.urls import reverse

from newsletter.models import ContactField, ContactGroup, ContactList, Newsletter
from newsletter.services.contacts import contact_create
from panel.access import access_for
from panel.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def url(name, obj):
    """The page of `obj`: an organisation, or one of its rows (which names it)."""
    organisation = [obj.organisation_id] if hasattr(obj, "organisation_id") else []
    return reverse(f"newsletter:{name}", args=[*organisation, obj.pk])


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def world():
    """A newsletter with two lists (one with groups), two fields and three contacts; a
    team with `manage` on it, one with `view`, a member without grant and the
    organiser of another organisation."""
    legal = f.UserFactory(email="legal@x.test")
    org = f.OrganisationFactory(name="Jorat", legal_representative=legal)
    newsletter = Newsletter.objects.create(organisation=org, name="Jorat news")

    def make(model, **kwargs):
        return model.objects.create(organisation=org, **kwargs)

    news = make(ContactList, newsletter=newsletter, name="News", description="Every month")
    events = make(ContactList, newsletter=newsletter, name="Events")
    vip = make(ContactGroup, list=news, name="VIP")
    press = make(ContactGroup, list=news, name="Press")
    first_name = make(
        ContactField, newsletter=newsletter, key="first_name", label="First name", type="text"
    )
    seat = make(
        ContactField, newsletter=newsletter, key="seat", label="Seat", type="choice",
        choices=["Stalls", "Balcony"], position=1,
    )  # fmt: skip
    access = access_for(legal, org)
    for email, status in (("a@x.test", "subscribed"), ("b@x.test", "subscribed"),
                          ("c@x.test", "unsubscribed")):  # fmt: skip
        contact_create(
            access=access, newsletter=newsletter, email=email, fields={"seat": "Stalls"},
            subscriptions=[{"list": news.pk, "status": status, "groups": [vip.pk]}],
        )  # fmt: skip
    people = {}
    for level in ("manage", "view"):
        member = f.MembershipFactory(
            organisation=org, role=Role.USER, user__email=f"{level}@x.test"
        )
        team = f.TeamFactory(organisation=org, name=f"Writers {level}")
        f.TeamMemberFactory(team=team, user=member.user)
        f.GrantFactory(team=team, product_type="newsletter", product_id=newsletter.pk, level=level)
        people[level] = member.user
    people["stranger"] = f.MembershipFactory(organisation=org, role=Role.USER).user
    people["outsider"] = f.UserFactory(email="outsider@x.test")
    f.OrganisationFactory(name="Elsewhere", legal_representative=people["outsider"])
    return {
        "legal": legal, "org": org, "newsletter": newsletter, "news": news, "events": events,
        "vip": vip, "press": press, "first_name": first_name, "seat": seat, **people,
    }  # fmt: skip


# -- the list of newsletters ------------------------------------------------------------------


def test_an_organisation_without_newsletter_explains_and_offers_to_create_one(login):
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    html = page(login(legal).get(url("newsletter-list", org)))
    assert "No newsletter yet" in html and "0 newsletters" in html
    assert f'action="{url("newsletter-create", org)}#add"' in html


def test_a_created_newsletter_opens_and_appears_in_the_list(login):
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    client = login(legal)
    response = client.post(url("newsletter-create", org), {"name": "  Friends  "}, follow=True)
    newsletter = Newsletter.objects.get(organisation=org)
    assert newsletter.name == "Friends"
    assert response.redirect_chain[-1][0] == url("newsletter-detail", newsletter)
    html = page(response)
    assert "Newsletter created" in html and "No list yet" in html and "No field yet" in html
    assert url("list-create", newsletter) in html

    html = page(client.get(url("newsletter-list", org)))
    assert "Friends" in html and url("newsletter-detail", newsletter) in html


def test_an_empty_name_is_refused_under_its_field(login, world):
    response = login(world["legal"]).post(url("newsletter-create", world["org"]), {"name": " "})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert Newsletter.objects.filter(organisation=world["org"]).count() == 1


def test_the_list_shows_each_newsletter_with_its_lists_and_contacts(login, world):
    Newsletter.objects.create(organisation=world["org"], name="Empty one")
    response = login(world["legal"]).get(url("newsletter-list", world["org"]))
    rows = {n.name: (n.list_count, n.contact_count) for n in response.context["newsletters"]}
    assert rows == {"Jorat news": (2, 3), "Empty one": (0, 0)}
    assert "2 newsletters" in page(response)


def test_only_administrators_create_a_newsletter(login, world):
    client = login(world["manage"])
    html = page(client.get(url("newsletter-list", world["org"])))
    assert "only its administrators create one" in html
    assert f'action="{url("newsletter-create", world["org"])}' not in html
    assert client.post(url("newsletter-create", world["org"]), {"name": "Mine"}).status_code == 403
    assert not Newsletter.objects.filter(name="Mine").exists()


def test_a_member_sees_only_the_newsletters_shared_with_them(login, world):
    html = page(login(world["stranger"]).get(url("newsletter-list", world["org"])))
    assert "Jorat news" not in html and "Nothing has been shared with you" in html
    html = page(login(world["view"]).get(url("newsletter-list", world["org"])))
    assert "Jorat news" in html


# -- a newsletter's page ----------------------------------------------------------------------


def test_the_page_shows_lists_with_subscribed_counts_and_groups_and_the_fields(login, world):
    response = login(world["legal"]).get(url("newsletter-detail", world["newsletter"]))
    html = page(response)
    lists = {item.name: item.subscribed_count for item in response.context["lists"]}
    assert lists == {"News": 2, "Events": 0}  # the unsubscribed contact is not counted
    assert response.context["subscribed_count"] == 2
    contacts = url("contact-list", world["newsletter"])
    assert f'href="{contacts}?group={world["vip"].pk}">VIP</a>' in html
    assert f"{contacts}?list={world['news'].pk}&amp;status=subscribed" in html
    assert "{{ first_name }}" in html and "Stalls, Balcony" in html
    assert url("field-edit", world["first_name"]) in html
    assert url("newsletter-delete", world["newsletter"]) in html


def test_a_viewer_sees_the_page_without_controls_and_may_change_nothing(login, world):
    client = login(world["view"])
    newsletter = world["newsletter"]
    html = page(client.get(url("newsletter-detail", newsletter)))
    assert "News" in html and "First name" in html
    for control in (url("list-create", newsletter), url("field-create", newsletter),
                    url("field-edit", world["first_name"]), url("newsletter-delete", newsletter),
                    url("newsletter-rename", newsletter)):  # fmt: skip
        assert control not in html
    assert client.get(url("list-detail", world["news"])).status_code == 200
    forbidden = [
        client.post(url("newsletter-rename", newsletter), {"name": "Mine"}),
        client.get(url("list-create", newsletter)),
        client.post(url("list-create", newsletter), {"name": "Mine"}),
        client.post(url("list-detail", world["news"]), {"name": "Mine"}),
        client.post(url("list-delete", world["news"])),
        client.post(url("group-create", world["news"]), {"name": "Mine"}),
        client.get(url("group-edit", world["vip"])),
        client.post(url("group-delete", world["vip"])),
        client.get(url("field-create", newsletter)),
        client.post(url("field-delete", world["seat"])),
        client.get(url("newsletter-delete", newsletter)),
    ]
    assert [r.status_code for r in forbidden] == [403] * len(forbidden)
    assert ContactList.objects.filter(newsletter=newsletter).count() == 2
    assert ContactGroup.objects.filter(list=world["news"]).count() == 2
    newsletter.refresh_from_db()
    assert newsletter.name == "Jorat news"


def test_another_organisation_finds_nothing(login, world):
    client = login(world["outsider"])
    for target in (url("newsletter-detail", world["newsletter"]), url("list-detail", world["news"]),
                   url("group-edit", world["vip"]), url("field-edit", world["seat"]),
                   url("list-delete", world["news"])):  # fmt: skip
        assert client.get(target).status_code == 404
    response = client.post(url("newsletter-delete", world["newsletter"]), {"confirm_name": "x"})
    assert response.status_code == 404
    # a member of the organisation without a grant gets the same answer
    assert login(world["stranger"]).get(url("list-detail", world["news"])).status_code == 404


def test_a_manager_renames_the_newsletter_and_an_empty_name_stays_on_the_page(login, world):
    client = login(world["manage"])
    newsletter = world["newsletter"]
    response = client.post(url("newsletter-rename", newsletter), {"name": "Jorat letters"})
    assert response.status_code == 302
    newsletter.refresh_from_db()
    assert newsletter.name == "Jorat letters"
    response = client.post(url("newsletter-rename", newsletter), {"name": ""})
    assert response.status_code == 200 and response.context["rename_form"].errors["name"]
    assert "Delete…" not in page(response)  # a manager does not delete the product


def test_deleting_the_newsletter_asks_its_name_typed_again(login, world):
    client = login(world["legal"])
    newsletter = world["newsletter"]
    html = page(client.get(url("newsletter-delete", newsletter)))
    assert "Its 3 contacts go with it" in html and "Its 2 lists" in html
    response = client.post(url("newsletter-delete", newsletter), {"confirm_name": "Jorat"})
    assert response.status_code == 200
    assert response.context["form"].errors["confirm_name"] == [
        "Type the name of the newsletter to confirm."
    ]
    assert Newsletter.objects.filter(pk=newsletter.pk).exists()
    response = client.post(
        url("newsletter-delete", newsletter), {"confirm_name": "Jorat news"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url("newsletter-list", world["org"])
    assert "The newsletter Jorat news was deleted." in page(response)
    assert not Newsletter.objects.filter(pk=newsletter.pk).exists()


def test_a_manager_may_not_delete_the_newsletter(login, world):
    client = login(world["manage"])
    response = client.post(
        url("newsletter-delete", world["newsletter"]), {"confirm_name": "Jorat news"}
    )
    assert response.status_code == 403
    assert Newsletter.objects.filter(pk=world["newsletter"].pk).exists()


# -- lists and groups -------------------------------------------------------------------------


def test_a_manager_creates_a_list_with_its_form_fields(login, world):
    client = login(world["manage"])
    newsletter = world["newsletter"]
    html = page(client.get(url("list-create", newsletter)))
    assert "First name" in html and "Seat" in html  # the fields its form may ask
    response = client.post(
        url("list-create", newsletter),
        {"name": "Offers", "description": "Now and then", "form_fields": [world["seat"].pk]},
        follow=True,
    )
    created = ContactList.objects.get(newsletter=newsletter, name="Offers")
    assert response.redirect_chain[-1][0] == url("list-detail", created)
    assert list(created.form_fields.all()) == [world["seat"]]
    assert "List created" in page(response) and "No group yet" in page(response)


def test_a_list_name_taken_is_refused_under_its_field(login, world):
    response = login(world["manage"]).post(
        url("list-create", world["newsletter"]), {"name": "news"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A list named news exists already."]
    assert 'value="news"' in page(response)
    assert ContactList.objects.filter(newsletter=world["newsletter"]).count() == 2


def test_the_list_page_shows_its_groups_with_their_counts_and_saves_the_list(login, world):
    client = login(world["manage"])
    response = client.get(url("list-detail", world["news"]))
    groups = {g.name: (g.contact_count, g.subscribed_count) for g in response.context["groups"]}
    assert groups == {"VIP": (3, 2), "Press": (0, 0)}
    assert f"{url('contact-list', world['newsletter'])}?list={world['news'].pk}" in page(response)
    response = client.post(
        url("list-detail", world["news"]), {"name": "Monthly", "description": ""}
    )
    assert response.status_code == 302
    world["news"].refresh_from_db()
    assert (world["news"].name, world["news"].description) == ("Monthly", "")
    response = client.post(url("list-detail", world["news"]), {"name": "Events"})
    assert response.context["form"].errors["name"] == ["A list named Events exists already."]


def test_groups_are_added_renamed_and_deleted_after_a_confirmation(login, world):
    client = login(world["manage"])
    news = world["news"]
    response = client.post(url("group-create", news), {"name": "Customers 2025"})
    assert response.status_code == 302 and response["Location"].endswith("#groups")
    group = ContactGroup.objects.get(list=news, name="Customers 2025")
    response = client.post(url("group-create", news), {"name": "vip"})
    assert response.context["group_form"].errors["name"] == [
        "A group named vip exists already in this list."
    ]
    assert client.post(url("group-edit", group), {"name": "Customers"}).status_code == 302
    group.refresh_from_db()
    assert group.name == "Customers"

    html = page(client.get(url("group-delete", world["vip"])))
    assert "Delete the group VIP of News?" in html and "Its 3 members stay on the list" in html
    assert ContactGroup.objects.filter(pk=world["vip"].pk).exists()  # asking changed nothing
    client.post(url("group-delete", world["vip"]))
    assert not ContactGroup.objects.filter(pk=world["vip"].pk).exists()


def test_deleting_a_list_asks_first_and_keeps_the_contacts(login, world):
    client = login(world["manage"])
    html = page(client.get(url("list-delete", world["news"])))
    assert "Delete the list News?" in html and "its 3 contacts" in html
    response = client.post(url("list-delete", world["news"]))
    assert response["Location"] == url("newsletter-detail", world["newsletter"])
    assert not ContactList.objects.filter(pk=world["news"].pk).exists()
    assert world["newsletter"].contacts.count() == 3


# -- fields -----------------------------------------------------------------------------------


def test_a_manager_adds_a_choice_field_one_choice_per_line(login, world):
    client = login(world["manage"])
    response = client.post(
        url("field-create", world["newsletter"]),
        {"label": "Town", "key": "town", "type": "choice", "choices": "Lausanne\n\n Mézières \n",
         "position": ""},
    )  # fmt: skip
    assert response["Location"] == url("newsletter-detail", world["newsletter"]) + "#fields"
    field = ContactField.objects.get(newsletter=world["newsletter"], key="town")
    assert (field.label, field.type, field.choices) == ("Town", "choice", ["Lausanne", "Mézières"])


def test_a_field_is_refused_with_every_problem_under_its_input(login, world):
    response = login(world["manage"]).post(
        url("field-create", world["newsletter"]),
        {"label": "Email", "key": "email", "type": "choice", "choices": ""},
    )
    errors = response.context["form"].errors
    assert errors["key"] == ["email is a variable every campaign has already: choose another key."]
    assert errors["choices"] == ["Give at least one choice."]
    assert not ContactField.objects.filter(label="Email").exists()


def test_a_field_with_values_keeps_its_key_but_changes_its_label(login, world):
    client = login(world["manage"])
    seat = world["seat"]
    html = page(client.get(url("field-edit", seat)))
    assert 'value="seat"' in html and "Stalls\nBalcony" in html
    data = {"label": "Seat", "key": "place", "type": "choice", "choices": "Stalls\nBalcony"}
    response = client.post(url("field-edit", seat), data)
    assert "its key and type stay as they are" in response.context["form"].errors["key"][0]
    response = client.post(url("field-edit", seat), {**data, "key": "seat", "label": "Place"})
    assert response.status_code == 302
    seat.refresh_from_db()
    assert (seat.key, seat.label) == ("seat", "Place")


def test_deleting_a_field_says_how_many_contacts_lose_their_value(login, world):
    client = login(world["manage"])
    html = page(client.get(url("field-delete", world["seat"])))
    assert "Delete the field Seat?" in html and "the 3 contacts who have one" in html
    assert "{{ seat }}" in html
    client.post(url("field-delete", world["seat"]))
    assert not ContactField.objects.filter(pk=world["seat"].pk).exists()
    assert all("seat" not in c.fields for c in world["newsletter"].contacts.all())
