"""URLs of the Ticket office pages, under `/o/<org_id>/ticketing/` (see panel/urls.py):
offices, forms and orders (views/offices.py), events and dates (views/events.py)."""

from .views import events, offices

app_name = "ticketing"

urlpatterns = [*offices.urlpatterns, *events.urlpatterns]
