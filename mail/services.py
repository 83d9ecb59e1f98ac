"""Services of Service Mail: ordering a service, its domains, plan and quota, addresses,
aliases and passwords. The UI, the API and the tasks all write through here."""

import re
import secrets
import string

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from panel import activity
from panel.access import Access, Capability
from panel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from panel.models import Membership
from panel.services.common import lock

from .models import Address, AddressUser, Alias, ExtraDomain, MailService, RedirectAddress
from .passwords import hash_password
from .plans import PLANS, Plan

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART_RE = re.compile(rf"^{_ATEXT}(?:\.{_ATEXT})*$")
LOCAL_PART_MAX = 64
PASSWORD_MIN = 10
GENERATED_PASSWORD_LENGTH = 20
MODES = ("self", "users", "unassigned")
PERMISSIONS = ("change_password", "manage_aliases", "manage_redirection", "manage_backups")


# -- validation helpers -------------------------------------------------------------------


def clean_domain(domain: str, *, field: str = "domain") -> str:
    """A hostname with at least one dot, stored lowercase and without a final dot."""
    value = (domain or "").strip().lower().rstrip(".")
    if len(value) > 253 or not _DOMAIN_RE.match(value):
        raise InvalidInput(
            fields={field: [_("Enter a domain name such as example.com.")]},
        )
    return value


def _domain_is_free(domain: str) -> None:
    """A domain belongs to one service only, as its domain or as an extra domain."""
    if (
        MailService.objects.filter(domain=domain).exists()
        or ExtraDomain.objects.filter(domain=domain).exists()
    ):
        raise Conflict(
            _("The domain %(domain)s already has a Service Mail.") % {"domain": domain},
            code="already_exists",
            fields={"domain": [_("This domain is already used.")]},
        )


def clean_local_part(local_part: str, *, field: str = "local_part") -> str:
    """A dot-atom, stored lowercase, at most 64 characters."""
    value = (local_part or "").strip().lower()
    if not value:
        raise InvalidInput(fields={field: [_("This field is required.")]})
    if len(value) > LOCAL_PART_MAX:
        raise InvalidInput(fields={field: [_("At most %(n)d characters.") % {"n": LOCAL_PART_MAX}]})
    if not _LOCAL_PART_RE.match(value):
        raise InvalidInput(
            fields={
                field: [
                    _(
                        "Use letters, digits and . - _ + only; no dot at the start, at the "
                        "end or twice in a row."
                    )
                ]
            }
        )
    return value


def _local_part_is_free(service: MailService, local_part: str, *, field: str) -> None:
    """Addresses, aliases and redirect-only addresses of a service share one namespace."""
    taken = (
        Address.objects.filter(service=service, local_part=local_part).exists()
        or Alias.objects.filter(service=service, local_part=local_part).exists()
        or RedirectAddress.objects.filter(service=service, local_part=local_part).exists()
    )
    if taken:
        raise _local_part_taken(service, local_part, field)


def _local_part_taken(service: MailService, local_part: str, field: str) -> Conflict:
    return Conflict(
        _("%(address)s already exists.") % {"address": f"{local_part}@{service.domain}"},
        code="already_exists",
        fields={field: [_("This address is already used.")]},
    )


def check_password_rules(password: str, *, local_part: str) -> None:
    """At least 10 characters, with letters and digits, without the address's local part."""
    password = password or ""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(_("Use at least %(n)d characters.") % {"n": PASSWORD_MIN})
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append(_("Use both letters and digits."))
    if local_part and local_part.lower() in password.lower():
        problems.append(_("Do not put the address in its password."))
    if problems:
        raise InvalidInput(
            _("This password is too weak."), code="weak_password", fields={"password": problems}
        )


