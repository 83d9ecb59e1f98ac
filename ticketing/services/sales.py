"""Selling seats: baskets that hold them, the checkout that turns a basket into an order,
payment, and cancelling.

Never oversell. Every claim on seats (a basket, a checkout whose hold has run out, an
order paid after its deadline) first takes the row locks of the zones it touches with
`SELECT ... FOR UPDATE`, always in ascending id order so that two claims can never wait
for each other, then counts what is taken and writes its tickets in the same short
transaction. A tariff belongs to one zone, so the zone's lock also guards the tariff's
cap. We lock the zone rows rather than take pretix's advisory locks on quotas because the
zone row is exactly the thing being protected: the lock needs no key scheme, is released
with the transaction whatever happens, shows in pg_locks against the table it guards, and
behaves the same under SQLite (`make run`), where Django ignores FOR UPDATE but writes
are serialised anyway. Claiming one pre-made row per seat with SKIP LOCKED (alf.io) would
need a row for every seat of every zone kept in step with capacity changes.

Holds are tickets with `expires_at`: they stop counting when that moment passes, so a
basket left alone frees its seats without any job.

In a numbered zone the buyer names the seats, one per ticket: under the same zone lock a
seat that a counted ticket is on is refused (services/seats.py, 409 `seats_taken`), and
the capacity (its seats on sale) is counted as in any zone.
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, NotFound, Problems
from panel.services.common import clean_name, normalise_email

from .. import secrets
from ..models import (
    Basket,
    EventStatus,
    Order,
    OrderStatus,
    PaymentMethod,
    Seat,
    Tariff,
    Ticket,
    TicketOffice,
    Zone,
)
from .forms import answers_check, name_on_ticket, ordered_fields
from .seats import SeatsTaken, labels, refuse_taken

logger = logging.getLogger(__name__)

MAX_TICKETS_PER_BASKET = 100
#: How long a card payment holds the seats once the buyer has gone to pay.
CARD_PAYMENT_MINUTES = 30


class SoldOut(Conflict):
    """Not enough seats: `extra["available"]` says what is left of each tariff asked."""

    code = "sold_out"

    def __init__(self, detail, *, fields, available):
        super().__init__(detail, fields=fields)
        self.extra = {"available": available}


def counted(now=None) -> Q:
    """Tickets that take a seat: not cancelled, and sold or still held."""
    now = now or timezone.now()
    return Q(cancelled=False) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def lock_zones(zone_ids) -> None:
    """Take the row locks of these zones, in ascending id order (no deadlocks)."""
    list(
        Zone.objects.select_for_update()
        .filter(pk__in=sorted(set(zone_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def taken_counts(zone_ids, *, now=None, excluding=None) -> dict:
    """Seats taken per zone and per tariff: `{"zones": {id: n}, "tariffs": {id: n}}`."""
    rows = Ticket.objects.filter(counted(now), zone_id__in=list(zone_ids))
    if excluding is not None:
        rows = rows.exclude(pk__in=excluding)
    zones: dict[int, int] = {}
    tariffs: dict[int, int] = {}
    for zone_id, tariff_id, n in rows.values_list("zone_id", "tariff_id").annotate(n=Count("id")):
        zones[zone_id] = zones.get(zone_id, 0) + n
        tariffs[tariff_id] = n
    return {"zones": zones, "tariffs": tariffs}


def not_on_sale_reason(tariff: Tariff, now=None) -> str | None:
    """Why the shop does not sell this tariff now, or None when it does."""
    now = now or timezone.now()
    date = tariff.zone.date
    event = date.event
    if event.status != EventStatus.ON_SALE:
        return _("This event is not on sale.")
    if date.cancelled_at:
        return _("This date is cancelled.")
    if not tariff.public:
        return _("This tariff is not sold here.")
    opens = max(filter(None, [date.sales_open_at, tariff.sale_starts_at]), default=None)
    closes = min(
        filter(None, [date.sales_close_at or date.starts_at, tariff.sale_ends_at]), default=None
    )
    if opens and now < opens:
        return _("Sales have not opened yet.")
    if closes and now >= closes:
        return _("Sales are closed.")
    return None


def _left(tariff: Tariff, taken: dict) -> int:
    left = tariff.zone.capacity - taken["zones"].get(tariff.zone_id, 0)
    if tariff.cap is not None:
        left = min(left, tariff.cap - taken["tariffs"].get(tariff.pk, 0))
    return max(left, 0)


def _claim_or_refuse(wanted: dict[Tariff, int], *, now, excluding=None) -> None:
    """Under the zones' locks (taken by the caller): raise SoldOut naming every tariff
    short of seats, counting zones and caps together across the tariffs asked."""
    taken = taken_counts({t.zone_id for t in wanted}, now=now, excluding=excluding)
    available, fields = [], {}
    in_zone: dict[int, int] = {}
    short = False
    for index, (tariff, quantity) in enumerate(wanted.items()):
        zone_left = tariff.zone.capacity - taken["zones"].get(tariff.zone_id, 0)
        zone_left -= in_zone.get(tariff.zone_id, 0)
        left = _left(tariff, taken)
        left = max(min(left, zone_left), 0)
        available.append({"tariff": tariff.pk, "available": left})
        if quantity > left:
            short = True
            fields[f"items.{index}.quantity"] = [
                _("Sold out.")
                if left == 0
                else ngettext("Only %(n)d left.", "Only %(n)d left.", left) % {"n": left}
            ]
        in_zone[tariff.zone_id] = in_zone.get(tariff.zone_id, 0) + quantity
    if short:
        raise SoldOut(
            _("Not enough seats are left for this basket."), fields=fields, available=available
        )


def _seat_ids(item, index, problems: Problems) -> list[int] | None:
    """The seat ids an item names (None when it names none), or None noted as a problem."""
    seats = item.get("seats")
    if seats is None:
        return None
    if not isinstance(seats, list) or any(
        isinstance(seat, bool) or not isinstance(seat, int) for seat in seats
    ):
        problems.add(f"items.{index}.seats", _("Give the ids of the seats picked."))
        return None
    return seats


def _clean_items(office: TicketOffice, items, now) -> tuple[dict[Tariff, int], dict]:
    """({tariff: quantity}, {tariff: [Seat]}) of a basket request, every problem at once.
    An item of a numbered zone names its seats, one per ticket (`quantity` may then be
    left out)."""
    problems = Problems()
    if not isinstance(items, list) or not items:
        raise InvalidInput(fields={"items": [_("Choose at least one ticket.")]})
    quantities: dict[int, int] = {}
    positions: dict[int, int] = {}
    asked_seats: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        tariff_id = item.get("tariff") if isinstance(item, dict) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if isinstance(tariff_id, bool) or not isinstance(tariff_id, int):
            problems.add(f"items.{index}.tariff", _("Give the tariff's id."))
            continue
        seat_ids = _seat_ids(item, index, problems)
        if seat_ids is not None and quantity is None:
            quantity = len(seat_ids)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            problems.add(f"items.{index}.quantity", _("Enter a whole number of tickets."))
            continue
        if seat_ids is not None and len(seat_ids) != quantity:
            problems.add(
                f"items.{index}.seats",
                _("Pick one seat per ticket: %(n)d tickets, %(m)d seats.")
                % {"n": quantity, "m": len(seat_ids)},
            )
            continue
        if quantity:
            quantities[tariff_id] = quantities.get(tariff_id, 0) + quantity
            positions.setdefault(tariff_id, index)
            if seat_ids is not None:
                asked_seats.setdefault(tariff_id, []).extend(seat_ids)
    tariffs = {
        tariff.pk: tariff
        for tariff in Tariff.objects.filter(
            pk__in=list(quantities), zone__date__event__office=office
        ).select_related("zone__date__event", "form")
    }
    wanted: dict[Tariff, int] = {}
    for tariff_id, quantity in quantities.items():
        field = f"items.{positions[tariff_id]}"
        tariff = tariffs.get(tariff_id)
        reason = None if tariff is None else not_on_sale_reason(tariff, now)
        # A hidden tariff or a draft's is refused exactly as one that does not exist.
        unseen = tariff is None or (reason and not tariff.public)
        if unseen or tariff.zone.date.event.status == EventStatus.DRAFT:
            problems.add(f"{field}.tariff", _("This tariff is not sold here."))
        elif reason:
            problems.add(f"{field}.tariff", reason)
        elif quantity < tariff.min_per_order:
            problems.add(
                f"{field}.quantity",
                _("At least %(n)d tickets of this tariff per order.") % {"n": tariff.min_per_order},
            )
        elif quantity > tariff.max_per_order:
            problems.add(
                f"{field}.quantity",
                _("At most %(n)d tickets of this tariff per order.") % {"n": tariff.max_per_order},
            )
        else:
            wanted[tariff] = quantity
    if not problems.fields and not wanted:
        problems.add("items", _("Choose at least one ticket."))
    if sum(wanted.values()) > MAX_TICKETS_PER_BASKET:
        problems.add("items", _("At most %(n)d tickets per order.") % {"n": MAX_TICKETS_PER_BASKET})
    picked = _clean_seats(wanted, asked_seats, positions, problems)
    problems.raise_if_any()
    return wanted, picked


def _clean_seats(wanted, asked_seats, positions, problems: Problems) -> dict:
    """{tariff: [Seat]}: a numbered zone's tickets each name a seat of the zone's plan on
    sale, none twice; other zones' tickets name none. Whether the seats are free is
    decided later, under the zone's lock."""
    ids = [seat_id for tariff in wanted for seat_id in asked_seats.get(tariff.pk, [])]
    seats = {
        seat.pk: seat
        for seat in Seat.objects.filter(pk__in=ids, zone_id__in={t.zone_id for t in wanted})
    }
    picked: dict[Tariff, list[Seat]] = {}
    seen: set[int] = set()
    for tariff in wanted:
        field = f"items.{positions[tariff.pk]}.seats"
        asked = asked_seats.get(tariff.pk)
        if not tariff.zone.numbered:
            if asked:
                problems.add(field, _("This zone has no numbered seats: leave out `seats`."))
            continue
        if asked is None:
            problems.add(
                field, _("Pick your seats on the plan of %(zone)s.") % {"zone": tariff.zone.name}
            )
            continue
        found, messages = [], []
        for seat_id in asked:
            seat = seats.get(seat_id)
            if seat is None or seat.zone_id != tariff.zone_id:
                messages.append(_("Seat %(id)d is not in this zone.") % {"id": seat_id})
            elif seat_id in seen:
                messages.append(_("%(seat)s is picked twice.") % {"seat": labels([seat])})
            elif not seat.on_sale:
                messages.append(_("%(seat)s is not on sale.") % {"seat": labels([seat])})
            else:
                found.append(seat)
            seen.add(seat_id)
        for message in messages:
            problems.add(field, message)
        picked[tariff] = found
    return picked


