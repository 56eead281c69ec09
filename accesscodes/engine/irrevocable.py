"""Codes a lock can neither change nor delete once issued (igloohome algoPIN; SPEC C1, C3, P6).

Such a code works until the end it was issued with. A stay that grows (or moves) past that
window gets a new code covering the new one, and the guest is sent the new PIN (P6, G7); the
old code is recorded as working until its end. A stay that shrinks or is cancelled keeps the
old code, and the host is told until when it keeps working, since nobody can revoke it.
"""

from __future__ import annotations

from django.utils import timezone

from accesscodes.engine.announcements import ANNOUNCE_AT_LATEST
from accesscodes.engine.delivery import store
from accesscodes.engine.windows import window_for_lock
from accesscodes.models import AccessCode, LockCode
from accesscodes.presentation import local_time
from messaging.models import HostAlert
from messaging.services import host_alert_raise


class IrrevocableCodeHandlers:
    """Lock-pass handlers for a changed stay whose code the lock cannot change or delete."""

    def works_until_end(self, lock_code: LockCode) -> None:
        """The issued code stays as it is; a window it no longer covers gets a new code."""
        old_starts, old_ends = lock_code.window_starts_at, lock_code.window_ends_at
        new_starts, new_ends = window_for_lock(lock_code)
        zone = lock_code.access_code.reservation.property
        until = f"works until {local_time(old_ends, zone)}"
        cancelled = lock_code.access_code.cancelled_at is not None
        covers = (
            cancelled
            or old_starts is None
            or (old_starts <= new_starts and (old_ends is None or old_ends >= new_ends))
        )
        outlasts = old_ends is not None and (
            old_ends > new_ends or (not cancelled and old_starts < new_starts)
        )
        if covers:
            lock_code.in_sync = True
            lock_code.next_attempt_at = None
            if not store(lock_code):
                return
            self.event(lock_code, "cannot_change", reason=f"issued; {until}")
        else:
            self.event(lock_code, "superseded", reason=f"the earlier code {until}")
            self.issue_new_code(lock_code)
        if outlasts:
            self.alert_code_outlasts_stay(lock_code, old_ends)

    def left_to_expire(self, lock_code: LockCode) -> None:
        """Close our record of a code the lock cannot delete, and say what really happens to
        it: nothing is sent, it stops working at the end it was issued with (SPEC C3, D1)."""
        ends = lock_code.window_ends_at
        where = lock_code.access_code.reservation.property
        if ends is None:
            fate = "it keeps working"
        else:
            verb = "stops" if ends > timezone.now() else "stopped"
            fate = f"it {verb} working at {local_time(ends, where)}"
        reason = f"can't be removed from this lock; {fate}"
        self.mark_removed(lock_code, kind="expires_on_its_own", reason=reason)

    def issue_new_code(self, lock_code: LockCode) -> None:
        """A fresh code for the new window; the guest hears of the new PIN once it is issued
        (or 2 h before check-in), as for any lock's own PIN (SPEC P6, G7)."""
        access_code = lock_code.access_code
        latest = access_code.reservation.check_in - ANNOUNCE_AT_LATEST
        access_code.pin_announce_by = max(timezone.now(), latest)
        AccessCode.objects.filter(pk=access_code.pk).update(
            pin_announce_by=access_code.pin_announce_by
        )
        lock_code.vendor_code_id = ""
        lock_code.state = LockCode.State.SCHEDULED
        lock_code.confirmation = ""
        lock_code.in_sync = True
        self.send_code(lock_code)

    def alert_code_outlasts_stay(self, lock_code: LockCode, works_until) -> None:
        """Tell the host a code that cannot be revoked still opens the lock, and until when."""
        reservation = lock_code.access_code.reservation
        change = "was cancelled" if lock_code.access_code.cancelled_at else "changed"
        until = local_time(works_until, reservation.property)
        host_alert_raise(
            host=self.lock.connection.host,
            kind=HostAlert.Kind.CODE_STILL_WORKS,
            subject=f"{reservation.guest_name}'s code on {self.lock.name} keeps working until "
            f"{until}",
            body=(
                f"The stay of {reservation.guest_name} at {reservation.property.name} {change}. "
                f"{self.lock.name} cannot revoke or change a code once issued, so the guest's "
                f"code keeps working until {until}."
            ),
            link=f"/reservations/{reservation.pk}/",
        )
