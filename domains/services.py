"""Services of Domains: adding and deleting domains, editing their zones, synonyms.

Every zone write is published (domains/publishers.py) inside the same transaction as
the database write, after it: if the DNS server refuses, the whole change is rolled
back, so the panel and the server never disagree.
"""

from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput
from panel.services import product_grants_delete
from panel.services.common import lock
from panel.services.domain_claims import domain_claim, domain_release

from .models import Domain, DomainKind, RRset
from .publishers import PublishedRRset, ZoneData, get_publisher
from .records import (
    CleanRRset,
    absolute_name,
    check_cname_rules,
    clean_domain_name,
    clean_rrset,
)

SOA_TIMERS = "10800 3600 604800 3600"  # refresh, retry, expire, negative TTL


class LocalRegistry:
    """The shipped registry backend: no real registry can be reached from here, so it
    only records the domain, registered for a year (README: "What is simulated")."""

    def register(self, name: str) -> date:
        return timezone.localdate() + timedelta(days=365)


REGISTRIES = {"local": LocalRegistry}


def next_serial(current: int, *, today: date | None = None) -> int:
    """YYYYMMDDnn, always above the current serial."""
    base = int((today or timezone.localdate()).strftime("%Y%m%d")) * 100
    return max(base, current + 1)


def _soa(zone: str, serial: int) -> PublishedRRset:
    primary = settings.DNS_NAMESERVERS[0] if settings.DNS_NAMESERVERS else f"ns.{zone}"
    return PublishedRRset(
        zone,
        "SOA",
        settings.DNS_DEFAULT_TTL,
        (f"{primary}. {settings.DNS_HOSTMASTER}. {serial} {SOA_TIMERS}",),
    )


def rename_under(name: str, main: str, synonym: str) -> str:
    return synonym if name == main else name[: -len(main)] + synonym


def _map_content(rtype: str, content: str, main: str, synonym: str) -> str:
    """Names under the main domain in a record's content point under the synonym."""
    suffix = f"{main}."
    words = content.split(" ")
    mapped = [
        (rename_under(word[:-1], main, synonym) + ".")
        if word.endswith(".") and (word == suffix or word.endswith("." + suffix))
        else word
        for word in words
    ]
    return " ".join(mapped)


def zone_data(domain: Domain) -> ZoneData:
    """What the DNS server must serve for a domain: its own records, or for a synonym
    the main domain's records with names mapped under the synonym."""
    source = domain.synonym_of if domain.is_synonym else domain
    rrsets = [_soa(domain.name, source.serial)]
    for rrset in source.rrsets.all():
        if domain.is_synonym:
            rrsets.append(
                PublishedRRset(
                    rename_under(rrset.name, source.name, domain.name),
                    rrset.type,
                    rrset.ttl,
                    tuple(
                        _map_content(rrset.type, c, source.name, domain.name) for c in rrset.records
                    ),
                )
            )
        else:
            rrsets.append(PublishedRRset(rrset.name, rrset.type, rrset.ttl, tuple(rrset.records)))
    return ZoneData(name=domain.name, serial=source.serial, rrsets=rrsets)


def _publish(domain: Domain, changed: set[tuple[str, str]]) -> None:
    """Publish a zone change and follow it in every synonym of the domain."""
    publisher = get_publisher()
    publisher.update(zone_data(domain), changed)
    for synonym in domain.synonyms.all():
        mapped = {(rename_under(name, domain.name, synonym.name), rtype) for name, rtype in changed}
        publisher.update(zone_data(synonym), mapped)


# -- domains ------------------------------------------------------------------------------


@transaction.atomic
def domain_add(*, access: Access, name: str, kind: str = DomainKind.NORMAL) -> Domain:
    """Add a domain to the organisation (through the registry backend) with a zone that
    starts with the panel's name servers. An administrator act (require_billing)."""
    access.require_billing()
    name = clean_domain_name(name)
    if kind not in DomainKind.values:
        raise InvalidInput(fields={"kind": [_("Choose normal or alias.")]})
    if Domain.objects.filter(organisation=access.organisation, name=name).exists():
        raise Conflict(
            _("%(name)s is already among your domains.") % {"name": name},
            code="already_exists",
            fields={"name": [_("This domain is already used.")]},
        )
    # Registered and served by the panel for this organisation: hosted, no proof needed.
    domain_claim(organisation=access.organisation, name=name, hosted=True, field="name")
    domain = Domain(
        organisation=access.organisation,
        name=name,
        kind=kind,
        expires_at=REGISTRIES["local"]().register(name),
        serial=next_serial(0),
    )
    try:
        with transaction.atomic():
            domain.save()
    except IntegrityError:
        raise Conflict(code="already_exists") from None
    RRset.objects.create(
        organisation=access.organisation,
        domain=domain,
        name=name,
        type="NS",
        ttl=settings.DNS_DEFAULT_TTL,
        records=[f"{ns}." for ns in settings.DNS_NAMESERVERS],
    )
    get_publisher().create(zone_data(domain))
    record_by(access, "domains.domain.added", domain, {"kind": kind})
    return domain


