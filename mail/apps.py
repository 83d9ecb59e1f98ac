"""App config of Service Mail."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = _("Service Mail")

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
