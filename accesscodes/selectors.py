"""Reads of a host's codes and their history. Every read takes the host."""

from django.db.models import QuerySet

from accesscodes.models import AccessCode, BackupCode, CodeEvent, LockCode
from integrations.models import Lock
from properties.models import Host


def access_code_list(*, host: Host) -> QuerySet[AccessCode]:
    return AccessCode.objects.filter(reservation__host=host)


def lock_code_list(*, host: Host) -> QuerySet[LockCode]:
    return LockCode.objects.filter(access_code__reservation__host=host).select_related(
        "lock", "access_code"
    )


def lock_code_get(*, host: Host, pk: int) -> LockCode:
    return lock_code_list(host=host).get(pk=pk)


def backup_code_list(*, host: Host) -> QuerySet[BackupCode]:
    return BackupCode.objects.filter(lock__connection__host=host)


def code_event_list(*, host: Host) -> QuerySet[CodeEvent]:
    return CodeEvent.objects.filter(host=host)


def smartlock_codes_for_reservation(*, reservation) -> list[tuple[Lock, str]]:
    """Per matched lock, the code the guest should use now: their PIN, or the backup code
    assigned to them while their own is not set on that lock (SPEC H4, G3)."""
    access_code = AccessCode.objects.filter(reservation=reservation).first()
    if access_code is None:
        return []
    backups = {
        backup.lock_id: backup
        for backup in BackupCode.objects.filter(reservation=reservation).exclude(
            state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED]
        )
    }
    result = []
    lock_codes = access_code.lock_codes.exclude(state=LockCode.State.REMOVED).select_related("lock")
    for lock_code in lock_codes.order_by("lock__name", "lock_id"):
        backup = backups.get(lock_code.lock_id)
        if backup is not None and lock_code.state != LockCode.State.SET:
            result.append((lock_code.lock, backup.pin))
        else:
            result.append((lock_code.lock, lock_code.pin))
    return result


def lock_our_codes(*, host: Host, lock: Lock) -> dict[str, str]:
    """Our codes on a lock by vendor code id, each with what it is for (guest or backup)."""
    ours: dict[str, str] = {}
    lock_codes = (
        lock_code_list(host=host)
        .filter(lock=lock)
        .exclude(vendor_code_id="")
        .select_related("access_code__reservation")
    )
    for lock_code in lock_codes:
        ours[lock_code.vendor_code_id] = lock_code.access_code.reservation.guest_name
    for backup in backup_code_list(host=host).filter(lock=lock).exclude(vendor_code_id=""):
        ours[backup.vendor_code_id] = backup.name
    return ours


def reservation_access(*, host: Host, reservation, events_per_lock: int = 3) -> dict:
    """What the Property Access panel shows for one of the host's stays (SPEC V1).

    The guest's code per lock (their PIN, or the backup code standing in for it), each lock's
    LockCode with its latest events, and the backup codes assigned to the stay. A fixed
    number of queries, whatever the number of locks or events.
    """
    access_code = access_code_list(host=host).filter(reservation=reservation).first()
    if access_code is None:
        return {"access_code": None, "lock_codes": [], "codes": [], "backups": []}
    lock_codes = list(
        lock_code_list(host=host)
        .filter(access_code=access_code)
        .select_related("lock__connection")
        .order_by("lock__name", "lock_id")
    )
    events: dict[int, list[CodeEvent]] = {lock_code.pk: [] for lock_code in lock_codes}
    for event in code_event_list(host=host).filter(lock_code__in=lock_codes)[:200]:
        bucket = events[event.lock_code_id]
        if len(bucket) < events_per_lock:
            bucket.append(event)
    backups = list(
        backup_code_list(host=host)
        .filter(reservation=reservation)
        .exclude(state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED])
        .select_related("lock")
    )
    backup_by_lock = {backup.lock_id: backup for backup in backups}
    for lock_code in lock_codes:
        lock_code.latest_events = events[lock_code.pk]
        backup = backup_by_lock.get(lock_code.lock_id)
        # SPEC H4: while a backup code stands in for the guest's own code, it is the code.
        lock_code.backup = backup if backup and lock_code.state != LockCode.State.SET else None
        lock_code.guest_code = lock_code.backup.pin if lock_code.backup else lock_code.pin
    live = [lc for lc in lock_codes if lc.state != LockCode.State.REMOVED]
    codes = sorted({lc.guest_code for lc in live})
    return {
        "access_code": access_code,
        "lock_codes": lock_codes,
        "codes": codes,
        "backups": backups,
    }
