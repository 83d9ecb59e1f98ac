"""Helpers of the Service Mail pages: looking a service or address up from the URL, what
the person may do on it, and the password shown once after a creation."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from panel.access import Capability
from panel.errors import NotFound
from panel.errors import PermissionDenied as PanelPermissionDenied

from .. import selectors
from ..plans import PLANS, plan_of
from ..services import PERMISSIONS
from ..services.backups import backup_list

#: session key holding a generated password until the next page shows it
NEW_PASSWORD_KEY = "mail_new_password"


def service_or_404(access, service_id):
    """A service the person sees (through a grant or a linked address), else 404."""
    try:
        return selectors.service_for(access=access, service_id=service_id)
    except NotFound:
        raise Http404() from None


def address_or_404(access, service, local_part):
    try:
        return selectors.address_for(access=access, service=service, local_part=local_part)
    except NotFound:
        raise Http404() from None


def need(access, capability, service=None):
    """403 for a person who sees the service but lacks `capability` on it."""
    if not access.can(capability, service):
        raise PermissionDenied()


def address_rights(access, address) -> dict:
    """What the person may change on an address: everything for the service's managers,
    else what their link allows. Shown as buttons; the services check again."""
    if access.can(Capability.MANAGE_PRODUCT, address.service):
        return {"manage": True, **{name: True for name in PERMISSIONS}}
    link = next(
        (link for link in address.address_users.all() if link.user_id == access.user.pk), None
    )
    return {
        "manage": False,
        **{name: bool(link and getattr(link, f"may_{name}")) for name in PERMISSIONS},
    }


def need_right(access, address, right):
    if not address_rights(access, address)[right]:
        raise PermissionDenied()


def service_url(access, service) -> str:
    return reverse("mail:service-detail", args=[access.organisation.pk, service.pk])


def address_url(access, address) -> str:
    return address.get_absolute_url()


def remember_password(request, address, password):
    """Keep a generated password for the next page, which shows it once."""
    if password:
        request.session[NEW_PASSWORD_KEY] = {"address_id": address.pk, "password": password}


def pop_password(request, address):
    """The generated password of `address`, taken out of the session: shown once."""
    kept = request.session.get(NEW_PASSWORD_KEY)
    if kept and kept.get("address_id") == address.pk:
        del request.session[NEW_PASSWORD_KEY]
        return kept["password"]
    return None


#: Snapshots listed before the "older backups" disclosure of the address page.
RECENT_BACKUPS = 7


def backup_card(access, address) -> dict | None:
    """The Backups card of an address page, or None for a person who may not restore
    (the service decides: administrators, and the address's own people when allowed)."""
    try:
        snapshots = backup_list(access=access, address=address)
    except (PanelPermissionDenied, NotFound):
        return None
    plan = plan_of(address.service.plan)
    longer = max(PLANS.values(), key=lambda p: p.backup_retention_days)
    if plan.backup_retention_days:
        reason = _("Older than the %(n)d days the %(plan)s plan restores") % {
            "n": plan.backup_retention_days,
            "plan": plan.label,
        }
    else:
        reason = _("Upgrade to %(plan)s to restore") % {"plan": longer.label}
    rows = [
        {**row, "reason": "" if row["restorable"] else reason}
        for row in sorted(snapshots, key=lambda row: row["date"], reverse=True)
    ]
    return {
        "recent": rows[:RECENT_BACKUPS],
        "older": rows[RECENT_BACKUPS:],
        "count": len(rows),
        "restorable_on_plan": bool(plan.backup_retention_days),
        "upgrade_to": longer if longer.key != plan.key else None,
        "backup_time": f"{settings.MAIL_BACKUP_HOUR:02d}:00",
    }
