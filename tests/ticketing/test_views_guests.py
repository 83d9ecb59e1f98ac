"""An event's guest list in the Manager: the list with each guest's state, its counts,
filters and search; adding a guest shows their personal link once; removing one frees
their seats; a CSV file with errors lists every line and adds nobody, a good one starts
the Job; what viewers and other organisations get; bounded queries."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from panel.models import Job, JobStatus, Role
from tests import factories as f
from ticketing import secrets, selectors, services
from ticketing.models import EventDate, Guest, Ticket
from ticketing.services.guests import guests_import_check
from ticketing.tasks import guests_import


def url(name, *args):
    return reverse(f"ticketing:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


def listed(response) -> list[str]:
    return [guest.email for guest in response.context["page"]]


def counts(response) -> dict:
    return {entry["state"]: entry["count"] for entry in response.context["counts"]}


def balcony_left(world) -> int:
    """The seats the shop still sells on the balcony, the guests' zone."""
    [date] = selectors.dates_with_availability(EventDate.objects.filter(pk=world["date"].pk))
    return next(z for z in date.zones.all() if z.pk == world["balcony"].pk).available


def invite(world, email, *, name=None, places=2, company=""):
    return services.guest_create(
        access=world["access"], event=world["event"], name=name or email.split("@")[0].title(),
        email=email, company=company, tariff=world["free"].pk, places=places,
    )  # fmt: skip


@pytest.fixture
def guests(shop_world):
    """One guest in each state: invited, opened, accepted, declined, checked in."""
    made = {
        state: invite(shop_world, f"{state}@example.test",
                      company="ACME" if state == "opened" else "")
        for state in ("invited", "opened", "accepted", "declined", "checked_in")
    }  # fmt: skip
    services.guest_opened(guest=made["opened"])
    services.guest_answer(guest=made["accepted"], accept=True, places=2)
    services.guest_answer(guest=made["declined"], accept=False)
    services.guest_answer(guest=made["checked_in"], accept=True, places=1)
    door = services.checkin_list_create(
        access=shop_world["access"], event=shop_world["event"], name="Main door"
    )
    ticket = made["checked_in"].tickets.get()
    result = services.scan(
        checkin_list=door, secret=secrets.ticket_secret(ticket.nonce), scan_id="s1"
    )
    assert result.result == "valid"
    return made


@pytest.fixture
def viewer(shop_world):
    org = shop_world["org"]
    user = f.MembershipFactory(organisation=org, role=Role.USER, user__email="v@x.test").user
    team = f.TeamFactory(organisation=org, name="Box office")
    f.TeamMemberFactory(team=team, user=user)
    f.GrantFactory(team=team, product_type="ticketing", product_id=shop_world["office"].pk,
                   level="view")  # fmt: skip
    return user


def test_the_list_shows_each_state_with_counts_filters_and_search(login, shop_world, guests):
    client = login(shop_world["legal"])
    target = url("guest-list", shop_world["org"], shop_world["event"])
    response = client.get(target)
    assert response.status_code == 200
    assert counts(response) == dict.fromkeys(guests, 1)
    html = page(response)
    for label in ("Invited", "Opened", "Accepted", "Declined", "Checked in"):
        assert label in html
    assert "2 / 2" in html and "0 / 2" in html and "ACME" in html

    for state, guest in guests.items():
        assert listed(client.get(target, {"status": state})) == [guest.email]
    assert listed(client.get(target, {"q": "DECLINED@"})) == ["declined@example.test"]
    assert listed(client.get(target, {"q": "Accepted"})) == ["accepted@example.test"]
    html = page(client.get(target, {"q": "nobody"}))
    assert "No guest matches" in html
    html = page(client.get(target, {"status": "bogus"}))
    assert "Correct the filters to see the guests" in html and 'data-testid="guests"' not in html


