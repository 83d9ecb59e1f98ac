"""Numbered zones: the seating plan an organiser draws, and the seats baskets claim.

A numbered zone's plan is its `Seat` rows; its capacity is the number of seats on sale,
kept in step here whenever the plan or the switch changes, so that the counting of
services/sales.py stays the one rule that never oversells. A seat is held or sold at
most once: every claim takes the zone's row lock (sales.lock_zones), then looks for a
counted ticket on the seat (`refuse_taken`), then writes; the partial unique constraint
`seat_sold_once` is the last guard for sold seats.

The plan is given as text, one line per row of the plan, or as a list of seats (API):

    A: 1-10, _, 11-20        row A: seats 1 to 10, one position without a seat, 11 to 20
    B: _2, 1-9, _, [10-11]   two positions first; seats 10 and 11 drawn but not on sale
    C: 12-1                  numbered from right to left

A blank line is a line of the plan without seats (a cross aisle); a line starting with
`#` is a note. `seat_plan_set` raises InvalidInput on `layout` (or `seats.<i>.<field>`)
with every problem at once, each message naming its line; Conflict `seats_taken` when a
seat that is held or sold would be removed or taken out of sale, `has_tickets` when
the zone is switched to or from numbered seats while it has tickets, and the
PermissionDenied of MANAGE_PRODUCT."""

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, Problems

from ..models import Seat, Ticket, Zone

MAX_SEATS = 10_000
MAX_COLUMNS = 300
MAX_LINES = 300
LABEL_LENGTH = 8
#: Where seats wait while the plan is redrawn (positions are unique in a zone).
_PARKING_Y = 32_000

_NUMBER = re.compile(r"^[^\W_][\w'.]{0,7}$")
_RANGE = re.compile(r"^(\d{1,6})\s*-\s*(\d{1,6})$")
_GAPS = re.compile(r"^_(\d{1,4})?$")


class SeatState:
    FREE = "free"
    HELD = "held"
    SOLD = "sold"
    OFF_SALE = "off_sale"


def seat_label(row: str, number: str) -> str:
    return _("Row %(row)s, seat %(number)s") % {"row": row, "number": number}


class SeatsTaken(Conflict):
    """Seats someone else holds or bought meanwhile: `extra["seats"]` are their ids."""

    code = "seats_taken"

    def __init__(self, detail, *, seats, fields=None):
        super().__init__(detail, fields=fields)
        self.extra = {"seats": sorted(seat.pk for seat in seats)}


def labels(seats) -> str:
    return "; ".join(seat_label(seat.row, seat.number) for seat in seats)


# -- the text layout ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedSeat:
    row: str
    number: str
    x: int
    y: int
    on_sale: bool = True


def _line_items(text: str, at, problems: list[str]):
    """[(number, on_sale) or None for a gap] of one row's text; problems are appended."""
    items: list = []
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            problems.append(at(_("an empty item between two commas.")))
            continue
        on_sale = True
        if token.startswith("[") and token.endswith("]"):
            on_sale, token = False, token[1:-1].strip()
        gaps = _GAPS.match(token)
        if gaps and on_sale:
            items.extend([None] * int(gaps.group(1) or 1))
            continue
        span = _RANGE.match(token)
        if span:
            first, last = int(span.group(1)), int(span.group(2))
            if abs(last - first) >= MAX_COLUMNS:
                problems.append(
                    at(_("%(range)s is longer than a row can be (%(n)d seats).")
                       % {"range": token, "n": MAX_COLUMNS})
                )  # fmt: skip
                continue
            step = 1 if last >= first else -1
            items.extend((str(n), on_sale) for n in range(first, last + step, step))
            continue
        if _NUMBER.match(token):
            items.append((token, on_sale))
            continue
        problems.append(
            at(_("“%(item)s” is not a seat (5), a range (1-10), a gap (_ or _3) or seats "
                 "out of sale in brackets ([7-8]).") % {"item": raw.strip()})
        )  # fmt: skip
    return items


