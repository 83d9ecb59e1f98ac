"""The public shop's pages, under /shop/<office slug>/."""

app_name = "shop"

urlpatterns = []
