"""Invitations and reminders to an event's guests, by email, from texts the organiser
edits.

- The texts (`GuestMessage`, one invitation and one reminder per event) use variables
  written `{{ name }}`; an unknown variable is refused when the text is saved, naming it,
  and the message must carry `{{ link }}`, the guest's personal page. Until the organiser
  saves a text, the panel's default one is used.
- Sending is a Job (`ticketing_guest_invitations`): it notes `invited_at` on each guest
  right after their email is accepted by the mail server, and skips guests this very Job
  already invited, so a Job delivered again after a worker restart carries on where it
  stopped instead of writing twice to anyone. (Only a crash in the instant between the
  server accepting a message and the row being written could repeat that one email.)
- A reminder (`GuestReminder`) is planned for a date; the beat starts its Job once
  (`reminders_start_due`, under the row's lock), and that Job writes once to each guest
  invited and still silent, by the same rule with `reminded_at`.
"""

import re
import smtplib
import zoneinfo
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, NotFound, PanelError, Problems

from ..models import Event, Guest, GuestMessage, GuestMessageKind, GuestReminder, GuestStatus

INVITATIONS_JOB = "ticketing_guest_invitations"
REMINDERS_JOB = "ticketing_guest_reminders"
MAX_SUBJECT = 200
MAX_BODY = 10000

#: The variables a text may use, and what each stands for (shown beside the editor).
VARIABLES = {
    "name": gettext_lazy("the guest's name"),
    "company": gettext_lazy("the guest's company"),
    "places": gettext_lazy("the number of places offered"),
    "event": gettext_lazy("the event's title"),
    "date": gettext_lazy("the date and time of the event"),
    "venue": gettext_lazy("the venue"),
    "zone": gettext_lazy("the zone of the seats"),
    "organiser": gettext_lazy("the ticket office's name"),
    "link": gettext_lazy("the guest's personal page to accept or decline"),
}
VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _defaults(kind: str) -> tuple[str, str]:
    if kind == GuestMessageKind.REMINDER:
        return (
            _("Reminder: your invitation to {{ event }}"),
            _(
                "Hello {{ name }},\n\n"
                "We have not heard from you yet about {{ event }} on {{ date }}. "
                "Your places are kept for you: tell us whether you will come.\n\n"
                "Accept or decline: {{ link }}\n\n"
                "{{ organiser }}"
            ),
        )
    return (
        _("You are invited: {{ event }}"),
        _(
            "Hello {{ name }},\n\n"
            "{{ organiser }} is pleased to invite you to {{ event }} on {{ date }} "
            "({{ venue }}).\n\n"
            "Places offered to you: {{ places }}. Accept or decline on your personal "
            "page: {{ link }}\n\n"
            "We look forward to seeing you.\n{{ organiser }}"
        ),
    )


# -- the texts --------------------------------------------------------------------------------


#: What a preview shows in place of a guest's personal link.
LINK_SAMPLE = "https://…/guests/…/"


def guest_message(*, event: Event, kind: str) -> GuestMessage:
    """The text of `kind` the event's guests receive: the organiser's, or the default
    (unsaved, `pk` None)."""
    if kind not in GuestMessageKind.values:
        raise NotFound()
    saved = event.guest_messages.filter(kind=kind).first()
    if saved is not None:
        return saved
    subject, body = _defaults(kind)
    return GuestMessage(
        organisation_id=event.organisation_id, event=event, kind=kind, subject=subject, body=body
    )


def _unknown_variables(text: str) -> list[str]:
    return sorted({name for name in VARIABLE.findall(text) if name not in VARIABLES})


def _check_text(field: str, text, *, most: int, need_link: bool) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(fields={field: [_("This field is required.")]})
    problems = []
    if len(text) > most:
        problems.append(_("Keep it under %(n)d characters.") % {"n": most})
    unknown = _unknown_variables(text)
    if unknown:
        problems.append(
            ngettext("Unknown variable: %(names)s.", "Unknown variables: %(names)s.", len(unknown))
            % {"names": ", ".join("{{ " + name + " }}" for name in unknown)}
        )
    if need_link and "link" not in VARIABLE.findall(text):
        problems.append(_("Put {{ link }} in the message: it is how the guest answers."))
    if problems:
        raise InvalidInput(fields={field: problems})
    return text


