"""Ordering a Service Mail, its extra domains, plan, quota, settings and deletion."""

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, NotFound, Problems
from panel.services import product_grants_delete
from panel.services.common import lock
from panel.services.domain_claims import (
    claims_of,
    domain_claim,
    domain_claim_verify,
    domain_release,
)

from ..models import Alias, ExtraDomain, MailService
from .rules import (
    PERMISSIONS,
    check_quota,
    clean_domain,
    ensure_domain_free,
    plan_named,
)

# -- services -----------------------------------------------------------------------------


@transaction.atomic
def service_order(
    *, access: Access, domain: str, plan: str, address_quota: int | None = None
) -> MailService:
    """Order a Service Mail for a domain. An administrator act (CHANGE_ORGANISATION).

    The domain is a hostname with a dot, free across every service and extra domain
    (Conflict `already_exists`). The quota defaults to the plan's and must lie within
    its bounds (InvalidInput)."""
    access.require_billing()
    problems = Problems()  # every problem at once
    domain = problems.check(clean_domain, domain)
    chosen = problems.check(plan_named, plan)
    if chosen is not None:
        quota = problems.check(
            check_quota, chosen, chosen.default_quota() if address_quota is None else address_quota
        )
    problems.raise_if_any()
    domain_claim(organisation=access.organisation, name=domain)  # another's: domain_taken
    ensure_domain_free(domain)
    service = MailService(
        organisation=access.organisation,
        name=domain,
        domain=domain,
        plan=chosen.key,
        address_quota=quota,
    )
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:  # a concurrent order took the domain first
        raise Conflict(code="already_exists") from None
    record_by(access, "mail.service.ordered", service, {"plan": chosen.key, "quota": quota})
    return service


@transaction.atomic
def extra_domain_add(*, access: Access, service: MailService, domain: str) -> ExtraDomain:
    """Add an extra domain: every address and alias also receives mail there. Needs
    MANAGE_PRODUCT; the domain is validated and free like an ordered one (`already_exists`)."""
    access.require(Capability.MANAGE_PRODUCT, service)
    domain = clean_domain(domain)
    domain_claim(organisation=access.organisation, name=domain)  # another's: domain_taken
    ensure_domain_free(domain)
    extra = ExtraDomain(organisation=access.organisation, service=service, domain=domain)
    try:
        with transaction.atomic():
            extra.save()
    except IntegrityError:
        raise Conflict(code="already_exists") from None
    record_by(access, "mail.extra_domain.added", service, {"domain": domain})
    return extra


def service_domains_verify(*, access: Access, service: MailService, resolver=None) -> list[str]:
    """Look now for the TXT record of each of the service's domains still waiting for
    verification (the beat looks every few minutes anyway); the names now verified.
    Needs MANAGE_PRODUCT; what each check found stays on its claim
    (mail.selectors.domain_verifications)."""
    access.require(Capability.MANAGE_PRODUCT, service)
    names = [service.domain, *service.extra_domains.values_list("domain", flat=True)]
    verified = []
    for claim in claims_of(access.organisation, names).values():
        if claim.is_verified:
            continue
        if domain_claim_verify(claim=claim, resolver=resolver).is_verified:
            verified.append(claim.name)
    if verified:
        record_by(access, "mail.service.domains_verified", service, {"domains": verified})
    return verified


@transaction.atomic
def extra_domain_remove(*, access: Access, service: MailService, domain: str) -> None:
    """Remove an extra domain; mail to it is refused at once. NotFound if the service has
    no such extra domain."""
    access.require(Capability.MANAGE_PRODUCT, service)
    extra = service.extra_domains.filter(domain=(domain or "").strip().lower()).first()
    if extra is None:
        raise NotFound()
    extra.delete()
    domain_release(organisation=access.organisation, name=extra.domain)
    record_by(access, "mail.extra_domain.removed", service, {"domain": extra.domain})


