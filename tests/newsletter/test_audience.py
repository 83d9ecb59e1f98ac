"""The rules of a newsletter's audience settings (newsletter.services): custom fields
whose key is a variable of every campaign, choice fields, lists and groups with names
unique where they live, every problem of one input at once, and who may do what."""

import pytest

from newsletter import services
from newsletter.models import Contact, ContactField, ContactList, Newsletter
from panel.access import access_for
from panel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from panel.models import ActivityEvent, Grant

pytestmark = pytest.mark.django_db

KEY_RULE = (
    "Use 1 to 40 lower-case letters, digits and underscores, starting with a letter, such "
    "as first_name."
)


def _contact(world, email, **fields):
    return Contact.objects.create(
        organisation=world["org"], newsletter=world["newsletter"], email=email,
        email_key=email, fields=fields,
    )  # fmt: skip


def _field(world, **data):
    data = {"key": "city", "label": "City", "type": "text", **data}
    return services.field_create(access=world["access"], newsletter=world["newsletter"], **data)


# -- fields -----------------------------------------------------------------------------------


def test_a_field_with_every_problem_names_them_all(newsletter_world):
    with pytest.raises(InvalidInput) as raised:
        _field(newsletter_world, key="First Name", label=" ", type="colour", position=-1)
    assert raised.value.fields == {
        "key": [KEY_RULE],
        "label": ["This field is required."],
        "type": ["Choose one of: text, number, date, yes_no, choice."],
        "position": ["Enter a whole number from 0 to 32767."],
    }
    assert not ContactField.objects.filter(label="First Name").exists()


@pytest.mark.parametrize("key", ["email", "unsubscribe_url", "preferences_url", "true"])
def test_the_variables_every_campaign_has_are_not_field_keys(newsletter_world, key):
    with pytest.raises(InvalidInput) as raised:
        _field(newsletter_world, key=key)
    assert raised.value.fields == {
        "key": [f"{key} is a variable every campaign has already: choose another key."]
    }


@pytest.mark.parametrize("key", ["1st", "_city", "a" * 41, "prénom", "city-name"])
def test_a_key_is_a_lower_case_identifier(newsletter_world, key):
    with pytest.raises(InvalidInput) as raised:
        _field(newsletter_world, key=key)
    assert raised.value.fields == {"key": [KEY_RULE]}


def test_a_key_is_unique_in_its_newsletter_only(newsletter_world):
    with pytest.raises(Conflict) as raised:
        _field(newsletter_world, key="first_name", label="Given name")
    assert raised.value.code == "already_exists"
    assert raised.value.fields == {"key": ["A field with the key first_name exists already."]}
    other = Newsletter.objects.create(organisation=newsletter_world["org"], name="Other news")
    services.field_create(
        access=newsletter_world["access"], newsletter=other, key="first_name",
        label="First name", type="text",
    )  # fmt: skip


def test_a_taken_key_is_one_more_problem_when_there_are_others(newsletter_world):
    with pytest.raises(InvalidInput) as raised:
        _field(newsletter_world, key="first_name", label="")
    assert raised.value.fields == {
        "label": ["This field is required."],
        "key": ["A field with the key first_name exists already."],
    }


def test_a_choice_field_needs_distinct_choices(newsletter_world):
    with pytest.raises(InvalidInput) as raised:
        _field(newsletter_world, type="choice")
    assert raised.value.fields == {"choices": ["Give at least one choice."]}
    with pytest.raises(InvalidInput) as raised:
        _field(newsletter_world, type="choice", choices=["Lausanne", "lausanne "])
    assert raised.value.fields == {"choices": ["Each choice appears once."]}
    with pytest.raises(InvalidInput) as raised:
        _field(newsletter_world, type="choice", choices=["Lausanne", ""])
    assert raised.value.fields == {"choices": ["Each choice has 1 to 200 characters."]}
    city = _field(newsletter_world, type="choice", choices=[" Lausanne", "Genève"])
    assert city.choices == ["Lausanne", "Genève"]


def test_only_a_choice_field_has_choices(newsletter_world):
    with pytest.raises(InvalidInput) as raised:
        _field(newsletter_world, type="number", choices=["1", "2"])
    assert raised.value.fields == {"choices": ["Only a choice field has choices."]}


