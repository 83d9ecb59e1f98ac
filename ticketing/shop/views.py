"""The public shop's pages, for buyers without an account: an office's events on sale, an
event's dates and tariffs with what is left, the basket that holds the seats while the
buyer answers the forms, the checkout, the test card page, and the buyer's order page
opened by the link of their email (`?token=...`).

In a numbered zone the buyer picks seats on the zone's plan (checkboxes drawn as a
grid, so that the page works without JavaScript); a zone sold through one tariff takes
as many tickets as seats picked, one with several tariffs asks both and spreads the
seats over the tariffs in order.

The basket's key lives in the session, per office, never in a URL. A buyer has one
basket per office: choosing tickets again, or emptying the basket, gives the previous
basket's seats back at once rather than leaving them held until the hold runs out.

Every rule is the services' (ticketing/services/sales.py): a view reads through a
selector (404 for what is not on sale), calls a service, and shows its refusal next to
the input it names and at the top of the page, every problem at once; on any refusal
nothing changes."""

from django.contrib import messages
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from panel.errors import InvalidInput, NotFound, PanelError

from .. import payments, pdf, secrets, selectors, services
from ..models import EventDate, OrderStatus, PaymentMethod
from ..services.sales import not_on_sale_reason
from ..services.seats import SeatsTaken, seat_plans
from .forms import BuyerForm, TestCardForm, TicketAnswersForm

SESSION_BASKETS = "shop_baskets"


# -- helpers ----------------------------------------------------------------------------------


def _found(selector, *args, **kwargs):
    try:
        return selector(*args, **kwargs)
    except NotFound:
        raise Http404() from None


def _office(slug):
    return _found(selectors.shop_office, slug)


def _basket_key(request, office) -> str | None:
    return request.session.get(SESSION_BASKETS, {}).get(office.slug)


def _keep_basket(request, office, key: str | None) -> None:
    baskets = dict(request.session.get(SESSION_BASKETS, {}))
    if key is None:
        baskets.pop(office.slug, None)
    else:
        baskets[office.slug] = key
    request.session[SESSION_BASKETS] = baskets


def _current_basket(request, office):
    """The buyer's basket in this shop with its tickets, or (None, []) when there is
    none left (never made, ordered already)."""
    key = _basket_key(request, office)
    if not key:
        return None, []
    try:
        basket = services.basket_for(office=office, key=key)
    except NotFound:
        basket = None
    tickets = services.basket_tickets(basket) if basket else []
    if not tickets:
        _keep_basket(request, office, None)
        return None, []
    return basket, tickets


def _page(request, office, template, context, *, basket_count=None):
    """Render a shop page: the office for the header and footer, the basket's size."""
    if basket_count is None:
        key = _basket_key(request, office)
        basket = None
        if key:
            try:
                basket = services.basket_for(office=office, key=key)
            except NotFound:
                basket = None
        basket_count = basket.tickets.count() if basket else 0
    return render(request, template, {"office": office, "basket_count": basket_count, **context})


def _order_url(order) -> str:
    path = reverse("shop:order-detail", args=[order.office.slug, order.code])
    return f"{path}?token={secrets.order_token(order)}"


def _buyer_order(request, office, code):
    return _found(
        services.order_for_buyer, office=office, code=code, token=request.GET.get("token", "")
    )


def _describe(tariff) -> str:
    return f"{tariff.name} ({tariff.zone.name})"


# -- events -----------------------------------------------------------------------------------


def office_page(request, office_slug):
    """The office's events on sale, each with its dates to come, its lowest price and
    whether tickets are left."""
    office = _office(office_slug)
    events = list(selectors.shop_events(office))
    _summarise(events)
    return _page(request, office, "shop/office.html", {"events": events})


