"""Reads of a host's codes and their history. Every read takes the host."""

from dataclasses import dataclass

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


@dataclass(frozen=True)
class GuestLockCode:
    """The code a guest uses on one lock, and whether it is ready there (SPEC G3, H4, P6).

    `code` is the guest's PIN, this lock's own PIN (a lock that kept rejecting it, or whose
    vendor chooses PINs), or the backup code standing in while the guest's own is not set;
    "" while a vendor-chosen PIN is not known yet."""

    lock: Lock
    lock_code: LockCode
    code: str
    backup: BackupCode | None
    ready: bool


def guest_lock_codes(*, reservation) -> list[GuestLockCode]:
    """The one read model of "what code does this guest use on this lock", per live lock
    code, ordered by lock name (two queries)."""
    lock_codes = (
        LockCode.objects.filter(access_code__reservation=reservation)
        .exclude(state=LockCode.State.REMOVED)
        .select_related("lock__connection")
        .order_by("lock__name", "lock_id")
    )
    return _guest_lock_codes(reservation, list(lock_codes))


def _guest_lock_codes(
    reservation, lock_codes: list[LockCode], backups: list[BackupCode] | None = None
) -> list[GuestLockCode]:
    if backups is None:
        backups = list(
            BackupCode.objects.filter(reservation=reservation).exclude(
                state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED]
            )
        )
    by_lock = {backup.lock_id: backup for backup in backups}
    result = []
    for lock_code in lock_codes:
        if lock_code.state == LockCode.State.REMOVED:
            continue
        backup = by_lock.get(lock_code.lock_id)
        own_set = lock_code.state == LockCode.State.SET
        if backup is not None and not own_set:
            code, ready = backup.pin, backup.state == BackupCode.State.SET
        else:
            code, ready, backup = lock_code.pin, own_set, None
        result.append(
            GuestLockCode(
                lock=lock_code.lock, lock_code=lock_code, code=code, backup=backup, ready=ready
            )
        )
    return result


def smartlock_codes_for_reservation(*, reservation) -> list[tuple[Lock, str]]:
    """Per matched lock, the code the guest should use now (`%smartlock_code%`, SPEC G3, H4);
    locks whose vendor has not told us its PIN yet are left out."""
    return [(row.lock, row.code) for row in guest_lock_codes(reservation=reservation) if row.code]


def lock_our_codes(*, host: Host, lock: Lock, vendor_code_ids: list[str]) -> dict[str, str]:
    """Which of the codes a lock lists now are ours, by vendor code id, each with what it is
    for (guest or backup). Looked up by the ids listed, never over the lock's whole history:
    removed codes keep their vendor id (issue #21: 0.7 s for a lock with 2,000 past stays)."""
    ours: dict[str, str] = {}
    lock_codes = (
        lock_code_list(host=host)
        .filter(lock=lock, vendor_code_id__in=vendor_code_ids)
        .select_related("access_code__reservation")
    )
    for lock_code in lock_codes:
        ours[lock_code.vendor_code_id] = lock_code.access_code.reservation.guest_name
    backups = backup_code_list(host=host).filter(lock=lock, vendor_code_id__in=vendor_code_ids)
    for backup in backups:
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
    rows = {row.lock_code.pk: row for row in _guest_lock_codes(reservation, lock_codes, backups)}
    for lock_code in lock_codes:
        lock_code.latest_events = events[lock_code.pk]
        row = rows.get(lock_code.pk)
        # SPEC H4: while a backup code stands in for the guest's own code, it is the code.
        lock_code.backup = row.backup if row else None
        lock_code.guest_code = row.code if row else lock_code.pin
    codes = sorted({row.code for row in rows.values() if row.code})
    return {
        "access_code": access_code,
        "lock_codes": lock_codes,
        "codes": codes,
        "backups": backups,
    }