def test_a_choice_field_turned_into_text_loses_its_choices(newsletter_world):
    seat = services.field_update(
        access=newsletter_world["access"], field=newsletter_world["seat"], type="text"
    )
    seat.refresh_from_db()
    assert (seat.type, seat.choices) == ("text", [])


def test_key_and_type_change_freely_until_contacts_have_values(newsletter_world):
    access, field = newsletter_world["access"], newsletter_world["first_name"]
    services.field_update(access=access, field=field, key="given_name", type="choice",
                          choices=["Ada", "Grace"])  # fmt: skip
    field.refresh_from_db()
    assert (field.key, field.type, field.choices) == ("given_name", "choice", ["Ada", "Grace"])


def test_key_and_type_stay_once_contacts_have_values(newsletter_world):
    access, field = newsletter_world["access"], newsletter_world["first_name"]
    _contact(newsletter_world, "ada@example.test", first_name="Ada")
    locked = (
        "Contacts have values for this field: its key and type stay as they are. Change its "
        "label, or add a new field."
    )
    with pytest.raises(InvalidInput) as raised:
        services.field_update(access=access, field=field, key="given_name", type="number")
    assert raised.value.fields == {"key": [locked], "type": [locked]}
    services.field_update(access=access, field=field, label="Given name")
    field.refresh_from_db()
    assert (field.key, field.type, field.label) == ("first_name", "text", "Given name")


def test_a_choice_contacts_hold_cannot_be_taken_away(newsletter_world):
    access, seat = newsletter_world["access"], newsletter_world["seat"]
    _contact(newsletter_world, "ada@example.test", seat="Balcony")
    with pytest.raises(InvalidInput) as raised:
        services.field_update(access=access, field=seat, choices=["Stalls", "Boxes"])
    assert raised.value.fields == {"choices": ["Contacts have chosen Balcony: keep these choices."]}
    services.field_update(access=access, field=seat, choices=["Balcony", "Boxes"])
    seat.refresh_from_db()
    assert seat.choices == ["Balcony", "Boxes"]


def test_a_key_spelt_like_a_lookup_is_read_as_a_key(newsletter_world):
    access = newsletter_world["access"]
    exact = _field(newsletter_world, key="exact", type="choice", choices=["a", "b"])
    _contact(newsletter_world, "ada@example.test", exact="a")
    with pytest.raises(InvalidInput) as raised:
        services.field_update(access=access, field=exact, choices=["b"])
    assert raised.value.fields == {"choices": ["Contacts have chosen a: keep these choices."]}


def test_deleting_a_field_deletes_its_values(newsletter_world):
    access = newsletter_world["access"]
    ada = _contact(newsletter_world, "ada@example.test", first_name="Ada", seat="Stalls")
    services.field_delete(access=access, field=newsletter_world["first_name"])
    ada.refresh_from_db()
    assert ada.fields == {"seat": "Stalls"}
    assert list(newsletter_world["news"].form_fields.all()) == []
    # A new field with the same key starts without the old values.
    _field(newsletter_world, key="first_name", type="number")
    ada.refresh_from_db()
    assert "first_name" not in ada.fields


# -- lists and groups -------------------------------------------------------------------------


def test_a_list_with_every_problem_names_them_all(newsletter_world):
    other = Newsletter.objects.create(organisation=newsletter_world["org"], name="Other news")
    theirs = services.field_create(
        access=newsletter_world["access"], newsletter=other, key="city", label="City",
        type="text",
    )  # fmt: skip
    with pytest.raises(InvalidInput) as raised:
        services.list_create(
            access=newsletter_world["access"], newsletter=newsletter_world["newsletter"],
            name="", description="x" * 1001, form_fields=[theirs.pk],
        )  # fmt: skip
    assert raised.value.fields == {
        "name": ["This field is required."],
        "description": ["At most 1000 characters."],
        "form_fields": [f"Not fields of this newsletter: {theirs.pk}."],
    }
    assert ContactList.objects.count() == 1


