"""URLs of the Ticket office pages, under `/o/<org_id>/ticketing/` (see panel/urls.py):
offices (views/offices.py), their forms (views/forms.py) and orders (views/orders.py),
events and dates (views/events.py), check-in lists and the door's scanner (views/checkin.py)."""

from .views import checkin, events, forms, offices, orders

app_name = "ticketing"

urlpatterns = [
    *offices.urlpatterns,
    *forms.urlpatterns,
    *orders.urlpatterns,
    *events.urlpatterns,
    *checkin.urlpatterns,
]
