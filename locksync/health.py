"""Health checks behind /healthz (django-health-check): database, cache, broker, beat."""

from __future__ import annotations

import dataclasses
import time

from django.conf import settings
from django.core.cache import cache
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from locksync.monitoring import BEAT_HEARTBEAT_KEY


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection."""

    def run(self) -> None:
        from locksync.celery import app

        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=settings.BROKER_CHECK_TIMEOUT)
        except Exception as error:  # kombu raises transport-specific errors
            raise ServiceUnavailable("the Celery broker cannot be reached") from error


@dataclasses.dataclass
class BeatHeartbeat(HealthCheck):
    """Celery beat ticked recently, so periodic work (sweeps, imports, messages) is enqueued."""

    def run(self) -> None:
        try:
            last_tick = cache.get(BEAT_HEARTBEAT_KEY)
        except Exception as error:  # the cache is down: the Cache check says so too
            raise ServiceUnavailable(
                "beat's heartbeat cannot be read: the cache is down"
            ) from error
        if last_tick is None:
            raise ServiceUnavailable("beat has not ticked")
        age = time.time() - float(last_tick)
        if age > settings.BEAT_HEARTBEAT_MAX_AGE:
            raise ServiceUnavailable(f"beat last ticked {int(age)} s ago")


HEALTH_CHECKS = [
    "health_check.checks.Database",
    "health_check.checks.Cache",
    "locksync.health.Broker",
    "locksync.health.BeatHeartbeat",
]