def parse_layout(text) -> list[PlannedSeat]:
    """The seats of a text layout (see the module's docstring), or InvalidInput on
    `layout` listing every problem, each with its line number."""
    if not isinstance(text, str):
        raise InvalidInput(fields={"layout": [_("Write the plan as text.")]})
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    problems: list[str] = []
    seats: list[PlannedSeat] = []
    rows_at: dict[str, int] = {}
    y = 0
    for number, line in enumerate(lines, start=1):
        line = line.strip()

        def at(message, number=number):
            return _("Line %(n)d: %(problem)s") % {"n": number, "problem": message}

        if line.startswith("#"):
            continue
        if not line:
            if y:  # blank lines before the first row draw nothing
                y += 1
            continue
        y += 1
        label, colon, rest = line.partition(":")
        label = label.strip()
        if not colon:
            problems.append(
                at(_("write the row's name, a colon, then its seats, such as “A: 1-10”."))
            )
            continue
        if not label or len(label) > LABEL_LENGTH or "," in label:
            problems.append(
                at(_("a row's name has 1 to %(n)d characters, without a comma.")
                   % {"n": LABEL_LENGTH})
            )  # fmt: skip
            continue
        if label in rows_at:
            problems.append(
                at(_("row %(row)s is already on line %(line)d.")
                   % {"row": label, "line": rows_at[label]})
            )  # fmt: skip
            continue
        rows_at[label] = number
        before = len(problems)
        rest = rest.strip().removesuffix(",")  # a trailing comma is harmless
        items = _line_items(rest, at, problems) if rest.strip() else []
        if len(items) > MAX_COLUMNS:
            problems.append(
                at(_("row %(row)s is %(n)d places wide; at most %(most)d.")
                   % {"row": label, "n": len(items), "most": MAX_COLUMNS})
            )  # fmt: skip
            continue
        seen: set[str] = set()
        twice: list[str] = []
        row_seats = []
        for x, item in enumerate(items, start=1):
            if item is None:
                continue
            seat_number, on_sale = item
            if seat_number in seen and seat_number not in twice:
                twice.append(seat_number)
            seen.add(seat_number)
            row_seats.append(PlannedSeat(label, seat_number, x, y, on_sale))
        if twice:
            problems.append(
                at(ngettext("seat %(seats)s is twice in row %(row)s.",
                            "seats %(seats)s are twice in row %(row)s.", len(twice))
                   % {"seats": ", ".join(twice), "row": label})
            )  # fmt: skip
        elif not row_seats and rest.strip() and len(problems) == before:
            problems.append(at(_("row %(row)s has no seat.") % {"row": label}))
        elif not rest.strip():
            problems.append(at(_("row %(row)s has no seat: list them after the colon.")
                               % {"row": label}))  # fmt: skip
        seats.extend(row_seats)
    if y > MAX_LINES:
        problems.append(_("The plan has %(n)d lines; at most %(most)d.")
                        % {"n": y, "most": MAX_LINES})  # fmt: skip
    if len(seats) > MAX_SEATS:
        problems.append(_("The plan has %(n)d seats; at most %(most)d.")
                        % {"n": len(seats), "most": MAX_SEATS})  # fmt: skip
    if not problems and not seats:
        problems.append(_("Write at least one row, such as “A: 1-10”."))
    if problems:
        raise InvalidInput(_("The plan has mistakes."), code="layout_invalid",
                           fields={"layout": problems})  # fmt: skip
    return seats


def _run_text(run) -> str:
    """'5', or '1-10' / '10-1' for seats numbered one after another."""
    first, last = run[0].number, run[-1].number
    return first if len(run) == 1 else f"{first}-{last}"


def _continues(run, seat) -> bool:
    """Whether `seat` extends `run` (its neighbour, same sale, the next number)."""
    last = run[-1]
    if seat.x != last.x + 1 or seat.on_sale != last.on_sale:
        return False
    if not (seat.number.isdigit() and last.number.isdigit()) or last.number.startswith("0"):
        return False
    step = int(seat.number) - int(last.number)
    if step not in (1, -1) or seat.number.startswith("0"):
        return False
    if len(run) > 1:
        return step == int(last.number) - int(run[-2].number)
    return True


