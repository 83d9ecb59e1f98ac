"""Ticket office API views for the Manager: look the object up through
ticketing.selectors (404 unless visible), call a ticketing service, answer.

A nested object is created under its parent (`POST offices/3/forms/`) and then lives at
its own flat URL (`forms/7/`). The services hold the rules and check the rights; the
views ask the same rights first so that every answer keeps the order 401, 404, 403,
then 400. Dates, zones and tariffs answer with what is held, sold and left."""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.api import nested
from panel.api.base import OrganisationScoped, confirm_name, confirm_name_parameter
from panel.api.serializers import JobAcceptedOut, JobOut
from panel.api.views import _valid

from .. import selectors, services
from ..exports import export_start
from ..models import (
    CheckinList,
    Event,
    EventDate,
    FormField,
    Order,
    Scan,
    Tariff,
    TicketForm,
    TicketOffice,
    Zone,
)
from ..services.checkin import offline_data, upload_offline_scans
from ..services.forms import form_update, ordered_fields
from . import serializers as s

#: The attributes leading from each object to its office.
OFFICE_PATHS = {
    TicketOffice: (),
    TicketForm: ("office",),
    FormField: ("form", "office"),
    Event: ("office",),
    EventDate: ("event", "office"),
    Zone: ("date", "event", "office"),
    Tariff: ("zone", "date", "event", "office"),
    Order: ("office",),
    CheckinList: ("event", "office"),
}

HAS_TICKETS = OpenApiResponse(
    description=gettext_lazy(
        "`has_tickets`: seats of it are sold, ordered or held; cancel the date or the "
        "orders instead, so that the buyers are told."
    )
)


def office_of(obj) -> TicketOffice:
    for name in OFFICE_PATHS[type(obj)]:
        obj = getattr(obj, name)
    return obj


# -- availability ------------------------------------------------------------------------------


def _dates_counted(event: Event, date_ids) -> list[EventDate]:
    return selectors.dates_with_availability(
        event.dates.filter(pk__in=list(date_ids)).order_by("starts_at", "id")
    )


def _date_counted(date: EventDate) -> EventDate:
    [counted] = _dates_counted(date.event, [date.pk])
    return counted


def _zone_counted(zone: Zone) -> Zone:
    return next(z for z in _date_counted(zone.date).zones.all() if z.pk == zone.pk)


def _tariff_counted(tariff: Tariff) -> Tariff:
    return next(t for t in _zone_counted(tariff.zone).tariffs.all() if t.pk == tariff.pk)


# -- the shapes every view answers ---------------------------------------------------------


def _form_out(form: TicketForm) -> dict:
    return s.TicketFormOut(form).data


def _date_out(date: EventDate) -> dict:
    return s.TicketDateOut(_date_counted(date)).data


def _zone_out(zone: Zone) -> dict:
    return s.TicketZoneOut(_zone_counted(zone)).data


def _tariff_out(tariff: Tariff) -> dict:
    return s.TicketTariffOut(_tariff_counted(tariff)).data


def _order_out(order: Order) -> dict:
    return s.TicketOrderOut(order).data


class TicketingScoped(nested.ProductScoped):
    """Views under /ticketing/: the object named by `<kind>_id` in the URL, found through
    `selectors.<kind>_for` (404 unless its office is visible), managed with the right to
    manage its office."""

    def lookup(self, kind: str):
        find = getattr(selectors, f"{kind}_for")
        return find(access=self.access, **{f"{kind}_id": self.kwargs[f"{kind}_id"]})

    def product_of(self, obj):
        return office_of(obj)


class Children(TicketingScoped, nested.Children):
    pass


class Detail(TicketingScoped, nested.Detail):
    pass


# -- offices -----------------------------------------------------------------------------------


