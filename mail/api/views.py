"""Service Mail API views: look the service or address up through mail.selectors, call a
mail service, answer. The services hold the rules and check the rights; the views ask
the same rights first so that every answer keeps the order 401, 404, 403, then 400."""

from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from panel.access import Capability
from panel.api.base import OrganisationScoped, confirm_name, confirm_name_parameter
from panel.api.serializers import JobAcceptedOut, JobOut
from panel.api.views import _valid
from panel.errors import InvalidInput, PermissionDenied

from .. import selectors, services
from ..csv_import import MAX_FILE_BYTES, template_csv
from ..models import (
    Address,
    Alias,
    MailLogEntry,
    MailService,
    RedirectAddress,
    Signature,
    Snapshot,
)
from ..services import backups as backup_services
from ..services.bulk import csv_import_start
from ..services.imports import import_start
from ..services.sending import sending_meter
from . import serializers as s


def _services_context(services) -> dict:
    return {
        "counts": selectors.address_counts(services),
        "verifications": selectors.domain_verifications(services),
    }


def _service_out(service: MailService) -> dict:
    return s.MailServiceOut(service, context=_services_context([service])).data


def _created(address: Address, generated: str | None) -> Response:
    data = dict(s.MailAddressOut(address).data)
    if generated:
        data["generated_password"] = generated
    return Response(data, status=status.HTTP_201_CREATED)


def _job_accepted(request, job) -> Response:
    """202 with the Job to follow, as every slow act of the API answers."""
    return Response(
        {"job": JobOut(job, context={"request": request}).data}, status=status.HTTP_202_ACCEPTED
    )


