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
