"""The kinds of product an organisation can hold, and the base of every product model.

Each product app registers its kind here (key, labels, model). The dashboard, the grant
validation and the access rules read this registry instead of naming apps.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Product(models.Model):
    """Fields shared by every product (a Service Mail, a domain, a ticket office ...)."""

    organisation = models.ForeignKey(
        "panel.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=253)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


@dataclass(frozen=True)
class ProductKind:
    key: str
    label: Promise
    description: Promise
    model_label: str
    icon: str
    #: Grants may name the product by its `name` (domains: `product_id: "example.com"`).
    named: bool = False

    @property
    def model(self) -> type[Product]:
        return apps.get_model(self.model_label)

    def products_of(self, organisation):
        return self.model.objects.filter(organisation=organisation)


KINDS: dict[str, ProductKind] = {
    kind.key: kind
    for kind in [
        ProductKind(
            "mail_service",
            _("Mail"),
            _(
                "Professional mail addresses on your own domain, with aliases, redirections "
                "and daily backups."
            ),
            "mail.MailService",
            "✉",
        ),
        ProductKind(
            "domain",
            _("Domains"),
            _("Your domain names and their DNS zones, served by our name servers."),
            "domains.Domain",
            "◎",
            named=True,
        ),
        ProductKind(
            "ticketing",
            _("Ticket office"),
            _("Sell tickets for your events, with seating zones, tariffs and access control."),
            "ticketing.TicketOffice",
            "▤",
        ),
        ProductKind(
            "newsletter",
            _("Newsletter"),
            _("Write campaigns and send them to your contact lists, with tracking."),
            "newsletter.Newsletter",
            "✎",
        ),
        ProductKind(
            "cloud",
            _("Public Cloud"),
            _("OpenStack projects with users, resource levels and ready-to-use credentials."),
            "cloud.CloudProject",
            "☁",
        ),
    ]
}

PRODUCT_TYPE_CHOICES = [(kind.key, kind.label) for kind in KINDS.values()]


def kind_of(product_type: str) -> ProductKind | None:
    return KINDS.get(product_type)
