"""The guest's own page, opened by the personal link of their invitation: the event, the
places offered, accept (with how many places, and the tariff's form once per place) or
decline, and once accepted their tickets to download, one by one or all at once. The
key in the link is the only way in; any other key is a 404, the same as a page that does
not exist. Opening the page is noted (`opened_at`); the answer is services.guest_answer's.

The form of the tariff shows once per place offered, numbered, and only the first ones,
as many as the places chosen, count: the page then works without JavaScript (shop.js
only hides the sets beyond the number chosen) and in one step, and what the guest typed
in the other sets is kept should they choose more places after all.

Declining drops the guest's tickets, so once they hold some the page asks first
(`?decline=1`, then the POST)."""

import io
import zipfile

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from panel.errors import InvalidInput, NotFound, PanelError

from .. import pdf, selectors, services
from ..models import GuestStatus
from ..services.guests import guest_closed
from .forms import TicketAnswersForm
from .views import _answer_text, _initial


def _guest(office_slug, key):
    try:
        office = selectors.shop_office(office_slug)
        return services.guest_for_key(office=office, key=key)
    except NotFound:
        raise Http404() from None


def guest_tickets(guest) -> list:
    """The guest's valid tickets, in the order of their places."""
    tickets = list(
        guest.tickets.filter(cancelled=False)
        .select_related("zone__date__event", "tariff__form", "seat")
        .prefetch_related("tariff__form__fields")
        .order_by("pk")
    )
    for ticket in tickets:
        ticket.guest = guest
    return tickets


def _fields(guest) -> list:
    return services.ordered_fields(guest.tariff.form) if guest.tariff.form_id else []


def _place_forms(guest, fields, tickets, data) -> list[TicketAnswersForm]:
    """One form per place offered, bound to `data` when sent, else showing the answers
    of the tickets held."""
    if not fields:
        return []
    forms = []
    for index in range(guest.places):
        held = tickets[index].answers if index < len(tickets) else {}
        form = TicketAnswersForm(
            data, fields=fields, prefix=f"p{index}", initial=_initial(fields, held)
        )
        if data is not None:
            form.is_valid()  # only so that the service's errors can be added to it
        form.number = index + 1
        forms.append(form)
    return forms


def _problems(error: PanelError, forms, places_errors) -> list[str]:
    """The service's refusal next to the inputs it names (`places`, and
    `tickets.<n>.answers.<field id>` on place n's form), every message at the top."""
    generic = bool(error.fields) and type(error) is InvalidInput
    problems = [] if generic or error.code == "answers_invalid" else [str(error.detail)]
    for name, field_messages in error.fields.items():
        parts = name.split(".")
        for message in field_messages:
            if len(parts) == 4 and parts[0] == "tickets" and parts[1].isdigit():
                index, key = int(parts[1]), parts[3]
                where = _("Place %(n)d") % {"n": index + 1}
                if index < len(forms) and key in forms[index].fields:
                    forms[index].add_error(key, message)
                    where = f"{where}, {forms[index].fields[key].label}"
                problems.append(f"{where}: {message}")
            else:
                if name == "places":
                    places_errors.append(message)
                if message not in problems:
                    problems.append(message)
    return problems


@never_cache
def guest_page(request, office_slug, key):
    guest = _guest(office_slug, key)
    services.guest_opened(guest=guest)
    fields = _fields(guest)
    tickets = guest_tickets(guest)
    accept = request.method == "POST" and request.POST.get("answer") == "accept"
    forms = _place_forms(guest, fields, tickets, request.POST if accept else None)
    problems: list[str] = []
    places_errors: list[str] = []
    chosen = guest.places_accepted or guest.places
    closed = guest_closed(guest=guest)
    # Once closed, the page says why instead of the answer the service would refuse.
    if request.method == "POST" and closed is None:
        raw = request.POST.get("places", "").strip()
        given_up = guest.places_accepted
        try:
            services.guest_answer(
                guest=guest,
                accept=accept,
                places=raw if accept else None,
                answers=[form.answers() for form in forms] if accept and forms else None,
            )
        except PanelError as error:
            if error.code in ("event_cancelled", "answers_closed"):  # closed meanwhile
                closed = error
            else:
                problems = _problems(error, forms, places_errors)
            chosen = int(raw) if raw.isdigit() else chosen
        else:
            if accept:
                message = _("Thank you: your places are booked.")
            elif given_up:
                message = ngettext(
                    "Thank you for letting us know. Your place is free again.",
                    "Thank you for letting us know. Your %(n)d places are free again.",
                    given_up,
                ) % {"n": given_up}
            else:
                message = _("Thank you for letting us know.")
            messages.success(request, message)
            return redirect("shop:guest", guest.event.office.slug, key)
    cancelled = closed is not None and closed.code == "event_cancelled"
    for ticket in tickets:
        ticket.shown = [(f, _answer_text(ticket.answers.get(str(f.pk)))) for f in fields]
    accepted = guest.status == GuestStatus.ACCEPTED
    page_url = reverse("shop:guest", args=[guest.event.office.slug, key])
    return render(
        request,
        "shop/guest.html",
        {
            "office": guest.event.office, "guest": guest, "event": guest.event,
            "date": guest.tariff.zone.date, "zone": guest.tariff.zone, "key": key,
            "closed": closed, "cancelled": cancelled,
            "state": "cancelled" if cancelled else guest.status,
            "accepted": accepted, "tickets": [] if cancelled else tickets,
            "forms": forms, "problems": problems, "places_errors": places_errors,
            "chosen": chosen, "choices": range(1, guest.places + 1),
            "confirm_decline": bool(
                closed is None and tickets and "decline" in request.GET and not problems
            ),
            "page_url": page_url, "basket_count": 0, "here": page_url,
        },
    )  # fmt: skip


def _download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
def guest_ticket_pdf(request, office_slug, key, ticket_id):
    """One of the guest's valid tickets as a PDF, in the page's language."""
    guest = _guest(office_slug, key)
    ticket = next((t for t in guest_tickets(guest) if t.pk == ticket_id), None)
    if ticket is None:
        raise Http404()
    return _download(pdf.ticket_pdf(ticket), pdf.ticket_filename(ticket), "application/pdf")


@never_cache
def guest_tickets_zip(request, office_slug, key):
    """All of the guest's valid tickets at once: their PDFs in one ZIP file."""
    guest = _guest(office_slug, key)
    pdfs = pdf.guest_ticket_pdfs(guest)
    if not pdfs:
        raise Http404()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed
        for filename, content in pdfs:
            archive.writestr(filename, content)
    name = f"tickets-{slugify(guest.event.title) or 'invitation'}.zip"
    return _download(buffer.getvalue(), name, "application/zip")


urlpatterns = [
    path("<slug:office_slug>/guests/<str:key>/", guest_page, name="guest"),
    path("<slug:office_slug>/guests/<str:key>/tickets/", guest_tickets_zip, name="guest-tickets"),
    path(
        "<slug:office_slug>/guests/<str:key>/tickets/<int:ticket_id>/",
        guest_ticket_pdf,
        name="guest-ticket-pdf",
    ),
]