def _summarise(events) -> None:
    """Set `on_sale`, `from_price` and `state` (why nothing is sold, else "") on each
    event, in a bounded number of queries."""
    now = timezone.now()
    by_id = {event.pk: event for event in events}
    dates = selectors.dates_with_availability(
        EventDate.objects.filter(
            event_id__in=list(by_id), starts_at__gte=now, cancelled_at__isnull=True
        ).order_by("starts_at"),
        now=now,
        public_only=True,
    )
    for event in events:
        event.from_price, event.on_sale, event.state = None, False, ""
        event.reasons = []
    for date in dates:
        event = by_id[date.event_id]
        date.event = event
        for zone in date.zones.all():
            zone.date = date
            for tariff in zone.tariffs.all():
                tariff.zone = zone
                reason = not_on_sale_reason(tariff, now)
                if reason:
                    event.reasons.append(reason)
                elif tariff.available >= tariff.min_per_order:
                    event.on_sale = True
                    if event.from_price is None or tariff.price < event.from_price:
                        event.from_price = tariff.price
                else:
                    event.reasons.insert(0, _("Sold out"))
    for event in events:
        if not event.on_sale:
            event.state = event.reasons[0] if event.reasons else _("No tickets on sale yet.")


def event_page(request, office_slug, event_id):
    """The event's dates, zones and tariffs with what is left, and the plans of numbered
    zones; its form puts the chosen tickets (and seats) in a basket that holds them
    (services.sales.basket_create)."""
    office = _office(office_slug)
    event = _found(selectors.shop_event, office, event_id)
    dates = selectors.shop_dates(event)
    chosen: dict[int, int] = {}
    picked: dict[int, list[int]] = {}
    errors: dict[int, list[str]] = {}
    zone_errors: dict[int, list[str]] = {}
    problems: list[str] = []
    _with_plans(dates)
    if request.method == "POST":
        items, items_tariffs = [], []
        for tariff in _tariffs_of(dates):
            raw = request.POST.get(f"qty-{tariff.pk}", "").strip() or "0"
            if tariff.zone.pick_only:
                raw = str(len(request.POST.getlist(f"seat-{tariff.zone_id}")))
            if not raw.isdigit():
                errors[tariff.pk] = [_("Enter a whole number of tickets.")]
                problems.append(f"{_describe(tariff)}: {errors[tariff.pk][0]}")
                continue
            chosen[tariff.pk] = int(raw)
        for zone in _numbered_zones(dates):
            ids = request.POST.getlist(f"seat-{zone.pk}")
            picked[zone.pk] = [int(i) for i in ids if i.isdigit()]
            message = _spread_seats(zone, chosen, picked[zone.pk])
            if message:
                zone_errors[zone.pk] = [message]
                problems.append(f"{zone.name}: {message}")
        for tariff in _tariffs_of(dates):
            if chosen.get(tariff.pk):
                item = {"tariff": tariff.pk, "quantity": chosen[tariff.pk]}
                if tariff.zone.numbered:
                    item["seats"] = tariff.seats
                items.append(item)
                items_tariffs.append(tariff)
        if not errors and not zone_errors:
            try:
                key = _basket_again(request, office, items)
            except PanelError as error:
                problems = _item_problems(error, items_tariffs, errors, zone_errors)
                dates = selectors.shop_dates(event)  # what is left now
                _with_plans(dates)
            else:
                _keep_basket(request, office, key)
                return redirect("shop:basket", office.slug)
    for tariff in _tariffs_of(dates):
        tariff.chosen = chosen.get(tariff.pk, 0)
        tariff.errors = errors.get(tariff.pk, [])
        tariff.choices = _quantities(tariff)
    for zone in _numbered_zones(dates):
        zone.errors = zone_errors.get(zone.pk, [])
        for seat in zone.plan.seats:
            seat.chosen = seat.state == "free" and seat.pk in picked.get(zone.pk, ())
    on_sale = any(tariff.choices for tariff in _tariffs_of(dates))
    return _page(
        request,
        office,
        "shop/event.html",
        {"event": event, "dates": dates, "problems": problems, "on_sale": on_sale},
    )  # fmt: skip


def _numbered_zones(dates) -> list:
    return [zone for date in dates for zone in date.zones.all() if zone.numbered]


