"""API shapes of the Ticket office in the Manager. Input serializers check shape only; the
rules live in ticketing.services. No shape here carries a ticket's secret: the Manager
API shows what a ticket is, never what opens the door."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from panel.api.base import DB_INT_MAX, StrictCharField

from ..models import (
    EventStatus,
    FieldType,
    OrderStatus,
    PaymentMethod,
    ScanDirection,
    ScanResult,
)
from ..services.checkin import ticket_checkin_answers
from ..services.offices import CURRENCIES


def _whole(**kwargs):
    return serializers.IntegerField(max_value=DB_INT_MAX, **kwargs)


class DecimalStringField(serializers.DecimalField):
    """A price as a decimal string ("25.00"), never a JSON number: a float such as 0.1
    is not the amount the script meant, and the schema says string."""

    default_error_messages = {"not_text": _('Give the price as a decimal string, such as "25.00".')}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


def _price(**kwargs):
    return DecimalStringField(max_digits=10, decimal_places=2, **kwargs)


# -- offices -----------------------------------------------------------------------------------


class TicketOfficeIn(serializers.Serializer):
    name = StrictCharField(max_length=120)
    slug = StrictCharField(
        max_length=60,
        help_text=_("The shop's address, /shop/<slug>/: lower-case letters, digits, hyphens."),
    )
    currency = StrictCharField(
        max_length=3, required=False, help_text=_("One of %(c)s.") % {"c": ", ".join(CURRENCIES)}
    )
    contact_email = StrictCharField(max_length=254, required=False, allow_blank=True)
    contact_phone = StrictCharField(max_length=40, required=False, allow_blank=True)
    contact_details = StrictCharField(max_length=1000, required=False, allow_blank=True)
    hold_minutes = _whole(
        required=False, help_text=_("How long a basket holds its seats (5 to 120 minutes).")
    )
    pay_later = serializers.BooleanField(required=False)
    pay_later_days = _whole(required=False, help_text=_("Days a buyer has to pay later."))
    pay_later_instructions = StrictCharField(max_length=2000, required=False, allow_blank=True)
    card_payments = serializers.BooleanField(required=False)


class TicketOfficeDeleteIn(serializers.Serializer):
    confirm_name = StrictCharField(
        required=False, allow_blank=True, help_text=_("The name of the office, typed again.")
    )


class TicketOfficeOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    currency = serializers.CharField()
    contact_email = serializers.CharField()
    contact_phone = serializers.CharField()
    contact_details = serializers.CharField()
    hold_minutes = serializers.IntegerField()
    pay_later = serializers.BooleanField()
    pay_later_days = serializers.IntegerField()
    pay_later_instructions = serializers.CharField()
    card_payments = serializers.BooleanField()
    created_at = serializers.DateTimeField()


# -- forms and fields --------------------------------------------------------------------------


class TicketFormIn(serializers.Serializer):
    name = StrictCharField(max_length=120)


# The field's type is one choice set: its shapes share one component name so that the
# schema names it once (drf-spectacular names enums after the components using them).
@extend_schema_serializer(component_name="TicketField")
class TicketFieldIn(serializers.Serializer):
    label = StrictCharField(max_length=200)
    type = serializers.ChoiceField(choices=FieldType.choices)
    help_text = StrictCharField(max_length=500, required=False, allow_blank=True)
    required = serializers.BooleanField(
        required=False,
        help_text=_("Checkboxes: every box must be ticked. Other types: an answer is needed."),
    )
    options = serializers.ListField(
        child=StrictCharField(allow_blank=True),
        required=False,
        help_text=_("The choices of a select, radio or checkboxes field."),
    )
    show_on_ticket = serializers.BooleanField(
        required=False, help_text=_("The answer replaces the buyer's name on the ticket.")
    )
    url = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text=_("A link shown with the field, such as the terms being accepted."),
    )
    position = serializers.IntegerField(
        min_value=0,
        max_value=DB_INT_MAX,
        required=False,
        allow_null=True,
        help_text=_("1, 2, 3 ... come first in that order, then no position (null), then 0."),
    )
    buyer_can_change = serializers.BooleanField(
        required=False, help_text=_("Whether the buyer may change the answer from their order.")
    )
    show_at_checkin = serializers.BooleanField(
        required=False, help_text=_("Whether door staff see the answer when they scan the ticket.")
    )


@extend_schema_serializer(component_name="TicketField")
class TicketFieldOut(serializers.Serializer):
    id = serializers.IntegerField()
    form = serializers.IntegerField(source="form_id")
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=FieldType.choices)
    help_text = serializers.CharField()
    required = serializers.BooleanField()
    options = serializers.ListField(child=serializers.CharField())
    show_on_ticket = serializers.BooleanField()
    url = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    buyer_can_change = serializers.BooleanField()
    show_at_checkin = serializers.BooleanField()


class TicketFormOut(serializers.Serializer):
    """`fields` in the display order (services.forms.ordered_fields)."""

    id = serializers.IntegerField()
    office = serializers.IntegerField(source="office_id")
    name = serializers.CharField()
    # Not get_fields, which every serializer has.
    fields = serializers.SerializerMethodField(method_name="fields_in_order")
    created_at = serializers.DateTimeField()

    @extend_schema_field(TicketFieldOut(many=True))
    def fields_in_order(self, form):
        from ..services.forms import ordered_fields

        return TicketFieldOut(ordered_fields(form), many=True).data


# -- events, dates, zones, tariffs -------------------------------------------------------------


class TicketEventIn(serializers.Serializer):
    title = StrictCharField(max_length=200)
    description = StrictCharField(max_length=10000, required=False, allow_blank=True)
    venue = StrictCharField(max_length=300, required=False, allow_blank=True)


# The status choices appear under one component name (see TicketFieldIn).
@extend_schema_serializer(component_name="TicketEvent")
class TicketEventPatchIn(TicketEventIn):
    status = serializers.ChoiceField(
        choices=EventStatus.choices,
        help_text=_(
            "on_sale once a date has a zone with a tariff; cancelled cancels every date and "
            "its orders, for good."
        ),
    )


@extend_schema_serializer(component_name="TicketEvent")
class TicketEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    office = serializers.IntegerField(source="office_id")
    title = serializers.CharField()
    description = serializers.CharField()
    venue = serializers.CharField()
    status = serializers.ChoiceField(choices=EventStatus.choices)
    image = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_image(self, event) -> str | None:
        return event.image.url if event.image else None


class TicketDateIn(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    doors_at = serializers.DateTimeField(required=False, allow_null=True)
    sales_open_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=_("Sales open at once when empty.")
    )
    sales_close_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=_("Sales close at the start when empty.")
    )


class TicketZoneIn(serializers.Serializer):
    name = StrictCharField(max_length=120)
    capacity = _whole(
        required=False,
        help_text=_("Seats that are never oversold; a numbered zone's are its seats on sale."),
    )
    numbered = serializers.BooleanField(
        required=False, help_text=_("Buyers pick their seats on the zone's plan (seats/).")
    )


class TicketTariffIn(serializers.Serializer):
    name = StrictCharField(max_length=120)
    price = _price(help_text=_("A decimal string such as 25.00; 0 for a free tariff."))
    form = _whole(
        required=False, allow_null=True, help_text=_("The id of a form asked for each ticket.")
    )
    cap = _whole(
        required=False, allow_null=True, help_text=_("At most this many of the zone's seats.")
    )
    min_per_order = _whole(required=False)
    max_per_order = _whole(required=False)
    sale_starts_at = serializers.DateTimeField(required=False, allow_null=True)
    sale_ends_at = serializers.DateTimeField(required=False, allow_null=True)
    public = serializers.BooleanField(
        required=False, help_text=_("Hidden tariffs are not sold in the shop.")
    )


def _held():
    return serializers.IntegerField(help_text=_("Seats in baskets and unpaid orders."))


class TicketTariffOut(serializers.Serializer):
    """Takes a tariff from selectors.dates_with_availability."""

    id = serializers.IntegerField()
    zone = serializers.IntegerField(source="zone_id")
    name = serializers.CharField()
    price = _price()
    form = serializers.IntegerField(source="form_id", allow_null=True)
    cap = serializers.IntegerField(allow_null=True)
    min_per_order = serializers.IntegerField()
    max_per_order = serializers.IntegerField()
    sale_starts_at = serializers.DateTimeField(allow_null=True)
    sale_ends_at = serializers.DateTimeField(allow_null=True)
    public = serializers.BooleanField()
    held = _held()
    sold = serializers.IntegerField()
    available = serializers.IntegerField(help_text=_("What the zone and the cap leave."))


class TicketZoneOut(serializers.Serializer):
    """Takes a zone from selectors.dates_with_availability."""

    id = serializers.IntegerField()
    date = serializers.IntegerField(source="date_id")
    name = serializers.CharField()
    capacity = serializers.IntegerField()
    numbered = serializers.BooleanField()
    held = _held()
    sold = serializers.IntegerField()
    available = serializers.IntegerField()
    tariffs = TicketTariffOut(many=True)


class TicketDateOut(serializers.Serializer):
    """Takes a date from selectors.dates_with_availability: its counts are its zones'."""

    id = serializers.IntegerField()
    event = serializers.IntegerField(source="event_id")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    doors_at = serializers.DateTimeField(allow_null=True)
    sales_open_at = serializers.DateTimeField(allow_null=True)
    sales_close_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    capacity = serializers.IntegerField()
    held = _held()
    sold = serializers.IntegerField()
    available = serializers.IntegerField()
    zones = TicketZoneOut(many=True)