def layout_text(seats) -> str | None:
    """The text layout that draws these seats (sorted by line, then column), or None when
    text cannot say it (a row over several lines, two rows on one line: an API plan)."""
    by_line: dict[int, list] = {}
    for seat in seats:
        by_line.setdefault(seat.y, []).append(seat)
    rows_seen: set[str] = set()
    out: list[str] = []
    first_y = min(by_line, default=1)
    for y in range(first_y, max(by_line, default=0) + 1):
        line = sorted(by_line.get(y, []), key=lambda seat: seat.x)
        if not line:
            out.append("")
            continue
        row = line[0].row
        if any(seat.row != row for seat in line) or row in rows_seen:
            return None
        if ":" in row or "," in row or row != row.strip() or row.startswith("#"):
            return None
        rows_seen.add(row)
        runs: list[list] = []
        for seat in line:
            if not _NUMBER.match(seat.number):
                return None
            if runs and _continues(runs[-1], seat):
                runs[-1].append(seat)
            else:
                runs.append([seat])
        items, x = [], 1
        for run in runs:
            gap = run[0].x - x
            if gap:
                items.append("_" if gap == 1 else f"_{gap}")
            text = _run_text(run)
            items.append(text if run[0].on_sale else f"[{text}]")
            x = run[-1].x + 1
        out.append(f"{row}: {', '.join(items)}")
    if first_y > 1:
        return None
    return "\n".join(out)


def _clean_seat_list(seats) -> list[PlannedSeat]:
    """A plan given as `[{row, number, x, y, on_sale?}]`, every problem at once under
    `seats.<i>.<field>`."""
    if not isinstance(seats, list) or not seats:
        raise InvalidInput(fields={"seats": [_("Give at least one seat.")]})
    if len(seats) > MAX_SEATS:
        raise InvalidInput(fields={"seats": [_("At most %(n)d seats.") % {"n": MAX_SEATS}]})
    problems = Problems()
    planned, names, places = [], {}, {}
    for index, entry in enumerate(seats):
        entry = entry if isinstance(entry, dict) else {}
        at = f"seats.{index}."
        values = {}
        for name in ("row", "number"):
            value = entry.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not value.strip() or len(value.strip()) > 8:
                problems.add(at + name, _("Give 1 to %(n)d characters.") % {"n": LABEL_LENGTH})
            values[name] = value.strip() if isinstance(value, str) else ""
        for name, most in (("x", MAX_COLUMNS), ("y", MAX_LINES)):
            value = entry.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                problems.add(at + name, _("Enter a whole number from 1 to %(n)d.") % {"n": most})
                value = None
            values[name] = value
        on_sale = entry.get("on_sale", True)
        if not isinstance(on_sale, bool):
            problems.add(at + "on_sale", _("Give true or false."))
        if any(values[name] in ("", None) for name in values):
            continue
        key, place = (values["row"], values["number"]), (values["x"], values["y"])
        if key in names:
            problems.add(at + "number", _("Seat %(row)s-%(number)s is already seat %(i)d.")
                         % {**values, "i": names[key]})  # fmt: skip
        elif place in places:
            problems.add(at + "x", _("Seat %(i)d is already at this place.") % {"i": places[place]})
        names.setdefault(key, index)
        places.setdefault(place, index)
        planned.append(PlannedSeat(values["row"], values["number"], values["x"], values["y"],
                                   bool(on_sale)))  # fmt: skip
    problems.raise_if_any()
    return planned


# -- the plan's states ----------------------------------------------------------------------


@dataclass
class SeatPlan:
    """A zone's plan to draw: its seats (each with `state`, `label` and `column`, the grid
    column once the row names take the first one), the rows' names by line, and its size."""

    zone: Zone
    seats: list = field(default_factory=list)
    rows: list = field(default_factory=list)  # [(y, row name)]
    width: int = 0
    height: int = 0

    def count(self, state) -> int:
        return sum(1 for seat in self.seats if seat.state == state)

    @property
    def counts(self) -> dict:
        return {
            state: self.count(state)
            for state in (SeatState.FREE, SeatState.HELD, SeatState.SOLD, SeatState.OFF_SALE)
        }


def taken_seat_states(seat_ids=None, *, zone_ids=None, now=None, excluding=None) -> dict:
    """{seat id: "held" or "sold"} of the seats counted tickets are on."""
    now = now or timezone.now()
    from .sales import counted

    rows = Ticket.objects.filter(counted(now), seat__isnull=False)
    if seat_ids is not None:
        rows = rows.filter(seat_id__in=list(seat_ids))
    if zone_ids is not None:
        rows = rows.filter(zone_id__in=list(zone_ids))
    if excluding:
        rows = rows.exclude(pk__in=list(excluding))
    states: dict[int, str] = {}
    for seat_id, expires_at in rows.values_list("seat_id", "expires_at"):
        if expires_at is None or states.get(seat_id) != SeatState.SOLD:
            states[seat_id] = SeatState.SOLD if expires_at is None else SeatState.HELD
    return states


