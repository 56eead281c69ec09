"""Reads of a host's codes and their history. Every read takes the host."""

from django.db.models import QuerySet

from accesscodes.models import AccessCode, BackupCode, CodeEvent, LockCode
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
