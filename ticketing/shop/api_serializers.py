"""Shapes of the public shop's API. The input serializers describe the bodies (and check
the flat ones); the basket and answer lists are checked by services.sales, which names
each item, ticket and field at fault. The output shows buyers what is on sale and what
is left, never the organiser's figures (capacity, held, sold) nor hidden tariffs."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from panel.api.base import DB_INT_MAX, StrictCharField

from .. import secrets
from ..models import GuestStatus, OrderStatus, PaymentMethod
from ..services.forms import ordered_fields

#: a link that may be missing (no image, a ticket not yet paid for)
NULLABLE_URL = serializers.URLField(allow_null=True)

# -- input ----------------------------------------------------------------------------------


class BasketItemIn(serializers.Serializer):
    tariff = serializers.IntegerField(min_value=1, max_value=DB_INT_MAX)
    quantity = serializers.IntegerField(
        min_value=0, max_value=DB_INT_MAX, required=False,
        help_text=_("How many tickets; for a numbered zone, as many as `seats` when left out."),
    )  # fmt: skip
    seats = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=DB_INT_MAX), required=False,
        help_text=_("A numbered zone's seats picked on its plan (zones/{id}/seats/), one per "
                    "ticket; 409 `seats_taken` names those taken meanwhile."),
    )  # fmt: skip


class BasketIn(serializers.Serializer):
    items = BasketItemIn(many=True, help_text=_("The tickets wanted, by tariff."))


class TicketAnswersIn(serializers.Serializer):
    tariff = serializers.IntegerField(required=False, help_text=_("The ticket's tariff."))
    answers = serializers.DictField(
        help_text=_("Answers by field id; a checkboxes answer is the list of ticked options.")
    )


class BasketAnswersIn(serializers.Serializer):
    tickets = TicketAnswersIn(
        many=True, help_text=_("One entry per ticket, in the basket's order.")
    )


class CheckoutIn(serializers.Serializer):
    name = StrictCharField(max_length=200, help_text=_("The buyer's name."))
    email = StrictCharField(max_length=254, help_text=_("Where the tickets are sent."))
    payment = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        help_text=_("`free` only for a total of 0; `later` or `card` otherwise."),
    )
    tickets = TicketAnswersIn(
        many=True,
        required=False,
        help_text=_(
            "The answers, as PUT answers/ takes them: sent here, they are set in the same step."
        ),
    )


# -- events ---------------------------------------------------------------------------------


class ShopFieldOut(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    type = serializers.CharField()
    help_text = serializers.CharField()
    required = serializers.BooleanField()
    options = serializers.ListField(child=serializers.CharField())
    url = serializers.CharField()


def fields_of(tariff) -> list:
    return ShopFieldOut(ordered_fields(tariff.form), many=True).data if tariff.form_id else []


class ShopTariffOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    available = serializers.IntegerField(help_text=_("Seats left for this tariff."))
    min_per_order = serializers.IntegerField()
    max_per_order = serializers.IntegerField()
    on_sale = serializers.SerializerMethodField()
    reason = serializers.CharField(
        allow_null=True, help_text=_("Why it is not on sale now, or null.")
    )
    fields = serializers.SerializerMethodField(
        method_name="form_fields", help_text=_("The form asked for each ticket.")
    )

    def get_on_sale(self, tariff) -> bool:
        return tariff.reason is None and tariff.available > 0

    @extend_schema_field(ShopFieldOut(many=True))
    def form_fields(self, tariff):
        return fields_of(tariff)


class ShopZoneOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    numbered = serializers.BooleanField(
        help_text=_("Buyers pick their seats on the plan: GET zones/{id}/seats/.")
    )
    available = serializers.IntegerField()
    tariffs = serializers.SerializerMethodField()

    @extend_schema_field(ShopTariffOut(many=True))
    def get_tariffs(self, zone):
        return ShopTariffOut(zone.tariffs.all(), many=True).data


class ShopDateSummaryOut(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    doors_at = serializers.DateTimeField(allow_null=True)
    available = serializers.IntegerField(help_text=_("Seats left on this date."))


class ShopDateOut(ShopDateSummaryOut):
    zones = serializers.SerializerMethodField()

    @extend_schema_field(ShopZoneOut(many=True))
    def get_zones(self, date):
        # A zone sold only through hidden tariffs is not offered here.
        zones = [zone for zone in date.zones.all() if zone.tariffs.all()]
        return ShopZoneOut(zones, many=True).data


class ShopEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    venue = serializers.CharField()
    image = serializers.SerializerMethodField()
    dates = serializers.SerializerMethodField()

    @extend_schema_field(NULLABLE_URL)
    def get_image(self, event):
        if not event.image:
            return None
        return self.context["request"].build_absolute_uri(event.image.url)

    @extend_schema_field(ShopDateSummaryOut(many=True))
    def get_dates(self, event):
        return ShopDateSummaryOut(event.shop_dates, many=True).data


class ShopOfficeOut(serializers.Serializer):
    name = serializers.CharField()
    currency = serializers.CharField()
    contact_email = serializers.CharField()
    contact_phone = serializers.CharField()
    contact_details = serializers.CharField()


class ShopEventDetailOut(ShopEventOut):
    description = serializers.CharField()
    office = ShopOfficeOut()

    @extend_schema_field(ShopDateOut(many=True))
    def get_dates(self, event):
        return ShopDateOut(event.shop_dates, many=True).data


# -- baskets --------------------------------------------------------------------------------


class BasketItemOut(serializers.Serializer):
    tariff = serializers.IntegerField()
    name = serializers.CharField()
    event = serializers.CharField()
    starts_at = serializers.DateTimeField()
    zone = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    quantity = serializers.IntegerField()
    fields = ShopFieldOut(many=True, help_text=_("The form asked for each of these tickets."))


class ShopSeatOut(serializers.Serializer):
    id = serializers.IntegerField()
    row = serializers.CharField()
    number = serializers.CharField()
    label = serializers.CharField(help_text=_('"Row A, seat 5", as the ticket prints it.'))


class ShopPlanSeatOut(ShopSeatOut):
    x = serializers.IntegerField(help_text=_("The column it is drawn in, from 1."))
    y = serializers.IntegerField(help_text=_("The line it is drawn on, from 1."))
    state = serializers.ChoiceField(choices=["free", "taken", "off_sale"])


class ShopSeatPlanOut(serializers.Serializer):
    zone = serializers.IntegerField()
    name = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    seats = ShopPlanSeatOut(many=True)


class BasketTicketOut(serializers.Serializer):
    tariff = serializers.IntegerField()
    answers = serializers.DictField(help_text=_("The answers given so far, by field id."))
    seat = ShopSeatOut(allow_null=True, help_text=_("The seat of a numbered zone, or null."))


class BasketOut(serializers.Serializer):
    id = serializers.CharField(help_text=_("The basket's key: keep it, it opens the basket."))
    expires_at = serializers.DateTimeField(help_text=_("The seats are held until then."))
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    items = BasketItemOut(many=True)
    tickets = BasketTicketOut(
        many=True, help_text=_("One entry per ticket, in the order the answers are sent.")
    )


def basket_data(basket, key: str, tickets: list) -> dict:
    """The basket as its holder sees it: tickets grouped by tariff in the basket's order,
    and one entry per ticket for the answers."""
    items: dict[int, dict] = {}
    for ticket in tickets:
        tariff = ticket.tariff
        item = items.get(tariff.pk)
        if item is None:
            date = tariff.zone.date
            item = items[tariff.pk] = {
                "tariff": tariff.pk, "name": tariff.name, "event": date.event.title,
                "starts_at": date.starts_at, "zone": tariff.zone.name, "price": ticket.price,
                "quantity": 0, "fields": fields_of(tariff),
            }  # fmt: skip
        item["quantity"] += 1
    total = sum((t.price for t in tickets), start=0)
    return BasketOut(
        {
            "id": key,
            "expires_at": basket.expires_at,
            "currency": basket.office.currency,
            "total": total,
            "items": list(items.values()),
            "tickets": [
                {"tariff": t.tariff_id, "answers": t.answers, "seat": t.seat} for t in tickets
            ],
        }
    ).data


# -- orders ---------------------------------------------------------------------------------


class OrderAnswerOut(serializers.Serializer):
    field = serializers.IntegerField()
    label = serializers.CharField()
    value = serializers.JSONField()


def answers_of(ticket) -> list[dict]:
    """A ticket's answers in the form's order, with their questions."""
    fields = ordered_fields(ticket.tariff.form) if ticket.tariff.form_id else []
    return [
        {"field": f.pk, "label": f.label, "value": ticket.answers[str(f.pk)]}
        for f in fields
        if str(f.pk) in ticket.answers
    ]


class OrderTicketOut(serializers.Serializer):
    """A ticket of the buyer's own order. It carries a link to its PDF rather than its
    secret: the secret is the entry itself, and a JSON body is what ends up in client
    logs, caches and browser history; the PDF (also sent by email) is the one place the
    secret leaves the panel, behind the same order token."""

    id = serializers.IntegerField()
    event = serializers.CharField(source="tariff.zone.date.event.title")
    starts_at = serializers.DateTimeField(source="tariff.zone.date.starts_at")
    zone = serializers.CharField(source="tariff.zone.name")
    tariff = serializers.CharField(source="tariff.name")
    tariff_id = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    name = serializers.CharField(source="holder_name", help_text=_("The name on the ticket."))
    seat = ShopSeatOut(allow_null=True, help_text=_("The seat of a numbered zone, or null."))
    cancelled = serializers.BooleanField()
    answers = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(
        help_text=_("The PDF ticket, once the order is paid.")
    )

    @extend_schema_field(OrderAnswerOut(many=True))
    def get_answers(self, ticket):
        return answers_of(ticket)

    @extend_schema_field(NULLABLE_URL)
    def get_download_url(self, ticket):
        order = self.context["order"]
        if order.status != OrderStatus.PAID or ticket.cancelled:
            return None
        path = reverse("api:shop-ticket-pdf", args=[order.office.slug, order.code, ticket.pk])
        token = self.context["token"]
        return self.context["request"].build_absolute_uri(f"{path}?token={token}")


class OrderOut(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    name = serializers.CharField(source="buyer_name")
    email = serializers.CharField(source="buyer_email")
    language = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    payment = serializers.CharField(source="payment_method")
    payment_deadline = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    token = serializers.SerializerMethodField(
        help_text=_("Opens this order again: GET orders/{code}/?token=...")
    )
    tickets = serializers.SerializerMethodField()

    def get_token(self, order) -> str:
        return self.context["token"]

    @extend_schema_field(OrderTicketOut(many=True))
    def get_tickets(self, order):
        return OrderTicketOut(self.context["tickets"], many=True, context=self.context).data


def order_data(order, tickets, *, request) -> dict:
    context = {"request": request, "order": order, "tickets": tickets,
               "token": secrets.order_token(order)}  # fmt: skip
    return OrderOut(order, context=context).data


class CheckoutOut(serializers.Serializer):
    order = OrderOut()
    payment_url = serializers.URLField(
        required=False, help_text=_("For a card payment: where to send the buyer to pay.")
    )


# -- a guest's invitation -------------------------------------------------------------------


class GuestTicketAnswersIn(serializers.Serializer):
    answers = serializers.DictField(
        help_text=_("Answers by field id; a checkboxes answer is the list of ticked options.")
    )


class GuestAnswerIn(serializers.Serializer):
    accept = serializers.BooleanField(help_text=_("true to accept, false to decline."))
    places = serializers.IntegerField(
        required=False,
        help_text=_(
            "How many places to take, from 1 to those offered. Left out: as many as "
            "`tickets`, else the places accepted already, else all those offered."
        ),
    )
    tickets = GuestTicketAnswersIn(
        many=True,
        required=False,
        help_text=_(
            "When the tariff has a form: one entry per place taken, in order. Left out, "
            "the tickets held keep their answers."
        ),
    )


class GuestEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    venue = serializers.CharField()


class GuestDateOut(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    doors_at = serializers.DateTimeField(allow_null=True)
    cancelled = serializers.BooleanField()


class GuestTicketOut(serializers.Serializer):
    """A ticket of the guest's, with a link to its PDF rather than its secret (see
    OrderTicketOut)."""

    id = serializers.IntegerField()
    name = serializers.CharField(help_text=_("The name on the ticket."))
    seat = ShopSeatOut(allow_null=True, help_text=_("The seat of a numbered zone, or null."))
    answers = OrderAnswerOut(many=True)
    download_url = serializers.URLField(help_text=_("The PDF ticket."))


class GuestOut(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=GuestStatus.choices)
    event = GuestEventOut()
    date = GuestDateOut()
    zone = serializers.CharField()
    tariff = serializers.CharField()
    places = serializers.IntegerField(help_text=_("The places offered: accept 1 to this many."))
    places_accepted = serializers.IntegerField()
    closed = serializers.ChoiceField(
        choices=["event_cancelled", "answers_closed"],
        allow_null=True,
        help_text=_(
            "Why answers are closed (the code of the 409 an answer would get), or null "
            "while the guest may answer."
        ),
    )
    fields = ShopFieldOut(many=True, help_text=_("The form asked for each place taken."))
    tickets = GuestTicketOut(many=True, help_text=_("The guest's valid tickets."))


def guest_data(guest, tickets, *, closed, key: str, request) -> dict:
    """The invitation as the guest sees it through their key."""
    date, office = guest.tariff.zone.date, guest.event.office

    def pdf_url(ticket):
        path = reverse("api:shop-guest-ticket-pdf", args=[office.slug, key, ticket.pk])
        return request.build_absolute_uri(path)

    return GuestOut(
        {
            "name": guest.name,
            "status": guest.status,
            "event": guest.event,
            "date": {
                "id": date.pk,
                "starts_at": date.starts_at,
                "ends_at": date.ends_at,
                "doors_at": date.doors_at,
                "cancelled": date.cancelled_at is not None,
            },
            "zone": guest.tariff.zone.name,
            "tariff": guest.tariff.name,
            "places": guest.places,
            "places_accepted": guest.places_accepted,
            "closed": closed.code if closed is not None else None,
            "fields": fields_of(guest.tariff),
            "tickets": [
                {
                    "id": t.pk,
                    "name": t.holder_name or guest.name,
                    "seat": t.seat,
                    "answers": answers_of(t),
                    "download_url": pdf_url(t),
                }
                for t in tickets
            ],
        }
    ).data
