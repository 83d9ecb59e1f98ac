"""The door: an event's check-in lists, and the scanner page door staff open on a phone.

The scanner (scanner.html, static/ticketing/scanner.js) reads QR codes with the camera
through qr-scanner, served by the panel itself (settings STATICFILES_DIRS), or takes a
code typed in; it POSTs each scan to `scanner-scan` here rather than to the Manager API's
`checkin-lists/{id}/scans/` (which accepts the same session and CSRF token). The page's
own endpoint answers what the door shows and the API does not carry: the time of a
first entry in the office's time zone, written as the door reads it; and it checks in a
ticket found by the search from its id, deriving its secret on the server, so that no
secret reaches a browser that did not read it off the ticket. Both call the same
`services.scan`, so the rule and the scan id's idempotence are one, and both carry the
answers marked to be shown at check-in, which the page writes "label: value" under the
name on the ticket.

Each scan carries the id and the clock of the device (`scan_id`, `scanned_at`). When the
network drops, scanner.js checks codes against the list's offline data (`scanner-offline`:
hashes of the codes, never the codes), keeps its scans in the browser's storage and
uploads them when the network returns (`scanner-upload`); services/checkin.py says what
offline can and cannot guarantee. MANAGE_PRODUCT on the office opens the scanner, as the
API asks; another organisation's list is a 404. Door devices (links that open the scanner
without an account) are created and revoked on the lists page; their scanner lives under
/door/ (views/door.py) and uses the page and endpoints here, fed its own URLs."""

import json

import segno
from django import forms
from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.cache import never_cache

from panel.access import Capability
from panel.errors import InvalidInput, PanelError
from panel.mixins import organisation_view, post_only

from .. import secrets, selectors, services
from ..event_forms import ServiceForm
from ..models import ScanDirection, ScannerDevice, ScanResult, Ticket
from ..services import checkin as services_checkin
from ..services.checkin import UPLOAD_MAX_SCANS, offline_data, upload_offline_scans
from .common import found_or_404, require_manage, submit_form

#: How many orders the scanner's search shows at most.
SEARCH_ORDERS = 10
#: A scan's request body is a few short fields.
MAX_BODY = 4096
#: An upload carries at most UPLOAD_MAX_SCANS scans of a few short fields each.
MAX_UPLOAD_BODY = UPLOAD_MAX_SCANS * 1024


class CheckinListForm(ServiceForm):
    name = forms.CharField(
        label=gettext_lazy("List name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. Main door")}),
    )
    admit_unpaid = forms.BooleanField(
        label=gettext_lazy("Admit unpaid tickets (pay later)"), required=False
    )
    allow_reentry = forms.BooleanField(
        label=gettext_lazy("Allow re-entry after an exit scan"), required=False
    )


class DeviceForm(ServiceForm):
    prefix = "device"  # beside the list form on one page: distinct field ids
    name = forms.CharField(
        label=gettext_lazy("Device name"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. Gate B phone")}),
    )
    lists = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Lists it scans"),
        help_text=gettext_lazy("None chosen: all the lists of the event."),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lists"].choices = [
            (one.pk, one.name) for one in event.checkin_lists.order_by("name", "id")
        ]


#: Where the link of a device just created waits for the page that shows it once.
NEW_DEVICE_SESSION_KEY = "ticketing.new_door_device"


def scanner_url(checkin_list) -> str:
    return reverse("ticketing:scanner", args=[checkin_list.organisation_id, checkin_list.pk])


def _lists_url(event) -> str:
    return reverse("ticketing:checkin-list-list", args=[event.organisation_id, event.pk])


def _new_device(request, event):
    """The link of the device just created, shown once and then forgotten."""
    new = request.session.pop(NEW_DEVICE_SESSION_KEY, None)
    if not isinstance(new, dict) or new.get("event") != event.pk:
        return None
    url = new.get("url") or ""
    return {"name": new.get("name"), "url": url, "qr": segno.make(url, error="m").svg_inline(
        scale=5, border=4, title=_("QR code of the device link"))}  # fmt: skip


