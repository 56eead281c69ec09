"""Vendor webhooks about codes: look at the lock now instead of at the next poll (SPEC S6)."""

from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from accesscodes.models import BackupCode, LockCode
from accesscodes.services import lock_dispatch_enqueue
from integrations.webhooks import lock_codes_changed


@receiver(lock_codes_changed, dispatch_uid="accesscodes-lock-codes-changed")
def lock_codes_changed_follow_up(sender, *, lock, code_remote_id: str, event: str, **kwargs):
    now = timezone.now()
    mentioned = Q(vendor_code_id=code_remote_id) if code_remote_id else Q(pk__in=[])
    due = LockCode.objects.filter(lock=lock).filter(
        Q(state=LockCode.State.SETTING) | (mentioned & Q(state=LockCode.State.SET))
    )
    touched = due.update(next_attempt_at=now)
    touched += BackupCode.objects.filter(lock=lock, state=BackupCode.State.SETTING).update(
        next_attempt_at=now
    )
    if touched:
        transaction.on_commit(lambda: lock_dispatch_enqueue(lock_id=lock.pk))
