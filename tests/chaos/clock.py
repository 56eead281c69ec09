"""A shared fast clock for the real-process tests: the engine's minutes pass in seconds.

Every process the harness starts (workers, beat, the world driver) reads the same origin and
speed from the environment and replaces `django.utils.timezone.now` before Django loads, so
leases, retries, confirmation give-ups and the simulator's own clock all run `speed` times
faster, in step. Sleeps (the simulated vendor latency) and Celery's timers stay real: a
vendor call of 0.3 s at speed 10 is a 3 s call as the engine sees it.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

ORIGIN = "CHAOS_CLOCK_ORIGIN"
SPEED = "CHAOS_CLOCK_SPEED"


def fake_timestamp(real: float, *, origin: float, speed: float) -> float:
    return origin + (real - origin) * speed


def install_from_environment() -> None:
    """Make timezone.now run fast when CHAOS_CLOCK_SPEED says so; call before django.setup()."""
    speed = float(os.environ.get(SPEED) or 1)
    if speed == 1:
        return
    origin = float(os.environ[ORIGIN])

    from django.utils import timezone

    def now() -> datetime:
        return datetime.fromtimestamp(
            fake_timestamp(time.time(), origin=origin, speed=speed), tz=UTC
        )

    timezone.now = now