def _new_ticket(tariff: Tariff, *, basket, expires_at, seat=None) -> Ticket:
    nonce = secrets.new_nonce()
    return Ticket(
        organisation_id=tariff.organisation_id,
        zone_id=tariff.zone_id,
        tariff=tariff,
        basket=basket,
        price=tariff.price,
        expires_at=expires_at,
        nonce=nonce,
        secret_hash=secrets.secret_hash(secrets.ticket_secret(nonce)),
        seat=seat,
    )


def _refuse_taken_seats(picked: dict, wanted: dict, *, now) -> None:
    """Under the zones' locks: SeatsTaken naming the picked seats that are held or sold,
    each under the item that asked for it."""
    seats = [seat for tariff_seats in picked.values() for seat in tariff_seats]
    try:
        refuse_taken(seats, now=now)
    except SeatsTaken as error:
        taken = set(error.extra["seats"])
        error.fields = {}
        for index, (tariff, _quantity) in enumerate(wanted.items()):
            mine = [seat for seat in picked.get(tariff, []) if seat.pk in taken]
            if mine:
                error.fields[f"items.{index}.seats"] = [
                    _("Taken meanwhile: %(seats)s.") % {"seats": labels(mine)}
                ]
        raise


def basket_create(*, office: TicketOffice, items, now=None) -> tuple[Basket, str]:
    """Holds seats for `office.hold_minutes`: `items` is `[{tariff, quantity}]`. Returns
    the basket and the key that opens it (kept only hashed), its tickets on
    `basket.held_tickets`. Raises InvalidInput naming each item at fault, or SoldOut
    (409) with what is left of each tariff."""
    now = now or timezone.now()
    wanted, picked = _clean_items(office, items, now)
    key = secrets.new_basket_key()
    expires_at = now + datetime.timedelta(minutes=office.hold_minutes)
    with transaction.atomic():
        # The basket row claims no seat: written before the locks, to keep them short.
        basket = Basket.objects.create(
            organisation_id=office.organisation_id,
            office=office,
            key_hash=secrets.basket_key_hash(key),
            expires_at=expires_at,
        )
        lock_zones(t.zone_id for t in wanted)
        now = timezone.now()  # counted at the moment the locks are held
        _refuse_taken_seats(picked, wanted, now=now)
        _claim_or_refuse(wanted, now=now)
        basket.held_tickets = Ticket.objects.bulk_create(
            [
                _new_ticket(
                    tariff, basket=basket, expires_at=expires_at,
                    seat=picked[tariff][n] if tariff in picked else None,
                )
                for tariff, quantity in wanted.items()
                for n in range(quantity)
            ]
        )  # fmt: skip
    return basket, key


