"""What every newsletter page shares: looking an object up from the URL (404 for what
the person may not see), requiring the capability to change it (403), and running a
service whose refusal becomes a 404, a 403 or errors on the form."""

from django.urls import reverse

from panel.access import Capability
from panel.mixins import found_or_404, require, run_or_403, submit_form  # noqa: F401


def require_manage(access, newsletter) -> None:
    """403 for a person who sees the newsletter but may not change it."""
    require(access, Capability.MANAGE_PRODUCT, newsletter)


def newsletter_url(newsletter) -> str:
    return reverse("newsletter:newsletter-detail", args=[newsletter.organisation_id, newsletter.pk])


def contacts_url(newsletter) -> str:
    return reverse("newsletter:contact-list", args=[newsletter.organisation_id, newsletter.pk])


def list_url(contact_list) -> str:
    return reverse("newsletter:list-detail", args=[contact_list.organisation_id, contact_list.pk])
