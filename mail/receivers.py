"""Reactions of Service Mail to events of the tenancy core."""

from django.dispatch import receiver

from panel.signals import invitation_accepted

from .models import AddressUser, PendingAddressUser

PERMISSION_FIELDS = (
    "may_change_password",
    "may_manage_aliases",
    "may_manage_redirection",
    "may_manage_backups",
)


@receiver(invitation_accepted)
def link_invited_address_users(sender, invitation, user, **kwargs):
    """Someone invited when an address was created for them is linked to it on joining."""
    for pending in PendingAddressUser.objects.filter(invitation=invitation):
        AddressUser.objects.get_or_create(
            address_id=pending.address_id,
            user=user,
            defaults={
                "organisation_id": pending.organisation_id,
                **{name: getattr(pending, name) for name in PERMISSION_FIELDS},
            },
        )
        pending.delete()