def _with_plans(dates) -> None:
    """Each numbered zone's `plan` with its seats' states (two queries for all of them),
    and `pick_only` when one tariff sells it: the seats picked are then the quantity."""
    zones = [zone for zone in _numbered_zones(dates) if zone.tariffs.all()]
    plans = seat_plans(zones)
    for date in dates:
        for zone in date.zones.all():
            zone.pick_only, zone.single_price = False, None
    for zone in _numbered_zones(dates):
        zone.plan = plans.get(zone.pk)
        on_sale = [t for t in zone.tariffs.all() if not t.reason]
        zone.pick_only = len(on_sale) == 1 and len(zone.tariffs.all()) == 1
        zone.single_price = on_sale[0].price if zone.pick_only else None
        if zone.plan is None:
            zone.numbered = False  # no tariff: the zone is not offered at all
        for tariff in zone.tariffs.all():
            tariff.seats = []


def _spread_seats(zone, chosen, seat_ids) -> str | None:
    """The picked seats of a numbered zone given to its tariffs in order, one per ticket
    (`tariff.seats`); a message when their numbers differ."""
    tariffs = list(zone.tariffs.all())
    wanted = sum(chosen.get(t.pk, 0) for t in tariffs)
    if wanted != len(seat_ids):
        if not seat_ids:
            return _("Pick your seats on the plan: one per ticket.")
        return ngettext(
            "You picked %(m)d seat for %(n)d tickets: pick one seat per ticket.",
            "You picked %(m)d seats for %(n)d tickets: pick one seat per ticket.",
            len(seat_ids),
        ) % {"m": len(seat_ids), "n": wanted}
    start = 0
    for tariff in tariffs:
        quantity = chosen.get(tariff.pk, 0)
        tariff.seats = seat_ids[start : start + quantity]
        start += quantity
    return None


def _basket_again(request, office, items) -> str:
    """A new basket for these items, the buyer's previous one in this shop released in
    the same transaction: its seats count as free for the new choice, and a refused
    choice keeps the old hold as it was. Returns the new basket's key."""
    old_key = _basket_key(request, office)
    with transaction.atomic():
        if old_key:
            try:
                services.basket_release(basket=services.basket_for(office=office, key=old_key))
            except NotFound:
                pass
        _basket, key = services.basket_create(office=office, items=items)
    return key


def _tariffs_of(dates):
    return [tariff for date in dates for zone in date.zones.all() for tariff in zone.tariffs.all()]


def _quantities(tariff) -> list[int]:
    """The quantities the picker offers besides 0: the order limits within what is left."""
    if tariff.reason:
        return []
    most = min(tariff.max_per_order, tariff.available)
    return list(range(tariff.min_per_order, most + 1))


def _item_problems(error: PanelError, items_tariffs, errors, zone_errors) -> list[str]:
    """The refusal of a basket (`items.<i>.quantity` ...) next to each tariff's picker,
    a seat's (`items.<i>.seats`) next to its zone's plan, and every message at the top."""
    problems = [] if error.fields and type(error) is InvalidInput else [str(error.detail)]
    for name, field_messages in error.fields.items():
        parts = name.split(".")
        tariff = None
        if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit():
            index = int(parts[1])
            tariff = items_tariffs[index] if index < len(items_tariffs) else None
        for message in field_messages:
            if tariff is None:
                problems.append(message)
            elif parts[-1] == "seats":
                zone_errors.setdefault(tariff.zone_id, []).append(message)
                if not isinstance(error, SeatsTaken):  # its detail names the seats already
                    problems.append(f"{tariff.zone.name}: {message}")
            else:
                errors.setdefault(tariff.pk, []).append(message)
                problems.append(f"{_describe(tariff)}: {message}")
    return problems


def event_image(request, office_slug, event_id):
    office = _office(office_slug)
    event = _found(selectors.shop_event, office, event_id)
    if not event.image:
        raise Http404()
    try:
        return FileResponse(event.image.open("rb"))
    except FileNotFoundError:
        raise Http404() from None


# -- the basket and the checkout --------------------------------------------------------------


def _payments(office, total) -> list[str]:
    """The ways this order can be paid: free at 0, else card and pay later as the office
    takes them."""
    if total == 0:
        return [PaymentMethod.FREE]
    methods = []
    if office.card_payments and payments.card_provider() is not None:
        methods.append(PaymentMethod.CARD)
    if office.pay_later:
        methods.append(PaymentMethod.LATER)
    return methods


