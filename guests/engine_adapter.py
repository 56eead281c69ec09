"""The guest's side's calls into the engine, in one place.

Everything `guests/` needs from the engine goes through here: the engine's read model of "the
code a guest uses on a lock" (`accesscodes.selectors.guest_lock_codes`), H5's "seen on the
lock's list at most 24 hours ago" (`accesscodes.engine.listings.backup_seen_on_lock`), and the
engine's services to mark codes due and run a lock's pass. Writes to engine rows bump their
`version`, so a lock pass in flight never overwrites them (SPEC S9).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accesscodes.models import AccessCode, BackupCode, CodeEvent, LockCode
from accesscodes.selectors import guest_lock_codes as engine_guest_lock_codes
from accesscodes.services import (
    backup_code_assign_seen,
    code_event_record,
    lock_dispatch_enqueue,
    lock_process,
)
from integrations.models import Lock
from integrations.registry import adapter_for
from reservations.models import Reservation

GONE = (LockCode.State.REMOVING, LockCode.State.REMOVED)
LIVE_BACKUP = (
    BackupCode.State.SCHEDULED,
    BackupCode.State.SETTING,
    BackupCode.State.SET,
    BackupCode.State.FAILED,
)


@dataclass(frozen=True)
class GuestLockCode:
    """What the guest's side needs to know about the guest's code on one lock."""

    lock: Lock
    lock_code: LockCode
    code: str  # what to type on this lock now ("" while a vendor-chosen PIN is unknown)
    ready: bool  # that code is on the lock
    own_code_set: bool  # the guest's own code is confirmed on the lock (S7)
    backup: BackupCode | None  # a backup code assigned to the stay on this lock, if any
    send_at: datetime  # when the engine sends the code to this lock (S2)


def access_code_for(*, reservation: Reservation) -> AccessCode | None:
    return AccessCode.objects.filter(reservation=reservation).first()


def guest_lock_codes(*, reservation: Reservation) -> list[GuestLockCode]:
    """Per matched lock, the guest's code and whether it is ready there (SPEC K2, H4, P6)."""
    rows = [
        row
        for row in engine_guest_lock_codes(reservation=reservation)
        if row.lock_code.state not in GONE
    ]
    # The engine shows a backup code only while the guest's own is not set; the guest page
    # also shows one given through "Code not working?" while their own code is set.
    backups = {
        backup.lock_id: backup
        for backup in BackupCode.objects.filter(reservation=reservation, state__in=LIVE_BACKUP)
    }
    return [
        GuestLockCode(
            lock=row.lock,
            lock_code=row.lock_code,
            code=row.code,
            ready=row.ready,
            own_code_set=row.lock_code.state == LockCode.State.SET,
            backup=backups.get(row.lock.pk),
            send_at=lock_send_time(lock_code=row.lock_code),
        )
        for row in rows
    ]


def lock_send_time(*, lock_code: LockCode) -> datetime:
    """When the engine sends this code to its lock: window start minus lead time (SPEC S2)."""
    lock = lock_code.lock
    lead = adapter_for(lock.connection).lead_time(lock.capability_record)
    return lock_code.access_code.starts_at - lead


def lock_code_reattempt(*, lock_code: LockCode, now: datetime | None = None) -> None:
    """Mark the guest's own code due now and queue its lock; never call a vendor here."""
    now = now or timezone.now()
    LockCode.objects.filter(pk=lock_code.pk).exclude(state__in=GONE).update(
        next_attempt_at=now, updated_at=now, version=F("version") + 1
    )
    lock_id = lock_code.lock_id
    transaction.on_commit(lambda: lock_dispatch_enqueue(lock_id=lock_id))


def lock_codes_reattempt_now(*, lock_codes: list[LockCode], wait: float = 10) -> None:
    """Re-attempt codes at once and wait for their locks' passes, as the healthcheck does (H2).

    Only for background work (the pre-arrival checks); a web request uses
    `lock_code_reattempt`, which queues instead.
    """
    now = timezone.now()
    by_lock: dict[int, set[int]] = {}
    for lock_code in lock_codes:
        by_lock.setdefault(lock_code.lock_id, set()).add(lock_code.pk)
    LockCode.objects.filter(pk__in=[c.pk for c in lock_codes]).exclude(state__in=GONE).update(
        next_attempt_at=now, updated_at=now, version=F("version") + 1
    )
    for lock_id, ids in by_lock.items():
        lock_process(lock_id=lock_id, only_ids=ids, wait=wait)


def backup_assign_for_failing(*, lock_code: LockCode, reason: str) -> BackupCode | None:
    """H2 for a code that is not set: a backup code seen on the lock, sent to the guest by
    the messaging engine (the engine's `backup_code_assign_seen`)."""
    return backup_code_assign_seen(
        reservation=lock_code.access_code.reservation,
        lock=lock_code.lock,
        actor=CodeEvent.Actor.HEALTHCHECK,
        reason=reason,
    )


def backup_assign_on_request(*, lock_code: LockCode, reason: str) -> BackupCode | None:
    """K3: a backup code seen on the lock (H5), shown on the page, or the one already given.

    Unlike H2 no message goes out: the guest is looking at the code, and their own code may
    well be set (so `%smartlock_code%` would still render it)."""
    backup = backup_code_assign_seen(
        reservation=lock_code.access_code.reservation,
        lock=lock_code.lock,
        actor=CodeEvent.Actor.SYSTEM,
        reason=reason,
        announce=False,
    )
    # One given earlier but being put back on the lock is not one the guest can use now.
    return backup if backup is not None and backup.state == BackupCode.State.SET else None


def guest_event_record(*, lock_code: LockCode, kind: str, reason: str) -> CodeEvent:
    return code_event_record(
        host_id=lock_code.access_code.reservation.host_id,
        kind=kind,
        lock_code=lock_code,
        actor=CodeEvent.Actor.SYSTEM,
        reason=reason,
    )
