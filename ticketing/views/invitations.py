"""An event's invitations in the Manager: the texts of the invitation and reminder emails
with their variables and a preview, sending the invitation to the guests (all those not
invited yet, everyone who has not answered, or one guest again) as a Job whose progress
has its own page, and reminders planned for a moment, listed with their state and
cancelled while they wait.

The rules are in services/invitations.py; these views ask for the input, call it, and
show its refusals under the fields or as a message. VIEW_PRODUCT on the office sees the
texts, the reminders and the Jobs' progress; MANAGE_PRODUCT changes them."""

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from panel.access import Capability
from panel.mixins import organisation_view, post_only
from panel.models import JobStatus
from panel.views.common import confirm_then_run, job_label
from panel.views.jobs import job_state

from .. import selectors, services
from ..event_forms import DateTimeLocalInput, time_zone_note
from ..models import GuestMessageKind, GuestStatus
from ..services import invitations
from .common import found_or_404, require_manage, run_or_403, submit_form
from .guests import guests_url

KINDS = {
    GuestMessageKind.INVITATION: {
        "title": gettext_lazy("Invitation email"),
        "help": gettext_lazy("Sent when you send the invitations, and again on demand."),
        "saved": gettext_lazy("The invitation text is saved."),
    },
    GuestMessageKind.REMINDER: {
        "title": gettext_lazy("Reminder email"),
        "help": gettext_lazy(
            "Sent by a planned reminder to the guests invited who have not answered."
        ),
        "saved": gettext_lazy("The reminder text is saved."),
    },
}
JOB_KINDS = (invitations.INVITATIONS_JOB, invitations.REMINDERS_JOB)
#: The choices of the Send page: who gets the invitation.
NEW, UNANSWERED = "new", "unanswered"


class GuestMessageForm(forms.Form):
    """The subject and body of one email; the service checks the variables and the link."""

    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, strip=False)
    body = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "true"}),
    )

    def values(self) -> dict:
        return {"subject": self.cleaned_data["subject"], "body": self.cleaned_data["body"]}


class ReminderForm(forms.Form):
    send_at = forms.DateTimeField(
        label=gettext_lazy("Send at"),
        widget=DateTimeLocalInput(),
        error_messages={"required": gettext_lazy("Give a date and time.")},
    )

    def values(self) -> dict:
        return dict(self.cleaned_data)


class SendForm(forms.Form):
    to = forms.ChoiceField(
        choices=[(NEW, NEW), (UNANSWERED, UNANSWERED)], widget=forms.RadioSelect, initial=NEW
    )


def invitations_url(event, anchor: str = "") -> str:
    url = reverse("ticketing:guest-invitations", args=[event.organisation_id, event.pk])
    return f"{url}#{anchor}" if anchor else url


def job_url(event, job) -> str:
    return reverse(
        "ticketing:guest-invitations-job", args=[event.organisation_id, event.pk, job.pk]
    )


def _kind_or_404(kind: str) -> str:
    if kind not in GuestMessageKind.values:
        raise Http404()
    return kind


def _guest_counts(event) -> dict:
    """How many guests there are, not invited yet, and not answered, in one query; the
    silent ones (whom a reminder writes to) are the service's own count."""
    counts = event.guests.aggregate(
        total=Count("id"),
        new=Count("id", filter=Q(invited_at__isnull=True)),
        unanswered=Count("id", filter=Q(status=GuestStatus.INVITED)),
    )
    counts["silent"] = invitations.silent_guests(event.pk).count()
    return counts


def _preview(event, kind: str, *, subject: str, body: str) -> dict:
    return invitations.guest_message_preview(event=event, kind=kind, subject=subject, body=body)


def _reminder_state(reminder) -> tuple[str, str, str]:
    """(state, label, badge) of a reminder: planned, sending, sent or failed."""
    job = reminder.job
    if reminder.started_at is None:
        return "planned", _("Planned"), "badge-blue"
    if job is not None and not job.is_finished:
        return "sending", _("Sending"), "badge-amber"
    if job is not None and job.status != JobStatus.SUCCEEDED:
        return "failed", _("Failed"), "badge-red"
    return "sent", _("Sent"), "badge-green"


def _reminders(event) -> list:
    reminders = list(event.guest_reminders.select_related("job").order_by("send_at", "pk"))
    for reminder in reminders:
        reminder.state, reminder.state_label, reminder.badge = _reminder_state(reminder)
        sent = (reminder.job.result or {}).get("sent") if reminder.job else None
        reminder.sent_text = (
            ngettext("%(n)d guest reminded", "%(n)d guests reminded", sent) % {"n": sent}
            if reminder.state == "sent" and sent is not None
            else ""
        )
    return reminders