class OfficesView(OrganisationScoped, generics.ListAPIView):
    """The ticket offices the person sees through a grant (all of them for
    administrators)."""

    serializer_class = s.TicketOfficeOut
    queryset = TicketOffice.objects.none()  # schema only

    def get_queryset(self):
        return selectors.office_list(access=self.access)

    @extend_schema(
        request=s.TicketOfficeIn,
        responses={
            201: s.TicketOfficeOut,
            409: OpenApiResponse(description=gettext_lazy("`slug_taken`: another shop has it.")),
        },
        description=gettext_lazy(
            "Creates a ticket office, with its shop at /shop/<slug>/; an administrator act."
        ),
    )
    def post(self, request, org_id):
        self.access.require_billing()
        data = _valid(s.TicketOfficeIn, request.data)
        office = services.office_create(access=self.access, **data)
        return Response(s.TicketOfficeOut(office).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses=s.TicketOfficeOut),
    patch=extend_schema(
        request=s.TicketOfficeIn(partial=True),
        responses={
            200: s.TicketOfficeOut,
            409: OpenApiResponse(description=gettext_lazy("`slug_taken`: another shop has it.")),
        },
        description=gettext_lazy(
            "Changes the office's settings. The currency cannot change once an order exists."
        ),
    ),
)
class OfficeView(Detail):
    """One ticket office: its shop address, currency, contact details and payments."""

    kind = "office"
    patch_class = s.TicketOfficeIn

    def render(self, office):
        return s.TicketOfficeOut(office).data

    def update(self, office, changes):
        return services.office_update(access=self.access, office=office, **changes)

    @extend_schema(
        request=s.TicketOfficeDeleteIn,
        parameters=[confirm_name_parameter(s.TicketOfficeDeleteIn)],
        responses={
            204: None,
            409: OpenApiResponse(
                description=gettext_lazy(
                    "`has_orders`: orders wait for payment or are paid for dates to come; "
                    "cancel them first, so that the buyers are told."
                )
            ),
        },
        description=gettext_lazy(
            "Deletes the office with its events and orders; an administrator act. "
            "Send `confirm_name` (the office's name) in the body or the query string."
        ),
    )
    def delete(self, request, org_id, office_id):
        office = self.found("office")
        self.access.require_billing(office)
        confirm = confirm_name(request, s.TicketOfficeDeleteIn)
        services.office_delete(access=self.access, office=office, confirm_name=confirm)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- forms and fields --------------------------------------------------------------------------


@extend_schema_view(post=extend_schema(request=s.TicketFormIn, responses={201: s.TicketFormOut}))
class FormsView(Children):
    """The forms of an office, which its tariffs can ask for each ticket."""

    parent = "office"
    input_class = s.TicketFormIn
    serializer_class = s.TicketFormOut
    queryset = TicketForm.objects.none()  # schema only

    def children(self, office):
        return office.forms.prefetch_related("fields").order_by("name", "id")

    def create(self, office, data):
        return services.form_create(access=self.access, office=office, **data)


@extend_schema_view(
    get=extend_schema(responses=s.TicketFormOut),
    patch=extend_schema(request=s.TicketFormIn(partial=True), responses=s.TicketFormOut),
    delete=extend_schema(
        responses={204: None},
        description=gettext_lazy(
            "Deletes the form; the tariffs that asked it ask nothing from now."
        ),
    ),
)
class FormView(Detail):
    """One form: its name and its fields in display order."""

    kind = "form"
    patch_class = s.TicketFormIn

    def render(self, form):
        return _form_out(form)

    def update(self, form, changes):
        return form_update(access=self.access, form=form, **changes) if changes else form

    def remove(self, form):
        services.form_delete(access=self.access, form=form)


@extend_schema_view(
    post=extend_schema(request=s.TicketFieldIn, responses={201: s.TicketFieldOut}),
)
class FieldsView(Children):
    """The fields of a form in the order buyers see them: positions 1, 2, 3 ... first,
    then the fields without a position, then those at position 0; ties in creation
    order."""

    parent = "form"
    input_class = s.TicketFieldIn
    serializer_class = s.TicketFieldOut
    queryset = FormField.objects.none()  # schema only

    def children(self, form):
        return ordered_fields(form)

    def create(self, form, data):
        return services.field_create(access=self.access, form=form, **data)


