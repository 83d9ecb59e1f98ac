"""Ticket offices: their events, dates, zones and tariffs, the forms tariffs ask buyers to
fill in, and the orders and tickets of their public shop.

An office holds events; an event has dates; a date's capacity is split into zones, the
unit that is never oversold; a zone sells through tariffs. A form belongs to the office
and can be linked to any of its tariffs (knowledge base: "Lier un formulaire par
tarif"); its fields are asked once per ticket.

A `Ticket` row is one seat from the moment a buyer puts it in a basket: it holds its seat
until `expires_at` (a basket's hold, a pending order's payment deadline) and for good
once `expires_at` is empty (a paid order). A hold that passes its time stops counting by
itself, so no cleanup job is needed for the shop to be right (services/sales.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from panel.products import Product


class TicketOffice(Product):
    """The product: a shop at /shop/<slug>/ with the organiser's contact details."""

    currency = models.CharField(_("currency"), max_length=3, default="CHF")
    slug = models.SlugField(_("shop address"), max_length=60, unique=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    contact_details = models.TextField(_("contact details"), max_length=1000, blank=True)
    hold_minutes = models.PositiveSmallIntegerField(_("basket hold (minutes)"), default=15)
    pay_later = models.BooleanField(_("pay later"), default=True)
    pay_later_days = models.PositiveSmallIntegerField(_("days to pay"), default=7)
    pay_later_instructions = models.TextField(_("how to pay later"), max_length=2000, blank=True)
    card_payments = models.BooleanField(_("card payments"), default=True)

    class Meta(Product.Meta):
        verbose_name = _("Ticket office")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    SELECT = "select", _("Selection")
    RADIO = "radio", _("Radio buttons")
    CHECKBOXES = "checkboxes", _("Checkboxes")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    DATE = "date", _("Date")


#: Field types whose answers are chosen among `options`.
CHOICE_TYPES = (FieldType.SELECT, FieldType.RADIO, FieldType.CHECKBOXES)


class TicketForm(models.Model):
    """Questions asked for each ticket of the tariffs linked to it."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    office = models.ForeignKey(TicketOffice, on_delete=models.CASCADE, related_name="forms")
    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class FormField(models.Model):
    """One question. `position`: 1, 2, 3 ... come first in that order, then the fields
    without a position, and 0 at the very end (services.forms.ordered_fields)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    form = models.ForeignKey(TicketForm, on_delete=models.CASCADE, related_name="fields")
    label = models.CharField(_("label"), max_length=200)
    type = models.CharField(_("type"), max_length=16, choices=FieldType.choices)
    help_text = models.CharField(_("help text"), max_length=500, blank=True)
    required = models.BooleanField(_("required"), default=False)
    options = models.JSONField(_("options"), default=list, blank=True)
    # The answer replaces the buyer's name on the ticket (the attendee's name, say).
    show_on_ticket = models.BooleanField(_("show on ticket"), default=False)
    # A link shown with the field, such as the terms being accepted.
    url = models.URLField(_("URL"), max_length=500, blank=True)
    position = models.PositiveIntegerField(_("position"), null=True, blank=True)
    # Whether the buyer may change the answer later from their order page.
    buyer_can_change = models.BooleanField(_("buyer can change"), default=True)
    # The answer is shown to door staff when the ticket is scanned (a meal, a wheelchair).
    show_at_checkin = models.BooleanField(_("show at check-in"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=[t.value for t in FieldType]), name="form_field_type_known"
            )
        ]

    def __str__(self):
        return self.label


# -- events -----------------------------------------------------------------------------------


class EventStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ON_SALE = "on_sale", _("On sale")
    SALES_CLOSED = "sales_closed", _("Sales closed")
    CANCELLED = "cancelled", pgettext_lazy("event status", "Cancelled")


class Event(models.Model):
    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    office = models.ForeignKey(TicketOffice, on_delete=models.CASCADE, related_name="events")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10000, blank=True)
    venue = models.CharField(_("venue"), max_length=300, blank=True)
    image = models.ImageField(_("image"), upload_to="ticketing/events/", blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=EventStatus.choices, default=EventStatus.DRAFT
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in EventStatus]), name="event_status_known"
            )
        ]

    def __str__(self):
        return self.title