class MailScoped(OrganisationScoped):
    """Views under services/<service_id>/. Everyone with access to the organisation gets
    past the view capability: a person linked to an address sees its service without any
    grant, so the selectors and services decide."""

    def service(self) -> MailService:
        if not hasattr(self, "_service"):
            self._service = selectors.service_for(
                access=self.access, service_id=self.kwargs["service_id"]
            )
        return self._service

    def whole_service(self) -> MailService:
        """The service, for what covers all of it. A person who sees it only through an
        address linked to them gets 403 here, where the services would answer 404 for a
        service they can in fact see."""
        service = self.service()
        if not selectors.sees_all_addresses(self.access, service):
            raise PermissionDenied()
        return service

    def managed_service(self) -> MailService:
        """The service, for acts that need to manage it; checked before the input is, so
        bad input reveals nothing to someone who may not act (the services check again)."""
        service = self.whole_service()
        self.access.require(Capability.MANAGE_PRODUCT, service)
        return service

    def address_with_right(self, right: str) -> Address:
        """The address, for acts a person linked to it may do within their link's rights."""
        address = self.address()
        services.address_require_right(self.access, address, right)
        return address

    def address(self, local_part: str | None = None) -> Address:
        return selectors.address_for(
            access=self.access,
            service=self.service(),
            local_part=local_part if local_part is not None else self.kwargs["local_part"],
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "service_id" in self.kwargs and hasattr(self, "access"):
            context["domain"] = self.service().domain
        return context


# -- services ------------------------------------------------------------------------------


class ServicesView(OrganisationScoped, generics.ListAPIView):
    """The services the person sees through a grant (all of them for administrators)."""

    serializer_class = s.MailServiceOut
    queryset = MailService.objects.none()  # schema only
    write_capability = Capability.CHANGE_ORGANISATION

    def get_queryset(self):
        return (
            selectors.service_list(access=self.access)
            .prefetch_related("extra_domains")
            .order_by("domain", "id")
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            s.MailServiceOut(page, many=True, context=_services_context(page)).data
        )

    @extend_schema(request=s.MailServiceIn, responses={201: s.MailServiceOut})
    def post(self, request, org_id):
        data = _valid(s.MailServiceIn, request.data)
        service = services.service_order(access=self.access, **data)
        return Response(_service_out(service), status=status.HTTP_201_CREATED)


class ServiceView(MailScoped, APIView):
    @extend_schema(responses=s.MailServiceOut)
    def get(self, request, org_id, service_id):
        return Response(_service_out(self.service()))

    @extend_schema(request=s.MailServicePatchIn, responses=s.MailServiceOut)
    def patch(self, request, org_id, service_id):
        service = self.managed_service()
        data = _valid(s.MailServicePatchIn, request.data)
        with transaction.atomic():
            if "plan" in data:
                service = services.service_change_plan(
                    access=self.access, service=service, plan=data["plan"]
                )
            # A plan change may already have brought the quota to the asked value.
            if "address_quota" in data and not (
                "plan" in data and data["address_quota"] == service.address_quota
            ):
                service = services.service_raise_quota(
                    access=self.access, service=service, address_quota=data["address_quota"]
                )
            if data.get("default_permissions"):
                service = services.service_update_defaults(
                    access=self.access, service=service, **data["default_permissions"]
                )
        return Response(_service_out(service))

    @extend_schema(
        request=s.MailServiceDeleteIn,
        parameters=[confirm_name_parameter(s.MailServiceDeleteIn)],
        responses={204: None},
        description=gettext_lazy(
            "Deletes the service with all its addresses; an administrator act. "
            "Send `confirm_name` (the domain) in the body or the query string."
        ),
    )
    def delete(self, request, org_id, service_id):
        service = self.managed_service()
        self.access.require(Capability.CHANGE_ORGANISATION)
        confirm = confirm_name(request, s.MailServiceDeleteIn)
        services.service_delete(access=self.access, service=service, confirm_name=confirm)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExtraDomainsView(MailScoped, APIView):
    @extend_schema(request=s.MailExtraDomainIn, responses={201: s.MailExtraDomainOut})
    def post(self, request, org_id, service_id):
        service = self.managed_service()
        data = _valid(s.MailExtraDomainIn, request.data)
        extra = services.extra_domain_add(access=self.access, service=service, **data)
        verification = selectors.domain_verifications([service])[service.pk]
        context = {"verification": next(v for v in verification if v["domain"] == extra.domain)}
        return Response(
            s.MailExtraDomainOut(extra, context=context).data, status=status.HTTP_201_CREATED
        )


class VerificationView(MailScoped, APIView):
    @extend_schema(
        request=None,
        responses=s.MailServiceOut,
        description=gettext_lazy(
            "Looks now for the TXT record of each domain of the service that waits for "
            "verification, and answers the service with what was found (`domains`). "
            "The panel also looks every few minutes by itself."
        ),
    )
    def post(self, request, org_id, service_id):
        service = self.managed_service()
        services.service_domains_verify(access=self.access, service=service)
        return Response(_service_out(service))


class ExtraDomainView(MailScoped, APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, org_id, service_id, domain):
        services.extra_domain_remove(
            access=self.access, service=self.managed_service(), domain=domain
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- addresses -----------------------------------------------------------------------------


class AddressesView(MailScoped, generics.ListAPIView):
    """The addresses of a service; a person without a grant on it sees the addresses
    linked to them."""

    serializer_class = s.MailAddressOut
    queryset = Address.objects.none()  # schema only

    @extend_schema(parameters=[s.MailAddressFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        service = self.service()
        filters = _valid(s.MailAddressFilterIn, self.request.query_params)
        return selectors.address_list(service=service, access=self.access, **filters)

    @extend_schema(
        request=s.MailAddressIn,
        responses={201: s.MailAddressCreatedOut},
        description=gettext_lazy(
            "`generated_password` appears in users mode only, in this response only."
        ),
    )
    def post(self, request, org_id, service_id):
        service = self.managed_service()
        data = _valid(s.MailAddressIn, request.data)
        address, generated = services.address_create(
            access=self.access,
            service=service,
            **{**data, "permissions": data.get("permissions") or None},
        )
        return _created(self.address(address.local_part), generated)


class AddressView(MailScoped, APIView):
    @extend_schema(responses=s.MailAddressOut)
    def get(self, request, org_id, service_id, local_part):
        return Response(s.MailAddressOut(self.address()).data)

    @extend_schema(
        request=s.MailAddressPatchIn,
        responses=s.MailAddressOut,
        description=gettext_lazy(
            "`password` is allowed to a person linked to the address with the "
            "change_password right; `signature` needs the right to manage the service."
        ),
    )
    def patch(self, request, org_id, service_id, local_part):
        sent = set(request.data) if hasattr(request.data, "keys") else set()
        if "signature" in sent:
            self.managed_service()
        address = (
            self.address_with_right("change_password") if "password" in sent else self.address()
        )
        data = _valid(s.MailAddressPatchIn, request.data)
        if not data:
            raise InvalidInput(_("Send a password, a signature or both."))
        with transaction.atomic():
            if "password" in data:
                services.address_set_password(
                    access=self.access, address=address, password=data["password"]
                )
            if "signature" in data:
                services.address_set_signature(
                    access=self.access, address=address, signature=data["signature"]
                )
        return Response(s.MailAddressOut(self.address()).data)

    @extend_schema(
        responses={202: JobAcceptedOut},
        description=gettext_lazy("The address stops at once; the Job removes its mail storage."),
    )
    def delete(self, request, org_id, service_id, local_part):
        self.managed_service()
        job = services.address_delete(access=self.access, address=self.address())
        return _job_accepted(request, job)


class AddressBulkDeleteView(AddressView):
    """POST deletes several addresses. The URL also names a possible address called
    `delete`, which the inherited methods keep serving."""

    @extend_schema(
        request=s.MailBulkDeleteIn,
        responses={202: JobAcceptedOut},
        operation_id="organisations_mail_services_addresses_bulk_delete",
        description=gettext_lazy(
            "All or none: an unknown local part answers 404 and deletes nothing."
        ),
    )
    def post(self, request, org_id, service_id, local_part=None):
        service = self.managed_service()
        data = _valid(s.MailBulkDeleteIn, request.data)
        job = services.address_delete_many(access=self.access, service=service, **data)
        return _job_accepted(request, job)

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(exclude=True)
    def patch(self, request, *args, **kwargs):
        return super().patch(request, *args, **kwargs)

    @extend_schema(exclude=True)
    def delete(self, request, *args, **kwargs):
        return super().delete(request, *args, **kwargs)


class GenericAddressesView(MailScoped, APIView):
    @extend_schema(
        request=s.MailGenericAddressIn,
        responses={201: s.MailAddressCreatedOut},
        description=gettext_lazy(
            "A no-reply or catch-all address; `generated_password` appears when "
            "no password was sent, in this response only."
        ),
    )
    def post(self, request, org_id, service_id):
        service = self.managed_service()
        data = _valid(s.MailGenericAddressIn, request.data)
        address, generated = services.generic_address_create(
            access=self.access, service=service, **data
        )
        return _created(self.address(address.local_part), generated)


# -- aliases, redirection, responder -------------------------------------------------------


class AliasesView(MailScoped, generics.ListAPIView):
    serializer_class = s.MailAliasOut
    queryset = Alias.objects.none()  # schema only

    def get_queryset(self):
        return self.address().aliases.order_by("local_part")

    @extend_schema(request=s.MailAliasIn, responses={201: s.MailAliasOut})
    def post(self, request, org_id, service_id, local_part):
        address = self.address_with_right("manage_aliases")
        data = _valid(s.MailAliasIn, request.data)
        alias = services.alias_add(access=self.access, address=address, **data)
        return Response(
            s.MailAliasOut(alias, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class AliasView(MailScoped, APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, org_id, service_id, local_part, alias):
        address = self.address_with_right("manage_aliases")
        found = get_object_or_404(address.aliases, local_part=alias.strip().lower())
        services.alias_remove(access=self.access, alias=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RedirectionView(MailScoped, APIView):
    @extend_schema(responses=s.MailRedirectionOut)
    def get(self, request, org_id, service_id, local_part):
        return Response(s.MailRedirectionOut(self.address()).data)

    @extend_schema(
        request=s.MailRedirectionIn,
        responses=s.MailRedirectionOut,
        description=gettext_lazy("An empty list of targets turns the redirection off."),
    )
    def put(self, request, org_id, service_id, local_part):
        address = self.address_with_right("manage_redirection")
        data = _valid(s.MailRedirectionIn, request.data)
        services.redirection_set(access=self.access, address=address, **data)
        return Response(s.MailRedirectionOut(self.address()).data)


class ResponderView(MailScoped, APIView):
    @staticmethod
    def _out(address):
        responder = getattr(address, "responder", None)
        return s.MailResponderOut(responder if responder is not None else s.NO_RESPONDER).data

    @extend_schema(responses=s.MailResponderOut)
    def get(self, request, org_id, service_id, local_part):
        return Response(self._out(self.address()))

    @extend_schema(
        request=s.MailResponderIn,
        responses=s.MailResponderOut,
        description=gettext_lazy(
            "Allowed to a person linked to the address with the manage_redirection right."
        ),
    )
    def put(self, request, org_id, service_id, local_part):
        address = self.address_with_right("manage_redirection")
        data = _valid(s.MailResponderIn, request.data)
        services.responder_set(access=self.access, address=address, **data)
        return Response(self._out(self.address()))


# -- outgoing limit and mail log --------------------------------------------------------


class SendingView(MailScoped, APIView):
    @extend_schema(
        responses=s.MailSendingOut,
        description=gettext_lazy(
            "The address's outgoing limit and the recipients it sent to: over the last 24 "
            "hours (what the limit counts), by hour for the last 24 hours and by day for the "
            "last 7 days. Each recipient counts; deferred recipients do not."
        ),
    )
    def get(self, request, org_id, service_id, local_part):
        return Response(s.MailSendingOut(sending_meter(address=self.address())).data)


class MailLogView(MailScoped, generics.ListAPIView):
    """The messages the address sent, newest first, as the outgoing limit saw them; kept
    30 days."""

    serializer_class = s.MailLogEntryOut
    queryset = MailLogEntry.objects.none()  # schema only

    @extend_schema(parameters=[s.MailLogFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        address = self.address()
        filters = _valid(s.MailLogFilterIn, self.request.query_params)
        return selectors.mail_log_list(address=address, **filters)


# -- redirect-only addresses ---------------------------------------------------------------


class RedirectAddressesView(MailScoped, generics.ListAPIView):
    serializer_class = s.MailRedirectAddressOut
    queryset = RedirectAddress.objects.none()  # schema only

    def get_queryset(self):
        return selectors.redirect_address_list(service=self.whole_service())

    @extend_schema(request=s.MailRedirectAddressIn, responses={201: s.MailRedirectAddressOut})
    def post(self, request, org_id, service_id):
        service = self.managed_service()
        data = _valid(s.MailRedirectAddressIn, request.data)
        redirect = services.redirect_address_create(access=self.access, service=service, **data)
        return Response(
            s.MailRedirectAddressOut(redirect, context={"domain": service.domain}).data,
            status=status.HTTP_201_CREATED,
        )


class RedirectAddressView(MailScoped, APIView):
    def _redirect(self, service, local_part):
        return get_object_or_404(
            selectors.redirect_address_list(service=service),
            local_part=local_part.strip().lower(),
        )

    @extend_schema(responses=s.MailRedirectAddressOut)
    def get(self, request, org_id, service_id, local_part):
        service = self.whole_service()
        return Response(
            s.MailRedirectAddressOut(
                self._redirect(service, local_part), context={"domain": service.domain}
            ).data
        )

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, service_id, local_part):
        redirect = self._redirect(self.managed_service(), local_part)
        services.redirect_address_delete(access=self.access, redirect=redirect)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- signatures ----------------------------------------------------------------------------


class SignaturesView(MailScoped, generics.ListAPIView):
    serializer_class = s.MailSignatureOut
    queryset = Signature.objects.none()  # schema only

    def get_queryset(self):
        return self.whole_service().signatures.order_by("name", "id")

    @extend_schema(request=s.MailSignatureIn, responses={201: s.MailSignatureOut})
    def post(self, request, org_id, service_id):
        service = self.managed_service()
        data = _valid(s.MailSignatureIn, request.data)
        signature = services.signature_create(access=self.access, service=service, **data)
        return Response(s.MailSignatureOut(signature).data, status=status.HTTP_201_CREATED)


class SignatureView(MailScoped, APIView):
    def _signature(self, service, signature_id):
        return get_object_or_404(service.signatures, pk=signature_id)

    @extend_schema(responses=s.MailSignatureOut)
    def get(self, request, org_id, service_id, signature_id):
        return Response(
            s.MailSignatureOut(self._signature(self.whole_service(), signature_id)).data
        )

    @extend_schema(request=s.MailSignatureIn(partial=True), responses=s.MailSignatureOut)
    def patch(self, request, org_id, service_id, signature_id):
        signature = self._signature(self.managed_service(), signature_id)
        serializer = s.MailSignatureIn(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {"name": signature.name, "body": signature.body, **serializer.validated_data}
        signature = services.signature_update(access=self.access, signature=signature, **changes)
        return Response(s.MailSignatureOut(signature).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, service_id, signature_id):
        signature = self._signature(self.managed_service(), signature_id)
        services.signature_delete(access=self.access, signature=signature)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- bulk creation from CSV ----------------------------------------------------------------


class CsvTemplateView(MailScoped, APIView):
    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description=gettext_lazy(
            "The CSV template for bulk creation: a header and two example rows."
        ),
    )
    def get(self, request, org_id, service_id):
        self.managed_service()
        response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="addresses-template.csv"'
        return response


class CsvImportsView(MailScoped, APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=s.MailCsvImportIn,
        responses={
            202: JobAcceptedOut,
            400: OpenApiResponse(
                s.MailCsvInvalidOut,
                description=gettext_lazy(
                    "`csv_invalid`: every problem of the file by line and column; nothing "
                    "is created."
                ),
            ),
            409: OpenApiResponse(
                description=gettext_lazy(
                    "`address_quota_reached`: the file does not fit the quota."
                )
            ),
            429: OpenApiResponse(
                description=gettext_lazy(
                    "`creation_budget_exceeded`: the organisation's addresses per 24 hours "
                    "are used up; the Retry-After header says when more are available."
                )
            ),
        },
        description=gettext_lazy(
            "Checks the whole file, then starts the Job that creates every address or none."
        ),
    )
    def post(self, request, org_id, service_id):
        service = self.managed_service()
        upload = _valid(s.MailCsvImportIn, request.data)["file"]
        # One byte more than allowed is enough for the check to refuse a file too large.
        data = upload.read(MAX_FILE_BYTES + 1)
        csv_import = csv_import_start(
            access=self.access, service=service, data=data, file_name=upload.name or ""
        )
        return _job_accepted(request, csv_import.job)


# -- backups, restores, imports ------------------------------------------------------------


class BackupsView(MailScoped, generics.ListAPIView):
    """The backups of an address, newest first, for those who may restore it."""

    serializer_class = s.MailBackupOut
    queryset = Snapshot.objects.none()  # schema only

    def get_queryset(self):
        return backup_services.backup_list(access=self.access, address=self.address())

    @extend_schema(
        request=None,
        responses={202: JobAcceptedOut},
        description=gettext_lazy(
            "Backs the mailbox up now, as a Job: today's backup, replaced if taken again "
            "today. For the people who may restore the address (`restore_not_allowed`)."
        ),
    )
    def post(self, request, org_id, service_id, local_part):
        job = backup_services.backup_start(access=self.access, address=self.address())
        return _job_accepted(request, job)


class RestoresView(MailScoped, APIView):
    @extend_schema(
        request=s.MailRestoreIn,
        responses={202: JobAcceptedOut},
        description=gettext_lazy(
            "Restores the address from the backup of a date: messages deleted since come "
            "back, with the redirection and the responder. Administrators, or the "
            "address's user when allowed, on a plan that restores (`restore_not_allowed`)."
        ),
    )
    def post(self, request, org_id, service_id, local_part):
        address = self.address()
        # The right first, so that bad input tells nothing to someone who may not restore.
        backup_services.restore_require_right(self.access, address)
        data = _valid(s.MailRestoreIn, request.data)
        job = backup_services.restore_start(
            access=self.access, address=address, taken_on=data["date"]
        )
        return _job_accepted(request, job)


class ImportsView(MailScoped, APIView):
    @extend_schema(
        request=s.MailImportIn,
        responses={202: JobAcceptedOut},
        description=gettext_lazy(
            "Copies another mailbox into the address over IMAP. The password is kept "
            "encrypted until the import ends and never appears in an answer or the log."
        ),
    )
    def post(self, request, org_id, service_id, local_part):
        address = self.address_with_right("manage_backups")
        data = _valid(s.MailImportIn, request.data)
        mailbox_import = import_start(access=self.access, address=address, **data)
        return _job_accepted(request, mailbox_import.job)
