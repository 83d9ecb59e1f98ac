"""An event's invitations in the Manager: the two texts with their variables, preview and
errors; sending the invitation (to the guests not invited yet, to everyone who has not
answered, or to one guest again) as a Job whose page shows its progress and the emails it
sent; reminders planned, listed with their state and cancelled; what viewers and other
organisations get."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from panel.celery import app as celery_app
from panel.models import Job, JobStatus, Role
from tests import factories as f
from ticketing import services
from ticketing.models import EventDate, GuestMessage, GuestReminder
from ticketing.services import invitations
from ticketing.services.guests import guest_link_key
from ticketing.tasks import guest_invitations_send

ZURICH = zoneinfo.ZoneInfo("Europe/Zurich")


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """`with run_tasks():` runs the tasks queued after commit at once, as a worker would."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", True)
    return lambda: django_capture_on_commit_callbacks(execute=True)


def url(name, *args):
    return reverse(f"ticketing:{name}", args=[getattr(arg, "pk", arg) for arg in args])


def page(response) -> str:
    return response.content.decode()


def guest(world, email, name, places=1):
    return services.guest_create(
        access=world["access"], event=world["event"], name=name, email=email,
        tariff=world["free"].pk, places=places,
    )  # fmt: skip


def invite_now(world, **kwargs):
    job = invitations.invitations_start(access=world["access"], event=world["event"], **kwargs)
    guest_invitations_send(job.pk)
    return job


def local_input(moment) -> str:
    """A moment as the datetime-local input sends it, in the office's time zone."""
    return moment.astimezone(ZURICH).strftime("%Y-%m-%dT%H:%M")


def shown(moment) -> str:
    return formats.date_format(moment.astimezone(ZURICH), "DATETIME_FORMAT")


@pytest.fixture
def grace(shop_world):
    return guest(shop_world, "grace@example.test", "Grace Hopper", places=2)


@pytest.fixture
def viewer(shop_world):
    org = shop_world["org"]
    user = f.MembershipFactory(organisation=org, role=Role.USER, user__email="v@x.test").user
    team = f.TeamFactory(organisation=org, name="Box office")
    f.TeamMemberFactory(team=team, user=user)
    f.GrantFactory(team=team, product_type="ticketing", product_id=shop_world["office"].pk,
                   level="view")  # fmt: skip
    return user


def reminder_in(world, hours=2):
    return invitations.reminder_create(
        access=world["access"], event=world["event"],
        send_at=timezone.now() + datetime.timedelta(hours=hours),
    )  # fmt: skip


# -- the page and its texts -------------------------------------------------------------------


def test_the_page_shows_both_texts_their_preview_and_the_variables(login, shop_world, grace):
    client = login(shop_world["legal"])
    response = client.get(url("guest-invitations", shop_world["org"], shop_world["event"]))
    assert response.status_code == 200
    html = page(response)
    for kind in ("invitation", "reminder"):
        assert f'data-testid="editor-{kind}"' in html and f'name="{kind}-subject"' in html
    assert html.count("Default text") == 2
    assert "You are invited: {{ event }}" in html  # the default subject, in the editor
    assert "You are invited: Le Misanthrope" in html  # and as the guest reads it
    assert "Hello Grace Hopper," in html and "Places offered to you: 2." in html
    assert "personal page: https://…/guests/…/" in html and guest_link_key(grace) not in html
    assert "the guest&#x27;s personal page to accept or decline" in html
    assert "<code>{{ link }}</code>" in html
    assert 'data-testid="reminder-form"' in html and "Send invitations" in html
    assert "Times are in the Europe/Zurich time zone." in html
    listed = page(client.get(url("guest-list", shop_world["org"], shop_world["event"])))
    assert url("guest-invitations", shop_world["org"], shop_world["event"]) in listed
    assert "Not invited yet" in listed