@extend_schema_view(
    get=extend_schema(responses=s.TicketFieldOut),
    patch=extend_schema(request=s.TicketFieldIn(partial=True), responses=s.TicketFieldOut),
    delete=extend_schema(responses={204: None}),
)
class FieldView(Detail):
    """One field of a form."""

    kind = "field"
    patch_class = s.TicketFieldIn

    def render(self, field):
        return s.TicketFieldOut(field).data

    def update(self, field, changes):
        return services.field_update(access=self.access, field=field, **changes)

    def remove(self, field):
        services.field_delete(access=self.access, field=field)


# -- events ------------------------------------------------------------------------------------


@extend_schema_view(
    post=extend_schema(
        request=s.TicketEventIn,
        responses={201: s.TicketEventOut},
        description=gettext_lazy(
            "Creates an event as a draft; PATCH its status to put it on sale."
        ),
    ),
)
class EventsView(Children):
    """The events of an office."""

    parent = "office"
    input_class = s.TicketEventIn
    serializer_class = s.TicketEventOut
    queryset = Event.objects.none()  # schema only

    def children(self, office):
        return office.events.order_by("title", "id")

    def create(self, office, data):
        return services.event_create(access=self.access, office=office, **data)


@extend_schema_view(
    get=extend_schema(responses=s.TicketEventOut),
    patch=extend_schema(
        request=s.TicketEventPatchIn(partial=True),
        responses=s.TicketEventOut,
        description=gettext_lazy(
            "Changes the event; `status` moves it on sale (once a date has a zone with a "
            "tariff), closes its sales, or cancels it with every date and its orders."
        ),
    ),
    delete=extend_schema(responses={204: None, 409: HAS_TICKETS}),
)
class EventView(Detail):
    """One event: its title, description, venue and status."""

    kind = "event"
    patch_class = s.TicketEventPatchIn

    def render(self, event):
        return s.TicketEventOut(event).data

    def update(self, event, changes):
        return services.event_update(access=self.access, event=event, **changes)

    def remove(self, event):
        services.event_delete(access=self.access, event=event)


# -- dates -------------------------------------------------------------------------------------


