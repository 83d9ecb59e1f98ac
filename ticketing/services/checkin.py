"""At the door: check-in lists and the scans of tickets against them.

A check-in list says which of its event's tickets a door admits (dates, zones, tariffs;
empty means all), whether unpaid tickets get in, and whether a ticket may come back in
after an exit scan. Every scan is recorded, refused ones too, so that the organiser sees
who tried what at which gate.

Exactly one entry: the decision between `valid` and `already_used` is taken under the
row lock of the ticket (`SELECT ... FOR UPDATE`), whatever list or gate scans it, so two
devices scanning one ticket at the same moment are served one after the other. A device
names each scan (`scan_id`): the same name on the same list answers the first decision
again and records nothing more, which makes retries after a lost answer safe and lets
offline devices upload later without double counting.
"""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import CharField, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Problems
from panel.services.common import clean_name

from .. import secrets
from ..models import (
    CheckinList,
    Event,
    EventDate,
    OrderStatus,
    Scan,
    ScanDirection,
    ScanResult,
    Tariff,
    Ticket,
    Zone,
)
from .catalogue import EARLIEST_YEAR, LATEST_YEAR

SCAN_ID_MAX_LENGTH = 64
LABEL_MAX_LENGTH = 100
#: A code longer than this is no ticket of ours; it is hashed all the same, and unknown.
SECRET_MAX_LENGTH = 200
#: How far ahead of the server a device's clock may be (a wrong time zone, a bad clock).
DEVICE_CLOCK_AHEAD = datetime.timedelta(hours=14)


# -- lists ------------------------------------------------------------------------------------


def _members(problems, event: Event, data: dict, name: str, model):
    """The event's dates, zones or tariffs named by id in `data[name]`; a field error
    for anything else (another event's, a typo)."""
    ids = data.get(name) or []
    if not isinstance(ids, list | tuple) or any(
        isinstance(i, bool) or not isinstance(i, int) for i in ids
    ):
        problems.add(name, _("Give a list of ids."))
        return []
    path = {EventDate: "event", Zone: "date__event", Tariff: "zone__date__event"}[model]
    found = list(model.objects.filter(**{path: event}, pk__in=set(ids)))
    if len(found) != len(set(ids)):
        missing = sorted(set(ids) - {obj.pk for obj in found})
        problems.add(
            name,
            _("These ids are not of this event: %(ids)s.")
            % {"ids": ", ".join(str(i) for i in missing)},
        )
    return found


LIST_MEMBERS = {"dates": EventDate, "zones": Zone, "tariffs": Tariff}


def _clean_list(event, data, problems, *, partial):
    cleaned = {}
    if not partial or "name" in data:
        cleaned["name"] = problems.check(clean_name, data.get("name"), max_length=120)
    for flag in ("admit_unpaid", "allow_reentry"):
        if flag in data:
            cleaned[flag] = bool(data[flag])
    members = {
        name: _members(problems, event, data, name, model)
        for name, model in LIST_MEMBERS.items()
        if not partial or name in data
    }
    return cleaned, members


def _office_of(checkin_list: CheckinList):
    return checkin_list.event.office


@transaction.atomic
def checkin_list_create(*, access: Access, event: Event, **data) -> CheckinList:
    """A check-in list of the event (MANAGE_PRODUCT on its office): `name`, and
    optionally `dates`, `zones`, `tariffs` (ids of the event's; empty admits all),
    `admit_unpaid`, `allow_reentry`. Raises InvalidInput naming each field at fault."""
    access.require(Capability.MANAGE_PRODUCT, event.office)
    problems = Problems()
    cleaned, members = _clean_list(event, data, problems, partial=False)
    problems.raise_if_any()
    checkin_list = CheckinList.objects.create(
        organisation=access.organisation, event=event, **cleaned
    )
    for name, objects in members.items():
        getattr(checkin_list, name).set(objects)
    record_by(access, "ticketing.checkin_list.created", event.office,
              {"event": event.title, "list": checkin_list.name})  # fmt: skip
    return checkin_list


@transaction.atomic
def checkin_list_update(*, access: Access, checkin_list: CheckinList, **changes) -> CheckinList:
    """Changes what it admits; the fields not given stay as they are. Scans already
    recorded keep their result."""
    office = _office_of(checkin_list)
    access.require(Capability.MANAGE_PRODUCT, office)
    problems = Problems()
    cleaned, members = _clean_list(checkin_list.event, changes, problems, partial=True)
    problems.raise_if_any()
    for name, value in cleaned.items():
        setattr(checkin_list, name, value)
    checkin_list.save()
    for name, objects in members.items():
        getattr(checkin_list, name).set(objects)
    record_by(access, "ticketing.checkin_list.changed", office,
              {"list": checkin_list.name, "fields": sorted([*cleaned, *members])})  # fmt: skip
    return checkin_list