def _lists_page(request, access, event, form=None, device_form=None):
    office = event.office
    can_manage = access.can(Capability.MANAGE_PRODUCT, office)
    if can_manage:
        device_form = device_form or DeviceForm(event=event)
    return render(
        request,
        "ticketing/checkin_list_list.html",
        {
            "event": event,
            "office": office,
            "lists": selectors.checkin_list_list(event=event).annotate(
                conflicts=Count("scans", filter=Q(scans__conflict=True))
            ),
            "can_manage": can_manage,
            "form": (form or CheckinListForm()) if can_manage else None,
            "devices": event.scanner_devices.prefetch_related("lists") if can_manage else None,
            "device_form": device_form if can_manage else None,
            "new_device": _new_device(request, event) if can_manage else None,
        },
    )


@organisation_view()
def checkin_list_list(request, access, event_id):
    """The event's check-in lists, each with its scanner; POST creates one."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    if request.method != "POST":
        return _lists_page(request, access, event)
    require_manage(access, event.office)
    form = CheckinListForm(request.POST)
    created = submit_form(
        request,
        form,
        services.checkin_list_create,
        access=access,
        event=event,
        success=_("Check-in list created. Open its scanner on the phones at the door."),
    )
    if created:
        return redirect(_lists_url(event))
    return _lists_page(request, access, event, form=form)


@organisation_view()
@post_only
def device_create(request, access, event_id):
    """POST: a door device of the event; its link is shown once on the lists page."""
    event = found_or_404(selectors.event_for, access, event_id=event_id)
    require_manage(access, event.office)
    form = DeviceForm(request.POST, event=event)
    made = submit_form(
        request,
        form,
        services_checkin.device_create,
        access=access,
        event=event,
        success=_("Device link created. Open it on the door phone; it is shown only once."),
    )
    if not made:
        return _lists_page(request, access, event, device_form=form)
    device, key = made
    request.session[NEW_DEVICE_SESSION_KEY] = {
        "event": event.pk,
        "name": device.name,
        "url": request.build_absolute_uri(reverse("door:open", args=[key])),
    }
    return redirect(_lists_url(event) + "#door-devices")


@organisation_view()
def device_revoke(request, access, device_id):
    """GET: asks to confirm; POST: revokes the device, which stops at once."""
    device = (
        ScannerDevice.objects.filter(organisation=access.organisation, pk=device_id)
        .select_related("event__office")
        .first()
    )
    if device is None or not access.can(Capability.VIEW_PRODUCT, device.event.office):
        raise Http404()
    require_manage(access, device.event.office)
    back = _lists_url(device.event) + "#door-devices"
    if request.method == "POST":
        services_checkin.device_revoke(access=access, device=device)
        messages.success(request, _("%(name)s is revoked: it can no longer scan.")
                         % {"name": device.name})  # fmt: skip
        return redirect(back)
    return render(
        request,
        "ticketing/door_device_revoke.html",
        {"device": device, "event": device.event, "office": device.event.office, "back": back},
    )


def _managed_list(access, checkin_list_id):
    checkin_list = found_or_404(selectors.checkin_list_for, access, checkin_list_id=checkin_list_id)
    require_manage(access, checkin_list.event.office)
    return checkin_list


#: The headline of each result, in the page's language (scanner.js shows them).
RESULT_TITLES = {
    ScanResult.VALID: gettext_lazy("Valid"),
    ScanResult.ALREADY_USED: gettext_lazy("Already used"),
    ScanResult.WRONG_DATE: gettext_lazy("Wrong date"),
    ScanResult.WRONG_ZONE: gettext_lazy("Wrong zone"),
    ScanResult.UNPAID: gettext_lazy("Unpaid"),
    ScanResult.CANCELLED: gettext_lazy("Cancelled"),
    ScanResult.UNKNOWN: gettext_lazy("Unknown ticket"),
    ScanResult.EXIT_REFUSED: gettext_lazy("Exit refused"),
}


def _texts() -> dict:
    """What scanner.js writes on the page, translated here once."""
    return {
        "titles": {code: str(title) for code, title in RESULT_TITLES.items()},
        "reasons": {
            ScanResult.VALID: _("Let them in."),
            "valid_exit": _("Exit recorded."),
            ScanResult.ALREADY_USED: _("This ticket already came in."),
            "already_used_at": _("Came in at {time}."),
            "already_used_at_gate": _("Came in at {time} at {gate}."),
            ScanResult.WRONG_DATE: _("This ticket is for another date."),
            ScanResult.WRONG_ZONE: _("This door does not admit this zone or tariff."),
            ScanResult.UNPAID: _("The order is not paid yet."),
            ScanResult.CANCELLED: _("This ticket is cancelled."),
            ScanResult.UNKNOWN: _("No ticket of this event has this code."),
            ScanResult.EXIT_REFUSED: _("This ticket is not inside, or this door has no exit."),
        },
        "order": pgettext("ticket", "Order"),
        # An answer shown at check-in, before its value: "Diet: Vegan".
        "answer_label": pgettext("a label before its value", "%(label)s:") % {"label": "{label}"},
        "checking": _("Checking…"),
        "network_error": _("No answer from the panel: check the network and scan again."),
        "invalid": _("This code could not be checked."),
        "no_camera": _("No camera is available here: type or paste the code, or search by name."),
        "camera_denied": _(
            "The camera could not start (permission refused?): type or paste the code, "
            "or search by name."
        ),
        "no_match": _("No ticket matches."),
        "check_in": _("Check in"),
        "checked_in": _("In since {time}"),
        "offline_badge": _("Offline"),
        "offline_ready": _("Offline ready: {count} tickets, data of {time}."),
        "offline_no_data": _("No offline data yet: stay online until it is downloaded."),
        "offline_insecure": _(
            "Offline checking is unavailable on this address: it needs HTTPS (or "
            "localhost). Scans need the network here."
        ),
        "offline_full": _("This phone's storage is full: offline data could not be kept."),
        "offline_not_on_list": _(
            "Not in this list's data of {time}: a ticket sold since then cannot be checked offline."
        ),
        "offline_unavailable": _("No network, and no offline data on this device."),
        "queued_one": _("1 scan waiting for upload."),
        "queued": _("{count} scans waiting for upload."),
        "uploaded": _("All scans uploaded."),
        "conflict_one": _(
            "1 conflict: a ticket let in offline here had already come in at another "
            "door. See the list of scans."
        ),
        "conflicts": _(
            "{count} conflicts: tickets let in offline here had already come in at "
            "another door. See the list of scans."
        ),
        "upload_refused": _("The panel refused the upload: {detail}"),
        "device_revoked": _("This device was revoked"),
        "device_revoked_reason": _("It can no longer scan. Ask the organiser for a new link."),
    }


def render_scanner(request, checkin_list, *, urls: dict, back_url: str, device=None):
    """The scanner page; `urls` names its endpoints ("scan", "search", "offline",
    "upload"), so that the same scanner.js works for a member and for a door device."""
    event = checkin_list.event
    return render(
        request,
        "ticketing/scanner.html",
        {
            "checkin_list": checkin_list,
            "event": event,
            "office": event.office,
            "texts": _texts(),
            "scan_url": urls["scan"],
            "search_url": urls["search"],
            "time_zone": timezone.get_current_timezone_name(),
            "offline_url": urls["offline"],
            "upload_url": urls["upload"],
            "lists_url": back_url,
            "device": device,
        },
    )


@organisation_view()
def scanner(request, access, checkin_list_id):
    checkin_list = _managed_list(access, checkin_list_id)
    args = [access.organisation.pk, checkin_list.pk]
    urls = {
        name: reverse(f"ticketing:scanner-{name}", args=args)
        for name in ("scan", "search", "offline", "upload")
    }
    return render_scanner(request, checkin_list, urls=urls, back_url=_lists_url(checkin_list.event))


def _moment(value) -> str:
    """A time at the door: the hour today, the date and hour another day."""
    local = timezone.localtime(value)
    if local.date() == timezone.localdate():
        return formats.time_format(local, "TIME_FORMAT")
    return formats.date_format(local, "SHORT_DATETIME_FORMAT")


def _ticket_out(ticket: Ticket | None) -> dict | None:
    if ticket is None:
        return None
    order = ticket.order
    return {
        "id": ticket.pk,
        "name": ticket.holder_name or (order.buyer_name if order else ""),
        "zone": ticket.zone.name,
        "tariff": ticket.tariff.name,
        "date": formats.date_format(
            timezone.localtime(ticket.zone.date.starts_at), "SHORT_DATETIME_FORMAT"
        ),
        "order_code": order.code if order else "",
        "answers": services_checkin.ticket_checkin_answers(ticket),
    }


def _scan_out(scanned) -> dict:
    first = scanned.first_entry
    return {
        "scan_id": scanned.scan_id,
        "result": scanned.result,
        "direction": scanned.direction,
        "ticket": _ticket_out(scanned.ticket),
        "first_entry_at": first.scanned_at.isoformat() if first else None,
        "first_entry_time": _moment(first.scanned_at) if first else None,
        "first_entry_gate": first.gate if first else None,
    }


def _error(error: PanelError, status: int | None = None) -> JsonResponse:
    body = {"code": error.code, "detail": str(error.detail), "fields": error.fields}
    return JsonResponse(body, status=status or error.status)


def _device_time(value):
    """The device's ISO time as a datetime; anything else goes to the service as it
    came, which names the field at fault."""
    if not isinstance(value, str):
        return value
    try:
        return parse_datetime(value) or value
    except ValueError:
        return value


def _secret_of_ticket(checkin_list, ticket_id) -> str:
    """The secret of a ticket of the list's event (found by the search), derived on
    the server from its nonce; 404 for any other."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
        raise InvalidInput(fields={"ticket": [_("Give a ticket's id.")]})
    ticket = (
        Ticket.objects.filter(
            organisation_id=checkin_list.organisation_id,
            zone__date__event_id=checkin_list.event_id,
            order__isnull=False,
            pk=ticket_id,
        )
        .only("nonce")
        .first()
    )
    if ticket is None:
        raise Http404()
    return secrets.ticket_secret(ticket.nonce)


