"""The guest's page as a guest uses it: the tariff's form once per place, every missing
answer next to its field and at the top with what was typed kept; once accepted, their
tickets with the name on each and their downloads, only under their own key; declining
asks first and frees the places; a cancelled or started event says so; and the email of
the tickets, sent once per answer."""

import datetime
import io
import zipfile
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from ticketing import services
from ticketing.models import EventDate, GuestStatus, Ticket
from ticketing.services.sales import counted
from ticketing.tasks import guest_tickets_send

from .conftest import invite
from .test_emails import run_tasks  # noqa: F401  (the fixture)
from .test_pdf import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(guest_world):
    return guest_world


def url(world, name="shop:guest", *args, guest=None, key=None, slug=None):
    key = key or (guest or world["guest"]).link_key
    return reverse(name, args=[slug or world["office"].slug, key, *args])


def accepting(world, *names, places=None, terms=True) -> dict:
    """The page's POST accepting `places` (one per name by default), place n answered
    with the n-th name."""
    data = {"answer": "accept", "places": str(places or len(names))}
    for index, name in enumerate(names):
        data[f"p{index}-{world['attendee'].pk}"] = name
        if terms:
            data[f"p{index}-{world['terms'].pk}"] = "the terms"
    return data


def text(response) -> str:
    return response.content.decode()


def held(guest) -> list[str]:
    return list(Ticket.objects.filter(counted(), guest=guest).values_list("holder_name", flat=True))


def accept(world, client, *names):
    response = client.post(url(world), accepting(world, *names))
    assert response.status_code == 302, response.context["problems"]


# -- the form per place -----------------------------------------------------------------------


def test_the_form_is_asked_once_per_place_offered(world, client):
    page = client.get(url(world))
    assert page.status_code == 200
    html = text(page)
    for index in (0, 1):
        assert f'name="p{index}-{world["attendee"].pk}"' in html
        assert f'name="p{index}-{world["terms"].pk}"' in html
    assert html.count("data-guest-place=") == 2
    assert "Place 1" in html and "Place 2" in html
    assert html.count("Attendee name") == 2
    assert '<option value="2" selected>' in html  # all the places offered, to begin with


def test_missing_answers_are_named_by_place_next_to_each_field_and_at_the_top(world, client):
    data = accepting(world, "Ada Lovelace", "", terms=False)
    page = client.post(url(world), data)
    assert page.status_code == 200
    problems = page.context["problems"]
    assert len(problems) == 3
    assert sum(p.startswith("Place 1, I accept: ") for p in problems) == 1
    assert sum(p.startswith("Place 2, I accept: ") for p in problems) == 1
    assert sum(p.startswith("Place 2, Attendee name: ") for p in problems) == 1
    first, second = page.context["forms"]
    assert set(first.errors) == {str(world["terms"].pk)}
    assert set(second.errors) == {str(world["terms"].pk), str(world["attendee"].pk)}
    html = text(page)
    assert 'value="Ada Lovelace"' in html  # what was typed is kept
    assert html.count('class="error"') == 3
    assert '<option value="2" selected>' in html
    world["guest"].refresh_from_db()
    assert world["guest"].status == GuestStatus.INVITED
    assert not Ticket.objects.filter(guest=world["guest"]).exists()


def test_only_the_places_chosen_count(world, client):
    data = accepting(world, "Ada Lovelace", places=1)
    data[f"p1-{world['attendee'].pk}"] = ""  # the second set, left empty, is not used
    assert client.post(url(world), data).status_code == 302
    assert held(world["guest"]) == ["Ada Lovelace"]


# -- the tickets ------------------------------------------------------------------------------


def _never_cached(response):
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_after_accepting_each_ticket_shows_its_name_and_downloads(world, client):
    page = client.post(url(world), accepting(world, "Ada Lovelace", "Alan Turing"), follow=True)
    html = text(page)
    assert "Thank you: your places are booked." in html
    assert "You have accepted 2 places." in html
    ada, alan = Ticket.objects.filter(guest=world["guest"]).order_by("pk")
    assert [t.holder_name for t in page.context["tickets"]] == ["Ada Lovelace", "Alan Turing"]
    for ticket in (ada, alan):
        assert url(world, "shop:guest-ticket-pdf", ticket.pk) in html
    assert url(world, "shop:guest-tickets") in html

    one = client.get(url(world, "shop:guest-ticket-pdf", alan.pk))
    assert one.status_code == 200 and one["Content-Type"] == "application/pdf"
    assert one["Content-Disposition"].startswith("attachment; filename=")
    _never_cached(one)
    assert "Alan Turing" in pdf_text(one.content) and "Ada" not in pdf_text(one.content)

    both = client.get(url(world, "shop:guest-tickets"))
    assert both.status_code == 200 and both["Content-Type"] == "application/zip"
    assert both["Content-Disposition"] == 'attachment; filename="tickets-le-misanthrope.zip"'
    _never_cached(both)
    with zipfile.ZipFile(io.BytesIO(both.content)) as archive:
        texts = [pdf_text(archive.read(name)) for name in archive.namelist()]
    assert len(texts) == 2
    assert "Ada Lovelace" in texts[0] and "Alan Turing" in texts[1]


def test_answering_again_renames_the_ticket(world, client):
    accept(world, client, "Ada Lovelace", "Alan Turing")
    page = client.get(url(world))
    assert 'value="Alan Turing"' in text(page)  # the answers held fill the form again
    accept(world, client, "Ada Lovelace", "Katherine Johnson")
    assert held(world["guest"]) == ["Ada Lovelace", "Katherine Johnson"]