def generate_password() -> str:
    """A strong random password with letters and digits, shown to the user once."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _i in range(GENERATED_PASSWORD_LENGTH))
        if any(c.isalpha() for c in password) and any(c.isdigit() for c in password):
            return password


def _plan(key: str) -> Plan:
    plan = PLANS.get(key)
    if plan is None:
        raise InvalidInput(fields={"plan": [_("Unknown plan.")]})
    return plan


def _check_quota(plan: Plan, quota) -> int:
    try:
        quota = int(quota)
    except (TypeError, ValueError):
        raise InvalidInput(fields={"address_quota": [_("Enter a whole number.")]}) from None
    if quota < plan.min_addresses:
        raise InvalidInput(
            fields={
                "address_quota": [
                    _("The %(plan)s plan starts at %(n)d addresses.")
                    % {"plan": plan.label, "n": plan.min_addresses}
                ]
            }
        )
    if not plan.allows_addresses(quota):
        raise InvalidInput(
            fields={
                "address_quota": [
                    _("The %(plan)s plan allows at most %(n)d addresses.")
                    % {"plan": plan.label, "n": plan.max_addresses}
                ]
            }
        )
    return quota


def _record(access: Access, code: str, target, data: dict | None = None) -> None:
    activity.record(
        organisation=access.organisation, actor=access.user, code=code, target=target, data=data
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
    access.require(Capability.CHANGE_ORGANISATION)
    domain = clean_domain(domain)
    chosen = _plan(plan)
    quota = _check_quota(chosen, chosen.default_quota() if address_quota is None else address_quota)
    _domain_is_free(domain)
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
    _record(access, "mail.service.ordered", service, {"plan": chosen.key, "quota": quota})
    return service


@transaction.atomic
def extra_domain_add(*, access: Access, service: MailService, domain: str) -> ExtraDomain:
    """Add an extra domain: every address and alias also receives mail there. Needs
    MANAGE_PRODUCT; the domain is validated and free like an ordered one (`already_exists`)."""
    access.require(Capability.MANAGE_PRODUCT, service)
    domain = clean_domain(domain)
    _domain_is_free(domain)
    extra = ExtraDomain(organisation=access.organisation, service=service, domain=domain)
    try:
        with transaction.atomic():
            extra.save()
    except IntegrityError:
        raise Conflict(code="already_exists") from None
    _record(access, "mail.extra_domain.added", service, {"domain": domain})
    return extra


@transaction.atomic
def extra_domain_remove(*, access: Access, service: MailService, domain: str) -> None:
    """Remove an extra domain; mail to it is refused at once. NotFound if the service has
    no such extra domain."""
    access.require(Capability.MANAGE_PRODUCT, service)
    extra = service.extra_domains.filter(domain=(domain or "").strip().lower()).first()
    if extra is None:
        raise NotFound()
    extra.delete()
    _record(access, "mail.extra_domain.removed", service, {"domain": extra.domain})


@transaction.atomic
def service_change_plan(*, access: Access, service: MailService, plan: str) -> MailService:
    """Move a service to another plan. Going down is refused (Conflict
    `plan_downgrade_blocked`) while the service holds more addresses, or an address more
    aliases, than the new plan allows. The quota is brought within the new plan's bounds."""
    access.require(Capability.MANAGE_PRODUCT, service)
    lock(service)
    new = _plan(plan)
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
    _record(access, "mail.service.plan_changed", service, {"from": old, "to": new.key})
    return service


@transaction.atomic
def service_raise_quota(*, access: Access, service: MailService, address_quota: int) -> MailService:
    """Raise the address quota. It only goes up (InvalidInput otherwise) and stays within
    the plan's maximum."""
    access.require(Capability.MANAGE_PRODUCT, service)
    lock(service)
    plan = _plan(service.plan)
    quota = _check_quota(plan, address_quota)
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
    _record(access, "mail.service.quota_raised", service, {"from": old, "to": quota})
    return service


def _members(access: Access, users) -> list:
    """The people to link, who must all be members of the organisation."""
    ids = {getattr(user, "pk", user) for user in users}
    if not ids:
        raise InvalidInput(fields={"users": [_("Choose at least one person.")]})
    members = {
        m.user_id: m.user
        for m in Membership.objects.filter(
            organisation=access.organisation, user_id__in=ids
        ).select_related("user")
    }
    if set(members) != ids:
        raise InvalidInput(
            fields={"users": [_("Every person must be a member of the organisation.")]}
        )
    return list(members.values())


def _permissions(service: MailService, permissions: dict | None) -> dict:
    given = permissions or {}
    unknown = set(given) - set(PERMISSIONS)
    if unknown:
        raise InvalidInput(fields={"permissions": [_("Unknown permission.")]})
    return {
        f"may_{name}": bool(given.get(name, getattr(service, f"default_may_{name}")))
        for name in PERMISSIONS
    }