# -- orders ------------------------------------------------------------------------------------


class TicketOrderFilterIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False, allow_blank=True)
    date = _whole(min_value=1, required=False, help_text=_("Orders with a ticket for this date."))
    search = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text=_("The order's code, or part of the buyer's name or email."),
    )


class TicketOrderMarkPaidIn(serializers.Serializer):
    reference = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text=_("The bank transfer's or the box office's reference, kept with the order."),
    )


class TicketOrderTicketOut(serializers.Serializer):
    id = serializers.IntegerField()
    zone = serializers.IntegerField(source="zone_id")
    tariff = serializers.IntegerField(source="tariff_id")
    price = _price()
    holder_name = serializers.CharField(help_text=_("The name printed on the ticket."))
    answers = serializers.DictField(help_text=_("The form's answers by field id."))
    checked_in_at = serializers.DateTimeField(allow_null=True)
    cancelled = serializers.BooleanField()


class TicketOrderOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    buyer_name = serializers.CharField()
    buyer_email = serializers.EmailField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    payment_deadline = serializers.DateTimeField(
        allow_null=True, help_text=_("Until when an unpaid order holds its seats.")
    )
    paid_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    tickets = TicketOrderTicketOut(many=True)


# -- access control ----------------------------------------------------------------------------


def _ids(help_text):
    return serializers.ListField(
        child=_whole(min_value=1), required=False, max_length=1000, help_text=help_text
    )


