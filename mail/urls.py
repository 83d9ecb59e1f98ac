"""URLs of the Service Mail pages, under `/o/<org_id>/mail/` (see panel/urls.py)."""

from django.urls import path, register_converter

from . import views as v
from .views.autoconfig import address_profile
from .views.jobs import address_backup

app_name = "mail"


class GenericKind:
    regex = "no-reply|catch-all"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(GenericKind, "generic_kind")

service = "<int:service_id>/"
address = service + "addresses/<str:local_part>/"

urlpatterns = [
    path("", v.service_list, name="service-list"),
    path(service, v.service_detail, name="service-detail"),
    path(service + "delete/", v.service_delete, name="service-delete"),
    path(service + "plan/", v.service_plan, name="service-plan"),
    path(service + "quota/", v.service_quota, name="service-quota"),
    path(service + "defaults/", v.service_defaults, name="service-defaults"),
    path(service + "domains/add/", v.extra_domain_add, name="extra-domain-add"),
    path(service + "verify/", v.service_verify, name="service-verify"),
    path(
        service + "domains/<int:extra_id>/remove/",
        v.extra_domain_remove,
        name="extra-domain-remove",
    ),
    path(service + "signatures/add/", v.signature_create, name="signature-create"),
    path(
        service + "signatures/<int:signature_id>/delete/",
        v.signature_delete,
        name="signature-delete",
    ),
    path(service + "new-address/", v.address_create, name="address-create"),
    path(
        service + "new-address/<generic_kind:kind>/",
        v.generic_address_create,
        name="address-generic-create",
    ),
    path(service + "new-addresses/csv/", v.csv_import, name="address-csv-import"),
    path(service + "new-addresses/csv/template/", v.csv_template, name="address-csv-template"),
    path(service + "jobs/<int:job_id>/", v.service_job, name="service-job"),
    path(service + "delete-addresses/", v.address_delete_many, name="address-delete-many"),
    path(service + "redirects/new/", v.redirect_address_create, name="redirect-create"),
    path(
        service + "redirects/<int:redirect_id>/delete/",
        v.redirect_address_delete,
        name="redirect-delete",
    ),
    path(address, v.address_detail, name="address-detail"),
    path(address + "profile.mobileconfig", address_profile, name="address-profile"),
    path(address + "delete/", v.address_delete, name="address-delete"),
    path(address + "aliases/add/", v.alias_add, name="alias-add"),
    path(address + "aliases/<int:alias_id>/remove/", v.alias_remove, name="alias-remove"),
    path(address + "redirection/", v.redirection_set, name="address-redirection"),
    path(address + "responder/", v.responder_set, name="address-responder"),
    path(address + "password/", v.password_set, name="address-password"),
    path(address + "signature/", v.signature_set, name="address-signature"),
    path(address + "backups/new/", address_backup, name="address-backup"),
    path(address + "backups/<str:taken_on>/restore/", v.address_restore, name="address-restore"),
    path(address + "import/", v.address_import, name="address-import"),
    path(address + "mail-log/", v.address_mail_log, name="address-mail-log"),
    path(address + "jobs/<int:job_id>/", v.address_job, name="address-job"),
]