class EventDate(models.Model):
    """One performance of an event. Sales are open from `sales_open_at` (or at once) until
    `sales_close_at` (or the start)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="dates")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    doors_at = models.DateTimeField(_("doors open at"), null=True, blank=True)
    sales_open_at = models.DateTimeField(_("sales open at"), null=True, blank=True)
    sales_close_at = models.DateTimeField(_("sales close at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self):
        return f"{self.event} {self.starts_at:%Y-%m-%d %H:%M}"


class Zone(models.Model):
    """A part of a date's capacity ("Stalls 300"): the unit that is never oversold. Every
    claim on it takes its row lock first (services/sales.py)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    date = models.ForeignKey(EventDate, on_delete=models.CASCADE, related_name="zones")
    name = models.CharField(_("name"), max_length=120)
    capacity = models.PositiveIntegerField(_("capacity"))
    # Numbered: buyers pick their seats on the zone's plan (`seats`); the capacity is
    # then the number of seats on sale (services/seats.py).
    numbered = models.BooleanField(_("numbered seats"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class Seat(models.Model):
    """One seat of a numbered zone's plan: its row and number as printed on the ticket,
    and where it is drawn (`x` the column, `y` the line of the plan, so gaps and aisles
    are simply positions without a seat). A seat taken out of sale stays on the plan."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="seats")
    row = models.CharField(_("row"), max_length=8)
    number = models.CharField(_("seat"), max_length=8)
    x = models.PositiveSmallIntegerField()
    y = models.PositiveSmallIntegerField()
    on_sale = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["y", "x", "id"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "row", "number"], name="seat_once_in_zone"),
            models.UniqueConstraint(fields=["zone", "x", "y"], name="seat_place_once_in_zone"),
        ]

    def __str__(self):
        return f"{self.row}-{self.number}"

    @property
    def label(self) -> str:
        """'Row A, seat 5', as the ticket, the basket and the emails print it."""
        from .services.seats import seat_label

        return seat_label(self.row, self.number)


class Tariff(models.Model):
    """A price in a zone, with an optional cap inside it, order limits, a sale window,
    public or hidden, and the form asked for each of its tickets."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="tariffs")
    name = models.CharField(_("name"), max_length=120)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    cap = models.PositiveIntegerField(_("cap"), null=True, blank=True)
    min_per_order = models.PositiveSmallIntegerField(_("minimum per order"), default=1)
    max_per_order = models.PositiveSmallIntegerField(_("maximum per order"), default=10)
    sale_starts_at = models.DateTimeField(_("sale starts at"), null=True, blank=True)
    sale_ends_at = models.DateTimeField(_("sale ends at"), null=True, blank=True)
    public = models.BooleanField(_("public"), default=True)
    form = models.ForeignKey(
        TicketForm,
        verbose_name=_("form"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tariffs",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="tariff_price_not_negative"),
            models.CheckConstraint(
                condition=Q(min_per_order__gte=1) & Q(max_per_order__gte=models.F("min_per_order")),
                name="tariff_order_limits_ordered",
            ),
        ]

    def __str__(self):
        return self.name


# -- baskets, orders and tickets --------------------------------------------------------------


class Basket(models.Model):
    """A buyer's seats on hold, known by the key handed to the buyer (kept hashed)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    office = models.ForeignKey(TicketOffice, on_delete=models.CASCADE, related_name="baskets")
    key_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"basket {self.pk}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")
    EXPIRED = "expired", pgettext_lazy("order status", "Expired")


class PaymentMethod(models.TextChoices):
    FREE = "free", _("Free")
    LATER = "later", _("Pay later")
    CARD = "card", _("Card")


class Order(models.Model):
    """A buyer's purchase, known by a short code. A pending order holds its tickets until
    `payment_deadline`; past it the seats are free again, whether or not a job has marked
    the order expired yet."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    office = models.ForeignKey(TicketOffice, on_delete=models.CASCADE, related_name="orders")
    code = models.CharField(_("code"), max_length=12)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices)
    buyer_name = models.CharField(_("name"), max_length=200)
    buyer_email = models.EmailField(_("email"))
    language = models.CharField(max_length=8, default="en")
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(_("payment"), max_length=8, choices=PaymentMethod.choices)
    payment_provider = models.CharField(max_length=32, blank=True)
    payment_reference = models.CharField(max_length=255, blank=True)
    payment_deadline = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    tickets_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["office", "code"], name="order_code_unique_in_office"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OrderStatus]), name="order_status_known"
            ),
        ]
        indexes = [models.Index(fields=["office", "status"])]

    def __str__(self):
        return self.code


