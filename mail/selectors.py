"""Reads of Service Mail: the services and addresses a person sees, the address table and
an address's mail log.

Product grants open a whole service; a person linked to an address sees that address
(and the service it belongs to) even without a grant, and acts on it within the rights
of the link (see services.address_require_right)."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from panel.access import Access, Capability
from panel.errors import NotFound

from .models import (
    Address,
    AddressUser,
    Alias,
    ExtraDomain,
    MailLogEntry,
    MailService,
    RedirectAddress,
)

#: Orderings the address table offers, by public name.
ADDRESS_ORDERINGS = {
    "local_part": ("local_part",),
    "-local_part": ("-local_part",),
    "created_at": ("created_at", "local_part"),
    "-created_at": ("-created_at", "local_part"),
    "kind": ("kind", "local_part"),
    "-kind": ("-kind", "local_part"),
}


def service_list(*, access: Access) -> QuerySet[MailService]:
    """The Service Mails the person sees: all of them for administrators; for everybody
    else the granted ones and those holding an address linked to them."""
    ids = access.visible_product_ids("mail_service")
    services = MailService.objects.filter(organisation=access.organisation)
    if ids is None:
        return services
    linked = _linked(access).values("address__service_id")
    return services.filter(Q(pk__in=ids) | Q(pk__in=linked))


def _linked(access: Access) -> QuerySet[AddressUser]:
    return AddressUser.objects.filter(organisation=access.organisation, user=access.user)


def service_for(*, access: Access, service_id) -> MailService:
    """A service of the organisation that the person sees through a grant or through an
    address linked to them; NotFound otherwise."""
    try:
        service = MailService.objects.get(organisation=access.organisation, pk=int(service_id))
    except (MailService.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    if access.can(Capability.VIEW_PRODUCT, service):
        return service
    if _linked(access).filter(address__service=service).exists():
        return service
    raise NotFound()


def sees_all_addresses(access: Access, service: MailService) -> bool:
    return access.can(Capability.VIEW_PRODUCT, service)


def address_list(
    *, service: MailService, search: str = "", access: Access | None = None, ordering: str = ""
) -> QuerySet[Address]:
    """The addresses of a service with their aliases, redirection targets, responder and
    linked people, in a fixed number of queries. `search` matches the local part of the
    address or of one of its aliases. With `access`, a person without a grant on the
    service only gets the addresses linked to them."""
    addresses = (
        Address.objects.filter(service=service)
        .select_related("service", "signature", "responder")
        .prefetch_related("aliases", "forward_targets", "address_users__user")
        .order_by(*ADDRESS_ORDERINGS.get(ordering, ("local_part",)))
    )
    if access is not None and not sees_all_addresses(access, service):
        addresses = addresses.filter(address_users__user=access.user)
    search = (search or "").strip().lower()
    if search:
        alias_hit = Alias.objects.filter(address=OuterRef("pk"), local_part__contains=search)
        addresses = addresses.filter(Q(local_part__contains=search) | Exists(alias_hit))
    return addresses


def address_for(*, access: Access, service: MailService, local_part: str) -> Address:
    """One address of a service that the person sees; NotFound otherwise."""
    address = (
        address_list(service=service, access=access)
        .filter(local_part=(local_part or "").strip().lower())
        .first()
    )
    if address is None:
        raise NotFound()
    return address


def my_addresses(*, access: Access) -> QuerySet[Address]:
    """The addresses linked to the person in this organisation ("my addresses")."""
    return (
        Address.objects.filter(organisation=access.organisation, address_users__user=access.user)
        .select_related("service")
        .order_by("service__domain", "local_part")
    )


def redirect_address_list(*, service: MailService) -> QuerySet[RedirectAddress]:
    return RedirectAddress.objects.filter(service=service).prefetch_related("targets")


def address_counts(services) -> dict[int, int]:
    """Addresses used per service id, in one query."""

    return dict(
        Address.objects.filter(service__in=services)
        .values_list("service")
        .annotate(n=Count("pk"))
        .values_list("service", "n")
    )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def mail_log_list(
    *,
    address: Address,
    search: str = "",
    status: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[MailLogEntry]:
    """The mail log of an address, newest first. `search` matches part of the sender, of a
    recipient or of the queue id; `since` and `until` are days of the current time zone,
    both included."""
    entries = MailLogEntry.objects.filter(address=address)
    search = (search or "").strip()
    if search:
        entries = entries.filter(
            Q(sender__icontains=search)
            | Q(recipients__icontains=search)
            | Q(queue_id__icontains=search)
        )
    if status:
        entries = entries.filter(status=status)
    # Bounds in time rather than a lookup on the date, so that the index on the address
    # and the time serves.
    if since:
        entries = entries.filter(occurred_at__gte=_day_start(since))
    if until:
        entries = entries.filter(occurred_at__lt=_day_start(until + timedelta(days=1)))
    return entries.order_by("-occurred_at", "-id")


def mail_log_recipients(entry: MailLogEntry) -> list[str]:
    """The recipients a log entry lists (the first 100 of a message; the count is exact)."""
    return [email for email in entry.recipients.split(", ") if email]


def organisation_holds_domain(organisation_id: int, name: str) -> bool:
    """Whether a Service Mail of the organisation still uses `name`, as its domain or
    an extra domain (panel.products holders)."""
    return (
        MailService.objects.filter(organisation_id=organisation_id, domain=name).exists()
        or ExtraDomain.objects.filter(organisation_id=organisation_id, domain=name).exists()
    )


def _own_claims(services, names_of: dict) -> dict:
    """{service pk: {name: its organisation's claim}}: one query per organisation of the
    services (one on every page, which lists a single organisation's services)."""
    from panel.services.domain_claims import claims_of

    by_organisation: dict[int, set] = {}
    for service in services:
        by_organisation.setdefault(service.organisation_id, set()).update(names_of[service.pk])
    claims = {org_id: claims_of(org_id, names) for org_id, names in by_organisation.items()}
    return {service.pk: claims[service.organisation_id] for service in services}


def domain_verifications(services) -> dict[int, list[dict]]:
    """Each service's domains, primary first, with their proof (panel's
    verification_of), by service id. Prefetch `extra_domains` on a list."""
    from panel.services.domain_claims import verification_of

    names_of = {
        service.pk: [service.domain, *(extra.domain for extra in service.extra_domains.all())]
        for service in services
    }
    claims = _own_claims(services, names_of)
    return {
        pk: [verification_of(name, claims[pk].get(name)) for name in names]
        for pk, names in names_of.items()
    }


def waiting_for_verification(services) -> set[int]:
    """The services whose own domain waits for its proof of control (their status is
    `waiting_for_verification`, and no mail is delivered for them yet)."""
    claims = _own_claims(services, {service.pk: [service.domain] for service in services})
    return {
        service.pk
        for service in services
        if not ((claim := claims[service.pk].get(service.domain)) and claim.is_verified)
    }


# -- what the newsletter reads ------------------------------------------------------------------


def organisation_address_exists(organisation_id: int, email: str) -> bool:
    """Whether `email` is an address of one of the organisation's Service Mails: a
    mailbox (or no-reply address), an alias or a redirect address, at the service's
    domain or one of its extra domains, once the organisation proved control of that
    name (a name still waiting for its proof receives no mail, and is not theirs yet).
    Case does not matter. The newsletter's sender addresses are checked here."""
    from panel.services.domain_claims import claims_of

    local, _at, domain = (email or "").strip().lower().rpartition("@")
    if not local or not domain:
        return False
    claim = claims_of(organisation_id, [domain]).get(domain)
    if claim is None or not claim.is_verified:
        return False
    services = MailService.objects.filter(organisation_id=organisation_id).filter(
        Q(domain=domain) | Q(extra_domains__domain=domain)
    )
    in_service = {"service__in": services.values("pk"), "local_part": local}
    return (
        Address.objects.filter(**in_service).exists()
        or Alias.objects.filter(**in_service).exists()
        or RedirectAddress.objects.filter(**in_service).exists()
    )


def sender_domain_checks(*, access: Access, email: str, resolver=None) -> list[dict] | None:
    """The SPF, DKIM and DMARC rows of the mail DNS diagnostic (dns_records.mail_checks,
    Domains' check of the mail records) for the domain of `email`, when that domain is
    one of the organisation's zones in the panel; None when it is not. The records are
    public DNS data, and what they say is what every receiver of the newsletter's mail
    reads: a person who does not see the domain in Domains gets the same rows (the
    check runs with a view right on that one domain, nothing else)."""
    from dataclasses import replace

    from domains.models import Domain
    from panel.models import GrantLevel

    from .dns_records import mail_checks

    name = (email or "").strip().lower().rpartition("@")[2]
    domain = (
        Domain.objects.filter(organisation=access.organisation, name=name)
        .select_related("synonym_of")
        .first()
    )
    if domain is None:
        return None
    if not access.can(Capability.VIEW_PRODUCT, domain):
        access = replace(access, grants={**access.grants, ("domain", domain.pk): GrantLevel.VIEW})
    return mail_checks(
        access=access, domain=domain, resolver=resolver, only=["spf", "dkim", "dmarc"]
    )


def dkim_signing_key(*, organisation_id: int, domain: str) -> tuple[str, str] | None:
    """(selector, private key in PEM) of the DKIM key the mail server signs `domain`'s
    mail with, when `domain` is one of the organisation's domains in the panel and its
    key's record is served; None otherwise, or when the key cannot be unsealed. The
    newsletter signs its campaign emails with it (the DKIM milter signs only what
    customers submit)."""
    from domains.models import Domain

    from .dns_records import dkim_private_key_pem, dkim_signing_key_of

    found = Domain.objects.filter(
        organisation_id=organisation_id, name=(domain or "").strip().lower()
    ).first()
    key = dkim_signing_key_of(found) if found is not None else None
    if key is None:
        return None
    try:
        return key.selector, dkim_private_key_pem(key)
    except ValueError:
        return None
