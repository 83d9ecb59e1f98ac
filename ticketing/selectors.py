"""Reads of the ticket office that the Manager, the API, the shop and the tasks share.
Each answers in a bounded number of queries, whatever the number of rows."""

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    Value,
    When,
)
from django.utils import timezone

from panel.access import Access, Capability
from panel.errors import NotFound

from .models import (
    CheckinList,
    Event,
    EventDate,
    EventStatus,
    FormField,
    Guest,
    GuestStatus,
    Order,
    OrderStatus,
    Scan,
    ScanDirection,
    ScanResult,
    Tariff,
    Ticket,
    TicketForm,
    TicketOffice,
    Zone,
)
from .services.sales import not_on_sale_reason, taken_counts


def office_list(*, access: Access):
    return access.visible_products("ticketing").order_by("name", "id")


def office_for(*, access: Access, office_id) -> TicketOffice:
    """The office, 404 unless the person sees it."""
    office = office_list(access=access).filter(pk=_id(office_id)).first()
    if office is None:
        raise NotFound()
    return office


def _id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound() from None


def _visible(access: Access, office: TicketOffice):
    if office.organisation_id != access.organisation.pk or not access.can(
        Capability.VIEW_PRODUCT, office
    ):
        raise NotFound()


def _lookup(access, queryset, pk, office_path):
    """An object of the organisation by id, 404 unless its office is visible."""
    obj = (
        queryset.filter(organisation=access.organisation, pk=_id(pk))
        .select_related(office_path)
        .first()
    )
    if obj is None:
        raise NotFound()
    office = obj
    for part in office_path.split("__"):
        office = getattr(office, part)
    _visible(access, office)
    return obj


def form_for(*, access, form_id) -> TicketForm:
    return _lookup(access, TicketForm.objects.all(), form_id, "office")


def field_for(*, access, field_id) -> FormField:
    return _lookup(access, FormField.objects.all(), field_id, "form__office")


def event_for(*, access, event_id) -> Event:
    return _lookup(access, Event.objects.all(), event_id, "office")


def date_for(*, access, date_id) -> EventDate:
    return _lookup(access, EventDate.objects.all(), date_id, "event__office")


def zone_for(*, access, zone_id) -> Zone:
    return _lookup(access, Zone.objects.all(), zone_id, "date__event__office")


def tariff_for(*, access, tariff_id) -> Tariff:
    return _lookup(access, Tariff.objects.all(), tariff_id, "zone__date__event__office")


def order_for(*, access, order_id) -> Order:
    return _lookup(access, Order.objects.all(), order_id, "office")


# -- availability -----------------------------------------------------------------------------


def dates_with_availability(dates, *, now=None, public_only=False) -> list[EventDate]:
    """The dates with their zones and tariffs, each carrying `capacity`, `held`, `sold`
    and `available` (tariffs: `available` counts their zone and their cap); in three
    queries for any number of dates."""
    now = now or timezone.now()
    tariffs = Tariff.objects.order_by("price", "id")
    if public_only:
        tariffs = tariffs.filter(public=True)
    dates = list(
        dates.prefetch_related(
            Prefetch("zones", queryset=Zone.objects.order_by("id")),
            Prefetch("zones__tariffs", queryset=tariffs.select_related("form")),
        )
    )
    zone_ids = [zone.pk for date in dates for zone in date.zones.all()]
    counts = _held_and_sold(zone_ids, now)
    taken = taken_counts(zone_ids, now=now) if zone_ids else {"zones": {}, "tariffs": {}}
    for date in dates:
        date.capacity = date.held = date.sold = 0
        for zone in date.zones.all():
            zone.held, zone.sold = counts["zones"].get(zone.pk, (0, 0))
            zone.available = max(zone.capacity - zone.held - zone.sold, 0)
            for tariff in zone.tariffs.all():
                tariff.held, tariff.sold = counts["tariffs"].get(tariff.pk, (0, 0))
                left = zone.available
                if tariff.cap is not None:
                    left = min(left, tariff.cap - taken["tariffs"].get(tariff.pk, 0))
                tariff.available = max(left, 0)
            date.capacity += zone.capacity
            date.held += zone.held
            date.sold += zone.sold
        date.available = max(date.capacity - date.held - date.sold, 0)
    return dates


