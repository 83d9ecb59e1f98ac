"""What an office sells: events, their dates, the zones of a date and the tariffs of a
zone. Every change needs MANAGE_PRODUCT on the office; every problem of an input comes
at once. What has been sold is never deleted from under its buyers: a date, zone or
tariff with tickets is cancelled (services/sales.py) or left as it is."""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, Problems
from panel.services.common import clean_name

from ..models import Event, EventDate, EventStatus, Guest, Tariff, Ticket, TicketForm, Zone

MAX_CAPACITY = 1_000_000
MAX_PRICE = Decimal("1000000")
MAX_PER_ORDER = 100
#: What an event's status may become: cancelled is for good.
STATUS_MOVES = {
    EventStatus.DRAFT: {EventStatus.ON_SALE, EventStatus.CANCELLED},
    EventStatus.ON_SALE: {EventStatus.SALES_CLOSED, EventStatus.DRAFT, EventStatus.CANCELLED},
    EventStatus.SALES_CLOSED: {EventStatus.ON_SALE, EventStatus.CANCELLED},
    EventStatus.CANCELLED: set(),
}


def _text(problems, data, name, limit, *, required=False):
    value = data.get(name)
    if required:
        return problems.check(clean_name, value, field=name, max_length=limit)
    if value is not None and not isinstance(value, str):
        problems.add(name, _("Enter text."))
        return ""
    value = (value or "").strip()
    if len(value) > limit:
        problems.add(name, _("At most %(n)d characters.") % {"n": limit})
    return value


def _whole(problems, data, name, low, high, *, optional=False):
    value = data.get(name)
    if optional and value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(name, _("Enter a whole number from %(a)d to %(b)d.") % {"a": low, "b": high})
        return None
    return value


#: The years an event's moments may fall in: a typing slip such as 0202 or 20266 is refused
#: with a clear message rather than stored as a date nobody can sell for.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099


def _moment(problems, data, name, *, required=False):
    value = data.get(name)
    if value in (None, ""):
        if required:
            problems.add(name, _("This field is required."))
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            problems.add(name, _("Enter a date and time."))
            return None
    if not isinstance(value, datetime.datetime):
        problems.add(name, _("Enter a date and time."))
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        problems.add(
            name,
            _("Give a date between %(first)s and %(last)s.")
            % {"first": EARLIEST_YEAR, "last": LATEST_YEAR},
        )
        return None
    return value


def _after(problems, earlier, later, field, message):
    if earlier and later and later <= earlier:
        problems.add(field, message)


def _office_of(obj):
    if isinstance(obj, Event):
        return obj.office
    if isinstance(obj, EventDate):
        return obj.event.office
    if isinstance(obj, Zone):
        return obj.date.event.office
    return obj.zone.date.event.office


def _require(access, obj):
    office = _office_of(obj)
    access.require(Capability.MANAGE_PRODUCT, office)
    return office


def _refuse_if_sold(tickets, what):
    """Tickets still counted (sold, ordered or held) keep their date, zone or tariff;
    held tickets of baskets that have expired do not."""
    now = timezone.now()
    Ticket.objects.filter(order__isnull=True, expires_at__lte=now).filter(
        pk__in=tickets.values("pk")
    ).delete()
    if tickets.exists():
        raise Conflict(
            _("%(what)s has tickets: cancel it instead, so that its buyers are told.")
            % {"what": what},
            code="has_tickets",
        )


def _refuse_if_guests(tariffs, what):
    """Guests are invited to a tariff: it stays while they are on the list."""
    if Guest.objects.filter(tariff__in=tariffs).exists():
        raise Conflict(
            _("%(what)s has guests invited to it: move or remove them first.") % {"what": what},
            code="has_guests",
        )


# -- events -----------------------------------------------------------------------------------


