"""Where mail goes besides the mailbox: an address's redirection, redirect-only
addresses and the out-of-office responder."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import InvalidInput
from panel.services.common import clean_name, lock, normalise_email

from ..models import Address, ForwardTarget, MailService, RedirectAddress, Responder
from ..sieve import responder_script, script_id
from .addresses import address_require_right
from .rules import (
    clean_local_part,
    ensure_local_part_free,
    local_part_taken,
    service_domains,
)

#: More targets than this is a mailing list, not a redirection.
MAX_TARGETS = 20
RESPONDER_BODY_MAX = 10000


def clean_targets(targets, *, own_domains: set[str], required: bool) -> list[str]:
    """Valid, distinct outside addresses. A target on one of the service's own domains
    would loop or duplicate an alias, so it is refused."""
    if isinstance(targets, str):
        targets = [line for line in targets.replace(",", "\n").splitlines()]
    cleaned = []
    for position, target in enumerate(targets or ()):
        if not (target or "").strip():
            continue
        try:
            email = normalise_email(target, field="targets")
        except InvalidInput:
            raise InvalidInput(
                fields={
                    "targets": [
                        _("Target %(n)d (%(value)s) is not a valid email address.")
                        % {"n": position + 1, "value": str(target).strip()[:100]}
                    ]
                }
            ) from None
        if email.rsplit("@", 1)[1] in own_domains:
            raise InvalidInput(
                fields={
                    "targets": [
                        _("%(email)s is on this service; add it as an alias instead.")
                        % {"email": email}
                    ]
                }
            )
        if email not in cleaned:
            cleaned.append(email)
    if required and not cleaned:
        raise InvalidInput(fields={"targets": [_("Enter at least one target address.")]})
    if len(cleaned) > MAX_TARGETS:
        raise InvalidInput(fields={"targets": [_("At most %(n)d targets.") % {"n": MAX_TARGETS}]})
    return cleaned


def write_redirection(address: Address, targets: list[str], keep_copy: bool) -> None:
    """Store checked targets (the one place that writes a redirection; restores too)."""
    lock(address)
    address.forward_targets.all().delete()
    ForwardTarget.objects.bulk_create(
        [
            ForwardTarget(organisation_id=address.organisation_id, address=address, email=email)
            for email in targets
        ]
    )
    address.keep_copy = bool(keep_copy) if targets else True
    address.save(update_fields=["keep_copy"])


@transaction.atomic
def redirection_set(*, access: Access, address: Address, targets, keep_copy: bool) -> Address:
    """Redirect an address to outside targets, keeping a copy in the mailbox or not. An
    empty list turns the redirection off (mail stays in the mailbox). Needs MANAGE_PRODUCT
    or a link with manage_redirection."""
    address_require_right(access, address, "manage_redirection")
    cleaned = clean_targets(targets, own_domains=service_domains(address.service), required=False)
    write_redirection(address, cleaned, keep_copy)
    record_by(
        access,
        "mail.redirection.set",
        address,
        {"targets": cleaned, "keep_copy": address.keep_copy},
    )
    return address


@transaction.atomic
def redirect_address_create(
    *, access: Access, service: MailService, local_part: str, targets
) -> RedirectAddress:
    """Create an address without mailbox nor login that forwards to one or more outside
    targets. It does not count in the address quota. Needs MANAGE_PRODUCT."""
    access.require(Capability.MANAGE_PRODUCT, service)
    local_part = clean_local_part(local_part)
    cleaned = clean_targets(targets, own_domains=service_domains(service), required=True)
    lock(service)
    ensure_local_part_free(service, local_part, field="local_part")
    redirect = RedirectAddress(
        organisation=access.organisation, service=service, local_part=local_part
    )
    try:
        with transaction.atomic():
            redirect.save()
    except IntegrityError:
        raise local_part_taken(service, local_part, "local_part") from None
    ForwardTarget.objects.bulk_create(
        [
            ForwardTarget(organisation=access.organisation, redirect_address=redirect, email=email)
            for email in cleaned
        ]
    )
    record_by(
        access,
        "mail.redirect_address.created",
        service,
        {"address": f"{local_part}@{service.domain}", "targets": cleaned},
    )
    return redirect


@transaction.atomic
def redirect_address_delete(*, access: Access, redirect: RedirectAddress) -> None:
    """Delete a redirect-only address; mail to it is refused at once."""
    service = redirect.service
    access.require(Capability.MANAGE_PRODUCT, service)
    redirect.delete()
    record_by(
        access,
        "mail.redirect_address.deleted",
        service,
        {"address": f"{redirect.local_part}@{service.domain}"},
    )


def write_responder(address: Address, **values) -> Responder:
    """Store checked responder values with their Sieve script (the one place that writes
    a responder; restores too). `values`: enabled, subject, body, starts_at, ends_at."""
    script = (
        responder_script(
            subject=values["subject"],
            body=values["body"],
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
        )
        if values["enabled"]
        else ""
    )
    responder, _created = Responder.objects.update_or_create(
        address=address,
        defaults={
            "organisation_id": address.organisation_id,
            **values,
            "script": script,
            "script_id": script_id(script) if script else "",
        },
    )
    return responder


#: A responder's period lies within these years: before, time zones had no fixed offsets
#: (1850 in Zurich is 34 min 8 s ahead of UTC) and Sieve dates have four digits.
RESPONDER_YEARS = (2000, 2999)


def _moment(value, field: str, problems: dict):
    """The aware moment in `value`, or None; a problem for `field` when it is no date
    or lies outside RESPONDER_YEARS."""
    if value in (None, ""):
        return None
    try:
        moment = parse_datetime(value) if isinstance(value, str) else value
    except ValueError:
        moment = None
    if moment is None:
        problems[field] = [_("Enter a date and time.")]
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if not RESPONDER_YEARS[0] <= moment.year <= RESPONDER_YEARS[1]:
        problems[field] = [
            _("Choose a date between the years %(first)d and %(last)d.")
            % {"first": RESPONDER_YEARS[0], "last": RESPONDER_YEARS[1]}
        ]
        return None
    return moment


@transaction.atomic
def responder_set(
    *,
    access: Access,
    address: Address,
    enabled: bool,
    subject: str = "",
    body: str = "",
    starts_at=None,
    ends_at=None,
) -> Responder:
    """Set the out-of-office reply of an address. When enabled it needs a subject and a
    body; the optional period must end after it starts and not in the past. Needs
    MANAGE_PRODUCT or a link with manage_redirection. Dovecot runs the Sieve script
    stored here from the next delivery on (mail/sieve.py)."""
    address_require_right(access, address, "manage_redirection")
    problems = {}
    starts_at = _moment(starts_at, "starts_at", problems)
    ends_at = _moment(ends_at, "ends_at", problems)
    subject = (subject or "").strip()
    body = (body or "").strip()
    if enabled:
        if not subject:
            problems["subject"] = [_("A responder needs a subject.")]
        if not body:
            problems["body"] = [_("A responder needs a message.")]
        if ends_at and ends_at <= timezone.now():
            problems["ends_at"] = [_("The end is already past.")]
    if subject:
        try:
            subject = clean_name(subject, field="subject", max_length=200)
        except InvalidInput as error:
            problems.update(error.fields)
    if len(body) > RESPONDER_BODY_MAX:
        problems["body"] = [_("At most %(n)d characters.") % {"n": RESPONDER_BODY_MAX}]
    if starts_at and ends_at and ends_at <= starts_at:
        problems["ends_at"] = [_("The end must come after the start.")]
    if problems:
        raise InvalidInput(fields=problems)
    responder = write_responder(
        address,
        enabled=bool(enabled),
        subject=subject,
        body=body,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    record_by(access, "mail.responder.set", address, {"enabled": bool(enabled)})
    return responder
