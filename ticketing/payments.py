"""How buyers pay by card: one provider interface, chosen by `TICKETING_CARD_PROVIDER`.

- `test_card` (the default under `make run`): the buyer is sent to the shop's own test
  payment page, where the test card number completes the payment. Nothing is charged.
- `stripe` (production): Stripe Checkout; the order is marked paid when Stripe's signed
  webhook says the session is paid (ticketing/stripe_payments.py).
- empty: the shop takes no cards.

Free orders and "pay later" need no provider (services/sales.py).
"""

from django.conf import settings
from django.urls import reverse

from . import secrets


class CardProvider:
    key = ""

    def start(self, order, *, request) -> str:
        """Where to send the buyer to pay `order` (a pending card order)."""
        raise NotImplementedError


class TestCardProvider(CardProvider):
    """The shop's own payment page: for trying the shop, never for real money."""

    key = "test_card"
    #: The number that pays; any other is declined.
    CARD_NUMBER = "4242424242424242"

    def start(self, order, *, request) -> str:
        path = reverse("shop:order-pay", args=[order.office.slug, order.code])
        return request.build_absolute_uri(f"{path}?token={secrets.order_token(order)}")


_PROVIDERS = {"test_card": TestCardProvider}


def provider_register(key: str, provider_class) -> None:
    _PROVIDERS[key] = provider_class


def card_provider() -> CardProvider | None:
    key = getattr(settings, "TICKETING_CARD_PROVIDER", "test_card")
    provider_class = _PROVIDERS.get(key)
    if provider_class is None and key == "stripe":
        from . import stripe_payments  # noqa: F401 (registers itself)

        provider_class = _PROVIDERS.get(key)
    return provider_class() if provider_class else None


def provider_named(key: str) -> CardProvider | None:
    provider_class = _PROVIDERS.get(key)
    return provider_class() if provider_class else None
