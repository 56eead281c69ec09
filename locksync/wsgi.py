"""WSGI entry point (gunicorn locksync.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "locksync.settings.production")

application = get_wsgi_application()
