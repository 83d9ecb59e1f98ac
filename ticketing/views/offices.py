"""Ticket office pages of the Manager. The product is not built yet: its page says what it
will do and leads back to what exists, and offers nothing that cannot be done."""

from django.shortcuts import render
from django.urls import path

from panel.mixins import organisation_view
from panel.products import kind_of


@organisation_view()
def office_list(request, access):
    return render(request, "ticketing/office_list.html", {"kind": kind_of("ticketing")})


urlpatterns = [
    path("", office_list, name="office-list"),
]
