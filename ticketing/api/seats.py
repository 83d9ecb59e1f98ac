"""The seating plan of a zone in the Ticket office API: `zones/{id}/seats/` answers the
plan with each seat's state, and PUT draws it again from a text layout or a list of
seats (services/seats.py holds the rules: seats held or sold stay, a numbered zone's
capacity is its seats on sale)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.api.base import StrictCharField
from panel.api.views import _valid

from ..services.seats import (
    MAX_COLUMNS,
    MAX_LINES,
    MAX_SEATS,
    layout_text,
    seat_plan,
    seat_plan_set,
)
from .views import TicketingScoped


class SeatIn(serializers.Serializer):
    row = StrictCharField(max_length=8)
    number = StrictCharField(max_length=8)
    x = serializers.IntegerField(min_value=1, max_value=MAX_COLUMNS, help_text=_("Column."))
    y = serializers.IntegerField(min_value=1, max_value=MAX_LINES, help_text=_("Line."))
    on_sale = serializers.BooleanField(required=False, default=True)


class SeatPlanIn(serializers.Serializer):
    layout = StrictCharField(
        required=False,
        max_length=100_000,
        help_text=_('The plan as text, one line per row: "A: 1-10, _, 11-20, [21-22]".'),
    )
    seats = SeatIn(
        many=True, required=False, max_length=MAX_SEATS, help_text=_("Or the plan as a list.")
    )
    numbered = serializers.BooleanField(
        required=False, help_text=_("Switch the zone to numbered seats, or back.")
    )


class SeatOut(serializers.Serializer):
    id = serializers.IntegerField()
    row = serializers.CharField()
    number = serializers.CharField()
    label = serializers.CharField()
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    on_sale = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["free", "held", "sold", "off_sale"])


class SeatCountsOut(serializers.Serializer):
    free = serializers.IntegerField()
    held = serializers.IntegerField(help_text=_("In baskets and unpaid orders."))
    sold = serializers.IntegerField()
    off_sale = serializers.IntegerField()


class SeatPlanOut(serializers.Serializer):
    zone = serializers.IntegerField()
    numbered = serializers.BooleanField()
    capacity = serializers.IntegerField()
    layout = serializers.CharField(
        allow_null=True, help_text=_("The plan as text, or null when text cannot draw it.")
    )
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    counts = SeatCountsOut()
    seats = SeatOut(many=True)


def plan_data(zone) -> dict:
    plan = seat_plan(zone)
    return SeatPlanOut(
        {
            "zone": zone.pk, "numbered": zone.numbered, "capacity": zone.capacity,
            "layout": layout_text(plan.seats) if plan.seats else "",
            "width": plan.width, "height": plan.height, "counts": plan.counts,
            "seats": plan.seats,
        }
    ).data  # fmt: skip


class ZoneSeatsView(TicketingScoped, APIView):
    """A zone's seating plan and what each seat is: free, held, sold or off sale."""

    @extend_schema(responses=SeatPlanOut)
    def get(self, request, org_id, zone_id):
        return Response(plan_data(self.found("zone")))

    @extend_schema(
        request=SeatPlanIn,
        responses={
            200: SeatPlanOut,
            409: OpenApiResponse(
                description=_(
                    "`seats_taken`: a seat removed or taken out of sale is held or sold; "
                    "`has_tickets`: the zone switches to or from numbered seats only "
                    "while it has no tickets."
                )
            ),
        },
        description=_(
            "Draws the plan again from `layout` or `seats` (seats keep their id by row and "
            "number) and/or switches the zone with `numbered`. A numbered zone's capacity "
            "is its seats on sale. 400 `layout_invalid` lists every line at fault."
        ),
    )
    def put(self, request, org_id, zone_id):
        zone = self.managed("zone")
        data = _valid(SeatPlanIn, request.data)
        seats = [dict(seat) for seat in data["seats"]] if "seats" in data else None
        zone = seat_plan_set(
            access=self.access,
            zone=zone,
            layout=data.get("layout"),
            seats=seats,
            numbered=data.get("numbered"),
        )
        return Response(plan_data(zone))
