"""Domains' card on the organisation dashboard (registered in DomainsConfig.ready)."""

from django.urls import reverse

from panel.access import Access, Capability
from panel.products import DashboardCard


def add_domain_card(access: Access) -> dict | None:
    """The way to add a domain, for the people who may (CHANGE_ORGANISATION, as on the
    domain list); no card for the others."""
    if not access.can(Capability.CHANGE_ORGANISATION):
        return None
    return {"add_url": reverse("domains:domain-list", args=[access.organisation.pk]) + "#add"}


CARDS = [DashboardCard("domains_add", "domains/add_domain_card.html", add_domain_card)]
