"""Public newsletter pages under `/n/` (see panel/urls.py), reached only through signed
links: a list's subscription form and its confirmation, a contact's preferences and
unsubscribe pages (views/public.py), a sender address's verification
(views/senders.py), and the open pixel and tracked links of campaign emails
(views/tracking.py)."""

from .views import public, senders, tracking

app_name = "newsletter_public"

urlpatterns = [
    *public.urlpatterns,
    *senders.public_urlpatterns,
    *tracking.urlpatterns,
]
