"""Checking DNS records before they reach a zone: names, types, TTLs and contents, parsed
with dnspython, and the rules between rrsets (CNAME alone at its name, never at the apex).

Errors are InvalidInput/Conflict with the code the API promises (`invalid_record`,
`cname_conflict`) and a message under the field at fault: `name`, `type`, `ttl` or
`records.<n>` (the n-th record of the rrset, from 0).
"""

import ipaddress
import re
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


#: What a valid content looks like, by type: the panel's own words rather than the
#: parser's ("expecting an integer"), so they are translated and say what to type.
def _content_hint(rtype: str) -> str:
    return {
        "A": _("Enter an IPv4 address, such as 192.0.2.10."),
        "AAAA": _("Enter an IPv6 address, such as 2001:db8::10."),
        "CNAME": _("Enter the name this one is an alias of, such as shop.example.com."),
        "MX": _("Enter a priority and a mail server, such as: 10 mx.example.com."),
        "TXT": _("Enter the text; put each string in double quotes if there are several."),
        "SRV": _(
            "Enter a priority, a weight, a port and a target, such as: 10 5 5060 sip.example.com."
        ),
        "CAA": _('Enter a flag, a tag and a value, such as: 0 issue "letsencrypt.org".'),
        "NS": _("Enter a name server, such as ns1.example.com."),
    }[rtype]


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
    except (dns.exception.DNSException, ValueError, UnicodeError):
        raise invalid(
            field,
            _("This is not a valid %(type)s record. %(hint)s")
            % {"type": rtype, "hint": _content_hint(rtype)},
        ) from None
    if len(rdata.to_wire()) > MAX_RDATA_BYTES:
        raise invalid(field, _("A record holds at most %(n)d bytes.") % {"n": MAX_RDATA_BYTES})
    if rtype in ("MX", "SRV", "CNAME", "NS") and _looks_like_address(text.split()[-1]):
        raise invalid(
            field,
            _("The target of a %(type)s record must be a name, not an address.") % {"type": rtype},
        )
    return rdata.to_text()


#: Types whose names are service labels as well as host names: `_dmarc`, `_sip._tcp`,
#: `selector._domainkey` (TXT), a DKIM key delegated by CNAME, SRV services.
UNDERSCORE_TYPES = ("TXT", "CNAME", "SRV")
_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def _name_problem(absolute: str, zone: str, rtype: str) -> str | None:
    """Why the labels a person typed before the zone are not a name for `rtype`: host
    names of letters, digits and hyphens, `*` only as the first label, and `_` only at
    the start of a label of a TXT, CNAME or SRV record (SRV: `_service._protocol`)."""
    if absolute == zone:
        return None
    labels = absolute[: -len(zone) - 1].split(".")
    for position, label in enumerate(labels):
        if label == "*" and position == 0:
            continue
        if label.startswith("_") and rtype in UNDERSCORE_TYPES:
            label = label[1:]
        if not _HOST_LABEL.match(label):
            if "_" in label and rtype not in UNDERSCORE_TYPES:
                return _(
                    "Names of %(type)s records are host names: letters, digits and "
                    "hyphens only, such as www or mail-2. Names starting with _ are for "
                    "TXT, CNAME and SRV records."
                ) % {"type": rtype}
            return _(
                "Use letters, digits and hyphens, such as www or mail-2 (a label may start "
                "with _ for TXT, CNAME and SRV records, such as _dmarc); not %(label)s."
            ) % {"label": labels[position]}
    if rtype == "SRV" and not (
        len(labels) >= 2 and labels[0].startswith("_") and labels[1].startswith("_")
    ):
        return _(
            "An SRV record's name starts with the service and the protocol, such as _sip._tcp."
        )
    return None


def clean_rrset(zone: str, name: str, rtype: str, ttl, records) -> CleanRRset:
    """Check one rrset; `records` empty means "delete this rrset". Every problem of the
    rrset is reported at once, each under its field."""
    problems: dict[str, list[str]] = {}
    rtype = (rtype or "").strip().upper()
    if rtype not in TYPES:
        problems["type"] = [_("Choose one of %(types)s.") % {"types": ", ".join(TYPES)}]
    absolute = None
    try:
        absolute = absolute_name(name, zone)
    except InvalidInput as error:
        problems.update(error.fields)
    if absolute and rtype in TYPES and (why := _name_problem(absolute, zone, rtype)):
        problems["name"] = [why]
    try:
        ttl = int(ttl)
    except (TypeError, ValueError):
        problems["ttl"] = [_("Enter the TTL in seconds.")]
    else:
        if not TTL_MIN <= ttl <= TTL_MAX:
            problems["ttl"] = [
                _("The TTL must lie between %(min)d and %(max)d seconds.")
                % {"min": TTL_MIN, "max": TTL_MAX}
            ]
    if isinstance(records, str):
        records = [records]
    records = list(records or [])
    if len(records) > MAX_RECORDS:
        problems["records"] = [_("At most %(n)d records per name and type.") % {"n": MAX_RECORDS}]
        records = []
    elif rtype == "CNAME" and len(records) > 1:
        problems["records"] = [_("A name has at most one CNAME record.")]
    cleaned = []
    if rtype in TYPES:
        for index, value in enumerate(records):
            try:
                content = clean_record(rtype, value, zone, field=f"records.{index}")
            except InvalidInput as error:
                problems.update(error.fields)
                continue
            if content not in cleaned:
                cleaned.append(content)
    apex_cname = rtype == "CNAME" and absolute == zone
    if problems:
        if apex_cname:
            problems.setdefault("name", []).append(str(_apex_cname_field()))
        first = next(iter(problems.values()))[0]
        raise InvalidInput(first, code="invalid_record", fields=problems)
    if apex_cname:
        raise Conflict(
            _(
                "The domain itself (@) cannot be an alias of another name. Give it A and "
                "AAAA records with the addresses of the server instead, or make www the alias."
            ),
            code="cname_conflict",
            fields={"name": [_apex_cname_field()]},
        )
    return CleanRRset(absolute, rtype, ttl, cleaned)


def _apex_cname_field() -> str:
    return _("The domain itself (@) cannot be an alias (CNAME); use A and AAAA records.")


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
                fields={
                    "name": [
                        _(
                            "An alias (CNAME) is alone at its name: remove the other records "
                            "there first, or choose another name."
                        )
                    ]
                },
            )