def test_a_viewer_reads_the_page_without_forms_and_may_not_post(login, shop_world, grace, viewer):
    reminder = reminder_in(shop_world)
    client = login(viewer)
    org, event = shop_world["org"], shop_world["event"]
    response = client.get(url("guest-invitations", org, event))
    assert response.status_code == 200
    html = page(response)
    assert "Hello Grace Hopper," in html and "<code>{{ link }}</code>" in html
    assert guest_link_key(grace) not in html  # the preview does not give her link away
    assert "Planned" in html
    for hidden in ('name="invitation-subject"', 'data-testid="reminder-form"',
                   "Send invitations", url("guest-reminder-delete", org, reminder)):  # fmt: skip
        assert hidden not in html
    assert "Invitations" in page(client.get(url("guest-list", org, event)))
    text = {"invitation-subject": "Hi", "invitation-body": "{{ link }}"}
    posts = [
        (url("guest-message-edit", org, event, "invitation"), {**text, "action": "save"}),
        (url("guest-message-edit", org, event, "invitation"), {**text, "action": "preview"}),
        (url("guest-invitations-send", org, event), {"to": "new"}),
        (url("guest-invite", org, grace), {}),
        (url("guest-reminder-create", org, event), {"reminder-send_at": "2100-01-01T10:00"}),
        (url("guest-reminder-delete", org, reminder), {}),
    ]
    for target, data in posts:
        assert client.post(target, data).status_code == 403, target
    assert client.get(url("guest-invitations-send", org, event)).status_code == 403
    assert client.get(url("guest-invite", org, grace)).status_code == 403
    assert not GuestMessage.objects.exists() and not Job.objects.exists()
    assert GuestReminder.objects.filter(pk=reminder.pk).exists()


def test_another_organisation_gets_404(login, shop_world, grace):
    reminder = reminder_in(shop_world)
    job = invite_now(shop_world)
    stranger = f.UserFactory(email="stranger@example.test")
    other = f.OrganisationFactory(name="Other", legal_representative=stranger)
    client = login(stranger)
    event = shop_world["event"]
    targets = [
        url("guest-invitations", other, event),
        url("guest-message-edit", other, event, "invitation"),
        url("guest-invitations-send", other, event),
        url("guest-invitations-job", other, event, job),
        url("guest-invitations-job-status", other, event, job),
        url("guest-reminder-create", other, event),
        url("guest-invite", other, grace),
        url("guest-reminder-delete", other, reminder),
    ]
    for target in targets:
        assert client.post(target, {"to": "new"}).status_code == 404, target
        assert client.get(target).status_code in (302, 404), target
        assert client.get(target, follow=True).status_code == 404, target
    assert Job.objects.count() == 1 and GuestReminder.objects.filter(pk=reminder.pk).exists()


def test_a_bad_text_shows_the_errors_under_its_fields_and_keeps_nothing(login, shop_world):
    client = login(shop_world["legal"])
    org, event = shop_world["org"], shop_world["event"]
    answer = client.post(
        url("guest-message-edit", org, event, "invitation"),
        {"invitation-subject": "Welcome {{ nom }}", "invitation-body": "See you {{ dtae }}.",
         "action": "save"},
    )  # fmt: skip
    assert answer.status_code == 200
    [editor] = [e for e in answer.context["editors"] if e["kind"] == "invitation"]
    assert editor["form"].errors["subject"] == ["Unknown variable: {{ nom }}."]
    assert "Unknown variable: {{ dtae }}." in editor["form"].errors["body"]
    html = page(answer)
    assert "Unknown variable: {{ nom }}." in html
    assert "Put {{ link }} in the message: it is how the guest answers." in html
    assert "Welcome {{ nom }}" in html  # what was typed stays in the field
    assert not GuestMessage.objects.exists()
    empty = client.post(
        url("guest-message-edit", org, event, "reminder"),
        {"reminder-subject": "", "reminder-body": "{{ link }}", "action": "save"},
    )
    [editor] = [e for e in empty.context["editors"] if e["kind"] == "reminder"]
    assert editor["form"].errors["subject"] == ["This field is required."]
    assert not GuestMessage.objects.exists()
    assert client.post(url("guest-message-edit", org, event, "other"), {}).status_code == 404


def test_preview_shows_the_posted_text_and_save_keeps_it(login, shop_world, grace):
    client = login(shop_world["legal"])
    org, event = shop_world["org"], shop_world["event"]
    text = {"reminder-subject": "{{ name }}, still coming?",
            "reminder-body": "Answer here: {{ link }}\n{{ organiser }}"}  # fmt: skip
    preview = client.post(
        url("guest-message-edit", org, event, "reminder"), {**text, "action": "preview"}
    )
    assert preview.status_code == 200
    html = page(preview)
    assert "Grace Hopper, still coming?" in html and "Théâtre du Jorat" in html
    assert "The preview shows the text above, not saved yet." in html
    assert not GuestMessage.objects.exists()

    saved = client.post(
        url("guest-message-edit", org, event, "reminder"), {**text, "action": "save"}
    )
    target = url("guest-invitations", org, event)
    assert saved.status_code == 302 and saved.url == target + "#reminder"
    message = GuestMessage.objects.get()
    assert (message.kind, message.subject) == ("reminder", "{{ name }}, still coming?")
    html = page(client.get(target))
    assert "The reminder text is saved." in html
    assert html.count("Default text") == 1 and "Your text" in html
    assert "Grace Hopper, still coming?" in html

    back = client.post(url("guest-message-edit", org, event, "reminder"), {"action": "reset"})
    assert back.status_code == 302 and not GuestMessage.objects.exists()
    html = page(client.get(target))
    assert "The default text is back." in html and "Your text" not in html