@transaction.atomic
def checkin_list_delete(*, access: Access, checkin_list: CheckinList) -> None:
    """Deletes the list with its scans. The tickets that came in keep their entry
    (`Ticket.checked_in_at`), so no other list lets them in a second time."""
    office = _office_of(checkin_list)
    access.require(Capability.MANAGE_PRODUCT, office)
    record_by(access, "ticketing.checkin_list.deleted", office, {"list": checkin_list.name})
    checkin_list.delete()


# -- scans ------------------------------------------------------------------------------------


def _label(problems, value, name) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(name, _("Enter text."))
        return ""
    value = value.strip()
    if len(value) > LABEL_MAX_LENGTH:
        problems.add(name, _("At most %(n)d characters.") % {"n": LABEL_MAX_LENGTH})
    return value


def _clean_scan(secret, scan_id, direction, scanned_at, device, gate):
    problems = Problems()
    if not isinstance(secret, str) or not secret.strip():
        problems.add("secret", _("Give the code read from the ticket."))
    elif len(secret) > SECRET_MAX_LENGTH:
        problems.add("secret", _("At most %(n)d characters.") % {"n": SECRET_MAX_LENGTH})
    if not isinstance(scan_id, str) or not scan_id.strip():
        problems.add("scan_id", _("Give the scan's id, chosen by the device."))
    elif len(scan_id.strip()) > SCAN_ID_MAX_LENGTH:
        problems.add("scan_id", _("At most %(n)d characters.") % {"n": SCAN_ID_MAX_LENGTH})
    if direction not in ScanDirection.values:
        problems.add(
            "direction", _("Choose one of %(d)s.") % {"d": ", ".join(ScanDirection.values)}
        )
    if scanned_at is not None:
        scanned_at = _device_time(problems, scanned_at)
    device = _label(problems, device, "device")
    gate = _label(problems, gate, "gate")
    problems.raise_if_any()
    return scan_id.strip(), device, gate, scanned_at


def _device_time(problems, value):
    """The device's clock, if believable: in the years events are sold for, and not
    ahead of the server by more than a wrong time zone would put it."""
    if not isinstance(value, datetime.datetime):
        problems.add("scanned_at", _("Enter a date and time."))
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        problems.add("scanned_at", _("Give a date between %(first)s and %(last)s.")
                     % {"first": EARLIEST_YEAR, "last": LATEST_YEAR})  # fmt: skip
        return None
    if value > timezone.now() + DEVICE_CLOCK_AHEAD:
        problems.add("scanned_at", _("This time is still to come: check the device's clock."))
        return None
    return value


def _admitted_ids(checkin_list: CheckinList) -> dict[str, set[int]]:
    """The ids each of dates, zones and tariffs admits (an empty set admits all), in one
    query."""
    cached = getattr(checkin_list, "_admitted", None)
    if cached is None:
        cached = {name: set() for name in LIST_MEMBERS}
        parts = [
            getattr(checkin_list, name)
            .annotate(kind=Value(name, output_field=CharField()))
            .order_by()
            .values_list("kind", "pk")
            for name in LIST_MEMBERS
        ]
        for kind, pk in parts[0].union(*parts[1:], all=True):
            cached[kind].add(pk)
        checkin_list._admitted = cached
    return cached


def _refusal(checkin_list: CheckinList, ticket: Ticket | None, now) -> str | None:
    """Why the list turns this ticket away whatever its entries, or None."""
    if ticket is None:
        return ScanResult.UNKNOWN
    order = ticket.order
    if ticket.cancelled or (order is not None and order.status == OrderStatus.CANCELLED):
        return ScanResult.CANCELLED
    # Only held (a basket), or a hold that ran out: the seat may be someone else's.
    if order is None or order.status == OrderStatus.EXPIRED:
        return ScanResult.UNKNOWN
    if ticket.expires_at is not None and ticket.expires_at <= now:
        return ScanResult.UNKNOWN
    if order.status == OrderStatus.PENDING and not checkin_list.admit_unpaid:
        return ScanResult.UNPAID
    admitted = _admitted_ids(checkin_list)
    if admitted["dates"] and ticket.zone.date_id not in admitted["dates"]:
        return ScanResult.WRONG_DATE
    if admitted["zones"] and ticket.zone_id not in admitted["zones"]:
        return ScanResult.WRONG_ZONE
    if admitted["tariffs"] and ticket.tariff_id not in admitted["tariffs"]:
        return ScanResult.WRONG_ZONE
    return None


def _first_entry(ticket: Ticket) -> Scan | None:
    return (
        Scan.objects.filter(ticket=ticket, result=ScanResult.VALID, direction=ScanDirection.ENTRY)
        .order_by("id")
        .first()
    )