def basket_for(*, office: TicketOffice, key: str) -> Basket:
    basket = Basket.objects.filter(office=office, key_hash=secrets.basket_key_hash(key)).first()
    if basket is None:
        raise NotFound()
    return basket


def basket_tickets(basket: Basket) -> list[Ticket]:
    """The basket's tickets in its order, with their tariffs, seats and forms' fields."""
    return list(
        basket.tickets.select_related("tariff__zone__date__event", "tariff__form", "seat")
        .prefetch_related("tariff__form__fields")
        .order_by("pk")
    )


def _fields_of(ticket: Ticket) -> list:
    return ordered_fields(ticket.tariff.form) if ticket.tariff.form_id else []


def _check_answers(tickets: list[Ticket], entries) -> dict[int, dict]:
    """Answers for each ticket, every problem at once under `tickets.<i>...`."""
    problems = Problems()
    if not isinstance(entries, list) or len(entries) != len(tickets):
        raise InvalidInput(
            _("Send one entry per ticket, in the basket's order."),
            code="answers_invalid",
            fields={
                "tickets": [
                    ngettext(
                        "This basket has %(n)d ticket.", "This basket has %(n)d tickets.",
                        len(tickets),
                    ) % {"n": len(tickets)}
                ]
            },
        )  # fmt: skip
    cleaned = {}
    for index, (ticket, entry) in enumerate(zip(tickets, entries, strict=True)):
        entry = entry if isinstance(entry, dict) else {}
        if entry.get("tariff") not in (None, ticket.tariff_id):
            problems.add(f"tickets.{index}.tariff", _("This ticket is of another tariff."))
            continue
        answers = entry.get("answers") or {}
        if not isinstance(answers, dict):
            problems.add(f"tickets.{index}.answers", _("Give the answers by field id."))
            continue
        result = problems.check(
            answers_check, _fields_of(ticket), answers, prefix=f"tickets.{index}.answers."
        )
        if result is not None:
            cleaned[ticket.pk] = {str(key): value for key, value in result.items()}
    if problems.fields:
        raise InvalidInput(
            _("Some answers are missing or not valid."), code="answers_invalid",
            fields=problems.fields,
        )  # fmt: skip
    return cleaned


