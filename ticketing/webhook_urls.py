"""Payment providers' notifications, under /ticketing/webhooks/ (no login, no CSRF token:
each provider's view checks the provider's own signature)."""

from django.urls import path

from . import stripe_payments

app_name = "ticketing-webhooks"

urlpatterns = [path("stripe/", stripe_payments.webhook, name="stripe")]
