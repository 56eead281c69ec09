"""When a guest is told their new PIN (SPEC P6, G7).

A new PIN is announced once every lock that held the old one holds the new one, or 2 hours
before check-in, whichever is first, so a "new code" message never arrives before the locks
have it, nor too late to matter. Announcing sends `pin_changed`; messaging does the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accesscodes.models import AccessCode, LockCode
from accesscodes.signals import pin_changed

ANNOUNCE_AT_LATEST = timedelta(hours=2)  # before check-in
ON_LOCK = (LockCode.State.SETTING, LockCode.State.SET, LockCode.State.REMOVING)


def pin_announcement_schedule(*, access_code: AccessCode, had_old_pin_on_a_lock: bool) -> None:
    """After a PIN change: announce at once if no lock held the old PIN, else wait."""
    if not had_old_pin_on_a_lock:
        access_code.pin_announce_by = None
        access_code.save(update_fields=["pin_announce_by", "updated_at"])
        transaction.on_commit(lambda: pin_changed.send(sender=AccessCode, access_code=access_code))
        return
    latest = access_code.reservation.check_in - ANNOUNCE_AT_LATEST
    access_code.pin_announce_by = max(timezone.now(), latest)
    access_code.save(update_fields=["pin_announce_by", "updated_at"])


def new_pin_on_every_lock(access_code_id: int) -> bool:
    """Whether no lock still holds an older PIN of this access code."""
    return not (
        LockCode.objects.filter(access_code_id=access_code_id, state__in=ON_LOCK)
        .exclude(vendor_code_id="")
        .filter(in_sync=False)
        .exists()
    )


def pin_announce(*, access_code_id: int) -> bool:
    """Announce a waiting PIN change once (a conditional UPDATE claims it)."""
    claimed = AccessCode.objects.filter(pk=access_code_id, pin_announce_by__isnull=False).update(
        pin_announce_by=None
    )
    if not claimed:
        return False
    access_code = AccessCode.objects.select_related("reservation").get(pk=access_code_id)
    pin_changed.send(sender=AccessCode, access_code=access_code)
    return True


def pin_announce_if_ready(*, access_code_id: int) -> None:
    """Called when one of its codes is confirmed on a lock."""
    waiting = AccessCode.objects.filter(pk=access_code_id, pin_announce_by__isnull=False)
    if waiting.exists() and new_pin_on_every_lock(access_code_id):
        pin_announce(access_code_id=access_code_id)


def pin_announcements_due(*, now: datetime | None = None) -> int:
    """The minute sweep: announce changes whose latest time has come."""
    now = now or timezone.now()
    due = AccessCode.objects.filter(pin_announce_by__lte=now).values_list("pk", flat=True)
    return sum(pin_announce(access_code_id=pk) for pk in list(due[:200]))
