"""App config of Service Mail."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = _("Service Mail")

    def ready(self):
        from panel.products import dashboard_card_register

        from . import receivers  # noqa: F401  (connects the signal receivers)
        from .dashboard import CARDS

        for card in CARDS:
            dashboard_card_register(card)
