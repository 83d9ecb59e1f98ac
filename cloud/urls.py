"""URLs of the Public Cloud pages, under `/o/<org_id>/cloud/` (see panel/urls.py)."""

from django.urls import path

from . import views as v

app_name = "cloud"

urlpatterns = [
    path("", v.project_list, name="project-list"),
]
