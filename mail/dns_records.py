"""The DNS records a domain needs to be used with Service Mail (MX, SPF, DKIM, DMARC,
autoconfig/autodiscover), the DKIM keys the panel generates for it, and a diagnostic that
compares each expected record with what a real resolver answers, with the exact fix.

Mail publishes into the customer's zone through Domains' services; Domains offers these
records on its pages and API through `domains.hooks.MailRecords`, filled in
MailConfig.ready(), and never imports mail. The mail hostnames, the DKIM selector and the
resolver come from settings (MAIL_DNS_*), with the defaults below. Every write goes
through `domains.services.rrsets_apply`, in one change.
"""

import base64
import logging
from concurrent.futures import ThreadPoolExecutor, wait

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from domains.models import DkimKey, Domain
from domains.records import clean_record
from domains.services import rename_under, require_own_zone, rrsets_apply
from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput
from panel.resolvers import resolver_for
from panel.secrets import seal, unseal
from panel.services.common import lock

from . import selectors
from .models import MailService
from .services.rules import service_domains

logger = logging.getLogger(__name__)

MX_HOST = "mx.panel.localhost"
SPF_INCLUDE = "spf.panel.localhost"
AUTOCONFIG_HOST = "autoconfig.panel.localhost"
DKIM_SELECTOR = "panel"
DKIM_KEY_BITS = 2048
RESOLVER = "127.0.0.1"
RESOLVER_PORT = 53
RESOLVER_TIMEOUT = 3.0  # seconds for each question
#: seconds for all the questions of one check together, asked at once
CHECK_DEADLINE = 4.0

#: Checks whose records share their name and type with records of other uses: only the
#: record starting with this tag is the mail service's, the others are kept.
TAGGED = {"spf": "v=spf1", "dmarc": "v=dmarc1"}


def _setting(name: str, default):
    return getattr(settings, f"MAIL_DNS_{name}", default)


# -- DKIM keys ------------------------------------------------------------------------------


def dkim_key_of(domain: Domain) -> DkimKey | None:
    """The domain's newest DKIM key that is not retired: the one its zone must publish
    (a synonym signs with its main domain's). It may still wait to be served."""
    owner = domain.synonym_of if domain.is_synonym else domain
    return DkimKey.objects.filter(domain=owner, retired_at__isnull=True).first()


def dkim_signing_key_of(domain: Domain) -> DkimKey | None:
    """The key the mail server signs with: the newest one whose record was seen served.
    None while the domain has no key, or its first key waits to be served."""
    owner = domain.synonym_of if domain.is_synonym else domain
    return (
        DkimKey.objects.filter(DkimKey.SIGNING, domain=owner)
        .order_by("-signing_since", "-id")
        .first()
    )


def _next_selector(domain: Domain) -> str:
    """A selector the domain has never used: the base selector, then base-YYYYMMDD,
    with a letter added when a domain rotates twice a day."""
    base = _setting("DKIM_SELECTOR", DKIM_SELECTOR)
    used = set(DkimKey.objects.filter(domain=domain).values_list("selector", flat=True))
    if base not in used:
        return base
    dated = f"{base}-{timezone.now():%Y%m%d}"
    for suffix in ["", *"abcdefghijklmnopqrstuvwxyz"]:
        if dated + suffix not in used:
            return dated + suffix
    raise Conflict(_("This domain's DKIM key was rotated too often today."), code="dkim_rotated")


