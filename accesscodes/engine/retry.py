"""The one retry schedule, for guest codes and backup codes alike (SPEC R1, R3, R5)."""

from __future__ import annotations

from datetime import datetime, timedelta

# SPEC R1: after a failure, 4 more attempts spread over the same day, then one a day.
RETRY_DELAYS_SAME_DAY = (
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)
RETRY_DAILY = timedelta(days=1)
RATE_LIMIT_DEFAULT_WAIT = timedelta(seconds=60)
# SPEC R5: nothing is ever due in the past, and no code is written twice in one minute.
MIN_SPACING = timedelta(minutes=1)


def retry_time(attempts: int, now: datetime) -> datetime:
    """When attempt number `attempts + 1` is due after `attempts` failures (R1)."""
    if attempts <= len(RETRY_DELAYS_SAME_DAY):
        return now + RETRY_DELAYS_SAME_DAY[max(attempts, 1) - 1]
    return now + RETRY_DAILY


def rate_limit_time(retry_after: float | None, now: datetime) -> datetime:
    """Wait as the vendor says (R3), at least a minute, and at most a day: every unconfirmed
    code must be due within 24 hours, which is how the healthcheck finds it by index."""
    wait = timedelta(seconds=retry_after) if retry_after else RATE_LIMIT_DEFAULT_WAIT
    return now + min(max(wait, MIN_SPACING), RETRY_DAILY)
