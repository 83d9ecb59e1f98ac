"""App config of Domains."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DomainsConfig(AppConfig):
    name = "domains"
    verbose_name = _("Domains")

    def ready(self):
        from panel.products import dashboard_card_register, domain_holder_register

        from .dashboard import CARDS
        from .selectors import organisation_holds_domain

        domain_holder_register("domain", organisation_holds_domain)
        for card in CARDS:
            dashboard_card_register(card)