def _decide(checkin_list: CheckinList, ticket: Ticket, direction: str):
    """Under the ticket's lock: (result, the ticket's first valid entry or None)."""
    # checked_in_at is set with the first valid entry, and outlives a deleted list and
    # its scans: on a list without re-entry it alone decides an entry.
    entered = ticket.checked_in_at is not None
    if direction == ScanDirection.ENTRY and not checkin_list.allow_reentry:
        if entered:
            return ScanResult.ALREADY_USED, _first_entry(ticket)
        return ScanResult.VALID, None
    # The ticket is in when its last valid scan on any of the event's lists is an entry.
    last = (
        Scan.objects.filter(ticket=ticket, result=ScanResult.VALID)
        .only("direction")
        .order_by("-id")
        .first()
    )
    inside = last is not None and last.direction == ScanDirection.ENTRY
    first = _first_entry(ticket) if entered else None
    if direction == ScanDirection.EXIT:
        if checkin_list.allow_reentry and inside:
            return ScanResult.VALID, first
        return ScanResult.EXIT_REFUSED, first
    if inside:
        return ScanResult.ALREADY_USED, first
    return ScanResult.VALID, first


def scan(
    *,
    checkin_list: CheckinList,
    secret: str,
    scan_id: str,
    direction: str = ScanDirection.ENTRY,
    scanned_at=None,
    device: str = "",
    gate: str = "",
    access: Access | None = None,
    offline: bool = False,
) -> Scan:
    """Reads a ticket's code at a door of `checkin_list` and records the Scan, whatever
    its result. `access`, when given, needs MANAGE_PRODUCT on the office (a device's
    own credential will come later). Raises InvalidInput for a malformed input only.

    The rule, in this order:
    - no sold ticket of the list's event has this code (garbage, another event's
      ticket, a seat only held in a basket, an order whose hold ran out): `unknown`;
    - the ticket or its order is cancelled: `cancelled`;
    - its order waits for payment: `unpaid`, unless the list admits unpaid tickets;
    - its date is not one of the list's: `wrong_date`; its zone or tariff: `wrong_zone`;
    - then, under the ticket's row lock: on a list without re-entry, an entry is
      `already_used` once the ticket ever came in (`Ticket.checked_in_at`, set by its
      first valid entry on any of the event's lists), `valid` otherwise. On a list
      with re-entry the ticket is "in" when its last valid scan on any of the event's
      lists is an entry: an entry is then `already_used`, otherwise `valid`. An exit
      is `valid` on a list with re-entry while the ticket is in, `exit_refused`
      otherwise.
    A scan that comes after the ticket's first entry carries it (`first_entry`: when
    and at which gate). The same `scan_id` on the same list returns the Scan stored the
    first time and records nothing."""
    if access is not None:
        access.require(Capability.MANAGE_PRODUCT, _office_of(checkin_list))
    scan_id, device, gate, scanned_at = _clean_scan(
        secret, scan_id, direction, scanned_at, device, gate
    )
    existing = _stored(checkin_list, scan_id)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _record(
                checkin_list, secrets.secret_hash(secret), scan_id, str(direction),
                scanned_at, device, gate, offline,
            )  # fmt: skip
    except IntegrityError:
        # The same scan_id recorded meanwhile by a retry in parallel: its answer stands.
        existing = _stored(checkin_list, scan_id)
        if existing is None:
            raise
        return existing


def _stored(checkin_list: CheckinList, scan_id: str) -> Scan | None:
    return (
        checkin_list.scans.filter(scan_id=scan_id)
        .select_related("ticket__order", "ticket__zone", "ticket__tariff", "first_entry")
        .first()
    )


def _record(checkin_list, code_hash, scan_id, direction, scanned_at, device, gate, offline):
    now = timezone.now()
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("order", "zone", "tariff")
        .filter(secret_hash=code_hash, zone__date__event_id=checkin_list.event_id)
        .first()
    )
    result = _refusal(checkin_list, ticket, now)
    if result == ScanResult.UNKNOWN:
        ticket = None
    first = None
    if result is None:
        # A retry that waited for the lock behind its twin decides again, then fails to
        # insert (the unique scan_id) and answers as the twin did (scan()).
        result, first = _decide(checkin_list, ticket, direction)
    elif ticket is not None and ticket.checked_in_at is not None:
        first = _first_entry(ticket)
    recorded = Scan.objects.create(
        organisation_id=checkin_list.organisation_id,
        checkin_list=checkin_list,
        ticket=ticket,
        direction=direction,
        result=result,
        first_entry=first,
        scan_id=scan_id,
        device=device,
        gate=gate,
        scanned_at=scanned_at or now,
        recorded_at=now,
        offline=offline,
    )
    if (
        result == ScanResult.VALID
        and direction == ScanDirection.ENTRY
        and ticket.checked_in_at is None
    ):
        ticket.checked_in_at = recorded.scanned_at
        ticket.save(update_fields=["checked_in_at"])
    return recorded
