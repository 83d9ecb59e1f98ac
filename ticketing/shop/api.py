"""The public shop's API, under /api/v1/shop/<office slug>/: buyers have no account, so
there is no authentication, only a rate limit per client address. Views are thin: the
office, event, basket and order are found through ticketing.selectors and
services.sales (404 for anything a buyer may not see: drafts, another office's basket,
an order without its token), the services decide, the serializers shape the answer.

A basket is known by its key (random, stored hashed), an order by its code and the
token derived from it; these two are the only ways to reach a buyer's data. A guest's
invitation is known by the key of their personal link, and by nothing else."""

from django.conf import settings
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.api.parsers import SafeJSONParser
from panel.api.throttling import ClientAddressRateThrottle
from panel.api.views import _valid
from panel.errors import NotFound
from panel.views.errors import api_not_found

from .. import pdf, selectors, services
from ..models import Event, EventDate, OrderStatus, PaymentMethod
from ..payments import card_provider
from ..services import seats
from ..services.guests import guest_closed
from . import api_serializers as s
from .guests import guest_tickets


class ShopRateThrottle(ClientAddressRateThrottle):
    """`TICKETING_SHOP_RATE` requests per client address."""

    scope = "ticketing_shop"
    rate_setting = "TICKETING_SHOP_RATE"


class ShopView:
    """Under /shop/<office_slug>/: anyone, as JSON, within the rate limit."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ShopRateThrottle]
    parser_classes = [SafeJSONParser]

    def office(self):
        if not hasattr(self, "_office"):
            self._office = selectors.shop_office(self.kwargs["office_slug"])
        return self._office

    def basket(self):
        office = self.office()
        basket = services.basket_for(office=office, key=self.kwargs["basket_key"])
        basket.office = office
        return basket

    def buyer_order(self):
        return services.order_for_buyer(
            office=self.office(),
            code=self.kwargs["code"],
            token=self.request.query_params.get("token", ""),
        )


def _body(request) -> dict:
    return request.data if isinstance(request.data, dict) else {}


def _with_forms(tariffs) -> None:
    """Every tariff's form fields in one query."""
    prefetch_related_objects([t.form for t in tariffs if t.form_id], "fields")


# -- events ---------------------------------------------------------------------------------


class EventsView(ShopView, generics.ListAPIView):
    """The office's events on sale, with their dates to come and what is left of each."""

    serializer_class = s.ShopEventOut
    queryset = Event.objects.none()  # schema only

    def get_queryset(self):
        return selectors.shop_events(self.office())

    def list(self, request, *args, **kwargs):
        events = self.paginate_queryset(self.get_queryset())
        ids = [date.pk for event in events for date in event.dates.all()]
        dates = EventDate.objects.filter(event__office=self.office(), pk__in=ids)
        counted = {
            date.pk: date for date in selectors.dates_with_availability(dates, public_only=True)
        }
        for event in events:
            event.shop_dates = [counted[d.pk] for d in event.dates.all() if d.pk in counted]
        return self.get_paginated_response(self.get_serializer(events, many=True).data)


class EventView(ShopView, APIView):
    @extend_schema(responses=s.ShopEventDetailOut)
    def get(self, request, office_slug, event_id):
        """An event on sale: its dates to come, their zones and public tariffs, what is
        left of each, and the form each tariff asks per ticket. Drafts answer 404."""
        office = self.office()
        event = selectors.shop_event(office, event_id)
        event.office = office
        event.shop_dates = selectors.shop_dates(event)
        _with_forms([t for d in event.shop_dates for z in d.zones.all() for t in z.tariffs.all()])
        return Response(s.ShopEventDetailOut(event, context={"request": request}).data)


