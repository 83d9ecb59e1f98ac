"""Addresses: creation in three modes, aliases, passwords, deletion, and what a person
linked to an address may change themselves."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Problems
from panel.jobs import job_enqueue
from panel.models import Invitation, InvitationRole, InvitationStatus, Membership
from panel.services.common import lock, normalise_email
from panel.services.invitations import invitation_create

from ..models import (
    Address,
    AddressKind,
    AddressUser,
    Alias,
    MailService,
    PendingAddressUser,
    Signature,
)
from ..passwords import hash_password
from .rules import (
    MODES,
    PERMISSIONS,
    addresses_left,
    check_password_rules,
    clean_local_part,
    ensure_local_part_free,
    generate_password,
    local_part_taken,
    plan_named,
)


def _members(access: Access, users) -> list:
    """The people to link, who must all be members of the organisation."""
    ids = {getattr(user, "pk", user) for user in users}
    if not ids:
        return []
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


#: Job kind removing the Maildirs of deleted addresses.
STORAGE_REMOVAL_JOB = "mail_storage_removal"


def address_require_right(access: Access, address: Address, right: str) -> None:
    """Product managers may change anything on an address; a person linked to it only
    what their link allows (`right` is one of PERMISSIONS). Someone who can see neither
    the service nor the address gets NotFound, a linked person without the right
    PermissionDenied."""
    if address.organisation_id != access.organisation.pk:
        raise NotFound()
    service = address.service
    if access.can(Capability.MANAGE_PRODUCT, service):  # same organisation, checked above
        return
    link = address.address_users.filter(user=access.user).first()
    if link is None:
        access.require(Capability.MANAGE_PRODUCT, service)
        return
    if not getattr(link, f"may_{right}"):
        raise PermissionDenied(_("The person in charge of this address has not allowed this."))


def _signature(service: MailService, signature) -> Signature | None:
    if signature in (None, ""):
        return None
    pk = getattr(signature, "pk", signature)
    try:
        return service.signatures.get(pk=int(pk))
    except (Signature.DoesNotExist, TypeError, ValueError):
        raise InvalidInput(
            fields={"signature": [_("Choose a signature of this service.")]}
        ) from None


def _invitations(access: Access, emails) -> tuple[list, list]:
    """Outside emails to link: members already in the organisation are linked at once;
    the others get (or keep) a pending invitation as users. Inviting needs the right to
    manage members."""
    cleaned = []
    for email in emails or ():
        email = normalise_email(email, field="invite_emails")
        if email not in cleaned:
            cleaned.append(email)
    if not cleaned:
        return [], []
    access.require(Capability.MANAGE_MEMBERS)
    members = {
        m.user.email.lower(): m.user
        for m in Membership.objects.filter(
            organisation=access.organisation, user__email__in=cleaned
        ).select_related("user")
    }
    pending = {
        i.email: i
        for i in Invitation.objects.filter(
            organisation=access.organisation,
            email__in=cleaned,
            status=InvitationStatus.PENDING,
            team=None,
        ).exclude(role=InvitationRole.GUEST)
    }
    invitations = []
    for email in cleaned:
        if email in members:
            continue
        invitation = pending.get(email) or invitation_create(
            access=access, email=email, role=InvitationRole.USER
        )
        invitations.append(invitation)
    return list(members.values()), invitations


def _check_room(service: MailService) -> None:
    """The caller holds the service lock: count and compare with the quota."""
    if not addresses_left(service):
        raise Conflict(
            _(
                "All %(n)d addresses of the quota are used. Raise the quota or delete an "
                "address first."
            )
            % {"n": service.address_quota},
            code="address_quota_reached",
        )


def _save_address(access: Access, service: MailService, **fields) -> Address:
    address = Address(organisation=access.organisation, service=service, **fields)
    try:
        with transaction.atomic():
            address.save()
    except IntegrityError:
        raise local_part_taken(service, fields["local_part"], "local_part") from None
    return address


@transaction.atomic
def address_create(
    *,
    access: Access,
    service: MailService,
    local_part: str,
    mode: str,
    password: str | None = None,
    users=(),
    invite_emails=(),
    permissions: dict | None = None,
    signature=None,
) -> tuple[Address, str | None]:
    """Create an address in one of three modes. Needs MANAGE_PRODUCT.

    - "self": the caller sets the password and is linked to the address;
    - "users": the panel generates a strong password, returned here once, and links each
      chosen member (InvalidInput for anyone outside the organisation) and each invited
      outside email (linked when they accept; inviting needs MANAGE_MEMBERS) with
      `permissions`, which default to the service's settings;
    - "unassigned": the caller sets the password; nobody is linked.

    The local part is a lowercase dot-atom of at most 64 characters, free among the
    service's addresses, aliases and redirect-only addresses (`already_exists`). The count
    of addresses stays below the quota (`address_quota_reached`). A chosen password has
    10 characters or more, letters and digits, and not the local part (`weak_password`).
    `signature` is a signature template of the service. Returns (address, generated
    password or None)."""
    access.require(Capability.MANAGE_PRODUCT, service)
    problems = Problems()  # every problem of the input in one answer
    if mode not in MODES:
        problems.add("mode", _("Choose for me, for other users or unassigned."))
    cleaned_local_part = problems.check(clean_local_part, local_part)
    chosen_signature = problems.check(_signature, service, signature)
    generated = None
    invitations = []
    linked, flags = [], {}
    if mode == "users":
        if password:
            problems.add("password", _("The panel generates the password in this mode."))
        linked = problems.check(_members, access, users) or []
        if not users and not invite_emails:
            problems.add("users", _("Choose at least one person or invite an email."))
        flags = problems.check(_permissions, service, permissions) or {}
        password = generated = generate_password()
    elif mode in MODES:
        problems.check(check_password_rules, password, local_part=cleaned_local_part or "")
        linked = [access.user] if mode == "self" else []
        flags = {f"may_{name}": True for name in PERMISSIONS}
    problems.raise_if_any()
    local_part = cleaned_local_part
    lock(service)
    _check_room(service)
    ensure_local_part_free(service, local_part, field="local_part")
    if mode == "users":
        members, invitations = _invitations(access, invite_emails)
        linked += [user for user in members if user not in linked]
    address = _save_address(
        access,
        service,
        local_part=local_part,
        password_hash=hash_password(password),
        signature=chosen_signature,
    )
    AddressUser.objects.bulk_create(
        [
            AddressUser(organisation=access.organisation, address=address, user=user, **flags)
            for user in linked
        ]
    )
    PendingAddressUser.objects.bulk_create(
        [
            PendingAddressUser(
                organisation=access.organisation, address=address, invitation=invitation, **flags
            )
            for invitation in invitations
        ]
    )
    record_by(
        access,
        "mail.address.created",
        address,
        {
            "mode": mode,
            "users": [user.email for user in linked],
            "invited": [invitation.email for invitation in invitations],
        },
    )
    return address, generated


GENERIC_LOCAL_PARTS = {AddressKind.NO_REPLY: "no-reply", AddressKind.CATCH_ALL: "catch-all"}


@transaction.atomic
def generic_address_create(
    *,
    access: Access,
    service: MailService,
    kind: str,
    local_part: str | None = None,
    password: str | None = None,
) -> tuple[Address, str | None]:
    """Create a generic address, which counts in the quota like any mailbox. Needs
    MANAGE_PRODUCT.

    - "no_reply" (default `no-reply`): it logs in and sends; mail sent to it is refused
      at RCPT with a clear reason;
    - "catch_all" (default `catch-all`): it receives mail for every local part of the
      service's domains that matches no address, alias or redirect-only address. One per
      service (`already_exists`).

    Without `password` the panel generates one, returned here once."""
    access.require(Capability.MANAGE_PRODUCT, service)
    if kind not in GENERIC_LOCAL_PARTS:
        raise InvalidInput(fields={"kind": [_("Choose no-reply or catch-all.")]})
    local_part = clean_local_part(local_part or GENERIC_LOCAL_PARTS[kind])
    generated = None
    if password:
        check_password_rules(password, local_part=local_part)
    else:
        password = generated = generate_password()
    lock(service)
    if kind == AddressKind.CATCH_ALL and service.addresses.filter(kind=kind).exists():
        raise Conflict(
            _("This service already has a catch-all address; there is one per service."),
            code="already_exists",
        )
    _check_room(service)
    ensure_local_part_free(service, local_part, field="local_part")
    address = _save_address(
        access, service, local_part=local_part, kind=kind, password_hash=hash_password(password)
    )
    record_by(access, "mail.address.created", address, {"kind": kind})
    return address, generated


@transaction.atomic
def address_set_signature(*, access: Access, address: Address, signature) -> Address:
    """Assign a signature template of the service to an address, or none."""
    access.require(Capability.MANAGE_PRODUCT, address.service)
    address.signature = _signature(address.service, signature)
    address.save(update_fields=["signature"])
    record_by(access, "mail.address.signature_set", address)
    return address


@transaction.atomic
def alias_add(*, access: Access, address: Address, local_part: str) -> Alias:
    """Add an alias to an address. Needs MANAGE_PRODUCT or a link with manage_aliases.
    The plan caps aliases per address (`alias_limit_reached`, naming the cap and the
    plan); the local part follows the address rules (`already_exists`)."""
    address_require_right(access, address, "manage_aliases")
    service = address.service
    local_part = clean_local_part(local_part)
    lock(service)
    plan = plan_named(service.plan)
    # Counted in the database: `address` may carry a prefetched list from before the lock.
    if Alias.objects.filter(address=address).count() >= plan.aliases_per_address:
        raise Conflict(
            _("The %(plan)s plan allows %(n)d alias(es) per address.")
            % {"plan": plan.label, "n": plan.aliases_per_address},
            code="alias_limit_reached",
        )
    ensure_local_part_free(service, local_part, field="local_part")
    alias = Alias(
        organisation=access.organisation, service=service, address=address, local_part=local_part
    )
    try:
        with transaction.atomic():
            alias.save()
    except IntegrityError:
        raise local_part_taken(service, local_part, "local_part") from None
    record_by(access, "mail.alias.added", address, {"alias": local_part})
    return alias


@transaction.atomic
def alias_remove(*, access: Access, alias: Alias) -> None:
    """Remove an alias; mail to it is refused at once. Needs MANAGE_PRODUCT or a link
    with manage_aliases."""
    address = alias.address
    address_require_right(access, address, "manage_aliases")
    alias.delete()
    record_by(access, "mail.alias.removed", address, {"alias": alias.local_part})


@transaction.atomic
def address_set_password(*, access: Access, address: Address, password: str) -> Address:
    """Change an address's password; the old one stops working at the IMAP server at once.

    Allowed to product managers, and to a person linked to the address with
    may_change_password (PermissionDenied otherwise; NotFound for an address the person
    cannot see). The password rules apply (`weak_password`)."""
    address_require_right(access, address, "change_password")
    check_password_rules(password, local_part=address.local_part)
    address.password_hash = hash_password(password)
    address.password_changed_at = timezone.now()
    address.save(update_fields=["password_hash", "password_changed_at"])
    record_by(access, "mail.address.password_changed", address)
    return address


def schedule_storage_removal(access: Access, mailboxes: list[tuple[str, str]]):
    """Queue a Job that removes the Maildirs of deleted addresses after the commit."""
    return job_enqueue(
        organisation=access.organisation,
        actor=access.user,
        kind=STORAGE_REMOVAL_JOB,
        task="mail.tasks.remove_mail_storage",
        params={"mailboxes": [list(pair) for pair in mailboxes]},
    )


@transaction.atomic
def address_delete(*, access: Access, address: Address):
    """Delete an address: it stops logging in and receiving mail at once. Needs
    MANAGE_PRODUCT. Its aliases go with it; its mail storage is removed by the returned
    Job."""
    return address_delete_many(
        access=access, service=address.service, local_parts=[address.local_part]
    )


@transaction.atomic
def address_delete_many(*, access: Access, service: MailService, local_parts):
    """Delete several addresses of a service at once, all or none: an InvalidInput
    names the first one that no longer exists. Returns the Job removing their mail
    storage."""
    access.require(Capability.MANAGE_PRODUCT, service)
    wanted = sorted({(lp or "").strip().lower() for lp in local_parts} - {""})
    if not wanted:
        raise InvalidInput(fields={"local_parts": [_("Choose at least one address.")]})
    lock(service)
    addresses = list(service.addresses.filter(local_part__in=wanted))
    missing = set(wanted) - {address.local_part for address in addresses}
    if missing:
        raise InvalidInput(
            _("%(address)s does not exist any more; nothing was deleted.")
            % {"address": f"{sorted(missing)[0]}@{service.domain}"},
            fields={"local_parts": [_("Reload the list and choose again.")]},
        )
    for address in addresses:
        record_by(access, "mail.address.deleted", address, {"address": str(address)})
    Address.objects.filter(pk__in=[address.pk for address in addresses]).delete()
    return schedule_storage_removal(
        access, [(service.domain, address.local_part) for address in addresses]
    )
