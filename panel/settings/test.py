"""Settings for `make test`: the rig (tests/rig/) exports DATABASE_URL and REDIS_URL."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403

DEBUG = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = [
    # Argon2 stays the production hasher; tests keep it first but cheap.
    "panel.hashers.FastArgon2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Throttle counters live in the cache: a per-process cache, cleared between tests
# (tests/conftest.py), keeps one test's requests from throttling the next.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The import tests read from the rig's own Dovecot on 127.0.0.1.
MAIL_IMPORT_ALLOW_PRIVATE_HOSTS = True

# Zone files of the unit tests go to a throw-away directory; the DNS integration tests
# switch to the rig's PowerDNS.
DNS_PUBLISHER = "zonefile"
DNS_ZONE_DIR = Path(tempfile.mkdtemp(prefix="panel-test-zones-"))

# Campaign bounces come back to the rig's Postfix, which hands this domain to the panel's
# receiver (tests/rig/mail.py gives the same to the processes it starts).
NEWSLETTER_BOUNCE_DOMAIN = os.environ.get("PANEL_NEWSLETTER_BOUNCE_DOMAIN", "bounces.rig.test")
