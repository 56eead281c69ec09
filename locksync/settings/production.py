"""Production settings: refuse to start without real secrets, and harden HTTP."""

from django.core.exceptions import ImproperlyConfigured

from locksync.settings.base import *  # noqa: F403
from locksync.settings.base import (
    DEV_FIELD_ENCRYPTION_KEY,
    DEV_SECRET_KEY,
    FIELD_ENCRYPTION_KEY,
    SECRET_KEY,
    env,
)

DEBUG = False

if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of 50 characters or more in production."
    )
if not FIELD_ENCRYPTION_KEY or DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEY:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY must be set to your own Fernet key(s) in production; make one "
        "with: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'"
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
