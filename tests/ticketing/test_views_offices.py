"""The ticket office pages of the Manager as an organiser meets them: creating an office
from the list, its page with its events, its settings, deleting it; what people without
the billing right, viewers and other organisations get; bounded queries on the list."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from panel.access import access_for
from panel.models import Role
from tests import factories as f
from ticketing import services
from ticketing.models import TicketOffice


def url(name, *args):
    return reverse(f"ticketing:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def people(shop_world):
    """A team with `manage` on the office, one with `view`, a member without any grant,
    and the organiser of another organisation."""
    org, office = shop_world["org"], shop_world["office"]
    found = {}
    for level in ("manage", "view"):
        member = f.MembershipFactory(
            organisation=org, role=Role.USER, user__email=f"{level}@x.test"
        )
        team = f.TeamFactory(organisation=org, name=f"Box office {level}")
        f.TeamMemberFactory(team=team, user=member.user)
        f.GrantFactory(team=team, product_type="ticketing", product_id=office.pk, level=level)
        found[level] = member.user
    found["stranger"] = f.MembershipFactory(
        organisation=org, role=Role.USER, user__email="s@x.test"
    ).user
    found["outsider"] = f.UserFactory(email="outsider@x.test")
    found["other_org"] = f.OrganisationFactory(
        name="Elsewhere", legal_representative=found["outsider"]
    )
    return found


# --- creating an office ------------------------------------------------------------------------


def test_an_organisation_without_office_explains_what_one_is(login, db):
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    html = page(login(legal).get(url("office-list", org)))
    assert "No ticket office yet" in html and "Buyers need no account" in html
    assert 'id="add"' in html and f'action="{url("office-create", org)}#add"' in html


def test_a_created_office_opens_and_appears_in_the_list(login, db):
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    client = login(legal)
    response = client.post(
        url("office-create", org),
        {"name": "Théâtre du Jorat", "slug": "", "currency": "EUR"},
        follow=True,
    )
    office = TicketOffice.objects.get(organisation=org)
    assert response.redirect_chain[-1][0] == url("office-detail", org, office)
    # an empty shop address is made from the name
    assert (office.slug, office.currency) == ("theatre-du-jorat", "EUR")
    html = page(response)
    assert "Ticket office created" in html and "No event yet" in html
    assert 'href="/shop/theatre-du-jorat/"' in html
    assert url("event-create", org, office) in html

    html = page(client.get(url("office-list", org)))
    assert "Théâtre du Jorat" in html and "/shop/theatre-du-jorat/" in html
    assert url("office-detail", org, office) in html


def test_a_shop_address_already_taken_is_refused_under_its_field(login, shop_world):
    org = shop_world["org"]
    response = login(shop_world["legal"]).post(
        url("office-create", org), {"name": "Second", "slug": "jorat", "currency": "CHF"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"slug": ["Another shop already has this address."]}
    assert 'value="Second"' in page(response)  # what was typed is kept
    assert TicketOffice.objects.filter(organisation=org).count() == 1

    response = login(shop_world["legal"]).post(
        url("office-create", org), {"name": "Third", "slug": "No Spaces", "currency": "CHF"}
    )
    assert response.context["form"].errors["slug"] == [
        "Use 3 to 60 lower-case letters, digits and single hyphens, such as jazz-festival."
    ]
    assert TicketOffice.objects.filter(organisation=org).count() == 1


def test_only_administrators_may_create_an_office(login, shop_world, people):
    org = shop_world["org"]
    client = login(people["manage"])
    html = page(client.get(url("office-list", org)))
    assert 'id="add"' in html and "only its administrators create one" in html
    assert f'action="{url("office-create", org)}' not in html
    response = client.post(url("office-create", org), {"name": "Mine", "slug": "mine-office"})
    assert response.status_code == 403
    assert not TicketOffice.objects.filter(slug="mine-office").exists()


def test_the_list_shows_each_office_with_its_events_and_next_date(login, shop_world):
    org, access = shop_world["org"], shop_world["access"]
    services.office_create(access=access, name="Empty hall", slug="empty-hall")
    html = page(login(shop_world["legal"]).get(url("office-list", org)))
    assert "2 ticket offices" in html
    row = html.split("Théâtre du Jorat", 1)[1].split("</tr>", 1)[0]
    assert "1 event" in row and "1 on sale" in row and "1 date" in row
    when = date_format(timezone.localtime(shop_world["date"].starts_at), "SHORT_DATETIME_FORMAT")
    assert f"next {when}" in row
    row = html.split("Empty hall", 1)[1].split("</tr>", 1)[0]
    assert "0 events" in row and "None" in row


# --- an office's page --------------------------------------------------------------------------


def test_the_office_page_lists_its_events_with_status_and_next_date(login, shop_world):
    org, office, access = shop_world["org"], shop_world["office"], shop_world["access"]
    services.event_create(access=access, office=office, title="Tartuffe")
    html = page(login(shop_world["legal"]).get(url("office-detail", org, office)))
    events = html.split('data-testid="events"', 1)[1].split("</table>", 1)[0]
    assert events.index("Le Misanthrope") < events.index("Tartuffe")
    assert '<span class="badge badge-green" data-testid="event-status">On sale</span>' in events
    assert 'data-testid="event-status">Draft</span>' in events and "No date yet" in events
    assert url("event-detail", org, shop_world["event"]) in events
    for link in ("event-create", "form-list", "order-list", "office-settings", "office-delete"):
        assert url(link, org, office) in html, link
    assert 'href="/shop/jorat/"' in html


# --- settings ----------------------------------------------------------------------------------


def test_settings_are_saved_and_bad_values_change_nothing(login, shop_world):
    org, office = shop_world["org"], shop_world["office"]
    client = login(shop_world["legal"])
    settings_url = url("office-settings", org, office)
    base = {"name": office.name, "slug": office.slug, "currency": "CHF", "hold_minutes": "15",
            "pay_later_days": "7"}  # fmt: skip
    response = client.post(
        settings_url,
        {**base, "contact_email": "Box@Jorat.example.test", "contact_phone": "+41 21 903 07 55",
         "hold_minutes": "20", "pay_later": "on", "pay_later_days": "10",
         "pay_later_instructions": "IBAN CH00 0000", "contact_details": "Rue du Théâtre 1"},
        follow=True,
    )  # fmt: skip
    assert "Settings saved." in page(response)
    office.refresh_from_db()
    assert (office.contact_email, office.hold_minutes, office.pay_later_days) == (
        "box@jorat.example.test",
        20,
        10,
    )
    assert office.pay_later and not office.card_payments
    assert office.pay_later_instructions == "IBAN CH00 0000"

    response = client.post(settings_url, {**base, "hold_minutes": "500", "contact_email": "nope"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "hold_minutes" in errors and "contact_email" in errors
    office.refresh_from_db()
    assert office.hold_minutes == 20 and office.contact_email == "box@jorat.example.test"


def test_the_currency_stays_once_tickets_are_ordered(login, shop_world):
    org, office = shop_world["org"], shop_world["office"]
    basket, _key = services.basket_create(
        office=office, items=[{"tariff": shop_world["free"].pk, "quantity": 1}]
    )
    services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="free")
    response = login(shop_world["legal"]).post(
        url("office-settings", org, office),
        {"name": office.name, "slug": office.slug, "currency": "EUR", "hold_minutes": "15",
         "pay_later_days": "7"},
    )  # fmt: skip
    assert response.context["form"].errors == {
        "currency": ["The currency cannot change once tickets have been ordered."]
    }
    office.refresh_from_db()
    assert office.currency == "CHF"


# --- deleting ----------------------------------------------------------------------------------


def test_deleting_asks_for_the_name_and_refuses_an_office_with_orders_to_come(login, shop_world):
    org, office = shop_world["org"], shop_world["office"]
    client = login(shop_world["legal"])
    basket, _key = services.basket_create(
        office=office, items=[{"tariff": shop_world["free"].pk, "quantity": 1}]
    )
    order = services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="free")

    html = page(client.get(url("office-delete", org, office)))
    assert "To confirm, type <strong>Théâtre du Jorat</strong>" in html
    response = client.post(url("office-delete", org, office), {"confirm_name": "Jorat"})
    assert response.context["form"].errors == {
        "confirm_name": ["Type the name of the office to confirm."]
    }
    response = client.post(url("office-delete", org, office), {"confirm_name": "Théâtre du Jorat"})
    assert "This office has orders for dates to come: cancel them first." in page(response)
    assert TicketOffice.objects.filter(pk=office.pk).exists()

    services.order_cancel(access=shop_world["access"], order=order)
    response = client.post(
        url("office-delete", org, office), {"confirm_name": "Théâtre du Jorat"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url("office-list", org)
    assert "The ticket office Théâtre du Jorat was deleted." in page(response)
    assert not TicketOffice.objects.filter(pk=office.pk).exists()


# --- who may do what ---------------------------------------------------------------------------


def test_managers_change_settings_but_only_administrators_delete(login, shop_world, people):
    org, office = shop_world["org"], shop_world["office"]
    client = login(people["manage"])
    html = page(client.get(url("office-detail", org, office)))
    assert "Create an event" in html and "Delete…" not in html
    response = client.post(
        url("office-settings", org, office),
        {"name": "Renamed", "slug": office.slug, "currency": "CHF", "hold_minutes": "15",
         "pay_later_days": "7"},
    )  # fmt: skip
    assert response.status_code == 302
    office.refresh_from_db()
    assert office.name == "Renamed"
    assert client.get(url("office-delete", org, office)).status_code == 403
    assert (
        client.post(url("office-delete", org, office), {"confirm_name": "Renamed"}).status_code
        == 403
    )


def test_viewers_see_the_office_without_controls_and_get_403_on_post(login, shop_world, people):
    org, office = shop_world["org"], shop_world["office"]
    client = login(people["view"])
    html = page(client.get(url("office-list", org)))
    assert "Théâtre du Jorat" in html
    html = page(client.get(url("office-detail", org, office)))
    assert "Le Misanthrope" in html
    for control in ("Create an event", "Delete…", "Change the settings"):
        assert control not in html
    html = page(client.get(url("office-settings", org, office)))
    assert '<form method="post" class="form card' not in html and "/shop/jorat/" in html
    response = client.post(url("office-settings", org, office), {"name": "Hacked"})
    assert response.status_code == 403
    assert client.post(url("office-delete", org, office), {"confirm_name": "x"}).status_code == 403
    office.refresh_from_db()
    assert office.name == "Théâtre du Jorat"


def test_people_who_do_not_see_the_office_get_404(login, shop_world, people):
    org, office = shop_world["org"], shop_world["office"]
    pages = [
        url(name, org, office) for name in ("office-detail", "office-settings", "office-delete")
    ]
    client = login(people["stranger"])
    assert "Théâtre du Jorat" not in page(client.get(url("office-list", org)))
    assert "Nothing has been shared with you" in page(client.get(url("office-list", org)))
    for target in pages:
        assert client.get(target).status_code == 404, target
    assert client.post(url("office-settings", org, office), {"name": "x"}).status_code == 404
    client = login(people["outsider"])
    for target in pages:
        assert client.get(target).status_code == 404, target
    other = people["other_org"]
    assert client.get(url("office-detail", other, office)).status_code == 404


# --- bounded queries ---------------------------------------------------------------------------


def _count(client, target) -> int:
    client.get(target)  # the first visit also remembers the organisation in the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(target).status_code == 200
    return len(queries)


def test_the_office_list_and_page_run_a_bounded_number_of_queries(login, db):
    legal = f.UserFactory()
    org = f.OrganisationFactory(legal_representative=legal)
    access = access_for(legal, org)
    client = login(legal)

    def grow(n):
        for i in range(n):
            office = services.office_create(access=access, name=f"Hall {n}-{i}", slug=f"h-{n}-{i}")
            for j in range(3):
                event = services.event_create(access=access, office=office, title=f"E{j}")
                services.date_create(
                    access=access,
                    event=event,
                    starts_at=timezone.now() + datetime.timedelta(days=j + 1),
                )
        return office

    small = grow(1)
    at_small = (
        _count(client, url("office-list", org)),
        _count(client, url("office-detail", org, small)),
    )
    large = grow(12)
    at_large = (
        _count(client, url("office-list", org)),
        _count(client, url("office-detail", org, large)),
    )
    assert at_small == at_large, (at_small, at_large)


def test_deleting_an_office_removes_the_grants_on_it(shop_world, people):
    from panel.models import Grant
    from ticketing import services

    office = shop_world["office"]
    assert Grant.objects.filter(product_type="ticketing", product_id=office.pk).count() == 2
    services.office_delete(access=shop_world["access"], office=office, confirm_name=office.name)
    assert not Grant.objects.filter(product_type="ticketing", product_id=office.pk).exists()