def test_adding_a_guest_shows_their_link_once(login, shop_world):
    client = login(shop_world["legal"])
    target = url("guest-list", shop_world["org"], shop_world["event"])
    answer = client.post(
        target,
        {"name": "Grace Hopper", "email": "grace@example.test", "company": "Navy",
         "places": 3, "tariff": shop_world["free"].pk},
    )  # fmt: skip
    assert answer.status_code == 302 and answer.url == target
    guest = Guest.objects.get(email="grace@example.test")
    assert (guest.name, guest.company, guest.places) == ("Grace Hopper", "Navy", 3)

    shown = client.get(target)
    link = shown.context["new_link"]["url"]
    assert link in page(shown) and 'data-copy="#new-guest-link"' in page(shown)
    key = link.rstrip("/").rsplit("/", 1)[1]
    assert secrets.basket_key_hash(key) == guest.token_hash
    assert "Le Misanthrope" in page(client.get(link))  # the guest's own page opens
    again = page(client.get(target))
    assert link not in again and "new-guest-link" not in again


def test_a_guest_form_with_mistakes_says_so_and_adds_nobody(login, shop_world):
    invite(shop_world, "taken@example.test")
    client = login(shop_world["legal"])
    answer = client.post(
        url("guest-list", shop_world["org"], shop_world["event"]),
        {"name": "Again", "email": "TAKEN@example.test", "places": 2,
         "tariff": shop_world["free"].pk},
    )  # fmt: skip
    assert answer.status_code == 200
    assert "This guest is already on the list." in page(answer)
    assert Guest.objects.count() == 1


def test_removing_a_guest_asks_first_and_frees_their_seats(login, shop_world, guests):
    client = login(shop_world["legal"])
    guest = guests["accepted"]
    target = url("guest-delete", shop_world["org"], guest)
    question = page(client.get(target))
    assert "Remove accepted@example.test" not in question  # by name, not email
    assert f"Remove {guest.name} from the guest list?" in question
    assert "Their 2 seats are free again" in question
    assert Guest.objects.filter(pk=guest.pk).exists()
    assert Ticket.objects.filter(guest=guest).count() == 2
    left = balcony_left(shop_world)
    answer = client.post(target)
    assert answer.url == url("guest-list", shop_world["org"], shop_world["event"])
    assert not Guest.objects.filter(pk=guest.pk).exists()
    assert not Ticket.objects.filter(guest_id=guest.pk).exists()
    assert balcony_left(shop_world) == left + 2
    assert listed(client.get(answer.url, {"status": "accepted"})) == []


BAD_FILE = (
    "name,email,company,places,tariff\n"
    "Ada Lovelace,ada@example.test,,2,Invitation\n"
    "Bad Email,not-an-email,,1,Invitation\n"
    "Too Many,many@example.test,,40,Invitation\n"
    "No Tariff,nt@example.test,,1,Gallery\n"
)