def basket_page(request, office_slug):
    """The basket: one form per ticket of a tariff with a form, the buyer, the payment,
    and the hold's countdown. Its POST answers, orders and sends the buyer to pay."""
    office = _office(office_slug)
    basket, tickets = _current_basket(request, office)
    if request.method == "POST" and "release" in request.POST:
        return _release(request, office, basket, tickets)
    if basket is None:
        if request.method == "POST":
            messages.info(request, _("This basket has been ordered already or has expired."))
        return _page(request, office, "shop/basket.html", {"basket": None}, basket_count=0)
    total = sum((ticket.price for ticket in tickets), start=tickets[0].price * 0)
    methods = _payments(office, total)
    data = request.POST if request.method == "POST" else None
    answer_forms = []
    for index, ticket in enumerate(tickets):
        fields = services.ordered_fields(ticket.tariff.form) if ticket.tariff.form_id else []
        answer_forms.append(
            TicketAnswersForm(
                data, fields=fields, prefix=f"t{index}", initial=_initial(fields, ticket.answers)
            )
        )
        ticket.number, ticket.form = index + 1, answer_forms[-1]
    buyer = BuyerForm(data, payments=methods)
    rows = _rows(tickets)
    problems: list[str] = []
    if data is not None:
        order, problems = _checkout(request, basket, tickets, answer_forms, buyer)
        if order is not None:
            _keep_basket(request, office, None)
            if order.payment_method == PaymentMethod.CARD:
                return redirect(payments.card_provider().start(order, request=request))
            return redirect(_order_url(order))
    now = timezone.now()
    return _page(
        request,
        office,
        "shop/basket.html",
        {
            "basket": basket, "tickets": tickets, "rows": rows, "total": total, "buyer": buyer,
            "questions": any(ticket.form.questions for ticket in tickets),
            "methods": methods, "problems": problems, "expired": basket.expires_at <= now,
            "seconds_left": max(int((basket.expires_at - now).total_seconds()), 0),
            "test_card": isinstance(payments.card_provider(), payments.TestCardProvider),
        },
        basket_count=len(tickets),
    )  # fmt: skip


def _release(request, office, basket, tickets):
    """The "Choose again" button: the basket's seats go back on sale at once (services.sales
    .basket_release) and the buyer is back on the event they chose from."""
    _keep_basket(request, office, None)
    if basket is None:
        return redirect("shop:office", office.slug)
    services.basket_release(basket=basket)
    messages.info(request, _("Your basket is empty and its seats are free again."))
    event_id = tickets[0].tariff.zone.date.event_id
    try:
        selectors.shop_event(office, event_id)
    except NotFound:  # no longer on sale
        return redirect("shop:office", office.slug)
    return redirect("shop:event", office.slug, event_id)


def _rows(tickets) -> list:
    """The basket's lines: each ticket with questions on its own, the others of one
    tariff together ("3 x Balcony"), each carrying `quantity` and `subtotal`."""
    rows = []
    for ticket in tickets:
        last = rows[-1] if rows else None
        seat = [ticket.seat.label] if ticket.seat_id else []
        if (
            not ticket.form.questions
            and last is not None
            and not last.form.questions
            and last.tariff_id == ticket.tariff_id
        ):
            last.quantity += 1
            last.subtotal += ticket.price
            last.seat_labels += seat
            continue
        ticket.quantity, ticket.subtotal, ticket.seat_labels = 1, ticket.price, seat
        rows.append(ticket)
    return rows


def _initial(fields, answers) -> dict:
    return {str(f.pk): answers[str(f.pk)] for f in fields if str(f.pk) in answers}


class _Refused(Exception):
    """Rolls back the answers when another part of the checkout was refused."""