def seat_plans(zones, *, now=None) -> dict[int, SeatPlan]:
    """{zone id: SeatPlan} of these zones with every seat's state (free, held, sold, off
    sale), in two queries whatever their number."""
    zones = list(zones)
    by_id = {zone.pk: zone for zone in zones}
    plans = {zone.pk: SeatPlan(zone=zone) for zone in zones}
    if not zones:
        return plans
    states = taken_seat_states(zone_ids=list(by_id), now=now)
    for seat in Seat.objects.filter(zone_id__in=list(by_id)).order_by("zone_id", "y", "x"):
        plan = plans[seat.zone_id]
        seat.zone = plan.zone
        if not seat.on_sale:
            seat.state = SeatState.OFF_SALE
        else:
            seat.state = states.get(seat.pk, SeatState.FREE)
        seat.column = seat.x + 1
        plan.seats.append(seat)
        plan.width = max(plan.width, seat.x)
        plan.height = max(plan.height, seat.y)
        if not plan.rows or plan.rows[-1][0] != seat.y:
            plan.rows.append((seat.y, seat.row))
    return plans


def seat_plan(zone: Zone, *, now=None) -> SeatPlan:
    return seat_plans([zone], now=now)[zone.pk]


# -- claiming seats (under the zone's lock, from services/sales.py) ---------------------------


def refuse_taken(seats, *, now, excluding=None, detail=None, fields=None) -> None:
    """Under the zones' locks: SeatsTaken naming the seats a counted ticket (other than
    `excluding`) holds or bought."""
    seats = list(seats)
    if not seats:
        return
    taken_ids = taken_seat_states([seat.pk for seat in seats], now=now, excluding=excluding)
    taken = [seat for seat in seats if seat.pk in taken_ids]
    if taken:
        if detail is None:
            detail = ngettext(
                "This seat has just been taken: %(seats)s. Pick another one.",
                "These seats have just been taken: %(seats)s. Pick others.",
                len(taken),
            )
        raise SeatsTaken(detail % {"seats": labels(taken)}, seats=taken, fields=fields)


# -- the organiser's plan ------------------------------------------------------------------


def _office(zone):
    return zone.date.event.office


def _taken_in(zone, now) -> int:
    from .sales import taken_counts

    return taken_counts([zone.pk], now=now)["zones"].get(zone.pk, 0)


def _replace_seats(zone: Zone, planned: list[PlannedSeat], now) -> None:
    """Makes the zone's seats those `planned`, matched by row and number: seats that stay
    keep their id (and their tickets), moved ones are parked first since two seats never
    share a place. Raises SeatsTaken for a held or sold seat removed or taken off sale."""
    existing = {(seat.row, seat.number): seat for seat in zone.seats.all()}
    wanted = {(seat.row, seat.number): seat for seat in planned}
    removed = [seat for key, seat in existing.items() if key not in wanted]
    off_sale = [
        seat for key, seat in existing.items()
        if key in wanted and seat.on_sale and not wanted[key].on_sale
    ]  # fmt: skip
    gone = sorted(removed + off_sale, key=lambda seat: (seat.y, seat.x))
    taken = taken_seat_states([seat.pk for seat in gone], now=now)
    if taken:
        seats = [seat for seat in gone if seat.pk in taken]
        message = ngettext(
            "%(seats)s is held or sold: it stays on sale in the plan.",
            "%(seats)s are held or sold: they stay on sale in the plan.",
            len(seats),
        ) % {"seats": labels(seats)}
        raise SeatsTaken(message, seats=seats, fields={"layout": [message]})
    if removed:
        removed_ids = [seat.pk for seat in removed]
        # Holds that ran out go; tickets no longer counted (cancelled, an order past its
        # deadline) lose a seat that no longer exists.
        Ticket.objects.filter(
            seat_id__in=removed_ids, order__isnull=True, expires_at__lte=now
        ).delete()
        Ticket.objects.filter(seat_id__in=removed_ids).update(seat=None)
        Seat.objects.filter(pk__in=removed_ids).delete()
    moved = []
    for key, seat in existing.items():
        new = wanted.get(key)
        if new is None:
            continue
        if (seat.x, seat.y, seat.on_sale) != (new.x, new.y, new.on_sale):
            moved.append((seat, new))
    if moved:
        for index, (seat, _new) in enumerate(moved, start=1):
            seat.x, seat.y = index, _PARKING_Y
        Seat.objects.bulk_update([seat for seat, _new in moved], ["x", "y"])
        for seat, new in moved:
            seat.x, seat.y, seat.on_sale = new.x, new.y, new.on_sale
        Seat.objects.bulk_update([seat for seat, _new in moved], ["x", "y", "on_sale"])
    Seat.objects.bulk_create(
        [
            Seat(organisation_id=zone.organisation_id, zone=zone, row=seat.row,
                 number=seat.number, x=seat.x, y=seat.y, on_sale=seat.on_sale)
            for key, seat in wanted.items()
            if key not in existing
        ]
    )  # fmt: skip


