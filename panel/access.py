"""Who may do what in an organisation. The UI, the API and the services all ask here.

An `Access` is computed once per request for (user, organisation). A person who is
neither a member nor in one of the organisation's teams has no Access at all, and every
URL of the organisation answers 404 for them.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Q
from django.utils.translation import gettext as _

from .errors import NotFound, PermissionDenied
from .models import Grant, GrantLevel, Membership, Organisation, Role, TeamMember
from .products import KINDS


class Capability(StrEnum):
    VIEW_ORGANISATION = "view_organisation"
    CHANGE_ORGANISATION = "change_organisation"
    DELETE_ORGANISATION = "delete_organisation"
    TRANSFER_LEGAL_REPRESENTATIVE = "transfer_legal_representative"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_TEAMS = "manage_teams"
    VIEW_ACTIVITY = "view_activity"
    EXPORT_ACTIVITY = "export_activity"
    VIEW_ALL_JOBS = "view_all_jobs"
    VIEW_PRODUCT = "view_product"
    MANAGE_PRODUCT = "manage_product"


ADMIN_ROLES = {Role.LEGAL_REPRESENTATIVE, Role.ADMIN}
# Capabilities by role; product capabilities of plain users come from grants instead.
ROLE_CAPABILITIES = {
    Role.LEGAL_REPRESENTATIVE: set(Capability),
    Role.ADMIN: set(Capability)
    - {Capability.DELETE_ORGANISATION, Capability.TRANSFER_LEGAL_REPRESENTATIVE},
    Role.USER: {Capability.VIEW_ORGANISATION},
    None: {Capability.VIEW_ORGANISATION},  # a team guest from outside the organisation
}
PRODUCT_CAPABILITY_LEVELS = {
    Capability.VIEW_PRODUCT: {GrantLevel.VIEW, GrantLevel.MANAGE},
    Capability.MANAGE_PRODUCT: {GrantLevel.MANAGE},
}


@dataclass
class Access:
    user: object
    organisation: Organisation
    membership: Membership | None
    # {(product_type, product_id): best level}
    grants: dict[tuple[str, int], str] = field(default_factory=dict)

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def role_label(self) -> str:
        return self.membership.get_role_display() if self.membership else "guest"

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    def can(self, capability: Capability, product=None) -> bool:
        if capability in PRODUCT_CAPABILITY_LEVELS and not self.is_admin:
            if product is None:
                return False
            level = self.grants.get((product_type_of(product), product.pk))
            return level in PRODUCT_CAPABILITY_LEVELS[capability]
        return capability in ROLE_CAPABILITIES[self.role]

    def require(self, capability: Capability, product=None) -> None:
        """Raise 404 for a product the person may not see (another organisation's above
        all), 403 for a missing capability."""
        if product is not None and (
            product.organisation_id != self.organisation.pk
            or not self.can(Capability.VIEW_PRODUCT, product)
        ):
            raise NotFound()
        if not self.can(capability, product):
            raise PermissionDenied()

    def may_change_billing(self, product=None) -> bool:
        """Whether the person may change what the organisation pays: an administrator
        act (CHANGE_ORGANISATION), whatever grant they hold on `product`."""
        return self.can(Capability.CHANGE_ORGANISATION) and (
            product is None or self.can(Capability.MANAGE_PRODUCT, product)
        )

    def require_billing(self, product=None) -> None:
        """Plans, quotas, renewals, ordering and deleting products change what the
        organisation pays: 404 for a product the person may not see, 403 with the reason
        for anyone but an administrator or the legal representative."""
        if product is not None:
            self.require(Capability.VIEW_PRODUCT, product)
        if not self.may_change_billing(product):
            raise PermissionDenied(
                _(
                    "This changes what the organisation pays: ask an administrator of the "
                    "organisation."
                ),
                code="billing_needs_administrator",
            )

    def visible_product_ids(self, product_type: str) -> set[int] | None:
        """Ids of the products of a kind this person sees; None means all of them."""
        if self.is_admin:
            return None
        return {pid for (ptype, pid) in self.grants if ptype == product_type}

    def visible_products(self, product_type: str):
        queryset = KINDS[product_type].products_of(self.organisation)
        ids = self.visible_product_ids(product_type)
        return queryset if ids is None else queryset.filter(pk__in=ids)


def product_type_of(product) -> str:
    label = product._meta.label
    for kind in KINDS.values():
        if kind.model_label == label:
            return kind.key
    raise ValueError(f"{label} is not a registered product kind")


def access_for(user, organisation: Organisation) -> Access | None:
    """Return the person's Access to the organisation, or None if they have none."""
    if user is None or not user.is_authenticated:
        return None
    membership = Membership.objects.filter(organisation=organisation, user=user).first()
    grants: dict[tuple[str, int], str] = {}
    in_team = False
    if membership is None or membership.role not in ADMIN_ROLES:
        in_team = TeamMember.objects.filter(organisation=organisation, user=user).exists()
        rows = Grant.objects.filter(organisation=organisation).filter(
            Q(user=user) | Q(team__team_members__user=user)
        )
        for ptype, pid, level in rows.values_list("product_type", "product_id", "level"):
            if grants.get((ptype, pid)) != GrantLevel.MANAGE:
                grants[(ptype, pid)] = level
    if membership is None and not in_team:
        return None
    return Access(user=user, organisation=organisation, membership=membership, grants=grants)


def access_by_id(user, organisation_id) -> Access:
    """Resolve an organisation from a URL id; raise NotFound unless the person has access."""
    try:
        organisation = Organisation.objects.get(pk=int(organisation_id))
    except (Organisation.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    access = access_for(user, organisation)
    if access is None:
        raise NotFound()
    return access


def organisations_of(user):
    """Organisations where the person is a member or in a team."""
    from .models import Organisation as Org

    return Org.objects.filter(
        Q(memberships__user=user) | Q(teams__team_members__user=user)
    ).distinct()
