"""The kinds of product an organisation can hold, and the base of every product model.

Each product app registers its kind here (key, labels, model) and, from its
`AppConfig.ready()`, its dashboard cards. The dashboard, the grant validation and the
access rules read this registry instead of naming apps.
"""

from collections.abc import Callable
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
    #: The product's list page (a URL name taking the organisation id), and the anchor
    #: of its form to order or add one; the dashboard links them, for administrators.
    list_url: str = ""
    add_anchor: str = ""
    add_label: Promise | str = ""
    all_label: Promise | str = ""

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
            list_url="mail:service-list",
            add_anchor="order",
            add_label=_("Order a Service Mail"),
            all_label=_("All Service Mails"),
        ),
        ProductKind(
            "domain",
            _("Domains"),
            _("Your domain names and their DNS zones, served by our name servers."),
            "domains.Domain",
            "◎",
            named=True,
            list_url="domains:domain-list",
            add_anchor="add",
            add_label=_("Add a domain"),
            all_label=_("All domains"),
        ),
        ProductKind(
            "ticketing",
            _("Ticket office"),
            _("Sell tickets for your events, with seating zones, tariffs and access control."),
            "ticketing.TicketOffice",
            "▤",
            list_url="ticketing:office-list",
            add_anchor="add",
            add_label=_("Create a ticket office"),
            all_label=_("All ticket offices"),
        ),
        ProductKind(
            "newsletter",
            _("Newsletter"),
            _("Write campaigns and send them to your contact lists, with tracking."),
            "newsletter.Newsletter",
            "✎",
            list_url="newsletter:newsletter-list",
            add_anchor="add",
            add_label=_("Create a newsletter"),
            all_label=_("All newsletters"),
        ),
        ProductKind(
            "cloud",
            _("Public Cloud"),
            _("OpenStack projects with users, resource levels and ready-to-use credentials."),
            "cloud.CloudProject",
            "☁",
            list_url="cloud:project-list",
            all_label=_("What it will do"),
        ),
    ]
}

PRODUCT_TYPE_CHOICES = [(kind.key, kind.label) for kind in KINDS.values()]


def kind_of(product_type: str) -> ProductKind | None:
    return KINDS.get(product_type)


# -- dashboard cards --------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardCard:
    """A card a product adds to the organisation dashboard: `template` is included with
    `card` set to what `context(access)` returns; the card is left out when that is
    empty (None, {})."""

    key: str
    template: str
    context: Callable[..., dict | None]


_DASHBOARD_CARDS: dict[str, DashboardCard] = {}


def dashboard_card_register(card: DashboardCard) -> None:
    """Add `card` to the dashboard, after those registered before it (again under the
    same key: replaced in place)."""
    _DASHBOARD_CARDS[card.key] = card


def dashboard_cards(*, access) -> list[dict]:
    """The cards to show to `access`, each `{key, template, card}` (`card`: its context)."""
    shown = []
    for card in _DASHBOARD_CARDS.values():
        context = card.context(access)
        if context:
            shown.append({"key": card.key, "template": card.template, "card": context})
    return shown


# -- domain names -----------------------------------------------------------------------------

#: holds(organisation_id, name) -> whether a product of the organisation still uses `name`
DomainHolder = Callable[[int, str], bool]

_DOMAIN_HOLDERS: dict[str, DomainHolder] = {}


def domain_holder_register(key: str, holds: DomainHolder) -> None:
    """Tell the core that product `key` uses domain names (panel.services.domain_claims):
    a claim is released only once no registered product of its organisation holds it."""
    _DOMAIN_HOLDERS[key] = holds


def domain_still_held(organisation_id: int, name: str) -> bool:
    return any(holds(organisation_id, name) for holds in _DOMAIN_HOLDERS.values())


# -- activity values --------------------------------------------------------------------------

_ACTIVITY_VALUES: dict[tuple[str, str], Promise | str] = {}


def activity_values_register(labels: dict[tuple[str, str], Promise | str]) -> None:
    """What a product's codes in activity details read as: `{(key, code): label}`, such as
    `{("plan", "premium"): _("Premium")}`, so the log shows words rather than codes."""
    _ACTIVITY_VALUES.update(labels)


def activity_value_label(key: str, value: str) -> str | None:
    label = _ACTIVITY_VALUES.get((key, value))
    return None if label is None else str(label)


# -- product notes --------------------------------------------------------------------------

_PRODUCT_NOTES: dict[str, Callable[[list], dict]] = {}


def product_notes_register(kind_key: str, notes: Callable[[list], dict]) -> None:
    """`notes(products)` -> `{product pk: short label}` for the products of `kind_key` that
    need attention ("Waiting for verification"), shown beside them on the dashboard. It
    answers for the whole list in a bounded number of queries."""
    _PRODUCT_NOTES[kind_key] = notes


def product_notes(kind_key: str, products: list) -> dict:
    notes = _PRODUCT_NOTES.get(kind_key)
    return notes(products) if notes and products else {}
