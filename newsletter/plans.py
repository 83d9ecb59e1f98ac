"""The offers of the Newsletter, as data (as mail/plans.py is for Service Mail): a plan
is one row. Its hourly quota is how many emails an account's campaigns may send per hour,
all campaigns together; staff may override it for one account
(`Newsletter.hourly_quota_override`, in the admin).

Sending "may take several hours depending on the global volume of newsletters being
sent, the number of your recipients and the hourly quota allowed for your account":
newsletter/throttle.py spends from this quota and from the platform's global volume
(NEWSLETTER_GLOBAL_RATE) at once.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Plan:
    key: str
    label: Promise
    hourly_quota: int


PLANS: dict[str, Plan] = {
    plan.key: plan
    for plan in [
        Plan("starter", _("Starter"), 1_000),
        Plan("pro", _("Pro"), 10_000),
        Plan("business", _("Business"), 50_000),
    ]
}

PLAN_CHOICES = [(plan.key, plan.label) for plan in PLANS.values()]
DEFAULT_PLAN = "starter"


def plan_of(key: str) -> Plan:
    return PLANS.get(key) or PLANS[DEFAULT_PLAN]


def hourly_quota_of(newsletter) -> int:
    """The account's messages per hour: staff's override, else its plan's."""
    if newsletter.hourly_quota_override is not None:
        return newsletter.hourly_quota_override
    return plan_of(newsletter.plan).hourly_quota
