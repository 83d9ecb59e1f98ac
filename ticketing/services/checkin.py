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

Offline (`offline_data`, `upload_offline_scans`, at the end): a scanner keeps the hashes
of its list's codes, decides alone while the network is down, and uploads its scans
later; an entry the server then refuses is recorded as a conflict, never merged.
"""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import CharField, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import InvalidInput, NotFound, PermissionDenied, Problems
from panel.services.common import clean_name

from .. import secrets
from ..models import (
    CheckinList,
    Event,
    EventDate,
    FormField,
    OrderStatus,
    Scan,
    ScanDirection,
    ScannerDevice,
    ScanResult,
    Tariff,
    Ticket,
    Zone,
)
from .catalogue import EARLIEST_YEAR, LATEST_YEAR
from .forms import checkin_answers

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
    (`Ticket.checked_in_at`), so no other list lets them in a second time. A door
    device that scanned only this list is revoked."""
    office = _office_of(checkin_list)
    access.require(Capability.MANAGE_PRODUCT, office)
    record_by(access, "ticketing.checkin_list.deleted", office, {"list": checkin_list.name})
    limited = list(checkin_list.scanner_devices.filter(revoked_at__isnull=True))
    checkin_list.delete()
    # A door device left without any of its lists would scan all the event's lists
    # (none chosen means all): it stops instead.
    for device in limited:
        if not device.lists.exists():
            device_revoke(access=access, device=device)


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
    # Only held (a basket), or a hold that ran out: the seat may be someone else's. A
    # guest's invitation ticket has no order: it is issued when the guest accepts.
    if (order is None and ticket.guest_id is None) or (
        order is not None and order.status == OrderStatus.EXPIRED
    ):
        return ScanResult.UNKNOWN
    if ticket.expires_at is not None and ticket.expires_at <= now:
        return ScanResult.UNKNOWN
    if order is not None and order.status == OrderStatus.PENDING and not checkin_list.admit_unpaid:
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


def ticket_checkin_answers(ticket: Ticket) -> list[dict]:
    """The answers the door shows under the name on the ticket: those of its tariff's
    form fields marked "show at check-in" (services.forms.checkin_answers)."""
    if ticket.tariff.form_id is None:
        return []
    return checkin_answers(ticket.tariff.form.fields.all(), ticket.answers)


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
    its result. `access`, when given, needs MANAGE_PRODUCT on the office; a door
    device (views/door.py) scans without one, limited to its lists by `device_list`.
    Raises InvalidInput for a malformed input only.

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


def _record(
    checkin_list, code_hash, scan_id, direction, scanned_at, device, gate, offline,
    admitted_offline=False,
):  # fmt: skip
    """Decides under the ticket's lock and records the Scan. `admitted_offline`: a door
    already let this ticket through offline, so a decision other than valid is a
    conflict (upload_offline_scans)."""
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
        conflict=admitted_offline and result != ScanResult.VALID,
    )
    if (
        result == ScanResult.VALID
        and direction == ScanDirection.ENTRY
        and ticket.checked_in_at is None
    ):
        ticket.checked_in_at = recorded.scanned_at
        ticket.save(update_fields=["checked_in_at"])
    return recorded


# -- offline ----------------------------------------------------------------------------------
#
# A phone at the door keeps `offline_data` and, when the network drops, checks codes
# against it (the SHA-256 of the code as printed, as `secrets.secret_hash` computes it),
# remembers what it let in, and uploads its scans later with `upload_offline_scans`.
#
# What it guarantees: a device refuses its own second entry of a ticket; a ticket that
# came in before the download is refused; every scan reaches the server once (scan_id).
# What it cannot: two offline devices each let the same ticket in once, since neither
# can know of the other; tickets sold, cancelled or checked in after the download are
# not known offline. The server keeps as the entry the one recorded first on the
# server (online scan or upload, whatever the devices' clocks say); an uploaded entry
# that the server then refuses is recorded with `conflict=True` and its real result
# (already_used with the other entry's time and gate, or cancelled...), never merged.

#: At most this many scans in one upload; a device sends its queue in parts.
UPLOAD_MAX_SCANS = 200


