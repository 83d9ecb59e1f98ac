"""Reads of Domains: the domains a person sees, one domain by name, and a zone's rrsets.

Everything starts from `access.visible_products("domain")`, so a domain of another
organisation, or one without a grant for a plain member, is simply not there."""

from django.db.models import Prefetch, QuerySet

from panel.access import Access
from panel.errors import NotFound

from .models import Domain, RRset
from .publishers import PublishedRRset
from .services import zone_data


def _visible(access: Access) -> QuerySet[Domain]:
    return access.visible_products("domain").order_by("name", "id")


def domain_list(*, access: Access) -> QuerySet[Domain]:
    """The domains the person sees, by name, with their main domain and the synonyms
    they see, in a fixed number of queries."""
    return (
        _visible(access)
        .select_related("synonym_of")
        .prefetch_related(
            Prefetch("synonyms", queryset=_visible(access).only("id", "name", "synonym_of"))
        )
    )


def domain_for(*, access: Access, name: str) -> Domain:
    """The domain called `name` (any case, final dot or not) if the person sees it;
    NotFound otherwise, the same for a domain that does not exist."""
    name = (name or "").strip().lower().rstrip(".")
    domain = domain_list(access=access).filter(name=name).first()
    if domain is None:
        raise NotFound()
    return domain


def rrset_list(*, domain: Domain) -> list[RRset | PublishedRRset]:
    """The rrsets of a zone by name and type, SOA left out (the panel keeps it). A synonym
    has no records of its own: it shows those it serves, the main domain's mapped under
    it, which are edited on the main domain."""
    if domain.is_synonym:
        served = zone_data(domain).rrsets
        return sorted((r for r in served if r.type != "SOA"), key=lambda r: (r.name, r.type))
    return list(RRset.objects.filter(domain=domain).order_by("name", "type"))


def organisation_holds_domain(organisation_id: int, name: str) -> bool:
    """Whether the organisation still has `name` in Domains (panel.products holders)."""
    return Domain.objects.filter(organisation_id=organisation_id, name=name).exists()
