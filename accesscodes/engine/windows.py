"""When a code works, when it goes to the lock and when it leaves it (SPEC W1, W2, S2, C3, D1)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from accesscodes.models import LockCode
from integrations.base import LockCapabilities, Reason
from integrations.registry import adapter_for
from properties.selectors import smart_lock_settings_effective
from reservations.models import Reservation

DELETE_GRACE = timedelta(hours=24)  # SPEC D1
Window = tuple[datetime | None, datetime | None]


def access_window(*, reservation: Reservation) -> tuple[datetime, datetime]:
    """Return when the guest's code works: check-in minus buffer to checkout plus (SPEC W1)."""
    settings = smart_lock_settings_effective(property=reservation.property)
    return (
        reservation.check_in - settings.buffer_before,
        reservation.check_out + settings.buffer_after,
    )


def desired_window(lock_code: LockCode) -> tuple[datetime, datetime]:
    """The window the guest should have; a cancelled stay's is cut at cancellation (SPEC C3)."""
    access_code = lock_code.access_code
    starts_at, ends_at = access_code.starts_at, access_code.ends_at
    if access_code.cancelled_at is not None and access_code.cancelled_at < ends_at:
        ends_at = access_code.cancelled_at
        starts_at = min(starts_at, ends_at - timedelta(minutes=1))
    return starts_at, ends_at


def _round_outward(
    starts_at: datetime, ends_at: datetime, minutes: int, zone: zoneinfo.ZoneInfo
) -> tuple[datetime, datetime]:
    """Widen a window to the lock's granularity in the property's zone (igloohome: hours)."""
    step = timedelta(minutes=minutes)
    local_start = starts_at.astimezone(zone)
    midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    floor = midnight + ((local_start - midnight) // step) * step
    local_end = ends_at.astimezone(zone)
    midnight = local_end.replace(hour=0, minute=0, second=0, microsecond=0)
    ceil = midnight + -((midnight - local_end) // step) * step
    return floor.astimezone(UTC), ceil.astimezone(UTC)


def window_for_lock(lock_code: LockCode) -> Window:
    """The window written to this lock: none on permanent-only locks (W2), else the desired
    one widened to the lock's granularity and cut to its longest window."""
    capabilities: LockCapabilities = lock_code.lock.capability_record
    if not capabilities.time_bound_codes:
        return None, None
    starts_at, ends_at = desired_window(lock_code)
    if capabilities.window_granularity_minutes > 1:
        zone = lock_code.access_code.reservation.property.zone
        starts_at, ends_at = _round_outward(
            starts_at, ends_at, capabilities.window_granularity_minutes, zone
        )
    if capabilities.max_window_hours:
        ends_at = min(ends_at, starts_at + timedelta(hours=capabilities.max_window_hours))
    return starts_at, ends_at


def send_time(lock_code: LockCode, now: datetime) -> datetime:
    """Window start minus the vendor's lead time, or now if that has passed (SPEC S2)."""
    lock = lock_code.lock
    lead = adapter_for(lock.connection).lead_time(lock.capability_record)
    return max(now, desired_window(lock_code)[0] - lead)


def removal_time(lock_code: LockCode) -> datetime:
    """24 h after the window ends; at window end on permanent-only locks (SPEC D1, W2)."""
    ends_at = desired_window(lock_code)[1]
    if lock_code.lock.capability_record.time_bound_codes:
        return ends_at + DELETE_GRACE
    return ends_at


def was_sent(lock_code: LockCode) -> bool:
    """Whether the code may be on the lock: it has a vendor id or an unanswered write."""
    return (
        bool(lock_code.vendor_code_id)
        or lock_code.state in (LockCode.State.SETTING, LockCode.State.SET, LockCode.State.REMOVING)
        or lock_code.last_error == Reason.TIMEOUT
    )