# -- sending ----------------------------------------------------------------------------------


def test_sending_starts_a_job_whose_page_shows_the_emails_sent(login, shop_world, grace,
                                                               mailoutbox, run_tasks):  # fmt: skip
    guest(shop_world, "alan@example.test", "Alan Turing")
    client = login(shop_world["legal"])
    org, event = shop_world["org"], shop_world["event"]
    ask = page(client.get(url("guest-invitations-send", org, event)))
    assert "2 guests not invited yet" in ask and "2 guests who have not answered" in ask
    assert "You are invited: Le Misanthrope" in ask  # the email, to look at before

    with run_tasks():
        answer = client.post(url("guest-invitations-send", org, event), {"to": "new"})
        job = Job.objects.get()
        assert answer.status_code == 302
        assert answer.url == url("guest-invitations-job", org, event, job)
        waiting = page(client.get(answer.url))
        assert "The invitation to 2 guests." in waiting and "data-job-progress" in waiting
        status_url = url("guest-invitations-job-status", org, event, job)
        assert f'data-job-url="{status_url}"' in waiting
        assert mailoutbox == []  # nothing goes before the commit
    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"sent": 2})
    assert sorted(m.to[0] for m in mailoutbox) == ["alan@example.test", "grace@example.test"]
    assert all(m.subject == "You are invited: Le Misanthrope" for m in mailoutbox)
    done = page(client.get(answer.url))
    assert 'data-job-status="succeeded"' in done and "Done: 2 invitations were sent." in done
    assert "data-job-url" not in done
    state = client.get(status_url).json()
    assert (state["status"], state["done"], state["total"]) == ("succeeded", 2, 2)
    assert state["sent_text"] == "Done: 2 invitations were sent."

    grace.refresh_from_db()
    listed = page(client.get(url("guest-list", org, event)))
    assert f"Invited {shown(grace.invited_at)}" in listed and "Send again" in listed


def test_sending_again_writes_to_everyone_not_answered_only(login, shop_world, grace,
                                                            mailoutbox, run_tasks):  # fmt: skip
    accepted = guest(shop_world, "yes@example.test", "Yes Man")
    invite_now(shop_world)
    services.guest_answer(guest=accepted, accept=True, places=1)
    guest(shop_world, "late@example.test", "Late Comer")
    mailoutbox.clear()
    client = login(shop_world["legal"])
    org, event = shop_world["org"], shop_world["event"]
    ask = page(client.get(url("guest-invitations-send", org, event)))
    assert "1 guest not invited yet" in ask and "2 guests who have not answered" in ask
    with run_tasks():
        answer = client.post(url("guest-invitations-send", org, event), {"to": "unanswered"})
    assert answer.status_code == 302
    assert sorted(m.to[0] for m in mailoutbox) == ["grace@example.test", "late@example.test"]


def test_nobody_to_invite_or_an_event_over_is_said_clearly(login, shop_world, grace):
    invite_now(shop_world)
    client = login(shop_world["legal"])
    org, event = shop_world["org"], shop_world["event"]
    target = url("guest-invitations-send", org, event)
    assert "0 guests not invited yet" in page(client.get(target))
    answer = client.post(target, {"to": "new"}, follow=True)
    assert answer.status_code == 200
    assert answer.redirect_chain == [(target, 302)]
    assert "Every guest chosen has been invited already." in page(answer)

    EventDate.objects.filter(event=event).update(
        starts_at=timezone.now() - datetime.timedelta(days=1)
    )
    over = client.post(target, {"to": "unanswered"}, follow=True)
    assert over.status_code == 200 and "This event has no date to come." in page(over)
    assert Job.objects.count() == 1


