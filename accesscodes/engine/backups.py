"""Backup codes: each lock's pool, their handlers in the lock pass, and handing them out
(SPEC H2–H5, Y1, Y2). They are delivered like guest codes (`delivery`), as permanent codes."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accesscodes.engine.choices import LIVE_BACKUP_STATES, pins_on_locks
from accesscodes.engine.confirmation import CONFIRM_GIVE_UP, CONFIRM_POLL
from accesscodes.engine.delivery import (
    UNANSWERED,
    record_failure,
    record_success,
    store,
    store_attempt,
)
from accesscodes.engine.events import code_event_record
from accesscodes.engine.listings import backup_seen_on_lock
from accesscodes.models import BackupCode, CodeEvent, Confirmation, LockCode
from accesscodes.pin import nearest_length, random_pin
from accesscodes.signals import backup_code_assigned
from integrations.base import CodeSpec, CodeStatus, Reason, VendorError
from integrations.models import Lock
from properties.selectors import smart_lock_settings_effective
from reservations.models import Reservation

BACKUP_PIN_LENGTH = 6


class BackupHandlers:
    """The lock pass's handlers for backup codes, one per state."""

    def _due_backups(self) -> list[BackupCode]:
        """Due backup codes; those sent earlier and not yet seen come along in the same query
        for the read-back (`confirm_backup_writes`)."""
        due = Q(next_attempt_at__lte=self.now) | Q(retire_after__lte=self.now)
        self.loaded_backups = list(
            BackupCode.objects.filter(lock=self.lock)
            .filter(due | Q(state=BackupCode.State.SETTING))
            .exclude(state=BackupCode.State.REMOVED)
            .order_by("slot", "id")
        )
        return [
            backup
            for backup in self.loaded_backups
            if (backup.next_attempt_at is not None and backup.next_attempt_at <= self.now)
            or (backup.retire_after is not None and backup.retire_after <= self.now)
        ]

    def handle_backups(self, backups: list[BackupCode]) -> None:
        for backup in backups:
            if self.out_of_time():
                return
            backup.lock = self.lock
            if backup.retire_after and backup.retire_after <= self.now:
                self.rotate_backup(backup)
            elif backup.state in (BackupCode.State.SCHEDULED, BackupCode.State.FAILED):
                self.send_backup(backup)
            elif backup.state == BackupCode.State.SETTING:
                self.confirm_backup(backup)
            elif backup.state == BackupCode.State.SET:
                self.check_backup_on_lock(backup)

    def send_backup(self, backup: BackupCode) -> None:
        """Put a backup code on the lock, reading first so a retry makes no second copy."""
        listing = self.listing
        if listing is not None:
            if backup.vendor_code_id and self.find(remote_id=backup.vendor_code_id):
                self.confirm_backup(backup)  # an earlier write did reach the lock (R4)
                return
            found = self.find(remote_id="", pin=backup.pin, name=backup.name)
            if found is not None and backup.last_error == Reason.TIMEOUT:
                backup.vendor_code_id = found.remote_id
                self.confirm_backup(backup)
                return
            if any(remote.pin == backup.pin for remote in listing):
                backup.pin = random_pin(
                    len(backup.pin), [self.capabilities], pins_on_locks([self.lock])
                )
            if len(listing) >= self.capabilities.max_active_codes_supported:
                self.fail_backup(backup, VendorError(Reason.LOCK_FULL, "the lock is full"))
                return
        backup.state = BackupCode.State.SETTING
        backup.last_attempt_at = timezone.now()
        backup.last_error, backup.last_error_message = Reason.TIMEOUT, UNANSWERED
        if not store_attempt(backup):
            return
        try:
            remote = self.vendor_create(CodeSpec(pin=backup.pin, name=backup.name))
        except VendorError as error:
            self.fail_backup(backup, error)
            return
        self.creates += 1
        backup.vendor_code_id = remote.remote_id
        self.note_ours(remote.remote_id)
        if self.capabilities.pin_chosen_by_vendor and remote.pin:
            backup.pin = remote.pin
        record_success(backup)
        if self.listing is None and remote.status == CodeStatus.SET:
            self.backup_set(backup, Confirmation.VENDOR)
            return
        backup.next_attempt_at = timezone.now() + CONFIRM_POLL
        store(backup)
        self.backup_event(backup, "sending")

    def confirm_backup_writes(self) -> None:
        setting = [b for b in self.loaded_backups if b.state == BackupCode.State.SETTING]
        for backup in [*setting, *self.new_backups]:
            if backup.state == BackupCode.State.SETTING:
                backup.lock = self.lock
                self.confirm_backup(backup)

    def confirm_backup(self, backup: BackupCode) -> None:
        """Follow a backup code's write until the lock lists it (S6, S7)."""
        if self.listing is None:
            self.backup_set(backup, Confirmation.VENDOR)
            return
        found = self.find(remote_id=backup.vendor_code_id, pin=backup.pin, name=backup.name)
        if found is not None and found.status == CodeStatus.SET:
            backup.vendor_code_id = found.remote_id
            record_success(backup)
            self.backup_set(backup, Confirmation.READ_BACK)
            return
        started = backup.last_attempt_at or self.now
        if found is None and timezone.now() - started >= CONFIRM_GIVE_UP:
            self.fail_backup(backup, VendorError(Reason.VENDOR_ERROR, "never appeared"))
            return
        backup.next_attempt_at = timezone.now() + CONFIRM_POLL
        store(backup)

    def backup_set(self, backup: BackupCode, confirmation: str) -> None:
        backup.state = BackupCode.State.SET
        backup.confirmation = confirmation
        backup.set_at = timezone.now()
        backup.next_attempt_at = None
        if store(backup):
            self.backup_event(backup, "set")

    def check_backup_on_lock(self, backup: BackupCode) -> None:
        """A backup code believed set, due for a look (resync Y1, reconciliation Y2, H5):
        one the lock no longer lists is put back with the same PIN."""
        if self.listing is not None and not (
            backup.vendor_code_id and self.find(remote_id=backup.vendor_code_id)
        ):
            backup.state = BackupCode.State.SCHEDULED
            backup.vendor_code_id = ""
            backup.confirmation = ""
            self.backup_event(backup, "missing_from_lock", reason="not listed by the lock")
            self.send_backup(backup)
            return
        backup.next_attempt_at = None
        store(backup)

    def rotate_backup(self, backup: BackupCode) -> None:
        """After the stay it served, a backup code is replaced so no past guest keeps access."""
        if backup.vendor_code_id and self.capabilities.can_delete_codes:
            backup.state = BackupCode.State.REMOVING
            if not store_attempt(backup):
                return
            try:
                self.vendor_delete(backup.vendor_code_id)
            except VendorError as error:
                self.fail_backup(backup, error)
                return
        backup.state = BackupCode.State.REMOVED
        backup.removed_at = timezone.now()
        backup.retire_after = None
        backup.next_attempt_at = None
        if not store(backup):
            return
        self.backup_event(backup, "rotated")
        if self.listing is not None:
            self.listing = [r for r in self.listing if r.remote_id != backup.vendor_code_id]
        self.space_freed()
        # The slot may already have a fresh code: re-matching the lock while this one's
        # removal was failing let backup_pool_ensure refill it.
        slot_taken = (
            BackupCode.objects.filter(lock=self.lock, slot=backup.slot)
            .exclude(state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED])
            .exists()
        )
        if backup.slot <= backup_pool_size(lock=self.lock) and not slot_taken:
            fresh = backup_new(lock=self.lock, slot=backup.slot)
            self.new_backups.append(fresh)
            self.send_backup(fresh)

    def fail_backup(self, backup: BackupCode, error: VendorError) -> None:
        kind = record_failure(backup, error)
        if kind == "rate_limited":
            self.rate_limited_until = backup.next_attempt_at
        # A rotation that failed (even before the delete, on reading the lock) is retried on
        # the retry schedule, not at every sweep.
        if backup.retire_after and (
            backup.state == BackupCode.State.REMOVING or backup.retire_after <= timezone.now()
        ):
            backup.retire_after = backup.next_attempt_at
        if store(backup):
            self.backup_event(backup, kind, reason=f"{error.reason}: {error.message}")