def _held_and_sold(zone_ids, now) -> dict:
    from django.db.models import Count

    from .models import Ticket
    from .services.sales import counted

    rows = (
        Ticket.objects.filter(counted(now), zone_id__in=zone_ids)
        .values_list("zone_id", "tariff_id")
        .annotate(
            held=Count("id", filter=Q(expires_at__isnull=False)),
            sold=Count("id", filter=Q(expires_at__isnull=True)),
        )
    )
    zones: dict[int, tuple[int, int]] = {}
    tariffs: dict[int, tuple[int, int]] = {}
    for zone_id, tariff_id, held, sold in rows:
        zone_held, zone_sold = zones.get(zone_id, (0, 0))
        zones[zone_id] = (zone_held + held, zone_sold + sold)
        tariffs[tariff_id] = (held, sold)
    return {"zones": zones, "tariffs": tariffs}


# -- the shop ---------------------------------------------------------------------------------


def shop_office(slug) -> TicketOffice:
    office = TicketOffice.objects.filter(slug=str(slug)).first()
    if office is None:
        raise NotFound()
    return office


def shop_events(office: TicketOffice):
    """Events on sale, with their dates to come, soonest first."""
    upcoming = EventDate.objects.filter(
        starts_at__gte=timezone.now(), cancelled_at__isnull=True
    ).order_by("starts_at")
    return (
        office.events.filter(status=EventStatus.ON_SALE)
        .prefetch_related(Prefetch("dates", queryset=upcoming))
        .order_by("title", "id")
    )


def shop_event(office: TicketOffice, event_id) -> Event:
    event = office.events.filter(status=EventStatus.ON_SALE, pk=_id(event_id)).first()
    if event is None:
        raise NotFound()
    return event


def shop_dates(event: Event, *, now=None) -> list[EventDate]:
    """The event's dates to come with what is left, public tariffs only, each tariff
    carrying `reason` (why it is not on sale now, or None)."""
    now = now or timezone.now()
    dates = dates_with_availability(
        event.dates.filter(starts_at__gte=now, cancelled_at__isnull=True).order_by("starts_at"),
        now=now,
        public_only=True,
    )
    for date in dates:
        date.event = event
        for zone in date.zones.all():
            zone.date = date
            for tariff in zone.tariffs.all():
                tariff.zone = zone
                tariff.reason = not_on_sale_reason(tariff, now)
    return dates


# -- orders -----------------------------------------------------------------------------------


def order_list(*, office: TicketOffice, status=None, date=None, search=None):
    """The office's orders, newest first, filtered by status, date (id) and a search
    over the code, the buyer's name and email, and the names on the tickets (what the
    door staff hear: "I am Alice", while Bob bought)."""
    orders = office.orders.all()
    if status:
        orders = orders.filter(status=status)
    if date:
        orders = orders.filter(tickets__zone__date_id=_id(date))
    if search:
        search = str(search).strip()
        orders = orders.filter(
            Q(code__iexact=search)
            | Q(buyer_name__icontains=search)
            | Q(buyer_email__icontains=search)
            | Q(tickets__holder_name__icontains=search)
        )
    return orders.distinct().order_by("-created_at", "-id")


def order_tickets(order: Order):
    return (
        order.tickets.select_related("tariff__zone__date__event", "tariff__form")
        .prefetch_related("tariff__form__fields")
        .order_by("pk")
    )


# -- access control ---------------------------------------------------------------------------


def checkin_list_for(*, access, checkin_list_id) -> CheckinList:
    return _lookup(access, CheckinList.objects.all(), checkin_list_id, "event__office")