@transaction.atomic
def domain_delete(*, access: Access, domain: Domain, confirm_name: str) -> None:
    """Delete a domain after its name was typed: its zone leaves the DNS server. A main
    domain keeps its synonyms alive, so it cannot go before them (`has_synonyms`, checked
    before the typed name); a wrong name is `InvalidInput` on `confirm_name`."""
    access.require_billing(domain)
    lock(domain)
    # The rule first: a script learns that the domain cannot go before it is asked the name.
    synonyms = sorted(domain.synonyms.values_list("name", flat=True))
    if synonyms:
        raise Conflict(
            _("%(name)s is the main domain of %(synonyms)s: dissociate or delete them first.")
            % {"name": domain.name, "synonyms": ", ".join(synonyms)},
            code="has_synonyms",
        )
    if (confirm_name or "").strip().lower().rstrip(".") != domain.name:
        raise InvalidInput(
            _("Type the domain to confirm."),
            fields={"confirm_name": [_("Type %(name)s exactly.") % {"name": domain.name}]},
        )
    product_grants_delete(domain)
    record_by(access, "domains.domain.deleted", domain, {"name": domain.name})
    name = domain.name
    domain.delete()
    domain_release(organisation=access.organisation, name=name)
    get_publisher().delete(name)


# -- records --------------------------------------------------------------------------------


def require_own_zone(domain: Domain) -> None:
    if domain.is_synonym:
        raise Conflict(
            _(
                "%(name)s is a synonym of %(main)s and has no zone of its own: edit "
                "%(main)s, or dissociate %(name)s first."
            )
            % {"name": domain.name, "main": domain.synonym_of.name},
            code="is_synonym",
        )


def _clean_changes(domain: Domain, changes) -> list[CleanRRset]:
    cleaned, seen = [], set()
    for index, change in enumerate(changes):
        if not isinstance(change, dict):
            raise InvalidInput(fields={f"rrsets.{index}": [_("Expected an object.")]})
        prefix = f"rrsets.{index}." if len(changes) > 1 else ""
        try:
            rrset = clean_rrset(
                domain.name,
                change.get("name"),
                change.get("type"),
                change.get("ttl", settings.DNS_DEFAULT_TTL),
                change.get("records"),
            )
        except (InvalidInput, Conflict) as error:
            error.fields = {prefix + key: value for key, value in error.fields.items()}
            raise
        if (rrset.name, rrset.type) in seen:
            raise InvalidInput(
                fields={prefix + "name": [_("This name and type appear twice in the change.")]}
            )
        seen.add((rrset.name, rrset.type))
        cleaned.append(rrset)
    if not cleaned:
        raise InvalidInput(fields={"rrsets": [_("Send at least one rrset.")]})
    return cleaned


@transaction.atomic
def rrsets_apply(*, access: Access, domain: Domain, changes) -> list[RRset]:
    """Apply rrsets to a zone, all or none: each replaces the rrset of its name and type,
    and one with no records deletes it. The SOA serial advances. Needs MANAGE_PRODUCT."""
    access.require(Capability.MANAGE_PRODUCT, domain)
    require_own_zone(domain)
    cleaned = _clean_changes(domain, list(changes))
    lock(domain)
    existing = {(r.name, r.type): r for r in domain.rrsets.all()}
    final = set(existing)
    for rrset in cleaned:
        key = (rrset.name, rrset.type)
        if rrset.records:
            final.add(key)
        else:
            final.discard(key)
    check_cname_rules(final)
    if (domain.name, "NS") not in final:
        raise InvalidInput(
            _("A zone keeps its name servers: leave at least one NS record at its apex."),
            code="invalid_record",
            fields={"records": [_("The NS records of the apex cannot all go.")]},
        )
    now = timezone.now()
    for rrset in cleaned:
        key = (rrset.name, rrset.type)
        if not rrset.records:
            if key in existing:
                existing[key].delete()
            continue
        RRset.objects.update_or_create(
            domain=domain,
            name=rrset.name,
            type=rrset.type,
            defaults={
                "organisation": access.organisation,
                "ttl": rrset.ttl,
                "records": rrset.records,
                "updated_at": now,
            },
        )
    domain.serial = next_serial(domain.serial)
    domain.save(update_fields=["serial"])
    _publish(domain, {(r.name, r.type) for r in cleaned})
    record_by(
        access,
        "domains.rrsets.changed",
        domain,
        {"rrsets": [f"{r.name} {r.type}" for r in cleaned]},
    )
    return list(domain.rrsets.all())


