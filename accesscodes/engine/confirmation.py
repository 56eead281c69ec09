"""Following a write until the lock lists it, or it fails (SPEC S6, S7, R4).

A write with no answer (a timeout, or a worker killed mid-call) is marked before it is sent
(`last_error=timeout`), so the next pass reads the lock back: found, it is adopted; not
found after UNANSWERED_GRACE, it is sent again at once rather than after a retry delay.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from accesscodes.engine.announcements import pin_announce_if_ready
from accesscodes.engine.delivery import record_success, store, store_many
from accesscodes.engine.windows import window_for_lock
from accesscodes.models import LockCode
from integrations.base import CodeStatus, Reason, RemoteCode, VendorError

log = logging.getLogger(__name__)

CONFIRM_POLL = timedelta(seconds=30)
# An acknowledged write that never shows on the lock counts as failed after this long.
CONFIRM_GIVE_UP = timedelta(minutes=15)
UNANSWERED_GRACE = timedelta(minutes=2)
# A code the vendor holds `unset` until its window (Seam) can still fail days early
# (`failed_to_set_on_device`): it is looked at again on a growing interval, the time since
# its write, between these bounds, and never later than its window start (S6, R1).
HELD_POLL_FIRST = timedelta(minutes=15)
HELD_POLL_MAX = timedelta(hours=6)


class ConfirmationHandlers:
    """The `setting` handler of the lock pass."""

    # While the read-back confirms this pass's writes: codes seen set, stored together.
    set_batch: list | None = None

    def confirm_new_writes(self) -> None:
        """Read the lock back after writing: only what it lists counts as set (SPEC S7)."""
        unconfirmed, self.unconfirmed = self.unconfirmed, []
        try:
            self.read(fresh=True)
        except VendorError:
            for lock_code in unconfirmed:
                store(lock_code)
            return
        written_now = {lock_code.pk for lock_code in unconfirmed}
        earlier = [
            lock_code
            for lock_code in self.loaded_codes
            if lock_code.state == LockCode.State.SETTING and lock_code.pk not in written_now
        ]
        # Codes the lock now lists are stored together, in one guarded UPDATE (S9).
        self.set_batch = []
        try:
            for lock_code in [*unconfirmed, *earlier]:
                self.confirm_write(lock_code, poll_only=True)
        finally:
            batch, self.set_batch = self.set_batch, None
            for (lock_code, confirmation), written in zip(
                batch, store_many([lock_code for lock_code, _ in batch]), strict=True
            ):
                if written:
                    self.was_set(lock_code, confirmation)
        self.confirm_backup_writes()

    def confirm_write(self, lock_code: LockCode, *, poll_only: bool = False) -> None:
        """Follow a write until the lock shows it, or it fails (SPEC S6, R4)."""
        if self.listing is None:
            if lock_code.last_error == Reason.TIMEOUT:
                self.send_code(lock_code)  # unanswered, and nothing to read back: send again
            else:
                self.mark_set(lock_code, LockCode.Confirmation.VENDOR)
            return
        found = self.find(
            remote_id=lock_code.vendor_code_id, pin=lock_code.pin, name=lock_code.name_on_lock
        )
        if found is not None and found.error:
            self.discard_failed_copy(lock_code, found)
        elif found is not None and found.status == CodeStatus.SET:
            lock_code.vendor_code_id = found.remote_id
            self.mark_set(lock_code, LockCode.Confirmation.READ_BACK)
        elif (
            found is not None
            and found.status == CodeStatus.UNSET
            and self.held_until_start(lock_code)
        ):
            self.await_window_start(lock_code, found)
        elif found is None and lock_code.last_error == Reason.TIMEOUT:
            self.resend_unanswered(lock_code, poll_only=poll_only)
        else:
            self.await_confirmation(lock_code, found, poll_only=poll_only)

    def held_until_start(self, lock_code: LockCode) -> bool:
        """Seam holds a time-bound code `unset` until its window starts: that is healthy."""
        starts_at = window_for_lock(lock_code)[0]
        return starts_at is not None and timezone.now() < starts_at

    def await_window_start(self, lock_code: LockCode, found: RemoteCode) -> None:
        lock_code.vendor_code_id = found.remote_id
        record_success(lock_code)
        now = timezone.now()
        waited = now - (lock_code.last_attempt_at or now)
        interval = min(max(waited, HELD_POLL_FIRST), HELD_POLL_MAX)
        lock_code.next_attempt_at = min(now + interval, window_for_lock(lock_code)[0])
        store(lock_code)

    def discard_failed_copy(self, lock_code: LockCode, found: RemoteCode) -> None:
        """The vendor gave up on this copy: remove it (it is ours) so the retry, perhaps under
        a new PIN or name, leaves no failed copy behind."""
        try:
            self.vendor_delete(found.remote_id)
        except VendorError:
            log.warning("could not delete a failed code from lock %s", self.lock.pk)
        lock_code.vendor_code_id = ""
        self.fail(lock_code, VendorError(found.error, found.error_message or "vendor error"))

    def resend_unanswered(self, lock_code: LockCode, *, poll_only: bool) -> None:
        """A write with no answer that the lock does not list: after a short grace it never
        arrived, so it is sent again now, not after a retry delay (R4)."""
        sent_at = lock_code.last_attempt_at or self.now
        if timezone.now() - sent_at < UNANSWERED_GRACE or poll_only:
            lock_code.next_attempt_at = sent_at + UNANSWERED_GRACE
            store(lock_code)
            return
        self.event(lock_code, "write_lost", reason="an unanswered write never reached the lock")
        lock_code.state = LockCode.State.FAILED
        self.send_code(lock_code)

    def await_confirmation(
        self, lock_code: LockCode, found: RemoteCode | None, *, poll_only: bool
    ) -> None:
        if found is not None:
            lock_code.vendor_code_id = found.remote_id
            if lock_code.last_error == Reason.TIMEOUT:
                record_success(lock_code)  # the unanswered write did arrive
        started = lock_code.last_attempt_at or self.now
        if not poll_only and timezone.now() - started >= CONFIRM_GIVE_UP:
            message = "the vendor accepted the code but it never appeared on the lock"
            lock_code.vendor_code_id = "" if found is None else lock_code.vendor_code_id
            self.fail(lock_code, VendorError(Reason.VENDOR_ERROR, message))
            return
        lock_code.next_attempt_at = timezone.now() + CONFIRM_POLL
        store(lock_code)

    def adopt(self, lock_code: LockCode, remote: RemoteCode) -> None:
        """Our earlier, unanswered write did reach the lock: keep it (SPEC R4)."""
        lock_code.vendor_code_id = remote.remote_id
        lock_code.window_starts_at, lock_code.window_ends_at = window_for_lock(lock_code)
        if remote.starts_at is not None and (remote.starts_at, remote.ends_at) != (
            lock_code.window_starts_at,
            lock_code.window_ends_at,
        ):
            # The stay changed after that write: the copy on the lock has the older window.
            lock_code.in_sync = False
        record_success(lock_code)
        self.event(lock_code, "found_on_lock", reason="an earlier write had reached the lock")
        if remote.status == CodeStatus.SET:
            self.mark_set(lock_code, LockCode.Confirmation.READ_BACK)
        else:
            lock_code.state = LockCode.State.SETTING
            lock_code.next_attempt_at = timezone.now() + CONFIRM_POLL
            store(lock_code)

    def mark_set(self, lock_code: LockCode, confirmation: str) -> None:
        lock_code.state = LockCode.State.SET
        lock_code.confirmation = confirmation
        lock_code.set_at = timezone.now()
        record_success(lock_code)
        lock_code.next_attempt_at = None if lock_code.in_sync else timezone.now()
        if self.set_batch is not None:
            self.set_batch.append((lock_code, confirmation))  # stored by confirm_new_writes
        elif store(lock_code):
            self.was_set(lock_code, confirmation)

    def was_set(self, lock_code: LockCode, confirmation: str) -> None:
        self.event(lock_code, "set", after={"confirmation": confirmation})
        self.announce_if_ready(lock_code)

    def announce_if_ready(self, lock_code: LockCode) -> None:
        """A new PIN confirmed here may be the last one the guest waits for (P6)."""
        if lock_code.in_sync and lock_code.access_code.pin_announce_by is not None:
            pin_announce_if_ready(access_code_id=lock_code.access_code_id)