@never_cache
@organisation_view()
@post_only
def scanner_scan(request, access, checkin_list_id):
    """POST JSON `{secret | ticket, scan_id, direction?, scanned_at?, gate?, device?}`:
    the scan's result, the ticket and its first entry, as scanner.js shows them."""
    return scan_response(request, _managed_list(access, checkin_list_id), access=access)


def scan_response(request, checkin_list, *, access=None, device_name=None) -> JsonResponse:
    """A scan POSTed to the scanner's endpoint, answered as scanner.js shows it.
    `device_name`, for a door device, is recorded whatever the page sends."""
    if len(request.body) > MAX_BODY:
        return _error(InvalidInput(_("This scan is too large.")))
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        return _error(InvalidInput(_("Send the scan as a JSON object.")))
    try:
        if data.get("ticket") is not None:
            secret = _secret_of_ticket(checkin_list, data["ticket"])
        else:
            secret = data.get("secret")
        scanned = services.scan(
            access=access,
            checkin_list=checkin_list,
            secret=secret,
            scan_id=data.get("scan_id"),
            direction=data.get("direction") or ScanDirection.ENTRY,
            scanned_at=_device_time(data.get("scanned_at")),
            device=device_name if device_name is not None else (data.get("device") or ""),
            gate=data.get("gate") or "",
        )
    except PanelError as error:
        return _error(error)
    return JsonResponse(_scan_out(scanned), status=201)


