"""Root URLs: the Manager UI, accounts (allauth), the API and i18n."""

from django.contrib import admin
from django.urls import include, path, re_path

from .health import healthz
from .views.errors import api_not_found

urlpatterns = [
    path("", include("panel.ui_urls")),
    path("o/<int:org_id>/mail/", include("mail.urls")),
    path("o/<int:org_id>/domains/", include("domains.urls")),
    path("o/<int:org_id>/ticketing/", include("ticketing.urls")),
    path("shop/", include("ticketing.shop.urls")),  # the ticket offices' public shops
    path("door/", include("ticketing.door_urls")),  # door phones opened by a device link
    path("ticketing/webhooks/", include("ticketing.webhook_urls")),
    path("o/<int:org_id>/newsletter/", include("newsletter.urls")),
    path("n/", include("newsletter.public_urls")),  # newsletter forms and links, signed
    path("o/<int:org_id>/cloud/", include("cloud.urls")),
    path("", include("mail.autoconfig_urls")),  # mail programs: autoconfig, autodiscover
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(("panel.api.urls", "api"), namespace="api")),
    # Any other path under /api/, /api/v1/ itself included, is the API's JSON 404 for every
    # method, also under DEBUG, where Django would answer its HTML debug page (or, for a
    # POST without its final slash, raise).
    re_path(r"^api/.*$", api_not_found, name="api-not-found"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
]

handler400 = "panel.views.errors.bad_request"
handler403 = "panel.views.errors.permission_denied"
handler404 = "panel.views.errors.page_not_found"
handler500 = "panel.views.errors.server_error"
