"""URLs of the Service Mail API, included under /api/v1/organisations/<org_id>/mail/ in
the "api" namespace."""

from django.urls import path

from . import views as v

service = "services/<int:service_id>/"
address = service + "addresses/<str:local_part>/"

urlpatterns = [
    path("services/", v.ServicesView.as_view(), name="mail-service-list"),
    path(service, v.ServiceView.as_view(), name="mail-service-detail"),
    path(service + "extra-domains/", v.ExtraDomainsView.as_view(), name="mail-extra-domain-list"),
    path(service + "verification/", v.VerificationView.as_view(), name="mail-verification"),
    path(
        service + "extra-domains/<str:domain>/",
        v.ExtraDomainView.as_view(),
        name="mail-extra-domain-detail",
    ),
    path(service + "addresses/", v.AddressesView.as_view(), name="mail-address-list"),
    # Before the address URL, which it shadows; the view still serves an address "delete".
    path(
        service + "addresses/delete/",
        v.AddressBulkDeleteView.as_view(),
        {"local_part": "delete"},
        name="mail-address-bulk-delete",
    ),
    path(address, v.AddressView.as_view(), name="mail-address-detail"),
    path(address + "aliases/", v.AliasesView.as_view(), name="mail-alias-list"),
    path(address + "aliases/<str:alias>/", v.AliasView.as_view(), name="mail-alias-detail"),
    path(address + "redirection/", v.RedirectionView.as_view(), name="mail-redirection"),
    path(address + "responder/", v.ResponderView.as_view(), name="mail-responder"),
    path(address + "backups/", v.BackupsView.as_view(), name="mail-backup-list"),
    path(address + "restores/", v.RestoresView.as_view(), name="mail-restore-list"),
    path(address + "imports/", v.ImportsView.as_view(), name="mail-import-list"),
    path(address + "sending/", v.SendingView.as_view(), name="mail-sending"),
    path(address + "mail-log/", v.MailLogView.as_view(), name="mail-log-list"),
    path(service + "csv-template/", v.CsvTemplateView.as_view(), name="mail-csv-template"),
    path(service + "csv-imports/", v.CsvImportsView.as_view(), name="mail-csv-import-list"),
    path(
        service + "redirect-addresses/",
        v.RedirectAddressesView.as_view(),
        name="mail-redirect-address-list",
    ),
    path(
        service + "redirect-addresses/<str:local_part>/",
        v.RedirectAddressView.as_view(),
        name="mail-redirect-address-detail",
    ),
    path(
        service + "generic-addresses/",
        v.GenericAddressesView.as_view(),
        name="mail-generic-address-list",
    ),
    path(service + "signatures/", v.SignaturesView.as_view(), name="mail-signature-list"),
    path(
        service + "signatures/<int:signature_id>/",
        v.SignatureView.as_view(),
        name="mail-signature-detail",
    ),
]
