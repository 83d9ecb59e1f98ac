"""URLs of the Ticket office API, included under /api/v1/organisations/<org_id>/ticketing/
in the "api" namespace. A nested object is created under its parent and then lives at
its own flat URL: `POST offices/3/forms/` creates form 7, which is then at `forms/7/`."""

from django.urls import path

from . import guests, seats
from . import views as v

office = "offices/<int:office_id>/"
form = "forms/<int:form_id>/"
event = "events/<int:event_id>/"
date = "dates/<int:date_id>/"
zone = "zones/<int:zone_id>/"
order = "orders/<int:order_id>/"
checkin_list = "checkin-lists/<int:checkin_list_id>/"

urlpatterns = [
    path("offices/", v.OfficesView.as_view(), name="ticketing-office-list"),
    path(office, v.OfficeView.as_view(), name="ticketing-office-detail"),
    path(office + "forms/", v.FormsView.as_view(), name="ticketing-form-list"),
    path(form, v.FormView.as_view(), name="ticketing-form-detail"),
    path(form + "fields/", v.FieldsView.as_view(), name="ticketing-field-list"),
    path("fields/<int:field_id>/", v.FieldView.as_view(), name="ticketing-field-detail"),
    path(office + "events/", v.EventsView.as_view(), name="ticketing-event-list"),
    path(event, v.EventView.as_view(), name="ticketing-event-detail"),
    path(event + "dates/", v.DatesView.as_view(), name="ticketing-date-list"),
    path(date, v.DateView.as_view(), name="ticketing-date-detail"),
    path(date + "cancel/", v.DateCancelView.as_view(), name="ticketing-date-cancel"),
    path(date + "zones/", v.ZonesView.as_view(), name="ticketing-zone-list"),
    path(zone, v.ZoneView.as_view(), name="ticketing-zone-detail"),
    path(zone + "seats/", seats.ZoneSeatsView.as_view(), name="ticketing-zone-seats"),
    path(zone + "tariffs/", v.TariffsView.as_view(), name="ticketing-tariff-list"),
    path("tariffs/<int:tariff_id>/", v.TariffView.as_view(), name="ticketing-tariff-detail"),
    path(office + "orders/", v.OrdersView.as_view(), name="ticketing-order-list"),
    path(order, v.OrderView.as_view(), name="ticketing-order-detail"),
    path(order + "mark-paid/", v.OrderMarkPaidView.as_view(), name="ticketing-order-mark-paid"),
    path(order + "cancel/", v.OrderCancelView.as_view(), name="ticketing-order-cancel"),
    path(order + "resend/", v.OrderResendView.as_view(), name="ticketing-order-resend"),
    path(
        event + "checkin-lists/", v.CheckinListsView.as_view(), name="ticketing-checkin-list-list"
    ),
    path(checkin_list, v.CheckinListView.as_view(), name="ticketing-checkin-list-detail"),
    path(event + "guests/", guests.GuestsView.as_view(), name="ticketing-guest-list"),
    path(
        event + "guests/imports/",
        guests.GuestImportsView.as_view(),
        name="ticketing-guest-import-list",
    ),
    path("guests/<int:guest_id>/", guests.GuestView.as_view(), name="ticketing-guest-detail"),
    path(
        event + "guests/invitations/",
        guests.GuestInvitationsView.as_view(),
        name="ticketing-guest-invitations",
    ),
    path(
        event + "guests/messages/<str:kind>/",
        guests.GuestMessageView.as_view(),
        name="ticketing-guest-message",
    ),
    path(
        event + "guests/reminders/",
        guests.GuestRemindersView.as_view(),
        name="ticketing-guest-reminder-list",
    ),
    path(
        "guest-reminders/<int:reminder_id>/",
        guests.GuestReminderView.as_view(),
        name="ticketing-guest-reminder-detail",
    ),
    path(checkin_list + "scans/", v.ScansView.as_view(), name="ticketing-scan-list"),
    path(checkin_list + "scans/upload/", v.ScanUploadView.as_view(), name="ticketing-scan-upload"),
    path(
        checkin_list + "offline-data/",
        v.OfflineDataView.as_view(),
        name="ticketing-checkin-offline-data",
    ),
    path(event + "exports/", v.EventExportsView.as_view(), name="ticketing-export-list"),
]
