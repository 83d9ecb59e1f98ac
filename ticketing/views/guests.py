"""An event's guest list in the Manager: who is invited and where each one stands
(invited, opened, accepted, declined, checked in), with filters, a search and the count
of each state; adding a guest, whose personal link is shown once since only its hash is
kept; removing one (their seats are free again); and a CSV file of guests, checked
whole before its Job adds them.

The list answers in a bounded number of queries whatever the number of guests: one
page of guests with their state worked out in the database, and one query of counts.
VIEW_PRODUCT on the office sees the list; MANAGE_PRODUCT changes it (the services check
it again)."""

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from panel import selectors as panel_selectors
from panel.access import Capability
from panel.csv_files import CsvInvalid
from panel.mixins import organisation_view
from panel.views.common import PAGE_SIZE, confirm_then_run, job_label
from panel.views.jobs import job_state

from .. import selectors, services
from ..models import MAX_GUEST_PLACES, Tariff
from ..services.guests import GUESTS_IMPORT_JOB, MAX_FILE_BYTES, MAX_ROWS, decode_guest_csv
from .common import found_or_404, require_manage, run_or_403, submit_form

TEMPLATE_FILE_NAME = "guests-template.csv"
#: The session key under which the link of the guest just added waits to be shown once.
NEW_LINK_KEY = "ticketing_new_guest_link"

#: One guest's status (a badge, the filter).
STATE_LABELS = {
    "invited": pgettext_lazy("one guest's status", "Invited"),
    "opened": pgettext_lazy("one guest's status", "Opened"),
    "accepted": pgettext_lazy("one guest's status", "Accepted"),
    "declined": pgettext_lazy("one guest's status", "Declined"),
    "checked_in": pgettext_lazy("one guest's status", "Checked in"),
}
#: The same after a number of guests ("3 accepted").
COUNT_LABELS = {
    "invited": pgettext_lazy("a number of guests", "Invited"),
    "opened": pgettext_lazy("a number of guests", "Opened"),
    "accepted": pgettext_lazy("a number of guests", "Accepted"),
    "declined": pgettext_lazy("a number of guests", "Declined"),
    "checked_in": pgettext_lazy("a number of guests", "Checked in"),
}
STATE_BADGES = {
    "invited": "",
    "opened": "badge-blue",
    "accepted": "badge-green",
    "declined": "badge-red",
    "checked_in": "badge-green",
}


def _tariff_choices(event) -> list[tuple[int, str]]:
    tariffs = Tariff.objects.filter(zone__date__event=event).select_related("zone__date")
    several_dates = event.dates.count() > 1
    choices = []
    for tariff in tariffs.order_by("zone__date__starts_at", "zone__name", "name", "id"):
        label = f"{tariff.zone.name} · {tariff.name}"
        if several_dates:
            moment = formats.date_format(
                timezone.localtime(tariff.zone.date.starts_at), "SHORT_DATETIME_FORMAT"
            )
            label = f"{moment} · {label}"
        choices.append((tariff.pk, label))
    return choices


class GuestFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Name or email")}
        ),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *STATE_LABELS.items()],
    )


class GuestForm(forms.Form):
    """One guest to invite; the service checks it all again."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    email = forms.CharField(label=gettext_lazy("Email"), max_length=254)
    company = forms.CharField(label=gettext_lazy("Company"), max_length=200, required=False)
    places = forms.IntegerField(
        label=gettext_lazy("Places offered"), min_value=1, max_value=MAX_GUEST_PLACES, initial=1
    )
    tariff = forms.TypedChoiceField(label=gettext_lazy("Tariff"), coerce=int)

    def __init__(self, *args, tariffs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tariff"].choices = [("", gettext_lazy("Choose a tariff")), *tariffs]

    def values(self) -> dict:
        return dict(self.cleaned_data)


class GuestCsvForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
        error_messages={
            "required": gettext_lazy("Choose a CSV file."),
            "empty": gettext_lazy("The file is empty."),
        },
    )


def guests_url(event) -> str:
    return reverse("ticketing:guest-list", args=[event.organisation_id, event.pk])


def guest_link(request, guest) -> str:
    """The guest's personal link, absolute, from the key only the new guest carries."""
    try:
        path_ = reverse("shop:guest", args=[guest.event.office.slug, guest.link_key])
    except NoReverseMatch:
        path_ = f"/shop/{guest.event.office.slug}/guests/{guest.link_key}/"
    return request.build_absolute_uri(path_)


