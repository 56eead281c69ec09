"""Reads for the guest page and the host's panel (SPEC K2, K5, H6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from guests import engine_adapter
from guests.models import Arrival, PropertyGuestInfo, StayCheck
from guests.services import (
    HELP_REQUESTS_PER_STAY,
    guest_settings_get,
    help_requests_used,
)
from integrations.models import Lock
from reservations.models import Reservation

# Vendors whose events say which code opened the lock (SPEC K5); see integrations.arrivals.
ENTRY_REPORTING_VENDORS = frozenset({"seam", "nuki", "ttlock"})


@dataclass(frozen=True)
class GuestLock:
    lock_id: int
    name: str
    ready: bool
    code: str  # "" until the reveal time, and after the window ends
    reveal_at: datetime
    backup_pin: str  # a backup code assigned to the stay on this lock, shown with the code


@dataclass(frozen=True)
class GuestPage:
    reservation: Reservation
    zone_name: str
    check_in: datetime
    check_out: datetime
    window_starts_at: datetime | None
    window_ends_at: datetime | None
    phase: str  # "before_reveal", "revealed", "in_window", "ended"
    locks: list[GuestLock]
    first_reveal_at: datetime | None
    checkin_notes: str
    host_phone: str
    help_left: int


def _phase(now: datetime, reveal_at: datetime | None, starts_at, ends_at) -> str:
    if starts_at is None or ends_at is None:
        return "before_reveal"
    if now >= ends_at:
        return "ended"
    if now >= starts_at:
        return "in_window"
    if reveal_at is not None and now >= reveal_at:
        return "revealed"
    return "before_reveal"


def guest_page(*, reservation: Reservation, now: datetime | None = None) -> GuestPage:
    """What the guest sees: each lock, its readiness, and the code from the reveal time (K2)."""
    now = now or timezone.now()
    prop = reservation.property
    zone = prop.zone
    guest_settings = guest_settings_get(host=reservation.host)
    access_code = engine_adapter.access_code_for(reservation=reservation)
    starts_at = access_code.starts_at if access_code else None
    ends_at = access_code.ends_at if access_code else None
    host_reveal = reservation.check_in - guest_settings.reveal_before
    locks = []
    for item in engine_adapter.guest_lock_codes(reservation=reservation):
        # SPEC K2: never before the lock's send time, so a code is not shown before the lock
        # could have it.
        reveal_at = max(host_reveal, item.send_at)
        visible = ends_at is not None and reveal_at <= now < ends_at
        backup = item.backup
        backup_ready = backup is not None and backup.state == backup.State.SET
        locks.append(
            GuestLock(
                lock_id=item.lock.pk,
                name=item.lock.name,
                ready=item.ready,
                code=item.code if visible else "",
                reveal_at=reveal_at.astimezone(zone),
                backup_pin=backup.pin if backup is not None and visible and backup_ready else "",
            )
        )
    first_reveal = min((lock.reveal_at for lock in locks), default=None)
    info = PropertyGuestInfo.objects.filter(property=prop).first()
    return GuestPage(
        reservation=reservation,
        zone_name=prop.time_zone,
        check_in=reservation.check_in.astimezone(zone),
        check_out=reservation.check_out.astimezone(zone),
        window_starts_at=starts_at.astimezone(zone) if starts_at else None,
        window_ends_at=ends_at.astimezone(zone) if ends_at else None,
        phase=_phase(now, first_reveal, starts_at, ends_at),
        locks=locks,
        first_reveal_at=first_reveal,
        checkin_notes=info.checkin_notes if info else "",
        host_phone=guest_settings.host_phone,
        help_left=max(0, HELP_REQUESTS_PER_STAY - help_requests_used(reservation=reservation)),
    )


def lock_reports_entries(*, lock: Lock) -> bool:
    """Whether the lock's vendor tells us which code opened it (SPEC K5)."""
    return lock.connection.vendor in ENTRY_REPORTING_VENDORS


@dataclass(frozen=True)
class StayPanel:
    arrival: Arrival | None
    last_check: StayCheck | None
    next_check: StayCheck | None
    silent_locks: list[str]  # locks that don't report entries
    zone_name: str


def stay_panel(*, reservation: Reservation) -> StayPanel:
    """Arrival, the last and next pre-arrival check, and silent locks, for the host's panel."""
    arrival = Arrival.objects.filter(reservation=reservation).first()
    checks = list(StayCheck.objects.filter(reservation=reservation).order_by("due_at", "id"))
    done = [c for c in checks if c.state == StayCheck.State.DONE and c.finished_at is not None]
    pending = [c for c in checks if c.state == StayCheck.State.PENDING]
    locks = Lock.objects.filter(matches__property=reservation.property).select_related("connection")
    return StayPanel(
        arrival=arrival,
        last_check=max(done, key=lambda c: c.finished_at or c.due_at, default=None),
        next_check=pending[0] if pending else None,
        silent_locks=[lock.name for lock in locks if not lock_reports_entries(lock=lock)],
        zone_name=reservation.property.time_zone,
    )
