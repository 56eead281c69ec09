"""One pass over one lock: what is due there, carried out with the lease held (SPEC S5).

Each code state has one handler saying what it sends and where the code goes next:

- due for removal (`delete_after` passed) → `take_off_lock`
- scheduled, waiting for space, failed   → `send_code`
- setting (sent, not yet seen)           → `confirm_write`
- set, removing (not yet due to go)      → `check_on_lock`

Backup codes go through the same delivery path (`backups.BackupHandlers`). Every vendor call
renews the lease; the pass stops taking codes when its time budget is spent and reports the
rest as unfinished, so the caller queues another pass.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Case, Q, Value, When
from django.utils import timezone

from accesscodes.engine.backups import BackupHandlers
from accesscodes.engine.capacity import CapacityHandlers
from accesscodes.engine.confirmation import (
    CONFIRM_GIVE_UP,
    CONFIRM_POLL,
    ConfirmationHandlers,
)
from accesscodes.engine.delivery import (
    UNANSWERED,
    record_success,
    remember_stored,
    store,
    store_attempt,
)
from accesscodes.engine.events import EventBuffer
from accesscodes.engine.failures import FailureHandlers
from accesscodes.engine.irrevocable import IrrevocableCodeHandlers
from accesscodes.engine.lease import LEASE_TTL, PASS_BUDGET, Lease
from accesscodes.engine.listings import listing_flush, listing_record
from accesscodes.engine.windows import desired_window, send_time, was_sent, window_for_lock
from accesscodes.models import BackupCode, LockCode
from accesscodes.pin import pins_collide
from integrations.base import (
    Adapter,
    CodeSpec,
    CodeStatus,
    Feature,
    LockCapabilities,
    Reason,
    RemoteCode,
    VendorError,
)
from integrations.models import Lock, LockConnection
from integrations.registry import adapter_for

log = logging.getLogger(__name__)

BATCH_SIZE = 200


class LockPass(
    ConfirmationHandlers,
    FailureHandlers,
    CapacityHandlers,
    BackupHandlers,
    IrrevocableCodeHandlers,
):
    """One pass over one lock, with its lease held."""

    def __init__(
        self, lock: Lock, *, lease: Lease | None = None, budget: timedelta | None = None
    ) -> None:
        self.lock = lock
        self.lease = lease
        self.now: datetime = timezone.now()
        self.deadline: datetime = self.now + (budget or PASS_BUDGET)
        self.listing: list[RemoteCode] | None = None
        self.creates = 0
        # Codes written this pass whose answer is kept in memory until the read-back below
        # (one UPDATE per code instead of two); stored at the end of the pass regardless.
        self.unconfirmed: list[LockCode] = []
        self.unfinished = False
        # Set by a rate-limited answer: the pass stops writing to this lock, and the next pass
        # is queued for the moment the vendor allows (issue #15: no phase race with the sweep).
        self.rate_limited_until: datetime | None = None
        self._ours: set[str] | None = None
        self.loaded_codes: list[LockCode] = []  # due, and sent earlier awaiting the read-back
        self.loaded_backups: list[BackupCode] = []
        self.new_backups: list[BackupCode] = []  # made by a rotation during this pass
        self.adapter: Adapter = adapter_for(lock.connection)
        self.capabilities: LockCapabilities = lock.capability_record
        self.host_id: int = lock.connection.host_id
        self.events = EventBuffer(self.host_id, lock)

    # --- talking to the lock: every call renews the lease (S5) --------------------------------

    def _renew(self) -> None:
        if self.lease is not None:
            self.lease.renew()

    def vendor_create(self, spec: CodeSpec) -> RemoteCode:
        self._renew()
        return self.adapter.create_code(self.lock.remote_id, spec)

    def vendor_update(self, remote_id: str, spec: CodeSpec) -> RemoteCode:
        self._renew()
        return self.adapter.update_code(self.lock.remote_id, remote_id, spec)

    def vendor_delete(self, remote_id: str) -> None:
        self._renew()
        self.adapter.delete_code(self.lock.remote_id, remote_id)

    def read(self, *, fresh: bool = False) -> list[RemoteCode] | None:
        """The lock's codes, read once per pass; None when the vendor cannot list."""
        if not self.adapter.has(Feature.LIST_CODES):
            return None
        if self.listing is None or fresh:
            self._renew()
            self.listing = self.adapter.list_codes(self.lock.remote_id)
            # Kept once, at the pass's end (or before anything reads it back): a pass that
            # reads the lock again after writing records only the newer list.
            listing_record(lock=self.lock, codes=self.listing, defer=True)
        return self.listing

    def note_ours(self, remote_id: str) -> None:
        if remote_id and self._ours is not None:
            self._ours.add(remote_id)

    def our_remote_ids(self) -> set[str]:
        """Which of the codes the lock lists are ours: bounded by the listing, not by the
        lock's whole history of vendor ids."""
        if self._ours is None:
            listed = [remote.remote_id for remote in self.listing or () if remote.remote_id]
            codes = LockCode.objects.filter(lock=self.lock, vendor_code_id__in=listed)
            backups = BackupCode.objects.filter(lock=self.lock, vendor_code_id__in=listed)
            self._ours = set(codes.values_list("vendor_code_id", flat=True)) | set(
                backups.values_list("vendor_code_id", flat=True)
            )
        return self._ours

    def find(self, *, remote_id: str, pin: str = "", name: str = "") -> RemoteCode | None:
        """Our copy on the lock: by vendor id, else (no id yet) by PIN and name."""
        listing = self.listing or ()
        if remote_id:
            return next((remote for remote in listing if remote.remote_id == remote_id), None)
        if not pin and not name:
            return None
        ours = self.our_remote_ids()
        return next(
            (
                remote
                for remote in listing
                if (remote.pin == pin or not pin)
                and remote.name == name
                and remote.remote_id not in ours
            ),
            None,
        )

    # --- the pass ---------------------------------------------------------------------------

    def out_of_time(self) -> bool:
        """Whether to stop taking codes: the budget is spent, or the vendor asked us to wait."""
        if self.rate_limited_until is None and timezone.now() < self.deadline:
            return False
        self.unfinished = True
        return True

    def run(self, *, only_ids: set[int] | None = None) -> None:
        try:
            self._run(only_ids)
        finally:
            for lock_code in self.unconfirmed:
                store(lock_code)
            self.unconfirmed = []
            self.events.flush()
            listing_flush(self.lock)

    def _run(self, only_ids: set[int] | None) -> None:
        due_codes = self._due_codes(only_ids)
        due_backups = self._due_backups()
        if not due_codes and not due_backups:
            return
        if self.lock.connection.state == LockConnection.State.DISCONNECTED:
            error = VendorError(Reason.ACCOUNT_DISCONNECTED, "the lock account is disconnected")
            self.fail_everything(due_codes, due_backups, error)
            return
        try:
            self.read()
        except VendorError as error:
            self.fail_everything(due_codes, due_backups, error)
            return
        for lock_code in due_codes:
            if self.out_of_time():
                break
            self.handle(lock_code)
        self.handle_backups(due_backups)
        if self.creates and self.listing is not None and not self.out_of_time():
            self.confirm_new_writes()

    def _due_codes(self, only_ids: set[int] | None) -> list[LockCode]:
        """What is due on the lock, and (in the same query) the codes sent earlier and not yet
        seen there: the read-back after this pass's writes confirms them too."""
        due = Q(next_attempt_at__lte=self.now) | Q(delete_after__lte=self.now)
        if only_ids is not None:
            due &= Q(pk__in=only_ids)
        codes = (
            LockCode.objects.filter(lock=self.lock)
            .exclude(state=LockCode.State.REMOVED)
            .filter(due | Q(state=LockCode.State.SETTING))
            .select_related("access_code__reservation__property")
        )
        # Removals first: they make room (D3); then by window start, nearest guest first (S8).
        loaded = list(
            codes.order_by(
                Case(When(due, then=Value(0)), default=Value(1)), "access_code__starts_at", "id"
            )[:BATCH_SIZE]
        )
        due_codes = []
        for lock_code in loaded:
            lock_code.lock = self.lock
            remember_stored(lock_code)
            if self.is_due(lock_code, only_ids):
                due_codes.append(lock_code)
        self.loaded_codes = loaded
        return sorted(due_codes, key=lambda code: not self.removal_due(code))

    def is_due(self, lock_code: LockCode, only_ids: set[int] | None) -> bool:
        if only_ids is not None and lock_code.pk not in only_ids:
            return False
        return self.removal_due(lock_code) or (
            lock_code.next_attempt_at is not None and lock_code.next_attempt_at <= self.now
        )

    def removal_due(self, lock_code: LockCode) -> bool:
        return lock_code.delete_after is not None and lock_code.delete_after <= self.now

    def handle(self, lock_code: LockCode) -> None:
        if self.removal_due(lock_code):
            self.take_off_lock(lock_code)
        elif lock_code.state == LockCode.State.SETTING:
            self.confirm_write(lock_code)
        elif lock_code.state in (LockCode.State.SET, LockCode.State.REMOVING):
            self.check_on_lock(lock_code)
        else:
            self.send_code(lock_code)

    def fail_everything(self, codes: list[LockCode], backups: list[BackupCode], error) -> None:
        """The lock can't be reached: every due code fails; removals stay removals (R5)."""
        for lock_code in codes:
            self.fail(lock_code, error, removing=self.removal_due(lock_code))
        for backup in backups:
            self.fail_backup(backup, error)

    # --- scheduled, waiting for space, failed: send it --------------------------------------

    def spec(self, lock_code: LockCode) -> CodeSpec:
        starts_at, ends_at = window_for_lock(lock_code)
        return CodeSpec(
            pin=lock_code.pin, name=lock_code.name_on_lock, starts_at=starts_at, ends_at=ends_at
        )

    def send_code(self, lock_code: LockCode) -> None:
        """Put a code on the lock, reading first so a retry never makes a second copy (R4).

        An earlier write that did reach the lock is adopted even when the window has ended
        since (a stay cancelled while that write timed out): it is then cut and deleted like
        any code on the lock, never left there untracked (S9, C3)."""
        found = self.find(
            remote_id=lock_code.vendor_code_id, pin=lock_code.pin, name=lock_code.name_on_lock
        )
        if found is not None and was_sent(lock_code):
            self.adopt(lock_code, found)
            return
        if self.now >= desired_window(lock_code)[1]:
            lock_code.next_attempt_at = None
            if store(lock_code):
                self.event(lock_code, "gave_up", reason="the access window has ended")
            return
        if self.listing is not None:
            clash = self.clash_on_lock(lock_code)
            if clash is not None:
                self.fail(lock_code, clash)
                return
            if not self.make_room(lock_code, len(self.listing)):
                return
        self.write(lock_code, create=True)

    def clash_on_lock(self, lock_code: LockCode) -> VendorError | None:
        """A PIN (P3, P4, P7) or name (N2) the lock already holds in a code not ours."""
        ours = self.our_remote_ids()
        foreign = [remote for remote in self.listing or () if remote.remote_id not in ours]
        if lock_code.pin and any(
            remote.pin and pins_collide(lock_code.pin, remote.pin, self.capabilities)
            for remote in foreign
        ):
            return VendorError(Reason.DUPLICATE_CODE, "the PIN is on the lock")
        if any(remote.name == lock_code.name_on_lock for remote in foreign):
            # Even where the lock allows two codes of one name, a hand-made code with the
            # guest's name would be mistaken for ours (SPEC N2).
            return VendorError(Reason.DUPLICATE_NAME, "the name is on the lock")
        return None

    def write(self, lock_code: LockCode, *, create: bool) -> None:
        """Send a create or an update, the attempt recorded first (a crash leaves evidence)."""
        now = timezone.now()
        lock_code.last_attempt_at = now
        lock_code.state = LockCode.State.SETTING if create else lock_code.state
        lock_code.last_error, lock_code.last_error_message = Reason.TIMEOUT, UNANSWERED
        # Killed mid-call, the code is looked at again right after the lease expires (R4).
        lock_code.next_attempt_at = now + LEASE_TTL
        if not store_attempt(lock_code):
            return  # changed meanwhile; it is due as the change left it
        self.event(lock_code, "sending" if create else "updating")
        try:
            if create:
                spec = self.spec(lock_code)
                if self.capabilities.pin_chosen_by_vendor:
                    spec = CodeSpec(
                        pin="", name=spec.name, starts_at=spec.starts_at, ends_at=spec.ends_at
                    )
                remote = self.vendor_create(spec)
                self.creates += 1
            else:
                remote = self.vendor_update(lock_code.vendor_code_id, self.spec(lock_code))
        except VendorError as error:
            self.fail(lock_code, error)
            return
        self.written(lock_code, remote, create=create)

    def written(self, lock_code: LockCode, remote: RemoteCode, *, create: bool) -> None:
        """The vendor answered a write: note what it said, then wait to see it (S6, S7)."""
        lock_code.vendor_code_id = remote.remote_id or lock_code.vendor_code_id
        if self.capabilities.pin_chosen_by_vendor and remote.pin:
            lock_code.pin = remote.pin  # the vendor's PIN is this lock's own (P6)
        lock_code.window_starts_at, lock_code.window_ends_at = window_for_lock(lock_code)
        lock_code.in_sync = True
        record_success(lock_code)
        if self.listing is None and remote.status == CodeStatus.SET:
            # The vendor cannot list codes: its confirmation is all there is (SPEC S7).
            self.mark_set(lock_code, LockCode.Confirmation.VENDOR)
            return
        self.note_ours(lock_code.vendor_code_id)
        if create:
            lock_code.state = LockCode.State.SETTING
            lock_code.next_attempt_at = timezone.now() + CONFIRM_POLL
            if self.listing is not None:
                self.unconfirmed.append(lock_code)  # confirmed or stored by the pass's end
                return
        else:
            # An update counts once the lock lists it, like a create (SPEC S7).
            lock_code.next_attempt_at = (
                timezone.now() + CONFIRM_POLL if self.listing is not None else None
            )
        store(lock_code)

    # --- set / removing: check it, and change what changed -----------------------------------

    def check_on_lock(self, lock_code: LockCode) -> None:
        """A code believed set: rewrite it if it changed, re-create it if the lock lost it."""
        remote = None
        if self.listing is not None and lock_code.vendor_code_id:
            remote = self.find(remote_id=lock_code.vendor_code_id)
            if remote is None and lock_code.state == LockCode.State.REMOVING:
                self.mark_removed(lock_code)  # our delete went through
                return
            if remote is None:
                self.recreate_missing(lock_code)
                return
        if remote is not None and lock_code.in_sync and not self.holds(lock_code, remote):
            self.await_change(lock_code)
        elif (
            not lock_code.in_sync
            and send_time(lock_code, self.now) > self.now
            and self.capabilities.can_delete_codes  # else a new code is issued (irrevocable)
        ):
            self.unsend(lock_code)
        elif not lock_code.in_sync:
            self.change_on_lock(lock_code)
        else:
            lock_code.next_attempt_at = None
            if store(lock_code):
                self.announce_if_ready(lock_code)

    def recreate_missing(self, lock_code: LockCode) -> None:
        lock_code.vendor_code_id = ""
        lock_code.state = LockCode.State.SCHEDULED
        lock_code.confirmation = ""
        self.event(lock_code, "missing_from_lock", reason="not listed by the lock")
        self.send_code(lock_code)

    def await_change(self, lock_code: LockCode) -> None:
        """An update the lock does not show yet: look again, and give up after a while."""
        started = lock_code.last_attempt_at or self.now
        if timezone.now() - started < CONFIRM_GIVE_UP:
            lock_code.next_attempt_at = timezone.now() + CONFIRM_POLL
            store(lock_code)
            return
        lock_code.in_sync = False
        self.fail(lock_code, VendorError(Reason.VENDOR_ERROR, "the lock did not take the change"))

    def change_on_lock(self, lock_code: LockCode) -> None:
        """Write a changed window, PIN or name: in place, or by replacing the code."""
        if self.adapter.has(Feature.UPDATE_WINDOW):
            self.write(lock_code, create=False)
            return
        if not self.capabilities.can_delete_codes:
            self.works_until_end(lock_code)
            return
        try:
            self.vendor_delete(lock_code.vendor_code_id)
        except VendorError as error:
            self.fail(lock_code, error)
            return
        lock_code.vendor_code_id = ""
        lock_code.state = LockCode.State.SCHEDULED
        self.send_code(lock_code)

    def holds(self, lock_code: LockCode, remote: RemoteCode) -> bool:
        """Whether the lock's copy has the PIN, name and window we last wrote."""
        if remote.pin is not None and lock_code.pin and remote.pin != lock_code.pin:
            return False
        if remote.name and remote.name != lock_code.name_on_lock:
            return False
        if remote.ends_at is not None and lock_code.window_ends_at is not None:
            # Vendors round windows (TTLock to the minute); a minute's difference is the same.
            return abs(remote.ends_at - lock_code.window_ends_at) <= timedelta(minutes=1)
        return True

    def unsend(self, lock_code: LockCode) -> None:
        """Take a code off the lock until its (later) send time comes round again."""
        try:
            self.vendor_delete(lock_code.vendor_code_id)
        except VendorError as error:
            self.fail(lock_code, error)
            return
        lock_code.vendor_code_id = ""
        lock_code.state = LockCode.State.SCHEDULED
        lock_code.confirmation = ""
        lock_code.in_sync = True
        lock_code.next_attempt_at = send_time(lock_code, self.now)
        if store(lock_code):
            self.event(lock_code, "unsent", reason="the stay now starts later")

    def event(self, lock_code: LockCode, kind: str, *, reason: str = "", after=None) -> None:
        self.events.add(kind, lock_code=lock_code, reason=reason, after=after)

    def backup_event(self, backup: BackupCode, kind: str, *, reason: str = "") -> None:
        self.events.add(kind, backup_code=backup, reason=reason)