def checkin_list_list(*, event: Event):
    """The event's check-in lists with what they admit, in four queries."""
    return event.checkin_lists.prefetch_related("dates", "zones", "tariffs").order_by("name", "id")


def scan_list(*, checkin_list: CheckinList, result=None, since=None, until=None, search=None):
    """The list's scans, latest first (by the device's time), filtered by result, a
    time window [since, until) and a search over the order's code, the name on the
    ticket and the buyer's name and email; with their tickets, in one query, and the
    fields of their forms (the answers shown at check-in) in two more."""
    scans = checkin_list.scans.select_related(
        "ticket__order", "ticket__zone", "ticket__tariff", "first_entry"
    ).prefetch_related("ticket__tariff__form__fields")
    if result:
        scans = scans.filter(result=result)
    if since:
        scans = scans.filter(scanned_at__gte=since)
    if until:
        scans = scans.filter(scanned_at__lt=until)
    if search:
        search = str(search).strip()
        scans = scans.filter(
            Q(ticket__order__code__iexact=search)
            | Q(ticket__holder_name__icontains=search)
            | Q(ticket__order__buyer_name__icontains=search)
            | Q(ticket__order__buyer_email__icontains=search)
        )
    return scans.order_by("-scanned_at", "-id")


# -- guests and the door ----------------------------------------------------------------------

#: What the guest list shows of a guest, in the order a guest goes through them.
GUEST_STATES = ("invited", "opened", "accepted", "declined", "checked_in")


def guests_with_state(*, event: Event):
    """The event's guests with `state`: checked_in once one of their tickets came in,
    else accepted or declined once they answered, else opened once they opened their
    link, else invited. Filter and count on it in the database."""
    came_in = Ticket.objects.filter(
        guest=OuterRef("pk"), cancelled=False, checked_in_at__isnull=False
    )
    return Guest.objects.filter(event=event, organisation_id=event.organisation_id).annotate(
        state=Case(
            When(Exists(came_in), then=Value("checked_in")),
            When(status=GuestStatus.ACCEPTED, then=Value("accepted")),
            When(status=GuestStatus.DECLINED, then=Value("declined")),
            When(opened_at__isnull=False, then=Value("opened")),
            default=Value("invited"),
        )
    )


def guest_state_counts(*, event: Event) -> dict[str, int]:
    """{state: how many guests}, every state present, in one query."""
    rows = guests_with_state(event=event).order_by().values("state").annotate(n=Count("id"))
    counts = dict.fromkeys(GUEST_STATES, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


class _QuarterHour(Func):
    """The start of the quarter hour a moment falls in (PostgreSQL; SQLite for make run)."""

    template = "to_timestamp(floor(extract(epoch from %(expressions)s) / 900) * 900)"
    output_field = DateTimeField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="datetime(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / 900 * 900, "
            "'unixepoch')",
            **extra_context,
        )


def door_counts(*, event: Event) -> dict:
    """How many of the event's tickets are in: {sold, checked_in}. Sold counts the
    tickets of paid orders and the guests' seats, not cancelled ones; one query."""
    tickets = Ticket.objects.filter(
        organisation_id=event.organisation_id, zone__date__event=event, cancelled=False
    ).filter(Q(order__status=OrderStatus.PAID) | Q(order__isnull=True, guest__isnull=False))
    return tickets.aggregate(
        sold=Count("id"), checked_in=Count("id", filter=Q(checked_in_at__isnull=False))
    )


def entries_per_quarter_hour(*, event: Event) -> dict:
    """{start of a quarter hour: valid entries scanned then} on all the event's lists,
    counted in the database; one query."""
    rows = (
        Scan.objects.filter(
            organisation_id=event.organisation_id,
            checkin_list__event=event,
            result=ScanResult.VALID,
            direction=ScanDirection.ENTRY,
        )
        .annotate(slot=_QuarterHour(F("scanned_at")))
        .values("slot")
        .annotate(entries=Count("id"))
        .order_by("slot")
    )
    return {row["slot"]: row["entries"] for row in rows}
