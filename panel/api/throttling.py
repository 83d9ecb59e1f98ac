"""The rate limit of the public endpoints (shops, subscription forms): requests per client
address, at a rate read from settings at each request (DRF's scoped throttle reads its
rates once, at import, so a test or an operator could not change them)."""

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ClientAddressRateThrottle(SimpleRateThrottle):
    """`getattr(settings, rate_setting)` requests per client address, counted under
    `scope`. The address is REMOTE_ADDR unless REST_FRAMEWORK["NUM_PROXIES"] says how
    many proxies to trust: by default DRF would believe any X-Forwarded-For header, and a
    client could then pick a fresh address for every request."""

    rate_setting: str

    def get_rate(self):
        return getattr(settings, self.rate_setting)

    def get_ident(self, request):
        if api_settings.NUM_PROXIES is None:
            return request.META.get("REMOTE_ADDR", "")
        return super().get_ident(request)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