def _clean_event(data, problems, *, partial):
    cleaned = {}
    if not partial or "title" in data:
        cleaned["title"] = _text(problems, data, "title", 200, required=True)
    if "description" in data:
        cleaned["description"] = _text(problems, data, "description", 10000)
    if "venue" in data:
        cleaned["venue"] = _text(problems, data, "venue", 300)
    return cleaned


@transaction.atomic
def event_create(*, access: Access, office, **data) -> Event:
    """A new event, as a draft: `title`, `description`, `venue`."""
    access.require(Capability.MANAGE_PRODUCT, office)
    problems = Problems()
    cleaned = _clean_event(data, problems, partial=False)
    problems.raise_if_any()
    event = Event.objects.create(organisation=access.organisation, office=office, **cleaned)
    record_by(access, "ticketing.event.created", office, {"event": event.title})
    return event


def _sellable(event) -> bool:
    live = Tariff.objects.filter(zone__date__event=event, zone__date__cancelled_at__isnull=True)
    return live.exists()


@transaction.atomic
def event_update(*, access: Access, event: Event, **changes) -> Event:
    """Its title, description, venue, image and status. It goes on sale once one of its
    dates has a zone with a tariff; cancelling it cancels every date (and its orders)."""
    office = _require(access, event)
    problems = Problems()
    cleaned = _clean_event(changes, problems, partial=True)
    status = changes.get("status")
    if status is not None and status != event.status:
        if status not in EventStatus.values:
            problems.add("status", _("Choose one of %(s)s.") % {"s": ", ".join(EventStatus.values)})
        elif status not in STATUS_MOVES[event.status]:
            problems.add("status", _("A cancelled event stays cancelled."))
        elif status == EventStatus.ON_SALE and not _sellable(event):
            problems.add(
                "status", _("Add a date with a zone and a tariff before putting it on sale.")
            )
        else:
            cleaned["status"] = status
    if "image" in changes:
        cleaned["image"] = changes["image"] or ""
    problems.raise_if_any()
    for name, value in cleaned.items():
        setattr(event, name, value)
    event.save()
    if cleaned.get("status") == EventStatus.CANCELLED:
        from .sales import date_cancel

        for date in event.dates.filter(cancelled_at__isnull=True):
            date_cancel(access=access, date=date)
    record_by(
        access, "ticketing.event.changed", office, {"event": event.title, "fields": sorted(cleaned)}
    )
    return event


@transaction.atomic
def event_delete(*, access: Access, event: Event) -> None:
    office = _require(access, event)
    _refuse_if_sold(Ticket.objects.filter(zone__date__event=event), _("This event"))
    record_by(access, "ticketing.event.deleted", office, {"event": event.title})
    event.delete()


# -- dates ------------------------------------------------------------------------------------

DATE_FIELDS = ("starts_at", "ends_at", "doors_at", "sales_open_at", "sales_close_at")


def _clean_date(data, current, problems):
    merged = {**current, **data}
    cleaned = {
        name: _moment(problems, merged, name, required=name == "starts_at") for name in DATE_FIELDS
    }
    starts = cleaned["starts_at"]
    _after(problems, starts, cleaned["ends_at"], "ends_at", _("The end comes after the start."))
    if starts and cleaned["doors_at"] and cleaned["doors_at"] > starts:
        problems.add("doors_at", _("Doors open before the start, or at it."))
    _after(
        problems,
        cleaned["sales_open_at"],
        cleaned["sales_close_at"],
        "sales_close_at",
        _("Sales close after they open."),
    )
    return cleaned


@transaction.atomic
def date_create(*, access: Access, event: Event, **data) -> EventDate:
    """A date of the event: `starts_at`, and optionally `ends_at`, `doors_at`,
    `sales_open_at`, `sales_close_at` (sales close at the start when not given)."""
    office = _require(access, event)
    problems = Problems()
    cleaned = _clean_date(data, {}, problems)
    problems.raise_if_any()
    date = EventDate.objects.create(organisation=access.organisation, event=event, **cleaned)
    record_by(access, "ticketing.date.created", office, {"event": event.title})
    return date


