"""The guest lists of the Ticket office API: an event's guests, one guest, and a CSV file
of guests checked whole and then added by a Job. Kept apart from views.py so the guest
manager grows here; the lookups and rules are those of ticketing/services/guests.py."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from panel.access import Capability
from panel.api.base import DB_INT_MAX, StrictCharField
from panel.api.serializers import JobAcceptedOut, JobOut
from panel.api.views import _valid

from .. import services
from ..models import MAX_GUEST_PLACES, Guest, GuestMessageKind, GuestReminder, GuestStatus
from ..services import invitations
from ..services.guests import MAX_FILE_BYTES, decode_guest_csv
from .views import Detail, TicketingScoped

# -- shapes -----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class GuestStatusField(serializers.ChoiceField):
    """`invited`, `accepted` or `declined`. Shown as a plain string in the schema until
    GuestStatusEnum is named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (a second
    `status` enum collides with the others' names)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("invited, accepted or declined."))
        super().__init__(choices=GuestStatus.choices, **kwargs)


class TicketGuestIn(serializers.Serializer):
    name = StrictCharField(max_length=200)
    email = StrictCharField(max_length=254)
    company = StrictCharField(max_length=200, required=False, allow_blank=True)
    places = serializers.IntegerField(
        min_value=1,
        max_value=MAX_GUEST_PLACES,
        required=False,
        help_text=_("The free seats offered (1 when not given)."),
    )
    tariff = serializers.IntegerField(
        min_value=1,
        max_value=DB_INT_MAX,
        help_text=_("The id of one of the event's tariffs: the zone the seats are in."),
    )
    extra = serializers.DictField(
        child=StrictCharField(max_length=1000, allow_blank=True),
        required=False,
        help_text=_("Custom columns of the guest list, by name."),
    )


class TicketGuestFilterIn(serializers.Serializer):
    status = GuestStatusField(required=False, allow_blank=True)
    search = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text=_("Part of the guest's name or email."),
    )


