"""Invitations and reminders to guests: texts the organiser edits with their variables,
sending as a Job that writes once to each guest even when delivered again, reminders
planned for a date and started once by the beat, and the form of a guest's tariff."""

import datetime
import re

import pytest
from django.utils import timezone

from panel.errors import Conflict, InvalidInput
from panel.models import Job, JobStatus
from ticketing import services
from ticketing.models import Guest, GuestReminder, GuestStatus
from ticketing.services import invitations
from ticketing.tasks import guest_invitations_send, guest_reminders_due, guest_reminders_send

API = "/api/v1/organisations/{org}/ticketing/"


def _guest(world, email, name="Grace Hopper", places=2, tariff=None):
    return services.guest_create(
        access=world["access"], event=world["event"], name=name, email=email,
        tariff=(tariff or world["free"]).pk, places=places,
    )  # fmt: skip


def _invite(world, **kwargs):
    job = invitations.invitations_start(access=world["access"], event=world["event"], **kwargs)
    guest_invitations_send(job.pk)
    job.refresh_from_db()
    return job


def _link_in(body: str) -> str:
    return re.search(r"https?://\S+/guests/\S+/", body).group(0)


def test_a_text_with_an_unknown_variable_or_without_the_link_is_refused_naming_both(shop_world):
    with pytest.raises(InvalidInput) as raised:
        invitations.guest_message_save(
            access=shop_world["access"], event=shop_world["event"], kind="invitation",
            subject="Welcome {{ nom }}", body="Dear {{ name }}, see you {{ dtae }}.",
        )  # fmt: skip
    fields = raised.value.fields
    assert fields["subject"] == ["Unknown variable: {{ nom }}."]
    assert "Unknown variable: {{ dtae }}." in fields["body"]
    assert any("{{ link }}" in message for message in fields["body"])
    assert not shop_world["event"].guest_messages.exists()


def test_invitations_use_the_organisers_text_and_each_link_opens_its_guest(
    shop_world, mailoutbox, client
):
    invitations.guest_message_save(
        access=shop_world["access"], event=shop_world["event"], kind="invitation",
        subject="{{ name }}, come to {{ event }}",
        body="Dear {{ name }} of {{ company }}: {{ places }} places in {{ zone }}. {{ link }}",
    )  # fmt: skip
    ada = _guest(shop_world, "ada@example.test", name="Ada Lovelace")
    Guest.objects.filter(pk=ada.pk).update(company="Engines")
    alan = _guest(shop_world, "alan@example.test", name="Alan Turing", places=1)
    job = _invite(shop_world)
    assert (job.status, job.result, job.done, job.total) == (
        JobStatus.SUCCEEDED, {"sent": 2}, 2, 2,
    )  # fmt: skip
    by_address = {message.to[0]: message for message in mailoutbox}
    assert by_address["ada@example.test"].subject == "Ada Lovelace, come to Le Misanthrope"
    body = by_address["ada@example.test"].body
    assert body.startswith("Dear Ada Lovelace of Engines: 2 places in Balcony. http")
    assert by_address["ada@example.test"].reply_to == ["billetterie@jorat.example.test"]
    page = client.get(_link_in(body))
    assert page.status_code == 200 and "Ada Lovelace" in page.content.decode()
    alan_page = client.get(_link_in(by_address["alan@example.test"].body))
    assert "Alan Turing" in alan_page.content.decode()
    for guest in (ada, alan):
        guest.refresh_from_db()
        assert guest.invited_at is not None


def test_sending_again_writes_only_to_guests_not_invited_yet(shop_world, mailoutbox):
    _guest(shop_world, "ada@example.test")
    _invite(shop_world)
    with pytest.raises(Conflict) as raised:
        invitations.invitations_start(access=shop_world["access"], event=shop_world["event"])
    assert raised.value.code == "nobody_to_invite"
    _guest(shop_world, "alan@example.test")
    _invite(shop_world)
    assert [message.to for message in mailoutbox] == [["ada@example.test"], ["alan@example.test"]]


def test_a_guest_can_be_invited_once_more_on_purpose(shop_world, mailoutbox):
    ada = _guest(shop_world, "ada@example.test")
    _guest(shop_world, "alan@example.test")
    _invite(shop_world)
    _invite(shop_world, guests=[ada.pk], again=True)
    assert [m.to[0] for m in mailoutbox].count("ada@example.test") == 2
    assert [m.to[0] for m in mailoutbox].count("alan@example.test") == 1


def test_again_to_everyone_writes_only_to_the_guests_who_have_not_answered(shop_world, mailoutbox):
    ada = _guest(shop_world, "ada@example.test")
    alan = _guest(shop_world, "alan@example.test")
    _guest(shop_world, "grace@example.test")
    _invite(shop_world)
    services.guest_answer(guest=ada, accept=True, places=1)
    services.guest_answer(guest=alan, accept=False)
    mailoutbox.clear()
    _invite(shop_world, again=True)
    assert [m.to for m in mailoutbox] == [["grace@example.test"]]
    services.guest_answer(guest=Guest.objects.get(email="grace@example.test"), accept=False)
    with pytest.raises(Conflict) as raised:
        invitations.invitations_start(
            access=shop_world["access"], event=shop_world["event"], again=True
        )
    assert str(raised.value.detail) == "Every guest has answered already."