class TicketCheckinListIn(serializers.Serializer):
    name = StrictCharField(max_length=120, help_text=_("Such as the gate it is used at."))
    dates = _ids(_("The ids of the event's dates it admits; empty admits every date."))
    zones = _ids(_("The ids of the zones it admits; empty admits every zone."))
    tariffs = _ids(_("The ids of the tariffs it admits; empty admits every tariff."))
    admit_unpaid = serializers.BooleanField(
        required=False, help_text=_("Whether tickets of orders waiting for payment get in.")
    )
    allow_reentry = serializers.BooleanField(
        required=False,
        help_text=_("Whether a ticket scanned out (direction exit) may come back in."),
    )


def _pks(name):
    return serializers.SerializerMethodField(method_name=f"{name}_ids")


class TicketCheckinListOut(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.IntegerField(source="event_id")
    name = serializers.CharField()
    dates = _pks("dates")
    zones = _pks("zones")
    tariffs = _pks("tariffs")
    admit_unpaid = serializers.BooleanField()
    allow_reentry = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def dates_ids(self, checkin_list) -> list[int]:
        return sorted(obj.pk for obj in checkin_list.dates.all())

    def zones_ids(self, checkin_list) -> list[int]:
        return sorted(obj.pk for obj in checkin_list.zones.all())

    def tariffs_ids(self, checkin_list) -> list[int]:
        return sorted(obj.pk for obj in checkin_list.tariffs.all())


class TicketScanIn(serializers.Serializer):
    secret = StrictCharField(max_length=200, help_text=_("The code read from the ticket."))
    scan_id = StrictCharField(
        max_length=64,
        help_text=_(
            "Chosen by the device, unique on this list: sending it again answers the first "
            "result again and records nothing more."
        ),
    )
    direction = serializers.ChoiceField(choices=ScanDirection.choices, required=False)
    scanned_at = serializers.DateTimeField(
        required=False, help_text=_("The device's time of the scan; now when not given.")
    )
    gate = StrictCharField(max_length=100, required=False, allow_blank=True)
    device = StrictCharField(max_length=100, required=False, allow_blank=True)


class TicketScanFilterIn(serializers.Serializer):
    result = serializers.ChoiceField(choices=ScanResult.choices, required=False, allow_blank=True)
    since = serializers.DateTimeField(required=False, help_text=_("Scanned at or after this."))
    until = serializers.DateTimeField(required=False, help_text=_("Scanned before this."))
    search = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text=_("The order's code, or part of the name on the ticket or the buyer's."),
    )
    conflict = serializers.BooleanField(
        required=False,
        help_text=_(
            "true: only the offline scans that let a ticket in which had already come in "
            "elsewhere (or was cancelled meanwhile)."
        ),
    )


class TicketCheckinAnswerOut(serializers.Serializer):
    label = serializers.CharField(help_text=_("The question."))
    value = serializers.CharField(help_text=_("The answer; ticked boxes joined by commas."))


class TicketScanTicketOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="holder_name", help_text=_("The name on the ticket."))
    zone = serializers.IntegerField(source="zone_id")
    zone_name = serializers.CharField(source="zone.name")
    tariff = serializers.IntegerField(source="tariff_id")
    tariff_name = serializers.CharField(source="tariff.name")
    order = serializers.IntegerField(
        source="order_id", allow_null=True, help_text=_("Empty for a guest's invitation.")
    )
    order_code = serializers.CharField(source="order.code", allow_null=True, default=None)
    answers = serializers.SerializerMethodField(
        help_text=_(
            "The answers of the form's fields marked to be shown at check-in, in the "
            "form's display order; unanswered ones are left out."
        )
    )

    @extend_schema_field(TicketCheckinAnswerOut(many=True))
    def get_answers(self, ticket) -> list[dict]:
        return ticket_checkin_answers(ticket)


class TicketScanOut(serializers.Serializer):
    id = serializers.IntegerField()
    scan_id = serializers.CharField()
    checkin_list = serializers.IntegerField(source="checkin_list_id")
    direction = serializers.ChoiceField(choices=ScanDirection.choices)
    result = serializers.ChoiceField(
        choices=ScanResult.choices,
        help_text=_("exit_refused: an exit on a list without re-entry, or of a ticket not inside."),
    )
    ticket = TicketScanTicketOut(
        allow_null=True, help_text=_("Empty for a code that is no sold ticket of this event.")
    )
    first_entry_at = serializers.DateTimeField(
        source="first_entry.scanned_at",
        allow_null=True,
        default=None,
        help_text=_("When the ticket first came in, if before this scan."),
    )
    first_entry_gate = serializers.CharField(
        source="first_entry.gate", allow_null=True, default=None
    )
    gate = serializers.CharField()
    device = serializers.CharField()
    scanned_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    offline = serializers.BooleanField()
    conflict = serializers.BooleanField()


class TicketExportIn(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[
            ("orders", _("Orders")),
            ("tickets", _("Tickets with their form answers")),
            ("guests", _("Guests")),
            ("checkins", _("Check-in scans")),
        ],
        help_text=_(
            "`orders`: one row per order; `tickets`: one row per ticket of an order, with "
            "one column per form field in the form's display order; `guests`: one row per "
            "guest, with one column per custom column; `checkins`: one row per scan."
        ),
    )
    format = serializers.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    date = _whole(
        min_value=1,
        required=False,
        allow_null=True,
        help_text=_("Only this date of the event (its id); all of them when left out."),
    )


# -- offline scanning --------------------------------------------------------------------------


class TicketOfflineTicketOut(serializers.Serializer):
    hash = serializers.CharField(
        help_text=_("The SHA-256 (hex) of the ticket's code as printed, in upper case.")
    )
    name = serializers.CharField(help_text=_("The name on the ticket, or the buyer's."))
    zone = serializers.CharField()
    tariff = serializers.CharField()
    status = serializers.ChoiceField(choices=["paid", "unpaid", "cancelled"])
    checked_in_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When it first came in, when the data was made.")
    )
    answers = TicketCheckinAnswerOut(
        many=True, help_text=_("The answers shown at check-in, as a scan answers them.")
    )


class TicketOfflineDataOut(serializers.Serializer):
    checkin_list = serializers.IntegerField()
    event = serializers.IntegerField()
    generated_at = serializers.DateTimeField(
        help_text=_("Entries and sales after this time are not in the data.")
    )
    admit_unpaid = serializers.BooleanField()
    allow_reentry = serializers.BooleanField()
    dates = serializers.ListField(child=serializers.IntegerField())
    zones = serializers.ListField(child=serializers.IntegerField())
    tariffs = serializers.ListField(child=serializers.IntegerField())
    tickets = TicketOfflineTicketOut(
        many=True, help_text=_("The sold tickets of the dates, zones and tariffs it admits.")
    )


class TicketOfflineScanIn(TicketScanIn):
    scanned_at = serializers.DateTimeField(help_text=_("The device's time of the scan."))
    result = serializers.ChoiceField(
        choices=ScanResult.choices, help_text=_("What the device showed at the door.")
    )


class TicketScanUploadIn(serializers.Serializer):
    scans = serializers.ListField(child=TicketOfflineScanIn(), min_length=1, max_length=200)


class TicketScanUploadOut(serializers.Serializer):
    scans = TicketScanOut(many=True, help_text=_("The recorded scans, in the order sent."))
    conflicts = serializers.IntegerField(
        help_text=_("How many of them let in a ticket that the server refuses.")
    )