@transaction.atomic
def basket_answers_set(*, basket: Basket, entries) -> list[Ticket]:
    """The form answers of every ticket (one entry per ticket, in the basket's order).
    Raises InvalidInput `answers_invalid` naming the ticket and the field; nothing is
    kept unless every answer is right."""
    basket = Basket.objects.select_for_update().get(pk=basket.pk)
    tickets = basket_tickets(basket)
    if not tickets:
        raise Conflict(_("This basket has been ordered already."), code="basket_ordered")
    cleaned = _check_answers(tickets, entries)
    for ticket in tickets:
        ticket.answers = cleaned.get(ticket.pk, {})
    Ticket.objects.bulk_update(tickets, ["answers"])
    return tickets


@transaction.atomic
def basket_release(*, basket: Basket) -> int:
    """Gives a basket's held seats back at once, when the buyer empties it or chooses
    again, instead of letting them block others until the hold runs out. The basket's
    row is locked as checkout locks it, so the two never both act: a basket ordered
    already releases nothing. Freeing seats needs no zone lock. Returns how many tickets
    were released."""
    basket = Basket.objects.select_for_update().get(pk=basket.pk)
    _total, deleted = basket.tickets.filter(order__isnull=True).delete()
    return deleted.get(Ticket._meta.label, 0)


