"""URLs of the Ticket office API, under /api/v1/organisations/<org_id>/ticketing/."""

urlpatterns = []