def _page(request, access, event, *, bound=None, reminder_form=None):
    """The Invitations page; `bound` is the one text form posted (its kind's editor shows
    it, with a preview of that text rather than of the saved one)."""
    office = event.office
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    editors = []
    for kind, about in KINDS.items():
        message = invitations.guest_message(event=event, kind=kind)
        form = bound if bound is not None and bound.prefix == kind else None
        # A text posted (to preview, or refused) is previewed as typed, not the saved one.
        text = (
            {name: form[name].value() or "" for name in ("subject", "body")}
            if form is not None
            else {"subject": message.subject, "body": message.body}
        )
        preview = _preview(event, kind, **text)
        editors.append(
            {
                "kind": kind,
                "title": about["title"],
                "help": about["help"],
                "custom": message.pk is not None,
                "updated_at": message.updated_at if message.pk else None,
                "message": message,
                "form": form
                or GuestMessageForm(
                    prefix=kind, initial={"subject": message.subject, "body": message.body}
                ),
                "preview": preview,
                "unsaved": form is not None,
            }
        )
    context = {
        "office": office,
        "event": event,
        "editors": editors,
        "variables": [
            ("{{ " + name + " }}", meaning) for name, meaning in invitations.VARIABLES.items()
        ],
        "counts": _guest_counts(event),
        "reminders": _reminders(event),
        "can_manage": can_manage,
        "tab": "events",
    }
    if can_manage:
        context.update(
            reminder_form=reminder_form or ReminderForm(prefix="reminder"),
            time_zone_note=time_zone_note(),
        )
    return render(request, "ticketing/guest_invitations.html", context)


@organisation_view()
def guest_invitations(request, access, event_id):
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    return _page(request, access, event)


@organisation_view()
@post_only
def guest_message_edit(request, access, event_id, kind):
    """Saves one text (`action=save`), shows how the posted text reads (`preview`), or
    goes back to the default text (`reset`)."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    kind = _kind_or_404(kind)
    require_manage(access, event.office)
    form = GuestMessageForm(request.POST, prefix=kind)
    action = request.POST.get("action")
    if action == "preview":
        return _page(request, access, event, bound=form)
    if action == "reset":
        ok, _message = run_or_403(
            request, invitations.guest_message_reset, access=access, event=event, kind=kind
        )
        if ok:
            messages.success(request, _("The default text is back."))
        return redirect(invitations_url(event, kind))
    saved = submit_form(
        request,
        form,
        invitations.guest_message_save,
        access=access,
        event=event,
        kind=kind,
        success=KINDS[kind]["saved"],
    )
    if saved is None:
        return _page(request, access, event, bound=form)
    return redirect(invitations_url(event, kind))


# -- sending ----------------------------------------------------------------------------------


def _start(request, access, event, *, guests, again):
    ok, job = run_or_403(
        request, invitations.invitations_start, access=access, event=event, guests=guests,
        again=again,
    )  # fmt: skip
    return job if ok else None


@organisation_view()
def guest_invitations_send(request, access, event_id):
    """Asks who gets the invitation and how many they are, then starts the Job."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    require_manage(access, event.office)
    back = reverse("ticketing:guest-invitations-send", args=[event.organisation_id, event.pk])
    counts = _guest_counts(event)
    if request.method == "POST":
        form = SendForm(request.POST)
        if not form.is_valid():
            return redirect(back)
        if form.cleaned_data["to"] == UNANSWERED:
            job = _start(request, access, event, guests=None, again=True)
        else:
            job = _start(request, access, event, guests=None, again=False)
        return redirect(job_url(event, job) if job else back)
    choice = NEW if counts["new"] or not counts["unanswered"] else UNANSWERED
    kind = GuestMessageKind.INVITATION
    message = invitations.guest_message(event=event, kind=kind)
    return render(
        request,
        "ticketing/guest_invitations_send.html",
        {
            "office": event.office,
            "event": event,
            "counts": counts,
            "choice": choice,
            "custom": message.pk is not None,
            "preview": _preview(event, kind, subject=message.subject, body=message.body),
            "cancel_url": invitations_url(event),
            "tab": "events",
        },
    )


@organisation_view()
def guest_invite(request, access, guest_id):
    """Sends one guest their invitation (again), after asking."""
    guest = found_or_404(services.guest_for, access, guest_id=guest_id)
    event = guest.event
    require_manage(access, event.office)
    if request.method == "POST":
        job = _start(request, access, event, guests=[guest.pk], again=True)
        return redirect(job_url(event, job) if job else guests_url(event))
    return render(
        request,
        "ticketing/guest_invitations_send.html",
        {
            "office": event.office,
            "event": event,
            "guest": guest,
            "cancel_url": guests_url(event),
            "tab": "events",
        },
    )