def test_the_preview_never_shows_a_guests_real_link(shop_world):
    ada = _guest(shop_world, "ada@example.test", name="Ada Lovelace")
    preview = invitations.guest_message_preview(event=shop_world["event"], kind="invitation")
    assert "Ada Lovelace" in preview["body"]
    assert invitations.guest_link_url(ada) not in preview["body"]
    assert invitations.LINK_SAMPLE in preview["body"]


def test_going_back_to_the_default_text(shop_world, client_for):
    client = client_for(shop_world["legal"])
    url = API.format(org=shop_world["org"].pk)
    url += f"events/{shop_world['event'].pk}/guests/messages/invitation/"
    client.put(url, {"subject": "Come", "body": "{{ link }}"}, format="json")
    assert client.get(url).json()["subject"] == "Come"
    reset = client.delete(url)
    assert reset.status_code == 200 and reset.json()["custom"] is False
    assert "{{ link }}" in reset.json()["body"] and reset.json()["subject"] != "Come"
    assert not shop_world["event"].guest_messages.exists()


def test_a_job_delivered_again_after_a_worker_died_writes_to_nobody_twice(shop_world, mailoutbox):
    guests = [_guest(shop_world, f"g{n}@example.test", name=f"Guest {n}") for n in range(5)]
    job = invitations.invitations_start(access=shop_world["access"], event=shop_world["event"])
    # A first worker sent two emails and died: the Job is left running.
    first_two = sorted(guests, key=lambda g: g.name)[:2]
    Guest.objects.filter(pk__in=[g.pk for g in first_two]).update(invited_at=timezone.now())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, done=2)
    guest_invitations_send(job.pk)  # the message delivered again
    guest_invitations_send(job.pk)  # and once more after it finished: nothing
    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"sent": 3})
    assert sorted(m.to[0] for m in mailoutbox) == ["g2@example.test", "g3@example.test",
                                                   "g4@example.test"]  # fmt: skip


def test_guests_of_another_event_cannot_be_named(shop_world):
    other = services.event_create(access=shop_world["access"], office=shop_world["office"],
                                  title="Other")  # fmt: skip
    stranger = Guest.objects.create(
        organisation=shop_world["org"], event=other, name="X", email="x@example.test",
        tariff=shop_world["free"], token_hash="h", link_nonce="n",
    )  # fmt: skip
    with pytest.raises(InvalidInput) as raised:
        invitations.invitations_start(
            access=shop_world["access"], event=shop_world["event"], guests=[stranger.pk]
        )
    assert raised.value.fields == {"guests": [f"Not guests of this event: {stranger.pk}."]}


# -- reminders --------------------------------------------------------------------------------


def _remind_at(world, moment):
    return invitations.reminder_create(access=world["access"], event=world["event"], send_at=moment)


def test_a_reminder_goes_once_to_each_guest_still_silent(shop_world, mailoutbox):
    silent = _guest(shop_world, "silent@example.test", name="Silent")
    accepted = _guest(shop_world, "yes@example.test", name="Yes")
    _guest(shop_world, "never-invited@example.test", name="Not invited")  # added later
    _invite(shop_world, guests=[silent.pk, accepted.pk])
    services.guest_answer(guest=accepted, accept=True, places=1)
    mailoutbox.clear()
    soon = timezone.now() + datetime.timedelta(hours=2)
    reminder = _remind_at(shop_world, soon)

    assert invitations.reminders_start_due(now=soon - datetime.timedelta(minutes=1)) == 0
    assert invitations.reminders_start_due(now=soon) == 1
    assert invitations.reminders_start_due(now=soon + datetime.timedelta(minutes=1)) == 0
    reminder.refresh_from_db()
    assert reminder.started_at is not None and reminder.job_id is not None

    guest_reminders_send(reminder.job_id)
    guest_reminders_send(reminder.job_id)  # delivered twice: one email
    assert [(m.to[0], m.subject) for m in mailoutbox] == [
        ("silent@example.test", "Reminder: your invitation to Le Misanthrope")
    ]
    assert "/guests/" in mailoutbox[0].body
    silent.refresh_from_db()
    assert silent.reminded_at is not None and silent.status == GuestStatus.INVITED


