"""Domains API views: look the domain up through domains.selectors, call a domains
service, answer. The services hold the rules and check the rights; the views ask the
same rights first so that every answer keeps the order 401, 404, 403, then 400."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.access import Capability
from panel.api.base import OrganisationScoped, confirm_name, confirm_name_parameter
from panel.api.errors import messages_of
from panel.api.parsers import SafeJSONParser
from panel.api.views import _valid
from panel.errors import InvalidInput, NotFound

from .. import selectors, services, zonefiles
from ..hooks import mail_records_or_404
from ..models import Domain
from ..renewal import domain_set_renewal
from . import serializers as s

DNS_SERVER_ERROR = OpenApiResponse(
    description=gettext_lazy(
        "`dns_server_error`: the DNS server refused the change or could not be reached; "
        "nothing was changed."
    )
)
RECORD_ERRORS = {
    400: OpenApiResponse(
        description=gettext_lazy(
            "`invalid_record`, under the field at fault: name, type, ttl or records.<n> "
            "(prefixed with rrsets.<i>. when several rrsets are sent)."
        )
    ),
    409: OpenApiResponse(
        description=gettext_lazy(
            "`cname_conflict`: a CNAME must be alone at its name and cannot be at the apex; "
            "`is_synonym`: a synonym has no records of its own."
        )
    ),
    502: DNS_SERVER_ERROR,
}


def _domain_out(domain: Domain, access) -> dict:
    """A domain as the API shows it, re-read so that its synonyms are the visible ones."""
    return s.DomainOut(selectors.domain_for(access=access, name=domain.name)).data


class DomainScoped(OrganisationScoped):
    """Views under domains/<name>/: the domain is looked up once, 404 unless visible."""

    def domain(self) -> Domain:
        if not hasattr(self, "_domain"):
            self._domain = selectors.domain_for(access=self.access, name=self.kwargs["name"])
        return self._domain

    def managed_domain(self) -> Domain:
        """The domain, for acts that change it; checked before the input is, so bad input
        reveals nothing to someone who may not act (the services check again)."""
        domain = self.domain()
        self.access.require(Capability.MANAGE_PRODUCT, domain)
        return domain


# -- domains -------------------------------------------------------------------------------


class DomainsView(OrganisationScoped, generics.ListAPIView):
    """The domains the person sees through a grant (all of them for administrators)."""

    serializer_class = s.DomainOut
    queryset = Domain.objects.none()  # schema only
    write_capability = Capability.CHANGE_ORGANISATION

    def get_queryset(self):
        return selectors.domain_list(access=self.access)

    @extend_schema(
        request=s.DomainIn,
        responses={
            201: s.DomainOut,
            409: OpenApiResponse(
                description=gettext_lazy("`already_exists`: the domain is taken.")
            ),
            502: DNS_SERVER_ERROR,
        },
        description=gettext_lazy("Adds a domain with a zone served by our name servers."),
    )
    def post(self, request, org_id):
        data = _valid(s.DomainIn, request.data)
        domain = services.domain_add(access=self.access, **data)
        return Response(_domain_out(domain, self.access), status=status.HTTP_201_CREATED)


class DomainView(DomainScoped, APIView):
    """One domain: its registration, its renewal and the serial its zone serves."""

    @extend_schema(responses=s.DomainOut)
    def get(self, request, org_id, name):
        return Response(s.DomainOut(self.domain()).data)

    @extend_schema(
        request=s.DomainPatchIn,
        responses={
            200: s.DomainOut,
            409: OpenApiResponse(description=gettext_lazy("`domain_expired`: too late to choose.")),
        },
        description=gettext_lazy("Chooses whether the domain is renewed automatically or by hand."),
    )
    def patch(self, request, org_id, name):
        domain = self.managed_domain()
        data = _valid(s.DomainPatchIn, request.data)
        domain = domain_set_renewal(access=self.access, domain=domain, renewal=data["renewal"])
        return Response(_domain_out(domain, self.access))

    @extend_schema(
        request=s.DomainDeleteIn,
        parameters=[confirm_name_parameter(s.DomainDeleteIn)],
        responses={
            204: None,
            409: OpenApiResponse(
                description=gettext_lazy("`has_synonyms`: dissociate or delete its synonyms first.")
            ),
            502: DNS_SERVER_ERROR,
        },
        description=gettext_lazy(
            "Deletes the domain and its zone; an administrator act. "
            "Send `confirm_name` (the domain) in the body or the query string."
        ),
    )
    def delete(self, request, org_id, name):
        domain = self.managed_domain()
        self.access.require(Capability.CHANGE_ORGANISATION)
        confirm = confirm_name(request, s.DomainDeleteIn)
        services.domain_delete(access=self.access, domain=domain, confirm_name=confirm)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- records -------------------------------------------------------------------------------


def _changes(data) -> list:
    """The rrsets of a PATCH: a list, or {"rrsets": [...]}, each checked by RRsetIn before
    a service sees it, every problem at once (`rrsets.<n>.<field>` when there are several).
    Each must say its records, so that a change forgetting them does not delete the rrset."""
    if isinstance(data, dict) and "rrsets" in data:
        data = data["rrsets"]
    if not isinstance(data, list):
        raise InvalidInput(fields={"rrsets": [_("Send a list of rrsets.")]})
    problems, changes = {}, []
    for index, change in enumerate(data):
        prefix = f"rrsets.{index}." if len(data) > 1 else ""
        if not isinstance(change, dict):
            problems[prefix + "rrset"] = [_("Each rrset is an object with name, type and records.")]
            continue
        if "records" not in change:
            problems[prefix + "records"] = [_("Send the records; an empty list deletes the rrset.")]
            continue
        serializer = s.RRsetIn(data=change)
        if serializer.is_valid():
            changes.append(dict(serializer.validated_data))
        else:
            problems.update(
                {prefix + field: messages_of(errors) for field, errors in serializer.errors.items()}
            )
    if problems:
        raise InvalidInput(fields=problems)
    return changes


class RRsetsView(DomainScoped, APIView):
    """The records of a domain's zone, by name and type."""

    @extend_schema(
        responses=s.RRsetOut(many=True),
        description=gettext_lazy(
            "The zone's rrsets by name and type, without the SOA the panel keeps. A synonym "
            "shows the records it serves, its main domain's."
        ),
    )
    def get(self, request, org_id, name):
        return Response(s.RRsetOut(selectors.rrset_list(domain=self.domain()), many=True).data)

    @extend_schema(
        request=s.RRsetCreateIn,
        responses={
            201: s.RRsetOut,
            **RECORD_ERRORS,
            409: OpenApiResponse(
                description=gettext_lazy(
                    "`already_exists`: this name and type have records already (change them "
                    "with PATCH); `cname_conflict`; `is_synonym`."
                )
            ),
        },
        description=gettext_lazy("Creates the rrset of one name and type."),
    )
    def post(self, request, org_id, name):
        domain = self.managed_domain()
        data = _valid(s.RRsetCreateIn, request.data)
        created = services.rrset_create(access=self.access, domain=domain, change=data)
        return Response(s.RRsetOut(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.RRsetIn(many=True),
        responses={200: s.RRsetOut(many=True), **RECORD_ERRORS},
        description=gettext_lazy(
            'A list of rrsets (or {"rrsets": [...]}) applied all or none: each replaces the '
            "rrset of its name and type, and one with empty records deletes it. Answers the "
            "whole zone."
        ),
    )
    def patch(self, request, org_id, name):
        domain = self.managed_domain()
        services.rrsets_apply(access=self.access, domain=domain, changes=_changes(request.data))
        return Response(s.RRsetOut(selectors.rrset_list(domain=domain), many=True).data)


# -- synonyms ------------------------------------------------------------------------------


class SynonymsView(DomainScoped, APIView):
    """Domains that serve the records of the domain in the URL."""

    @extend_schema(
        request=s.SynonymIn,
        responses={
            201: s.DomainOut,
            409: OpenApiResponse(
                description=gettext_lazy(
                    "`is_synonym`: the domain in the URL is itself a synonym; "
                    "`has_synonyms`: the named domain has synonyms of its own."
                )
            ),
            502: DNS_SERVER_ERROR,
        },
        description=gettext_lazy(
            "Makes the named domain a synonym of the domain in the URL: it drops its own "
            "records and serves the main domain's from now on. Answers the synonym."
        ),
    )
    def post(self, request, org_id, name):
        main = self.managed_domain()
        data = _valid(s.SynonymIn, request.data)
        try:
            synonym = selectors.domain_for(access=self.access, name=data["name"])
        except NotFound:
            raise InvalidInput(fields={"name": [_("No domain of yours has this name.")]}) from None
        synonym = services.synonym_make(access=self.access, main=main, synonym=synonym)
        return Response(_domain_out(synonym, self.access), status=status.HTTP_201_CREATED)


class SynonymView(DomainScoped, APIView):
    """One synonym of the domain in the URL."""

    @extend_schema(
        responses={204: None, 502: DNS_SERVER_ERROR},
        description=gettext_lazy(
            "Dissociates a synonym: it keeps a copy of the records it serves, which no longer "
            "follows the main domain."
        ),
    )
    def delete(self, request, org_id, name, synonym):
        main = self.managed_domain()
        found = selectors.domain_for(access=self.access, name=synonym)
        if found.synonym_of_id != main.pk:
            raise NotFound()
        services.synonym_dissociate(access=self.access, synonym=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- zone files ----------------------------------------------------------------------------


class ZoneTextParser(BaseParser):
    """A zone file sent as the request body."""

    media_type = "text/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read().decode("utf-8", "replace")


class ZoneFileView(DomainScoped, APIView):
    """The zone as a BIND file: PUT takes it as the body (text/dns or text/plain), as a
    multipart `file`, or as JSON `{text}`."""

    parser_classes = [ZoneTextParser, SafeJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        responses={(200, "text/dns"): OpenApiTypes.STR},
        description=gettext_lazy(
            "The zone the DNS server serves, SOA first; a synonym's is its main domain's "
            "records under its own name."
        ),
    )
    def get(self, request, org_id, name):
        domain = self.domain()
        text = zonefiles.zone_export(access=self.access, domain=domain)
        response = HttpResponse(text, content_type="text/dns; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{domain.name}.zone"'
        return response

    @extend_schema(
        request=s.ZoneFileIn,
        responses={
            200: s.RRsetOut(many=True),
            400: OpenApiResponse(
                s.ZoneFileInvalidOut,
                description=gettext_lazy(
                    "`zone_file_invalid`: the line at fault (0 for the whole file); "
                    "nothing is changed."
                ),
            ),
            409: OpenApiResponse(description=gettext_lazy("`is_synonym`: no zone of its own.")),
            502: DNS_SERVER_ERROR,
        },
        description=gettext_lazy("Replaces the whole zone by a BIND file, all or nothing."),
    )
    def put(self, request, org_id, name):
        domain = self.managed_domain()
        if isinstance(request.data, str):  # the file itself, as text/dns or text/plain
            text = request.data
        elif "file" in request.FILES:
            text = request.FILES["file"].read().decode("utf-8", "replace")
        else:
            text = _valid(s.ZoneFileIn, request.data)["text"]
        zonefiles.zone_import(access=self.access, domain=domain, text=text)
        return Response(s.RRsetOut(selectors.rrset_list(domain=domain), many=True).data)


# -- mail DNS ------------------------------------------------------------------------------


class MailRecordsView(DomainScoped, APIView):
    """The records Service Mail needs at this domain."""

    @extend_schema(
        request=s.MailRecordsIn,
        responses={200: s.MailRecordOut(many=True), **RECORD_ERRORS},
        description=gettext_lazy(
            "Uses the domain with a Service Mail: generates its DKIM key if needed and sets "
            "MX, SPF, DKIM, DMARC and autoconfiguration records in one zone change."
        ),
    )
    def post(self, request, org_id, name):
        domain = self.managed_domain()
        mail = mail_records_or_404()
        service_id = _valid(s.MailRecordsIn, request.data)["service"]
        try:
            service = mail.service_for(access=self.access, service_id=service_id)
        except NotFound:
            service = None
        if service is None or not self.access.can(Capability.VIEW_PRODUCT, service):
            raise InvalidInput(fields={"service": [_("No Service Mail of yours has this id.")]})
        records = mail.records_add(access=self.access, domain=domain, service=service)
        return Response(s.MailRecordOut(records, many=True).data)


class MailChecksView(DomainScoped, APIView):
    """The mail records of the domain as a resolver answers them."""

    @extend_schema(
        responses=s.MailCheckOut(many=True),
        description=gettext_lazy(
            "Each record Service Mail needs beside what the resolver answers, with the fix "
            "to set when it is not OK."
        ),
    )
    def get(self, request, org_id, name):
        checks = mail_records_or_404().checks(access=self.access, domain=self.domain())
        return Response(s.MailCheckOut(checks, many=True).data)


class MailFixesView(DomainScoped, APIView):
    """Applying every mail fix at once."""

    @extend_schema(
        request=None,
        responses={200: s.MailCheckOut(many=True), **RECORD_ERRORS},
        description=gettext_lazy(
            "Sets the expected record of every check that is not OK in one zone change, "
            "then answers the checks again."
        ),
    )
    def post(self, request, org_id, name):
        domain = self.managed_domain()
        checks = mail_records_or_404().fixes_apply(access=self.access, domain=domain)
        return Response(s.MailCheckOut(checks, many=True).data)


class DkimRotateView(DomainScoped, APIView):
    """A new DKIM key for the domain's mail."""

    @extend_schema(
        request=None,
        responses={201: s.DkimKeyOut, **RECORD_ERRORS},
        description=gettext_lazy(
            "Publishes a new DKIM key under a new selector beside the current one. Mail is "
            "signed with the current key until the new record is served, then with the new "
            "one."
        ),
    )
    def post(self, request, org_id, name):
        domain = self.managed_domain()
        key = mail_records_or_404().dkim_rotate(access=self.access, domain=domain)
        return Response(s.DkimKeyOut(key).data, status=status.HTTP_201_CREATED)