@never_cache
@organisation_view()
def scanner_offline(request, access, checkin_list_id):
    """GET: the list's offline data (services.checkin.offline_data) for scanner.js."""
    return offline_response(_managed_list(access, checkin_list_id), access=access)


def offline_response(checkin_list, *, access=None) -> JsonResponse:
    data = offline_data(access=access, checkin_list=checkin_list)
    for ticket in data["tickets"]:
        entered = ticket["checked_in_at"]
        ticket["checked_in_time"] = _moment(entered) if entered else None
    data["generated_time"] = _moment(data["generated_at"])
    return JsonResponse(data)


@never_cache
@organisation_view()
@post_only
def scanner_upload(request, access, checkin_list_id):
    """POST JSON `{scans: [{secret, scan_id, scanned_at, result, direction?, gate?,
    device?}]}`: records the device's offline scans (services.checkin.upload_offline_scans)
    and answers each as scanner.js shows it, with how many are conflicts."""
    return upload_response(request, _managed_list(access, checkin_list_id), access=access)


def upload_response(request, checkin_list, *, access=None, device_name=None) -> JsonResponse:
    if len(request.body) > MAX_UPLOAD_BODY:
        return _error(InvalidInput(_("This upload is too large.")))
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("scans"), list):
        return _error(InvalidInput(_("Send the scans as a JSON object with a list.")))
    named = {} if device_name is None else {"device": device_name}
    scans = [
        {**item, "scanned_at": _device_time(item.get("scanned_at")), **named}
        if isinstance(item, dict)
        else item
        for item in data["scans"]
    ]
    try:
        recorded = upload_offline_scans(access=access, checkin_list=checkin_list, scans=scans)
    except PanelError as error:
        return _error(error)
    answers = [{**_scan_out(one), "conflict": one.conflict} for one in recorded]
    return JsonResponse({"scans": answers, "conflicts": sum(1 for one in recorded if one.conflict)})