def _dkim_key_create(domain: Domain) -> DkimKey:
    """An RSA key pair; the private key leaves memory only sealed."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=DKIM_KEY_BITS)
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return DkimKey.objects.create(
        organisation=domain.organisation,
        domain=domain,
        selector=_next_selector(domain),
        public_key=base64.b64encode(public_der).decode(),
        sealed_private_key=seal(pem),
    )


def _dkim_key_ensure(domain: Domain) -> DkimKey:
    with transaction.atomic():
        lock(domain)
        return dkim_key_of(domain) or _dkim_key_create(domain)


def _activation_enqueue(domain: Domain) -> None:
    """After the zone change commits, look for the new key's record (by task name: the
    task calls this module; sent, not run in place, even in eager mode, since it asks a
    resolver)."""
    transaction.on_commit(lambda: _activation_send(domain.pk))


def _activation_send(domain_id: int) -> None:
    from celery import current_app

    try:
        current_app.send_task("mail.tasks.activate_dkim_keys", args=[domain_id])
    except Exception as error:  # broker down: the sweep on beat finds the key a little later
        logger.warning(
            "Could not queue the DKIM key activation of domain %s (%s); the periodic "
            "sweep will find the key.",
            domain_id,
            error,
        )


def dkim_keys_activate(*, domain: Domain, resolver=None) -> list[DkimKey]:
    """Start signing with each waiting key of `domain` whose record the resolver serves,
    and retire the keys it replaces. Safe to run at any time and twice: a key whose
    record is not served yet keeps waiting. Returns the keys that started signing."""
    resolver = resolver or default_resolver()
    zone = domain.synonym_of if domain.is_synonym else domain
    waiting = list(DkimKey.objects.filter(DkimKey.WAITING, domain=zone))
    served = []
    for key in waiting:
        found, _why = _ask(resolver, f"{key.selector}._domainkey.{zone.name}", "TXT")
        expected = f"v=DKIM1; k=rsa; p={key.public_key}"
        if found and any(_txt_text(content) == expected for content in found):
            served.append(key)
    if not served:
        return []
    newest = max(served, key=lambda key: (key.created_at, key.pk))
    now = timezone.now()
    with transaction.atomic():
        lock(zone)
        DkimKey.objects.filter(pk=newest.pk, signing_since__isnull=True).update(signing_since=now)
        # every other key, signing or still waiting for an older record, gives way
        DkimKey.objects.filter(domain=zone, retired_at__isnull=True).exclude(pk=newest.pk).update(
            retired_at=now
        )
    newest.refresh_from_db()
    return [newest]


def dkim_waiting_keys_activate(*, domain_id: int | None = None) -> int:
    """dkim_keys_activate for every domain with a waiting key (or only `domain_id`):
    what beat runs, and the task a zone change queues. Returns how many keys started."""
    domains = Domain.objects.filter(
        pk__in=DkimKey.objects.filter(DkimKey.WAITING).values("domain_id")
    )
    if domain_id is not None:
        domains = domains.filter(pk=domain_id)
    return sum(len(dkim_keys_activate(domain=domain)) for domain in domains)


@transaction.atomic
def dkim_key_rotate(*, access: Access, domain: Domain) -> DkimKey:
    """Give `domain` a new DKIM key under a new selector and publish it beside the
    current one. The mail server keeps signing with the current key until the new
    record is served (dkim_keys_activate), so no message is signed with a key that
    receivers cannot find yet. Needs MANAGE_PRODUCT; a synonym shares its main domain's
    key (Conflict `is_synonym`)."""
    access.require(Capability.MANAGE_PRODUCT, domain)
    require_own_zone(domain)
    lock(domain)
    key = _dkim_key_create(domain)
    dkim = [r for r in expected_mail_records(domain) if r["check"] == "dkim"]
    rrsets_apply(access=access, domain=domain, changes=_changes(domain, dkim))
    record_by(access, "domains.dkim_key.rotated", domain, {"selector": key.selector})
    _activation_enqueue(domain)
    return key


def dkim_private_key_pem(key: DkimKey) -> str:
    """The private key in PEM, for the mail server that signs; ValueError if unreadable
    (SECRET_KEY changed since it was sealed)."""
    return unseal(key.sealed_private_key)


# -- expected records -------------------------------------------------------------------------


def expected_mail_records(domain: Domain, service: MailService | None = None) -> list[dict]:
    """The records Service Mail needs at `domain`, each `{check, name, type, values}`:
    `name` absolute without the final dot, `values` in presentation format as a DNS server
    answers them. The records are the same for every service (the hosts come from
    settings); `service` is accepted for callers that hold one. The DKIM record has no
    values while the domain has no key. A synonym expects its main domain's records
    under its own name, as it serves them."""
    source = domain.synonym_of if domain.is_synonym else domain
    zone = source.name
    mx_host = _setting("MX_HOST", MX_HOST).rstrip(".")
    autoconfig = _setting("AUTOCONFIG_HOST", AUTOCONFIG_HOST).rstrip(".")
    spf_include = _setting("SPF_INCLUDE", SPF_INCLUDE).rstrip(".")
    key = dkim_key_of(domain)
    selector = key.selector if key else _setting("DKIM_SELECTOR", DKIM_SELECTOR)
    wanted = [
        ("mx", zone, "MX", f"10 {mx_host}."),
        ("spf", zone, "TXT", f"v=spf1 include:{spf_include} -all"),
        (
            "dkim",
            f"{selector}._domainkey.{zone}",
            "TXT",
            f"v=DKIM1; k=rsa; p={key.public_key}" if key else None,
        ),
        ("dmarc", f"_dmarc.{zone}", "TXT", f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{zone}"),
        ("autoconfig", f"autoconfig.{zone}", "CNAME", f"{autoconfig}."),
        ("autodiscover", f"autodiscover.{zone}", "CNAME", f"{autoconfig}."),
        ("autodiscover_srv", f"_autodiscover._tcp.{zone}", "SRV", f"0 0 443 {autoconfig}."),
    ]
    return [
        {
            "check": check,
            "name": rename_under(name, zone, domain.name),
            "type": rtype,
            "values": [] if value is None else [clean_record(rtype, value, zone, field=check)],
        }
        for check, name, rtype, value in wanted
    ]


def _txt_text(content: str) -> str:
    """A TXT record's strings joined, as a mail server reads them."""
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, content)
    return b"".join(rdata.strings).decode("utf-8", "replace")


