"""The guest manager: lists from CSV files checked whole, the guest's answer from their
personal link, and guest tickets counted in the zone's capacity like sold seats."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from panel.csv_files import CsvInvalid
from panel.errors import Conflict, InvalidInput
from panel.models import Job, JobStatus
from ticketing import secrets, selectors, services
from ticketing.models import EventDate, Guest, GuestStatus, Ticket
from ticketing.services.sales import SoldOut, counted
from ticketing.tasks import guests_import

API = "/api/v1/organisations/{org}/ticketing/"


def _balcony(world):
    """The balcony (20 seats) as the shop counts it."""
    [date] = selectors.dates_with_availability(EventDate.objects.filter(pk=world["date"].pk))
    return next(zone for zone in date.zones.all() if zone.pk == world["balcony"].pk)


def _guest(world, email="guest@example.test", places=4, tariff=None):
    return services.guest_create(
        access=world["access"], event=world["event"], name="Grace Hopper", email=email,
        tariff=(tariff or world["free"]).pk, places=places,
    )  # fmt: skip


def _problems(error):
    return [(p.line, p.column, p.code) for p in error.errors]


# -- CSV files --------------------------------------------------------------------------------


GOOD_AND_BAD = (
    "name,email,company,places,tariff,Table\n"
    "Ada Lovelace,ada@example.test,Analytical,2,Invitation,T1\n"
    "Bad Email,not-an-email,,1,Invitation,\n"
    "Too Many,many@example.test,,40,Invitation,\n"
    "No Tariff,nt@example.test,,1,Gallery,\n"
    "Ada Again,ADA@example.test,,1,Invitation,\n"
    "\n"
    ",blank@example.test,,1,{full},\n"
    "Taken,taken@example.test,,1,Invitation,\n"
)


def test_a_csv_file_with_bad_lines_names_every_problem_and_creates_nothing(shop_world):
    _guest(shop_world, email="taken@example.test")
    text = GOOD_AND_BAD.format(full=shop_world["full"].pk)
    with pytest.raises(CsvInvalid) as raised:
        services.guests_import_csv(
            access=shop_world["access"], event=shop_world["event"], text=text
        )
    assert raised.value.code == "csv_invalid"
    assert _problems(raised.value) == [
        (3, "B", "invalid_email"),
        (4, "D", "invalid_places"),
        (5, "E", "invalid_tariff"),
        (6, "B", "duplicate_in_file"),
        (8, "A", "invalid_name"),
        (9, "B", "already_exists"),
    ]
    details = {p.line: p.detail for p in raised.value.errors}
    assert "line 2" in details[6]
    assert Guest.objects.filter(event=shop_world["event"]).count() == 1


def test_a_csv_file_without_its_required_columns_is_refused_whole(shop_world):
    with pytest.raises(CsvInvalid) as raised:
        services.guests_import_csv(
            access=shop_world["access"], event=shop_world["event"], text="name;company\nA;B\n"
        )
    assert {(p.line, p.code, p.detail) for p in raised.value.errors} == {
        (1, "missing_column", "The header has no email column."),
        (1, "missing_column", "The header has no tariff column."),
    }


def test_a_right_file_adds_every_guest_with_its_custom_columns(shop_world):
    text = (
        "\ufeffName;Email;Tariff;Places;Table;Diet\r\n"
        "Ada Lovelace;ada@example.test;invitation;2;T1;vegan\r\n"
        f"Alan Turing;alan@example.test;{shop_world['full'].pk};;;\r\n"
    )
    guests = services.guests_import_csv(
        access=shop_world["access"], event=shop_world["event"], text=text
    )
    assert len(guests) == 2
    ada, alan = Guest.objects.filter(event=shop_world["event"]).order_by("name")
    assert (ada.places, ada.tariff, ada.extra) == (
        2,
        shop_world["free"],
        {"Table": "T1", "Diet": "vegan"},
    )
    assert (alan.places, alan.tariff, alan.extra, alan.status) == (
        1,
        shop_world["full"],
        {},
        "invited",
    )


def test_the_api_answers_csv_invalid_with_every_line_and_creates_nothing(shop_world, client_for):
    _guest(shop_world, email="taken@example.test")
    client = client_for(shop_world["legal"])
    text = GOOD_AND_BAD.format(full=shop_world["full"].pk)
    answer = client.post(
        API.format(org=shop_world["org"].pk) + f"events/{shop_world['event'].pk}/guests/imports/",
        {"file": SimpleUploadedFile("guests.csv", text.encode(), content_type="text/csv")},
        format="multipart",
    )
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["code"] == "csv_invalid"
    assert [(e["line"], e["column"], e["code"]) for e in body["errors"]][0] == (
        3,
        "B",
        "invalid_email",
    )
    assert len(body["errors"]) == 6
    assert set(body["errors"][0]) == {"line", "column", "code", "detail"}
    assert Guest.objects.count() == 1
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_api_starts_a_job_that_adds_the_guests(shop_world, client_for):
    client = client_for(shop_world["legal"])
    text = "name,email,tariff\nAda,ada@example.test,Invitation\nAlan,alan@example.test,Invitation\n"
    answer = client.post(
        API.format(org=shop_world["org"].pk) + f"events/{shop_world['event'].pk}/guests/imports/",
        {"file": SimpleUploadedFile("guests.csv", text.encode(), content_type="text/csv")},
        format="multipart",
    )
    assert answer.status_code == 202, answer.content
    job = Job.objects.get(pk=answer.json()["job"]["id"])
    guests_import(job.pk)  # what the worker runs (a second delivery changes nothing)
    guests_import(job.pk)
    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"created": 2})
    assert sorted(Guest.objects.values_list("email", flat=True)) == [
        "ada@example.test", "alan@example.test",
    ]  # fmt: skip
    assert "ada@example.test" not in str(answer.json())


# -- one by one -------------------------------------------------------------------------------


def test_a_guest_twice_on_one_event_is_refused_by_field(shop_world):
    _guest(shop_world)
    with pytest.raises(InvalidInput) as raised:
        _guest(shop_world, email="GUEST@example.test", places=30)
    assert set(raised.value.fields) == {"email", "places"}


def test_the_api_creates_a_guest_with_a_link_that_opens_their_page(shop_world, client_for):
    client = client_for(shop_world["legal"])
    url = API.format(org=shop_world["org"].pk) + f"events/{shop_world['event'].pk}/guests/"
    answer = client.post(
        url, {"name": "Ada", "email": "ada@example.test", "tariff": shop_world["free"].pk,
              "places": 3, "extra": {"Table": "T4"}}, format="json",
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["places"], body["status"], body["extra"]) == (3, "invited", {"Table": "T4"})
    page = client.get(body["link"])
    assert page.status_code == 200
    assert "Le Misanthrope" in page.content.decode()
    listed = client.get(url + "?status=invited").json()
    assert [g["email"] for g in listed["results"]] == ["ada@example.test"]
    assert "link" not in listed["results"][0]
    detail = API.format(org=shop_world["org"].pk) + f"guests/{body['id']}/"
    assert client.patch(detail, {"places": 5}, format="json").json()["places"] == 5
    assert client.delete(detail).status_code == 204
    assert not Guest.objects.exists()


# -- answers ----------------------------------------------------------------------------------


def test_accepting_issues_free_tickets_counted_in_the_zone(shop_world):
    guest = _guest(shop_world, places=4)
    before = _balcony(shop_world).available
    services.guest_answer(guest=guest, accept=True, places=3)
    guest.refresh_from_db()
    assert (guest.status, guest.places_accepted) == (GuestStatus.ACCEPTED, 3)
    tickets = Ticket.objects.filter(guest=guest, cancelled=False)
    assert tickets.count() == 3
    assert {(t.price, t.order_id, t.expires_at, t.holder_name) for t in tickets} == {
        (0, None, None, "Grace Hopper")
    }
    assert _balcony(shop_world).available == before - 3
    # The same answer again changes nothing.
    answered_at = guest.answered_at
    services.guest_answer(guest=guest, accept=True, places=3)
    guest.refresh_from_db()
    assert guest.answered_at == answered_at
    assert Ticket.objects.filter(guest=guest).count() == 3


def test_declining_or_taking_fewer_frees_the_seats(shop_world):
    guest = _guest(shop_world, places=4)
    services.guest_answer(guest=guest, accept=True, places=4)
    services.guest_answer(guest=guest, accept=True, places=1)
    assert _balcony(shop_world).available == 19
    services.guest_answer(guest=guest, accept=False)
    guest.refresh_from_db()
    assert (guest.status, guest.places_accepted) == (GuestStatus.DECLINED, 0)
    assert _balcony(shop_world).available == 20
    assert not Ticket.objects.filter(counted(), guest=guest).exists()


def test_accepting_more_than_is_left_is_refused_clearly(shop_world):
    key = services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 18}]
    )
    assert key
    guest = _guest(shop_world, places=4)
    with pytest.raises(SoldOut) as raised:
        services.guest_answer(guest=guest, accept=True, places=3)
    assert raised.value.status == 409
    assert raised.value.extra == {"available": [{"tariff": shop_world["free"].pk, "available": 2}]}
    assert "Only 2 places are left." in str(raised.value.detail)
    guest.refresh_from_db()
    assert (guest.status, Ticket.objects.filter(guest=guest).count()) == ("invited", 0)
    services.guest_answer(guest=guest, accept=True, places=2)
    assert _balcony(shop_world).available == 0


def test_accepting_more_than_offered_is_refused(shop_world):
    guest = _guest(shop_world, places=2)
    with pytest.raises(InvalidInput) as raised:
        services.guest_answer(guest=guest, accept=True, places=3)
    assert list(raised.value.fields) == ["places"]


def test_cancelling_the_date_cancels_the_guest_tickets(shop_world):
    guest = _guest(shop_world)
    services.guest_answer(guest=guest, accept=True, places=2)
    services.date_cancel(access=shop_world["access"], date=shop_world["date"])
    assert not Ticket.objects.filter(counted(), guest=guest).exists()


# -- the guest's page -------------------------------------------------------------------------


def test_the_guest_page_needs_the_right_key(shop_world, client):
    guest = _guest(shop_world)
    slug = shop_world["office"].slug
    assert client.get(reverse("shop:guest", args=[slug, "wrong-key"])).status_code == 404
    assert (
        client.post(
            reverse("shop:guest", args=[slug, "wrong-key"]), {"answer": "accept"}
        ).status_code
        == 404
    )
    # Another office's shop with the right key is no way in either.
    other = services.office_create(access=shop_world["access"], name="Other", slug="other")
    assert client.get(reverse("shop:guest", args=[other.slug, guest.link_key])).status_code == 404
    guest.refresh_from_db()
    assert guest.opened_at is None


def test_the_guest_page_shows_the_invitation_and_takes_the_answer(shop_world, client):
    guest = _guest(shop_world, places=3)
    url = reverse("shop:guest", args=[shop_world["office"].slug, guest.link_key])
    page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert "Le Misanthrope" in text and "Balcony" in text
    assert 'value="3"' in text
    guest.refresh_from_db()
    assert guest.opened_at is not None
    answered = client.post(url, {"answer": "accept", "places": "2"}, follow=True)
    assert "your places are booked" in answered.content.decode()
    assert Ticket.objects.filter(counted(), guest=guest).count() == 2
    client.post(url, {"answer": "decline"})
    guest.refresh_from_db()
    assert guest.status == "declined"
    assert not Ticket.objects.filter(counted(), guest=guest).exists()


def test_the_guest_page_says_when_the_zone_is_full(shop_world, client):
    services.basket_create(
        office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 19}]
    )
    guest = _guest(shop_world, places=3)
    url = reverse("shop:guest", args=[shop_world["office"].slug, guest.link_key])
    page = client.post(url, {"answer": "accept", "places": "3"})
    assert page.status_code == 200
    assert "Only 1 place is left." in page.content.decode()
    assert not Ticket.objects.filter(guest=guest).exists()


def test_the_shop_counts_the_seats_guests_accepted(shop_world):
    guest = _guest(shop_world, places=20, email="vip@example.test")
    services.guest_answer(guest=guest, accept=True, places=20)
    with pytest.raises(SoldOut):
        services.basket_create(
            office=shop_world["office"], items=[{"tariff": shop_world["free"].pk, "quantity": 1}]
        )
    # Deleting the guest gives their seats back at once.
    services.guest_delete(access=shop_world["access"], guest=guest)
    assert _balcony(shop_world).available == 20


def test_a_guest_keeps_what_they_accepted_until_they_answer_again(shop_world):
    guest = _guest(shop_world, places=4)
    services.guest_answer(guest=guest, accept=True, places=3)
    with pytest.raises(InvalidInput) as raised:
        services.guest_update(
            access=shop_world["access"], guest=guest, places=2, tariff=shop_world["full"].pk
        )
    assert set(raised.value.fields) == {"places", "tariff"}
    guest.refresh_from_db()
    assert (guest.places, guest.tariff) == (4, shop_world["free"])


def test_answers_are_closed_once_the_date_is_cancelled(shop_world):
    guest = _guest(shop_world)
    services.date_cancel(access=shop_world["access"], date=shop_world["date"])
    with pytest.raises(Conflict) as raised:
        services.guest_answer(guest=guest, accept=True, places=1)
    assert raised.value.code == "event_cancelled"


def test_a_tariff_zone_or_date_with_guests_is_not_deleted_under_them(shop_world):
    _guest(shop_world)  # invited to the balcony's free tariff, not answered
    access = shop_world["access"]
    for delete in (
        lambda: services.tariff_delete(access=access, tariff=shop_world["free"]),
        lambda: services.zone_delete(access=access, zone=shop_world["balcony"]),
        lambda: services.date_delete(access=access, date=shop_world["date"]),
    ):
        with pytest.raises(Conflict) as raised:
            delete()
        assert raised.value.code == "has_guests"
    assert Guest.objects.count() == 1
    # The event goes with its guest list.
    draft = services.event_update(access=access, event=shop_world["event"], status="draft")
    services.event_delete(access=access, event=draft)
    assert not Guest.objects.exists()


def test_the_guest_list_reads_in_the_same_queries_for_any_size(shop_world, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(shop_world["legal"])
    url = API.format(org=shop_world["org"].pk) + f"events/{shop_world['event'].pk}/guests/"
    _guest(shop_world, email="g0@example.test")
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).json()["count"] == 1
    for n in range(1, 15):
        _guest(shop_world, email=f"g{n}@example.test")
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).json()["count"] == 15
    assert len(many) == len(one)


def test_a_guest_ticket_gets_in_once_and_is_in_the_scanners_offline_data(shop_world):
    """Invitation tickets have no order: the door still admits them, once."""
    guest = _guest(shop_world, places=1)
    services.guest_answer(guest=guest, accept=True, places=1)
    [ticket] = guest.tickets.filter(cancelled=False)
    door = services.checkin_list_create(
        access=shop_world["access"], event=shop_world["event"], name="Main door"
    )
    secret = secrets.ticket_secret(ticket.nonce)
    data = services.checkin.offline_data(checkin_list=door)
    assert [t["name"] for t in data["tickets"]] == [guest.name]
    assert data["tickets"][0]["hash"] == ticket.secret_hash
    first = services.scan(checkin_list=door, secret=secret, scan_id="guest-1")
    again = services.scan(checkin_list=door, secret=secret, scan_id="guest-2")
    assert (first.result, again.result) == ("valid", "already_used")