class ZoneSeatsView(ShopView, APIView):
    @extend_schema(responses=s.ShopSeatPlanOut)
    def get(self, request, office_slug, zone_id):
        """A numbered zone's plan: each seat `free`, `taken` or `off_sale`, drawn at
        column `x` of line `y`. Pick free ones and send their ids in a basket's item.
        404 for a zone that is not numbered or not on sale."""
        zone = seats.shop_zone(self.office(), zone_id)
        plan = seats.seat_plan(zone)
        for seat in plan.seats:
            seat.shop_state = seats.SHOP_STATES[seat.state]
        body = {
            "zone": zone.pk, "name": zone.name, "width": plan.width, "height": plan.height,
            "seats": [
                {"id": seat.pk, "row": seat.row, "number": seat.number, "label": seat.label,
                 "x": seat.x, "y": seat.y, "state": seat.shop_state}
                for seat in plan.seats
            ],
        }  # fmt: skip
        return Response(s.ShopSeatPlanOut(body).data)


# -- baskets --------------------------------------------------------------------------------


def _basket_response(basket, key, tickets=None, *, status_code=status.HTTP_200_OK) -> Response:
    if tickets is None:
        tickets = services.basket_tickets(basket)
    return Response(s.basket_data(basket, key, tickets), status=status_code)


class BasketsView(ShopView, APIView):
    @extend_schema(request=s.BasketIn, responses={201: s.BasketOut})
    def post(self, request, office_slug):
        """Holds the seats asked for (`office.hold_minutes`, 15 by default); a numbered
        zone's item names its `seats`, one per ticket. 409 `sold_out` lists under
        `available` what is left of each tariff asked; 409 `seats_taken` lists under
        `seats` the ids of the seats someone else holds or bought."""
        basket, key = services.basket_create(
            office=self.office(), items=_body(request).get("items")
        )
        tickets = basket.held_tickets
        _with_forms([ticket.tariff for ticket in tickets])
        return _basket_response(basket, key, tickets, status_code=status.HTTP_201_CREATED)


class BasketView(ShopView, APIView):
    @extend_schema(responses=s.BasketOut)
    def get(self, request, office_slug, basket_key):
        """The basket: its tickets (none once ordered) and how long they are held."""
        return _basket_response(self.basket(), basket_key)

    @extend_schema(responses={204: None})
    def delete(self, request, office_slug, basket_key):
        """Empties the basket: its seats go back on sale at once instead of at the end of
        the hold. A basket ordered already keeps its order; 404 for an unknown key."""
        services.basket_release(basket=self.basket())
        return Response(status=status.HTTP_204_NO_CONTENT)


class BasketAnswersView(ShopView, APIView):
    @extend_schema(request=s.BasketAnswersIn, responses=s.BasketOut)
    def put(self, request, office_slug, basket_key):
        """The form answers of every ticket, one entry per ticket in the basket's order.
        400 `answers_invalid` names each ticket and field at fault (`tickets.1.answers.7`),
        and then no answer is kept."""
        basket = self.basket()
        tickets = services.basket_answers_set(basket=basket, entries=_body(request).get("tickets"))
        return _basket_response(basket, basket_key, tickets)


class CheckoutView(ShopView, APIView):
    @extend_schema(request=s.CheckoutIn, responses={201: s.CheckoutOut})
    def post(self, request, office_slug, basket_key):
        """Turns the basket into an order, in the language of the request. A free order
        is paid at once and its tickets are mailed; `later` leaves it pending until the
        organiser marks it paid; `card` answers with `payment_url`, where the buyer pays.
        `tickets` may carry the answers as PUT answers/ takes them, set in the same step.
        Missing required answers answer 400 `answers_invalid`."""
        basket = self.basket()
        data = _valid(s.CheckoutIn, _body(request))
        order = services.checkout(
            basket=basket,
            name=data["name"],
            email=data["email"],
            payment=data["payment"],
            language=translation.get_language() or settings.LANGUAGE_CODE,
            answers=_body(request).get("tickets"),
        )
        body = {"order": s.order_data(order, order.sold_tickets, request=request)}
        if order.status == OrderStatus.PENDING and order.payment_method == PaymentMethod.CARD:
            body["payment_url"] = card_provider().start(order, request=request)
        return Response(body, status=status.HTTP_201_CREATED)


# -- orders ---------------------------------------------------------------------------------

TOKEN = OpenApiParameter("token", str, required=True, description="The order's token.")