def upload(text, name="guests.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_a_csv_file_with_errors_lists_every_line_and_adds_nobody(login, shop_world):
    client = login(shop_world["legal"])
    target = url("guest-import", shop_world["org"], shop_world["event"])
    answer = client.post(target, {"file": upload(BAD_FILE)})
    assert answer.status_code == 200
    problems = [(p["line"], p["column"]) for p in answer.context["problems"]]
    assert problems == [(3, "B"), (4, "D"), (5, "E")]
    html = page(answer)
    assert "3 problems; nothing was created." in html
    for line in (3, 4, 5):
        assert f'data-line="{line}"' in html
    assert not Guest.objects.exists() and not Job.objects.exists()


def test_a_file_that_is_not_utf8_is_listed_as_a_problem(login, shop_world):
    client = login(shop_world["legal"])
    bad = SimpleUploadedFile(
        "g.csv", "name,email,tariff\nZoë,z@x.test,Invitation\n".encode("latin-1")
    )
    answer = client.post(url("guest-import", shop_world["org"], shop_world["event"]), {"file": bad})
    assert [p["line"] for p in answer.context["problems"]] == [2]
    assert not Guest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_good_csv_file_starts_the_job_whose_page_shows_its_progress(login, shop_world):
    client = login(shop_world["legal"])
    event = shop_world["event"]
    text = (
        "name,email,tariff,Table\n"
        "Ada,ada@example.test,Invitation,T1\n"
        "Alan,alan@example.test,Invitation,\n"
    )
    answer = client.post(url("guest-import", shop_world["org"], event), {"file": upload(text)})
    job = Job.objects.get()
    assert answer.status_code == 302
    assert answer.url == url("guest-import-job", shop_world["org"], event, job)
    html = page(client.get(answer.url))
    assert "2 guests from guests.csv." in html and "data-job-progress" in html
    assert (
        f'data-job-url="{reverse("panel:job-status", args=[shop_world["org"].pk, job.pk])}"' in html
    )
    guests_import(job.pk)  # what the worker runs
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert sorted(Guest.objects.values_list("email", flat=True)) == [
        "ada@example.test", "alan@example.test",
    ]  # fmt: skip
    assert Guest.objects.get(email="ada@example.test").extra == {"Table": "T1"}
    done = page(client.get(answer.url))
    assert "Done: 2 guests were added." in done and 'data-job-status="succeeded"' in done


def test_the_csv_template_downloads_and_imports_as_is(login, shop_world):
    client = login(shop_world["legal"])
    answer = client.get(url("guest-csv-template", shop_world["org"], shop_world["event"]))
    assert answer.status_code == 200
    assert answer["Content-Disposition"] == 'attachment; filename="guests-template.csv"'
    text = answer.content.decode()
    assert text.startswith("name,email,company,places,tariff")
    assert len(guests_import_check(event=shop_world["event"], text=text)) == 2


def test_a_viewer_sees_the_list_without_buttons_and_may_not_change_it(
    login, shop_world, guests, viewer
):
    client = login(viewer)
    org, event = shop_world["org"], shop_world["event"]
    response = client.get(url("guest-list", org, event))
    assert response.status_code == 200
    html = page(response)
    assert "invited@example.test" in html
    for button in ("Add a guest", "Import a CSV file", "Remove", 'data-testid="guest-form"'):
        assert button not in html
    posted = client.post(url("guest-list", org, event),
                         {"name": "X", "email": "x@x.test", "places": 1,
                          "tariff": shop_world["free"].pk})  # fmt: skip
    assert posted.status_code == 403
    assert client.post(url("guest-delete", org, guests["invited"])).status_code == 403
    assert (
        client.post(url("guest-import", org, event), {"file": upload(BAD_FILE)}).status_code == 403
    )
    assert client.get(url("guest-csv-template", org, event)).status_code == 403
    assert Guest.objects.count() == 5


def test_another_organisation_gets_404(login, shop_world, guests):
    stranger = f.UserFactory(email="stranger@example.test")
    other = f.OrganisationFactory(name="Other", legal_representative=stranger)
    client = login(stranger)
    org, event = other.pk, shop_world["event"]
    pages = [("guest-list", event), ("guest-import", event),
             ("guest-csv-template", event), ("guest-delete", guests["invited"])]  # fmt: skip
    for name, arg in pages:
        assert client.get(url(name, org, arg)).status_code == 404, name
        assert client.post(url(name, org, arg)).status_code == 404, name
    assert Guest.objects.count() == 5


def test_the_list_answers_in_bounded_queries(login, shop_world, django_assert_max_num_queries):
    zone = shop_world["balcony"]
    zone.capacity = 10_000
    zone.save()
    client = login(shop_world["legal"])
    target = url("guest-list", shop_world["org"], shop_world["event"])

    def add(n, start):
        Guest.objects.bulk_create(
            [
                Guest(organisation=shop_world["org"], event=shop_world["event"],
                      name=f"Guest {i}", email=f"g{i}@x.test", tariff=shop_world["free"],
                      places=2, token_hash=f"hash{i}", link_nonce=f"nonce{i}",
                      opened_at=timezone.now() if i % 2 else None)
                for i in range(start, start + n)
            ]
        )  # fmt: skip

    add(3, 0)
    client.get(target)  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(target).status_code == 200
    add(120, 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(target, {"page": 2})
    assert len(response.context["page"]) == 50
    assert (counts(response)["opened"], counts(response)["invited"]) == (61, 62)
