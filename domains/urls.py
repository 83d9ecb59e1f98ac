"""URLs of the Domains pages, under `/o/<org_id>/domains/` (see panel/urls.py)."""

from django.urls import path

from . import views as v

app_name = "domains"

domain = "<str:name>/"

urlpatterns = [
    path("", v.domain_list, name="domain-list"),
    path(domain, v.domain_detail, name="domain-detail"),
    path(domain + "delete/", v.domain_delete, name="domain-delete"),
    path(domain + "records/add/", v.record_add, name="record-add"),
    path(domain + "records/edit/", v.rrset_edit, name="rrset-edit"),
    path(domain + "records/delete/", v.rrset_delete, name="rrset-delete"),
    path(domain + "zone/export/", v.zone_export, name="zone-export"),
    path(domain + "zone/import/", v.zone_import, name="zone-import"),
    path(domain + "synonyms/add/", v.synonym_make, name="synonym-make"),
    path(domain + "dissociate/", v.synonym_dissociate, name="synonym-dissociate"),
    path(domain + "mail/use/", v.mail_use, name="mail-use"),
    path(domain + "mail/fixes/", v.mail_fixes, name="mail-fixes"),
    path(domain + "mail/checks/<str:check>/", v.mail_check, name="mail-check"),
    path(domain + "mail/dkim/rotate/", v.mail_dkim_rotate, name="mail-dkim-rotate"),
]
