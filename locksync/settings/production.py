"""Production settings: refuse to start without real secrets, and harden HTTP."""

from django.core.exceptions import ImproperlyConfigured

from locksync.settings.base import *  # noqa: F403
from locksync.settings.base import (
    CELERY_BROKER_URL,
    DATABASES,
    DEV_FIELD_ENCRYPTION_KEY,
    DEV_SECRET_KEY,
    EMAIL_CONFIG,
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

# Backends that never deliver: the console and file backends print or write every guest email,
# PIN included, where operators and log shippers read them (SPEC §3); locmem and dummy drop them.
UNDELIVERED_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend": "prints every email (PINs too) to the log",
    "django.core.mail.backends.filebased.EmailBackend": "writes every email (PINs too) to files",
    "django.core.mail.backends.locmem.EmailBackend": "keeps emails in memory and never sends them",
    "django.core.mail.backends.dummy.EmailBackend": "drops every email",
}
EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
if EMAIL_BACKEND in UNDELIVERED_MAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"EMAIL_URL selects {EMAIL_BACKEND}, which {UNDELIVERED_MAIL_BACKENDS[EMAIL_BACKEND]}: "
        "production needs a mail server: EMAIL_URL=smtp+tls://user:password@smtp.example.com:587"
    )

# SMS and WhatsApp go through each host's Twilio account; the console backend would print
# guests' PINs to the log and send nothing (SPEC §3).
SMS_BACKEND = env("SMS_BACKEND", default="twilio")
if SMS_BACKEND != "twilio":
    raise ImproperlyConfigured(
        f"SMS_BACKEND={SMS_BACKEND} prints every SMS and WhatsApp message (PINs too) to the "
        "log and sends nothing: production sends through the hosts' Twilio accounts, "
        "SMS_BACKEND=twilio (the default here)."
    )

# SQLite and the filesystem broker are for one laptop; in production they lose work under
# several processes or machines. Allowed only on purpose (a single-box trial).
if not env.bool("ALLOW_EMBEDDED_IN_PRODUCTION", default=False):
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        raise ImproperlyConfigured(
            "DATABASE_URL is not set, so production would run on SQLite: set "
            "DATABASE_URL=postgres://… (or ALLOW_EMBEDDED_IN_PRODUCTION=1 for a single-box trial)."
        )
    if CELERY_BROKER_URL.startswith("filesystem://"):
        raise ImproperlyConfigured(
            "REDIS_URL is not set, so production would queue work in a folder: set "
            "REDIS_URL=redis://… (or ALLOW_EMBEDDED_IN_PRODUCTION=1 for a single-box trial)."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Healthchecks and Prometheus call the app directly over http inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