def _is_tagged(check: str, content: str) -> bool:
    tag = TAGGED[check]
    text = _txt_text(content).strip().lower()
    return text == tag or text.startswith(tag + " ") or text.startswith(tag + ";")


def _same(rtype: str, first: str, second: str) -> bool:
    """Records equal as a DNS client sees them: TXT by their joined text (strings may be
    cut differently), the others by their content, names in any case."""
    try:
        if rtype == "TXT":
            return _txt_text(first) == _txt_text(second)
        kind = dns.rdatatype.from_text(rtype)
        return dns.rdata.from_text(dns.rdataclass.IN, kind, first) == dns.rdata.from_text(
            dns.rdataclass.IN, kind, second
        )
    except (dns.exception.DNSException, ValueError):
        return False


def _same_set(rtype: str, found: list[str], expected: list[str]) -> bool:
    return len(found) == len(expected) and all(
        any(_same(rtype, f, e) for f in found) for e in expected
    )


def _changes(domain: Domain, records: list[dict]) -> list[dict]:
    """rrsets_apply changes that set `records`; for SPF and DMARC only the tagged record
    is replaced and the other TXT records of the name stay."""
    ttl = settings.DNS_DEFAULT_TTL
    existing = {(r.name, r.type): r.records for r in domain.rrsets.all()}
    changes = []
    for record in records:
        values = list(record["values"])
        if record["check"] in TAGGED:
            kept = existing.get((record["name"], record["type"]), [])
            values = [c for c in kept if not _is_tagged(record["check"], c)] + values
        changes.append(
            {"name": record["name"] + ".", "type": record["type"], "ttl": ttl, "records": values}
        )
    return changes


# -- writes -----------------------------------------------------------------------------------


