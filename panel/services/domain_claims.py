"""One organisation per domain name, across every product.

A product that starts using a domain name (a zone in Domains, a Service Mail, an extra
domain ...) claims it here first, inside its own transaction. A name and every name
under it belong to one organisation: another organisation asking for the name, a name
under it or a name above it gets a Conflict that does not say who holds it.

A name the panel hosts for the organisation (a domain in Domains, or a name under one of
its verified names) is verified at once. Any other name must be proven: the organisation
publishes `_panel-verification.<name> TXT "panel-verification=<token>"` where the name's
DNS is served, and until a resolver (DNS_RESOLVER) answers it, products do not serve the
name (Postfix accepts no mail for it). Pending names are checked every few minutes
(panel.tasks.verify_domain_claims) and whenever someone asks.
"""

import secrets

import dns.exception
import dns.resolver
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from publicsuffixlist import PublicSuffixList

from ..errors import Conflict, InvalidInput
from ..models import DomainClaim
from ..products import domain_still_held
from ..resolvers import resolver_for

#: Any fixed number: the key of the PostgreSQL advisory lock that orders claims.
_CLAIM_LOCK_KEY = 727_001
_PUBLIC_SUFFIXES = PublicSuffixList()


def _names_above(name: str) -> list[str]:
    """`a.b.example.com` -> [b.example.com, example.com, com]."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels))]


def _overlapping(name: str):
    """Claims on the name itself, on a name above it or on a name under it."""
    return DomainClaim.objects.filter(
        Q(name=name) | Q(name__in=_names_above(name)) | Q(name__endswith="." + name)
    )


def _serialise_claims() -> None:
    """Claims are checked then written: one at a time, so two organisations asking for
    overlapping names at once cannot both pass the check. SQLite has one writer anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CLAIM_LOCK_KEY])


def _taken(name: str, field: str) -> Conflict:
    return Conflict(
        _("%(name)s is used by another organisation. If the domain is yours, contact support.")
        % {"name": name},
        code="domain_taken",
        fields={field: [_("This domain is used by another organisation.")]},
    )


@transaction.atomic
def domain_claim(
    *, organisation, name: str, hosted: bool = False, field: str = "domain"
) -> DomainClaim:
    """Claim `name` (already cleaned: lowercase, no final dot) for `organisation`.

    `hosted`: the panel serves the name for this organisation (Domains), so it needs no
    proof. Raises Conflict `domain_taken` (naming `field`) when another organisation
    holds the name, a name above it or a name under it, and InvalidInput for a public
    suffix (`co.uk`: nobody may hold everything under it)."""
    if _PUBLIC_SUFFIXES.is_public(name):
        raise InvalidInput(
            fields={field: [_("%(name)s is a public suffix, not a domain.") % {"name": name}]}
        )
    _serialise_claims()
    overlapping = list(_overlapping(name))
    if any(claim.organisation_id != organisation.pk for claim in overlapping):
        raise _taken(name, field)
    own = next((claim for claim in overlapping if claim.name == name), None)
    proven_above = any(c.is_verified for c in overlapping if c.name in _names_above(name))
    if own is None:
        own = DomainClaim(
            organisation=organisation,
            name=name,
            token=secrets.token_urlsafe(24),
            verified_at=timezone.now() if hosted or proven_above else None,
        )
        try:
            with transaction.atomic():
                own.save()
        except IntegrityError:  # only if a writer skipped the lock
            raise _taken(name, field) from None
    elif not own.is_verified and (hosted or proven_above):
        _mark_verified(own)
    return own


def domain_release(*, organisation, name: str) -> None:
    """Give `name` back once no product of the organisation uses it any more. Products
    call it after deleting what used the name, in the same transaction."""
    if not domain_still_held(organisation.pk, name):
        DomainClaim.objects.filter(organisation=organisation, name=name).delete()