# --- pools (SPEC H3) ---------------------------------------------------------------------


def backup_new(*, lock: Lock, slot: int) -> BackupCode:
    capabilities = lock.capability_record
    length = nearest_length(BACKUP_PIN_LENGTH, capabilities.supported_code_lengths) or 6
    pin = (
        ""
        if capabilities.pin_chosen_by_vendor
        else random_pin(length, [capabilities], pins_on_locks([lock]))
    )
    return BackupCode.objects.create(
        lock=lock, slot=slot, name=f"Backup {slot}", pin=pin, next_attempt_at=timezone.now()
    )


def backup_pool_size(*, lock: Lock) -> int:
    """The pool the lock should keep: the largest of its properties' settings, 0 when off.

    None on a lock that cannot delete codes (igloohome algoPIN): a backup code there could
    never be replaced after its guest, so that guest would keep access for good (SPEC H3)."""
    if not lock.capability_record.can_delete_codes:
        return 0
    sizes = [0]
    for match in lock.matches.select_related("property"):
        settings = smart_lock_settings_effective(property=match.property)
        if settings.backup_codes_enabled:
            sizes.append(settings.backup_pool_size)
    return max(sizes)


def backup_pool_ensure(*, lock: Lock) -> list[BackupCode]:
    """Create the missing backup codes of the lock's pool (they are sent by the sweep)."""
    size = backup_pool_size(lock=lock)
    live = set(
        BackupCode.objects.filter(lock=lock)
        .exclude(state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED])
        .values_list("slot", flat=True)
    )
    return [backup_new(lock=lock, slot=slot) for slot in range(1, size + 1) if slot not in live]


