"""The event pages of the Manager as an organiser meets them: an event built with two dates,
zones and tariffs with a linked form; the calendar of its dates; the live numbers of a
date after a basket holds seats; what viewers and other organisations get; and a bounded
number of queries whatever the number of dates and zones."""

import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from panel.access import access_for
from panel.models import Role
from tests import factories as f
from ticketing import services
from ticketing.models import Event, EventDate, EventStatus, Tariff, Zone


def url(name, *args):
    return reverse(f"ticketing:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


def local(moment) -> str:
    """A moment as a datetime-local input sends it, in the panel's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def png() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (40, 30), "#2f5be0").save(data, "PNG")
    data.seek(0)
    data.name = "poster.png"
    return data


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def organiser(db):
    legal = f.UserFactory(email="organiser@example.test")
    org = f.OrganisationFactory(name="Théâtre", legal_representative=legal)
    access = access_for(legal, org)
    office = services.office_create(access=access, name="Jorat", slug="jorat-views")
    form = services.form_create(access=access, office=office, name="Attendee")
    return {"legal": legal, "org": org, "access": access, "office": office, "form": form}


def add_world_people(world):
    """A viewer (team with `view` on the office), a member without grant, an outsider."""
    org = world["org"]
    viewer = f.MembershipFactory(organisation=org, role=Role.USER, user__email="v@x.test").user
    team = f.TeamFactory(organisation=org, name="Box office")
    f.TeamMemberFactory(team=team, user=viewer)
    f.GrantFactory(team=team, product_type="ticketing", product_id=world["office"].pk, level="view")
    stranger = f.MembershipFactory(organisation=org, role=Role.USER, user__email="s@x.test").user
    outsider = f.UserFactory(email="outsider@x.test")
    f.OrganisationFactory(name="Elsewhere", legal_representative=outsider)
    return {"viewer": viewer, "stranger": stranger, "outsider": outsider}


# --- building an event -------------------------------------------------------------------------


def test_the_editor_builds_an_event_with_two_dates_zones_and_tariffs(login, organiser):
    client = login(organiser["legal"])
    org, office, form = organiser["org"], organiser["office"], organiser["form"]

    response = client.post(
        url("event-create", org, office),
        {"title": "Le Misanthrope", "venue": "Mézières", "description": "Molière", "image": png()},
        follow=True,
    )
    event = Event.objects.get(office=office)
    assert response.redirect_chain[-1][0].startswith(url("event-detail", org, event))
    assert event.status == EventStatus.DRAFT and event.image.name.endswith(".png")
    assert "Event created, as a draft" in page(response) and "No date yet" in page(response)
    assert client.get(url("event-image", org, event))["Content-Type"] == "image/png"

    first = timezone.now().replace(second=0, microsecond=0) + datetime.timedelta(days=40)
    second = first + datetime.timedelta(days=1)
    for starts in (first, second):
        response = client.post(
            url("date-create", org, event),
            {
                "date-starts_at": local(starts),
                "date-doors_at": local(starts - datetime.timedelta(hours=1)),
            },
        )
        assert response.status_code == 302
    dates = list(event.dates.order_by("starts_at"))
    assert [d.starts_at for d in dates] == [first, second]
    assert dates[0].doors_at == first - datetime.timedelta(hours=1)

    for date in dates:
        response = client.post(
            url("zone-create", org, date), {"zone-name": "Stalls", "zone-capacity": "100"}
        )
        assert response.status_code == 302
        zone = date.zones.get()
        response = client.get(url("tariff-create", org, zone))
        assert "Link a form to this tariff" in page(response)
        assert '<details class="tk-advanced"' in page(response)  # folded away
        response = client.post(
            url("tariff-create", org, zone),
            {"name": "Full price", "price": "45.00", "min_per_order": "1", "max_per_order": "6",
             "public": "on", "link_form": "on", "linked_form": str(form.pk), "cap": "80"},
        )  # fmt: skip
        assert response.status_code == 302
    tariffs = Tariff.objects.filter(zone__date__event=event)
    assert [(t.price, t.form_id, t.cap, t.max_per_order) for t in tariffs] == [
        (Decimal("45.00"), form.pk, 80, 6)
    ] * 2

    response = client.get(url("date-detail", org, dates[0]))
    assert "form: Attendee" in page(response) and "Full price" in page(response)

    response = client.post(url("event-status", org, event), {"status": "on_sale"}, follow=True)
    assert "The event is on sale." in page(response)
    event.refresh_from_db()
    assert event.status == EventStatus.ON_SALE


def test_the_calendar_shows_every_date_each_leading_to_its_page(login, organiser):
    access, org = organiser["access"], organiser["org"]
    event = services.event_create(access=access, office=organiser["office"], title="Tour")
    tz = timezone.get_current_timezone()
    one = services.date_create(
        access=access, event=event, starts_at=datetime.datetime(2031, 3, 7, 20, 0, tzinfo=tz)
    )
    two = services.date_create(
        access=access, event=event, starts_at=datetime.datetime(2031, 3, 21, 18, 30, tzinfo=tz)
    )
    later = services.date_create(
        access=access, event=event, starts_at=datetime.datetime(2031, 5, 2, 20, 0, tzinfo=tz)
    )
    client = login(organiser["legal"])

    html = page(client.get(url("event-detail", org, event)))  # the month of the next date
    assert 'data-testid="calendar"' in html and "March 2031" in html
    assert url("date-detail", org, one) in html and url("date-detail", org, two) in html
    assert ">20:00<" in html and ">18:30<" in html
    assert url("date-detail", org, later) in html  # in the list of all dates
    assert "?month=2031-02" in html and "?month=2031-04" in html

    html = page(client.get(url("event-detail", org, event) + "?month=2031-04"))
    assert "April 2031" in html and "No date this month." in html
    html = page(client.get(url("event-detail", org, event) + "?month=2031-05"))
    assert f'data-date="{later.pk}"' in html and f'data-date="{one.pk}"' not in html
    assert client.get(url("event-detail", org, event) + "?month=nonsense").status_code == 200


def test_with_one_date_the_event_page_shows_its_zones_and_tariffs(login, shop_world):
    html = page(
        login(shop_world["legal"]).get(url("event-detail", shop_world["org"], shop_world["event"]))
    )
    assert 'data-testid="calendar"' not in html
    assert 'data-testid="pricing"' in html and "Balcony" in html and "Invitation" in html
    assert url("tariff-create", shop_world["org"], shop_world["stalls"]) in html


def test_putting_on_sale_without_a_tariff_is_refused_clearly(login, organiser):
    access, org = organiser["access"], organiser["org"]
    event = services.event_create(access=access, office=organiser["office"], title="Empty")
    client = login(organiser["legal"])
    response = client.post(url("event-status", org, event), {"status": "on_sale"}, follow=True)
    assert "Add a date with a zone and a tariff before putting it on sale." in page(response)
    event.refresh_from_db()
    assert event.status == EventStatus.DRAFT


def test_bad_input_is_shown_under_the_fields_and_changes_nothing(login, shop_world):
    client = login(shop_world["legal"])
    org, stalls, event = shop_world["org"], shop_world["stalls"], shop_world["event"]
    starts = timezone.now() + datetime.timedelta(days=3)
    response = client.post(
        url("date-create", org, event),
        {
            "date-starts_at": local(starts),
            "date-ends_at": local(starts - datetime.timedelta(hours=2)),
        },
    )
    assert response.status_code == 200
    assert "The end comes after the start." in page(response)
    assert event.dates.count() == 1

    response = client.post(
        url("tariff-create", org, stalls),
        {"name": "Group", "price": "30", "min_per_order": "8", "max_per_order": "4",
         "link_form": "on"},
    )  # fmt: skip
    html = page(response)
    assert "The maximum is at least the minimum." in html or "Choose the form to link" in html
    assert '<details class="tk-advanced" open' in html  # the fold opens on its errors
    assert not stalls.tariffs.filter(name="Group").exists()

    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 15}]
    )
    response = client.post(
        url("zone-edit", org, shop_world["balcony"]), {"name": "Balcony", "capacity": "10"}
    )
    assert "15 seats are already taken or held" in page(response)
    assert Zone.objects.get(pk=shop_world["balcony"].pk).capacity == 20


# --- live numbers ------------------------------------------------------------------------------


def test_the_live_view_follows_a_basket_hold_and_a_sale(login, shop_world):
    client = login(shop_world["legal"])
    org, date = shop_world["org"], shop_world["date"]
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["student"].pk, "quantity": 3}]
    )
    basket, _key = services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 2}]
    )
    services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="free")

    data = client.get(url("date-availability", org, date)).json()
    assert (data["capacity"], data["held"], data["sold"], data["available"]) == (120, 3, 2, 115)
    zones = {zone["id"]: zone for zone in data["zones"]}
    stalls, balcony = zones[shop_world["stalls"].pk], zones[shop_world["balcony"].pk]
    assert (stalls["held"], stalls["sold"], stalls["available"]) == (3, 0, 97)
    assert (balcony["held"], balcony["sold"], balcony["available"]) == (0, 2, 18)
    assert balcony["shares"] == {"sold": 10.0, "held": 0.0, "left": 90.0}
    student = next(t for t in stalls["tariffs"] if t["id"] == shop_world["student"].pk)
    assert (student["held"], student["sold"], student["available"], student["cap"]) == (3, 0, 7, 10)

    html = page(client.get(url("date-detail", org, date)))  # the same numbers without JS
    assert f'data-live-url="{url("date-availability", org, date)}"' in html
    assert '<dd data-n="available">115</dd>' in html
    assert 'data-share="sold" style="width: 10.0%"' in html
    assert "live.js" in html


# --- cancelling and deleting -------------------------------------------------------------------


def test_cancelling_a_date_warns_then_cancels_its_orders(login, shop_world):
    client = login(shop_world["legal"])
    org, date = shop_world["org"], shop_world["date"]
    basket, _key = services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 1}]
    )
    order = services.checkout(basket=basket, name="Ada", email="ada@example.test", payment="free")

    response = client.post(url("date-delete", org, date), follow=True)
    assert "This date has tickets" in page(response)
    assert EventDate.objects.filter(pk=date.pk).exists()

    html = page(client.get(url("date-cancel", org, date)))
    assert (
        "All its orders are cancelled (1 order today)" in html and "every buyer is emailed" in html
    )
    response = client.post(url("date-cancel", org, date), follow=True)
    assert "1 order is cancelled" in page(response)
    order.refresh_from_db()
    date.refresh_from_db()
    assert order.status == "cancelled" and date.cancelled_at is not None
    assert 'data-testid="date-cancelled"' in page(response)


def test_a_tariff_and_a_zone_without_tickets_are_deleted(login, shop_world):
    client = login(shop_world["legal"])
    org = shop_world["org"]
    response = client.post(url("tariff-delete", org, shop_world["student"]), follow=True)
    assert "Tariff deleted." in page(response)
    assert not Tariff.objects.filter(pk=shop_world["student"].pk).exists()
    response = client.get(url("zone-delete", org, shop_world["balcony"]))
    assert "Delete the zone Balcony?" in page(response)


# --- who may do what ---------------------------------------------------------------------------


def test_viewers_see_no_write_controls_and_get_403_on_post(login, shop_world):
    people = add_world_people(shop_world)
    client = login(people["viewer"])
    org, event, date, stalls = (shop_world[k] for k in ("org", "event", "date", "stalls"))

    html = page(client.get(url("event-detail", org, event)))
    assert "Le Misanthrope" in html
    for control in (
        "Add a date",
        "Close sales",
        "Add a zone",
        "Add a tariff",
        "Delete…",
        'type="file"',
    ):
        assert control not in html
    html = page(client.get(url("date-detail", org, date)))
    assert "Stalls" in html and 'data-testid="live"' in html
    for control in ("Add a zone", "Add a tariff", "Cancel the date", "Times of the date"):
        assert control not in html
    assert client.get(url("date-availability", org, date)).status_code == 200

    posts = [
        (url("event-detail", org, event), {"title": "Hacked"}),
        (url("event-status", org, event), {"status": "sales_closed"}),
        (url("event-cancel", org, event), {}),
        (url("date-create", org, event), {"date-starts_at": "2031-01-01T20:00"}),
        (url("date-detail", org, date), {"date-starts_at": "2031-01-01T20:00"}),
        (url("date-cancel", org, date), {}),
        (url("zone-create", org, date), {"zone-name": "Pit", "zone-capacity": "5"}),
        (url("zone-edit", org, stalls), {"name": "Pit", "capacity": "5"}),
        (url("tariff-create", org, stalls), {"name": "X", "price": "1", "min_per_order": "1",
                                            "max_per_order": "2"}),
        (url("tariff-delete", org, shop_world["student"]), {}),
    ]  # fmt: skip
    for target, data in posts:
        assert client.post(target, data).status_code == 403, target
    assert client.get(url("tariff-create", org, stalls)).status_code == 403
    event.refresh_from_db()
    assert (event.title, event.status) == ("Le Misanthrope", EventStatus.ON_SALE)
    assert stalls.tariffs.count() == 2 and event.dates.count() == 1


def test_other_organisations_and_members_without_a_grant_get_404(login, shop_world):
    people = add_world_people(shop_world)
    org = shop_world["org"]
    pages = [
        url("event-create", org, shop_world["office"]),
        url("event-detail", org, shop_world["event"]),
        url("event-image", org, shop_world["event"]),
        url("date-detail", org, shop_world["date"]),
        url("date-availability", org, shop_world["date"]),
        url("date-cancel", org, shop_world["date"]),
        url("zone-edit", org, shop_world["stalls"]),
        url("tariff-edit", org, shop_world["full"]),
    ]
    for person in ("stranger", "outsider"):
        client = login(people[person])
        for target in pages:
            assert client.get(target).status_code == 404, (person, target)
        assert (
            client.post(
                url("event-status", org, shop_world["event"]), {"status": "draft"}
            ).status_code
            == 404
        )

    # The organiser of another organisation, through their own organisation's URL.
    other = people["outsider"].memberships.get().organisation
    client = login(people["outsider"])
    assert client.get(url("event-detail", other, shop_world["event"])).status_code == 404
    assert client.get(url("date-availability", other, shop_world["date"])).status_code == 404


# --- bounded queries ---------------------------------------------------------------------------


def _count(client, target) -> int:
    client.get(target)  # the first visit also remembers the organisation in the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(target).status_code == 200
    return len(queries)


def _grow(access, event, n_dates, n_zones):
    starts = timezone.now() + datetime.timedelta(days=60)
    for i in range(n_dates):
        date = services.date_create(
            access=access, event=event, starts_at=starts + datetime.timedelta(days=i)
        )
        for j in range(n_zones):
            zone = services.zone_create(access=access, date=date, name=f"Z{j}", capacity=10)
            services.tariff_create(access=access, zone=zone, name="T", price="5")
            services.tariff_create(access=access, zone=zone, name="U", price="0", cap=3)
    return date


def test_the_event_and_date_pages_run_a_bounded_number_of_queries(login, organiser):
    access, org = organiser["access"], organiser["org"]
    client = login(organiser["legal"])
    small = services.event_create(access=access, office=organiser["office"], title="Small")
    big = services.event_create(access=access, office=organiser["office"], title="Big")
    small_date = _grow(access, small, 2, 1)
    big_date = _grow(access, big, 8, 4)

    assert _count(client, url("event-detail", org, big)) == _count(
        client, url("event-detail", org, small)
    )
    assert _count(client, url("date-detail", org, big_date)) == _count(
        client, url("date-detail", org, small_date)
    )
    assert _count(client, url("date-availability", org, big_date)) == _count(
        client, url("date-availability", org, small_date)
    )
