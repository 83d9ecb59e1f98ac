"""The rules every Service Mail service applies: domain and local-part syntax, one
namespace per service, password strength and plan bounds."""

import re
import secrets
import string
import unicodedata

from django.utils.translation import gettext as _

from domains.records import clean_domain_name
from panel.errors import Conflict, InvalidInput

from ..models import Address, Alias, ExtraDomain, MailService, RedirectAddress
from ..plans import PLANS, Plan

# Letters, digits and . - _ + only: a local part also names a Maildir directory.
_ATEXT = r"[a-z0-9_+-]+"
_LOCAL_PART_RE = re.compile(rf"^{_ATEXT}(?:\.{_ATEXT})*$")
LOCAL_PART_MAX = 64
PASSWORD_MIN = 10
PASSWORD_MAX = 128
GENERATED_PASSWORD_LENGTH = 20
MODES = ("self", "users", "unassigned")
PERMISSIONS = ("change_password", "manage_aliases", "manage_redirection", "manage_backups")


# -- validation helpers -------------------------------------------------------------------


def clean_domain(domain: str, *, field: str = "domain") -> str:
    """A hostname with at least one dot, stored lowercase and without a final dot: the
    rule of Domains, so a Service Mail's domain can always be a zone of the panel."""
    return clean_domain_name(domain, field=field)


def ensure_domain_free(domain: str) -> None:
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


def taken_local_parts(service: MailService, among=None) -> set[str]:
    """The local parts used in a service (`among` them only, if given): addresses, aliases
    and redirect-only addresses share one namespace. One query."""
    queries = [  # unordered: SQLite (`make run`) refuses ORDER BY inside a UNION
        model.objects.filter(service=service).order_by().values_list("local_part", flat=True)
        for model in (Address, Alias, RedirectAddress)
    ]
    if among is not None:
        queries = [query.filter(local_part__in=list(among)) for query in queries]
    return set(queries[0].union(*queries[1:]))


def percent_used(used: int, limit: int) -> int:
    """How full a quota or a limit is, 0 to 100; a limit of 0 is full."""
    if limit <= 0:
        return 100
    return min(100, round(100 * used / limit))


def addresses_left(service: MailService) -> int:
    """How many more addresses the service's quota allows (0 when it is full)."""
    return max(service.address_quota - service.addresses.count(), 0)


def ensure_local_part_free(service: MailService, local_part: str, *, field: str) -> None:
    if taken_local_parts(service, [local_part]):
        raise local_part_taken(service, local_part, field)


def local_part_taken(service: MailService, local_part: str, field: str) -> Conflict:
    return Conflict(
        _("%(address)s already exists.") % {"address": f"{local_part}@{service.domain}"},
        code="already_exists",
        fields={field: [_("This address is already used.")]},
    )


def check_password_rules(password: str, *, local_part: str) -> None:
    """At least 10 characters (at most 128), with letters and digits, without the address's
    local part, and without control characters (which no mail client can type)."""
    password = password or ""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(_("Use at least %(n)d characters.") % {"n": PASSWORD_MIN})
    if len(password) > PASSWORD_MAX:
        problems.append(_("Use at most %(n)d characters.") % {"n": PASSWORD_MAX})
    if any(unicodedata.category(char) == "Cc" for char in password):
        problems.append(_("Do not use control characters such as tabs or line breaks."))
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append(_("Use both letters and digits."))
    # Only names long enough to be guessed: "a" would forbid nearly every password.
    if local_part and len(local_part) >= 3 and local_part.lower() in password.lower():
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


def plan_named(key: str) -> Plan:
    plan = PLANS.get(key)
    if plan is None:
        raise InvalidInput(fields={"plan": [_("Unknown plan.")]})
    return plan


def check_quota(plan: Plan, quota) -> int:
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


def service_domains(service: MailService) -> set[str]:
    """The domain of a service and its extra domains."""
    return {service.domain, *service.extra_domains.values_list("domain", flat=True)}