def test_a_list_name_is_unique_in_its_newsletter_ignoring_case(newsletter_world):
    access, newsletter = newsletter_world["access"], newsletter_world["newsletter"]
    with pytest.raises(Conflict) as raised:
        services.list_create(access=access, newsletter=newsletter, name="news")
    assert raised.value.code == "already_exists"
    assert raised.value.fields == {"name": ["A list named news exists already."]}
    events = services.list_create(access=access, newsletter=newsletter, name="Events")
    with pytest.raises(Conflict):
        services.list_update(access=access, contact_list=events, name="NEWS")
    # Renaming a list to itself, in another case, is no clash.
    services.list_update(access=access, contact_list=events, name="EVENTS")
    events.refresh_from_db()
    assert events.name == "EVENTS"


def test_a_list_update_changes_what_is_sent_only(newsletter_world):
    access, news = newsletter_world["access"], newsletter_world["news"]
    services.list_update(access=access, contact_list=news, description="Monthly")
    news.refresh_from_db()
    assert (news.name, news.description) == ("News", "Monthly")
    assert list(news.form_fields.all()) == [newsletter_world["first_name"]]
    services.list_update(
        access=access, contact_list=news, form_fields=[newsletter_world["seat"].pk]
    )
    assert list(news.form_fields.all()) == [newsletter_world["seat"]]


def test_a_group_name_is_unique_in_its_list_only(newsletter_world):
    access, news = newsletter_world["access"], newsletter_world["news"]
    with pytest.raises(Conflict) as raised:
        services.group_create(access=access, contact_list=news, name="vip")
    assert raised.value.fields == {"name": ["A group named vip exists already in this list."]}
    events = services.list_create(
        access=access, newsletter=newsletter_world["newsletter"], name="Events"
    )
    assert services.group_create(access=access, contact_list=events, name="VIP").list == events


def test_deleting_a_list_keeps_its_contacts(newsletter_world):
    ada = _contact(newsletter_world, "ada@example.test")
    ada.groups.add(newsletter_world["vip"])
    services.list_delete(access=newsletter_world["access"], contact_list=newsletter_world["news"])
    assert list(Contact.objects.all()) == [ada]
    assert list(ada.groups.all()) == []


# -- who may do what --------------------------------------------------------------------------


def test_a_view_grant_changes_nothing(newsletter_world):
    viewer = access_for(newsletter_world["viewer"], newsletter_world["org"])
    with pytest.raises(PermissionDenied):
        services.list_create(
            access=viewer, newsletter=newsletter_world["newsletter"], name="Events"
        )
    with pytest.raises(PermissionDenied):
        services.field_delete(access=viewer, field=newsletter_world["seat"])
    assert ContactList.objects.count() == 1


def test_a_manage_grant_sets_up_the_audience_but_does_not_order(newsletter_world):
    manager = access_for(newsletter_world["manager"], newsletter_world["org"])
    services.group_create(access=manager, contact_list=newsletter_world["news"], name="Press")
    with pytest.raises(PermissionDenied) as raised:
        services.newsletter_create(access=manager, name="Second")
    assert raised.value.code == "billing_needs_administrator"
    with pytest.raises(PermissionDenied):
        services.newsletter_delete(
            access=manager, newsletter=newsletter_world["newsletter"], confirm_name="Jorat news"
        )


def test_another_organisation_finds_nothing(newsletter_world):
    theirs = access_for(newsletter_world["outsider"], newsletter_world["other_org"])
    with pytest.raises(NotFound):
        services.group_create(access=theirs, contact_list=newsletter_world["news"], name="Mine")


def test_deleting_a_newsletter_needs_its_name_and_takes_the_grants_along(newsletter_world):
    access, newsletter = newsletter_world["access"], newsletter_world["newsletter"]
    with pytest.raises(InvalidInput) as raised:
        services.newsletter_delete(access=access, newsletter=newsletter, confirm_name="Jorat")
    assert raised.value.fields == {"confirm_name": ["Type the name of the newsletter to confirm."]}
    services.newsletter_delete(access=access, newsletter=newsletter, confirm_name="Jorat news ")
    assert not Newsletter.objects.exists()
    assert not ContactList.objects.exists()
    assert not Grant.objects.filter(product_type="newsletter").exists()
    assert ActivityEvent.objects.filter(code="newsletter.newsletter.deleted").count() == 1
