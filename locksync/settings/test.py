"""Settings for the test suite: PostgreSQL/Redis when DATABASE_URL/REDIS_URL say so, else SQLite."""

from locksync.settings.base import *  # noqa: F403
from locksync.settings.base import CACHES, MIDDLEWARE, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "twilio"  # against tests/fakes/twilio.py; console SMS is tested on purpose
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tasks run inline when a test executes the on-commit callbacks that enqueue them.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
if CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TEST_REDIS_URL = env("REDIS_URL", default="")
# Tests never collect static files; WhiteNoise would warn on every request that
# STATIC_ROOT does not exist.
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("whitenoise.")]