def test_one_guest_gets_the_invitation_again(login, shop_world, grace, mailoutbox, run_tasks):
    guest(shop_world, "alan@example.test", "Alan Turing")
    invite_now(shop_world)
    mailoutbox.clear()
    client = login(shop_world["legal"])
    org, event = shop_world["org"], shop_world["event"]
    target = url("guest-invite", org, grace)
    ask = page(client.get(target))
    assert "Send the invitation to Grace Hopper again?" in ask and "grace@example.test" in ask
    assert mailoutbox == []
    with run_tasks():
        answer = client.post(target)
    job = Job.objects.latest("pk")
    assert answer.url == url("guest-invitations-job", org, event, job)
    assert job.params["guests"] == [grace.pk] and job.params["again"] is True
    assert [m.to for m in mailoutbox] == [["grace@example.test"]]
    assert "Done: 1 invitation was sent." in page(client.get(answer.url))


# -- reminders --------------------------------------------------------------------------------


def test_a_reminder_is_planned_in_local_time_listed_and_cancelled(login, shop_world, grace):
    invite_now(shop_world)
    client = login(shop_world["legal"])
    org, event = shop_world["org"], shop_world["event"]
    target = url("guest-reminder-create", org, event)
    moment = (timezone.now() + datetime.timedelta(days=3)).replace(second=0, microsecond=0)

    past = client.post(
        target, {"reminder-send_at": local_input(moment - datetime.timedelta(days=4))}
    )
    assert past.status_code == 200 and "Choose a moment in the future." in page(past)
    late = client.post(
        target, {"reminder-send_at": local_input(moment + datetime.timedelta(days=40))}
    )
    assert "Choose a moment before the event starts." in page(late)
    assert not GuestReminder.objects.exists()

    answer = client.post(target, {"reminder-send_at": local_input(moment)})
    assert answer.status_code == 302
    assert answer.url == url("guest-invitations", org, event) + "#reminders"
    reminder = GuestReminder.objects.get()
    assert reminder.send_at == moment
    html = page(client.get(url("guest-invitations", org, event)))
    assert shown(moment) in html and "Planned" in html
    assert "1 guest invited has not answered yet" in html

    cancel = url("guest-reminder-delete", org, reminder)
    question = page(client.get(cancel))
    assert f"Cancel the reminder of {shown(moment)}?" in question
    assert GuestReminder.objects.exists()
    done = client.post(cancel, follow=True)
    assert not GuestReminder.objects.exists()
    assert f"The reminder of {shown(moment)} is cancelled." in page(done)
    assert "No reminder planned." in page(done)


def test_a_reminder_sent_links_its_job_and_cannot_be_cancelled(login, shop_world, grace, viewer,
                                                               mailoutbox, run_tasks):  # fmt: skip
    invite_now(shop_world)
    mailoutbox.clear()
    reminder = reminder_in(shop_world)
    with run_tasks():
        GuestReminder.objects.filter(pk=reminder.pk).update(send_at=timezone.now())
        assert invitations.reminders_start_due() == 1
    reminder.refresh_from_db()
    assert [m.to for m in mailoutbox] == [["grace@example.test"]]
    org, event = shop_world["org"], shop_world["event"]
    job_page = url("guest-invitations-job", org, event, reminder.job_id)

    client = login(viewer)  # a viewer follows it too, though the Job is nobody's
    html = page(client.get(url("guest-invitations", org, event)))
    assert "Sent" in html and "1 guest reminded" in html and job_page in html
    progress = page(client.get(job_page))
    assert "Reminders to guests" in progress and "Done: 1 reminder was sent." in progress

    client = login(shop_world["legal"])
    assert url("guest-reminder-delete", org, reminder) not in page(
        client.get(url("guest-invitations", org, event))
    )
    refused = client.post(url("guest-reminder-delete", org, reminder), follow=True)
    assert "This reminder has been sent already." in page(refused)
    assert GuestReminder.objects.filter(pk=reminder.pk).exists()
    grace.refresh_from_db()
    listed = page(client.get(url("guest-list", org, event)))
    assert f"Reminded {shown(grace.reminded_at)}" in listed


def test_a_job_of_another_event_or_kind_has_no_page_here(login, shop_world, grace):
    job = invite_now(shop_world)
    other = services.event_create(access=shop_world["access"], office=shop_world["office"],
                                  title="Tartuffe")  # fmt: skip
    export = Job.objects.create(organisation=shop_world["org"], kind="ticketing_export",
                                actor=shop_world["legal"],
                                params={"event": shop_world["event"].pk})  # fmt: skip
    client = login(shop_world["legal"])
    org = shop_world["org"]
    assert (
        client.get(url("guest-invitations-job", org, shop_world["event"], job)).status_code == 200
    )
    assert client.get(url("guest-invitations-job", org, other, job)).status_code == 404
    assert (
        client.get(url("guest-invitations-job", org, shop_world["event"], export)).status_code
        == 404
    )
