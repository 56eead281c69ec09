"""A thin adapter over the engine for the guest's side. ADAPTER: replace with the engine's API.

The engine rebuild (issue #9, branch `engine`) is giving the engine one public read model for
"the code a guest uses on a lock" and H5 ("a backup code is given only if the lock's last code
list, at most 24 hours old, showed it"). Until those land, the guest page, "Code not working?"
and the pre-arrival checks call the functions here, and nothing else in `guests/` touches the
engine's models or private helpers, so adopting the engine's API is a change to this file only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accesscodes.models import AccessCode, BackupCode, CodeEvent, LockCode
from accesscodes.selectors import reservation_access
from accesscodes.services import code_event_record, lock_dispatch_enqueue
from integrations.models import Lock
from integrations.registry import adapter_for
from reservations.models import Reservation

# SPEC H5: a backup code is handed out only if a code list at most this old showed it.
BACKUP_SEEN_WITHIN = timedelta(hours=24)
LIVE = (LockCode.State.REMOVING, LockCode.State.REMOVED)


@dataclass(frozen=True)
class GuestLockCode:
    """What the guest's side needs to know about their code on one lock."""

    lock: Lock
    lock_code: LockCode
    code: str  # the code to use on this lock: their PIN, or the backup code standing in for it
    own_code_set: bool  # their own code is confirmed on the lock (S7)
    backup: BackupCode | None  # the backup code assigned to the stay on this lock, if any
    send_at: datetime  # when the engine sends the code to this lock (S2)


def access_code_for(*, reservation: Reservation) -> AccessCode | None:
    return AccessCode.objects.filter(reservation=reservation).first()


def guest_lock_codes(*, reservation: Reservation) -> list[GuestLockCode]:
    """Per matched lock, the guest's code and whether it is ready there (SPEC K2, H4, P6)."""
    access = reservation_access(host=reservation.host, reservation=reservation, events_per_lock=0)
    result = []
    for lock_code in access["lock_codes"]:
        if lock_code.state in LIVE:
            continue
        backup = next((b for b in access["backups"] if b.lock_id == lock_code.lock_id), None)
        own_set = lock_code.state == LockCode.State.SET
        code = lock_code.pin if own_set or backup is None else backup.pin
        result.append(
            GuestLockCode(
                lock=lock_code.lock,
                lock_code=lock_code,
                code=code,
                own_code_set=own_set,
                backup=backup,
                send_at=lock_send_time(lock_code=lock_code),
            )
        )
    return result


def lock_send_time(*, lock_code: LockCode) -> datetime:
    """When the engine sends this code to its lock: window start minus lead time (SPEC S2)."""
    lock = lock_code.lock
    lead = adapter_for(lock.connection).lead_time(lock.capability_record)
    return lock_code.access_code.starts_at - lead


def lock_code_reattempt(*, lock_code: LockCode, now: datetime | None = None) -> None:
    """Mark the guest's own code due now and queue its lock; never call a vendor here."""
    now = now or timezone.now()
    LockCode.objects.filter(pk=lock_code.pk).exclude(state__in=LIVE).update(
        next_attempt_at=now, updated_at=now
    )
    lock_id = lock_code.lock_id
    transaction.on_commit(lambda: lock_dispatch_enqueue(lock_id=lock_id))


def backup_seen_on_lock(*, lock: Lock, now: datetime) -> BackupCode | None:
    """A free backup code the lock's recent code list showed (SPEC H5), or None.

    ADAPTER: the engine has no "last listed" time per backup code yet, so this takes a
    code read back from the lock's list (confirmation `read_back`) whose lock was read within
    24 hours. Vendors that cannot list codes never qualify.
    """
    # Read fresh: a lock pass may have listed the lock since this object was loaded.
    last_read = Lock.objects.filter(pk=lock.pk).values_list("last_seen_at", flat=True).first()
    if last_read is None or last_read < now - BACKUP_SEEN_WITHIN:
        return None
    return (
        BackupCode.objects.filter(
            lock=lock,
            state=BackupCode.State.SET,
            confirmation=LockCode.Confirmation.READ_BACK,
            reservation__isnull=True,
        )
        .order_by("slot", "id")
        .first()
    )


def backup_assign(
    *, lock_code: LockCode, now: datetime, actor: str, reason: str
) -> BackupCode | None:
    """Give the stay a backup code seen on the lock, or the one it already has there."""
    reservation = lock_code.access_code.reservation
    existing = BackupCode.objects.filter(
        lock=lock_code.lock, reservation=reservation, state=BackupCode.State.SET
    ).first()
    if existing is not None:
        return existing
    free = backup_seen_on_lock(lock=lock_code.lock, now=now)
    if free is None:
        return None
    claimed = BackupCode.objects.filter(pk=free.pk, reservation__isnull=True).update(
        reservation=reservation, assigned_at=now, retire_after=lock_code.access_code.ends_at
    )
    if not claimed:
        return None
    free.refresh_from_db()
    code_event_record(
        host_id=reservation.host_id,
        kind="backup_assigned",
        backup_code=free,
        access_code=lock_code.access_code,
        actor=actor,
        reason=reason,
    )
    return free


def guest_event_record(*, lock_code: LockCode, kind: str, reason: str) -> CodeEvent:
    return code_event_record(
        host_id=lock_code.access_code.reservation.host_id,
        kind=kind,
        lock_code=lock_code,
        actor=CodeEvent.Actor.SYSTEM,
        reason=reason,
    )


def lock_codes_reattempt_now(*, lock_codes: list[LockCode], wait: float = 10) -> None:
    """Re-attempt codes at once and wait for their locks' passes, as the healthcheck does (H2).

    Only for background work (the pre-arrival checks); a web request uses
    `lock_code_reattempt`, which queues instead.
    """
    from accesscodes.services import lock_process

    now = timezone.now()
    by_lock: dict[int, set[int]] = {}
    for lock_code in lock_codes:
        by_lock.setdefault(lock_code.lock_id, set()).add(lock_code.pk)
    LockCode.objects.filter(pk__in=[c.pk for c in lock_codes]).exclude(state__in=LIVE).update(
        next_attempt_at=now, updated_at=now
    )
    for lock_id, ids in by_lock.items():
        lock_process(lock_id=lock_id, only_ids=ids, wait=wait)


def backup_send_to_guest(*, backup: BackupCode, reservation: Reservation) -> None:
    """Send the guest the backup code (the messaging engine's "backup code" message, H2)."""
    from accesscodes.signals import backup_code_assigned

    transaction.on_commit(
        lambda: backup_code_assigned.send(
            sender=BackupCode, backup_code=backup, reservation=reservation
        )
    )