@transaction.atomic
def guest_message_save(*, access: Access, event: Event, kind: str, subject, body) -> GuestMessage:
    """Saves the organiser's text of `kind` (MANAGE_PRODUCT). Raises InvalidInput naming
    `subject` and `body`: empty, too long, an unknown variable, a message without
    {{ link }}."""
    access.require(Capability.MANAGE_PRODUCT, event.office)
    message = guest_message(event=event, kind=kind)
    problems = Problems()
    subject = problems.check(_check_text, "subject", subject, most=MAX_SUBJECT, need_link=False)
    if subject and "\n" in subject:
        problems.add("subject", _("The subject is one line."))
    body = problems.check(_check_text, "body", body, most=MAX_BODY, need_link=True)
    problems.raise_if_any()
    message.subject, message.body, message.updated_at = subject, body, timezone.now()
    message.save()
    record_by(access, "ticketing.guest_message.saved", event.office, {"kind": kind})
    return message


@transaction.atomic
def guest_message_reset(*, access: Access, event: Event, kind: str) -> GuestMessage:
    """Goes back to the panel's default text of `kind` (MANAGE_PRODUCT): the saved one is
    dropped, so the default is written in the language active when each email goes out."""
    access.require(Capability.MANAGE_PRODUCT, event.office)
    message = guest_message(event=event, kind=kind)
    if message.pk is not None:
        message.delete()
        record_by(access, "ticketing.guest_message.reset", event.office, {"kind": kind})
    return guest_message(event=event, kind=kind)


