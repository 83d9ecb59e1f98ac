"""Choosing how a domain's registration is renewed."""

from django.db import transaction
from django.utils.translation import gettext as _

from panel.access import Access
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput
from panel.services.common import lock

from .models import Domain, Renewal

#: What a person may choose; `expired` is a state the registry reports, not a choice.
CHOICES = (Renewal.AUTOMATIC, Renewal.MANUAL)


@transaction.atomic
def domain_set_renewal(*, access: Access, domain: Domain, renewal: str) -> Domain:
    """Renew the domain automatically or by hand: what the organisation pays changes, so
    an administrator act (require_billing).
    Raises InvalidInput for another value, Conflict `domain_expired` for a domain that
    has already expired (choosing cannot bring it back)."""
    access.require_billing(domain)
    if renewal not in CHOICES:
        raise InvalidInput(fields={"renewal": [_("Choose automatic or manual.")]})
    lock(domain)
    if domain.renewal == Renewal.EXPIRED:
        raise Conflict(
            _("%(name)s has expired; its renewal can no longer be chosen.") % {"name": domain.name},
            code="domain_expired",
        )
    if domain.renewal == renewal:
        return domain
    old = domain.renewal
    domain.renewal = renewal
    domain.save(update_fields=["renewal"])
    record_by(access, "domains.domain.renewal_changed", domain, {"from": old, "to": renewal})
    return domain