def _payment_of(office: TicketOffice, total, payment, problems: Problems) -> str:
    from ..payments import card_provider

    if total == 0:
        return PaymentMethod.FREE
    if payment == PaymentMethod.FREE:
        problems.add("payment", _("This order is not free: choose how to pay."))
    elif payment == PaymentMethod.LATER and not office.pay_later:
        problems.add("payment", _("This shop does not take payment later."))
    elif payment == PaymentMethod.CARD and (not office.card_payments or card_provider() is None):
        problems.add("payment", _("This shop does not take cards."))
    elif payment not in PaymentMethod.values:
        problems.add("payment", _("Choose one of %(p)s.") % {"p": ", ".join(PaymentMethod.values)})
    return payment


def _insert_order(order: Order) -> None:
    """Save a new order under a fresh short code (retried on the rare collision)."""
    for _attempt in range(10):
        order.code = secrets.random_code()
        try:
            with transaction.atomic():
                order.save()
            return
        except IntegrityError:
            continue
    raise Conflict(_("Please try again."), code="try_again")


def _hold_again(tickets: list[Ticket], *, now) -> None:
    """Under the zones' locks: seats whose hold ran out are claimed again, if still free
    (a numbered seat too, if nobody else holds or bought it meanwhile)."""
    if all(t.expires_at is None or t.expires_at > now for t in tickets):
        return
    wanted: dict[Tariff, int] = {}
    for ticket in tickets:
        wanted[ticket.tariff] = wanted.get(ticket.tariff, 0) + 1
    mine = [t.pk for t in tickets]
    refuse_taken(
        [t.seat for t in tickets if t.seat_id], now=now, excluding=mine,
        detail=_("Your hold has run out and these seats have been taken meanwhile: %(seats)s."),
    )  # fmt: skip
    try:
        _claim_or_refuse(wanted, now=now, excluding=mine)
    except SoldOut as error:
        error.detail = _("Your hold has run out and these seats have been sold meanwhile.")
        raise


def checkout(
    *,
    basket: Basket,
    name: str,
    email: str,
    payment: str,
    language: str = "en",
    answers=None,
    now=None,
) -> Order:
    """Turns the basket into an order. A free order is paid at once; `later` and `card`
    leave it pending, holding its seats until its payment deadline. `answers`, when
    given, are the tickets' form answers as basket_answers_set takes them, set in the
    same step (one request fewer for the buyer). Raises InvalidInput (every problem at
    once; `answers_invalid` when a ticket's required answers are missing or wrong),
    Conflict `basket_ordered`, or SoldOut when the hold has run out and the seats are
    gone. The order's tickets are left on `order.sold_tickets`, loaded with their
    tariffs, so that the caller shows them without reading them again."""
    office = basket.office
    problems = Problems()
    name = problems.check(clean_name, name, max_length=200)
    email = problems.check(normalise_email, email)
    with transaction.atomic():
        basket = Basket.objects.select_for_update().get(pk=basket.pk)
        tickets = basket_tickets(basket)
        if not tickets:
            raise Conflict(_("This basket has been ordered already."), code="basket_ordered")
        total = sum((t.price for t in tickets), start=tickets[0].price * 0)
        payment = _payment_of(office, total, payment, problems)
        problems.raise_if_any()
        if answers is not None:
            cleaned = _check_answers(tickets, answers)
            for ticket in tickets:
                ticket.answers = cleaned.get(ticket.pk, {})
        else:
            _check_answers(tickets, [{"answers": t.answers} for t in tickets])
        now = timezone.now()
        order = Order(
            organisation_id=office.organisation_id,
            office=office,
            buyer_name=name,
            buyer_email=email,
            language=(language or "en")[:8],
            total=total,
            currency=office.currency,
            payment_method=payment,
        )
        if payment == PaymentMethod.FREE:
            order.status, order.paid_at, hold_until = OrderStatus.PAID, now, None
        else:
            order.status = OrderStatus.PENDING
            if payment == PaymentMethod.LATER:
                hold_until = now + datetime.timedelta(days=office.pay_later_days)
                first_start = min(t.tariff.zone.date.starts_at for t in tickets)
                hold_until = max(min(hold_until, first_start), now + datetime.timedelta(hours=1))
            else:
                from ..payments import card_provider

                order.payment_provider = card_provider().key
                hold_until = now + datetime.timedelta(minutes=CARD_PAYMENT_MINUTES)
            order.payment_deadline = hold_until
        _insert_order(order)
        # The zones are locked last, for the check and the write only (the order's row
        # claims no seat; it goes if the seats turn out to be gone).
        lock_zones(t.zone_id for t in tickets)
        _hold_again(tickets, now=timezone.now())
        for ticket in tickets:
            ticket.order = order
            ticket.basket = None
            ticket.expires_at = hold_until
            ticket.holder_name = name_on_ticket(_fields_of(ticket), ticket.answers, buyer_name=name)
        Ticket.objects.bulk_update(
            tickets, ["order", "basket", "expires_at", "holder_name", "answers"]
        )
        order.sold_tickets = tickets
        if order.status == OrderStatus.PAID:
            _send_after_commit(order, "tickets")
        elif payment == PaymentMethod.LATER:
            _send_after_commit(order, "pending")
    return order