@transaction.atomic
def address_create(
    *,
    access: Access,
    service: MailService,
    local_part: str,
    mode: str,
    password: str | None = None,
    users=(),
    permissions: dict | None = None,
) -> tuple[Address, str | None]:
    """Create an address in one of three modes. Needs MANAGE_PRODUCT.

    - "self": the caller sets the password and is linked to the address;
    - "users": the panel generates a strong password, returned here once, and links each
      chosen member (InvalidInput for anyone outside the organisation) with `permissions`,
      which default to the service's settings;
    - "unassigned": the caller sets the password; nobody is linked.

    The local part is a lowercase dot-atom of at most 64 characters, free among the
    service's addresses, aliases and redirect-only addresses (`already_exists`). The count
    of addresses stays below the quota (`address_quota_reached`). A chosen password has
    10 characters or more, letters and digits, and not the local part (`weak_password`).
    Returns (address, generated password or None)."""
    access.require(Capability.MANAGE_PRODUCT, service)
    if mode not in MODES:
        raise InvalidInput(fields={"mode": [_("Choose for me, for other users or unassigned.")]})
    local_part = clean_local_part(local_part)
    generated = None
    if mode == "users":
        if password:
            raise InvalidInput(
                fields={"password": [_("The panel generates the password in this mode.")]}
            )
        linked = _members(access, users)
        flags = _permissions(service, permissions)
        password = generated = generate_password()
    else:
        check_password_rules(password, local_part=local_part)
        linked = [access.user] if mode == "self" else []
        flags = {f"may_{name}": True for name in PERMISSIONS}
    lock(service)
    used = service.addresses.count()
    if used >= service.address_quota:
        raise Conflict(
            _(
                "All %(n)d addresses of the quota are used. Raise the quota or delete an "
                "address first."
            )
            % {"n": service.address_quota},
            code="address_quota_reached",
        )
    _local_part_is_free(service, local_part, field="local_part")
    address = Address(
        organisation=access.organisation,
        service=service,
        local_part=local_part,
        password_hash=hash_password(password),
    )
    try:
        with transaction.atomic():
            address.save()
    except IntegrityError:
        raise _local_part_taken(service, local_part, "local_part") from None
    AddressUser.objects.bulk_create(
        [
            AddressUser(organisation=access.organisation, address=address, user=user, **flags)
            for user in linked
        ]
    )
    _record(
        access,
        "mail.address.created",
        address,
        {"mode": mode, "users": [user.email for user in linked]},
    )
    return address, generated


@transaction.atomic
def alias_add(*, access: Access, address: Address, local_part: str) -> Alias:
    """Add an alias to an address. Needs MANAGE_PRODUCT. The plan caps aliases per address
    (`alias_limit_reached`, naming the cap and the plan); the local part follows the
    address rules (`already_exists`)."""
    service = address.service
    access.require(Capability.MANAGE_PRODUCT, service)
    local_part = clean_local_part(local_part)
    lock(service)
    plan = _plan(service.plan)
    if address.aliases.count() >= plan.aliases_per_address:
        raise Conflict(
            _("The %(plan)s plan allows %(n)d alias(es) per address.")
            % {"plan": plan.label, "n": plan.aliases_per_address},
            code="alias_limit_reached",
        )
    _local_part_is_free(service, local_part, field="local_part")
    alias = Alias(
        organisation=access.organisation, service=service, address=address, local_part=local_part
    )
    try:
        with transaction.atomic():
            alias.save()
    except IntegrityError:
        raise _local_part_taken(service, local_part, "local_part") from None
    _record(access, "mail.alias.added", address, {"alias": local_part})
    return alias


@transaction.atomic
def alias_remove(*, access: Access, alias: Alias) -> None:
    """Remove an alias; mail to it is refused at once. Needs MANAGE_PRODUCT."""
    access.require(Capability.MANAGE_PRODUCT, alias.service)
    address = alias.address
    alias.delete()
    _record(access, "mail.alias.removed", address, {"alias": alias.local_part})


@transaction.atomic
def address_set_password(*, access: Access, address: Address, password: str) -> Address:
    """Change an address's password; the old one stops working at the IMAP server at once.

    Allowed to product managers, and to a person linked to the address with
    may_change_password (PermissionDenied otherwise; NotFound for an address the person
    cannot see). The password rules apply (`weak_password`)."""
    service = address.service
    if address.organisation_id != access.organisation.pk:
        raise NotFound()
    if not access.can(Capability.MANAGE_PRODUCT, service):
        link = address.address_users.filter(user=access.user).first()
        if link is None:
            access.require(Capability.MANAGE_PRODUCT, service)
        elif not link.may_change_password:
            raise PermissionDenied()
    check_password_rules(password, local_part=address.local_part)
    address.password_hash = hash_password(password)
    address.password_changed_at = timezone.now()
    address.save(update_fields=["password_hash", "password_changed_at"])
    _record(access, "mail.address.password_changed", address)
    return address


@transaction.atomic
def address_delete(*, access: Access, address: Address) -> None:
    """Delete an address: it stops logging in and receiving mail at once. Needs
    MANAGE_PRODUCT. Its mail storage is removed later by a Job."""
    access.require(Capability.MANAGE_PRODUCT, address.service)
    _record(
        access,
        "mail.address.deleted",
        address,
        {"address": str(address)},
    )
    address.delete()
