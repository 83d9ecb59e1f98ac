"""Guests' invitations and reminders by real email, through the REST API: the organiser
adds guests, edits the invitation's text and sends it as a Job; the Job's Celery task
writes over SMTP to the rig's sink, each message carrying the link that opens that
guest's page. A task delivered again (a worker restarted) writes to nobody twice, a
reminder goes once to the guests still silent, and a mail server that refuses or is
down fails the Job with its reason and leaves the guests not reached not invited."""

import datetime
import email
import re
import uuid
from email import policy
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from panel.models import Job, JobStatus
from tests.rig.core import free_port
from tests.ticketing import conftest as ticketing_fixtures
from tests.ticketing import test_emails
from ticketing.models import GuestReminder
from ticketing.tasks import guest_invitations_send, guest_reminders_due, guest_reminders_send

pytestmark = pytest.mark.django_db

# the unit tests' office on sale, tasks run at commit, and the panel's mail to the sink
shop_world = ticketing_fixtures.shop_world
run_tasks = test_emails.run_tasks

API = "/api/v1/organisations/{org}/"
GUESTS_CSV = (
    "name,email,tariff,company,places\r\n"
    "Zoé d’Été,zoe@example.test,Invitation,Théâtre Vidy,2\r\n"
    "Alan Turing,alan@example.test,Invitation,,1\r\n"
)


@pytest.fixture
def organiser(shop_world, client_for):
    """The organiser's API client, with the URLs of the organisation and of the event's
    guests."""
    client = client_for(shop_world["legal"])
    client.org = API.format(org=shop_world["org"].pk)
    client.guests = client.org + f"ticketing/events/{shop_world['event'].pk}/guests/"
    return client


def _add_guests(organiser, run_tasks, shop_world):
    """Zoé and Alan from a CSV file (a Job), and Grace added alone."""
    upload = SimpleUploadedFile("guests.csv", GUESTS_CSV.encode())
    with run_tasks():
        imported = organiser.post(organiser.guests + "imports/", {"file": upload},
                                  format="multipart")  # fmt: skip
    assert imported.status_code == 202, imported.content
    assert _job(organiser, imported.json()["job"]["id"])["status"] == JobStatus.SUCCEEDED
    added = organiser.post(
        organiser.guests,
        {"name": "Grace Hopper", "email": "grace@example.test", "tariff": shop_world["free"].pk},
        format="json",
    )
    assert added.status_code == 201, added.content
    return _guests(organiser)


def _guests(organiser) -> dict:
    """{email: guest} of the event, as the API lists them."""
    return {guest["email"]: guest for guest in organiser.get(organiser.guests).json()["results"]}


def _job(organiser, job_id) -> dict:
    return organiser.get(organiser.org + f"jobs/{job_id}/").json()