def _send_after_commit(order: Order, kind: str) -> None:
    transaction.on_commit(lambda: _mail_later(order.pk, kind))


def order_for_buyer(*, office: TicketOffice, code: str, token: str) -> Order:
    """The order a buyer's link opens: 404 unless the token is the order's."""
    order = office.orders.filter(code=str(code).upper()).first()
    if order is None or not secrets.order_token_valid(order, token):
        raise NotFound()
    return order


def _require_manage(access, order):
    if access is not None:
        access.require(Capability.MANAGE_PRODUCT, order.office)


@transaction.atomic
def order_mark_paid(*, order: Order, access: Access | None = None, reference: str = "") -> Order:
    """Marks a pending order paid: by the organiser (`access`, MANAGE_PRODUCT) for a
    transfer or the box office, or by a payment provider's notice (`access` None). Paying
    twice changes nothing. Past its deadline the seats are claimed again if still free
    (Conflict `seats_gone` otherwise); a cancelled order cannot be paid."""
    _require_manage(access, order)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == OrderStatus.PAID:
        return order
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(_("This order is cancelled."), code="order_cancelled")
    tickets = list(order.tickets.filter(cancelled=False).select_related("tariff__zone", "seat"))
    lock_zones(t.zone_id for t in tickets)
    now = timezone.now()
    try:
        _hold_again(tickets, now=now)
    except (SoldOut, SeatsTaken):
        raise Conflict(
            _("The payment deadline has passed and these seats have been sold meanwhile."),
            code="seats_gone",
        ) from None
    order.status, order.paid_at = OrderStatus.PAID, now
    if reference:
        order.payment_reference = reference[:255]
    order.save(update_fields=["status", "paid_at", "payment_reference"])
    order.tickets.filter(cancelled=False).update(expires_at=None)
    if access is not None:
        record_by(access, "ticketing.order.paid", order.office, {"order": order.code})
    _send_after_commit(order, "tickets")
    return order


@transaction.atomic
def order_cancel(*, access: Access, order: Order) -> Order:
    """Cancels the order: its seats are free again and the buyer is told by email."""
    _require_manage(access, order)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == OrderStatus.CANCELLED:
        return order
    order.status, order.cancelled_at = OrderStatus.CANCELLED, timezone.now()
    order.save(update_fields=["status", "cancelled_at"])
    order.tickets.update(cancelled=True)
    record_by(access, "ticketing.order.cancelled", order.office, {"order": order.code})
    _send_after_commit(order, "cancelled")
    return order


