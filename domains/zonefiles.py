"""BIND zone files: a zone exported as one, and a zone replaced whole from one.

An imported file is read by dnspython, then every rrset passes the same rules as a record
typed in the panel (records.clean_rrset, records.check_cname_rules). Any problem refuses
the whole file with `zone_file_invalid` and the line it is on (0: the file as a whole).
"""

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.zonefile
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.access import Access, Capability
from panel.activity import record_by
from panel.errors import Conflict, InvalidInput
from panel.services.common import lock

from .models import Domain, RRset
from .publishers import get_publisher, zone_file_text
from .records import TYPES, CleanRRset, check_cname_rules, clean_rrset
from .services import next_serial, require_own_zone, zone_data

MAX_FILE_CHARS = 1_000_000
#: records in one imported file (the SOA and the apex NS included)
MAX_FILE_RECORDS = 100_000
#: $INCLUDE would read the server's files, $GENERATE can expand to millions of records.
DIRECTIVES = {"$ORIGIN", "$TTL"}


class ZoneFileInvalid(InvalidInput):
    """The file cannot be imported; nothing changed. `line` is where the problem is, from
    1, or 0 when it concerns the whole file."""

    code = "zone_file_invalid"

    def __init__(self, line: int, reason: str):
        self.line = line
        detail = (
            _("Line %(line)d: %(reason)s") % {"line": line, "reason": reason} if line else reason
        )
        self.errors = [{"line": line, "code": self.code, "detail": detail}]
        super().__init__(detail, fields={"text": [detail]})


def zone_export(*, access: Access, domain: Domain) -> str:
    """The zone as a BIND file, SOA first: what the DNS server serves for the domain (for
    a synonym, the main domain's records under its own name). Needs VIEW_PRODUCT."""
    access.require(Capability.VIEW_PRODUCT, domain)
    text = zone_file_text(zone_data(domain))
    origin_line, _newline, body = text.partition("\n")
    return f"{origin_line}\n$TTL {settings.DNS_DEFAULT_TTL}\n{body}"


# -- reading a file -------------------------------------------------------------------------


class _Tokenizer(dns.tokenizer.Tokenizer):
    """Notes the line each entry of the file starts on. dnspython's own messages give the
    line its tokenizer stopped at, which is the next one when the error showed only at the
    end of a record."""

    entry_line = 1
    _at_line_start = True

    def get(self, want_leading=False, want_comment=False):
        ungotten = self.ungotten_token is not None
        token = super().get(want_leading, want_comment)
        if not ungotten:
            if self._at_line_start and not token.is_eol_or_eof():
                # A token that ended at a newline has read it (and counted it) already.
                self.entry_line = self.line_number - (self.ungotten_char == "\n")
            self._at_line_start = token.is_eol()
        return token


class _Reader(dns.zonefile.Reader):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # dnspython's own CNAME check looks the name up with txn.get_node(), which scans
        # every rdataset read so far (quadratic in the file); _read applies the panel's
        # CNAME rule instead, in constant time per record and naming the line.
        self.txn._check_put_rdataset.remove(dns.zonefile._check_cname_and_other_data)

    def _eat_line(self):
        # dnspython skips the records of a name outside the zone without a word.
        raise ZoneFileInvalid(
            self.tok.entry_line,
            _("%(name)s is outside the zone %(zone)s.")
            % {
                "name": self.last_name.to_text(omit_final_dot=True),
                "zone": self.zone_origin.to_text(omit_final_dot=True),
            },
        )


