"""URLs of the Ticket office pages, under `/o/<org_id>/ticketing/` (see panel/urls.py)."""

from django.urls import path

from . import views as v

app_name = "ticketing"

urlpatterns = [
    path("", v.office_list, name="office-list"),
]