def _write_invitation(organiser, token):
    saved = organiser.put(
        organiser.guests + "messages/invitation/",
        {
            "subject": f"Invitation {token}: {{{{ event }}}}",
            "body": "Dear {{ name }},\n\n{{ places }} places in {{ zone }} await you.\n\n"
            "Answer here: {{ link }}\n",
        },
        format="json",
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["custom"] is True


def _invite(organiser, run_tasks, **data) -> dict:
    with run_tasks():
        answer = organiser.post(organiser.guests + "invitations/", data, format="json")
    assert answer.status_code == 202, answer.content
    return _job(organiser, answer.json()["job"]["id"])


def _received(sink, token) -> dict:
    """{recipient: parsed message} of what the sink received with `token`; each
    recipient once."""
    by_recipient: dict = {}
    for received in sink.received(token):
        for recipient in received.rcpt_tos:
            assert recipient not in by_recipient, f"{recipient} received {token} twice"
            by_recipient[recipient] = email.message_from_bytes(received.data, policy=policy.default)
    return by_recipient


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def _link(message) -> str:
    return re.search(r"https?://\S+/guests/\S+/", _text(message)).group(0)


def _open(link, **post):
    """The guest's page, as their browser opens the link from their email."""
    client = Client()
    path = urlsplit(link).path
    return client.post(path, post) if post else client.get(path)


def test_each_guest_gets_one_invitation_whose_link_opens_their_page(
    shop_world, smtp_sink, run_tasks, organiser
):
    guests = _add_guests(organiser, run_tasks, shop_world)
    token = uuid.uuid4().hex
    _write_invitation(organiser, token)

    job = _invite(organiser, run_tasks)
    assert (job["status"], job["result"], job["done"], job["total"]) == (
        JobStatus.SUCCEEDED, {"sent": 3}, 3, 3,
    )  # fmt: skip
    received = _received(smtp_sink, token)
    assert sorted(received) == ["alan@example.test", "grace@example.test", "zoe@example.test"]
    zoe = received["zoe@example.test"]
    assert zoe["Subject"] == f"Invitation {token}: Le Misanthrope"
    assert zoe["From"].addresses[0].display_name == "Théâtre du Jorat"
    assert zoe["Reply-To"] == "billetterie@jorat.example.test"
    assert _text(zoe).startswith("Dear Zoé d’Été,\n\n2 places in Balcony await you.")
    for address, name in [("zoe@example.test", "Zoé d’Été"), ("alan@example.test", "Alan Turing"),
                          ("grace@example.test", "Grace Hopper")]:  # fmt: skip
        page = _open(_link(received[address]))
        assert page.status_code == 200, address
        assert name in page.content.decode()
        # someone else's name is not on it: each link is its own guest's
        others = {"Zoé d’Été", "Alan Turing", "Grace Hopper"} - {name}
        assert not any(other in page.content.decode() for other in others)
    assert all(guest["invited_at"] for guest in _guests(organiser).values())
    assert set(_guests(organiser)) == set(guests)

    # The broker delivers the task again after a worker restart: nobody is written to twice.
    guest_invitations_send.delay(job["id"])
    # Nor when the worker had died after the last email, before noting the Job finished.
    Job.objects.filter(pk=job["id"]).update(status=JobStatus.RUNNING, finished_at=None)
    guest_invitations_send.delay(job["id"])
    assert len(smtp_sink.received(token)) == 3
    assert _job(organiser, job["id"])["status"] == JobStatus.SUCCEEDED
    assert _job(organiser, job["id"])["result"] == {"sent": 0}

    # Sending again without naming anyone: everybody has had theirs.
    again = organiser.post(organiser.guests + "invitations/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "nobody_to_invite"
    assert len(smtp_sink.received(token)) == 3


def test_a_reminder_goes_once_to_the_guests_still_silent(shop_world, smtp_sink, run_tasks,
                                                         organiser):  # fmt: skip
    _add_guests(organiser, run_tasks, shop_world)
    token = uuid.uuid4().hex
    _write_invitation(organiser, token)
    _invite(organiser, run_tasks)
    invitations = _received(smtp_sink, token)
    # Zoé accepts, Alan declines, on their pages; Grace says nothing.
    accepted = _open(_link(invitations["zoe@example.test"]), answer="accept", places="2")
    declined = _open(_link(invitations["alan@example.test"]), answer="decline")
    assert accepted.status_code == declined.status_code == 302
    statuses = {address: guest["status"] for address, guest in _guests(organiser).items()}
    assert statuses == {"zoe@example.test": "accepted", "alan@example.test": "declined",
                        "grace@example.test": "invited"}  # fmt: skip
    # A guest added afterwards, never invited, is not reminded of an invitation.
    late = organiser.post(
        organiser.guests,
        {"name": "Late Comer", "email": "late@example.test", "tariff": shop_world["free"].pk},
        format="json",
    )
    assert late.status_code == 201

    reminder_token = uuid.uuid4().hex
    saved = organiser.put(
        organiser.guests + "messages/reminder/",
        {"subject": f"Reminder {reminder_token}", "body": "Still there, {{ name }}? {{ link }}"},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    send_at = timezone.now() + datetime.timedelta(hours=2)
    planned = organiser.post(organiser.guests + "reminders/", {"send_at": send_at.isoformat()},
                             format="json")  # fmt: skip
    assert planned.status_code == 201, planned.content
    reminder_url = organiser.org + f"ticketing/guest-reminders/{planned.json()['id']}/"

    with run_tasks():
        assert guest_reminders_due.delay().get() == 0  # not yet
    assert smtp_sink.received(reminder_token) == []
    assert organiser.get(reminder_url).json()["started_at"] is None

    # Two hours later, the beat's minute comes round.
    GuestReminder.objects.filter(pk=planned.json()["id"]).update(
        send_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with run_tasks():
        assert guest_reminders_due.delay().get() == 1
    reminder = organiser.get(reminder_url).json()
    assert reminder["started_at"] is not None
    job = _job(organiser, reminder["job"])
    assert (job["kind"], job["status"], job["result"]) == (
        "ticketing_guest_reminders", JobStatus.SUCCEEDED, {"sent": 1},
    )  # fmt: skip
    reminders = _received(smtp_sink, reminder_token)
    assert list(reminders) == ["grace@example.test"]
    grace = reminders["grace@example.test"]
    assert _text(grace).startswith("Still there, Grace Hopper? http")
    page = _open(_link(grace))
    assert page.status_code == 200 and "Grace Hopper" in page.content.decode()
    assert _guests(organiser)["grace@example.test"]["reminded_at"] is not None

    # The next minutes of the beat, and the reminder's task delivered again: nothing more.
    with run_tasks():
        assert guest_reminders_due.delay().get() == 0
        assert guest_reminders_due.delay().get() == 0
    guest_reminders_send.delay(reminder["job"])
    assert len(smtp_sink.received(reminder_token)) == 1
    # It has gone out: it cannot be cancelled any more.
    refused = organiser.delete(reminder_url)
    assert refused.status_code == 409 and refused.json()["code"] == "reminder_sent"


class RefusingServer:
    """A real SMTP server that accepts the first `accept` messages, then answers each
    following one with a permanent refusal, as a relay does past its quota."""

    def __init__(self, accept: int):
        self.accepted: list[tuple[str, ...]] = []
        self.refused = 0
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 (aiosmtpd)
                if len(server.accepted) < accept:
                    server.accepted.append(tuple(envelope.rcpt_tos))
                    return "250 OK"
                server.refused += 1
                return "554 5.7.1 Sending limit reached"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)


@pytest.fixture
def refusing_server(settings):
    server = RefusingServer(accept=1)
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.controller.stop()


def test_a_mail_server_that_refuses_fails_the_job_and_the_rest_stay_not_invited(
    shop_world, refusing_server, run_tasks, organiser, settings, rig
):
    _add_guests(organiser, run_tasks, shop_world)
    _write_invitation(organiser, uuid.uuid4().hex)

    job = _invite(organiser, run_tasks)
    assert job["status"] == JobStatus.FAILED
    assert [error["detail"] for error in job["errors"]] == [
        "The mail server stopped the sending after 1 email; send again to write to the "
        "guests not reached yet."
    ]
    # Guests go by name: Alan was written to, Grace was refused, Zoé never tried.
    assert refusing_server.accepted == [("alan@example.test",)]
    assert refusing_server.refused == 1
    invited = {address: bool(guest["invited_at"]) for address, guest in _guests(organiser).items()}
    assert invited == {"alan@example.test": True, "grace@example.test": False,
                       "zoe@example.test": False}  # fmt: skip

    # Once the mail server takes mail again, sending again writes to those two only.
    sink = rig.require("smtp_sink")
    settings.EMAIL_PORT = sink.port
    token = uuid.uuid4().hex
    _write_invitation(organiser, token)
    job = _invite(organiser, run_tasks)
    assert (job["status"], job["result"]) == (JobStatus.SUCCEEDED, {"sent": 2})
    assert sorted(_received(sink, token)) == ["grace@example.test", "zoe@example.test"]


def test_a_mail_server_that_is_down_fails_the_job_saying_so(shop_world, run_tasks, organiser,
                                                            settings):  # fmt: skip
    _add_guests(organiser, run_tasks, shop_world)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5

    job = _invite(organiser, run_tasks)
    assert job["status"] == JobStatus.FAILED
    [error] = job["errors"]
    assert "mail server" in error["detail"], error["detail"]
    assert not any(guest["invited_at"] for guest in _guests(organiser).values())
    # Nobody was reached, so sending again is still possible.
    assert organiser.post(organiser.guests + "invitations/", {}, format="json").status_code == 202