def backups_mark_due(*, lock: Lock) -> int:
    """Have the next pass look at every live backup code of the lock (Y1, Y2, H5)."""
    return BackupCode.objects.filter(lock=lock, state__in=LIVE_BACKUP_STATES).update(
        next_attempt_at=timezone.now(), version=F("version") + 1
    )


# --- handing them out (SPEC H2, H5, K3) ----------------------------------------------------


@transaction.atomic
def backup_code_assign_seen(
    *,
    reservation: Reservation,
    lock: Lock,
    actor: str = CodeEvent.Actor.HEALTHCHECK,
    reason="",
    announce: bool = True,
) -> BackupCode | None:
    """Give the guest a free backup code on this lock that the lock's list (at most 24 h
    old) showed; None if it has none (SPEC H5). Backup codes not seen are put back on the
    lock first (the next pass restores them) and the host is told by the caller.

    `announce=False` sends the guest no message: the stay page (K3) shows the code itself."""
    existing = BackupCode.objects.filter(lock=lock, reservation=reservation).exclude(
        state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED]
    )
    if existing.exists():
        return existing.first()
    free = BackupCode.objects.filter(
        lock=lock, state=BackupCode.State.SET, reservation__isnull=True
    ).order_by("slot")
    seen = [backup for backup in free if backup_seen_on_lock(backup)]
    if not seen:
        backups_mark_due(lock=lock)
        return None
    access_code = getattr(reservation, "access_code", None)
    retire_after = access_code.ends_at if access_code else reservation.check_out
    for backup in seen:
        claimed = BackupCode.objects.filter(pk=backup.pk, reservation__isnull=True).update(
            reservation=reservation,
            assigned_at=timezone.now(),
            retire_after=retire_after,
            version=F("version") + 1,
        )
        if claimed:
            backup.refresh_from_db()
            code_event_record(
                host_id=reservation.host_id,
                kind="backup_assigned",
                backup_code=backup,
                access_code=access_code,
                actor=actor,
                reason=reason or f"{lock.name}: the guest's own code is not set",
            )
            if announce:
                transaction.on_commit(
                    lambda backup=backup: backup_code_assigned.send(
                        sender=BackupCode, backup_code=backup, reservation=reservation
                    )
                )
            return backup
    return None


def backup_code_assign(*, lock_code: LockCode) -> BackupCode | None:
    """Give the guest of a failing code a backup code on its lock, if one was seen (H2, H5)."""
    return backup_code_assign_seen(
        reservation=lock_code.access_code.reservation, lock=lock_code.lock
    )