@never_cache
@organisation_view()
def scanner_search(request, access, checkin_list_id):
    """GET `?q=`: the tickets of this event in the orders whose code, buyer's name or
    email, or a name on a ticket matches, for the door to check in by hand."""
    return search_response(request, _managed_list(access, checkin_list_id))


def search_response(request, checkin_list) -> JsonResponse:
    query = (request.GET.get("q") or "").strip()[:200]
    if len(query) < 2:
        return JsonResponse({"results": []})
    event_tickets = Ticket.objects.filter(
        zone__date__event_id=checkin_list.event_id
    ).select_related("zone__date", "tariff__form", "order")
    orders = (
        selectors.order_list(office=checkin_list.event.office, search=query)
        .filter(tickets__zone__date__event_id=checkin_list.event_id)
        .prefetch_related(
            Prefetch("tickets", queryset=event_tickets.prefetch_related("tariff__form__fields"))
        )[:SEARCH_ORDERS]
    )
    results = []
    for order in orders:
        for ticket in order.tickets.all():
            shown = _ticket_out(ticket)
            shown.update(
                buyer=order.buyer_name,
                email=order.buyer_email,
                status=order.get_status_display(),
                cancelled=ticket.cancelled,
                checked_in=_moment(ticket.checked_in_at) if ticket.checked_in_at else None,
            )
            results.append(shown)
    return JsonResponse({"results": results})


urlpatterns = [
    path("events/<int:event_id>/checkin-lists/", checkin_list_list, name="checkin-list-list"),
    path("events/<int:event_id>/door-devices/", device_create, name="door-device-create"),
    path("door-devices/<int:device_id>/revoke/", device_revoke, name="door-device-revoke"),
    path("checkin-lists/<int:checkin_list_id>/scan/", scanner, name="scanner"),
    path("checkin-lists/<int:checkin_list_id>/scan/scans/", scanner_scan, name="scanner-scan"),
    path("checkin-lists/<int:checkin_list_id>/scan/search/", scanner_search, name="scanner-search"),
    path(
        "checkin-lists/<int:checkin_list_id>/scan/offline/", scanner_offline, name="scanner-offline"
    ),
    path("checkin-lists/<int:checkin_list_id>/scan/upload/", scanner_upload, name="scanner-upload"),
]
