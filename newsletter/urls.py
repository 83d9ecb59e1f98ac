"""URLs of the Newsletter pages, under `/o/<org_id>/newsletter/` (see panel/urls.py)."""

from django.urls import path

from . import views as v

app_name = "newsletter"

urlpatterns = [
    path("", v.newsletter_list, name="newsletter-list"),
]
