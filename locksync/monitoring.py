"""What operators watch: JSON log lines, Sentry reports without PINs, and beat's heartbeat.

Nothing here imports models: settings import this module.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from celery.beat import PersistentScheduler

BEAT_HEARTBEAT_KEY = "locksync:beat:last_tick"
# Anything that could be a PIN (SPEC P2: 4–8 digits; TTLock allows 9).
PIN_LIKE = re.compile(r"(?<!\d)\d{4,9}(?!\d)")
MASK = "[pin?]"
# A guest-page link is a credential like a PIN (SPEC §3): its token never reaches a log line.
GUEST_LINK = re.compile(r"(?:https?://[^\s/\"'<>]+)?/g/[A-Za-z0-9_-]{8,}/?")
GUEST_LINK_MASK = "[guest link hidden]"
# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
STANDARD_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in STANDARD_RECORD_ATTRIBUTES and not name.startswith("_"):
                line[name] = mask_guest_links(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def mask_guest_links(text: str) -> str:
    """Replace every guest-page link (with or without its site) by a placeholder."""
    return GUEST_LINK.sub(GUEST_LINK_MASK, text)


class GuestLinkFilter(logging.Filter):
    """Masks guest-page links in a record's message, request access lines included (§3)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_guest_links(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


# -- Sentry --


def scrub_pins(value: Any) -> Any:
    """Return value with every PIN-like digit run in its strings masked, at any depth."""
    if isinstance(value, str):
        return PIN_LIKE.sub(MASK, mask_guest_links(value))
    if isinstance(value, dict):
        return {key: scrub_pins(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_pins(item) for item in value]
    return value


# The parts of an event that carry text from our code and our data; ids and timestamps elsewhere
# in the event are left alone.
SCRUBBED_EVENT_KEYS = ("message", "logentry", "exception", "breadcrumbs", "extra", "request")


def sentry_before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Mask PINs and guest links in an error report before it leaves the process (SPEC §3)."""
    for key in SCRUBBED_EVENT_KEYS:
        if key in event:
            event[key] = scrub_pins(event[key])
    return event


def sentry_init(*, dsn: str, environment: str, **options: Any) -> None:
    """Report errors from web requests and Celery tasks to Sentry, PINs scrubbed."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Frame locals and request bodies hold PINs (the reservation access API, forms).
        include_local_variables=False,
        max_request_body_size="never",
        before_send=sentry_before_send,  # type: ignore[arg-type]  # sentry's Event is a dict
        **options,
    )


# -- beat --


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's scheduler, recording each tick in the cache for /healthz."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        from django.core.cache import cache

        try:
            cache.set(BEAT_HEARTBEAT_KEY, time.time(), timeout=None)
        except Exception:  # noqa: BLE001 — a cache outage must not stop the schedule
            logging.getLogger(__name__).warning("beat heartbeat not recorded", exc_info=True)
        return super().tick(*args, **kwargs)
