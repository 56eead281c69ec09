"""What the lock pass does when a vendor call fails (SPEC R1–R5, P5, P6, N2, L3)."""

from __future__ import annotations

from django.utils import timezone

from accesscodes.engine.announcements import ANNOUNCE_AT_LATEST
from accesscodes.engine.choices import own_pin, pins_on_locks, reservation_fallback_name
from accesscodes.engine.delivery import record_failure, store
from accesscodes.engine.provisioning import access_code_pin_replace
from accesscodes.engine.windows import desired_window
from accesscodes.models import AccessCode, LockCode
from integrations.base import Reason, VendorError


class FailureHandlers:
    """Failing a guest code: record it, schedule the retry, and react to the reason."""

    def fail(self, lock_code: LockCode, error: VendorError, *, removing: bool = False) -> None:
        # A code on the lock whose last change is not known to have landed (a write that
        # failed, or one acknowledged and not yet seen) is followed until the lock shows it,
        # even when the window it should have has ended: a cancelled stay's cut window (C3).
        on_lock_stale = lock_code.state == LockCode.State.SET
        kind = record_failure(
            lock_code,
            error,
            removing=removing,
            window_end=desired_window(lock_code)[1],
            keep_trying=on_lock_stale,
        )
        if removing or lock_code.state == LockCode.State.REMOVING:
            lock_code.delete_after = lock_code.next_attempt_at
        if kind == "rate_limited":
            self.rate_limited_until = lock_code.next_attempt_at
        if not store(lock_code):
            return
        self.event(lock_code, kind, reason=f"{error.reason}: {error.message}")
        if kind == "failed":
            self.react(lock_code, error)
            if not removing:
                from accesscodes.stay_alerts import code_failing_in_stay_alert

                code_failing_in_stay_alert(lock_code, error.reason)

    def react(self, lock_code: LockCode, error: VendorError) -> None:
        reason = error.reason
        if reason == Reason.DUPLICATE_CODE:
            # The only reason a guest's PIN changes on every lock (SPEC P6).
            access_code_pin_replace(
                access_code=lock_code.access_code,
                reason=f"{self.lock.name} already holds that PIN",
                avoid={lock_code.pin},
            )
        elif reason in (Reason.DUPLICATE_NAME, Reason.REJECTED):
            self.rename_or_own_pin(lock_code, error)
        elif reason == Reason.LOCK_FULL and lock_code.state != LockCode.State.REMOVING:
            # Room is made for a code going on the lock, never by evicting another guest
            # because a deletion failed.
            self.make_room(lock_code, self.capabilities.max_active_codes_supported)
        elif reason == Reason.ACCOUNT_DISCONNECTED:
            # Imported here: integrations.services imports the engine's services.
            from integrations.services import connection_mark_disconnected

            connection_mark_disconnected(connection=self.lock.connection, message=error.message)

    def rename_or_own_pin(self, lock_code: LockCode, error: VendorError) -> None:
        """N2 first: the reservation code as name. A lock that still rejects the code after
        that and one more attempt gets a PIN of its own; the others keep theirs (SPEC P6)."""
        fallback = reservation_fallback_name(self.lock, lock_code.access_code.reservation)
        if lock_code.name_on_lock != fallback:
            lock_code.name_on_lock = fallback
            store(lock_code)
            return
        if error.reason != Reason.REJECTED or lock_code.attempts < 3:
            return
        if self.capabilities.pin_chosen_by_vendor or lock_code.pin != lock_code.access_code.pin:
            return  # once only: a lock's own PIN does not churn (P6)
        taken = pins_on_locks([self.lock]) | {lock_code.pin, lock_code.access_code.pin}
        lock_code.pin = own_pin(self.lock, len(lock_code.pin), taken)
        if store(lock_code):
            self.event(lock_code, "own_pin", reason=f"{self.lock.name} kept rejecting the PIN")
            # The guest hears of it once this lock holds its own PIN, or 2 h before check-in.
            access_code = lock_code.access_code
            latest = access_code.reservation.check_in - ANNOUNCE_AT_LATEST
            AccessCode.objects.filter(pk=access_code.pk).update(
                pin_announce_by=max(timezone.now(), latest)
            )
            access_code.pin_announce_by = max(timezone.now(), latest)
