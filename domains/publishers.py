"""Where zones are published: the panel's DNS server, behind one interface.

- `PowerDnsPublisher` pushes every change to PowerDNS's HTTP API (production, and the
  integration tests against the rig's real PowerDNS);
- `ZoneFilePublisher` writes BIND zone files under var/ (`make run`, no DNS server).

Services call a publisher inside their transaction, after the database write: if the
server refuses or cannot be reached, DnsServerError rolls the change back and the person
reads why. Setting DNS_PUBLISHER chooses ("powerdns" or "zonefile").
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.zone
import requests
from django.conf import settings
from django.utils.translation import gettext as _

from panel.errors import PanelError

TIMEOUT_SECONDS = 5


class DnsServerError(PanelError):
    """HTTP 502: the DNS server refused the change or could not be reached; nothing
    changed in the panel either."""

    status = 502
    code = "dns_server_error"


@dataclass(frozen=True)
class PublishedRRset:
    name: str  # absolute, without the final dot
    type: str
    ttl: int
    records: tuple[str, ...]


@dataclass
class ZoneData:
    """Everything a DNS server serves for one zone, SOA included."""

    name: str
    serial: int
    rrsets: list[PublishedRRset] = field(default_factory=list)

    def key_map(self) -> dict[tuple[str, str], PublishedRRset]:
        return {(rrset.name, rrset.type): rrset for rrset in self.rrsets}


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


# -- PowerDNS -----------------------------------------------------------------------------


class PowerDnsPublisher:
    def __init__(self, api_url=None, api_key=None, server_id=None):
        self.api_url = (api_url or settings.POWERDNS_API_URL).rstrip("/")
        self.server_id = server_id or settings.POWERDNS_SERVER_ID
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = api_key or settings.POWERDNS_API_KEY

    def _zone_url(self, name: str = "") -> str:
        base = f"{self.api_url}/servers/{self.server_id}/zones"
        return f"{base}/{_fqdn(name)}" if name else base

    def _call(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException:
            raise DnsServerError(
                _("The DNS server cannot be reached; nothing was changed. Try again later.")
            ) from None
        if response.status_code >= 400 and response.status_code != 404:
            try:
                reason = response.json().get("error") or response.text
            except ValueError:
                reason = response.text
            raise DnsServerError(
                _("The DNS server refused the change: %(reason)s") % {"reason": reason[:300]}
            )
        return response

    @staticmethod
    def _rrset(rrset: PublishedRRset) -> dict:
        return {
            "name": _fqdn(rrset.name),
            "type": rrset.type,
            "ttl": rrset.ttl,
            "changetype": "REPLACE",
            "records": [{"content": content, "disabled": False} for content in rrset.records],
        }

    def create(self, zone: ZoneData) -> None:
        self._call(
            "POST",
            self._zone_url(),
            json={
                "name": _fqdn(zone.name),
                "kind": "Native",
                "nameservers": [],
                # Serve the panel's SOA serial as sent (PowerDNS would rewrite it).
                "soa_edit_api": "",
                "rrsets": [
                    {k: v for k, v in self._rrset(r).items() if k != "changetype"}
                    for r in zone.rrsets
                ],
            },
        )
        # A name asked for before the zone existed stays cached as REFUSED otherwise;
        # changes to an existing zone purge the cache by themselves.
        self._call(
            "PUT",
            f"{self.api_url}/servers/{self.server_id}/cache/flush",
            params={"domain": _fqdn(zone.name)},
        )

    def update(self, zone: ZoneData, changed: set[tuple[str, str]]) -> None:
        """Replace the changed rrsets (deleting those gone) and the SOA, atomically."""
        current = zone.key_map()
        rrsets = []
        for key in sorted(changed | {(zone.name, "SOA")}):
            if key in current:
                rrsets.append(self._rrset(current[key]))
            else:
                rrsets.append({"name": _fqdn(key[0]), "type": key[1], "changetype": "DELETE"})
        response = self._call("PATCH", self._zone_url(zone.name), json={"rrsets": rrsets})
        if response.status_code == 404:  # the zone is missing on the server: publish it whole
            self.create(zone)

    def replace(self, zone: ZoneData) -> None:
        """Publish the whole zone, whatever the server held (re-publishing, imports)."""
        served = self.served(zone.name)
        if served is None:
            self.create(zone)
            return
        self.update(zone, set(served.key_map()) | set(zone.key_map()))

    def delete(self, name: str) -> None:
        self._call("DELETE", self._zone_url(name))

    def served(self, name: str) -> ZoneData | None:
        response = self._call("GET", self._zone_url(name))
        if response.status_code == 404:
            return None
        data = response.json()
        return ZoneData(
            name=name,
            serial=int(data.get("serial") or 0),
            rrsets=[
                PublishedRRset(
                    r["name"].rstrip("."),
                    r["type"],
                    r["ttl"],
                    tuple(sorted(x["content"] for x in r["records"] if not x.get("disabled"))),
                )
                for r in data.get("rrsets", [])
            ],
        )


# -- zone files -----------------------------------------------------------------------------


def zone_file_text(zone: ZoneData) -> str:
    """The zone in BIND format ($ORIGIN, names relative to it)."""
    origin = dns.name.from_text(zone.name)
    built = dns.zone.Zone(origin, relativize=True)
    for rrset in zone.rrsets:
        node_name = dns.name.from_text(rrset.name).relativize(origin)
        rdataset = built.find_rdataset(node_name, dns.rdatatype.from_text(rrset.type), create=True)
        for content in rrset.records:
            rdataset.add(
                dns.rdata.from_text(
                    dns.rdataclass.IN, dns.rdatatype.from_text(rrset.type), content, origin=origin
                ),
                ttl=rrset.ttl,
            )
    return f"$ORIGIN {origin.to_text()}\n" + built.to_text(want_origin=False)


class ZoneFilePublisher:
    def __init__(self, directory=None):
        self.directory = Path(directory or settings.DNS_ZONE_DIR)

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.zone"

    def create(self, zone: ZoneData) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(zone.name)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(zone_file_text(zone))
        os.replace(temporary, path)

    def update(self, zone: ZoneData, changed) -> None:
        self.create(zone)

    replace = create

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def served(self, name: str) -> ZoneData | None:
        path = self._path(name)
        if not path.exists():
            return None
        parsed = dns.zone.from_text(path.read_text(), origin=name, relativize=False)
        rrsets = []
        for node_name, rdataset in parsed.iterate_rdatasets():
            rrsets.append(
                PublishedRRset(
                    node_name.to_text(omit_final_dot=True),
                    dns.rdatatype.to_text(rdataset.rdtype),
                    rdataset.ttl,
                    tuple(sorted(r.to_text() for r in rdataset)),
                )
            )
        soa = parsed.get_rdataset(name + ".", "SOA")
        return ZoneData(name=name, serial=soa[0].serial if soa else 0, rrsets=rrsets)


PUBLISHERS = {"powerdns": PowerDnsPublisher, "zonefile": ZoneFilePublisher}


def get_publisher():
    return PUBLISHERS[settings.DNS_PUBLISHER]()


class ZoneFileResolver:
    """Answers DNS questions from the zone files the panel writes (ZoneFilePublisher), as
    a DNS server loading them would: the `panel-zones` resolver of panel/resolvers.py,
    the embedded default. A name in no zone of the panel has no server to ask."""

    def __init__(self, directory=None):
        self.publisher = ZoneFilePublisher(directory)

    def resolve(self, qname, rdtype):
        name = str(qname).rstrip(".").lower()
        labels = name.split(".")
        for start in range(len(labels) - 1):
            zone = self.publisher.served(".".join(labels[start:]))
            if zone is None:
                continue
            rrsets = [r for r in zone.rrsets if r.name.rstrip(".").lower() == name]
            if not rrsets:
                raise dns.resolver.NXDOMAIN(qnames=[dns.name.from_text(name)])
            wanted = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
            for rrset in rrsets:
                if dns.rdatatype.from_text(rrset.type) == wanted:
                    return [
                        dns.rdata.from_text(dns.rdataclass.IN, wanted, content)
                        for content in rrset.records
                    ]
            raise dns.resolver.NoAnswer()
        raise dns.resolver.NoNameservers()
