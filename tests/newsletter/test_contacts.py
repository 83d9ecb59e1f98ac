"""Contacts as the organisation adds and changes them: one per address whatever its case,
field values checked against their type with every problem at once, subscribed unless
said otherwise with the consent recorded, groups of the list they are given with, and a
contact who left a list never put back on it by the organisation."""

import pytest

from newsletter.models import (
    Consent,
    ContactEventKind,
    ContactField,
    ContactGroup,
    ContactList,
    Newsletter,
    SubscriptionStatus,
)
from newsletter.services.contacts import contact_create, contact_update
from panel.access import access_for
from panel.errors import Conflict, InvalidInput
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience():
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    newsletter = Newsletter.objects.create(organisation=org, name="Jorat news")

    def make(model, **kwargs):
        return model.objects.create(organisation=org, **kwargs)

    news = make(ContactList, newsletter=newsletter, name="News")
    events = make(ContactList, newsletter=newsletter, name="Events")
    return {
        "access": access_for(legal, org),
        "newsletter": newsletter,
        "news": news,
        "events": events,
        "vip": make(ContactGroup, list=news, name="VIP"),
        "press": make(ContactGroup, list=events, name="Press"),
        "first_name": make(
            ContactField, newsletter=newsletter, key="first_name", label="First name", type="text"
        ),  # fmt: skip
        "age": make(ContactField, newsletter=newsletter, key="age", label="Age", type="number"),
        "born": make(ContactField, newsletter=newsletter, key="born", label="Born", type="date"),
        "member": make(
            ContactField, newsletter=newsletter, key="member", label="Member", type="yes_no"
        ),  # fmt: skip
        "seat": make(
            ContactField,
            newsletter=newsletter,
            key="seat",
            label="Seat",
            type="choice",
            choices=["Stalls", "Balcony"],
        ),  # fmt: skip
    }


def add(audience, email="Ada@Example.TEST", **kwargs):
    return contact_create(access=audience["access"], newsletter=audience["newsletter"],
                          email=email, **kwargs)  # fmt: skip


def test_a_contact_is_subscribed_with_its_fields_read_by_type_and_its_consent_kept(audience):
    contact = add(
        audience,
        fields={"first_name": " Ada ", "age": "36,5", "born": "10.12.1815", "member": "oui",
                "seat": "balcony"},
        subscriptions=[{"list": audience["news"].pk, "groups": [audience["vip"].pk]}],
    )  # fmt: skip
    assert contact.email == "Ada@example.test" and contact.email_key == "ada@example.test"
    assert contact.fields == {"first_name": "Ada", "age": 36.5, "born": "1815-12-10",
                              "member": True, "seat": "Balcony"}  # fmt: skip
    (subscription,) = contact.subscriptions.all()
    assert (subscription.list, subscription.status) == (audience["news"], "subscribed")
    assert list(contact.groups.all()) == [audience["vip"]]
    consent = Consent.objects.get(contact=contact)
    assert (consent.source, consent.list) == ("api", audience["news"])
    kinds = sorted(contact.events.values_list("kind", flat=True))
    assert kinds == [ContactEventKind.CREATED, ContactEventKind.SUBSCRIBED]


def test_the_same_address_in_any_case_is_one_contact(audience):
    add(audience, "ada@example.test")
    with pytest.raises(Conflict) as raised:
        add(audience, "  ADA@example.test ")
    assert raised.value.code == "already_exists" and "email" in raised.value.fields


def test_every_problem_is_named_at_once_and_nothing_is_written(audience):
    with pytest.raises(InvalidInput) as raised:
        add(
            audience, "not an address",
            fields={"age": "old", "born": "31.02.2020", "member": "perhaps", "seat": "Pit",
                    "shoe_size": "42"},
            subscriptions=[{"list": audience["news"].pk, "groups": [audience["press"].pk]},
                           {"list": audience["news"].pk}, {"list": 999999},
                           {"list": audience["events"].pk, "status": "maybe"}],
        )  # fmt: skip
    fields = raised.value.fields
    assert set(fields) == {
        "email", "fields.age", "fields.born", "fields.member", "fields.seat", "fields.shoe_size",
        "subscriptions.0.groups", "subscriptions.1.list", "subscriptions.2.list",
        "subscriptions.3.status",
    }  # fmt: skip
    assert fields["subscriptions.0.groups"] == [f"Not groups of News: {audience['press'].pk}."]
    assert not audience["newsletter"].contacts.exists()


def test_a_contact_who_left_a_list_is_not_put_back_by_the_organisation(audience):
    contact = add(audience, subscriptions=[{"list": audience["news"].pk}])
    left = [{"list": audience["news"].pk, "status": "unsubscribed"}]
    contact_update(access=audience["access"], contact=contact, subscriptions=left)
    with pytest.raises(InvalidInput) as raised:
        contact_update(access=audience["access"], contact=contact,
                       subscriptions=[{"list": audience["news"].pk}])  # fmt: skip
    assert "only they can subscribe again" in raised.value.fields["subscriptions.0.status"][0]
    assert contact.subscriptions.get().status == SubscriptionStatus.UNSUBSCRIBED
    # Another list is theirs to be added to.
    contact_update(access=audience["access"], contact=contact,
                   subscriptions=[{"list": audience["events"].pk}])  # fmt: skip
    assert contact.subscriptions.get(list=audience["events"]).status == "subscribed"


def test_changing_fields_keeps_the_others_and_an_empty_value_removes_one(audience):
    contact = add(audience, fields={"first_name": "Ada", "age": 36})
    contact_update(access=audience["access"], contact=contact, fields={"age": "", "member": False})
    contact.refresh_from_db()
    assert contact.fields == {"first_name": "Ada", "member": False}
    assert contact.events.filter(kind=ContactEventKind.CHANGED).count() == 1


def test_groups_given_with_a_subscription_replace_only_that_lists_groups(audience):
    contact = add(audience, subscriptions=[
        {"list": audience["news"].pk, "groups": [audience["vip"].pk]},
        {"list": audience["events"].pk, "groups": [audience["press"].pk]},
    ])  # fmt: skip
    contact_update(access=audience["access"], contact=contact,
                   subscriptions=[{"list": audience["news"].pk, "groups": []}])  # fmt: skip
    assert list(contact.groups.all()) == [audience["press"]]
