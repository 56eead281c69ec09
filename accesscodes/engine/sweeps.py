"""What is due now, and a pass over each lock that has it (SPEC S3, S4, S5, D1)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from accesscodes.engine.announcements import pin_announcements_due
from accesscodes.engine.lease import LeaseLost, lease_acquire, lease_wait
from accesscodes.engine.lock_pass import BATCH_SIZE, LockPass
from accesscodes.engine.provisioning import lock_dispatch_enqueue
from accesscodes.models import BackupCode, LockCode
from integrations.models import Lock

log = logging.getLogger(__name__)

# A rate-limited lock is closed to passes until the vendor's window frees (Seam's is a minute)
# when that is this soon; a longer wait (a monthly quota) leaves the lock open for the work the
# limit may not cover, each code waiting by its own next attempt (R3).
PAUSE_AT_MOST = timedelta(minutes=5)
RESUME_MARGIN = timedelta(seconds=0.5)


def lock_process(*, lock_id: int, only_ids: set[int] | None = None, wait: float = 0) -> bool:
    """Carry out what is due on one lock, unless another worker holds it (SPEC S5) or the
    vendor asked us to wait (R3, `Lease.release(keep_until=…)`).

    With `wait`, keep trying for the lease that many seconds (the healthcheck, in a worker;
    never a web request). A pass that ran out of time queues the next one for the rest.
    """
    lease = lease_wait(lock_id, wait=wait) if wait else lease_acquire(lock_id)
    if lease is None:
        return False
    unfinished, resume_at = False, None
    try:
        lock = Lock.objects.select_related("connection__host").get(pk=lock_id)
        lock_pass = LockPass(lock, lease=lease)
        lock_pass.run(only_ids=only_ids)
        unfinished, resume_at = lock_pass.unfinished, lock_pass.rate_limited_until
    except LeaseLost:
        # Another worker has the lock now; what this pass did not finish stays due.
        log.warning("lost the lease on lock %s mid-pass", lock_id)
        return True
    finally:
        lease.release(keep_until=_pause_end(resume_at))
    if resume_at is not None and _pause_end(resume_at) is None:
        return True  # a long wait (a quota): the minute sweep finds each code when it is due
    if unfinished or resume_at is not None:  # even the pass's last code may be told to wait
        countdown = (resume_at - timezone.now()).total_seconds() if resume_at else None
        lock_dispatch_enqueue(lock_id=lock_id, countdown=countdown)
    return True


def _pause_end(resume_at: datetime | None) -> datetime | None:
    """Until when a rate-limited lock stays closed to passes: a hair before the vendor's window
    frees, so the pass queued for that moment never finds it still closed; None for no pause."""
    if resume_at is None or resume_at - timezone.now() > PAUSE_AT_MOST:
        return None
    return resume_at - RESUME_MARGIN


def _lock_ids(code_rows, backup_rows, limit: int) -> list[int]:
    """Distinct lock ids of due lock-code and backup-code rows, a bounded batch."""
    found: set[int] = set()
    for rows in (code_rows, backup_rows):
        found |= set(rows.order_by().values_list("lock_id", flat=True).distinct()[:limit])
    return sorted(found)[:limit]


def due_lock_ids(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> list[int]:
    """Locks with a send, follow-up or retry due (the minute sweep)."""
    now = now or timezone.now()
    return _lock_ids(
        LockCode.objects.filter(next_attempt_at__lte=now),
        BackupCode.objects.filter(next_attempt_at__lte=now),
        limit,
    )


def deletion_due_lock_ids(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> list[int]:
    """Locks with one of our codes past its deletion time, or a backup code to rotate."""
    now = now or timezone.now()
    return _lock_ids(
        LockCode.objects.filter(delete_after__lte=now).exclude(state=LockCode.State.REMOVED),
        BackupCode.objects.filter(retire_after__lte=now),
        limit,
    )


def _process_each(lock_ids: list[int]) -> int:
    processed = 0
    for lock_id in lock_ids:
        try:
            processed += lock_process(lock_id=lock_id)
        except Exception:
            # One lock's unexpected failure must not hold up every other lock; its rows stay
            # due and are tried again by the next sweep.
            log.exception("processing lock %s failed", lock_id)
    return processed


def dispatch_due(*, now: datetime | None = None) -> int:
    """Process every lock with due work, a bounded batch at a time; return locks processed.
    New PINs whose latest announcement time has come are announced too (P6)."""
    processed = _process_each(due_lock_ids(now=now))
    pin_announcements_due(now=now)
    return processed


def delete_due(*, now: datetime | None = None) -> int:
    """Process every lock with a deletion or backup rotation due."""
    return _process_each(deletion_due_lock_ids(now=now))
