"""Removing our codes from a lock, and a full lock as a queue (SPEC D1–D3, S8, R5)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accesscodes.engine.delivery import UNANSWERED, store, store_attempt
from accesscodes.engine.lease import LEASE_TTL
from accesscodes.engine.windows import was_sent
from accesscodes.models import LockCode
from integrations.base import Reason, VendorError
from messaging.models import HostAlert
from messaging.services import host_alert_raise

# A code waiting for space is looked at again as soon as a slot is confirmed free
# (`space_freed`); this is only the backstop for a slot freed by hand and never read.
WAIT_FOR_SPACE_RECHECK = timedelta(hours=1)
DELETE_CONFIRM_POLL = timedelta(seconds=30)
DELETE_CONFIRM_GIVE_UP = timedelta(minutes=15)


class CapacityHandlers:
    """The removal handler of the lock pass, and making room on a full lock."""

    def take_off_lock(self, lock_code: LockCode) -> None:
        """Delete our code from the lock; never one we did not create (SPEC D2)."""
        if lock_code.created_by_us and not lock_code.vendor_code_id and was_sent(lock_code):
            found = self.find(remote_id="", pin=lock_code.pin, name=lock_code.name_on_lock)
            if found is not None:
                lock_code.vendor_code_id = found.remote_id
        present = bool(lock_code.vendor_code_id) and (
            self.listing is None or self.find(remote_id=lock_code.vendor_code_id) is not None
        )
        if present and lock_code.created_by_us and self.capabilities.can_delete_codes:
            self.delete_from_lock(lock_code)
            return
        if present and not self.capabilities.can_delete_codes:
            self.left_to_expire(lock_code)  # irrevocable.py: the lock was never asked
            return
        self.mark_removed(lock_code)

    def delete_from_lock(self, lock_code: LockCode) -> None:
        now = timezone.now()
        sent_at = lock_code.last_attempt_at
        if (
            lock_code.state == LockCode.State.REMOVING
            and not lock_code.last_error
            and sent_at is not None
            and now - sent_at < DELETE_CONFIRM_GIVE_UP
        ):
            # Our delete was accepted and the vendor has not applied it yet (S6).
            lock_code.delete_after = now + DELETE_CONFIRM_POLL
            store(lock_code)
            return
        lock_code.state = LockCode.State.REMOVING
        lock_code.last_attempt_at = now
        lock_code.last_error, lock_code.last_error_message = Reason.TIMEOUT, UNANSWERED
        lock_code.delete_after = now + LEASE_TTL
        if not store_attempt(lock_code):
            return
        try:
            self.vendor_delete(lock_code.vendor_code_id)
        except VendorError as error:
            self.fail(lock_code, error, removing=True)
            return
        lock_code.last_error, lock_code.last_error_message = "", ""
        lock_code.next_attempt_at = None  # what is left is the deletion, due by delete_after
        if self.listing is not None:
            # Gone only once the lock no longer lists it: a vendor may acknowledge a
            # delete it never carries out (SPEC S7), so look again shortly.
            lock_code.delete_after = now + DELETE_CONFIRM_POLL
            if store(lock_code):
                self.event(lock_code, "removing")
            return
        self.mark_removed(lock_code)

    def mark_removed(self, lock_code: LockCode, *, kind: str = "removed", reason: str = "") -> None:
        lock_code.state = LockCode.State.REMOVED
        lock_code.removed_at = timezone.now()
        lock_code.next_attempt_at = None
        lock_code.delete_after = None
        if not store(lock_code):
            return
        self.event(lock_code, kind, reason=reason)
        if self.listing is not None:
            self.listing = [r for r in self.listing if r.remote_id != lock_code.vendor_code_id]
        self.space_freed()

    def space_freed(self) -> None:
        """Codes queued for space are looked at again now, not on a timer (SPEC S8, R5)."""
        LockCode.objects.filter(lock=self.lock, state=LockCode.State.WAITING_FOR_SPACE).update(
            next_attempt_at=timezone.now()
        )

    def make_room(self, lock_code: LockCode, count: int) -> bool:
        """A full lock is a queue ordered by window start (SPEC S8, D3)."""
        capacity = self.capabilities.max_active_codes_supported
        if count < capacity:
            return True
        # Our ended codes go first (D3, R3).
        ended = LockCode.objects.filter(
            lock=self.lock, access_code__ends_at__lte=self.now, state=LockCode.State.SET
        ).select_related("access_code__reservation")
        for old in ended:
            old.lock = self.lock
            self.take_off_lock(old)
        count = len(self.read(fresh=True) or ())
        if count < capacity:
            return True
        if self.give_way(lock_code):
            return True
        lock_code.state = LockCode.State.WAITING_FOR_SPACE
        lock_code.last_error = Reason.LOCK_FULL
        lock_code.last_error_message = f"{self.lock.name} holds {count} of {capacity} codes"
        lock_code.next_attempt_at = self.now + WAIT_FOR_SPACE_RECHECK
        if store(lock_code):
            self.event(lock_code, "waiting_for_space", reason=lock_code.last_error_message)
        self.alert_full()
        return False

    def give_way(self, lock_code: LockCode) -> bool:
        """A later guest's code that is on the lock early gives way to a nearer one."""
        later = (
            LockCode.objects.filter(
                lock=self.lock,
                state=LockCode.State.SET,
                access_code__starts_at__gt=max(self.now, lock_code.access_code.starts_at),
            )
            .select_related("access_code__reservation")
            .order_by("-access_code__starts_at")
            .first()
        )
        if later is None:
            return False
        later.lock = self.lock
        try:
            self.vendor_delete(later.vendor_code_id)
        except VendorError:
            return False  # no room could be made now; the nearer code waits
        later.state = LockCode.State.WAITING_FOR_SPACE
        later.vendor_code_id = ""
        later.confirmation = ""
        later.next_attempt_at = self.now + WAIT_FOR_SPACE_RECHECK
        store(later)
        self.event(later, "waiting_for_space", reason="made room for a nearer stay")
        self.read(fresh=True)
        return True

    def alert_full(self) -> None:
        recent = HostAlert.objects.filter(
            host_id=self.host_id,
            kind=HostAlert.Kind.LOCK_FULL,
            subject__contains=self.lock.name,
            created_at__gte=timezone.now() - timedelta(days=1),
        )
        if recent.exists():
            return
        host_alert_raise(
            host=self.lock.connection.host,
            kind=HostAlert.Kind.LOCK_FULL,
            subject=f"{self.lock.name} is full",
            body=(
                f"{self.lock.name} holds {self.capabilities.max_active_codes_supported} codes, "
                "its maximum. We removed the ended codes we created; the codes still on it were "
                "not made by locksync or belong to current guests. Delete old codes in your lock "
                "app so upcoming guests' codes can be set."
            ),
            link=f"/locks/{self.lock.pk}/",
        )