class Ticket(models.Model):
    """One seat. Counted in its zone while not cancelled and `expires_at` is empty (sold)
    or in the future (held); its secret is derived, only its hash is stored
    (ticketing/secrets.py)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    # RESTRICT: a zone or tariff with tickets is not deleted on its own (the catalogue
    # refuses it), yet an office goes with all its tickets, reached through their orders
    # and baskets.
    zone = models.ForeignKey(Zone, on_delete=models.RESTRICT, related_name="tickets")
    tariff = models.ForeignKey(Tariff, on_delete=models.RESTRICT, related_name="tickets")
    # The basket a held ticket is in; emptied when the ticket joins an order.
    basket = models.ForeignKey(
        Basket, on_delete=models.CASCADE, null=True, blank=True, related_name="tickets"
    )
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="tickets"
    )
    price = models.DecimalField(max_digits=10, decimal_places=2)
    expires_at = models.DateTimeField(null=True, blank=True)
    cancelled = models.BooleanField(default=False)
    answers = models.JSONField(default=dict, blank=True)
    holder_name = models.CharField(max_length=400, blank=True)
    nonce = models.CharField(max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    # The first valid entry at a door (services/checkin.py).
    checked_in_at = models.DateTimeField(null=True, blank=True)
    # An invitation ticket: free, in no order, taken for good (services/guests.py).
    guest = models.ForeignKey(
        "Guest", on_delete=models.CASCADE, null=True, blank=True, related_name="tickets"
    )
    # The seat of a numbered zone; a seat is sold at most once (the constraint), and held
    # at most once under the zone's row lock (services/seats.py).
    seat = models.ForeignKey(
        Seat, on_delete=models.RESTRICT, null=True, blank=True, related_name="tickets"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["zone", "cancelled", "expires_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["seat"],
                condition=Q(seat__isnull=False, cancelled=False, expires_at__isnull=True),
                name="seat_sold_once",
            )
        ]

    def __str__(self):
        return f"ticket {self.pk}"


class PaymentEvent(models.Model):
    """A payment provider's notification already handled: the same event twice changes
    nothing (Stripe retries its webhooks)."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="payment_event_once")
        ]

    def __str__(self):
        return f"{self.provider} {self.event_id}"


# -- access control ---------------------------------------------------------------------------


class CheckinList(models.Model):
    """A door's rule: which of the event's tickets it lets in. An empty `dates`, `zones`
    or `tariffs` admits all of them; unpaid (pay-later) tickets only with
    `admit_unpaid`; coming back in after an exit scan only with `allow_reentry`
    (services/checkin.py)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="checkin_lists")
    name = models.CharField(_("name"), max_length=120)
    dates = models.ManyToManyField(EventDate, blank=True, related_name="checkin_lists")
    zones = models.ManyToManyField(Zone, blank=True, related_name="checkin_lists")
    tariffs = models.ManyToManyField(Tariff, blank=True, related_name="checkin_lists")
    admit_unpaid = models.BooleanField(_("admit unpaid tickets"), default=False)
    allow_reentry = models.BooleanField(_("allow re-entry"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class ScanDirection(models.TextChoices):
    ENTRY = "entry", _("Entry")
    EXIT = "exit", _("Exit")


class ScanResult(models.TextChoices):
    VALID = "valid", _("Valid")
    ALREADY_USED = "already_used", _("Already used")
    WRONG_DATE = "wrong_date", _("Wrong date")
    WRONG_ZONE = "wrong_zone", _("Wrong zone")
    UNPAID = "unpaid", _("Unpaid")
    CANCELLED = "cancelled", pgettext_lazy("scan result", "Cancelled")
    UNKNOWN = "unknown", _("Unknown")
    EXIT_REFUSED = "exit_refused", _("Exit refused")


class Scan(models.Model):
    """One reading of a code at a door, refused ones too. `scan_id` is chosen by the
    device, so that a retry (or a later offline upload) is recognised and answered with
    the first decision; `scanned_at` is the device's clock, `recorded_at` the server's.
    `first_entry` is the ticket's first valid entry when this scan came after one."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    checkin_list = models.ForeignKey(CheckinList, on_delete=models.CASCADE, related_name="scans")
    # Empty for a code that matches no sold ticket of the event.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="scans"
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=ScanDirection.choices, default=ScanDirection.ENTRY
    )
    result = models.CharField(_("result"), max_length=16, choices=ScanResult.choices)
    first_entry = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scan_id = models.CharField(max_length=64)
    device = models.CharField(_("device"), max_length=100, blank=True)
    gate = models.CharField(_("gate"), max_length=100, blank=True)
    scanned_at = models.DateTimeField(_("scanned at"))
    recorded_at = models.DateTimeField(default=timezone.now)
    offline = models.BooleanField(default=False)
    conflict = models.BooleanField(default=False)

    class Meta:
        ordering = ["-scanned_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["checkin_list", "scan_id"], name="scan_id_once_per_list"
            ),
            models.CheckConstraint(
                condition=Q(result__in=[r.value for r in ScanResult]), name="scan_result_known"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=[d.value for d in ScanDirection]),
                name="scan_direction_known",
            ),
        ]
        indexes = [
            models.Index(fields=["checkin_list", "-scanned_at", "-id"]),
            models.Index(fields=["checkin_list", "result", "-scanned_at"]),
            models.Index(fields=["ticket", "result"]),
        ]

    def __str__(self):
        return f"scan {self.scan_id}"