def _sync_capacity(zone: Zone, now, *, field_name="layout") -> None:
    """A numbered zone sells its seats on sale: never fewer than are taken already (guests
    invited without a seat count too)."""
    if not zone.numbered:
        return
    on_sale = zone.seats.filter(on_sale=True).count()
    taken = _taken_in(zone, now)
    if on_sale < taken:
        message = _(
            "%(n)d seats are already taken or held: keep at least as many seats on sale."
        ) % {"n": taken}
        raise Conflict(message, code="seats_taken", fields={field_name: [message]})
    zone.capacity = on_sale


@transaction.atomic
def seat_plan_set(
    *, access: Access, zone: Zone, layout=None, seats=None, numbered: bool | None = None
) -> Zone:
    """Draws the zone's plan from a text `layout` or a list of `seats`, and/or switches
    the zone to numbered seats or back (`numbered`). A numbered zone's capacity becomes
    its seats on sale. Seats keep their identity by row and number, so a plan can be
    redrawn while some are sold, as long as no held or sold seat is removed or taken out
    of sale. The zone is switched only while it has no tickets."""
    from .sales import lock_zones

    office = _office(zone)
    access.require(Capability.MANAGE_PRODUCT, office)
    planned = None
    if layout is not None:
        planned = parse_layout(layout)
    elif seats is not None:
        planned = _clean_seat_list(seats)
    lock_zones([zone.pk])
    zone = Zone.objects.get(pk=zone.pk)
    now = timezone.now()
    if numbered is not None and bool(numbered) != zone.numbered:
        if (
            Ticket.objects.filter(zone=zone)
            .filter(Q(cancelled=False) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now)))
            .exists()
        ):
            raise Conflict(
                _("This zone has tickets: it can switch to or from numbered seats only "
                  "while it has none."),
                code="has_tickets",
                fields={"numbered": [_("This zone has tickets already.")]},
            )  # fmt: skip
        zone.numbered = bool(numbered)
    if planned is not None:
        _replace_seats(zone, planned, now)
    _sync_capacity(zone, now, field_name="layout" if planned is not None else "numbered")
    zone.save(update_fields=["numbered", "capacity"])
    record_by(
        access, "ticketing.zone.seats_changed", office,
        {"zone": zone.name, "numbered": zone.numbered, "seats": zone.capacity},
    )  # fmt: skip
    return zone


# -- the shop's view of a plan ----------------------------------------------------------------

#: What a buyer is told of a seat: whether they can pick it, never who holds it.
SHOP_STATES = {SeatState.FREE: "free", SeatState.HELD: "taken", SeatState.SOLD: "taken",
               SeatState.OFF_SALE: "off_sale"}  # fmt: skip


def shop_zone(office, zone_id) -> Zone:
    """A numbered zone the shop sells (an event on sale, a date to come and not
    cancelled, a public tariff), else NotFound."""
    from panel.errors import NotFound

    from ..models import EventStatus

    try:
        zone_id = int(zone_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    zone = (
        Zone.objects.filter(
            pk=zone_id, numbered=True, date__event__office=office,
            date__event__status=EventStatus.ON_SALE, date__cancelled_at__isnull=True,
            date__starts_at__gte=timezone.now(), tariffs__public=True,
        )
        .select_related("date__event")
        .distinct()
        .first()
    )  # fmt: skip
    if zone is None:
        raise NotFound()
    return zone
