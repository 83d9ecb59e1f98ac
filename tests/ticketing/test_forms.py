"""The rules of the forms a tariff asks for each ticket (knowledge base, "Ticketing:
créer un formulaire par tarif"): the display order of the fields, what "required" means
for checkboxes and for the other types, which answer goes on the ticket, and answers
checked as what they claim to be, every problem at once."""

import pytest

from panel.access import access_for
from panel.errors import InvalidInput, PermissionDenied
from panel.models import Role
from tests import factories as f
from ticketing.models import FormField
from ticketing.services import (
    answers_check,
    field_create,
    field_update,
    form_create,
    name_on_ticket,
    ordered_fields,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_form():
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    office = f.TicketOfficeFactory(organisation=org, name="Théâtre du Jorat")
    access = access_for(legal, org)
    return access, form_create(access=access, office=office, name="Attendee")


def _field(access, form, label, type="text", **data):
    return field_create(access=access, form=form, label=label, type=type, **data)


def test_numbered_first_then_unnumbered_then_zero_ties_by_creation(office_form):
    access, form = office_form
    for label, position in [
        ("zero-a", 0), ("none-a", None), ("three", 3), ("one", 1), ("none-b", None),
        ("zero-b", 0), ("two-a", 2), ("two-b", 2),
    ]:  # fmt: skip
        _field(access, form, label, position=position)
    assert [field.label for field in ordered_fields(form)] == [
        "one", "two-a", "two-b", "three", "none-a", "none-b", "zero-a", "zero-b",
    ]  # fmt: skip


def test_required_checkboxes_need_every_box(office_form):
    access, form = office_form
    terms = _field(
        access, form, "I accept", "checkboxes", options=["the terms", "the privacy policy"],
        required=True, url="https://example.test/terms",
    )  # fmt: skip
    with pytest.raises(InvalidInput) as raised:
        answers_check([terms], {terms.pk: ["the terms"]})
    assert raised.value.fields == {str(terms.pk): ["Tick every box to continue."]}
    assert answers_check([terms], {terms.pk: ["the privacy policy", "the terms"]}) == {
        terms.pk: ["the terms", "the privacy policy"]
    }
    optional = _field(access, form, "News", "checkboxes", options=["by email", "by post"])
    assert answers_check([optional], {}) == {optional.pk: []}


def test_required_elsewhere_means_an_answer(office_form):
    access, form = office_form
    meal = _field(access, form, "Meal", "radio", options=["meat", "veggie"], required=True)
    name = _field(access, form, "Name", required=True)
    with pytest.raises(InvalidInput) as raised:
        answers_check([meal, name], {str(meal.pk): "fish", str(name.pk): " "})
    assert raised.value.fields == {
        str(meal.pk): ["Choose one of the options offered."],
        str(name.pk): ["This question needs an answer."],
    }


def test_answers_are_checked_as_what_they_claim_to_be(office_form):
    access, form = office_form
    email = _field(access, form, "Email", "email")
    phone = _field(access, form, "Phone", "phone")
    born = _field(access, form, "Born", "date")
    fields = [email, phone, born]
    with pytest.raises(InvalidInput) as raised:
        answers_check(
            fields, {email.pk: "not-mail", phone.pk: "123", born.pk: "31/12/1990", 999: "x"},
            prefix="tickets.0.answers.",
        )  # fmt: skip
    assert set(raised.value.fields) == {
        f"tickets.0.answers.{email.pk}",
        f"tickets.0.answers.{phone.pk}",
        f"tickets.0.answers.{born.pk}",
        "tickets.0.answers.999",
    }
    cleaned = answers_check(
        fields, {email.pk: "Ada@Example.TEST", phone.pk: "021 345 67 89", born.pk: "1990-12-31"}
    )
    assert cleaned == {
        email.pk: "ada@example.test",
        phone.pk: "+41213456789",
        born.pk: "1990-12-31",
    }


def test_the_show_on_ticket_answers_replace_the_buyers_name(office_form):
    access, form = office_form
    last = _field(access, form, "Last name", show_on_ticket=True, position=2)
    first = _field(access, form, "First name", show_on_ticket=True, position=1)
    _field(access, form, "Diet")
    fields = list(form.fields.all())
    answers = {first.pk: "Grace", last.pk: "Hopper"}
    assert name_on_ticket(fields, answers, buyer_name="Ada Lovelace") == "Grace Hopper"
    assert name_on_ticket(fields, {}, buyer_name="Ada Lovelace") == "Ada Lovelace"


def test_a_field_reports_every_problem_of_its_settings_at_once(office_form):
    access, form = office_form
    with pytest.raises(InvalidInput) as raised:
        _field(access, form, " ", "colour", options=["a"], url="javascript:alert(1)", position=-1)
    assert set(raised.value.fields) == {"label", "type", "options", "url", "position"}
    with pytest.raises(InvalidInput) as raised:
        _field(access, form, "Pick", "select", options=["a", "a"])
    assert raised.value.fields == {"options": ["Each option appears once."]}
    assert not FormField.objects.exists()


def test_changing_a_field_keeps_the_rules(office_form):
    access, form = office_form
    field = _field(access, form, "Size", "select", options=["S", "M"])
    field_update(access=access, field=field, position=4, options=["S", "M", "L"])
    field.refresh_from_db()
    assert (field.position, field.options) == (4, ["S", "M", "L"])
    with pytest.raises(InvalidInput):
        field_update(access=access, field=field, type="text")  # options left on a text field


def test_a_plain_user_without_a_grant_cannot_change_forms(office_form):
    access, form = office_form
    member = f.MembershipFactory(organisation=access.organisation, role=Role.USER).user
    with pytest.raises(Exception) as raised:
        _field(access_for(member, access.organisation), form, "Name")
    assert (
        isinstance(raised.value, PermissionDenied) or raised.value.__class__.__name__ == "NotFound"
    )