# -- guests -----------------------------------------------------------------------------------


class GuestStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


MAX_GUEST_PLACES = 20


class Guest(models.Model):
    """Someone the organiser invites to an event, with up to `places` free seats of
    `tariff` (its zone is where they count). Their tickets are `Ticket` rows linked to
    the guest, in no order and without `expires_at`, so the shop counts them like sold
    seats (services/guests.py). The personal link's key is kept hashed only; `opened_at`,
    `answered_at` and `invited_at` are what invitations and reminders need."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="guests")
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    company = models.CharField(_("company"), max_length=200, blank=True)
    places = models.PositiveSmallIntegerField(_("places offered"), default=1)
    # RESTRICT: a tariff with guests is not deleted under them.
    tariff = models.ForeignKey(
        Tariff, verbose_name=_("tariff"), on_delete=models.RESTRICT, related_name="guests"
    )
    # Custom columns of the guest list (a CSV file's other columns), by column name.
    extra = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=GuestStatus.choices, default=GuestStatus.INVITED
    )
    places_accepted = models.PositiveSmallIntegerField(_("places accepted"), default=0)
    invited_at = models.DateTimeField(_("invited at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # The link's key is derived from this nonce (secrets.guest_key), so that every email
    # can carry it while the database keeps only its hash.
    link_nonce = models.CharField(max_length=32, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "email"], name="guest_email_once_per_event"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in GuestStatus]), name="guest_status_known"
            ),
            models.CheckConstraint(
                condition=Q(places__gte=1) & Q(places__lte=MAX_GUEST_PLACES),
                name="guest_places_in_range",
            ),
            models.CheckConstraint(
                condition=Q(places_accepted__lte=models.F("places")),
                name="guest_accepts_at_most_offered",
            ),
        ]
        indexes = [models.Index(fields=["event", "status"])]

    def __str__(self):
        return self.name


class GuestMessageKind(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    REMINDER = "reminder", _("Reminder")


class GuestMessage(models.Model):
    """The organiser's text of an event's invitation or reminder email, with variables
    such as {{ name }} and {{ link }} (services/invitations.py lists them)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="guest_messages")
    kind = models.CharField(max_length=16, choices=GuestMessageKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), max_length=10000)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="guest_message_once_per_kind"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in GuestMessageKind]),
                name="guest_message_kind_known",
            ),
        ]

    def __str__(self):
        return f"{self.event} {self.kind}"


class GuestReminder(models.Model):
    """A reminder the organiser planned: at `send_at`, the beat starts one Job (`job`,
    set once under the row's lock) that reminds every guest invited and still silent."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="guest_reminders")
    send_at = models.DateTimeField(_("send at"))
    job = models.ForeignKey(
        "panel.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["send_at", "id"]
        indexes = [models.Index(fields=["started_at", "send_at"])]

    def __str__(self):
        return f"{self.event} {self.send_at:%Y-%m-%d %H:%M}"


class ScannerDevice(models.Model):
    """A door phone let in by a link rather than an account: it scans the tickets of
    its event's check-in lists (`lists`; none chosen means all the event's lists) and
    reaches nothing else. The link's key is random and only its SHA-256 is kept
    (`key_hash`), as for basket keys; setting `revoked_at` stops the device on its very
    next request (services/checkin.py, views/door.py)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="scanner_devices")
    name = models.CharField(_("name"), max_length=100)
    lists = models.ManyToManyField(CheckinList, blank=True, related_name="scanner_devices")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name