def _read(zone: str, text: str):
    """The file's rdatasets in the order they appear, each with the line it starts on and
    the line of each of its records."""
    origin = dns.name.from_text(zone)
    manager = dns.zonefile.RRSetsReaderManager(origin, False, dns.rdataclass.IN)
    tok = _Tokenizer(text, "<string>")
    lines = {}
    # The types seen at each name so far: dnspython's txn.get_node() scans every rdataset
    # of the file, which made an import quadratic in its lines.
    types_at: dict[dns.name.Name, set[int]] = {}
    counted = [0]

    def note_lines(txn, name, rdataset):
        before = txn.get(name, rdataset.rdtype)
        if before is not None and any(rdata not in rdataset for rdata in before):
            # dnspython keeps only the last record of a type that allows one (CNAME):
            # the panel's rule refuses both instead.
            clean_rrset(
                zone,
                name.to_text(),
                dns.rdatatype.to_text(rdataset.rdtype),
                rdataset.ttl,
                [rdata.to_text() for rdata in (*before, *rdataset)],
            )
        for rdata in rdataset:
            lines.setdefault((name, rdataset.rdtype, rdata), tok.entry_line)
        counted[0] += len(rdataset)
        if counted[0] > MAX_FILE_RECORDS:
            raise ZoneFileInvalid(
                tok.entry_line,
                _("The file has more than %(n)d records, the most a zone may hold here.")
                % {"n": MAX_FILE_RECORDS},
            )
        lines.setdefault((name, rdataset.rdtype), tok.entry_line)
        # The CNAME rule here, where the line that breaks it is known.
        types = types_at.setdefault(name, set())
        types.add(rdataset.rdtype)
        check_cname_rules(
            (name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(rdtype))
            for rdtype in types
        )

    try:
        with manager.writer(True) as txn:
            # Before the reader's own CNAME check, which tells no name.
            txn.check_put_rdataset(note_lines)
            _Reader(tok, dns.rdataclass.IN, txn, allow_directives=DIRECTIVES).read()
    except ZoneFileInvalid:
        raise
    except (InvalidInput, Conflict) as error:
        raise ZoneFileInvalid(tok.entry_line, str(error.detail)) from None
    except (dns.exception.DNSException, ValueError, UnicodeError) as error:
        # dnspython's message starts "<string>:<its line>: "; ours is more exact.
        reason = str(error).split(": ", 1)[1] if str(error).startswith("<string>:") else ""
        raise ZoneFileInvalid(
            tok.entry_line,
            _("This is not valid zone file syntax: %(reason)s")
            % {"reason": reason or str(error) or error.__class__.__name__},
        ) from None
    return origin, manager.rrsets, lines


def _clean_file(zone: str, text: str) -> list[CleanRRset]:
    if len(text) > MAX_FILE_CHARS:
        raise ZoneFileInvalid(
            0, _("The file is too large (at most %(n)d characters).") % {"n": MAX_FILE_CHARS}
        )
    origin, rrsets, lines = _read(zone, text)
    cleaned = []
    for rrset in rrsets:
        line = lines.get((rrset.name, rrset.rdtype), 0)
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        if rtype == "SOA" and rrset.name == origin:
            continue  # the panel keeps the SOA and its serial itself
        if rtype not in TYPES:
            raise ZoneFileInvalid(
                line,
                _("The panel does not offer %(type)s records (only %(types)s).")
                % {"type": rtype, "types": ", ".join(TYPES)},
            )
        # Contents as a person would type them in the panel, so that the same checks
        # apply (a relative "10 192.0.2.1" is an address, not a name under the zone).
        records = [rdata.to_text(origin=origin, relativize=True) for rdata in rrset]
        name = rrset.name.to_text()
        try:
            clean = clean_rrset(zone, name, rtype, rrset.ttl, records)
        except (InvalidInput, Conflict) as error:
            field = next(iter(error.fields), "")
            if field.startswith("records."):
                line = lines.get((rrset.name, rrset.rdtype, rrset[int(field[8:])]), line)
            raise ZoneFileInvalid(
                line,
                _("%(name)s %(type)s: %(reason)s")
                % {"name": name.rstrip("."), "type": rtype, "reason": error.detail},
            ) from None
        cleaned.append(clean)
    if not any(r.name == zone and r.type == "NS" for r in cleaned):
        raise ZoneFileInvalid(
            0,
            _("The file has no NS records at %(zone)s: add the zone's name servers.")
            % {"zone": zone},
        )
    return cleaned


# -- importing ------------------------------------------------------------------------------


@transaction.atomic
def zone_import(*, access: Access, domain: Domain, text: str) -> list[RRset]:
    """Replace the whole zone by a BIND zone file, all or nothing. The file's SOA is
    ignored (the serial advances as for any change); its NS at the apex are kept. Needs
    MANAGE_PRODUCT; a synonym has no zone of its own (Conflict `is_synonym`). Raises
    ZoneFileInvalid (`zone_file_invalid`, with the line) for a file that cannot be read or
    holds a record the panel would refuse, DnsServerError when the server refuses."""
    access.require(Capability.MANAGE_PRODUCT, domain)
    require_own_zone(domain)
    cleaned = _clean_file(domain.name, text or "")
    lock(domain)
    domain.rrsets.all().delete()
    now = timezone.now()
    RRset.objects.bulk_create(
        RRset(
            organisation_id=domain.organisation_id,
            domain=domain,
            name=rrset.name,
            type=rrset.type,
            ttl=rrset.ttl,
            records=rrset.records,
            updated_at=now,
        )
        for rrset in cleaned
    )
    domain.serial = next_serial(domain.serial)
    domain.save(update_fields=["serial"])
    publisher = get_publisher()
    publisher.replace(zone_data(domain))
    for synonym in domain.synonyms.all():
        publisher.replace(zone_data(synonym))
    record_by(access, "domains.zone.imported", domain, {"rrsets": len(cleaned)})
    return list(domain.rrsets.all())
