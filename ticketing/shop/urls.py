"""The public shop's pages, under /shop/<office slug>/ (views.py). The order pages take
the buyer's `?token=...` from their email; the basket is known from the session."""

from django.urls import path

from . import guests, views

app_name = "shop"

urlpatterns = [
    path("<slug:office_slug>/", views.office_page, name="office"),
    path("<slug:office_slug>/events/<int:event_id>/", views.event_page, name="event"),
    path("<slug:office_slug>/events/<int:event_id>/image/", views.event_image, name="event-image"),
    path("<slug:office_slug>/basket/", views.basket_page, name="basket"),
    path("<slug:office_slug>/orders/<str:code>/", views.order_page, name="order-detail"),
    path("<slug:office_slug>/orders/<str:code>/pay/", views.order_pay, name="order-pay"),
    path(
        "<slug:office_slug>/orders/<str:code>/pay/start/",
        views.order_pay_start,
        name="order-pay-start",
    ),
    path(
        "<slug:office_slug>/orders/<str:code>/tickets/<int:ticket_id>/",
        views.ticket_pdf,
        name="ticket-pdf",
    ),
    path(
        "<slug:office_slug>/orders/<str:code>/tickets/<int:ticket_id>/answers/",
        views.ticket_answers,
        name="ticket-answers",
    ),
] + guests.urlpatterns