@transaction.atomic
def rrset_create(*, access: Access, domain: Domain, change: dict) -> RRset:
    """Create the rrset of a name and type that has none yet (`already_exists`
    otherwise); the rules and the publishing are rrsets_apply's."""
    access.require(Capability.MANAGE_PRODUCT, domain)
    lock(domain)  # no other request may create the same rrset in between
    name = absolute_name(change.get("name"), domain.name)
    rtype = (change.get("type") or "").strip().upper()
    if domain.rrsets.filter(name=name, type=rtype).exists():
        raise Conflict(
            _("%(name)s already has %(type)s records; change them instead.")
            % {"name": name, "type": rtype},
            code="already_exists",
            fields={"name": [_("This name and type have records already.")]},
        )
    rrsets_apply(access=access, domain=domain, changes=[change])
    return domain.rrsets.get(name=name, type=rtype)


@transaction.atomic
def records_add(*, access: Access, domain: Domain, change: dict) -> list[RRset]:
    """Add records to the rrset of their name and type, creating it if needed; the TTL
    given applies to the whole rrset. Errors about `records.<n>` count the new records
    from 0."""
    access.require(Capability.MANAGE_PRODUCT, domain)
    lock(domain)
    try:
        name = absolute_name(change.get("name"), domain.name)
    except InvalidInput:
        name = None  # rrsets_apply names what is wrong with it
    rtype = (change.get("type") or "").strip().upper()
    current = domain.rrsets.filter(name=name, type=rtype).first() if name else None
    existing = list(current.records) if current else []
    try:
        return rrsets_apply(
            access=access,
            domain=domain,
            changes=[{**change, "records": existing + list(change.get("records") or [])}],
        )
    except (InvalidInput, Conflict) as error:
        error.fields = {
            _shift_record(key, len(existing)): value for key, value in error.fields.items()
        }
        raise


def _shift_record(key: str, offset: int) -> str:
    head, _dot, index = key.partition(".")
    if head == "records" and index.isdigit():
        return f"records.{int(index) - offset}"
    return key


# -- synonyms -----------------------------------------------------------------------------------


@transaction.atomic
def synonym_make(*, access: Access, main: Domain, synonym: Domain) -> Domain:
    """Make `synonym` answer with the main domain's records from now on: its own records
    are dropped. Both domains belong to the organisation; a main domain is not itself a
    synonym, and a domain with synonyms cannot become one."""
    access.require(Capability.MANAGE_PRODUCT, main)
    access.require(Capability.MANAGE_PRODUCT, synonym)
    lock(main)
    lock(synonym)
    if synonym.pk == main.pk:
        raise InvalidInput(fields={"name": [_("A domain cannot be its own synonym.")]})
    if main.is_synonym:
        raise Conflict(
            _("%(name)s is itself a synonym; choose its main domain.") % {"name": main.name},
            code="is_synonym",
        )
    if synonym.synonyms.exists():
        raise Conflict(
            _("%(name)s has synonyms of its own.") % {"name": synonym.name}, code="has_synonyms"
        )
    synonym.rrsets.all().delete()
    synonym.synonym_of = main
    synonym.save(update_fields=["synonym_of"])
    # The synonym serves the main zone's serial from now on: it must not go backwards,
    # or secondary servers would keep the old zone.
    if main.serial <= synonym.serial:
        main.serial = next_serial(synonym.serial)
        main.save(update_fields=["serial"])
        _publish(main, set())
    get_publisher().replace(zone_data(synonym))
    record_by(access, "domains.synonym.made", synonym, {"main": main.name})
    return synonym


@transaction.atomic
def synonym_dissociate(*, access: Access, synonym: Domain) -> Domain:
    """Give a synonym its own zone: a copy of what it answers now, which stops following
    the main domain."""
    access.require(Capability.MANAGE_PRODUCT, synonym)
    lock(synonym)
    if not synonym.is_synonym:
        raise Conflict(_("%(name)s is not a synonym.") % {"name": synonym.name}, code="not_synonym")
    served = zone_data(synonym)
    main = synonym.synonym_of
    RRset.objects.bulk_create(
        [
            RRset(
                organisation=access.organisation,
                domain=synonym,
                name=rrset.name,
                type=rrset.type,
                ttl=rrset.ttl,
                records=list(rrset.records),
            )
            for rrset in served.rrsets
            if rrset.type != "SOA"
        ]
    )
    synonym.synonym_of = None
    synonym.serial = next_serial(max(synonym.serial, main.serial))
    synonym.save(update_fields=["synonym_of", "serial"])
    get_publisher().replace(zone_data(synonym))
    record_by(access, "domains.synonym.dissociated", synonym, {"main": main.name})
    return synonym