@transaction.atomic
def date_update(*, access: Access, date: EventDate, **changes) -> EventDate:
    _require(access, date)
    problems = Problems()
    current = {name: getattr(date, name) for name in DATE_FIELDS}
    cleaned = _clean_date({k: v for k, v in changes.items() if k in DATE_FIELDS}, current, problems)
    problems.raise_if_any()
    for name, value in cleaned.items():
        setattr(date, name, value)
    date.save()
    return date


@transaction.atomic
def date_delete(*, access: Access, date: EventDate) -> None:
    office = _require(access, date)
    _refuse_if_sold(Ticket.objects.filter(zone__date=date), _("This date"))
    _refuse_if_guests(Tariff.objects.filter(zone__date=date), _("This date"))
    record_by(access, "ticketing.date.deleted", office, {"event": date.event.title})
    date.delete()


# -- zones ------------------------------------------------------------------------------------


@transaction.atomic
def zone_create(
    *, access: Access, date: EventDate, name: str, capacity: int | None = None,
    numbered: bool = False, layout: str | None = None,
) -> Zone:  # fmt: skip
    """A zone of the date: `name` and `capacity` (seats that are never oversold), or
    `numbered` with the text `layout` of its plan, whose seats on sale are its capacity
    (services/seats.py; a numbered zone without a plan sells nothing yet)."""
    from .seats import seat_plan_set

    _require(access, date)
    problems = Problems()
    name = problems.check(clean_name, name, max_length=120)
    if not numbered:
        capacity = _whole(problems, {"capacity": capacity}, "capacity", 1, MAX_CAPACITY)
    problems.raise_if_any()
    zone = Zone.objects.create(
        organisation=access.organisation, date=date, name=name, capacity=capacity or 0,
        numbered=bool(numbered),
    )  # fmt: skip
    zone.date = date
    if numbered and layout is not None:
        zone = seat_plan_set(access=access, zone=zone, layout=layout)
    return zone


@transaction.atomic
def zone_update(*, access: Access, zone: Zone, **changes) -> Zone:
    """Its name and capacity; the capacity does not go below the seats already taken.
    `numbered` switches the zone to seats picked on its plan, or back (only while it has
    no tickets); a numbered zone's capacity is its seats on sale and is not set here."""
    from .sales import lock_zones, taken_counts
    from .seats import seat_plan_set

    _require(access, zone)
    problems = Problems()
    if "name" in changes:
        zone.name = problems.check(clean_name, changes["name"], max_length=120) or zone.name
    numbered = changes.get("numbered")
    if numbered is not None and not isinstance(numbered, bool):
        problems.add("numbered", _("Give true or false."))
        numbered = None
    will_be_numbered = zone.numbered if numbered is None else numbered
    if "capacity" in changes and will_be_numbered:
        if changes["capacity"] not in (None, zone.capacity):
            problems.add(
                "capacity",
                _("A numbered zone sells the seats on sale in its plan: change the plan."),
            )
    elif "capacity" in changes:
        capacity = _whole(problems, changes, "capacity", 1, MAX_CAPACITY)
        if capacity is not None:
            lock_zones([zone.pk])
            taken = taken_counts([zone.pk])["zones"].get(zone.pk, 0)
            if capacity < taken:
                problems.add(
                    "capacity",
                    _("%(n)d seats are already taken or held: the capacity cannot be lower.")
                    % {"n": taken},
                )
            else:
                zone.capacity = capacity
    problems.raise_if_any()
    zone.save(update_fields=["name", "capacity"])
    if numbered is not None and numbered != zone.numbered:
        zone = seat_plan_set(access=access, zone=zone, numbered=numbered)
    return zone


@transaction.atomic
def zone_delete(*, access: Access, zone: Zone) -> None:
    _require(access, zone)
    _refuse_if_sold(zone.tickets.all(), _("This zone"))
    _refuse_if_guests(zone.tariffs.all(), _("This zone"))
    zone.delete()