@extend_schema_view(
    post=extend_schema(request=s.TicketDateIn, responses={201: s.TicketDateOut}),
)
class DatesView(Children):
    """The dates of an event, soonest first, each with its capacity and what is held,
    sold and left, in total, per zone and per tariff."""

    parent = "event"
    input_class = s.TicketDateIn
    serializer_class = s.TicketDateOut
    queryset = EventDate.objects.none()  # schema only

    def children(self, event):
        return event.dates.order_by("starts_at", "id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        counted = _dates_counted(self.found("event"), [date.pk for date in page])
        return self.get_paginated_response(s.TicketDateOut(counted, many=True).data)

    def create(self, event, data):
        return services.date_create(access=self.access, event=event, **data)

    def render(self, date):
        return _date_out(date)


@extend_schema_view(
    get=extend_schema(responses=s.TicketDateOut),
    patch=extend_schema(request=s.TicketDateIn(partial=True), responses=s.TicketDateOut),
    delete=extend_schema(responses={204: None, 409: HAS_TICKETS}),
)
class DateView(Detail):
    """One date of an event, with what is held, sold and left, per zone and tariff."""

    kind = "date"
    patch_class = s.TicketDateIn

    def render(self, date):
        return _date_out(date)

    def update(self, date, changes):
        return services.date_update(access=self.access, date=date, **changes)

    def remove(self, date):
        services.date_delete(access=self.access, date=date)


class DateCancelView(TicketingScoped, APIView):
    """Cancelling a date."""

    @extend_schema(
        request=None,
        responses=s.TicketDateOut,
        description=gettext_lazy(
            "Cancels the date: its held and sold seats are freed, orders left without a "
            "ticket are cancelled, and every buyer is told by email."
        ),
    )
    def post(self, request, org_id, date_id):
        date = self.managed("date")
        services.date_cancel(access=self.access, date=date)
        return Response(_date_out(date))


# -- zones and tariffs -------------------------------------------------------------------------


@extend_schema_view(
    post=extend_schema(request=s.TicketZoneIn, responses={201: s.TicketZoneOut}),
)
class ZonesView(Children):
    """The zones of a date, each with its tariffs and what is held, sold and left."""

    parent = "date"
    input_class = s.TicketZoneIn
    serializer_class = s.TicketZoneOut
    queryset = Zone.objects.none()  # schema only

    def children(self, date):
        return list(_date_counted(date).zones.all())

    def create(self, date, data):
        return services.zone_create(access=self.access, date=date, **data)

    def render(self, zone):
        return _zone_out(zone)


@extend_schema_view(
    get=extend_schema(responses=s.TicketZoneOut),
    patch=extend_schema(
        request=s.TicketZoneIn(partial=True),
        responses=s.TicketZoneOut,
        description=gettext_lazy("The capacity does not go below the seats already taken or held."),
    ),
    delete=extend_schema(responses={204: None, 409: HAS_TICKETS}),
)
class ZoneView(Detail):
    """One zone of a date, with its tariffs and what is held, sold and left."""

    kind = "zone"
    patch_class = s.TicketZoneIn

    def render(self, zone):
        return _zone_out(zone)

    def update(self, zone, changes):
        return services.zone_update(access=self.access, zone=zone, **changes)

    def remove(self, zone):
        services.zone_delete(access=self.access, zone=zone)


@extend_schema_view(
    post=extend_schema(request=s.TicketTariffIn, responses={201: s.TicketTariffOut}),
)
class TariffsView(Children):
    """The tariffs of a zone, cheapest first, with what is held, sold and left of each."""

    parent = "zone"
    input_class = s.TicketTariffIn
    serializer_class = s.TicketTariffOut
    queryset = Tariff.objects.none()  # schema only

    def children(self, zone):
        return list(_zone_counted(zone).tariffs.all())

    def create(self, zone, data):
        return services.tariff_create(access=self.access, zone=zone, **data)

    def render(self, tariff):
        return _tariff_out(tariff)


@extend_schema_view(
    get=extend_schema(responses=s.TicketTariffOut),
    patch=extend_schema(request=s.TicketTariffIn(partial=True), responses=s.TicketTariffOut),
    delete=extend_schema(responses={204: None, 409: HAS_TICKETS}),
)
class TariffView(Detail):
    """One tariff of a zone, with what is held, sold and left of it."""

    kind = "tariff"
    patch_class = s.TicketTariffIn

    def render(self, tariff):
        return _tariff_out(tariff)

    def update(self, tariff, changes):
        return services.tariff_update(access=self.access, tariff=tariff, **changes)

    def remove(self, tariff):
        services.tariff_delete(access=self.access, tariff=tariff)


# -- orders ------------------------------------------------------------------------------------


class OrdersView(TicketingScoped, generics.ListAPIView):
    """The orders of an office, newest first, with their tickets."""

    serializer_class = s.TicketOrderOut
    queryset = Order.objects.none()  # schema only

    @extend_schema(parameters=[s.TicketOrderFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        office = self.found("office")
        filters = _valid(s.TicketOrderFilterIn, self.request.query_params)
        return selectors.order_list(office=office, **filters).prefetch_related("tickets")


class OrderView(TicketingScoped, APIView):
    """One order with its tickets; their secrets are never shown."""

    @extend_schema(responses=s.TicketOrderOut)
    def get(self, request, org_id, order_id):
        return Response(_order_out(self.found("order")))


class OrderMarkPaidView(TicketingScoped, APIView):
    """Marking an order paid."""

    @extend_schema(
        request=s.TicketOrderMarkPaidIn,
        responses={
            200: s.TicketOrderOut,
            409: OpenApiResponse(
                description=gettext_lazy(
                    "`order_cancelled`; `seats_gone`: the payment deadline has passed and "
                    "the seats have been sold meanwhile."
                )
            ),
        },
        description=gettext_lazy(
            "Marks a pending order paid (a bank transfer, the box office): its seats are "
            "sold for good and the buyer gets the tickets by email. Paying twice changes "
            "nothing."
        ),
    )
    def post(self, request, org_id, order_id):
        order = self.managed("order")
        data = _valid(s.TicketOrderMarkPaidIn, request.data)
        order = services.order_mark_paid(access=self.access, order=order, **data)
        return Response(_order_out(order))


class OrderCancelView(TicketingScoped, APIView):
    """Cancelling an order."""

    @extend_schema(
        request=None,
        responses=s.TicketOrderOut,
        description=gettext_lazy(
            "Cancels the order: its seats are free again and the buyer is told by email."
        ),
    )
    def post(self, request, org_id, order_id):
        order = services.order_cancel(access=self.access, order=self.managed("order"))
        return Response(_order_out(order))


class OrderResendView(TicketingScoped, APIView):
    """Sending an order's tickets again."""

    @extend_schema(
        request=None,
        responses={
            200: s.TicketOrderOut,
            409: OpenApiResponse(
                description=gettext_lazy("`order_not_paid`: no tickets to send yet.")
            ),
        },
        description=gettext_lazy("Sends the tickets of a paid order to the buyer again."),
    )
    def post(self, request, org_id, order_id):
        order = self.managed("order")
        services.order_resend(access=self.access, order=order)
        return Response(_order_out(order))


# -- access control ----------------------------------------------------------------------------


def _checkin_list_out(checkin_list: CheckinList) -> dict:
    return s.TicketCheckinListOut(checkin_list).data


@extend_schema_view(
    post=extend_schema(request=s.TicketCheckinListIn, responses={201: s.TicketCheckinListOut}),
)
class CheckinListsView(Children):
    """The check-in lists of an event: which dates, zones and tariffs each door admits,
    whether unpaid tickets get in and whether re-entry is allowed."""

    parent = "event"
    input_class = s.TicketCheckinListIn
    serializer_class = s.TicketCheckinListOut
    queryset = CheckinList.objects.none()  # schema only

    def children(self, event):
        return selectors.checkin_list_list(event=event)

    def create(self, event, data):
        return services.checkin_list_create(access=self.access, event=event, **data)


@extend_schema_view(
    get=extend_schema(responses=s.TicketCheckinListOut),
    patch=extend_schema(
        request=s.TicketCheckinListIn(partial=True),
        responses=s.TicketCheckinListOut,
        description=gettext_lazy("Changes what the list admits; recorded scans keep their result."),
    ),
    delete=extend_schema(
        responses={204: None},
        description=gettext_lazy(
            "Deletes the list with its scans; tickets that came in stay checked in."
        ),
    ),
)
class CheckinListView(Detail):
    """One check-in list of an event."""

    kind = "checkin_list"
    patch_class = s.TicketCheckinListIn

    def render(self, checkin_list):
        return _checkin_list_out(checkin_list)

    def update(self, checkin_list, changes):
        return services.checkin_list_update(
            access=self.access, checkin_list=checkin_list, **changes
        )

    def remove(self, checkin_list):
        services.checkin_list_delete(access=self.access, checkin_list=checkin_list)


class ScansView(TicketingScoped, generics.ListAPIView):
    """The scans of a check-in list, refused ones too, latest first; POST scans a
    ticket at the door.

    POST answers 201 with the scan, also when its `scan_id` was sent before: the answer
    is then the first one again, word for word, and nothing more is recorded. Scanning
    changes what a ticket may do next, so it needs the right to manage the office."""

    serializer_class = s.TicketScanOut
    queryset = Scan.objects.none()  # schema only

    @extend_schema(parameters=[s.TicketScanFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        checkin_list = self.found("checkin_list")
        filters = _valid(s.TicketScanFilterIn, self.request.query_params)
        conflict = filters.pop("conflict", None)
        scans = selectors.scan_list(checkin_list=checkin_list, **filters)
        return scans if conflict is None else scans.filter(conflict=conflict)

    @extend_schema(
        request=s.TicketScanIn,
        responses={201: s.TicketScanOut},
        description=gettext_lazy(
            "Scans a ticket's code: `result` is valid, already_used (with the first "
            "entry's time and gate), wrong_date, wrong_zone, unpaid, cancelled, unknown, "
            "or exit_refused for an exit. Under the ticket's lock, so two devices "
            "scanning one ticket at once get one valid. The same `scan_id` again "
            "answers 201 with the first result and records nothing."
        ),
    )
    def post(self, request, org_id, checkin_list_id):
        checkin_list = self.managed("checkin_list")
        data = _valid(s.TicketScanIn, request.data)
        scanned = services.scan(access=self.access, checkin_list=checkin_list, **data)
        return Response(s.TicketScanOut(scanned).data, status=status.HTTP_201_CREATED)


# -- exports -----------------------------------------------------------------------------------


class EventExportsView(TicketingScoped, APIView):
    """Exporting an event's orders, tickets, guests or check-ins as a file, built by a Job."""

    @extend_schema(
        request=s.TicketExportIn,
        responses={202: JobAcceptedOut},
        description=gettext_lazy(
            "Starts the export as a Job and answers 202 with it: follow it at `jobs/{id}/` "
            "and download the file at `jobs/{id}/download/` once it has succeeded. Cells "
            "that a spreadsheet would run as a formula are written as text (in CSV, after a "
            "single quote). Times are in the panel's time zone. The file carries the "
            "buyers' details, so exporting needs the right to manage the office."
        ),
    )
    def post(self, request, org_id, event_id):
        event = self.managed("event")
        data = _valid(s.TicketExportIn, request.data)
        job = export_start(access=self.access, event=event, **data)
        return Response(
            {"job": JobOut(job, context={"request": request}).data},
            status=status.HTTP_202_ACCEPTED,
        )


class OfflineDataView(TicketingScoped, APIView):
    """What a scanner keeps to check the list's tickets when the network drops: the
    list's rules and, for each sold ticket it admits, the SHA-256 of its code (never
    the code), the name on it, zone, tariff, status and whether it already came in."""

    @extend_schema(responses=s.TicketOfflineDataOut)
    def get(self, request, org_id, checkin_list_id):
        checkin_list = self.found("checkin_list")
        data = offline_data(access=self.access, checkin_list=checkin_list)
        return Response(s.TicketOfflineDataOut(data).data)


class ScanUploadView(TicketingScoped, APIView):
    """The scans a device made offline, uploaded when the network returns."""

    @extend_schema(
        request=s.TicketScanUploadIn,
        responses=s.TicketScanUploadOut,
        description=gettext_lazy(
            "Records offline scans at the device's time, each with the `result` the door "
            "showed. A `scan_id` sent before answers its first scan again and records "
            "nothing, so a queue may be sent again after a lost answer. The entry recorded "
            "first on the server stays the entry: a scan that let in a ticket which had "
            "already come in elsewhere is recorded already_used with `conflict` true."
        ),
    )
    def post(self, request, org_id, checkin_list_id):
        checkin_list = self.managed("checkin_list")
        data = _valid(s.TicketScanUploadIn, request.data)
        recorded = upload_offline_scans(
            access=self.access, checkin_list=checkin_list, scans=data["scans"]
        )
        body = {"scans": recorded, "conflicts": sum(1 for one in recorded if one.conflict)}
        return Response(s.TicketScanUploadOut(body).data)
