"""App config of Service Mail."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = _("Service Mail")

    def ready(self):
        from domains.hooks import MailRecords, mail_records_register
        from panel.products import (
            activity_values_register,
            dashboard_card_register,
            domain_holder_register,
            product_notes_register,
        )

        from . import (
            dns_records,
            receivers,  # noqa: F401  (connects the signal receivers)
            selectors,
        )
        from .dashboard import CARDS

        for card in CARDS:
            dashboard_card_register(card)
        domain_holder_register("mail_service", selectors.organisation_holds_domain)
        activity_values_register(activity_values())
        product_notes_register("mail_service", waiting_notes)
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


def activity_values():
    """Mail's codes in the activity log, as words: plans, address kinds, creation modes."""
    from .forms import MODE_CHOICES
    from .models import AddressKind
    from .plans import PLANS

    labels = {}
    for plan in PLANS.values():
        for key in ("plan", "from", "to"):
            labels[(key, plan.key)] = plan.label
    labels.update({("kind", kind.value): kind.label for kind in AddressKind})
    labels.update({("mode", value): label for value, label in MODE_CHOICES})
    return labels


def waiting_notes(services) -> dict:
    """The dashboard's note on each Service Mail whose domain still waits for its proof."""
    from django.utils.translation import gettext as _

    from .selectors import waiting_for_verification

    return {pk: _("Waiting for verification") for pk in waiting_for_verification(services)}
