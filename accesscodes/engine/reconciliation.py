"""Resync (SPEC Y1), the daily reconciliation (Y2) and reconnecting an account (L3, Y3).

None of them talks to a lock from the caller: they mark codes due and queue a pass. The
daily reconciliation reads each lock (it runs in a worker) to see what went missing.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accesscodes.engine.backups import backups_mark_due
from accesscodes.engine.choices import reservation_fallback_name
from accesscodes.engine.events import actor_for, code_event_record
from accesscodes.engine.listings import listing_record
from accesscodes.engine.provisioning import NOT_ON_LOCK, lock_dispatch_enqueue
from accesscodes.models import BackupCode, CodeEvent, LockCode
from integrations.base import Feature, VendorError
from integrations.models import Lock, LockConnection
from integrations.registry import adapter_for


@transaction.atomic
def lock_resync(*, lock: Lock, user=None) -> int:
    """Have the next pass re-push every code of ours that should be on the lock now or within
    the lead time, backup codes included, with the same PINs and no duplicates (SPEC Y1).

    Returns how many codes were marked; the pass runs in a worker, queued on commit."""
    now = timezone.now()
    lead = adapter_for(lock.connection).lead_time(lock.capability_record)
    codes = LockCode.objects.filter(lock=lock).exclude(state=LockCode.State.REMOVED)
    codes = codes.filter(
        access_code__starts_at__lte=now + lead, access_code__ends_at__gt=now
    ).exclude(delete_after__lte=now)
    marked = codes.update(next_attempt_at=now, version=F("version") + 1)
    marked += backups_mark_due(lock=lock)
    code_event_record(
        host_id=lock.connection.host_id,
        kind="resync_requested",
        lock=lock,
        actor=actor_for(user),
        user=user,
    )
    transaction.on_commit(lambda: lock_dispatch_enqueue(lock_id=lock.pk))
    return marked


def lock_reconcile(*, lock: Lock) -> int:
    """Compare the lock's list with our codes: re-set what is missing, backup codes too, and
    record what was changed by hand (SPEC Y2, H5). Returns how many of ours were missing."""
    adapter = adapter_for(lock.connection)
    if (
        not adapter.has(Feature.LIST_CODES)
        or lock.connection.state != LockConnection.State.CONNECTED
    ):
        return 0
    try:
        codes = adapter.list_codes(lock.remote_id)
    except VendorError:
        return 0
    listing_record(lock=lock, codes=codes)
    listing = {remote.remote_id: remote for remote in codes}
    missing = 0
    now = timezone.now()
    for lock_code in LockCode.objects.filter(lock=lock, state=LockCode.State.SET):
        remote = listing.get(lock_code.vendor_code_id)
        if remote is None:
            missing += LockCode.objects.filter(pk=lock_code.pk).update(
                next_attempt_at=now, version=F("version") + 1
            )
            continue
        _record_changed_by_hand(lock, lock_code, remote)
    for backup in BackupCode.objects.filter(lock=lock, state=BackupCode.State.SET):
        if backup.vendor_code_id not in listing:
            missing += BackupCode.objects.filter(pk=backup.pk).update(
                next_attempt_at=now, version=F("version") + 1
            )
    if missing:
        lock_dispatch_enqueue(lock_id=lock.pk)
    return missing


def _record_changed_by_hand(lock: Lock, lock_code: LockCode, remote) -> None:
    changed = {
        field
        for field, ours, theirs in (
            ("pin", lock_code.pin, remote.pin),
            ("name", lock_code.name_on_lock, remote.name),
            ("ends_at", lock_code.window_ends_at, remote.ends_at),
        )
        if theirs is not None and ours is not None and ours != theirs
    }
    if changed:
        code_event_record(
            host_id=lock.connection.host_id,
            kind="changed_by_hand",
            lock_code=lock_code,
            lock=lock,
            actor=CodeEvent.Actor.VENDOR,
            reason="changed outside locksync: " + ", ".join(sorted(changed)),
        )


def locks_reconcile_all() -> int:
    """The daily reconciliation over every matched lock of a connected account."""
    count = 0
    locks = Lock.objects.filter(
        matches__isnull=False, connection__state=LockConnection.State.CONNECTED
    ).distinct()
    for lock in locks.select_related("connection__host").iterator():
        count += lock_reconcile(lock=lock)
    return count


@transaction.atomic
def connection_codes_resync(*, connection: LockConnection) -> None:
    """After (re)connecting an account: resync each of its locks (SPEC L3, Y3).

    Codes whose provisioning had not finished before the reconnect take the reservation
    code as their name, so a half-made earlier attempt can't clash with them (SPEC N2).
    """
    for lock in connection.locks.filter(is_present=True).select_related("connection__host"):
        unfinished = (
            LockCode.objects.filter(lock=lock, vendor_code_id="")
            .filter(state__in=[*NOT_ON_LOCK, LockCode.State.SETTING])
            .select_related("access_code__reservation")
        )
        for lock_code in unfinished:
            name = reservation_fallback_name(lock, lock_code.access_code.reservation)
            if lock_code.name_on_lock != name:
                LockCode.objects.filter(pk=lock_code.pk).update(
                    name_on_lock=name, version=F("version") + 1
                )
        lock_resync(lock=lock)
