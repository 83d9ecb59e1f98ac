"""Checking DNS records before they reach a zone: names, types, TTLs and contents, parsed
with dnspython, and the rules between rrsets (CNAME alone at its name, never at the apex).

Errors are InvalidInput/Conflict with the code the API promises (`invalid_record`,
`cname_conflict`) and a message under the field at fault: `name`, `type`, `ttl` or
`records.<n>` (the n-th record of the rrset, from 0).
"""

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from django.utils.translation import gettext as _

from panel.errors import Conflict, InvalidInput

TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "NS")
#: Types the panel keeps for itself at the apex.
MANAGED_TYPES = ("SOA",)
TTL_MIN, TTL_MAX = 60, 604800
TXT_CHUNK = 255
MAX_RECORDS = 100


@dataclass(frozen=True)
class CleanRRset:
    name: str  # absolute, lowercase, without the final dot
    type: str
    ttl: int
    records: list[str]  # presentation format, names absolute with their final dot


def invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_record", fields={field: [message]})


def clean_domain_name(value: str, *, field: str = "name") -> str:
    """A registrable-looking domain: labels of letters, digits and hyphens, at least two."""
    text = (value or "").strip().lower().rstrip(".")
    try:
        name = dns.name.from_text(text)
    except (dns.exception.DNSException, UnicodeError):
        name = None
    labels = text.split(".")
    if (
        name is None
        or len(labels) < 2
        or len(text) > 253
        or not all(
            label and len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
            and not label.startswith("-") and not label.endswith("-")
            for label in labels
        )
        or labels[-1].isdigit()  # "1.5" or an address: a top-level domain has letters
    ):  # fmt: skip
        raise InvalidInput(fields={field: [_("Enter a domain name such as example.com.")]})
    return text


def absolute_name(value: str, zone: str, *, field: str = "name") -> str:
    """A record name given relative to the zone ("@", "www", "_dmarc") or absolute, as an
    absolute name inside the zone."""
    text = (value or "").strip().lower()
    if text in ("", "@"):
        return zone
    if text.endswith("."):
        text = text[:-1]
    elif not (text == zone or text.endswith("." + zone)):
        text = f"{text}.{zone}"
    try:
        dns.name.from_text(text)
    except (dns.exception.DNSException, UnicodeError):
        raise invalid(field, _("This is not a valid DNS name.")) from None
    if not (text == zone or text.endswith("." + zone)):
        raise invalid(field, _("The name must be inside %(zone)s.") % {"zone": zone})
    if any(not label or len(label) > 63 for label in text.split(".")):
        raise invalid(field, _("This is not a valid DNS name."))
    return text


def _looks_like_address(target: str) -> bool:
    """As typed: "192.0.2.1" (or "192.0.2.1.") would otherwise become a name."""
    text = target.rstrip(".")
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return bool(text) and all(label.isdigit() for label in text.split("."))


def _txt(value: str) -> str:
    """TXT content: text as typed is quoted and cut into strings of at most 255 bytes;
    content already written as quoted strings is kept."""
    value = value.strip()
    if value.startswith('"'):
        return value
    data = value.encode()
    chunks = [data[i : i + TXT_CHUNK] for i in range(0, len(data), TXT_CHUNK)] or [b""]
    return " ".join(
        '"'
        + chunk.decode("utf-8", "surrogateescape").replace("\\", "\\\\").replace('"', '\\"')
        + '"'
        for chunk in chunks
    )


#: what DNS carries in one record (RFC 1035: RDLENGTH is 16 bits)
MAX_RDATA_BYTES = 65_535
#: presentation text longer than this cannot fit, even with every byte as one character
#: plus quotes between 255-byte strings
MAX_RECORD_CHARS = 4 * MAX_RDATA_BYTES


def clean_record(rtype: str, value: str, zone: str, *, field: str) -> str:
    """One record's content, parsed by dnspython, in absolute presentation format."""
    text = (value or "").strip()
    if not text:
        raise invalid(field, _("Enter the record's content."))
    if len(text) > MAX_RECORD_CHARS:  # before parsing it: a long text costs time there too
        raise invalid(field, _("A record holds at most %(n)d bytes.") % {"n": MAX_RDATA_BYTES})
    if rtype == "TXT":
        text = _txt(text)
    try:
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN,
            dns.rdatatype.from_text(rtype),
            text,
            origin=dns.name.from_text(zone),
            relativize=False,
        )
    except (dns.exception.DNSException, ValueError, UnicodeError) as error:
        raise invalid(
            field,
            _("This is not a valid %(type)s record: %(reason)s")
            % {"type": rtype, "reason": str(error) or error.__class__.__name__},
        ) from None
    if len(rdata.to_wire()) > MAX_RDATA_BYTES:
        raise invalid(field, _("A record holds at most %(n)d bytes.") % {"n": MAX_RDATA_BYTES})
    if rtype in ("MX", "SRV", "CNAME", "NS") and _looks_like_address(text.split()[-1]):
        raise invalid(
            field,
            _("The target of a %(type)s record must be a name, not an address.") % {"type": rtype},
        )
    return rdata.to_text()


def clean_rrset(zone: str, name: str, rtype: str, ttl, records) -> CleanRRset:
    """Check one rrset; `records` empty means "delete this rrset"."""
    rtype = (rtype or "").strip().upper()
    if rtype not in TYPES:
        raise invalid("type", _("Choose one of %(types)s.") % {"types": ", ".join(TYPES)})
    absolute = absolute_name(name, zone)
    try:
        ttl = int(ttl)
    except (TypeError, ValueError):
        raise invalid("ttl", _("Enter the TTL in seconds.")) from None
    if not TTL_MIN <= ttl <= TTL_MAX:
        raise invalid(
            "ttl",
            _("The TTL must lie between %(min)d and %(max)d seconds.")
            % {"min": TTL_MIN, "max": TTL_MAX},
        )
    if isinstance(records, str):
        records = [records]
    records = list(records or [])
    if len(records) > MAX_RECORDS:
        raise invalid("records", _("At most %(n)d records per name and type.") % {"n": MAX_RECORDS})
    if rtype == "CNAME" and absolute == zone:
        raise Conflict(
            _("A CNAME cannot be at the zone's apex; use A/AAAA records there."),
            code="cname_conflict",
            fields={"name": [_("No CNAME at the apex.")]},
        )
    if rtype == "CNAME" and len(records) > 1:
        raise invalid("records", _("A name has at most one CNAME record."))
    cleaned = []
    for index, value in enumerate(records):
        content = clean_record(rtype, value, zone, field=f"records.{index}")
        if content not in cleaned:
            cleaned.append(content)
    return CleanRRset(absolute, rtype, ttl, cleaned)


def check_cname_rules(rrsets) -> None:
    """A name with a CNAME holds nothing else (RFC 1034 3.6.2). `rrsets`: the zone's
    final (name, type) pairs."""
    by_name: dict[str, set[str]] = {}
    for name, rtype in rrsets:
        by_name.setdefault(name, set()).add(rtype)
    for name, types in sorted(by_name.items()):
        if "CNAME" in types and len(types) > 1:
            others = ", ".join(sorted(types - {"CNAME"}))
            raise Conflict(
                _("%(name)s cannot have a CNAME and other records (%(others)s).")
                % {"name": name, "others": others},
                code="cname_conflict",
                fields={"name": [_("A CNAME must be alone at its name.")]},
            )