def claims_of(organisation, names) -> dict[str, DomainClaim]:
    """The organisation's claims on `names`, by name: one query. `organisation` is an
    Organisation or its id."""
    organisation_id = getattr(organisation, "pk", organisation)
    return {
        claim.name: claim
        for claim in DomainClaim.objects.filter(
            organisation_id=organisation_id, name__in=set(names)
        )
    }


def _mark_verified(claim: DomainClaim) -> None:
    """Verified, with every pending name of the same organisation under it: control of a
    domain is control of its subdomains."""
    now = timezone.now()
    claim.verified_at = now
    claim.save(update_fields=["verified_at"])
    DomainClaim.objects.filter(
        organisation_id=claim.organisation_id,
        name__endswith="." + claim.name,
        verified_at__isnull=True,
    ).update(verified_at=now)


def default_resolver():
    """DNS_RESOLVER (panel/resolvers.py: a server, or the panel's own zones)."""
    return resolver_for(
        settings.DNS_RESOLVER, settings.DNS_RESOLVER_PORT, settings.DNS_RESOLVER_TIMEOUT
    )


#: What the last check found, kept as a code (shown in the reader's language).
NO_RECORD, WRONG_VALUE, TIMEOUT, NO_ANSWER = "no_record", "wrong_value", "timeout", "no_answer"


def check_result_text(code: str, record_name: str) -> str:
    """The sentence for a stored check result, in the current language."""
    return {
        NO_RECORD: _("No TXT record at %(name)s yet.") % {"name": record_name},
        WRONG_VALUE: _("The TXT record at %(name)s does not hold the expected value.")
        % {"name": record_name},
        TIMEOUT: _("The resolver did not answer in time; try again in a moment."),
        NO_ANSWER: _("The resolver could not answer; try again in a moment."),
    }.get(code, "")


def _published_values(resolver, record_name: str) -> tuple[list[str] | None, str]:
    """(the TXT values served, or None when the resolver could not say; the result code
    should they not hold the token)."""
    try:
        answer = resolver.resolve(record_name + ".", "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return [], NO_RECORD
    except dns.exception.Timeout:
        return None, TIMEOUT
    except dns.exception.DNSException:
        return None, NO_ANSWER
    values = [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]
    return values, WRONG_VALUE


def domain_claim_verify(*, claim: DomainClaim, resolver=None) -> DomainClaim:
    """Look for the claim's TXT record now; verified when the resolver serves it. The
    outcome is kept on the claim (`checked_at`, `check_result`) for the pages to show.
    The caller checks that the person may act on a product using the name."""
    if claim.is_verified:
        return claim
    values, why = _published_values(resolver or default_resolver(), claim.record_name)
    with transaction.atomic():
        fresh = DomainClaim.objects.select_for_update().filter(pk=claim.pk).first()
        if fresh is None or fresh.is_verified:
            return fresh or claim
        fresh.checked_at = timezone.now()
        if values is not None and fresh.record_value in values:
            fresh.check_result = ""
            fresh.save(update_fields=["checked_at", "check_result"])
            _mark_verified(fresh)
        else:
            fresh.check_result = why
            fresh.save(update_fields=["checked_at", "check_result"])
    return fresh


def pending_claims_verify(*, resolver=None) -> int:
    """Check every pending claim once (the beat task); how many became verified."""
    resolver = resolver or default_resolver()
    verified = 0
    for claim in DomainClaim.objects.filter(verified_at__isnull=True).order_by("checked_at"):
        verified += domain_claim_verify(claim=claim, resolver=resolver).is_verified
    return verified


def verification_of(name: str, claim: DomainClaim | None) -> dict:
    """What the pages and the API show of a name's proof (DomainVerificationOut): the
    record to publish while it waits, nothing once verified."""
    verified = claim is not None and claim.is_verified
    return {
        "domain": name,
        "status": "verified" if verified else "waiting_for_verification",
        "record": None
        if verified or claim is None
        else {"name": claim.record_name, "type": "TXT", "value": claim.record_value},
        "checked_at": claim.checked_at if claim is not None else None,
        "check_result": ""
        if verified or claim is None
        else check_result_text(claim.check_result, claim.record_name),
    }
