"""Service Mail's cards on the organisation dashboard (registered in MailConfig.ready)."""

from panel.access import Access
from panel.products import DashboardCard

from .selectors import my_addresses

MY_ADDRESSES_SHOWN = 50


def my_addresses_card(access: Access) -> dict | None:
    """The addresses linked to the person; no card when there are none."""
    addresses = list(my_addresses(access=access)[:MY_ADDRESSES_SHOWN])
    return {"addresses": addresses} if addresses else None


CARDS = [DashboardCard("mail_my_addresses", "mail/my_addresses_card.html", my_addresses_card)]
