"""The DNS resolver the panel asks (the mail DNS diagnostic, the proof of control of a
domain), chosen by settings.

A nameserver setting names a real resolver ("127.0.0.1", port 53), or "panel-zones": the
zones this panel itself publishes, read by the product that publishes them (Domains
registers it in its AppConfig.ready()). That is the embedded default of `make run`,
where no DNS server listens, so a newcomer's check shows what the panel really serves
instead of a timeout.
"""

from collections.abc import Callable

import dns.resolver

PANEL_ZONES = "panel-zones"

_panel_zones: Callable[[], object] | None = None


def panel_zones_register(factory: Callable[[], object]) -> None:
    """`factory()` returns an object with dnspython's `resolve(name, rdtype)`."""
    global _panel_zones
    _panel_zones = factory


def resolver_for(nameserver: str, port: int, lifetime: float):
    """A resolver asking only `nameserver` (no cache, no search list), or the panel's own
    zones for PANEL_ZONES."""
    if nameserver == PANEL_ZONES:
        if _panel_zones is None:
            raise RuntimeError("No app publishes zones for the panel-zones resolver.")
        return _panel_zones()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [nameserver]
    resolver.port = int(port)
    resolver.lifetime = float(lifetime)
    return resolver