def _checkout(request, basket, tickets, answer_forms, buyer):
    """(order, []) once ordered, else (None, every problem) with nothing changed."""
    buyer_ok = buyer.is_valid()
    for form in answer_forms:
        form.is_valid()  # only so that the services' errors can be added to it
    entries = [
        {"tariff": ticket.tariff_id, "answers": form.answers()}
        for ticket, form in zip(tickets, answer_forms, strict=True)
    ]
    refusal = None
    try:
        with transaction.atomic():
            try:
                services.basket_answers_set(basket=basket, entries=entries)
            except InvalidInput as error:
                refusal = error
            if refusal is not None or not buyer_ok:
                raise _Refused()
            order = services.checkout(
                basket=basket,
                name=buyer.cleaned_data["name"],
                email=buyer.cleaned_data["email"],
                payment=buyer.cleaned_data["payment"],
                language=get_language(),
            )
    except _Refused:
        pass
    except PanelError as error:
        refusal = error
    else:
        return order, []
    problems = [str(error) for error in buyer.non_field_errors()]
    for bound in (buyer[name] for name in buyer.fields):
        problems += [f"{bound.label}: {message}" for message in bound.errors]
    if refusal is not None:
        problems += _checkout_problems(refusal, tickets, answer_forms, buyer)
    return None, problems


def _checkout_problems(error: PanelError, tickets, answer_forms, buyer) -> list[str]:
    """A service's refusal on the inputs it names: `tickets.<i>.answers.<field id>` on a
    ticket's form, `name`, `email` and `payment` on the buyer's; every message at the top."""
    generic = bool(error.fields) and type(error) is InvalidInput
    problems = [] if generic or error.code == "answers_invalid" else [str(error.detail)]
    for name, field_messages in error.fields.items():
        parts = name.split(".")
        for message in field_messages:
            if len(parts) >= 2 and parts[0] == "tickets" and parts[1].isdigit():
                index = int(parts[1])
                form = answer_forms[index] if index < len(answer_forms) else None
                key = parts[3] if len(parts) == 4 and parts[2] == "answers" else None
                where = _("Ticket %(n)d") % {"n": index + 1}
                if form is not None and key in form.fields:
                    form.add_error(key, message)
                    where = f"{where}, {form.fields[key].label}"
                problems.append(f"{where}: {message}")
            elif name in buyer.fields:
                buyer.add_error(name, message)
                problems.append(f"{buyer.fields[name].label}: {message}")
            elif not name.startswith("items."):
                problems.append(message)
    return problems


# -- the buyer's order ------------------------------------------------------------------------


def _order_page(request, office, order, *, bound=None, problems=()):
    """The order, its status, its tickets with their answers and downloads, and a form
    per ticket for the answers the buyer may change (`bound`: (ticket id, form) sent)."""
    tickets = list(selectors.order_tickets(order))
    prefetch_related_objects(tickets, "seat")
    can_change = order.status in (OrderStatus.PAID, OrderStatus.PENDING)
    for ticket in tickets:
        fields = services.ordered_fields(ticket.tariff.form) if ticket.tariff.form_id else []
        ticket.shown = [(f, _answer_text(ticket.answers.get(str(f.pk)))) for f in fields]
        editable = [field for field in fields if field.buyer_can_change] if can_change else []
        ticket.change_form = None
        if editable and not ticket.cancelled:
            if bound and bound[0] == ticket.pk:
                ticket.change_form = bound[1]
            else:
                initial = _initial(editable, ticket.answers)
                ticket.change_form = TicketAnswersForm(
                    fields=editable, prefix=f"a{ticket.pk}", initial=initial
                )
    token = secrets.order_token(order)
    return _page(
        request,
        office,
        "shop/order.html",
        {
            "order": order, "tickets": tickets, "token": token,
            "paid": order.status == OrderStatus.PAID,
            "pay_now": order.status == OrderStatus.PENDING
            and order.payment_method == PaymentMethod.CARD and payments.card_provider() is not None,
            "pay_later": order.status == OrderStatus.PENDING
            and order.payment_method == PaymentMethod.LATER,
            # After a refused change the address is the form's target, which only takes POST.
            "here": _order_url(order), "problems": problems,
        },
    )  # fmt: skip


def _answer_text(answer) -> str:
    if isinstance(answer, list):
        return ", ".join(str(item) for item in answer)
    return "" if answer is None else str(answer)


@never_cache
def order_page(request, office_slug, code):
    office = _office(office_slug)
    order = _buyer_order(request, office, code)
    return _order_page(request, office, order)


