"""The forms of an office in the Manager: creating one, its field editor with the seven
types, the order rule seen at work (1, 2, 3 ..., then no position, then 0; ties by
creation) as positions are typed, bad questions refused under their field with nothing
saved, the preview as buyers see it, and what viewers get."""

import re

import pytest
from django.urls import reverse

from panel.models import Role
from tests import factories as f
from ticketing import services
from ticketing.models import FormField, TicketForm


def url(name, *args):
    return reverse(f"ticketing:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


def shown_order(html) -> list[str]:
    """The questions' labels as the field editor lists them."""
    table = html.split('data-testid="questions"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'data-testid="field-label">([^<]+)<', table)


def field_data(**values) -> dict:
    """The add-a-question form as a browser sends it (prefix `field`)."""
    data = {"label": "Question", "type": "text", "buyer_can_change": "on", **values}
    return {f"field-{name}": value for name, value in data.items() if value is not None}


@pytest.fixture
def viewer(shop_world):
    org = shop_world["org"]
    user = f.MembershipFactory(organisation=org, role=Role.USER, user__email="v@x.test").user
    team = f.TeamFactory(organisation=org, name="Box office")
    f.TeamMemberFactory(team=team, user=user)
    f.GrantFactory(team=team, product_type="ticketing", product_id=shop_world["office"].pk,
                   level="view")  # fmt: skip
    return user


def test_a_new_form_appears_in_the_list_and_opens_its_editor(login, shop_world):
    org, office = shop_world["org"], shop_world["office"]
    client = login(shop_world["legal"])
    response = client.post(url("form-create", org, office), {"name": "Meal"}, follow=True)
    meal = TicketForm.objects.get(office=office, name="Meal")
    assert response.redirect_chain[-1][0] == url("form-detail", org, meal)
    html = page(response)
    assert "Form created" in html and "No question yet" in html
    html = page(client.get(url("form-list", org, office)))
    assert "2 forms" in html and url("form-detail", org, meal) in html
    row = html.split(">Attendee<", 1)[1].split("</tr>", 1)[0]
    assert "2 questions" in row and "1 tariff" in row

    response = client.post(url("form-create", org, office), {"name": "  "})
    assert "name" in response.context["create_form"].errors
    assert TicketForm.objects.filter(office=office).count() == 2


def test_questions_of_the_seven_types_are_added_and_previewed(login, shop_world):
    org, access = shop_world["org"], shop_world["access"]
    form = services.form_create(access=access, office=shop_world["office"], name="All types")
    client = login(shop_world["legal"])
    questions = [
        field_data(label="Name", type="text", position="1", show_on_ticket="on", required="on"),
        field_data(label="Meal", type="select", options="Meat\r\nVegetarian\r\n\r\n", position="2"),
        field_data(label="Seat side", type="radio", options="Left\nRight", position="3"),
        field_data(label="Terms", type="checkboxes", options="I accept the terms", required="on",
                   url="https://jorat.example.test/terms", position="0"),
        field_data(label="Email", type="email", help_text="For the programme"),
        field_data(label="Phone", type="phone"),
        field_data(label="Birthday", type="date", buyer_can_change=None),
    ]  # fmt: skip
    for data in questions:
        response = client.post(url("field-create", org, form), data, follow=True)
        assert "Question added." in page(response), data
    fields = {field.label: field for field in form.fields.all()}
    assert fields["Meal"].options == ["Meat", "Vegetarian"]  # one per line, blanks dropped
    assert fields["Terms"].url == "https://jorat.example.test/terms"
    assert fields["Name"].show_on_ticket and fields["Name"].buyer_can_change
    assert not fields["Birthday"].buyer_can_change

    html = page(client.get(url("form-detail", org, form)))
    assert shown_order(html) == ["Name", "Meal", "Seat side", "Email", "Phone", "Birthday", "Terms"]
    assert "required: every box must be ticked" in html
    assert "cannot be changed later" in html
    preview = html.split('data-testid="preview"', 1)[1]
    assert "<option>Vegetarian</option>" in preview
    assert 'type="radio" name="preview-' in preview and 'type="checkbox"' in preview
    assert 'type="email"' in preview and 'type="tel"' in preview and 'type="date"' in preview
    assert 'href="https://jorat.example.test/terms"' in preview
    assert "Tick every box to continue." in preview
    assert "Printed on the ticket instead of the buyer's name." in preview
    assert preview.index(">Name<") < preview.index(">Meal<") < preview.index(">Terms<")


def test_the_list_shows_the_order_the_rule_makes(login, shop_world):
    org, access = shop_world["org"], shop_world["access"]
    form = services.form_create(access=access, office=shop_world["office"], name="Order")
    for label, position in [("zero", 0), ("none A", None), ("two", 2), ("one A", 1),
                            ("none B", None), ("one B", 1), ("ten", 10)]:  # fmt: skip
        services.field_create(access=access, form=form, label=label, type="text",
                              position=position)  # fmt: skip
    html = page(login(shop_world["legal"]).get(url("form-detail", org, form)))
    assert shown_order(html) == ["one A", "one B", "two", "ten", "none A", "none B", "zero"]
    table = html.split('data-testid="questions"', 1)[1]
    assert re.findall(r'data-testid="rank">(\d+)<', table) == [str(n) for n in range(1, 8)]
    groups = ["Numbered positions", "Without a position", "Position 0: at the end"]
    assert [table.index(group) for group in groups] == sorted(table.index(g) for g in groups)
    rule = html.split('data-testid="order-rule"', 1)[1].split("</div>", 1)[0]
    assert "1, 2, 3" in rule and "without a position" in rule and "Position 0" in rule
    assert "same position keep the order they were added in" in rule


def test_typed_positions_are_saved_at_once_and_the_list_follows(login, shop_world):
    org, form = shop_world["org"], shop_world["form"]
    attendee, terms = shop_world["attendee"], shop_world["terms"]  # positions 1 and 0
    client = login(shop_world["legal"])
    html = page(client.get(url("form-detail", org, form)))
    assert shown_order(html) == ["Attendee name", "I accept"]

    response = client.post(
        url("form-positions", org, form),
        {f"position-{attendee.pk}": "", f"position-{terms.pk}": "3"},
        follow=True,
    )
    assert "Positions saved" in page(response)
    assert shown_order(page(response)) == ["I accept", "Attendee name"]
    terms.refresh_from_db()
    attendee.refresh_from_db()
    assert (terms.position, attendee.position) == (3, None)

    response = client.post(
        url("form-positions", org, form),
        {f"position-{attendee.pk}": "5", f"position-{terms.pk}": "-1"},
    )
    assert response.status_code == 200
    assert f"position-{terms.pk}" in response.context["positions_form"].errors
    attendee.refresh_from_db()
    assert attendee.position is None  # nothing saved when one position is wrong


def test_a_selection_without_options_is_refused_under_its_field(login, shop_world):
    org, form = shop_world["org"], shop_world["form"]
    client = login(shop_world["legal"])
    response = client.post(
        url("field-create", org, form),
        field_data(label="Meal", type="select", options="\n \n", url="not a link"),
    )
    assert response.status_code == 200
    errors = response.context["field_form"].errors
    assert errors["options"] == ["Give at least one option."]
    assert errors["url"] == ["Enter a web address starting with https://."]
    html = page(response)
    assert "Give at least one option." in html and 'id="add-field" open' in html
    assert 'value="Meal"' in html
    assert form.fields.count() == 2 and not FormField.objects.filter(label="Meal").exists()


def test_a_question_is_edited_and_deleted(login, shop_world):
    org, form, terms = shop_world["org"], shop_world["form"], shop_world["terms"]
    client = login(shop_world["legal"])
    html = page(client.get(url("field-edit", org, terms)))
    assert "the terms</textarea>" in html
    response = client.post(
        url("field-edit", org, terms),
        {"label": "I agree", "type": "checkboxes", "options": "the terms\nthe privacy policy",
         "required": "on", "position": "0"},
        follow=True,
    )  # fmt: skip
    assert "Question saved." in page(response)
    terms.refresh_from_db()
    assert terms.label == "I agree" and terms.options == ["the terms", "the privacy policy"]
    assert not terms.buyer_can_change  # its box was left unticked

    response = client.post(url("field-edit", org, terms), {"label": "", "type": "radio"})
    assert "label" in response.context["form"].errors
    terms.refresh_from_db()
    assert terms.label == "I agree"

    assert "Delete the question I agree?" in page(client.get(url("field-delete", org, terms)))
    response = client.post(url("field-delete", org, terms), follow=True)
    assert "Question deleted." in page(response)
    assert list(form.fields.values_list("label", flat=True)) == ["Attendee name"]


def test_deleting_a_form_tells_how_many_tariffs_lose_it(login, shop_world):
    org, form, full = shop_world["org"], shop_world["form"], shop_world["full"]
    client = login(shop_world["legal"])
    html = page(client.get(url("form-detail", org, form)))
    linked = html.split('data-testid="linked-tariffs"', 1)[1].split("</ul>", 1)[0]
    assert "Le Misanthrope" in linked and "Full price" in linked
    assert "the 1 tariff linked to it asks nothing" in page(
        client.get(url("form-delete", org, form))
    )
    response = client.post(url("form-delete", org, form), follow=True)
    assert response.redirect_chain[-1][0] == url("form-list", org, shop_world["office"])
    assert "Form deleted." in page(response) and "No form yet" in page(response)
    full.refresh_from_db()
    assert full.form_id is None


def test_viewers_see_the_questions_but_no_controls_and_get_403(login, shop_world, viewer):
    org, office, form, terms = (shop_world[k] for k in ("org", "office", "form", "terms"))
    client = login(viewer)
    html = page(client.get(url("form-list", org, office)))
    assert "Attendee" in html and "Add a form" not in html
    html = page(client.get(url("form-detail", org, form)))
    assert shown_order(html) == ["Attendee name", "I accept"] and 'data-testid="preview"' in html
    controls = ["Add a question", "Save the positions", "Delete the form",
                'class="tk-position-input"', url("field-edit", org, terms)]  # fmt: skip
    for control in controls:
        assert control not in html
    posts = [
        (url("form-create", org, office), {"name": "Mine"}),
        (url("field-create", org, form), field_data(label="Extra")),
        (url("form-positions", org, form), {f"position-{terms.pk}": "4"}),
        (url("field-edit", org, terms), {"label": "Hacked", "type": "text"}),
        (url("field-delete", org, terms), {}),
        (url("form-delete", org, form), {}),
    ]
    for target, data in posts:
        assert client.post(target, data).status_code == 403, target
    assert client.get(url("field-edit", org, terms)).status_code == 403
    terms.refresh_from_db()
    assert (terms.label, terms.position) == ("I accept", 0)
    assert TicketForm.objects.filter(office=office).count() == 1 and form.fields.count() == 2


def test_forms_of_an_office_one_does_not_see_are_not_found(login, shop_world):
    org, office, form, terms = (shop_world[k] for k in ("org", "office", "form", "terms"))
    stranger = f.MembershipFactory(organisation=org, role=Role.USER).user
    outsider = f.UserFactory()
    f.OrganisationFactory(legal_representative=outsider)
    for person in (stranger, outsider):
        client = login(person)
        for target in (url("form-list", org, office), url("form-detail", org, form),
                       url("field-edit", org, terms), url("form-delete", org, form)):  # fmt: skip
            assert client.get(target).status_code == 404, target
        assert client.post(url("field-delete", org, terms)).status_code == 404
    assert FormField.objects.filter(pk=terms.pk).exists()
