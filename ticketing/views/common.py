"""Helpers that every ticket office page of the Manager shares: looking an object up
from the URL, requiring the capability to change it, and running a service whose
refusal becomes a 404, a 403 or errors on the form."""

from panel.access import Capability
from panel.mixins import found_or_404 as panel_found_or_404
from panel.mixins import require, run_or_403, submit_form  # noqa: F401  (the views' names)


def found_or_404(selector, access, **kwargs):
    """`selector(access=access, **kwargs)`, with what the person may not see a 404."""
    return panel_found_or_404(selector, access=access, **kwargs)


def require_manage(access, office) -> None:
    """403 for a person who sees the office but may not change it."""
    require(access, Capability.MANAGE_PRODUCT, office)