@transaction.atomic
def service_change_plan(*, access: Access, service: MailService, plan: str) -> MailService:
    """Move a service to another plan. Going down is refused (Conflict
    `plan_downgrade_blocked`) while the service holds more addresses, or an address more
    aliases, than the new plan allows. The quota is brought within the new plan's bounds.
    It changes what the organisation pays: an administrator act (require_billing)."""
    access.require_billing(service)
    lock(service)
    new = plan_named(plan)
    addresses = service.addresses.count()
    if not new.allows_addresses(addresses):
        raise Conflict(
            _(
                "The service holds %(count)d addresses; the %(plan)s plan allows %(max)d. "
                "Delete addresses first."
            )
            % {"count": addresses, "plan": new.label, "max": new.max_addresses},
            code="plan_downgrade_blocked",
        )
    most_aliases = max(
        (
            row["n"]
            for row in Alias.objects.filter(service=service)
            .values("address")
            .annotate(n=Count("pk"))
        ),
        default=0,
    )
    if most_aliases > new.aliases_per_address:
        raise Conflict(
            _(
                "An address has %(count)d aliases; the %(plan)s plan allows %(max)d per "
                "address. Remove aliases first."
            )
            % {"count": most_aliases, "plan": new.label, "max": new.aliases_per_address},
            code="plan_downgrade_blocked",
        )
    old = service.plan
    quota = max(service.address_quota, new.min_addresses, addresses)
    if new.max_addresses is not None:
        quota = min(quota, new.max_addresses)
    service.plan, service.address_quota = new.key, quota
    service.save(update_fields=["plan", "address_quota"])
    record_by(access, "mail.service.plan_changed", service, {"from": old, "to": new.key})
    return service


@transaction.atomic
def service_raise_quota(*, access: Access, service: MailService, address_quota: int) -> MailService:
    """Raise the address quota. It only goes up (InvalidInput otherwise) and stays within
    the plan's maximum. An administrator act, like any change of price (require_billing)."""
    access.require_billing(service)
    lock(service)
    plan = plan_named(service.plan)
    quota = check_quota(plan, address_quota)
    if quota <= service.address_quota:
        raise InvalidInput(
            fields={
                "address_quota": [
                    _("The quota can only go up; it is %(n)d now.") % {"n": service.address_quota}
                ]
            }
        )
    old = service.address_quota
    service.address_quota = quota
    service.save(update_fields=["address_quota"])
    record_by(access, "mail.service.quota_raised", service, {"from": old, "to": quota})
    return service


@transaction.atomic
def service_update_defaults(*, access: Access, service: MailService, **defaults) -> MailService:
    """Change the permissions offered by default when addresses are created for other
    people (keys of PERMISSIONS). Needs MANAGE_PRODUCT."""
    access.require(Capability.MANAGE_PRODUCT, service)
    unknown = set(defaults) - set(PERMISSIONS)
    if unknown:
        raise InvalidInput(fields={"permissions": [_("Unknown permission.")]})
    fields = []
    for name, value in defaults.items():
        setattr(service, f"default_may_{name}", bool(value))
        fields.append(f"default_may_{name}")
    if fields:
        service.save(update_fields=fields)
        record_by(
            access,
            "mail.service.defaults_changed",
            service,
            {k: bool(v) for k, v in defaults.items()},
        )
    return service


@transaction.atomic
def service_delete(*, access: Access, service: MailService, confirm_name: str):
    """Delete a Service Mail with all its addresses, after the person typed its domain.
    An administrator act (CHANGE_ORGANISATION), like ordering. Every address stops at
    once; the grants on the service go with it; the returned Job removes the mail
    storage (None when there was no mailbox)."""
    from .addresses import schedule_storage_removal

    access.require_billing(service)
    if (confirm_name or "").strip().lower().rstrip(".") != service.domain:
        raise InvalidInput(
            _("Type the domain of the service to confirm."),
            fields={"confirm_name": [_("Type %(name)s exactly.") % {"name": service.domain}]},
        )
    lock(service)
    mailboxes = [
        (service.domain, lp) for lp in service.addresses.values_list("local_part", flat=True)
    ]
    product_grants_delete(service)
    record_by(
        access,
        "mail.service.deleted",
        service,
        {"domain": service.domain, "addresses": len(mailboxes)},
    )
    names = [service.domain, *service.extra_domains.values_list("domain", flat=True)]
    service.delete()
    for name in names:
        domain_release(organisation=access.organisation, name=name)
    return schedule_storage_removal(access, mailboxes) if mailboxes else None