@transaction.atomic
def date_cancel(*, access: Access, date) -> int:
    """Cancels a date: its held and sold seats are freed, orders left without a ticket
    are cancelled, and every buyer is told. Returns how many orders were touched."""
    access.require(Capability.MANAGE_PRODUCT, date.event.office)
    if date.cancelled_at is None:
        date.cancelled_at = timezone.now()
        date.save(update_fields=["cancelled_at"])
    order_ids = set(
        Ticket.objects.filter(zone__date=date, order__isnull=False, cancelled=False).values_list(
            "order_id", flat=True
        )
    )
    Ticket.objects.filter(zone__date=date).update(cancelled=True)
    emptied = Order.objects.filter(pk__in=order_ids).exclude(tickets__cancelled=False)
    emptied.update(status=OrderStatus.CANCELLED, cancelled_at=timezone.now())
    for order_id in sorted(order_ids):
        transaction.on_commit(lambda oid=order_id: _mail_later(oid, "date_cancelled"))
    record_by(access, "ticketing.date.cancelled", date.event.office,
              {"event": date.event.title, "orders": len(order_ids)})  # fmt: skip
    return len(order_ids)


def _mail_later(order_id, kind):
    """Queue the buyer's email. The order is committed already: a broker that cannot be
    reached must not turn the buyer's success into an error page. It is logged, and the
    organiser can send the tickets again from the order's page."""
    from ..tasks import order_mail_send

    try:
        order_mail_send.delay(order_id, kind)
    except Exception:  # broker down or misconfigured
        logger.exception("Could not queue the %s email of order %s", kind, order_id)


#: A paid order whose tickets have not gone out this long after payment is sent them
#: again by the beat (`unsent_tickets_send`), for this long after payment at most.
UNSENT_AFTER = datetime.timedelta(minutes=10)
UNSENT_UNTIL = datetime.timedelta(days=2)


def unsent_tickets_send(now=None) -> int:
    """Queues the tickets email of each paid order that has not had it: its first email
    could not be queued (the broker was down) or its task gave up. An order is queued
    by this sweep at most once an hour, so a mail server that is down is not flooded.
    Returns how many were queued."""
    from django.core.cache import cache

    now = now or timezone.now()
    orders = Order.objects.filter(
        status=OrderStatus.PAID,
        tickets_sent_at__isnull=True,
        paid_at__lte=now - UNSENT_AFTER,
        paid_at__gte=now - UNSENT_UNTIL,
    ).values_list("pk", flat=True)
    queued = 0
    for order_id in orders:
        if cache.add(f"ticketing:unsent-tickets:{order_id}", 1, timeout=3600):
            _mail_later(order_id, "tickets")
            queued += 1
    return queued


def order_resend(*, access: Access, order: Order) -> None:
    """Sends the tickets of a paid order again."""
    _require_manage(access, order)
    if order.status != OrderStatus.PAID:
        raise Conflict(_("Only a paid order has tickets to send."), code="order_not_paid")
    record_by(access, "ticketing.order.resent", order.office, {"order": order.code})
    transaction.on_commit(lambda: _mail_later(order.pk, "tickets"))


@transaction.atomic
def ticket_answers_change(*, order: Order, ticket: Ticket, answers: dict) -> Ticket:
    """A buyer changes the answers the organiser lets them change (`buyer_can_change`);
    the others keep their values. The name on the ticket follows."""
    if ticket.order_id != order.pk or ticket.cancelled:
        raise NotFound()
    fields = _fields_of(ticket)
    merged = dict(ticket.answers)
    problems = Problems()
    for key in answers or {}:
        field = next((f for f in fields if str(f.pk) == str(key)), None)
        if field is not None and not field.buyer_can_change:
            problems.add(f"answers.{key}", _("This answer cannot be changed."))
    problems.raise_if_any()
    merged.update({str(k): v for k, v in (answers or {}).items()})
    cleaned = answers_check(fields, merged, prefix="answers.")
    ticket.answers = {str(k): v for k, v in cleaned.items()}
    ticket.holder_name = name_on_ticket(fields, ticket.answers, buyer_name=order.buyer_name)
    ticket.save(update_fields=["answers", "holder_name"])
    return ticket


def orders_expire(*, now=None) -> int:
    """Marks pending orders past their deadline expired (their seats already stopped
    counting at the deadline; this only tells the Manager)."""
    now = now or timezone.now()
    return Order.objects.filter(status=OrderStatus.PENDING, payment_deadline__lte=now).update(
        status=OrderStatus.EXPIRED
    )
