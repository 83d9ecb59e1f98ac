"""The guest's own page, opened by the personal link of their invitation: the event, the
places offered, and accept (with how many places) or decline. The key in the link is
the only way in; any other key is a 404, the same as a page that does not exist.
Opening the page is noted (`opened_at`); the answer is services.guest_answer's."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from panel.errors import NotFound, PanelError

from .. import selectors, services


def _guest(office_slug, key):
    try:
        office = selectors.shop_office(office_slug)
        return services.guest_for_key(office=office, key=key)
    except NotFound:
        raise Http404() from None


@never_cache
def guest_page(request, office_slug, key):
    guest = _guest(office_slug, key)
    office = guest.event.office
    services.guest_opened(guest=guest)
    problems = []
    chosen = guest.places_accepted or guest.places
    if request.method == "POST":
        accept = request.POST.get("answer") == "accept"
        raw = request.POST.get("places", "").strip()
        try:
            services.guest_answer(guest=guest, accept=accept, places=raw if accept else None)
        except PanelError as error:
            problems = [m for ms in error.fields.values() for m in ms] or [str(error.detail)]
            chosen = int(raw) if raw.isdigit() else chosen
        else:
            messages.success(
                request,
                _("Thank you: your places are booked.")
                if accept
                else _("Thank you for letting us know."),
            )
            return redirect("shop:guest", office.slug, key)
    return render(
        request,
        "shop/guest.html",
        {
            "office": office,
            "guest": guest,
            "event": guest.event,
            "date": guest.tariff.zone.date,
            "zone": guest.tariff.zone,
            "problems": problems,
            "chosen": chosen,
            "choices": range(1, guest.places + 1),
            "basket_count": 0,
            "here": request.path,
        },
    )


urlpatterns = [
    path("<slug:office_slug>/guests/<str:key>/", guest_page, name="guest"),
]
