"""Mail programs setting themselves up: Thunderbird's autoconfig and Outlook's autodiscover,
public and without session (mail/autoconfig_urls.py), and the Apple configuration profile
of an address, downloaded from its page. The documents are written by mail/autoconfig.py."""

from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from panel.mixins import organisation_view

from .. import autoconfig
from .common import address_or_404, service_or_404

XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

#: Mail programs ask again at each account set-up; the servers rarely move.
CONFIG_MAX_AGE = 15 * 60


@require_safe
@cache_control(public=True, max_age=CONFIG_MAX_AGE)
def thunderbird_config(request):
    """Mozilla's autoconfig for the domain of `?emailaddress=`, or of the host
    autoconfig.<domain> when there is none; 404 for a domain the platform does not host."""
    email = request.GET.get("emailaddress")
    if email is not None:
        parts = autoconfig.split_address(email)
        if parts is None:
            return HttpResponseBadRequest(
                _("emailaddress is not an email address."), content_type=TEXT
            )
        domain = parts[1]
    else:
        host, _dot, domain = request.get_host().partition(":")[0].partition(".")
        if host.lower() != "autoconfig" or not domain:
            return HttpResponseBadRequest(
                _("Give the email address as ?emailaddress=name@example.com."),
                content_type=TEXT,
            )
    client = autoconfig.settings_for_domain(domain)
    if client is None:
        raise Http404()
    return HttpResponse(autoconfig.thunderbird_config(client), content_type=XML)


def _outlook_error(status: int, code: int, message: str) -> HttpResponse:
    return HttpResponse(autoconfig.outlook_error(code, message), status=status, content_type=XML)


@csrf_exempt
def outlook_autodiscover(request):
    """Outlook's POX autodiscover: the servers for the request's EMailAddress. CSRF does
    not apply: mail programs have no token, and nothing is changed."""
    if request.method != "POST":
        return HttpResponseNotAllowed(
            ["POST"],
            content=_("Autodiscover answers POST requests from mail programs only."),
            content_type=TEXT,
        )
    try:
        email = autoconfig.autodiscover_request_address(request.body)
    except autoconfig.BadRequest as error:
        return _outlook_error(400, error.code, str(error))
    parts = autoconfig.split_address(email)
    client = autoconfig.settings_for_domain(parts[1]) if parts else None
    if client is None:
        return _outlook_error(
            404,
            autoconfig.UNKNOWN_ADDRESS,
            _("No mail service of this platform receives mail at this address."),
        )
    return HttpResponse(autoconfig.outlook_autodiscover(client, parts[0]), content_type=XML)


@organisation_view()
@require_safe
@cache_control(private=True, no_store=True)
def address_profile(request, access, service_id, local_part):
    """The .mobileconfig of an address, for whoever may see the address page."""
    address = address_or_404(access, service_or_404(access, service_id), local_part)
    return HttpResponse(
        autoconfig.apple_profile(autoconfig.settings_for_address(address), address),
        content_type="application/x-apple-aspen-config",
        headers={
            "Content-Disposition": content_disposition_header(
                as_attachment=True, filename=f"{address}.mobileconfig"
            )
        },
    )
