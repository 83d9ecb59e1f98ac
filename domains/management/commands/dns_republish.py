"""`manage.py dns_republish`: compare what the DNS server serves with what the panel
holds, print every difference, and publish the panel's zones again.

Exit status: 0 when done (or, with --check, when nothing drifted), 1 with --check when a
zone drifted, 2 when a zone could not be read from or published to the server.
"""

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from domains.models import Domain
from domains.publishers import DnsServerError, PublishedRRset, ZoneData, get_publisher
from domains.services import zone_data
from panel.services.common import lock

DRIFT, TROUBLE = 1, 2


def _canonical(rrset: PublishedRRset) -> tuple[int, tuple[str, ...]]:
    """TTL and sorted contents, each written as dnspython writes it, so that PowerDNS's
    spelling of the same record is no difference."""
    contents = []
    for content in rrset.records:
        try:
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, dns.rdatatype.from_text(rrset.type), content, dns.name.root
            )
            contents.append(rdata.to_text())
        except (dns.exception.DNSException, ValueError):
            contents.append(content)
    return rrset.ttl, tuple(sorted(contents))


def _side(rrset: PublishedRRset) -> str:
    ttl, contents = _canonical(rrset)
    return _("TTL %(ttl)d: %(records)s") % {"ttl": ttl, "records": ", ".join(contents) or "-"}


def zone_drift(expected: ZoneData, served: ZoneData | None) -> list[str]:
    """Each difference between the zone the panel holds and the one served, described."""
    if served is None:
        return [_("the zone is missing on the server")]
    ours, theirs = expected.key_map(), served.key_map()
    drift = []
    for key in sorted(ours.keys() | theirs.keys()):
        label = f"{key[0]} {key[1]}"
        if key not in theirs:
            drift.append(
                _("%(rrset)s is missing on the server (panel: %(panel)s)")
                % {"rrset": label, "panel": _side(ours[key])}
            )
        elif key not in ours:
            drift.append(
                _("%(rrset)s is on the server only (server: %(server)s)")
                % {"rrset": label, "server": _side(theirs[key])}
            )
        elif _canonical(ours[key]) != _canonical(theirs[key]):
            drift.append(
                _("%(rrset)s differs (panel: %(panel)s; server: %(server)s)")
                % {"rrset": label, "panel": _side(ours[key]), "server": _side(theirs[key])}
            )
    return drift


class Command(BaseCommand):
    help = gettext_lazy(
        "Compare the zones the DNS server serves with the panel's, print each difference "
        "and publish the panel's zones again (only report with --check)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--domain", help=gettext_lazy("Only this domain."))
        parser.add_argument(
            "--check",
            action="store_true",
            help=gettext_lazy("Only report; exit with status 1 if a zone drifted."),
        )

    def handle(self, *args, domain=None, check=False, **options):
        domains = Domain.objects.select_related("synonym_of").order_by("name")
        if domain:
            domains = domains.filter(name=domain.strip().lower().rstrip("."))
            if not domains:
                raise CommandError(
                    _("There is no domain %(name)s in the panel.") % {"name": domain},
                    returncode=TROUBLE,
                )
        publisher = get_publisher()
        checked = drifted = republished = failed = 0
        for zone in domains:
            checked += 1
            expected = zone_data(zone)
            try:
                try:
                    drift = zone_drift(expected, publisher.served(zone.name))
                except dns.exception.DNSException as error:  # a zone file edited by hand
                    drift = [_("the server's copy cannot be read: %(reason)s") % {"reason": error}]
                for line in drift:
                    self.stdout.write(f"{zone.name}: {line}")
                if not drift:
                    continue
                drifted += 1
                if not check:
                    with transaction.atomic():
                        # Under the lock a zone change takes, so no newer change is
                        # overwritten by what was read above.
                        lock(zone.synonym_of if zone.is_synonym else zone)
                        publisher.replace(zone_data(zone))
                    republished += 1
                    self.stdout.write(_("%(name)s: published again") % {"name": zone.name})
            except DnsServerError as error:
                failed += 1
                self.stderr.write(f"{zone.name}: {error.detail}")
        self.stdout.write(
            ngettext(
                "%(checked)d zone checked: %(drifted)d drifted, %(republished)d published "
                "again, %(failed)d failed.",
                "%(checked)d zones checked: %(drifted)d drifted, %(republished)d published "
                "again, %(failed)d failed.",
                checked,
            )
            % {
                "checked": checked,
                "drifted": drifted,
                "republished": republished,
                "failed": failed,
            }
        )
        if failed:
            raise CommandError(
                _("The DNS server could not be read or refused a zone."), returncode=TROUBLE
            )
        if check and drifted:
            raise CommandError(
                ngettext("%(n)d zone drifted.", "%(n)d zones drifted.", drifted) % {"n": drifted},
                returncode=DRIFT,
            )