class TicketGuestOut(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.IntegerField(source="event_id")
    name = serializers.CharField()
    email = serializers.EmailField()
    company = serializers.CharField()
    places = serializers.IntegerField(help_text=_("The free seats offered."))
    tariff = serializers.IntegerField(source="tariff_id")
    zone = serializers.IntegerField(source="tariff.zone_id")
    status = GuestStatusField()
    places_accepted = serializers.IntegerField()
    tickets = serializers.IntegerField(
        source="places_accepted", help_text=_("Free tickets issued, counted in the zone.")
    )
    extra = serializers.DictField(child=serializers.CharField())
    invited_at = serializers.DateTimeField(allow_null=True)
    reminded_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class TicketGuestCreatedOut(TicketGuestOut):
    link = serializers.URLField(
        help_text=_(
            "The guest's personal page to accept or decline. Shown this once: only its "
            "hash is kept."
        )
    )


class TicketGuestImportIn(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=_(
            "A CSV file in UTF-8 whose header names the columns: name, email, tariff (its "
            "id or name), optionally company and places; other columns are kept by name."
        ),
    )


class TicketGuestCsvProblemOut(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("0 for a problem of the whole file."))
    column = serializers.CharField(help_text=_("A for the first column, or empty."))
    code = serializers.CharField()
    detail = serializers.CharField()


class TicketGuestCsvInvalidOut(serializers.Serializer):
    """The error envelope of a guest list that cannot be imported, with every problem."""

    code = serializers.CharField(help_text="csv_invalid")
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    errors = TicketGuestCsvProblemOut(many=True, required=False)


# -- views ------------------------------------------------------------------------------------


class GuestScoped(TicketingScoped):
    """`found(kind)` and `managed(kind)` for the guest or the reminder named in the URL."""

    LOOKUPS = {
        "guest": lambda access, pk: services.guest_for(access=access, guest_id=pk),
        "reminder": lambda access, pk: invitations.reminder_for(access=access, reminder_id=pk),
    }

    def found(self, kind: str):
        if kind not in self.LOOKUPS:
            return super().found(kind)
        cache = self.__dict__.setdefault("_found", {})
        if kind not in cache:
            cache[kind] = self.LOOKUPS[kind](self.access, self.kwargs[f"{kind}_id"])
        return cache[kind]

    def managed(self, kind: str):
        if kind not in self.LOOKUPS:
            return super().managed(kind)
        found = self.found(kind)
        self.access.require(Capability.MANAGE_PRODUCT, found.event.office)
        return found


def _link(request, guest: Guest) -> str:
    path = reverse("shop:guest", args=[guest.event.office.slug, guest.link_key])
    return request.build_absolute_uri(path)


class GuestsView(GuestScoped, generics.ListAPIView):
    """The guests of an event by name, filtered by status or a search; POST adds one."""

    serializer_class = TicketGuestOut
    queryset = Guest.objects.none()  # schema only

    @extend_schema(parameters=[TicketGuestFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        event = self.found("event")
        filters = _valid(TicketGuestFilterIn, self.request.query_params)
        return services.guest_list(event=event, **filters)

    @extend_schema(
        request=TicketGuestIn,
        responses={201: TicketGuestCreatedOut},
        description=_(
            "Adds a guest, invited to free seats of one of the event's tariffs. The answer "
            "carries the guest's personal link, this once."
        ),
    )
    def post(self, request, org_id, event_id):
        event = self.managed("event")
        data = _valid(TicketGuestIn, request.data)
        guest = services.guest_create(access=self.access, event=event, **data)
        guest.link = _link(request, guest)
        return Response(TicketGuestCreatedOut(guest).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses=TicketGuestOut),
    patch=extend_schema(
        request=TicketGuestIn(partial=True),
        responses=TicketGuestOut,
        description=_(
            "Changes a guest. Fewer places than they accepted, or another tariff once they "
            "have seats, is refused."
        ),
    ),
    delete=extend_schema(
        responses={204: None},
        description=_("Removes the guest; their seats are free again."),
    ),
)
class GuestView(GuestScoped, Detail):
    """One guest of an event, with their answer."""

    kind = "guest"
    patch_class = TicketGuestIn

    def render(self, guest):
        return TicketGuestOut(guest).data

    def update(self, guest, changes):
        return services.guest_update(access=self.access, guest=guest, **changes)

    def remove(self, guest):
        services.guest_delete(access=self.access, guest=guest)


class GuestImportsView(GuestScoped, generics.GenericAPIView):
    """A guest list from a CSV file: checked whole now, added by a Job."""

    parser_classes = [MultiPartParser]
    serializer_class = TicketGuestImportIn

    @extend_schema(
        request=TicketGuestImportIn,
        responses={
            202: JobAcceptedOut,
            400: OpenApiResponse(
                TicketGuestCsvInvalidOut,
                description=_(
                    "`csv_invalid`: every problem of the file by line and column; nothing "
                    "is created."
                ),
            ),
        },
        description=_(
            "Checks the whole guest list, then starts the Job that adds every guest or none "
            "(its result: `created`). An email twice in the file, or already on the list, "
            "is named by line."
        ),
    )
    def post(self, request, org_id, event_id):
        event = self.managed("event")
        upload = _valid(TicketGuestImportIn, request.data)["file"]
        text = decode_guest_csv(upload.read(MAX_FILE_BYTES + 1))
        job = services.guests_import_start(
            access=self.access, event=event, text=text, file_name=upload.name or ""
        )
        return Response(
            {"job": JobOut(job, context={"request": request}).data},
            status=status.HTTP_202_ACCEPTED,
        )


# -- invitations and reminders ------------------------------------------------------------------


class TicketGuestInvitationsIn(serializers.Serializer):
    guests = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=DB_INT_MAX),
        required=False,
        max_length=5000,
        help_text=_("Ids of the event's guests; every guest not invited yet when not given."),
    )
    again = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("Write again to guests already invited."),
    )


class TicketGuestMessageIn(serializers.Serializer):
    subject = StrictCharField(max_length=invitations.MAX_SUBJECT)
    body = StrictCharField(max_length=invitations.MAX_BODY)


class TicketGuestMessageOut(serializers.Serializer):
    kind = serializers.CharField(help_text=_("invitation or reminder."))
    subject = serializers.CharField()
    body = serializers.CharField()
    custom = serializers.SerializerMethodField(
        help_text=_("False while the panel's default text is used.")
    )
    variables = serializers.SerializerMethodField(
        help_text=_("The variables the texts may use, written {{ name }}.")
    )

    def get_custom(self, message) -> bool:
        return message.pk is not None

    def get_variables(self, message) -> list[str]:
        return list(invitations.VARIABLES)


