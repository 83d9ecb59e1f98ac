"""Reads of Service Mail: the services a person sees and the address table."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from panel.access import Access

from .models import Address, Alias, MailService


def service_list(*, access: Access) -> QuerySet[MailService]:
    """The Service Mails the person sees: all of them for administrators, the granted ones
    for everybody else."""
    return access.visible_products("mail_service")


def address_list(*, service: MailService, search: str = "") -> QuerySet[Address]:
    """The addresses of a service with their aliases, redirection targets, responder and
    linked people, in a fixed number of queries. `search` matches the local part of the
    address or of one of its aliases."""
    addresses = (
        Address.objects.filter(service=service)
        .select_related("service", "signature", "responder")
        .prefetch_related("aliases", "forward_targets", "address_users__user")
    )
    search = (search or "").strip().lower()
    if search:
        alias_hit = Alias.objects.filter(address=OuterRef("pk"), local_part__contains=search)
        addresses = addresses.filter(Q(local_part__contains=search) | Exists(alias_hit))
    return addresses
