"""What each lock listed at its last read: PINs (SPEC P4, P7), names (N2), backups seen (H5)."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta

from django.utils import timezone

from accesscodes.models import BackupCode, LockCode, LockListing
from integrations.base import Feature, RemoteCode, VendorError
from integrations.models import Lock, LockConnection
from integrations.registry import adapter_for

log = logging.getLogger(__name__)

PIN_LIST_MAX_AGE = timedelta(minutes=15)  # SPEC P7
BACKUP_SEEN_MAX_AGE = timedelta(hours=24)  # SPEC H5


# Listings a lock pass read and records at its end (per thread: one pass per worker thread).
_pending = threading.local()


def listing_record(
    *,
    lock: Lock,
    codes: list[RemoteCode],
    now: datetime | None = None,
    defer: bool = False,
) -> None:
    """Keep what the lock just listed (one UPDATE, or an INSERT the first time), and its code
    count; a lock that was full and now has a free slot re-examines its waiting codes at once
    (SPEC S8, R5). Deferred (a lock pass), it is written by `listing_flush` at the pass's end
    or before this thread reads any listing back, whichever is first; a newer list of the
    same lock replaces it unwritten."""
    now = now or timezone.now()
    if defer:
        pending = _pending.__dict__.setdefault("listings", {})
        pending[lock.pk] = (lock, codes, now)
        return
    capacity = lock.capability_record.max_active_codes_supported
    was_full = (lock.code_count or 0) >= capacity
    lock.code_count, lock.last_seen_at = len(codes), now
    Lock.objects.filter(pk=lock.pk).update(code_count=lock.code_count, last_seen_at=now)
    if was_full and lock.code_count < capacity:
        LockCode.objects.filter(lock=lock, state=LockCode.State.WAITING_FOR_SPACE).update(
            next_attempt_at=now
        )
    entries = json.dumps([{"id": c.remote_id, "pin": c.pin, "name": c.name} for c in codes])
    if not LockListing.objects.filter(lock=lock).update(
        read_at=now, entries=entries, updated_at=now
    ):
        LockListing.objects.update_or_create(
            lock=lock, defaults={"read_at": now, "entries": entries}
        )


def listing_flush(lock: Lock | None = None) -> None:
    """Write the deferred listings of this thread (of one lock, or all)."""
    pending = _pending.__dict__.get("listings")
    if not pending:
        return
    for lock_id in [lock.pk] if lock is not None else list(pending):
        if lock_id in pending:
            held, codes, read_at = pending.pop(lock_id)
            listing_record(lock=held, codes=codes, now=read_at)


def _entries(locks: list[Lock], *, max_age: timedelta | None) -> list[dict]:
    listing_flush()
    listings = LockListing.objects.filter(lock__in=locks)
    if max_age is not None:
        listings = listings.filter(read_at__gte=timezone.now() - max_age)
    return [entry for listing in listings for entry in json.loads(listing.entries or "[]")]


def listed_pins(locks: list[Lock], *, excluding_access_code_id: int | None = None) -> set[str]:
    """PINs the locks listed at their last read, less the copies of this access code's own."""
    own: set[str] = set()
    if excluding_access_code_id is not None:
        own = set(
            LockCode.objects.filter(access_code_id=excluding_access_code_id)
            .exclude(vendor_code_id="")
            .values_list("vendor_code_id", flat=True)
        )
    return {
        entry["pin"]
        for entry in _entries(locks, max_age=None)
        if entry.get("pin") and entry["id"] not in own
    }


def listed_names(lock: Lock) -> set[str]:
    """Names the lock listed at its last read: a hand-made code's name counts (SPEC N2)."""
    ours = set(
        LockCode.objects.filter(lock=lock)
        .exclude(vendor_code_id="")
        .values_list("vendor_code_id", flat=True)
    )
    return {e["name"] for e in _entries([lock], max_age=None) if e["id"] not in ours}


def backup_seen_on_lock(backup: BackupCode) -> bool:
    """Whether the lock's last list, at most 24 hours old, showed this backup code (H5)."""
    if not backup.vendor_code_id:
        return False
    return any(
        entry["id"] == backup.vendor_code_id
        for entry in _entries([backup.lock], max_age=BACKUP_SEEN_MAX_AGE)
    )


def listings_refresh_stale(*, locks: list[Lock]) -> None:
    """Read the lists of locks last read more than 15 minutes ago, before a PIN is chosen
    (SPEC P7). A read is not a write (S5 needs no lease); a lock that can't be read now is
    judged on what we know, and the pass checks the PIN again before it writes."""
    listing_flush()
    fresh = set(
        LockListing.objects.filter(
            lock__in=locks, read_at__gte=timezone.now() - PIN_LIST_MAX_AGE
        ).values_list("lock_id", flat=True)
    )
    for lock in locks:
        if lock.pk in fresh or lock.connection.state != LockConnection.State.CONNECTED:
            continue
        adapter = adapter_for(lock.connection)
        if not adapter.has(Feature.LIST_CODES):
            continue
        try:
            listing_record(lock=lock, codes=adapter.list_codes(lock.remote_id))
        except VendorError as error:
            log.info("could not read lock %s before choosing a PIN: %s", lock.pk, error.reason)