def offline_data(*, checkin_list: CheckinList, access: Access | None = None) -> dict:
    """What a scanner needs to check the list's tickets without the network: the list's
    rules and, for each sold ticket of the dates, zones and tariffs it admits, the
    SHA-256 of its secret (never the secret), the name on it, its zone and tariff,
    `status` (paid, unpaid or cancelled), `checked_in_at`, and `answers`: the answers
    marked to be shown at check-in, as the door shows them online (`checkin_answers`;
    no other answer leaves the server). In four queries whatever the number of
    tickets. `access`, when given, needs VIEW on the office."""
    if access is not None:
        access.require(Capability.VIEW_PRODUCT, _office_of(checkin_list))
    generated_at = timezone.now()
    admitted = _admitted_ids(checkin_list)
    tickets = (
        Ticket.objects.filter(zone__date__event_id=checkin_list.event_id)
        .filter(Q(order__isnull=False) | Q(guest__isnull=False, expires_at__isnull=True))
        .exclude(order__status=OrderStatus.EXPIRED)
    )
    for name, path in (("dates", "zone__date_id__in"), ("zones", "zone_id__in"),
                       ("tariffs", "tariff_id__in")):  # fmt: skip
        if admitted[name]:
            tickets = tickets.filter(**{path: admitted[name]})
    shown_fields = {}
    for field in FormField.objects.filter(
        show_at_checkin=True, form__tariffs__zone__date__event_id=checkin_list.event_id
    ).distinct():
        shown_fields.setdefault(field.form_id, []).append(field)
    # The answers are read only when some field of the event's forms is shown at the door.
    extra = ("tariff__form_id", "answers") if shown_fields else ()
    rows = tickets.order_by("id").values_list(
        "secret_hash", "holder_name", "order__buyer_name", "zone__name", "tariff__name",
        "order__status", "cancelled", "checked_in_at", *extra,
    )  # fmt: skip
    out = []
    for code_hash, holder, buyer, zone, tariff, order_status, cancelled, entered, *more in rows:
        if cancelled or order_status == OrderStatus.CANCELLED:
            state = "cancelled"
        elif order_status == OrderStatus.PENDING:
            state = "unpaid"
        else:
            state = "paid"
        form_id, answers = more or (None, None)
        out.append({
            "hash": code_hash, "name": holder or buyer, "zone": zone, "tariff": tariff,
            "status": state, "checked_in_at": entered,
            "answers": checkin_answers(shown_fields.get(form_id, ()), answers),
        })  # fmt: skip
    return {
        "checkin_list": checkin_list.pk,
        "event": checkin_list.event_id,
        "generated_at": generated_at,
        "admit_unpaid": checkin_list.admit_unpaid,
        "allow_reentry": checkin_list.allow_reentry,
        "dates": sorted(admitted["dates"]),
        "zones": sorted(admitted["zones"]),
        "tariffs": sorted(admitted["tariffs"]),
        "tickets": out,
    }


def upload_offline_scans(
    *, checkin_list: CheckinList, scans: list, access: Access | None = None
) -> list[Scan]:
    """Records the scans a device made offline, each as it would be online but at the
    device's `scanned_at` and with `offline=True`; each item is `{secret, scan_id,
    scanned_at, result, direction?, gate?, device?}` where `result` is what the door
    showed. A scan_id already recorded answers its Scan again and records nothing, so
    a device resends its queue after a lost answer or a reload safely. Each scan is its
    own transaction: a part uploaded stays uploaded.

    A scan the door refused (result other than valid) is recorded refused as shown and
    never becomes an entry. A scan the door let through is decided again on the server
    under the ticket's lock: the entry recorded first on the server stays the entry, so
    if another device (online, or offline and uploaded before) already let the ticket
    in, this scan is recorded `already_used` with `conflict=True` and the other
    entry's time and gate (`first_entry`); likewise a ticket cancelled meanwhile.
    Raises InvalidInput, naming the scan's position, for a malformed item."""
    if access is not None:
        access.require(Capability.MANAGE_PRODUCT, _office_of(checkin_list))
    if not isinstance(scans, list | tuple) or not scans:
        raise InvalidInput(fields={"scans": [_("Give a list of scans.")]})
    if len(scans) > UPLOAD_MAX_SCANS:
        raise InvalidInput(
            fields={"scans": [_("At most %(n)d scans at once.") % {"n": UPLOAD_MAX_SCANS}]}
        )
    cleaned = [_clean_upload(position, item) for position, item in enumerate(scans)]
    return [_upload_one(checkin_list, item) for item in cleaned]


def _clean_upload(position, item):
    if not isinstance(item, dict):
        raise InvalidInput(fields={f"scans.{position}": [_("Send each scan as an object.")]})
    shown = item.get("result")
    problems = Problems()
    if shown not in ScanResult.values:
        problems.add(
            f"scans.{position}.result",
            _("Choose one of %(r)s.") % {"r": ", ".join(ScanResult.values)},
        )
    if item.get("scanned_at") is None:
        problems.add(f"scans.{position}.scanned_at", _("Give the device's time of the scan."))
    problems.raise_if_any()
    try:
        scan_id, device, gate, scanned_at = _clean_scan(
            item.get("secret"), item.get("scan_id"), item.get("direction") or ScanDirection.ENTRY,
            item.get("scanned_at"), item.get("device"), item.get("gate"),
        )  # fmt: skip
    except InvalidInput as error:
        error.fields = {f"scans.{position}.{k}": v for k, v in (error.fields or {}).items()}
        raise
    return {
        "secret": item["secret"], "scan_id": scan_id, "device": device, "gate": gate,
        "scanned_at": scanned_at, "shown": shown,
        "direction": str(item.get("direction") or ScanDirection.ENTRY),
    }  # fmt: skip


def _upload_one(checkin_list, item) -> Scan:
    existing = _stored(checkin_list, item["scan_id"])
    if existing is not None:
        return existing
    code_hash = secrets.secret_hash(item["secret"])
    try:
        with transaction.atomic():
            if item["shown"] == ScanResult.VALID:
                return _record(
                    checkin_list, code_hash, item["scan_id"], item["direction"],
                    item["scanned_at"], item["device"], item["gate"], True,
                    admitted_offline=True,
                )  # fmt: skip
            return _record_refused(checkin_list, code_hash, item)
    except IntegrityError:
        existing = _stored(checkin_list, item["scan_id"])
        if existing is None:
            raise
        return existing


