"""Arrival: which code opened the lock, from vendor events (SPEC K5).

Three vendors say which code was used:
- Seam: the `lock.unlocked` event carries `access_code_id` when a code opened the lock.
- Nuki: a `DEVICE_LOGS` webhook carries a smart lock log entry whose `authId` is the keypad
  code's auth id (our LockCode.vendor_code_id); actions 1 unlock, 3 unlatch, 4 lock 'n' go,
  5 lock 'n' go with unlatch are entries.
- TTLock: the lock-record callback (`notifyType=1`) lists records; `recordType` 4 is "unlock by
  passcode" with the passcode in `keyboardPwd` and the lock's time in `lockDate` (ms).

Only the first entry of a stay is kept. The webhook views call these after verifying the sender.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accesscodes.models import BackupCode, LockCode
from integrations.models import Lock, LockConnection

log = logging.getLogger(__name__)

NUKI_ENTRY_ACTIONS = {1, 3, 4, 5}
TTLOCK_UNLOCK_BY_PASSCODE = 4
# A lock's clock and the vendor's cloud drift a little; an entry this close to the window
# still belongs to the stay.
CLOCK_SKEW = timedelta(minutes=15)


def _stay_of_code(*, lock: Lock, at: datetime, vendor_code_id: str = "", pin: str = ""):
    """The reservation whose code (or assigned backup code) on this lock opened it, and how."""
    from guests.models import Arrival

    lock_codes = LockCode.objects.filter(lock=lock).exclude(state=LockCode.State.REMOVED)
    backups = BackupCode.objects.filter(lock=lock, reservation__isnull=False)
    if vendor_code_id:
        lock_codes = lock_codes.filter(vendor_code_id=vendor_code_id)
        backups = backups.filter(vendor_code_id=vendor_code_id)
    candidates = [
        (lock_code.access_code.reservation, lock_code.access_code, Arrival.Via.GUEST_CODE)
        for lock_code in lock_codes.select_related("access_code__reservation")
        if not pin or lock_code.pin == pin
    ]
    for backup in backups.select_related("reservation"):
        access_code = getattr(backup.reservation, "access_code", None)
        if backup.reservation and access_code is not None and (not pin or backup.pin == pin):
            candidates.append((backup.reservation, access_code, Arrival.Via.BACKUP_CODE))
    for reservation, access_code, via in candidates:
        if access_code.starts_at - CLOCK_SKEW <= at < access_code.ends_at + CLOCK_SKEW:
            return reservation, via
    return None, None


def entry_record(*, lock: Lock, at: datetime, vendor_code_id: str = "", pin: str = ""):
    """Record the stay's first entry through this lock; later entries change nothing."""
    from guests.models import Arrival

    if not vendor_code_id and not pin:
        return None
    reservation, via = _stay_of_code(lock=lock, at=at, vendor_code_id=vendor_code_id, pin=pin)
    if reservation is None:
        return None
    existing = Arrival.objects.filter(reservation=reservation).first()
    if existing is not None and existing.entered_at <= at:
        return existing
    try:
        with transaction.atomic():
            arrival, _ = Arrival.objects.update_or_create(
                reservation=reservation,
                defaults={
                    "lock": lock,
                    "lock_name": lock.name,
                    "entered_at": at,
                    "via": via,
                    "vendor": lock.connection.vendor,
                },
            )
    except IntegrityError:  # a concurrent webhook recorded it first
        return Arrival.objects.filter(reservation=reservation).first()
    return arrival


def _when(value) -> datetime:
    moment = parse_datetime(value) if isinstance(value, str) else None
    return moment if moment is not None and moment.tzinfo else timezone.now()


def seam_entries_record(*, connection: LockConnection, event: dict) -> None:
    if event.get("event_type") != "lock.unlocked" or not event.get("access_code_id"):
        return
    lock = connection.locks.filter(remote_id=str(event.get("device_id", ""))).first()
    if lock is not None:
        entry_record(
            lock=lock,
            at=_when(event.get("occurred_at") or event.get("created_at")),
            vendor_code_id=str(event["access_code_id"]),
        )


def nuki_entries_record(*, connection: LockConnection, payload: dict) -> None:
    if payload.get("feature") != "DEVICE_LOGS":
        return
    entry = payload.get("smartlockLog") or payload.get("log") or payload
    if not isinstance(entry, dict) or entry.get("action") not in NUKI_ENTRY_ACTIONS:
        return
    auth_id = entry.get("authId")
    smartlock_id = entry.get("smartlockId", payload.get("smartlockId"))
    lock = connection.locks.filter(remote_id=str(smartlock_id)).first()
    if lock is not None and auth_id:
        entry_record(lock=lock, at=_when(entry.get("date")), vendor_code_id=str(auth_id))


def ttlock_entries_record(*, data: dict) -> None:
    if str(data.get("notifyType", "")) != "1":
        return
    try:
        records = json.loads(data.get("records") or "[]")
    except ValueError:
        return
    locks = list(
        Lock.objects.filter(
            connection__vendor="ttlock",
            connection__state=LockConnection.State.CONNECTED,
            remote_id=str(data.get("lockId", "")),
        ).select_related("connection")
    )
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict) or str(record.get("success", "1")) != "1":
            continue
        if str(record.get("recordType")) != str(TTLOCK_UNLOCK_BY_PASSCODE):
            continue
        pin = str(record.get("keyboardPwd") or "")
        try:
            at = datetime.fromtimestamp(int(record.get("lockDate", "")) / 1000, tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            at = timezone.now()
        for lock in locks:
            entry_record(lock=lock, at=at, pin=pin)