@transaction.atomic
def mail_records_add(*, access: Access, domain: Domain, service: MailService) -> list[dict]:
    """Use `domain` with Service Mail: generate its DKIM key if it has none and set every
    expected record in one zone change. Needs MANAGE_PRODUCT on the domain and
    VIEW_PRODUCT on the service, which must receive mail at this domain (InvalidInput on
    `service`); a synonym has no zone of its own (Conflict `is_synonym`). Returns the
    records set."""
    access.require(Capability.MANAGE_PRODUCT, domain)
    access.require(Capability.VIEW_PRODUCT, service)
    require_own_zone(domain)
    if domain.name not in service_domains(service):
        raise InvalidInput(
            fields={
                "service": [
                    _("This Service Mail does not receive mail at %(name)s.")
                    % {"name": domain.name}
                ]
            }
        )
    _dkim_key_ensure(domain)
    records = expected_mail_records(domain, service)
    rrsets_apply(access=access, domain=domain, changes=_changes(domain, records))
    record_by(
        access,
        "domains.mail_records.added",
        domain,
        {"service": service.name, "rrsets": [f"{r['name']} {r['type']}" for r in records]},
    )
    _activation_enqueue(domain)
    return records


def mail_fixes_apply(*, access: Access, domain: Domain, resolver=None) -> list[dict]:
    """Set, in one zone change, the expected record of every check that is not OK
    (generating the DKIM key first if there is none), then check again. Needs
    MANAGE_PRODUCT; a synonym has no zone of its own to fix (Conflict `is_synonym`)."""
    access.require(Capability.MANAGE_PRODUCT, domain)
    require_own_zone(domain)
    _dkim_key_ensure(domain)
    checks = mail_checks(access=access, domain=domain, resolver=resolver)
    codes = {check["check"] for check in checks if not check["ok"]}
    if codes:
        records = [r for r in expected_mail_records(domain) if r["check"] in codes]
        with transaction.atomic():
            rrsets_apply(access=access, domain=domain, changes=_changes(domain, records))
            record_by(access, "domains.mail_records.fixed", domain, {"checks": sorted(codes)})
            _activation_enqueue(domain)
    return mail_checks(access=access, domain=domain, resolver=resolver)


def record_services(*, access: Access):
    """The Service Mails the person sees, by domain: those a domain's records may serve."""
    return selectors.service_list(access=access).order_by("domain")


# -- diagnostic ---------------------------------------------------------------------------------


def default_resolver():
    """MAIL_DNS_RESOLVER (panel/resolvers.py: a server, or the panel's own zones)."""
    return resolver_for(
        _setting("RESOLVER", RESOLVER),
        _setting("RESOLVER_PORT", RESOLVER_PORT),
        _setting("RESOLVER_TIMEOUT", RESOLVER_TIMEOUT),
    )


def _ask(resolver, name: str, rtype: str) -> tuple[list[str] | None, str | None]:
    """(answers in presentation format, None), ([], None) when there are none, or
    (None, why) when the resolver could not say."""
    try:
        answer = resolver.resolve(name + ".", rtype)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return [], None
    except dns.exception.Timeout:
        return None, _("The resolver did not answer in time; this record could not be checked.")
    except dns.resolver.NoNameservers:
        return None, _(
            "The resolver failed or refused to answer; this record could not be checked."
        )
    except dns.exception.DNSException as error:
        return None, _("The resolver could not answer (%(reason)s).") % {
            "reason": str(error) or error.__class__.__name__
        }
    return sorted(
        item.to_text() if hasattr(item, "to_text") else str(item) for item in answer
    ), None


def _fix(record: dict) -> str:
    ttl = settings.DNS_DEFAULT_TTL
    return "\n".join(
        f"{record['name']}. {ttl} IN {record['type']} {value}" for value in record["values"]
    )


def _ask_all(resolver, records: list[dict]) -> list[tuple[list[str] | None, str | None]]:
    """Every record's question at once, with one deadline for them all (a resolver that
    does not answer costs one timeout, not one per record); a question still open at the
    deadline could not be checked."""
    deadline = float(_setting("CHECK_DEADLINE", CHECK_DEADLINE))
    pool = ThreadPoolExecutor(max_workers=len(records), thread_name_prefix="mail-dns-check")
    futures = [pool.submit(_ask, resolver, r["name"], r["type"]) for r in records]
    wait(futures, timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)
    late = _("The resolver did not answer in time; this record could not be checked.")
    return [f.result() if f.done() and not f.exception() else (None, late) for f in futures]


