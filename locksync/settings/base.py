"""Settings shared by every environment, read from the environment with django-environ.

With nothing set, locksync runs on a SQLite file and Celery's filesystem broker under var/,
so a laptop needs nothing but Python. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")

# Development-only values; production.py refuses to start with either of them.
DEV_SECRET_KEY = "django-insecure-locksync-development-only-never-in-production"  # noqa: S105
DEV_FIELD_ENCRYPTION_KEY = "pjowzDkoRJKVTKhRrd0KtE9xgL2rZH2yi3xDVOJkJRU="

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=DEV_SECRET_KEY)
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation: prepend a new key,
# run `manage.py rotate_encryption_keys`, then drop the old one).
FIELD_ENCRYPTION_KEY = env.list("FIELD_ENCRYPTION_KEY", default=[DEV_FIELD_ENCRYPTION_KEY])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# The public address for links in emails and guest pages. Unset, it is the address the embedded
# default (`dev.py run`) serves on, PORT included; production sets it (README, "Production").
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{env('PORT', default='8000')}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "properties",
    "integrations",
    "reservations",
    "accesscodes",
    "messaging",
    "health_check",
    "guests",
    "pms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "locksync.urls"
WSGI_APPLICATION = "locksync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'locksync.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for the write lock instead of failing, and take
    # it at BEGIN so a read transaction never has to upgrade (the usual "database is locked").
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
# A cache that is down or frozen must not take pages down with it (issue #21): calls give up
# after CACHE_SOCKET_TIMEOUT seconds and the callers degrade (rate limits count per process).
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.3)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_timeout": CACHE_SOCKET_TIMEOUT,
                "socket_connect_timeout": CACHE_SOCKET_TIMEOUT,
            },
        }
    }
else:
    # A file cache is shared by web and worker processes, unlike the per-process locmem cache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="locksync <noreply@locksync.local>")
# SMS and WhatsApp: "twilio" sends through each host's own Twilio account (SPEC G8);
# "console", the embedded default, prints them to the log like console email (refused in
# production).
SMS_BACKEND = env("SMS_BACKEND", default="console")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Repeated failed logins for one username from one address are throttled; a success resets
# the count. The admin's login goes through the same backends, so it is throttled too.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
SESSION_COOKIE_HTTPONLY = True
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# The languages of the guest page and guest messages (SPEC K4); the dashboard stays English.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("it", "Italiano"),
    ("pt", "Português"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# LOG_FORMAT=json writes one JSON object per line (for a log shipper); the default is plain text.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "locksync.monitoring.JsonFormatter"},
    },
    # Guest-page links are credentials (SPEC §3): masked on every line, access lines included.
    "filters": {"guest_links": {"()": "locksync.monitoring.GuestLinkFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["guest_links"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # The HTTP libraries log full URLs at DEBUG/INFO, and vendor query strings carry tokens
    # (TTLock's accessToken) and sometimes PINs: they may speak only about failures.
    "loggers": {
        "urllib3": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # runserver's access lines ("GET /g/<token>/ 200") go through the masking handler.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Celery. Without Redis the broker is a folder (kombu's filesystem transport), which the one
# worker of `dev.py run` (beat a thread inside it) handles on one machine without any server.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    # A folder of its own per checkout or benchmark (CELERY_BROKER_FOLDER), var/broker by default.
    _broker_dir = Path(env("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Without this kombu keeps its exchange table in ./control, in whatever the cwd is.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu looks for new messages once a second by default, which alone made booking →
        # first vendor call 0.8–1.0 s at p95; a listing of three small folders every 0.1 s
        # costs next to nothing.
        "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=0.1),
    }
    # kombu does not create them, and any process may be the first to enqueue (the demo
    # command, the web server, the worker).
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
# Every task has a time limit (issue #21): a task stuck on a dead socket is stopped, not left
# holding a worker. A task may set tighter ones (the lock pass does, with its lease).
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat records each tick in the cache, so /healthz can tell a stopped beat.
CELERY_BEAT_SCHEDULER = "locksync.monitoring:HeartbeatScheduler"
# Code work stays on the default `celery` queue; a slow feed or mail server must never delay
# it (SPEC F4), so iCal imports and guest messages have queues of their own. A worker consumes
# them with `-Q celery,feeds,messages` (or one worker per queue, see docker-compose.yml).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "reservations.tasks.*": {"queue": "feeds"},
    "pms.tasks.*": {"queue": "feeds"},
    "messaging.tasks.*": {"queue": "messages"},
}
CELERY_QUEUE_NAMES = ["celery", "feeds", "messages"]

# How often the code sweeps run (seconds). A minute in production; the real-process tests in
# tests/chaos/ shorten it so a lost task is caught within seconds.
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=60.0)

# Every periodic job, in one place. Each job asks the database what is due and takes a
# bounded batch, so running one late or twice is harmless.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # SPEC L1: read every connected account's lock states (online, battery) every 15 minutes;
    # the task takes connections not refreshed for 15 minutes, 200 at a time.
    "lock-states-refresh": {
        "task": "integrations.tasks.lock_states_refresh_due",
        "schedule": 300.0,
    },
    # Sends, follow-ups of asynchronous writes and retries that are due (SPEC S3, S6, R1).
    "dispatch-due-codes": {
        "task": "accesscodes.tasks.dispatch_due",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    # Our codes past their deletion time, and backup codes to rotate (SPEC D1, H3).
    "delete-due-codes": {
        "task": "accesscodes.tasks.delete_due",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    # The 08:00 America/New_York healthcheck; the task itself knows whether today's is due,
    # so DST changes and downtime need nothing here (SPEC H1).
    "healthcheck": {"task": "accesscodes.tasks.healthcheck", "schedule": 300.0},
    # Daily comparison of each lock's code list with ours (SPEC Y2).
    "reconcile-locks": {"task": "accesscodes.tasks.reconcile_locks", "schedule": 86400.0},
    # Every enabled iCal feed fetched and imported (SPEC §4: Airbnb, Vrbo, Booking.com).
    "import-ical-feeds": {"task": "reservations.tasks.ical_feeds_import", "schedule": 900.0},
    # PMS connections: what changed since the last good poll, catching missed webhooks (Q3);
    # PINs now on every lock written into the PMS's door-code field (Q5).
    "poll-pms-connections": {"task": "pms.tasks.pms_poll_all", "schedule": 900.0},
    "pms-write-backs": {"task": "pms.tasks.pms_write_backs_due", "schedule": 60.0},
    # Guest messages whose send time has come, and failed sends due for a retry (SPEC G1, G3).
    "send-due-messages": {"task": "messaging.tasks.messages_send_due", "schedule": 60.0},
    # Pre-arrival checks 24 h and 2 h before each stay's window in the property's zone, and
    # "not arrived N hours after check-in" notices: due StayCheck rows only (SPEC H6, K5).
    "stay-checks": {"task": "guests.tasks.stay_checks_due", "schedule": 60.0},
}
# A sweep that waited in the queue past its next run is dropped, not run late on top of the
# next one (each sweep takes what is due then, so nothing is lost). Never under a minute: the
# real-process tests sweep every second on busy workers.
for _entry in CELERY_BEAT_SCHEDULE.values():
    if _entry["schedule"] <= 300.0:
        _entry["options"] = {"expires": max(_entry["schedule"], 60.0)}

# iCal feeds (SPEC F1): only public addresses are fetched. A self-hosted feed on a private
# network (a PMS on the LAN) needs ICAL_ALLOW_PRIVATE_ADDRESSES=1; loopback, link-local and
# cloud metadata addresses stay refused unless ICAL_ALLOW_LOOPBACK is also set (tests only).
ICAL_ALLOW_PRIVATE_ADDRESSES = env.bool("ICAL_ALLOW_PRIVATE_ADDRESSES", default=False)
ICAL_ALLOW_LOOPBACK = env.bool("ICAL_ALLOW_LOOPBACK", default=False)
ICAL_MAX_BYTES = env.int("ICAL_MAX_BYTES", default=5 * 1024 * 1024)
ICAL_FETCH_DEADLINE = env.float("ICAL_FETCH_DEADLINE", default=20.0)

# /metrics (Prometheus): answered to a bearer token or to clients in these networks, and to
# nobody while both are empty.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# /healthz fails when beat has not ticked for this long.
BEAT_HEARTBEAT_MAX_AGE = env.int("BEAT_HEARTBEAT_MAX_AGE", default=300)
# /healthz answers within about a second even when the broker hangs.
BROKER_CHECK_TIMEOUT = env.float("BROKER_CHECK_TIMEOUT", default=0.5)

# Error reports go to Sentry only when SENTRY_DSN is set; PINs are scrubbed before sending.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from locksync.monitoring import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env("SENTRY_ENVIRONMENT", default="production"))

# The simulator appends a line per call to this file when set (integrations/simulator.py).
SIMULATOR_CALL_LOG = env("SIMULATOR_CALL_LOG", default="")

# Vendor API base URLs are settings so tests can point adapters at local fakes.
NUKI_API_URL = env("NUKI_API_URL", default="https://api.nuki.io")
SEAM_API_URL = env("SEAM_API_URL", default="https://connect.getseam.com")
TTLOCK_API_URL = env("TTLOCK_API_URL", default="https://euapi.ttlock.com")
VENDOR_HTTP_TIMEOUT = env.float("VENDOR_HTTP_TIMEOUT", default=15.0)
REMOTELOCK_API_URL = env("REMOTELOCK_API_URL", default="https://api.remotelock.com")
REMOTELOCK_AUTH_URL = env("REMOTELOCK_AUTH_URL", default="https://connect.remotelock.com")
IGLOOHOME_API_URL = env("IGLOOHOME_API_URL", default="https://api.igloodeveloper.co/igloohome")
IGLOOHOME_AUTH_URL = env("IGLOOHOME_AUTH_URL", default="https://auth.igloohome.co")
# igloohome bridge jobs are queued: how long one call waits for its job, and how often it looks.
IGLOOHOME_JOB_WAIT = env.float("IGLOOHOME_JOB_WAIT", default=20.0)
IGLOOHOME_JOB_POLL_INTERVAL = env.float("IGLOOHOME_JOB_POLL_INTERVAL", default=2.0)
# Home Assistant is reached at the address the host gives. A shared locksync must not be made to
# call its own network, so loopback and private addresses are refused unless this is on (a
# self-hosted locksync next to Home Assistant).
HOMEASSISTANT_ALLOW_PRIVATE_URLS = env.bool("HOMEASSISTANT_ALLOW_PRIVATE_URLS", default=False)

# The REST API (/api/v1/): token authentication only (no session, so no CSRF for clients),
# every endpoint scoped to the caller's host; requests throttled per token (see locksync.api).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["locksync.api_auth.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["locksync.api.IsHostMember"],
    "DEFAULT_THROTTLE_CLASSES": ["locksync.api.ApiTokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["locksync.api.SafeJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "locksync.api.StrictLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "locksync.api.exception_handler",
}
# Requests per token; DRF's rate syntax ("120/min", "5000/hour").
API_THROTTLE_RATE = env("API_THROTTLE_RATE", default="120/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "locksync API",
    "DESCRIPTION": (
        "Per-guest smart-lock PINs. Authenticate with `Authorization: Token <key>` "
        "(or `Bearer <key>`); create a key with `manage.py create_api_token`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads Swagger UI from our own static files (drf-spectacular-sidecar), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "locksync.api.document_error_responses",
    ],
}
# TTLock: locksync's own open-platform app (euopen.ttlock.com). Hosts sign in with their TTLock
# app account; these identify locksync to TTLock.
TTLOCK_CLIENT_ID = env("TTLOCK_CLIENT_ID", default="")
TTLOCK_CLIENT_SECRET = env("TTLOCK_CLIENT_SECRET", default="")
# TTLock's callback is not signed: it is accepted only with this token in its query string
# (set the callback URL to <SITE_URL>/webhooks/ttlock/?token=<TTLOCK_CALLBACK_TOKEN>).
TTLOCK_CALLBACK_TOKEN = env("TTLOCK_CALLBACK_TOKEN", default="")
