"""Newsletter pages of the Manager. The product is not built yet: its page says what it
will do and leads back to what exists, and offers nothing that cannot be done."""

from django.shortcuts import render

from panel.mixins import organisation_view
from panel.products import kind_of


@organisation_view()
def newsletter_list(request, access):
    return render(request, "newsletter/newsletter_list.html", {"kind": kind_of("newsletter")})
