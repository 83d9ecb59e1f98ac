"""App config of Domains."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DomainsConfig(AppConfig):
    name = "domains"
    verbose_name = _("Domains")

    def ready(self):
        from panel.products import activity_values_register, domain_holder_register
        from panel.resolvers import panel_zones_register

        from .models import DomainKind, Renewal
        from .publishers import ZoneFileResolver
        from .selectors import organisation_holds_domain

        domain_holder_register("domain", organisation_holds_domain)
        activity_values_register(
            {("kind", kind.value): kind.label for kind in DomainKind}
            | {(key, r.value): r.label for r in Renewal for key in ("from", "to", "renewal")}
        )
        # the embedded default resolver: the zone files this app writes
        panel_zones_register(ZoneFileResolver)