def _event_job(access, event, job_id):
    """A Job that writes to the event's guests: its page is for whoever sees the event,
    like the guest list, whoever started it (a reminder's Job has nobody)."""
    job = (
        access.organisation.jobs.filter(pk=job_id, kind__in=JOB_KINDS)
        .select_related("actor")
        .first()
    )
    if job is None or (job.params or {}).get("event") != event.pk:
        raise Http404()
    return job


def _sent_text(job) -> str:
    sent = (job.result or {}).get("sent", job.done)
    if job.kind == invitations.REMINDERS_JOB:
        return ngettext(
            "Done: %(n)d reminder was sent.", "Done: %(n)d reminders were sent.", sent
        ) % {"n": sent}
    return ngettext(
        "Done: %(n)d invitation was sent.", "Done: %(n)d invitations were sent.", sent
    ) % {"n": sent}


def _job_state(access, job) -> dict:
    return {**job_state(job, access.organisation.pk), "sent_text": _sent_text(job)}


@organisation_view()
def guest_invitations_job(request, access, event_id, job_id):
    """The sending's progress, refreshed live by panel.js from the status below."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    job = _event_job(access, event, job_id)
    job.label = job_label(job)
    count = len((job.params or {}).get("guests") or []) or job.total
    if job.kind == invitations.REMINDERS_JOB:
        reminder = event.guest_reminders.filter(job=job).first()
        summary = (
            _("The reminder planned for %(when)s, to the guests invited who have not answered.")
            % {"when": formats.date_format(timezone.localtime(reminder.send_at), "DATETIME_FORMAT")}
            if reminder
            else _("A reminder to the guests invited who have not answered.")
        )
    else:
        summary = ngettext(
            "The invitation to %(n)d guest.", "The invitation to %(n)d guests.", count
        ) % {"n": count}
    return render(
        request,
        "ticketing/guest_invitations_job.html",
        {
            "office": event.office,
            "event": event,
            "job": job,
            "state": _job_state(access, job),
            "summary": summary,
            "tab": "events",
        },
    )


@organisation_view()
def guest_invitations_job_status(request, access, event_id, job_id):
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    return JsonResponse(_job_state(access, _event_job(access, event, job_id)))


# -- reminders --------------------------------------------------------------------------------


@organisation_view()
@post_only
def guest_reminder_create(request, access, event_id):
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    require_manage(access, event.office)
    form = ReminderForm(request.POST, prefix="reminder")
    reminder = submit_form(
        request,
        form,
        invitations.reminder_create,
        access=access,
        event=event,
        success=_("Reminder planned."),
    )
    if reminder is None:
        return _page(request, access, event, reminder_form=form)
    return redirect(invitations_url(event, "reminders"))


@organisation_view()
def guest_reminder_delete(request, access, reminder_id):
    reminder = found_or_404(invitations.reminder_for, access, reminder_id=reminder_id)
    event = reminder.event
    require_manage(access, event.office)
    back = invitations_url(event, "reminders")
    when = formats.date_format(timezone.localtime(reminder.send_at), "DATETIME_FORMAT")
    return confirm_then_run(
        request,
        title=_("Cancel a reminder"),
        question=_("Cancel the reminder of %(when)s?") % {"when": when},
        detail=_("The guests who have not answered will not get it; you can plan another."),
        button=_("Cancel the reminder"),
        keep_label=_("Keep the reminder"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            invitations.reminder_delete,
            access=access,
            reminder=reminder,
            success=_("The reminder of %(when)s is cancelled.") % {"when": when},
        ),
        done_url=back,
    )


urlpatterns = [
    path("events/<int:event_id>/invitations/", guest_invitations, name="guest-invitations"),
    path(
        "events/<int:event_id>/invitations/send/",
        guest_invitations_send,
        name="guest-invitations-send",
    ),
    path(
        "events/<int:event_id>/invitations/jobs/<int:job_id>/",
        guest_invitations_job,
        name="guest-invitations-job",
    ),
    path(
        "events/<int:event_id>/invitations/jobs/<int:job_id>/status/",
        guest_invitations_job_status,
        name="guest-invitations-job-status",
    ),
    path(
        "events/<int:event_id>/invitations/reminders/",
        guest_reminder_create,
        name="guest-reminder-create",
    ),
    path(
        "events/<int:event_id>/invitations/<str:kind>/",
        guest_message_edit,
        name="guest-message-edit",
    ),
    path("guests/<int:guest_id>/invite/", guest_invite, name="guest-invite"),
    path(
        "reminders/<int:reminder_id>/cancel/", guest_reminder_delete, name="guest-reminder-delete"
    ),
]
