"""URLs of the Newsletter pages, under `/o/<org_id>/newsletter/` (see panel/urls.py):
newsletters (views/newsletters.py), their lists, groups and fields (views/audience.py),
their contacts (views/contacts.py) and a list's CSV import and export
(views/transfers.py)."""

from .views import audience, campaigns, contacts, newsletters, reports, senders, transfers

app_name = "newsletter"

urlpatterns = [
    *newsletters.urlpatterns,
    *audience.urlpatterns,
    *contacts.urlpatterns,
    *transfers.urlpatterns,
    *senders.urlpatterns,
    *campaigns.urlpatterns,
    *reports.urlpatterns,
]
