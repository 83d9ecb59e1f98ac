"""The offers of Service Mail, as data. A plan is one row: add a plan by adding a row.

`max_addresses` None means "as many as the bought quota"; `min_addresses` is the smallest
quota that can be ordered. `aliases_per_address` 0 means no alias at all.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Plan:
    key: str
    label: Promise
    min_addresses: int
    max_addresses: int | None
    aliases_per_address: int
    outgoing_recipients_per_day: int
    backup_retention_days: int  # 0: backups are kept but not restorable on this plan

    def allows_addresses(self, count: int) -> bool:
        return self.max_addresses is None or count <= self.max_addresses

    def default_quota(self) -> int:
        return self.max_addresses if self.max_addresses is not None else self.min_addresses


PLANS: dict[str, Plan] = {
    plan.key: plan
    for plan in [
        Plan("starter", _("Starter"), 1, 1, 1, 500, 0),
        Plan("premium", _("Premium"), 5, None, 50, 1440, 30),
    ]
}

#: How far back backups reach once a starter service is upgraded.
STARTER_BACKUPS_RESTORABLE_AFTER_UPGRADE_DAYS = 30

PLAN_CHOICES = [(plan.key, plan.label) for plan in PLANS.values()]


def plan_of(key: str) -> Plan:
    return PLANS[key]
