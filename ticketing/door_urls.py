"""URLs of the door devices' scanner, under `/door/` (see panel/urls.py and
views/door.py): reached only through a device link, never with an account."""

from django.urls import path

from .views import door

app_name = "door"

urlpatterns = [
    path("", door.door_home, name="home"),
    path("lists/<int:checkin_list_id>/", door.door_scanner, name="scanner"),
    path("lists/<int:checkin_list_id>/scans/", door.door_scan, name="scan"),
    path("lists/<int:checkin_list_id>/search/", door.door_search, name="search"),
    path("lists/<int:checkin_list_id>/offline/", door.door_offline, name="offline"),
    path("lists/<int:checkin_list_id>/upload/", door.door_upload, name="upload"),
    path("<str:key>/", door.door_open, name="open"),
]