def test_a_second_reminder_writes_again_only_to_those_still_silent(shop_world, mailoutbox):
    one = _guest(shop_world, "one@example.test", name="One")
    _guest(shop_world, "two@example.test", name="Two")
    _invite(shop_world)
    mailoutbox.clear()
    first = _remind_at(shop_world, timezone.now() + datetime.timedelta(hours=1))
    second = _remind_at(shop_world, timezone.now() + datetime.timedelta(hours=2))
    invitations.reminders_start_due(now=first.send_at)
    guest_reminders_send(GuestReminder.objects.get(pk=first.pk).job_id)
    services.guest_answer(guest=one, accept=False)
    invitations.reminders_start_due(now=second.send_at)
    guest_reminders_send(GuestReminder.objects.get(pk=second.pk).job_id)
    assert [m.to[0] for m in mailoutbox] == ["one@example.test", "two@example.test",
                                             "two@example.test"]  # fmt: skip


def test_the_beat_task_starts_due_reminders(shop_world):
    reminder = _remind_at(shop_world, timezone.now() + datetime.timedelta(minutes=5))
    assert guest_reminders_due() == 0
    GuestReminder.objects.filter(pk=reminder.pk).update(send_at=timezone.now())
    assert guest_reminders_due() == 1
    assert Job.objects.get(pk=GuestReminder.objects.get(pk=reminder.pk).job_id).kind == (
        "ticketing_guest_reminders"
    )


def test_a_reminder_must_be_in_the_future_and_before_the_event(shop_world):
    with pytest.raises(InvalidInput) as past:
        _remind_at(shop_world, timezone.now() - datetime.timedelta(minutes=1))
    assert past.value.fields == {"send_at": ["Choose a moment in the future."]}
    with pytest.raises(InvalidInput) as late:
        _remind_at(shop_world, shop_world["date"].starts_at + datetime.timedelta(minutes=1))
    assert late.value.fields == {"send_at": ["Choose a moment before the event starts."]}


# -- the API ----------------------------------------------------------------------------------


def test_the_api_edits_texts_sends_invitations_and_plans_reminders(shop_world, client_for,
                                                                   mailoutbox):  # fmt: skip
    client = client_for(shop_world["legal"])
    base = API.format(org=shop_world["org"].pk)
    event = f"events/{shop_world['event'].pk}/guests/"
    default = client.get(base + event + "messages/invitation/").json()
    assert default["custom"] is False and "{{ link }}" in default["body"]
    assert "link" in default["variables"]
    bad = client.put(base + event + "messages/invitation/",
                     {"subject": "Hi", "body": "No link here"}, format="json")  # fmt: skip
    assert bad.status_code == 400 and "body" in bad.json()["fields"]
    saved = client.put(base + event + "messages/reminder/",
                       {"subject": "Later?", "body": "{{ link }}"}, format="json")  # fmt: skip
    assert saved.status_code == 200 and saved.json()["custom"] is True
    assert client.get(base + event + "messages/other/").status_code == 404

    _guest(shop_world, "ada@example.test")
    answer = client.post(base + event + "invitations/", {}, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["job"]["kind"] == "ticketing_guest_invitations"
    guest_invitations_send(answer.json()["job"]["id"])
    assert [m.to for m in mailoutbox] == [["ada@example.test"]]
    again = client.post(base + event + "invitations/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "nobody_to_invite"

    moment = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    planned = client.post(base + event + "reminders/", {"send_at": moment}, format="json")
    assert planned.status_code == 201, planned.content
    listed = client.get(base + event + "reminders/").json()
    assert [r["id"] for r in listed["results"]] == [planned.json()["id"]]
    detail = base + f"guest-reminders/{planned.json()['id']}/"
    assert client.get(detail).json()["started_at"] is None
    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404


def test_a_reminder_already_sent_cannot_be_cancelled(shop_world, client_for):
    reminder = _remind_at(shop_world, timezone.now() + datetime.timedelta(hours=1))
    invitations.reminders_start_due(now=reminder.send_at)
    client = client_for(shop_world["legal"])
    answer = client.delete(API.format(org=shop_world["org"].pk) + f"guest-reminders/{reminder.pk}/")
    assert answer.status_code == 409 and answer.json()["code"] == "reminder_sent"


# -- the tariff's form ------------------------------------------------------------------------


def test_a_guest_of_a_tariff_with_a_form_answers_it_for_each_place(shop_world):
    guest = _guest(shop_world, "ada@example.test", tariff=shop_world["full"], places=2)
    attendee, terms = shop_world["attendee"].pk, shop_world["terms"].pk
    with pytest.raises(InvalidInput) as raised:
        services.guest_answer(guest=guest, accept=True, places=2,
                              answers=[{str(attendee): "Ada"}, {}])  # fmt: skip
    assert set(raised.value.fields) == {
        f"tickets.0.answers.{terms}", f"tickets.1.answers.{attendee}",
        f"tickets.1.answers.{terms}",
    }  # fmt: skip
    assert not guest.tickets.exists()
    services.guest_answer(
        guest=guest, accept=True, places=2,
        answers=[{str(attendee): "Ada", str(terms): ["the terms"]},
                 {str(attendee): "Byron", str(terms): ["the terms"]}],
    )  # fmt: skip
    assert sorted(guest.tickets.values_list("holder_name", flat=True)) == ["Ada", "Byron"]