def _guest_page(request, access, event, *, guest_form=None):
    office = event.office
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    form = GuestFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    guests = selectors.guests_with_state(event=event).select_related("tariff__zone__date")
    filtered, state = False, ""
    if invalid:  # a filter that cannot apply lists nothing rather than everything
        guests = guests.none()
    elif form.is_bound:
        state, search = form.cleaned_data["status"], form.cleaned_data["q"].strip()
        if state:
            guests = guests.filter(state=state)
        if search:
            guests = guests.filter(Q(name__icontains=search) | Q(email__icontains=search))
        filtered = bool(state or search)
    page = Paginator(guests.order_by("name", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    for guest in page:
        guest.state_label = STATE_LABELS[guest.state]
        guest.state_badge = STATE_BADGES[guest.state]
    counts = selectors.guest_state_counts(event=event)
    context = {
        "office": office,
        "event": event,
        "form": form,
        "page": page,
        "filtered": filtered or invalid,
        "invalid": invalid,
        "counts": [
            {"state": state, "label": COUNT_LABELS[state], "count": counts[state]}
            for state in selectors.GUEST_STATES
        ],
        "guest_total": sum(counts.values()),
        "several_dates": event.dates.count() > 1,  # then each row says its date
        "current_state": state,
        "can_manage": can_manage,
        "tab": "events",
    }
    if can_manage:
        tariffs = _tariff_choices(event)
        context.update(
            tariffs=tariffs,
            guest_form=guest_form or GuestForm(tariffs=tariffs),
            new_link=request.session.pop(NEW_LINK_KEY, None),
        )
    return render(request, "ticketing/guest_list.html", context)


@organisation_view()
def guest_list(request, access, event_id):
    """The guest list (GET); its POST adds one guest, whose link is then shown once."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    if request.method != "POST":
        return _guest_page(request, access, event)
    require_manage(access, event.office)
    form = GuestForm(request.POST, tariffs=_tariff_choices(event))
    guest = submit_form(
        request,
        form,
        services.guest_create,
        access=access,
        event=event,
        success=_("Guest added."),
    )
    if guest is None:
        return _guest_page(request, access, event, guest_form=form)
    request.session[NEW_LINK_KEY] = {
        "name": guest.name,
        "email": guest.email,
        "url": guest_link(request, guest),
    }
    return redirect(guests_url(event))


@organisation_view()
def guest_delete(request, access, guest_id):
    guest = found_or_404(services.guest_for, access, guest_id=guest_id)
    require_manage(access, guest.event.office)
    back = guests_url(guest.event)
    seats = guest.places_accepted
    return confirm_then_run(
        request,
        title=_("Remove a guest"),
        question=_("Remove %(name)s from the guest list?") % {"name": guest.name},
        detail=(
            ngettext(
                "Their %(n)d seat is free again and their link stops working.",
                "Their %(n)d seats are free again and their link stops working.",
                seats,
            )
            % {"n": seats}
            if seats
            else _("Their link stops working.")
        ),
        button=_("Remove the guest"),
        keep_label=_("Keep the guest"),
        cancel_url=back,
        run=lambda: run_or_403(
            request,
            services.guest_delete,
            access=access,
            guest=guest,
            success=_("%(name)s is no longer on the guest list.") % {"name": guest.name},
        ),
        done_url=back,
    )


# -- a CSV file of guests -----------------------------------------------------------------------


def _managed_event(access, event_id):
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    require_manage(access, event.office)
    return event


@organisation_view()
def guest_csv_template(request, access, event_id):
    event = _managed_event(access, event_id)
    tariff = Tariff.objects.filter(zone__date__event=event).order_by("pk").first()
    tariff_name = tariff.name if tariff else _("Invitation")
    if tariff and Tariff.objects.filter(zone__date__event=event, name=tariff.name).count() > 1:
        tariff_name = str(tariff.pk)  # the name is ambiguous: the template names it by id
    lines = [
        "name,email,company,places,tariff,table",
        f'Ada Lovelace,ada@example.org,Analytical Engines,2,"{tariff_name}",12',
        f'Alan Turing,alan@example.org,,1,"{tariff_name}",',
    ]
    response = HttpResponse("\r\n".join(lines) + "\r\n", content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILE_NAME}"'
    return response


def _import_start(problems):
    """guests_import_start, with an invalid file's problems kept for the page's table."""

    def start(*, data, **kwargs):
        try:
            return services.guests_import_start(text=decode_guest_csv(data), **kwargs)
        except CsvInvalid as invalid:
            problems.extend(invalid.errors)
            return None

    return start


@organisation_view()
def guest_import(request, access, event_id):
    event = _managed_event(access, event_id)
    posted = request.method == "POST"
    form = GuestCsvForm(request.POST if posted else None, request.FILES if posted else None)
    problems = []
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        ok, job = run_or_403(
            request,
            _import_start(problems),
            access=access,
            event=event,
            data=upload.read(MAX_FILE_BYTES + 1),  # one byte more: the service says too big
            file_name=upload.name or "",
        )
        if ok and job is not None:
            return redirect("ticketing:guest-import-job", event.organisation_id, event.pk, job.pk)
    return render(
        request,
        "ticketing/guest_import.html",
        {
            "office": event.office,
            "event": event,
            "form": form,
            "problems": [problem.as_dict() for problem in problems],
            "problem_count": ngettext(
                "%(n)d problem; nothing was created.",
                "%(n)d problems; nothing was created.",
                len(problems),
            )
            % {"n": len(problems)},
            "tariffs": _tariff_choices(event),
            "max_rows": MAX_ROWS,
            "max_megabytes": MAX_FILE_BYTES // 2**20,
            "tab": "events",
        },
    )


@organisation_view()
def guest_import_job(request, access, event_id, job_id):
    """The import's progress, refreshed live by panel.js, as the mail CSV import's."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    job = panel_selectors.job_list(access=access).filter(pk=job_id, kind=GUESTS_IMPORT_JOB).first()
    if job is None or job.params.get("event") != event.pk:
        raise Http404()
    job.label = job_label(job)
    count = job.params.get("guests", 0)
    state = job_state(job, access.organisation.pk)
    return render(
        request,
        "ticketing/guest_import_job.html",
        {
            "office": event.office,
            "event": event,
            "job": job,
            "state": state,
            "summary": ngettext("%(n)d guest from %(file)s.", "%(n)d guests from %(file)s.", count)
            % {"n": count, "file": job.params.get("file_name") or _("a CSV file")},
            "done_text": ngettext(
                "Done: %(n)d guest was added.", "Done: %(n)d guests were added.", count
            )
            % {"n": count},
            "error": "; ".join(
                (_("line %(n)s: ") % {"n": e["line"]} if e.get("line") else "")
                + str(e.get("detail", e))
                for e in job.errors or []
                if isinstance(e, dict)
            ),
            "tab": "events",
        },
    )


urlpatterns = [
    path("events/<int:event_id>/guests/", guest_list, name="guest-list"),
    path("events/<int:event_id>/guests/import/", guest_import, name="guest-import"),
    path(
        "events/<int:event_id>/guests/import/<int:job_id>/",
        guest_import_job,
        name="guest-import-job",
    ),
    path(
        "events/<int:event_id>/guests/template.csv", guest_csv_template, name="guest-csv-template"
    ),
    path("guests/<int:guest_id>/delete/", guest_delete, name="guest-delete"),
]