def test_downloads_open_only_under_the_guests_own_key(world, client):
    other = invite(world, "other@example.test", places=1)
    accept(world, client, "Ada Lovelace", "Alan Turing")
    client.post(url(world, guest=other), accepting(world, "Eve"))
    theirs = other.tickets.get()
    mine = world["guest"].tickets.first()
    rival = services.office_create(access=world["access"], name="Rival", slug="rival")
    for address in (
        url(world, "shop:guest-ticket-pdf", theirs.pk),  # another guest's ticket
        url(world, "shop:guest-ticket-pdf", mine.pk, key="not-the-key"),
        url(world, "shop:guest-tickets", key="not-the-key"),
        url(world, "shop:guest-ticket-pdf", mine.pk, slug=rival.slug),
        url(world, "shop:guest-tickets", slug=rival.slug),
    ):
        assert client.get(address).status_code == 404, address
    quiet = invite(world, "quiet@example.test", places=1)
    assert client.get(url(world, "shop:guest-tickets", guest=quiet)).status_code == 404


def test_declining_after_accepting_asks_first_then_frees_the_places(world, client):
    accept(world, client, "Ada Lovelace", "Alan Turing")
    ticket = world["guest"].tickets.first()
    html = text(client.get(url(world)))
    assert f'href="{url(world)}?decline=1"' in html
    assert 'value="decline"' not in html  # no decline in one click

    asked = client.get(url(world) + "?decline=1")
    assert "Decline the invitation?" in text(asked)
    assert "Your 2 places go back to the organiser" in text(asked)
    assert 'value="decline"' in text(asked)
    assert len(held(world["guest"])) == 2  # asking changes nothing

    done = client.post(url(world), {"answer": "decline"}, follow=True)
    html = text(done)
    assert "Your 2 places are free again." in html
    assert "You have declined this invitation." in html
    assert held(world["guest"]) == []
    assert client.get(url(world, "shop:guest-ticket-pdf", ticket.pk)).status_code == 404


def test_declining_before_accepting_needs_no_confirmation(world, client):
    done = client.post(url(world), {"answer": "decline"}, follow=True)
    assert "Thank you for letting us know." in text(done)
    world["guest"].refresh_from_db()
    assert world["guest"].status == GuestStatus.DECLINED


# -- a cancelled or started event -------------------------------------------------------------


def test_a_cancelled_date_says_so_and_takes_no_answer(world, client):
    accept(world, client, "Ada Lovelace", "Alan Turing")
    services.date_cancel(access=world["access"], date=world["date"])
    page = client.get(url(world))
    html = text(page)
    assert "This event is cancelled. Your tickets are no longer valid." in html
    assert 'name="answer"' not in html
    assert "Download (PDF)" not in html
    refused = client.post(url(world), accepting(world, "Ada Lovelace"))
    assert refused.status_code == 200
    assert "This event is cancelled." in text(refused)
    assert held(world["guest"]) == []


def test_a_started_event_closes_the_answers_but_keeps_the_tickets(world, client):
    accept(world, client, "Ada Lovelace", "Alan Turing")
    EventDate.objects.filter(pk=world["date"].pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=30)
    )
    html = text(client.get(url(world)))
    assert "This event has started; answers are closed." in html
    assert 'name="answer"' not in html
    assert html.count("Download (PDF)") == 2
    client.post(url(world), {"answer": "decline"})
    assert len(held(world["guest"])) == 2


# -- the email --------------------------------------------------------------------------------


def test_accepting_mails_the_tickets_with_the_page_link(world, client, mailoutbox, run_tasks):  # noqa: F811
    with run_tasks():
        accept(world, client, "Ada Lovelace", "Alan Turing")
    [mail] = mailoutbox
    assert mail.to == ["grace@example.test"]
    assert mail.subject == "Your tickets: Le Misanthrope"
    assert mail.reply_to == ["billetterie@jorat.example.test"]
    assert [kind for _name, _content, kind in mail.attachments] == ["application/pdf"] * 2
    assert ["Ada Lovelace" in pdf_text(c) for _n, c, _k in mail.attachments] == [True, False]
    assert "Ada Lovelace" in mail.body and "Alan Turing" in mail.body
    link = next(word for word in mail.body.split() if "/guests/" in word)
    assert urlsplit(link).path == url(world)
    # The same answer again sends nothing; another name sends the tickets again.
    with run_tasks():
        accept(world, client, "Ada Lovelace", "Alan Turing")
    assert len(mailoutbox) == 1
    with run_tasks():
        accept(world, client, "Ada Lovelace", "Katherine Johnson")
    assert len(mailoutbox) == 2
    assert "Katherine Johnson" in mailoutbox[1].body


def test_the_email_task_run_again_or_late_sends_nothing_more(world, mailoutbox, run_tasks):  # noqa: F811
    guest = world["guest"]
    entry = {str(world["attendee"].pk): "Ada Lovelace", str(world["terms"].pk): ["the terms"]}
    # An answer whose email is still queued when the guest answers again.
    first = services.guest_answer(guest=guest, accept=True, places=2, answers=[entry, entry])
    late = first.answered_at.isoformat()
    with run_tasks():
        latest = services.guest_answer(guest=guest, accept=True, places=1)
    assert len(mailoutbox) == 1 and len(mailoutbox[0].attachments) == 1
    guest_tickets_send(guest.pk, late, "en")  # the earlier answer's, delivered late
    guest_tickets_send(guest.pk, latest.answered_at.isoformat(), "en")  # delivered again
    assert len(mailoutbox) == 1
    with run_tasks():
        services.guest_answer(guest=guest, accept=False)
    assert len(mailoutbox) == 1  # declining sends no tickets
