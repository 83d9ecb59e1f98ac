"""The public shop's API, under /api/v1/shop/<office slug>/ (no account, rate limited)."""

urlpatterns = []
