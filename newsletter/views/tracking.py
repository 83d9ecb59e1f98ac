"""The tracking links in a campaign's emails, under /n/ (newsletter/signing.py
`open_url`, `click_url`); no account, no session, no form, so no CSRF either.

- `o/<token>.gif`: the open pixel. Always the same transparent 1x1 GIF, for a bad
  token too (it tells nothing), never cached, so that each open reaches us. A GET
  records the open; a HEAD loads no image and records nothing.
- `c/<token>`: a tracked link. A 302 to the campaign's link, else the 404 of an unknown
  page. A HEAD is answered the same, and counted as a machine's click: link checkers
  send them, browsers do not.

Every rule is services/tracking.py's.
"""

import logging

from django.db import DatabaseError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..api.public import user_agent
from ..services import tracking

log = logging.getLogger(__name__)

#: A transparent 1x1 GIF, the smallest image every mail program shows.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
_methods = require_http_methods(["GET", "HEAD"])


@never_cache
@_methods
def open_pixel(request, token):
    """The pixel, whatever happens: a broken image in the email would say more than a
    missed open, so a database failure is logged, not shown."""
    if request.method == "GET":
        try:
            tracking.record_open(token, user_agent=user_agent(request))
        except DatabaseError:
            log.exception("newsletter open not recorded")
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@_methods
def click_redirect(request, token):
    """The campaign's link the token names; nothing from the request is ever followed."""
    url = tracking.record_click(
        token, user_agent=user_agent(request), head=request.method == "HEAD"
    )
    if url is None:
        raise Http404()
    return HttpResponseRedirect(url)


urlpatterns = [
    path("o/<str:token>.gif", open_pixel, name="tracking-open"),
    path("c/<str:token>", click_redirect, name="tracking-click"),
]
