"""Manager pages of events, their dates, zones and tariffs, and each date's live view."""

urlpatterns = []
