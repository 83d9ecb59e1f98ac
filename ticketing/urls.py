"""URLs of the Ticket office pages, under `/o/<org_id>/ticketing/` (see panel/urls.py):
offices (views/offices.py), their forms (views/forms.py), orders and exports
(views/orders.py), sales charts (views/sales.py),
events and dates (views/events.py), check-in lists and the door's scanner (views/checkin.py),
guest lists (views/guests.py), their invitations and reminders (views/invitations.py)."""

from .views import checkin, events, forms, guests, invitations, offices, orders, sales

app_name = "ticketing"

urlpatterns = [
    *offices.urlpatterns,
    *forms.urlpatterns,
    *orders.urlpatterns,
    *sales.urlpatterns,
    *events.urlpatterns,
    *checkin.urlpatterns,
    *guests.urlpatterns,
    *invitations.urlpatterns,
]
