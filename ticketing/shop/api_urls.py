"""The public shop's API, under /api/v1/shop/<office slug>/ (no account, rate limited),
in the "api" namespace."""

from django.urls import path

from . import api as v

basket = "baskets/<str:basket_key>/"
order = "orders/<str:code>/"
guest = "guests/<str:guest_key>/"

urlpatterns = [
    path("events/", v.EventsView.as_view(), name="shop-event-list"),
    path("events/<int:event_id>/", v.EventView.as_view(), name="shop-event-detail"),
    path("zones/<int:zone_id>/seats/", v.ZoneSeatsView.as_view(), name="shop-zone-seats"),
    path("baskets/", v.BasketsView.as_view(), name="shop-basket-list"),
    path(basket, v.BasketView.as_view(), name="shop-basket-detail"),
    path(basket + "answers/", v.BasketAnswersView.as_view(), name="shop-basket-answers"),
    path(basket + "checkout/", v.CheckoutView.as_view(), name="shop-basket-checkout"),
    path(order, v.OrderView.as_view(), name="shop-order-detail"),
    path(order + "tickets/<int:ticket_id>/pdf/", v.TicketPdfView.as_view(), name="shop-ticket-pdf"),
    path(guest, v.GuestView.as_view(), name="shop-guest-detail"),
    path(guest + "answer/", v.GuestAnswerView.as_view(), name="shop-guest-answer"),
    path(
        guest + "tickets/<int:ticket_id>/pdf/",
        v.GuestTicketPdfView.as_view(),
        name="shop-guest-ticket-pdf",
    ),
]