def _values(guest: Guest, link: str) -> dict[str, str]:
    date = guest.tariff.zone.date
    local = timezone.localtime(date.starts_at, zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return {
        "name": guest.name,
        "company": guest.company,
        "places": str(guest.places),
        "event": guest.event.title,
        "date": formats.date_format(local, "DATETIME_FORMAT"),
        "venue": guest.event.venue,
        "zone": guest.tariff.zone.name,
        "organiser": guest.event.office.name,
        "link": link,
    }


def render_text(text: str, values: dict[str, str]) -> str:
    """`text` with each {{ variable }} replaced by its value (plain text: nothing in a
    value is read as a variable again)."""
    return VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def guest_link_url(guest: Guest) -> str:
    from django.urls import reverse

    from .guests import guest_link_key

    base = getattr(settings, "PANEL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return base + reverse("shop:guest", args=[guest.event.office.slug, guest_link_key(guest)])


def guest_email(guest: Guest, message: GuestMessage) -> mail.EmailMessage:
    """The email of `message` for `guest`, with their personal link."""
    values = _values(guest, guest_link_url(guest))
    office = guest.event.office
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    subject = " ".join(render_text(message.subject, values).split())
    return mail.EmailMessage(
        subject=subject,
        body=render_text(message.body, values),
        from_email=formataddr((office.name, sender)),
        to=[guest.email],
        reply_to=[office.contact_email] if office.contact_email else None,
    )


def guest_message_preview(*, event: Event, kind: str, subject=None, body=None) -> dict:
    """The text as the first guest (or a sample guest) would read it, with a sample in
    place of the guest's link: their real link is theirs alone (the list shows it once)."""
    message = guest_message(event=event, kind=kind)
    if subject is not None:
        message.subject = subject
    if body is not None:
        message.body = body
    guest = event.guests.select_related("tariff__zone__date", "event__office").first()
    if guest is None:
        date = event.dates.order_by("starts_at").first()
        zone = date.zones.first() if date else None
        values = {
            "name": "Ada Lovelace",
            "company": "Analytical Engines",
            "places": "2",
            "event": event.title,
            "date": formats.date_format(timezone.localtime(date.starts_at), "DATETIME_FORMAT")
            if date
            else "",
            "venue": event.venue,
            "zone": zone.name if zone else "",
            "organiser": event.office.name,
            "link": LINK_SAMPLE,
        }
    else:
        values = _values(guest, LINK_SAMPLE)
    return {
        "subject": " ".join(render_text(message.subject, values).split()),
        "body": render_text(message.body, values),
    }


# -- sending invitations ----------------------------------------------------------------------


def _event_guest_ids(event: Event, guest_ids) -> list[int]:
    try:
        wanted = sorted({int(pk) for pk in guest_ids})
    except (TypeError, ValueError):
        raise InvalidInput(fields={"guests": [_("Give the guests by id.")]}) from None
    found = set(event.guests.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise InvalidInput(
            fields={
                "guests": [
                    _("Not guests of this event: %(ids)s.")
                    % {"ids": ", ".join(str(pk) for pk in missing)}
                ]
            }
        )
    return wanted


@transaction.atomic
def invitations_start(*, access: Access, event: Event, guests=None, again: bool = False):
    """Starts the Job that emails the invitation (MANAGE_PRODUCT): to `guests` (ids of
    the event's guests) or else to every guest not invited yet; `again` writes once more
    to those already invited: to the guests named, or else to every guest who has not
    answered (never, unasked, to one who accepted or declined). Raises InvalidInput
    `guests`, or Conflict when nobody is left to invite or the event is over. Returns the
    Job."""
    from panel.jobs import job_enqueue

    access.require(Capability.MANAGE_PRODUCT, event.office)
    targets = event.guests.all()
    if guests is not None:
        targets = targets.filter(pk__in=_event_guest_ids(event, guests))
    if not again:
        targets = targets.filter(invited_at__isnull=True)
    elif guests is None:
        targets = targets.filter(status=GuestStatus.INVITED)
    ids = list(targets.order_by("name", "pk").values_list("pk", flat=True))
    if not ids:
        raise Conflict(
            _("Every guest has answered already.")
            if again and guests is None
            else _("Every guest chosen has been invited already."),
            code="nobody_to_invite",
        )
    if not event.dates.filter(starts_at__gt=timezone.now(), cancelled_at__isnull=True).exists():
        raise Conflict(_("This event has no date to come."), code="event_over")
    record_by(access, "ticketing.guests.invited", event.office, {"guests": len(ids)})
    return job_enqueue(
        organisation=access.organisation,
        actor=access.user,
        kind=INVITATIONS_JOB,
        task="ticketing.guest_invitations_send",
        params={"event": event.pk, "guests": ids, "again": bool(again)},
    )


def _send_each(job, guests, *, kind: str, stamp: str) -> int:
    """Emails the event's text of `kind` to each guest not yet stamped by this Job, stamping
    `stamp` right after the server took it. Returns how many were sent."""
    from panel.jobs import job_progress

    event = Event.objects.select_related("office").get(pk=job.params["event"])
    message = guest_message(event=event, kind=kind)
    sent = done = 0
    connection = mail.get_connection()
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as error:
        raise Conflict(
            _("The mail server cannot be reached: nobody was written to. Try again in a moment."),
            code="mail_server_unavailable",
        ) from error
    with connection:
        for guest in guests:
            guest.event = event
            stamped = getattr(guest, stamp)
            if stamped is None or stamped < job.created_at:
                email = guest_email(guest, message)
                email.connection = connection
                try:
                    email.send()
                except (OSError, smtplib.SMTPException) as error:
                    raise Conflict(
                        ngettext(
                            "The mail server stopped the sending after %(n)d email; send "
                            "again to write to the guests not reached yet.",
                            "The mail server stopped the sending after %(n)d emails; send "
                            "again to write to the guests not reached yet.",
                            sent,
                        )
                        % {"n": sent},
                        code="mail_server_unavailable",
                    ) from error
                Guest.objects.filter(pk=guest.pk).update(**{stamp: timezone.now()})
                sent += 1
            done += 1
            job_progress(job, done)
    return sent


def invitations_run(job_id: int) -> None:
    """The invitations Job: every guest it names that is still on the list."""
    from panel.jobs import job_succeed, run_job

    def guests_of(job):
        queryset = Guest.objects.filter(
            pk__in=job.params["guests"], event_id=job.params["event"]
        ).select_related("tariff__zone__date")
        if not job.params.get("again"):
            # A guest invited meanwhile by another Job is not written to twice.
            queryset = queryset.filter(
                Q(invited_at__isnull=True) | Q(invited_at__gte=job.created_at)
            )
        return queryset.order_by("name", "pk")

    def body(job):
        sent = _send_each(job, guests_of(job), kind=GuestMessageKind.INVITATION, stamp="invited_at")
        job_succeed(job, result={"sent": sent})

    try:
        run_job(job_id, body, total=lambda job: guests_of(job).count())
    except PanelError:
        pass  # the Job carries the reason


# -- reminders --------------------------------------------------------------------------------


def reminder_for(*, access: Access, reminder_id) -> GuestReminder:
    try:
        pk = int(reminder_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    reminder = (
        GuestReminder.objects.filter(pk=pk, organisation=access.organisation)
        .select_related("event__office", "job")
        .first()
    )
    if reminder is None or not access.can(Capability.VIEW_PRODUCT, reminder.event.office):
        raise NotFound()
    return reminder


def _future_moment(value):
    from django.utils.dateparse import parse_datetime

    moment = value if hasattr(value, "tzinfo") else parse_datetime(str(value or ""))
    if moment is None:
        raise InvalidInput(fields={"send_at": [_("Give a date and time.")]})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment <= timezone.now():
        raise InvalidInput(fields={"send_at": [_("Choose a moment in the future.")]})
    return moment


@transaction.atomic
def reminder_create(*, access: Access, event: Event, send_at) -> GuestReminder:
    """Plans a reminder (MANAGE_PRODUCT) to the guests who will not have answered by
    `send_at`; it must come before the event's last date starts (InvalidInput
    `send_at`)."""
    access.require(Capability.MANAGE_PRODUCT, event.office)
    moment = _future_moment(send_at)
    last = event.dates.filter(cancelled_at__isnull=True).order_by("-starts_at").first()
    if last is None or moment >= last.starts_at:
        raise InvalidInput(fields={"send_at": [_("Choose a moment before the event starts.")]})
    if event.guest_reminders.filter(send_at=moment).exists():
        raise InvalidInput(fields={"send_at": [_("A reminder is planned at this moment.")]})
    reminder = GuestReminder.objects.create(
        organisation_id=event.organisation_id, event=event, send_at=moment
    )
    record_by(access, "ticketing.guest_reminder.planned", event.office, {"at": moment.isoformat()})
    return reminder


@transaction.atomic
def reminder_delete(*, access: Access, reminder: GuestReminder) -> None:
    """Cancels a planned reminder; one already sent or being sent stays (Conflict)."""
    access.require(Capability.MANAGE_PRODUCT, reminder.event.office)
    reminder = GuestReminder.objects.select_for_update().get(pk=reminder.pk)
    if reminder.started_at is not None:
        raise Conflict(_("This reminder has been sent already."), code="reminder_sent")
    reminder.delete()


def reminders_start_due(now=None) -> int:
    """Starts the Job of every reminder whose moment has come, once: the reminder's row
    is locked and skipped by a beat running at the same time. Returns how many
    started."""
    from panel.jobs import job_enqueue

    now = now or timezone.now()
    started = 0
    while True:
        with transaction.atomic():
            reminder = (
                GuestReminder.objects.select_for_update(skip_locked=True)
                .filter(started_at__isnull=True, send_at__lte=now)
                .select_related("event__office")
                .order_by("send_at", "pk")
                .first()
            )
            if reminder is None:
                return started
            job = job_enqueue(
                organisation=reminder.event.organisation,
                actor=None,
                kind=REMINDERS_JOB,
                task="ticketing.guest_reminders_send",
                params={"event": reminder.event_id, "reminder": reminder.pk},
            )
            reminder.started_at, reminder.job = now, job
            reminder.save(update_fields=["started_at", "job"])
            started += 1


def silent_guests(event_id: int):
    """The guests a reminder writes to: invited, and not answered."""
    return Guest.objects.filter(
        event_id=event_id, status=GuestStatus.INVITED, invited_at__isnull=False
    )


def reminders_run(job_id: int) -> None:
    """The reminder's Job: each guest invited and still silent, once."""
    from panel.jobs import job_succeed, run_job

    def guests_of(job):
        return (
            silent_guests(job.params["event"])
            .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=job.created_at))
            .select_related("tariff__zone__date")
            .order_by("name", "pk")
        )

    def body(job):
        event = Event.objects.filter(pk=job.params["event"]).first()
        if event is None:
            raise Conflict(_("The event is gone."), code="event_gone")
        sent = _send_each(job, guests_of(job), kind=GuestMessageKind.REMINDER, stamp="reminded_at")
        job_succeed(job, result={"sent": sent})

    try:
        run_job(job_id, body, total=lambda job: guests_of(job).count())
    except PanelError:
        pass