@never_cache
@require_POST
def ticket_answers(request, office_slug, code, ticket_id):
    """Changes the answers the organiser lets buyers change (services.sales
    .ticket_answers_change): a locked one is refused, and nothing changes."""
    office = _office(office_slug)
    order = _buyer_order(request, office, code)
    ticket = order.tickets.filter(pk=ticket_id, cancelled=False).select_related("tariff__form")
    ticket = ticket.first()
    if ticket is None or not ticket.tariff.form_id:
        raise Http404()
    fields = services.ordered_fields(ticket.tariff.form)
    # The inputs the page showed; a locked field's id sent anyway is the service's to refuse.
    sent_ids = set(request.POST.getlist("fields"))
    shown = [field for field in fields if str(field.pk) in sent_ids]
    form = TicketAnswersForm(request.POST, fields=shown, prefix=f"a{ticket.pk}")
    form.is_valid()
    try:
        services.ticket_answers_change(order=order, ticket=ticket, answers=form.answers())
    except NotFound:
        raise Http404() from None
    except PanelError as error:
        for name, field_messages in error.fields.items():
            key = name.split(".", 1)[1] if name.startswith("answers.") else None
            for message in field_messages:
                form.add_error(key if key in form.fields else None, message)
        if not error.fields:
            form.add_error(None, str(error.detail))
        problems = [
            f"{form.fields[name].label}: {message}" if name in form.fields else str(message)
            for name, field_messages in form.errors.items()
            for message in field_messages
        ]
        return _order_page(request, office, order, bound=(ticket.pk, form), problems=problems)
    messages.success(request, _("Your answers are saved."))
    return redirect(f"{_order_url(order)}#ticket-{ticket.pk}")


@never_cache
def ticket_pdf(request, office_slug, code, ticket_id):
    """One ticket of a paid order as a PDF."""
    office = _office(office_slug)
    order = _buyer_order(request, office, code)
    if order.status != OrderStatus.PAID:
        raise Http404()
    ticket = order.tickets.filter(pk=ticket_id, cancelled=False).first()
    if ticket is None:
        raise Http404()
    ticket.order = order
    response = HttpResponse(pdf.ticket_pdf(ticket), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf.ticket_filename(ticket)}"'
    return response


# -- paying by card ---------------------------------------------------------------------------


@require_POST
def order_pay_start(request, office_slug, code):
    """Sends the buyer of a pending card order to the card provider's page."""
    office = _office(office_slug)
    order = _buyer_order(request, office, code)
    provider = payments.card_provider()
    if order.status == OrderStatus.PAID:
        return redirect(_order_url(order))
    if order.payment_method != PaymentMethod.CARD or provider is None:
        raise Http404()
    if order.status == OrderStatus.CANCELLED:
        messages.error(request, _("This order is cancelled."))
        return redirect(_order_url(order))
    return redirect(provider.start(order, request=request))


def _grouped(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


@never_cache
def order_pay(request, office_slug, code):
    """The test card's payment page (only while the test card is the card provider):
    the test number pays, any other is declined. Nothing is charged."""
    office = _office(office_slug)
    order = _buyer_order(request, office, code)
    if (
        not isinstance(payments.card_provider(), payments.TestCardProvider)
        or order.payment_method != PaymentMethod.CARD
        or order.payment_provider != payments.TestCardProvider.key
    ):
        raise Http404()
    if order.status == OrderStatus.PAID:
        return redirect(_order_url(order))
    form = TestCardForm(request.POST or None)
    problems: list[str] = []
    if order.status == OrderStatus.CANCELLED:
        problems.append(_("This order is cancelled."))
    elif request.method == "POST" and form.is_valid():
        if form.cleaned_data["number"] != payments.TestCardProvider.CARD_NUMBER:
            form.add_error("number", _("This card was declined. Nothing was charged."))
        else:
            try:
                services.order_mark_paid(order=order, reference="test card")
            except PanelError as error:
                problems.append(str(error.detail))
            else:
                messages.success(request, _("Payment received. Thank you!"))
                return redirect(_order_url(order))
    problems += [str(message) for message in form.errors.get("number", [])]
    return _page(
        request,
        office,
        "shop/pay.html",
        {"order": order, "form": form, "problems": problems, "token": secrets.order_token(order),
         "test_number": _grouped(payments.TestCardProvider.CARD_NUMBER)},
    )  # fmt: skip
