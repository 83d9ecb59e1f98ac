"""Request middleware of the tenancy core."""

from .activity import acting_via
from .models import Via


class ActingViaMiddleware:
    """Each request starts as a UI action; the API base class marks its own as API.
    The context is restored afterwards, so one request never colours the next."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_via(Via.UI):
            return self.get_response(request)