class TicketGuestReminderIn(serializers.Serializer):
    send_at = serializers.DateTimeField(
        help_text=_("When the guests invited and still silent are reminded.")
    )


class TicketGuestReminderOut(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.IntegerField(source="event_id")
    send_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    job = serializers.IntegerField(source="job_id", allow_null=True)
    created_at = serializers.DateTimeField()


class GuestInvitationsView(GuestScoped, generics.GenericAPIView):
    """Emails the event's invitation to its guests, as a Job."""

    serializer_class = TicketGuestInvitationsIn

    @extend_schema(
        request=TicketGuestInvitationsIn,
        responses={202: JobAcceptedOut},
        description=_(
            "Starts the Job that emails the invitation, with each guest's personal link, "
            "once per guest (its result: `sent`). 409 `nobody_to_invite` when every guest "
            "chosen was invited already."
        ),
    )
    def post(self, request, org_id, event_id):
        event = self.managed("event")
        data = _valid(TicketGuestInvitationsIn, request.data)
        job = invitations.invitations_start(
            access=self.access, event=event, guests=data.get("guests"), again=data["again"]
        )
        return Response(
            {"job": JobOut(job, context={"request": request}).data},
            status=status.HTTP_202_ACCEPTED,
        )


class GuestMessageView(GuestScoped, generics.GenericAPIView):
    """The text of the event's invitation or reminder email."""

    serializer_class = TicketGuestMessageOut

    def _kind(self):
        from panel.errors import NotFound

        kind = self.kwargs["kind"]
        if kind not in GuestMessageKind.values:
            raise NotFound()
        return kind

    def get(self, request, org_id, event_id, kind):
        event = self.found("event")
        message = invitations.guest_message(event=event, kind=self._kind())
        return Response(TicketGuestMessageOut(message).data)

    @extend_schema(
        request=TicketGuestMessageIn,
        responses=TicketGuestMessageOut,
        description=_(
            "Saves the text. An unknown variable is refused, naming it; the message must "
            "carry {{ link }}."
        ),
    )
    def put(self, request, org_id, event_id, kind):
        event = self.managed("event")
        kind = self._kind()
        data = _valid(TicketGuestMessageIn, request.data)
        message = invitations.guest_message_save(access=self.access, event=event, kind=kind, **data)
        return Response(TicketGuestMessageOut(message).data)

    @extend_schema(
        request=None,
        responses=TicketGuestMessageOut,
        description=_("Goes back to the panel's default text, in the language of each email."),
    )
    def delete(self, request, org_id, event_id, kind):
        event = self.managed("event")
        message = invitations.guest_message_reset(
            access=self.access, event=event, kind=self._kind()
        )
        return Response(TicketGuestMessageOut(message).data)


class GuestRemindersView(GuestScoped, generics.ListAPIView):
    """The reminders planned for an event's guests; POST plans one."""

    serializer_class = TicketGuestReminderOut
    queryset = GuestReminder.objects.none()  # schema only

    def get_queryset(self):
        return self.found("event").guest_reminders.order_by("send_at", "pk")

    @extend_schema(request=TicketGuestReminderIn, responses={201: TicketGuestReminderOut})
    def post(self, request, org_id, event_id):
        event = self.managed("event")
        data = _valid(TicketGuestReminderIn, request.data)
        reminder = invitations.reminder_create(access=self.access, event=event, **data)
        return Response(TicketGuestReminderOut(reminder).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    delete=extend_schema(
        responses={204: None},
        description=_("Cancels a planned reminder; one already sent answers 409."),
    ),
)
class GuestReminderView(GuestScoped, generics.GenericAPIView):
    """One planned reminder."""

    serializer_class = TicketGuestReminderOut

    def get(self, request, org_id, reminder_id):
        return Response(TicketGuestReminderOut(self.found("reminder")).data)

    def delete(self, request, org_id, reminder_id):
        invitations.reminder_delete(access=self.access, reminder=self.managed("reminder"))
        return Response(status=status.HTTP_204_NO_CONTENT)
