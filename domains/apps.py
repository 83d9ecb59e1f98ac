"""App config of Domains."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DomainsConfig(AppConfig):
    name = "domains"
    verbose_name = _("Domains")

    def ready(self):
        from panel.products import domain_holder_register
        from panel.resolvers import panel_zones_register

        from .publishers import ZoneFileResolver
        from .selectors import organisation_holds_domain

        domain_holder_register("domain", organisation_holds_domain)
        # the embedded default resolver: the zone files this app writes
        panel_zones_register(ZoneFileResolver)