def _record_refused(checkin_list, code_hash, item) -> Scan:
    """A scan the door turned away offline, recorded as the door showed it."""
    ticket = Ticket.objects.filter(
        secret_hash=code_hash, zone__date__event_id=checkin_list.event_id
    ).first()
    first = _first_entry(ticket) if ticket is not None and ticket.checked_in_at else None
    return Scan.objects.create(
        organisation_id=checkin_list.organisation_id,
        checkin_list=checkin_list,
        ticket=ticket,
        direction=item["direction"],
        result=item["shown"],
        first_entry=first,
        scan_id=item["scan_id"],
        device=item["device"],
        gate=item["gate"],
        scanned_at=item["scanned_at"],
        recorded_at=timezone.now(),
        offline=True,
    )


# -- door devices -----------------------------------------------------------------------------
#
# A device link lets a phone scan without an account: the key in the link is random, kept
# only as its SHA-256, and the device reaches its event's lists (the ones chosen, or all)
# and nothing else. Every request of the device looks it up again, so a revoked device is
# refused from its very next request.

DEVICE_NAME_MAX_LENGTH = 100
#: `last_seen_at` is written at most this often, not on every scan.
DEVICE_SEEN_EVERY = datetime.timedelta(seconds=30)


@transaction.atomic
def device_create(*, access: Access, event: Event, name, lists=()) -> tuple[ScannerDevice, str]:
    """A door device of the event (MANAGE_PRODUCT on its office) named `name` (e.g.
    "Gate B phone"), limited to `lists` (check-in lists of the event, or their ids;
    none means all the event's lists). Answers the device and the key of its link,
    which is not kept and cannot be shown again."""
    access.require(Capability.MANAGE_PRODUCT, event.office)
    problems = Problems()
    name = problems.check(clean_name, name, max_length=DEVICE_NAME_MAX_LENGTH)
    ids = [getattr(item, "pk", item) for item in (lists or ())]
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        problems.add("lists", _("Give a list of ids."))
        chosen = []
    else:
        chosen = list(CheckinList.objects.filter(event=event, pk__in=set(ids)))
        if len(chosen) != len(set(ids)):
            problems.add("lists", _("Choose check-in lists of this event."))
    problems.raise_if_any()
    key = secrets.new_basket_key()
    device = ScannerDevice.objects.create(
        organisation=access.organisation, event=event, name=name,
        key_hash=secrets.basket_key_hash(key),
        created_by=access.user if getattr(access.user, "pk", None) else None,
    )  # fmt: skip
    device.lists.set(chosen)
    record_by(access, "ticketing.scanner_device.created", event.office,
              {"event": event.title, "device": device.name})  # fmt: skip
    return device, key


@transaction.atomic
def device_revoke(*, access: Access, device: ScannerDevice) -> ScannerDevice:
    """Stops the device from its next request on; revoking twice changes nothing."""
    office = device.event.office
    access.require(Capability.MANAGE_PRODUCT, office)
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.save(update_fields=["revoked_at"])
        record_by(access, "ticketing.scanner_device.revoked", office, {"device": device.name})
    return device


def _active(devices) -> ScannerDevice:
    device = devices.select_related("event").first()
    if device is None:
        raise NotFound()
    if device.revoked_at is not None:
        raise PermissionDenied(_("This device was revoked: ask the organiser for a new link."))
    now = timezone.now()
    if device.last_seen_at is None or device.last_seen_at < now - DEVICE_SEEN_EVERY:
        ScannerDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now
    return device


def device_for_key(key) -> ScannerDevice:
    """The device a link's key opens; NotFound for a wrong key or a revoked device."""
    if not isinstance(key, str) or not key or len(key) > 100:
        raise NotFound()
    try:
        return _active(ScannerDevice.objects.filter(key_hash=secrets.basket_key_hash(key)))
    except PermissionDenied:
        raise NotFound() from None


def device_for_id(device_id) -> ScannerDevice:
    """The device a session holds (stored when its link was opened); PermissionDenied
    once it is revoked (the page says so), NotFound for no device."""
    if isinstance(device_id, bool) or not isinstance(device_id, int):
        raise NotFound()
    return _active(ScannerDevice.objects.filter(pk=device_id))


def device_lists(device: ScannerDevice):
    """The check-in lists the device scans: the ones chosen, or all its event's."""
    chosen = device.lists.all()
    if chosen.exists():
        return chosen.filter(event_id=device.event_id).order_by("name", "id")
    return CheckinList.objects.filter(event_id=device.event_id).order_by("name", "id")


def device_list(device: ScannerDevice, checkin_list_id) -> CheckinList:
    """One of the device's lists; NotFound for any other (another event's above all)."""
    found = device_lists(device).filter(pk=checkin_list_id).select_related("event__office").first()
    if found is None:
        raise NotFound()
    return found