# -- tariffs ----------------------------------------------------------------------------------


def clean_price(value) -> Decimal:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise InvalidInput(fields={"price": [_("Enter a price such as 25.00.")]})
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(fields={"price": [_("Enter a price such as 25.00.")]}) from None
    if (
        not price.is_finite()
        or price < 0
        or price >= MAX_PRICE
        or price != price.quantize(Decimal("0.01"))
    ):
        raise InvalidInput(fields={"price": [_("Enter a price from 0 with at most two decimals.")]})
    return price.quantize(Decimal("0.01"))


TARIFF_FIELDS = ("name", "price", "cap", "min_per_order", "max_per_order", "sale_starts_at",
                 "sale_ends_at", "public", "form")  # fmt: skip


def _clean_tariff(office, data, current, problems):
    merged = {**current, **data}
    cleaned = {"name": problems.check(clean_name, merged.get("name"), max_length=120)}
    cleaned["price"] = problems.check(clean_price, merged.get("price"))
    cleaned["cap"] = _whole(problems, merged, "cap", 1, MAX_CAPACITY, optional=True)
    limits = {
        "min_per_order": 1 if merged.get("min_per_order") is None else merged["min_per_order"],
        "max_per_order": 10 if merged.get("max_per_order") is None else merged["max_per_order"],
    }
    for name in limits:
        cleaned[name] = _whole(problems, limits, name, 1, MAX_PER_ORDER)
    if (
        cleaned["min_per_order"]
        and cleaned["max_per_order"]
        and cleaned["max_per_order"] < cleaned["min_per_order"]
    ):
        problems.add("max_per_order", _("The maximum is at least the minimum."))
    cleaned["sale_starts_at"] = _moment(problems, merged, "sale_starts_at")
    cleaned["sale_ends_at"] = _moment(problems, merged, "sale_ends_at")
    _after(problems, cleaned["sale_starts_at"], cleaned["sale_ends_at"], "sale_ends_at",
           _("The sale ends after it starts."))  # fmt: skip
    cleaned["public"] = bool(merged.get("public", True))
    form = merged.get("form")
    if isinstance(form, TicketForm):
        form = form.pk
    if form in (None, ""):
        cleaned["form"] = None
    else:
        found = (
            office.forms.filter(pk=form).first()
            if isinstance(form, int) and not isinstance(form, bool)
            else None
        )
        if found is None:
            problems.add("form", _("Choose one of this office's forms."))
        cleaned["form"] = found
    return cleaned


@transaction.atomic
def tariff_create(*, access: Access, zone: Zone, **data) -> Tariff:
    """A tariff of the zone: `name`, `price` (0 allowed), and optionally `cap` (at most
    this many of the zone's seats), `min_per_order`, `max_per_order`, a sale window,
    `public` (hidden tariffs are not sold in the shop) and the `form` each ticket asks."""
    office = _require(access, zone)
    problems = Problems()
    cleaned = _clean_tariff(office, data, {}, problems)
    problems.raise_if_any()
    return Tariff.objects.create(organisation=access.organisation, zone=zone, **cleaned)


@transaction.atomic
def tariff_update(*, access: Access, tariff: Tariff, **changes) -> Tariff:
    office = _require(access, tariff)
    problems = Problems()
    current = {name: getattr(tariff, name) for name in TARIFF_FIELDS}
    cleaned = _clean_tariff(office, {k: v for k, v in changes.items() if k in TARIFF_FIELDS},
                            current, problems)  # fmt: skip
    problems.raise_if_any()
    for name, value in cleaned.items():
        setattr(tariff, name, value)
    tariff.save()
    return tariff


@transaction.atomic
def tariff_delete(*, access: Access, tariff: Tariff) -> None:
    _require(access, tariff)
    _refuse_if_sold(tariff.tickets.all(), _("This tariff"))
    _refuse_if_guests([tariff], _("This tariff"))
    tariff.delete()