#: What each check is called on the pages (the API names them by `check`).
CHECK_LABELS = {
    "mx": "MX",
    "spf": "SPF",
    "dkim": "DKIM",
    "dmarc": "DMARC",
    "autoconfig": pgettext_lazy("a mail DNS check", "Autoconfig"),
    "autodiscover": pgettext_lazy("a mail DNS check", "Autodiscover"),
    "autodiscover_srv": pgettext_lazy("a mail DNS check", "Autodiscover (SRV)"),
}

#: What a check found: the record as expected, another answer (or none), no answer from
#: the resolver at all (its own state: the record may well be right), no key to expect.
OK, WRONG, UNKNOWN, NO_KEY = "ok", "wrong", "unknown", "no_key"


def mail_expected(*, access: Access, domain: Domain) -> list[dict]:
    """The records a check will ask for, before asking (the rows the page shows while
    the answers come in): `[{check, name, type, expected}]`. Needs VIEW_PRODUCT."""
    access.require(Capability.VIEW_PRODUCT, domain)
    return [
        {
            "check": r["check"],
            "label": CHECK_LABELS.get(r["check"], r["check"]),
            "name": r["name"],
            "type": r["type"],
            "expected": r["values"],
        }
        for r in expected_mail_records(domain)
    ]


def mail_checks(*, access: Access, domain: Domain, resolver=None, only=None) -> list[dict]:
    """Each expected record beside what a resolver answers:
    `[{check, name, type, expected, found, status, ok, fix, message}]`. `found` is the
    list of answers ([] when there are none; for SPF and DMARC only the tagged TXT
    records) or None when the resolver could not say; `status` is OK, WRONG, UNKNOWN
    (could not check: `message` says why) or NO_KEY; `fix` is the record to set, in
    zone-file form, when it is not OK. `only`: the check keys to ask (all by default).
    `resolver` is anything with dnspython's `resolve(name, type)`; by default
    MAIL_DNS_RESOLVER (panel/resolvers.py). Needs VIEW_PRODUCT."""
    access.require(Capability.VIEW_PRODUCT, domain)
    resolver = resolver or default_resolver()
    signing = dkim_signing_key_of(domain)
    records = expected_mail_records(domain)
    if only is not None:
        records = [record for record in records if record["check"] in set(only)]
    answers = _ask_all(resolver, records) if records else []
    checks = []
    for record, (found, message) in zip(records, answers, strict=True):
        if found is not None and record["check"] in TAGGED:
            found = [content for content in found if _is_tagged(record["check"], content)]
        if not record["values"]:
            status = NO_KEY
            message = (
                _(
                    "No DKIM key yet, so mail from this domain is sent unsigned: apply the "
                    "fixes to generate one."
                )
                if _has_service(domain)
                else _(
                    "No DKIM key yet, so mail from this domain is sent unsigned: use the "
                    "domain with Service Mail, or apply the fixes, to generate one."
                )
            )
        elif found is None:
            status = UNKNOWN
        else:
            status = OK if _same_set(record["type"], found, record["values"]) else WRONG
            if record["check"] == "dkim" and message is None and signing is None:
                message = (
                    _("Mail is signed with this key as soon as this record is served.")
                    if status == OK
                    else _("Mail from this domain is sent unsigned until this record is served.")
                )
        checks.append(
            {
                "check": record["check"],
                "label": CHECK_LABELS.get(record["check"], record["check"]),
                "name": record["name"],
                "type": record["type"],
                "expected": record["values"],
                "found": found,
                "status": status,
                "ok": status == OK,
                "fix": None if status == OK or not record["values"] else _fix(record),
                "message": message,
            }
        )
    return checks


def _has_service(domain: Domain) -> bool:
    """Whether the domain (or the main domain of a synonym) has a Service Mail of its
    organisation: then the advice is not to "use it with Service Mail"."""
    source = domain.synonym_of if domain.is_synonym else domain
    return MailService.objects.filter(
        organisation_id=domain.organisation_id, domain__in={domain.name, source.name}
    ).exists()