def _order_tickets(order) -> list:
    tickets = list(selectors.order_tickets(order))
    prefetch_related_objects(tickets, "seat")
    for ticket in tickets:
        ticket.order = order
    return tickets


class OrderView(ShopView, APIView):
    @extend_schema(parameters=[TOKEN], responses=s.OrderOut)
    def get(self, request, office_slug, code):
        """The buyer's order: 404 without its token, exactly as for no order at all."""
        order = self.buyer_order()
        order.office = self.office()
        return Response(s.order_data(order, _order_tickets(order), request=request))


class TicketPdfView(ShopView, APIView):
    @extend_schema(parameters=[TOKEN], responses={(200, "application/pdf"): bytes})
    def get(self, request, office_slug, code, ticket_id):
        """One ticket of a paid order as a PDF, its QR code holding the ticket's secret."""
        order = self.buyer_order()
        order.office = self.office()
        ticket = next((t for t in _order_tickets(order) if str(t.pk) == str(ticket_id)), None)
        if ticket is None or ticket.cancelled or order.status != OrderStatus.PAID:
            raise NotFound()
        response = HttpResponse(pdf.ticket_pdf(ticket), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{pdf.ticket_filename(ticket)}"'
        return response


# -- a guest's invitation -------------------------------------------------------------------


class GuestScoped(ShopView):
    """Under guests/<guest_key>/: the guest's own invitation. A wrong key, or the key
    under another office, answers the 404 of an address that names nothing, word for
    word; and nothing is cached, the key being in the address."""

    def guest(self):
        return services.guest_for_key(office=self.office(), key=self.kwargs["guest_key"])

    def handle_exception(self, exc):
        if isinstance(exc, NotFound):
            return api_not_found(self.request._request)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    def invitation(self, guest) -> Response:
        closed = guest_closed(guest=guest)
        cancelled = closed is not None and closed.code == "event_cancelled"
        tickets = [] if cancelled else guest_tickets(guest)
        _with_forms([guest.tariff])
        body = s.guest_data(
            guest, tickets, closed=closed, key=self.kwargs["guest_key"], request=self.request
        )
        return Response(body)


class GuestView(GuestScoped, APIView):
    @extend_schema(responses=s.GuestOut)
    def get(self, request, office_slug, guest_key):
        """The guest's invitation: the event, date, zone and tariff, the places offered
        and accepted, the form asked per place, and the guest's tickets with their PDF."""
        return self.invitation(self.guest())


class GuestAnswerView(GuestScoped, APIView):
    @extend_schema(
        request=s.GuestAnswerIn,
        responses={
            200: s.GuestOut,
            400: OpenApiResponse(
                description=_(
                    "`places` out of range, or `answers_invalid` naming each place and "
                    "field at fault (`tickets.1.answers.7`); nothing changes."
                )
            ),
            409: OpenApiResponse(
                description=_(
                    "`sold_out` (with `available`), `event_cancelled` or `answers_closed`."
                )
            ),
        },
    )
    def post(self, request, office_slug, guest_key):
        """Accepts (taking `places` free seats, the form answered once per place) or
        declines the invitation; accepting fewer places, or declining, frees the others.
        Accepting emails the guest their tickets. The same answer twice changes nothing."""
        guest = self.guest()
        data = _valid(s.GuestAnswerIn, _body(request))
        accept, places, answers = data["accept"], data.get("places"), None
        if "tickets" in data:
            answers = [entry["answers"] for entry in data["tickets"]]
        if places is None:
            places = len(answers) if answers else (guest.places_accepted or guest.places)
        services.guest_answer(
            guest=guest,
            accept=accept,
            places=places if accept else None,
            answers=answers if accept else None,
        )
        return self.invitation(self.guest())


class GuestTicketPdfView(GuestScoped, APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, office_slug, guest_key, ticket_id):
        """One of the guest's valid tickets as a PDF, its QR code holding the secret."""
        ticket = next((t for t in guest_tickets(self.guest()) if t.pk == ticket_id), None)
        if ticket is None:
            raise NotFound()
        response = HttpResponse(pdf.ticket_pdf(ticket), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{pdf.ticket_filename(ticket)}"'
        return response
