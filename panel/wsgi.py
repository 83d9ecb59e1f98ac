"""WSGI entry point (gunicorn panel.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings.production")
application = get_wsgi_application()
