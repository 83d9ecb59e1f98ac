"""URLs of the Domains API, included under /api/v1/organisations/<org_id>/domains/ in the
"api" namespace. Domain names in URLs are matched by the `domain_name` converter."""

from django.urls import path, register_converter
from django.urls.converters import get_converters

from . import views as v


class DomainNameConverter:
    """Letters, digits, hyphens and dots; the selectors normalise case and a final dot."""

    regex = r"[A-Za-z0-9.-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


if "domain_name" not in get_converters():
    register_converter(DomainNameConverter, "domain_name")

domain = "<domain_name:name>/"

urlpatterns = [
    path("", v.DomainsView.as_view(), name="domain-list"),
    path(domain, v.DomainView.as_view(), name="domain-detail"),
    path(domain + "records/", v.RRsetsView.as_view(), name="domain-rrset-list"),
    path(domain + "synonyms/", v.SynonymsView.as_view(), name="domain-synonym-list"),
    path(
        domain + "synonyms/<domain_name:synonym>/",
        v.SynonymView.as_view(),
        name="domain-synonym-detail",
    ),
    path(domain + "zone-file/", v.ZoneFileView.as_view(), name="domain-zone-file"),
    path(domain + "mail-records/", v.MailRecordsView.as_view(), name="domain-mail-records"),
    path(
        domain + "mail-records/dkim/rotate/",
        v.DkimRotateView.as_view(),
        name="domain-dkim-rotate",
    ),
    path(domain + "checks/", v.MailChecksView.as_view(), name="domain-check-list"),
    path(domain + "checks/fix/", v.MailFixesView.as_view(), name="domain-check-fix"),
]
