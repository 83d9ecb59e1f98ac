"""App config of Service Mail."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = _("Service Mail")

    def ready(self):
        from domains.hooks import MailRecords, mail_records_register
        from panel.products import dashboard_card_register, domain_holder_register

        from . import (
            dns_records,
            receivers,  # noqa: F401  (connects the signal receivers)
            selectors,
        )
        from .dashboard import CARDS

        for card in CARDS:
            dashboard_card_register(card)
        domain_holder_register("mail_service", selectors.organisation_holds_domain)
        mail_records_register(
            MailRecords(
                services=dns_records.record_services,
                service_for=selectors.service_for,
                records_add=dns_records.mail_records_add,
                checks=dns_records.mail_checks,
                fixes_apply=dns_records.mail_fixes_apply,
                dkim_rotate=dns_records.dkim_key_rotate,
                expected=dns_records.mail_expected,
            )
        )
