"""The code lifecycle engine: PINs, windows, dispatch, retries, deletion, backup codes, resync.

Every pending operation is a row with a due time (LockCode.next_attempt_at / delete_after,
BackupCode.next_attempt_at / retire_after). Services that change a reservation only write
rows; `lock_process` does the talking to the lock, one worker per lock at a time (a lease),
reconciling what the lock holds with what it should hold. Running it twice is harmless.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accesscodes.models import AccessCode, BackupCode, CodeEvent, LockCode, LockLease
from accesscodes.naming import code_name_choose, fallback_name
from accesscodes.pin import (
    combined_lengths,
    nearest_length,
    phone_pin,
    pin_violations,
    pins_collide,
    random_pin,
)
from accesscodes.signals import pin_changed
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
from messaging.models import HostAlert
from messaging.services import host_alert_raise
from properties.selectors import smart_lock_settings_effective
from reservations.models import Reservation

log = logging.getLogger(__name__)

# SPEC R1: after a failure, 4 more attempts spread over the same day, then one a day.
RETRY_DELAYS_SAME_DAY = (
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)
RETRY_DAILY = timedelta(days=1)
RATE_LIMIT_DEFAULT_WAIT = timedelta(seconds=60)
# SPEC S6/S7: how often an asynchronous write is followed up, and when an acknowledged write
# that never shows on the lock counts as failed.
CONFIRM_POLL = timedelta(seconds=30)
CONFIRM_GIVE_UP = timedelta(minutes=15)
WAIT_FOR_SPACE_RECHECK = timedelta(hours=1)
DELETE_GRACE = timedelta(hours=24)  # SPEC D1
LEASE_TTL = timedelta(minutes=5)
LEASE_POLL = 0.5  # seconds between tries for a busy lock's lease
BATCH_SIZE = 200

NOT_ON_LOCK = (
    LockCode.State.SCHEDULED,
    LockCode.State.WAITING_FOR_SPACE,
    LockCode.State.FAILED,
)
LIVE_BACKUP_STATES = (
    BackupCode.State.SCHEDULED,
    BackupCode.State.SETTING,
    BackupCode.State.SET,
    BackupCode.State.FAILED,
)


class EngineError(Exception):
    """A request the engine cannot carry out, with a message for the user."""


# --- history -------------------------------------------------------------------------------


def code_event_record(
    *,
    host_id: int,
    kind: str,
    access_code: AccessCode | None = None,
    lock_code: LockCode | None = None,
    backup_code: BackupCode | None = None,
    lock: Lock | None = None,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
    actor: str = CodeEvent.Actor.SYSTEM,
    user=None,
) -> CodeEvent:
    """Append one history line. Never pass a PIN in before/after."""
    if lock_code is not None:
        access_code = access_code or lock_code.access_code
        lock = lock or lock_code.lock
    if backup_code is not None:
        lock = lock or backup_code.lock
    return CodeEvent.objects.create(
        host_id=host_id,
        kind=kind,
        access_code=access_code,
        lock_code=lock_code,
        backup_code=backup_code,
        lock=lock,
        reason=reason[:200],
        before=before or {},
        after=after or {},
        actor=actor,
        user=user,
    )


# --- windows and choices -------------------------------------------------------------------


def access_window(*, reservation: Reservation) -> tuple[datetime, datetime]:
    """Return when the guest's code works: check-in minus buffer to checkout plus (SPEC W1)."""
    settings = smart_lock_settings_effective(property=reservation.property)
    return (
        reservation.check_in - settings.buffer_before,
        reservation.check_out + settings.buffer_after,
    )


def matched_locks(*, reservation: Reservation) -> list[Lock]:
    return list(
        Lock.objects.filter(
            matches__property_id=reservation.property_id,
            connection__host_id=reservation.host_id,
        )
        .select_related("connection")
        .order_by("id")
    )


def _pins_on_locks(locks: list[Lock], *, excluding_access_code_id: int | None = None) -> set[str]:
    """PINs of our live codes and backup codes on these locks."""
    codes = LockCode.objects.filter(lock__in=locks).exclude(state=LockCode.State.REMOVED)
    if excluding_access_code_id is not None:
        codes = codes.exclude(access_code_id=excluding_access_code_id)
    backups = BackupCode.objects.filter(lock__in=locks, state__in=LIVE_BACKUP_STATES)
    return {code.pin for code in codes} | {backup.pin for backup in backups}


def _phone_digits(reservation: Reservation) -> str:
    return "".join(
        ch
        for ch in (
            reservation.guest_phone_e164
            or reservation.guest_phone
            or reservation.guest_phone_last_digits
        )
        if ch.isdigit()
    )


def pin_choose(
    *, reservation: Reservation, locks: list[Lock], taken: set[str], allow_phone: bool = True
) -> tuple[str, str]:
    """Return (pin, source) for a guest: phone digits where allowed and usable, else random."""
    settings = smart_lock_settings_effective(property=reservation.property)
    capabilities = [lock.capability_record for lock in locks]
    lengths = combined_lengths(capabilities) if capabilities else (4, 5, 6, 7, 8)
    if not lengths:
        # No length suits every lock: the PIN fits the first lock; the others get their own
        # (lock_code_ensure), and messages list one line per lock (SPEC G3).
        capabilities = capabilities[:1]
        lengths = combined_lengths(capabilities)
    length = nearest_length(settings.code_length, lengths) or settings.code_length
    if allow_phone and settings.code_source == settings.CodeSource.PHONE:
        pin = phone_pin(_phone_digits(reservation), length, capabilities, taken)
        if pin:
            return pin, AccessCode.Source.PHONE
    return random_pin(length, capabilities, taken), AccessCode.Source.RANDOM


def _lock_pin(lock: Lock, access_code: AccessCode, taken: set[str]) -> str:
    """The access code's PIN where this lock takes it and it is free there, else its own."""
    capabilities = lock.capability_record
    if not pin_violations(access_code.pin, capabilities) and not any(
        pins_collide(access_code.pin, other, capabilities) for other in taken
    ):
        return access_code.pin
    lengths = capabilities.supported_code_lengths
    length = nearest_length(len(access_code.pin), lengths) or lengths[0]
    return random_pin(length, [capabilities], taken)


def _lock_code_name(
    lock: Lock, reservation: Reservation, *, force_fallback: bool = False, names: set[str] = ()
) -> str:
    others = LockCode.objects.filter(lock=lock).exclude(state=LockCode.State.REMOVED)
    others = others.exclude(access_code__reservation=reservation).select_related(
        "access_code__reservation"
    )
    names_on_lock = set(names) | {code.name_on_lock for code in others}
    same_guest = any(
        code.access_code.reservation.guest_name.strip().lower()
        == reservation.guest_name.strip().lower()
        for code in others
    )
    return code_name_choose(
        guest_name=reservation.guest_name,
        reservation_code=reservation.reservation_code,
        external_id=reservation.external_id,
        max_length=lock.capability_record.name_max_length,
        names_on_lock=names_on_lock,
        guest_has_other_code_on_lock=same_guest,
        force_fallback=force_fallback,
    )


def _desired_window(lock_code: LockCode) -> tuple[datetime, datetime]:
    """The window the lock should hold; a cancelled stay's is cut at cancellation (SPEC C3)."""
    access_code = lock_code.access_code
    starts_at, ends_at = access_code.starts_at, access_code.ends_at
    if access_code.cancelled_at is not None and access_code.cancelled_at < ends_at:
        ends_at = access_code.cancelled_at
        starts_at = min(starts_at, ends_at - timedelta(minutes=1))
    return starts_at, ends_at


def _send_time(lock_code: LockCode, now: datetime) -> datetime:
    """Window start minus the vendor's lead time, or now if that has passed (SPEC S2)."""
    lock = lock_code.lock
    lead = adapter_for(lock.connection).lead_time(lock.capability_record)
    return max(now, _desired_window(lock_code)[0] - lead)


def _removal_time(lock_code: LockCode) -> datetime:
    """24 h after the window ends; at window end on permanent-only locks (SPEC D1, W2)."""
    ends_at = _desired_window(lock_code)[1]
    if lock_code.lock.capability_record.time_bound_codes:
        return ends_at + DELETE_GRACE
    return ends_at


def _was_sent(lock_code: LockCode) -> bool:
    """Whether the code may be on the lock: it has a vendor id or an unanswered write."""
    return (
        bool(lock_code.vendor_code_id)
        or lock_code.state
        in (
            LockCode.State.SETTING,
            LockCode.State.SET,
            LockCode.State.REMOVING,
        )
        or lock_code.last_error == Reason.TIMEOUT
    )


# --- provisioning (SPEC S1, M2, M3, C1, C2) --------------------------------------------------


def access_code_provision(*, reservation: Reservation) -> AccessCode:
    """Create or refresh the reservation's AccessCode and its LockCode on every matched lock."""
    locks = matched_locks(reservation=reservation)
    starts_at, ends_at = access_window(reservation=reservation)
    access_code = AccessCode.objects.filter(reservation=reservation).first()
    if access_code is None:
        pin, source = pin_choose(reservation=reservation, locks=locks, taken=_pins_on_locks(locks))
        access_code = AccessCode.objects.create(
            reservation=reservation,
            pin=pin,
            pin_source=source,
            name=" ".join(reservation.guest_name.split()),
            starts_at=starts_at,
            ends_at=ends_at,
        )
        code_event_record(
            host_id=reservation.host_id,
            kind="code_created",
            access_code=access_code,
            after={"pin_source": source, "starts_at": str(starts_at), "ends_at": str(ends_at)},
        )
    else:
        before = {"starts_at": str(access_code.starts_at), "ends_at": str(access_code.ends_at)}
        changed = (access_code.starts_at, access_code.ends_at) != (starts_at, ends_at)
        name = " ".join(reservation.guest_name.split())
        renamed = access_code.name != name
        access_code.starts_at, access_code.ends_at, access_code.name = starts_at, ends_at, name
        access_code.cancelled_at = None
        access_code.save()
        if changed:
            code_event_record(
                host_id=reservation.host_id,
                kind="window_changed",
                access_code=access_code,
                before=before,
                after={"starts_at": str(starts_at), "ends_at": str(ends_at)},
            )
        if renamed:
            access_code.lock_codes.exclude(state=LockCode.State.REMOVED).update(in_sync=False)
    for lock in locks:
        lock_code_ensure(access_code=access_code, lock=lock)
    _dispatch_on_commit(lock.pk for lock in locks)
    return access_code


def lock_code_ensure(*, access_code: AccessCode, lock: Lock) -> LockCode:
    """Make sure the access code has a LockCode on the lock that follows its window."""
    now = timezone.now()
    reservation = access_code.reservation
    lock_code = LockCode.objects.filter(access_code=access_code, lock=lock).first()
    if lock_code is None or lock_code.state == LockCode.State.REMOVED:
        taken = _pins_on_locks([lock], excluding_access_code_id=access_code.pk)
        fresh = {
            "state": LockCode.State.SCHEDULED,
            "pin": _lock_pin(lock, access_code, taken),
            "name_on_lock": _lock_code_name(lock, reservation),
            "vendor_code_id": "",
            "in_sync": True,
            "attempts": 0,
            "first_failed_at": None,
            "last_error": "",
            "last_error_message": "",
            "confirmation": "",
            "set_at": None,
            "removed_at": None,
        }
        if lock_code is None:
            lock_code = LockCode(access_code=access_code, lock=lock, **fresh)
        else:
            for key, value in fresh.items():
                setattr(lock_code, key, value)
        lock_code.lock = lock
        lock_code.access_code = access_code
        lock_code.next_attempt_at = _send_time(lock_code, now)
        lock_code.delete_after = _removal_time(lock_code)
        lock_code.save()
        code_event_record(
            host_id=reservation.host_id,
            kind="scheduled",
            lock_code=lock_code,
            after={"send_at": str(lock_code.next_attempt_at), "name": lock_code.name_on_lock},
        )
        return lock_code
    # An existing code follows the access code's current window and name.
    lock_code.access_code = access_code
    if lock_code.state == LockCode.State.REMOVING:
        # Wanted again before its deletion went through (moved back, re-matched): keep it,
        # and check it against the lock on the next pass.
        lock_code.state = LockCode.State.SET
        lock_code.in_sync = False
    lock_code.delete_after = _removal_time(lock_code)
    if lock_code.state in NOT_ON_LOCK:
        if lock_code.state != LockCode.State.FAILED or lock_code.next_attempt_at is None:
            lock_code.next_attempt_at = _send_time(lock_code, now)
        if lock_code.next_attempt_at:
            lock_code.next_attempt_at = min(lock_code.next_attempt_at, _send_time(lock_code, now))
    elif (lock_code.window_starts_at, lock_code.window_ends_at) != _window_for_lock(lock_code):
        lock_code.in_sync = False
    elif _send_time(lock_code, now) > now:
        # A permanent-only lock holds no window: a stay moved later must leave it until
        # its new send time, or the code would open the door outside the stay (SPEC W2).
        lock_code.in_sync = False
    if not lock_code.in_sync:
        lock_code.next_attempt_at = now
    lock_code.save()
    return lock_code


def _window_for_lock(lock_code: LockCode) -> tuple[datetime | None, datetime | None]:
    if not lock_code.lock.capability_record.time_bound_codes:
        return None, None
    return _desired_window(lock_code)


def lock_code_retire(*, lock_code: LockCode, at_once: bool = False, reason: str) -> None:
    """Take our code off its lock: dropped if never sent, else cut and deleted later or now."""
    now = timezone.now()
    if lock_code.state == LockCode.State.REMOVED:
        return
    if not _was_sent(lock_code):
        lock_code.state = LockCode.State.REMOVED
        lock_code.removed_at = now
        lock_code.next_attempt_at = None
        lock_code.delete_after = None
        lock_code.save()
        code_event_record(
            host_id=lock_code.access_code.reservation.host_id,
            kind="dropped",
            lock_code=lock_code,
            reason=reason,
        )
        return
    if at_once:
        lock_code.delete_after = now
    else:
        # Never later than a deletion already due (an unmatch whose delete is being retried).
        removal = _removal_time(lock_code)
        if lock_code.delete_after is not None:
            removal = min(removal, lock_code.delete_after)
        lock_code.delete_after = removal
        if _window_for_lock(lock_code) != (lock_code.window_starts_at, lock_code.window_ends_at):
            lock_code.in_sync = False
            lock_code.next_attempt_at = now
    lock_code.save()
    code_event_record(
        host_id=lock_code.access_code.reservation.host_id,
        kind="removal_scheduled",
        lock_code=lock_code,
        reason=reason,
        after={"delete_after": str(lock_code.delete_after)},
    )


def access_code_cancel(*, access_code: AccessCode) -> None:
    """SPEC C3: drop unsent operations, cut windows on the lock, delete 24 h later."""
    access_code.cancelled_at = timezone.now()
    access_code.save(update_fields=["cancelled_at", "updated_at"])
    code_event_record(
        host_id=access_code.reservation.host_id, kind="cancelled", access_code=access_code
    )
    lock_ids = []
    for lock_code in access_code.lock_codes.select_related("lock__connection"):
        lock_code_retire(lock_code=lock_code, reason="reservation cancelled")
        lock_ids.append(lock_code.lock_id)
    _dispatch_on_commit(lock_ids)


def access_code_pin_replace(*, access_code: AccessCode, reason: str, avoid: set[str]) -> str:
    """Choose a new PIN and write it to every lock, so the guest keeps one code (SPEC P5)."""
    lock_codes = list(
        access_code.lock_codes.exclude(state=LockCode.State.REMOVED).select_related(
            "lock__connection"
        )
    )
    locks = [lock_code.lock for lock_code in lock_codes]
    taken = _pins_on_locks(locks, excluding_access_code_id=access_code.pk) | avoid
    taken.add(access_code.pin)
    new_pin, _source = pin_choose(
        reservation=access_code.reservation, locks=locks, taken=taken, allow_phone=False
    )
    access_code.pin = new_pin
    access_code.pin_source = AccessCode.Source.RANDOM
    access_code.save(update_fields=["pin", "pin_source", "updated_at"])
    for lock_code in lock_codes:
        lock_code.pin = (
            new_pin
            if not pin_violations(new_pin, lock_code.lock.capability_record)
            else (_lock_pin(lock_code.lock, access_code, taken))
        )
        if lock_code.vendor_code_id:
            lock_code.in_sync = False
            lock_code.next_attempt_at = timezone.now()
        lock_code.save(update_fields=["pin", "in_sync", "next_attempt_at", "updated_at"])
    code_event_record(
        host_id=access_code.reservation.host_id,
        kind="pin_changed",
        access_code=access_code,
        reason=reason,
    )
    transaction.on_commit(lambda: pin_changed.send(sender=AccessCode, access_code=access_code))
    return new_pin


def _dispatch_on_commit(lock_ids) -> None:
    """Queue the fast path for locks with work due now (SPEC S3)."""
    now = timezone.now()
    due = set(
        LockCode.objects.filter(lock_id__in=set(lock_ids))
        .filter(Q(next_attempt_at__lte=now) | Q(delete_after__lte=now))
        .exclude(state=LockCode.State.REMOVED)
        .values_list("lock_id", flat=True)
    )
    if not due:
        return
    for lock_id in sorted(due):
        transaction.on_commit(lambda lock_id=lock_id: lock_dispatch_enqueue(lock_id=lock_id))


def lock_dispatch_enqueue(*, lock_id: int) -> None:
    """Queue the fast path for one lock. The change is already committed, so a broker that
    is down must not turn it into an error: the minute sweep will find the due rows (S4)."""
    from accesscodes.tasks import lock_dispatch

    try:
        lock_dispatch.delay(lock_id)
    except Exception:
        log.warning("could not queue the fast path for lock %s; the sweep will pick it up", lock_id)


# --- talking to the lock -----------------------------------------------------------------


def _lease_acquire(lock_id: int, holder: str) -> bool:
    now = timezone.now()
    if not LockLease.objects.filter(lock_id=lock_id).exists():
        try:
            with transaction.atomic():
                LockLease.objects.create(lock_id=lock_id, expires_at=now - timedelta(seconds=1))
        except IntegrityError:
            pass  # another worker created it first; the conditional update below decides
    taken = LockLease.objects.filter(lock_id=lock_id, expires_at__lt=now).update(
        holder=holder, expires_at=now + LEASE_TTL
    )
    return taken == 1


def _lease_release(lock_id: int, holder: str) -> None:
    LockLease.objects.filter(lock_id=lock_id, holder=holder).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def _retry_time(attempts: int, now: datetime) -> datetime:
    if attempts <= len(RETRY_DELAYS_SAME_DAY):
        return now + RETRY_DELAYS_SAME_DAY[attempts - 1]
    return now + RETRY_DAILY


@dataclass
class _LockRun:
    """One pass over one lock, with the lease held."""

    lock: Lock
    now: datetime = field(default_factory=timezone.now)
    listing: list[RemoteCode] | None = None
    listing_error: VendorError | None = None
    creates: int = 0

    def __post_init__(self) -> None:
        self.adapter: Adapter = adapter_for(self.lock.connection)
        self.capabilities: LockCapabilities = self.lock.capability_record
        self.host_id: int = self.lock.connection.host_id

    # reading the lock

    def read(self, *, fresh: bool = False) -> list[RemoteCode] | None:
        """The lock's codes, read once per pass; None when the vendor cannot list."""
        if not self.adapter.has(Feature.LIST_CODES):
            return None
        if self.listing is None or fresh:
            self.listing = self.adapter.list_codes(self.lock.remote_id)
            self.lock.code_count = len(self.listing)
            self.lock.last_seen_at = timezone.now()
            Lock.objects.filter(pk=self.lock.pk).update(
                code_count=self.lock.code_count, last_seen_at=self.lock.last_seen_at
            )
        return self.listing

    def our_remote_ids(self) -> set[str]:
        codes = LockCode.objects.filter(lock=self.lock).exclude(vendor_code_id="")
        backups = BackupCode.objects.filter(lock=self.lock).exclude(vendor_code_id="")
        return set(codes.values_list("vendor_code_id", flat=True)) | set(
            backups.values_list("vendor_code_id", flat=True)
        )

    def find(self, *, remote_id: str, pin: str, name: str) -> RemoteCode | None:
        for remote in self.listing or ():
            if remote_id and remote.remote_id == remote_id:
                return remote
        if remote_id:
            return None
        for remote in self.listing or ():
            if (
                remote.pin == pin
                and remote.name == name
                and remote.remote_id not in (self.our_remote_ids())
            ):
                return remote
        return None

    # one pass

    def run(self, *, only_ids: set[int] | None = None) -> None:
        due_codes = list(
            LockCode.objects.filter(lock=self.lock)
            .exclude(state=LockCode.State.REMOVED)
            .filter(Q(next_attempt_at__lte=self.now) | Q(delete_after__lte=self.now))
            .select_related("access_code__reservation__property", "lock__connection")
            .order_by("access_code__starts_at", "id")[:BATCH_SIZE]
        )
        if only_ids is not None:
            due_codes = [code for code in due_codes if code.pk in only_ids]
        due_backups = list(
            BackupCode.objects.filter(lock=self.lock)
            .filter(Q(next_attempt_at__lte=self.now) | Q(retire_after__lte=self.now))
            .exclude(state=BackupCode.State.REMOVED)
            .order_by("slot", "id")
        )
        if not due_codes and not due_backups:
            return
        connection = self.lock.connection
        if connection.state == LockConnection.State.DISCONNECTED:
            error = VendorError(Reason.ACCOUNT_DISCONNECTED, "the lock account is disconnected")
            for lock_code in due_codes:
                self.fail(lock_code, error)
            for backup in due_backups:
                self.fail_backup(backup, error)
            return
        try:
            self.read()
        except VendorError as error:
            self.listing_error = error
            for lock_code in due_codes:
                if lock_code.delete_after and lock_code.delete_after <= self.now:
                    self.remove(lock_code)
                else:
                    self.fail(lock_code, error)
            for backup in due_backups:
                self.fail_backup(backup, error)
            return
        removals = [c for c in due_codes if c.delete_after and c.delete_after <= self.now]
        rest = [c for c in due_codes if c not in removals]
        for lock_code in removals:
            self.remove(lock_code)
        for backup in due_backups:
            if backup.retire_after and backup.retire_after <= self.now:
                self.backup_retire(backup)
        for lock_code in rest:
            if lock_code.state == LockCode.State.SETTING:
                self.follow_up(lock_code)
            elif lock_code.state in (LockCode.State.SET, LockCode.State.REMOVING):
                self.check_or_update(lock_code)
            else:
                self.place(lock_code)
        for backup in due_backups:
            backup.refresh_from_db()
            if backup.state in (BackupCode.State.SCHEDULED, BackupCode.State.FAILED):
                self.backup_place(backup)
            elif backup.state == BackupCode.State.SETTING:
                self.backup_follow_up(backup)
        if self.creates and self.listing is not None:
            self.confirm_new_writes()

    # our guest codes

    def spec(self, lock_code: LockCode) -> CodeSpec:
        starts_at, ends_at = _window_for_lock(lock_code)
        return CodeSpec(
            pin=lock_code.pin, name=lock_code.name_on_lock, starts_at=starts_at, ends_at=ends_at
        )

    def place(self, lock_code: LockCode) -> None:
        """Put a code on the lock, reading first so a retry never makes a second copy (R4)."""
        if self.now >= _desired_window(lock_code)[1]:
            lock_code.next_attempt_at = None
            lock_code.save(update_fields=["next_attempt_at", "updated_at"])
            self.event(lock_code, "gave_up", reason="the access window has ended")
            return
        found = self.find(
            remote_id=lock_code.vendor_code_id, pin=lock_code.pin, name=lock_code.name_on_lock
        )
        if found is not None and _was_sent(lock_code):
            self.adopt(lock_code, found)
            return
        listing = self.listing
        if listing is not None:
            ours = self.our_remote_ids()
            foreign = [remote for remote in listing if remote.remote_id not in ours]
            if any(
                remote.pin and pins_collide(lock_code.pin, remote.pin, self.capabilities)
                for remote in foreign
            ):
                self.fail(lock_code, VendorError(Reason.DUPLICATE_CODE, "the PIN is on the lock"))
                return
            if self.capabilities.name_must_be_unique and any(
                remote.name == lock_code.name_on_lock for remote in foreign
            ):
                self.fail(lock_code, VendorError(Reason.DUPLICATE_NAME, "the name is on the lock"))
                return
            if not self.make_room(lock_code, len(listing)):
                return
        self.write(lock_code, create=True)

    def make_room(self, lock_code: LockCode, count: int) -> bool:
        """A full lock is a queue ordered by window start (SPEC S8, D3)."""
        capacity = self.capabilities.max_active_codes_supported
        if count < capacity:
            return True
        # Our ended codes go first (D3, R3).
        ended = LockCode.objects.filter(
            lock=self.lock, access_code__ends_at__lte=self.now, state=LockCode.State.SET
        ).select_related("access_code__reservation", "lock__connection")
        for old in ended:
            self.remove(old)
        count = len(self.read(fresh=True) or ())
        if count < capacity:
            return True
        # A later guest's code that is on the lock early gives way to a nearer one.
        later = (
            LockCode.objects.filter(
                lock=self.lock,
                state=LockCode.State.SET,
                access_code__starts_at__gt=max(self.now, lock_code.access_code.starts_at),
            )
            .select_related("access_code__reservation", "lock__connection")
            .order_by("-access_code__starts_at")
            .first()
        )
        if later is not None:
            try:
                self.adapter.delete_code(self.lock.remote_id, later.vendor_code_id)
            except VendorError:
                # No room could be made now; the nearer code waits like on a full lock.
                later = None
        if later is not None:
            later.state = LockCode.State.WAITING_FOR_SPACE
            later.vendor_code_id = ""
            later.confirmation = ""
            later.next_attempt_at = self.now + WAIT_FOR_SPACE_RECHECK
            later.save()
            self.event(later, "waiting_for_space", reason="made room for a nearer stay")
            self.read(fresh=True)
            return True
        lock_code.state = LockCode.State.WAITING_FOR_SPACE
        lock_code.last_error = Reason.LOCK_FULL
        lock_code.last_error_message = f"{self.lock.name} holds {count} of {capacity} codes"
        lock_code.next_attempt_at = self.now + WAIT_FOR_SPACE_RECHECK
        lock_code.save()
        self.event(lock_code, "waiting_for_space", reason=lock_code.last_error_message)
        self.alert_full()
        return False

    def write(self, lock_code: LockCode, *, create: bool) -> None:
        lock_code.last_attempt_at = timezone.now()
        lock_code.state = LockCode.State.SETTING if create else lock_code.state
        lock_code.save(update_fields=["last_attempt_at", "state", "updated_at"])
        self.event(lock_code, "sending" if create else "updating")
        try:
            if create:
                remote = self.adapter.create_code(self.lock.remote_id, self.spec(lock_code))
                self.creates += 1
            else:
                remote = self.adapter.update_code(
                    self.lock.remote_id, lock_code.vendor_code_id, self.spec(lock_code)
                )
        except VendorError as error:
            if not create:
                lock_code.state = LockCode.State.SET
            self.fail(lock_code, error)
            return
        lock_code.vendor_code_id = remote.remote_id or lock_code.vendor_code_id
        lock_code.window_starts_at, lock_code.window_ends_at = _window_for_lock(lock_code)
        lock_code.in_sync = True
        lock_code.last_error, lock_code.last_error_message = "", ""
        lock_code.attempts, lock_code.first_failed_at = 0, None
        if self.listing is None and remote.status == CodeStatus.SET:
            # The vendor cannot list codes: its confirmation is all there is (SPEC S7).
            self.mark_set(lock_code, LockCode.Confirmation.VENDOR)
            return
        if create:
            lock_code.state = LockCode.State.SETTING
            lock_code.next_attempt_at = timezone.now() + CONFIRM_POLL
        else:
            # An update counts once the lock lists it, like a create (SPEC S7).
            lock_code.next_attempt_at = (
                timezone.now() + CONFIRM_POLL if self.listing is not None else None
            )
        lock_code.save()

    def confirm_new_writes(self) -> None:
        """Read the lock back after writing: only what it lists counts as set (SPEC S7)."""
        try:
            self.read(fresh=True)
        except VendorError:
            return
        for lock_code in LockCode.objects.filter(
            lock=self.lock, state=LockCode.State.SETTING
        ).select_related("access_code__reservation", "lock__connection"):
            self.follow_up(lock_code, poll_only=True)
        for backup in BackupCode.objects.filter(lock=self.lock, state=BackupCode.State.SETTING):
            self.backup_follow_up(backup)

    def follow_up(self, lock_code: LockCode, *, poll_only: bool = False) -> None:
        """Follow an asynchronous write until the lock shows it or it fails (SPEC S6)."""
        if self.listing is None:
            self.mark_set(lock_code, LockCode.Confirmation.VENDOR)
            return
        found = self.find(
            remote_id=lock_code.vendor_code_id, pin=lock_code.pin, name=lock_code.name_on_lock
        )
        if found is not None and found.error:
            # The vendor gave up on this copy: remove it (it is ours) so the retry, perhaps
            # under a new PIN or name, leaves no failed copy behind.
            try:
                self.adapter.delete_code(self.lock.remote_id, found.remote_id)
            except VendorError:
                log.warning("could not delete a failed code from lock %s", self.lock.pk)
            lock_code.vendor_code_id = ""
            self.fail(lock_code, VendorError(found.error, found.error_message or "vendor error"))
            return
        if found is not None and found.status == CodeStatus.SET:
            lock_code.vendor_code_id = found.remote_id
            self.mark_set(lock_code, LockCode.Confirmation.READ_BACK)
            return
        if found is not None:
            lock_code.vendor_code_id = found.remote_id
        started = lock_code.last_attempt_at or self.now
        if not poll_only and timezone.now() - started >= CONFIRM_GIVE_UP:
            message = "the vendor accepted the code but it never appeared on the lock"
            lock_code.vendor_code_id = "" if found is None else lock_code.vendor_code_id
            self.fail(lock_code, VendorError(Reason.VENDOR_ERROR, message))
            return
        lock_code.next_attempt_at = timezone.now() + CONFIRM_POLL
        lock_code.save()

    def adopt(self, lock_code: LockCode, remote: RemoteCode) -> None:
        """Our earlier, unanswered write did reach the lock: keep it (SPEC R4)."""
        lock_code.vendor_code_id = remote.remote_id
        lock_code.window_starts_at, lock_code.window_ends_at = _window_for_lock(lock_code)
        if remote.starts_at is not None and (remote.starts_at, remote.ends_at) != (
            lock_code.window_starts_at,
            lock_code.window_ends_at,
        ):
            # The stay changed after that write: the copy on the lock has the older window.
            lock_code.in_sync = False
        self.event(lock_code, "found_on_lock", reason="an earlier write had reached the lock")
        if remote.status == CodeStatus.SET:
            self.mark_set(lock_code, LockCode.Confirmation.READ_BACK)
        else:
            lock_code.state = LockCode.State.SETTING
            lock_code.next_attempt_at = timezone.now() + CONFIRM_POLL
            lock_code.save()

    def mark_set(self, lock_code: LockCode, confirmation: str) -> None:
        lock_code.state = LockCode.State.SET
        lock_code.confirmation = confirmation
        lock_code.set_at = timezone.now()
        lock_code.last_error, lock_code.last_error_message = "", ""
        lock_code.attempts, lock_code.first_failed_at = 0, None
        lock_code.next_attempt_at = None if lock_code.in_sync else timezone.now()
        lock_code.save()
        self.event(lock_code, "set", after={"confirmation": confirmation})

    def check_or_update(self, lock_code: LockCode) -> None:
        """A code believed set: rewrite it if it changed, re-create it if the lock lost it."""
        if (
            self.listing is not None
            and lock_code.vendor_code_id
            and self.find(remote_id=lock_code.vendor_code_id, pin="", name="") is None
        ):
            lock_code.vendor_code_id = ""
            lock_code.state = LockCode.State.SCHEDULED
            lock_code.confirmation = ""
            lock_code.save()
            self.event(lock_code, "missing_from_lock", reason="not listed by the lock")
            self.place(lock_code)
            return
        remote = (
            self.find(remote_id=lock_code.vendor_code_id, pin="", name="")
            if self.listing is not None and lock_code.vendor_code_id and lock_code.in_sync
            else None
        )
        if remote is not None and not self.holds(lock_code, remote):
            started = lock_code.last_attempt_at or self.now
            if timezone.now() - started < CONFIRM_GIVE_UP:
                lock_code.next_attempt_at = timezone.now() + CONFIRM_POLL
                lock_code.save(update_fields=["next_attempt_at", "updated_at"])
                return
            lock_code.in_sync = False
            self.fail(
                lock_code, VendorError(Reason.VENDOR_ERROR, "the lock did not take the change")
            )
            return
        if not lock_code.in_sync and _send_time(lock_code, self.now) > self.now:
            self.unsend(lock_code)
            return
        if not lock_code.in_sync:
            if self.adapter.has(Feature.UPDATE_WINDOW):
                self.write(lock_code, create=False)
            else:
                # No in-place update at this vendor: replace the code.
                try:
                    self.adapter.delete_code(self.lock.remote_id, lock_code.vendor_code_id)
                except VendorError as error:
                    self.fail(lock_code, error)
                    return
                lock_code.vendor_code_id = ""
                lock_code.state = LockCode.State.SCHEDULED
                lock_code.save()
                self.place(lock_code)
            return
        lock_code.next_attempt_at = None
        lock_code.save(update_fields=["next_attempt_at", "updated_at"])

    def holds(self, lock_code: LockCode, remote: RemoteCode) -> bool:
        """Whether the lock's copy has the PIN, name and window we last wrote."""
        if remote.pin is not None and remote.pin != lock_code.pin:
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
            self.adapter.delete_code(self.lock.remote_id, lock_code.vendor_code_id)
        except VendorError as error:
            self.fail(lock_code, error)
            return
        lock_code.vendor_code_id = ""
        lock_code.state = LockCode.State.SCHEDULED
        lock_code.confirmation = ""
        lock_code.in_sync = True
        lock_code.next_attempt_at = _send_time(lock_code, self.now)
        lock_code.save()
        self.event(lock_code, "unsent", reason="the stay now starts later")

    def remove(self, lock_code: LockCode) -> None:
        """Delete our code from the lock; never one we did not create (SPEC D2)."""
        if lock_code.created_by_us and not lock_code.vendor_code_id and _was_sent(lock_code):
            found = self.find(remote_id="", pin=lock_code.pin, name=lock_code.name_on_lock)
            if found is not None:
                lock_code.vendor_code_id = found.remote_id
        present = bool(lock_code.vendor_code_id) and (
            self.listing is None
            or self.find(remote_id=lock_code.vendor_code_id, pin="", name="") is not None
        )
        if present and lock_code.created_by_us:
            now = timezone.now()
            sent_at = lock_code.last_attempt_at
            if (
                lock_code.state == LockCode.State.REMOVING
                and not lock_code.last_error
                and sent_at is not None
                and now - sent_at < CONFIRM_GIVE_UP
            ):
                # Our delete was accepted and the vendor has not applied it yet (S6).
                lock_code.delete_after = now + CONFIRM_POLL
                lock_code.save(update_fields=["delete_after", "updated_at"])
                return
            lock_code.state = LockCode.State.REMOVING
            lock_code.last_attempt_at = now
            lock_code.save(update_fields=["state", "last_attempt_at", "updated_at"])
            try:
                self.adapter.delete_code(self.lock.remote_id, lock_code.vendor_code_id)
            except VendorError as error:
                self.fail(lock_code, error, removing=True)
                return
            lock_code.last_error, lock_code.last_error_message = "", ""
            if self.listing is not None:
                # Gone only once the lock no longer lists it: a vendor may acknowledge a
                # delete it never carries out (SPEC S7), so look again shortly.
                lock_code.delete_after = now + CONFIRM_POLL
                lock_code.save()
                self.event(lock_code, "removing")
                return
        lock_code.state = LockCode.State.REMOVED
        lock_code.removed_at = timezone.now()
        lock_code.next_attempt_at = None
        lock_code.delete_after = None
        lock_code.save()
        self.event(lock_code, "removed")
        # Space was freed: codes queued for it are looked at again now (SPEC S8).
        LockCode.objects.filter(lock=self.lock, state=LockCode.State.WAITING_FOR_SPACE).update(
            next_attempt_at=timezone.now()
        )
        if self.listing is not None:
            self.listing = [r for r in self.listing if r.remote_id != lock_code.vendor_code_id]

    # failures (SPEC R1–R4)

    def fail(self, lock_code: LockCode, error: VendorError, *, removing: bool = False) -> None:
        now = timezone.now()
        lock_code.last_error = error.reason
        lock_code.last_error_message = error.message[:500]
        lock_code.last_attempt_at = now
        if error.reason == Reason.RATE_LIMITED:
            wait = timedelta(seconds=error.retry_after) if error.retry_after else None
            # At most a day, even for a monthly quota: every unconfirmed code must be due
            # within 24 hours, which is how the healthcheck finds it by index.
            lock_code.next_attempt_at = now + min(wait or RATE_LIMIT_DEFAULT_WAIT, RETRY_DAILY)
            if lock_code.state == LockCode.State.SETTING and not lock_code.vendor_code_id:
                lock_code.state = LockCode.State.FAILED
            lock_code.save()
            self.event(lock_code, "rate_limited", reason=error.message)
            return
        lock_code.attempts += 1
        lock_code.first_failed_at = lock_code.first_failed_at or now
        if removing:
            lock_code.state = LockCode.State.REMOVING
        elif lock_code.state != LockCode.State.SET:
            lock_code.state = LockCode.State.FAILED
        retry_at = _retry_time(lock_code.attempts, now)
        window_end = _desired_window(lock_code)[1]
        # A code still on the lock with an older window or PIN (a cancellation's cut, C3) is
        # retried until it is deleted, even once its new window has ended.
        on_lock_stale = lock_code.state == LockCode.State.SET and not lock_code.in_sync
        # Past the window's end there is nothing left to try: the last look is at its end,
        # where `place` gives up. Never None before then, so the code stays findable.
        lock_code.next_attempt_at = (
            retry_at if (removing or on_lock_stale or retry_at < window_end) else window_end
        )
        if removing:
            lock_code.delete_after = retry_at
        lock_code.save()
        self.event(lock_code, "failed", reason=f"{error.reason}: {error.message}")
        self.react(lock_code, error)

    def react(self, lock_code: LockCode, error: VendorError) -> None:
        reservation = lock_code.access_code.reservation
        if error.reason == Reason.DUPLICATE_CODE:
            access_code_pin_replace(
                access_code=lock_code.access_code,
                reason=f"{self.lock.name} already holds that PIN",
                avoid={lock_code.pin},
            )
        elif error.reason in (Reason.DUPLICATE_NAME, Reason.REJECTED):
            fallback = fallback_name(
                reservation_code=reservation.reservation_code,
                external_id=reservation.external_id,
                max_length=self.capabilities.name_max_length,
            )
            if lock_code.name_on_lock != fallback:
                lock_code.name_on_lock = fallback
                lock_code.save(update_fields=["name_on_lock", "updated_at"])
            elif error.reason == Reason.REJECTED:
                access_code_pin_replace(
                    access_code=lock_code.access_code,
                    reason=f"{self.lock.name} rejected the code",
                    avoid={lock_code.pin},
                )
        elif error.reason == Reason.LOCK_FULL and lock_code.state != LockCode.State.REMOVING:
            # Room is made for a code going on the lock, never by evicting another guest
            # because a deletion failed.
            self.make_room(lock_code, self.capabilities.max_active_codes_supported)
        elif error.reason == Reason.ACCOUNT_DISCONNECTED:
            connection_mark_disconnected(connection=self.lock.connection, message=error.message)

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

    def event(self, lock_code: LockCode, kind: str, *, reason: str = "", after=None) -> None:
        code_event_record(
            host_id=self.host_id, kind=kind, lock_code=lock_code, reason=reason, after=after
        )

    # backup codes (SPEC H3)

    def backup_place(self, backup: BackupCode) -> None:
        listing = self.listing
        if listing is not None:
            if backup.vendor_code_id and any(r.remote_id == backup.vendor_code_id for r in listing):
                # An earlier write reached the lock (its follow-up failed): confirm that copy
                # rather than send a second one under a new PIN (SPEC R4).
                self.backup_follow_up(backup)
                return
            found = next(
                (
                    r
                    for r in listing
                    if r.remote_id not in self.our_remote_ids() and r.pin == backup.pin
                ),
                None,
            )
            if (
                found is not None
                and found.name == backup.name
                and backup.last_error == Reason.TIMEOUT
            ):
                backup.vendor_code_id = found.remote_id
                backup.state = BackupCode.State.SET
                backup.confirmation = LockCode.Confirmation.READ_BACK
                backup.next_attempt_at = None
                backup.save()
                return
            if found is not None or any(r.pin == backup.pin for r in listing):
                backup.pin = random_pin(
                    len(backup.pin), [self.capabilities], _pins_on_locks([self.lock])
                )
                backup.save(update_fields=["pin", "updated_at"])
            if len(listing) >= self.capabilities.max_active_codes_supported:
                self.fail_backup(backup, VendorError(Reason.LOCK_FULL, "the lock is full"))
                return
        backup.state = BackupCode.State.SETTING
        backup.last_attempt_at = timezone.now()
        backup.save(update_fields=["state", "last_attempt_at", "updated_at"])
        try:
            remote = self.adapter.create_code(
                self.lock.remote_id, CodeSpec(pin=backup.pin, name=backup.name)
            )
        except VendorError as error:
            self.fail_backup(backup, error)
            return
        self.creates += 1
        backup.vendor_code_id = remote.remote_id
        backup.last_error = ""
        backup.attempts = 0
        if self.listing is None and remote.status == CodeStatus.SET:
            backup.state = BackupCode.State.SET
            backup.confirmation = LockCode.Confirmation.VENDOR
            backup.set_at = timezone.now()
            backup.next_attempt_at = None
        else:
            backup.next_attempt_at = timezone.now() + CONFIRM_POLL
        backup.save()
        code_event_record(host_id=self.host_id, kind="sending", backup_code=backup)

    def backup_follow_up(self, backup: BackupCode) -> None:
        if self.listing is None:
            backup.state = BackupCode.State.SET
            backup.confirmation = LockCode.Confirmation.VENDOR
        else:
            found = self.find(remote_id=backup.vendor_code_id, pin=backup.pin, name=backup.name)
            if found is None or found.status != CodeStatus.SET:
                started = backup.last_attempt_at or self.now
                if found is None and timezone.now() - started >= CONFIRM_GIVE_UP:
                    self.fail_backup(backup, VendorError(Reason.VENDOR_ERROR, "never appeared"))
                    return
                backup.next_attempt_at = timezone.now() + CONFIRM_POLL
                backup.save()
                return
            backup.vendor_code_id = found.remote_id
            backup.state = BackupCode.State.SET
            backup.confirmation = LockCode.Confirmation.READ_BACK
        backup.set_at = timezone.now()
        backup.next_attempt_at = None
        backup.save()
        code_event_record(host_id=self.host_id, kind="set", backup_code=backup)

    def backup_retire(self, backup: BackupCode) -> None:
        """After the stay it served, a backup code is replaced so no past guest keeps access."""
        if backup.vendor_code_id:
            backup.state = BackupCode.State.REMOVING
            backup.save(update_fields=["state", "updated_at"])
            try:
                self.adapter.delete_code(self.lock.remote_id, backup.vendor_code_id)
            except VendorError as error:
                self.fail_backup(backup, error)
                return
        backup.state = BackupCode.State.REMOVED
        backup.removed_at = timezone.now()
        backup.retire_after = None
        backup.next_attempt_at = None
        backup.save()
        code_event_record(host_id=self.host_id, kind="rotated", backup_code=backup)
        if self.listing is not None:
            self.listing = [r for r in self.listing if r.remote_id != backup.vendor_code_id]
        # The slot may already have a fresh code: re-matching the lock while this one's
        # removal was failing let backup_pool_ensure refill it.
        slot_taken = (
            BackupCode.objects.filter(lock=self.lock, slot=backup.slot)
            .exclude(state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED])
            .exists()
        )
        if backup.slot <= backup_pool_size(lock=self.lock) and not slot_taken:
            self.backup_place(_backup_new(lock=self.lock, slot=backup.slot))

    def fail_backup(self, backup: BackupCode, error: VendorError) -> None:
        now = timezone.now()
        backup.last_error = error.reason
        backup.last_error_message = error.message[:500]
        if error.reason == Reason.RATE_LIMITED:
            backup.next_attempt_at = now + timedelta(seconds=error.retry_after or 60)
        else:
            backup.attempts += 1
            backup.next_attempt_at = _retry_time(backup.attempts, now)
            if backup.state != BackupCode.State.REMOVING:
                backup.state = BackupCode.State.FAILED
        # A rotation that failed (even before the delete, on reading the lock) is retried on
        # the retry schedule, not at every sweep.
        if backup.retire_after and (
            backup.state == BackupCode.State.REMOVING or backup.retire_after <= now
        ):
            backup.retire_after = backup.next_attempt_at
        backup.save()
        code_event_record(
            host_id=self.host_id,
            kind="failed",
            backup_code=backup,
            reason=f"{error.reason}: {error.message}",
        )


def lock_process(*, lock_id: int, only_ids: set[int] | None = None, wait: float = 0) -> bool:
    """Carry out what is due on one lock, unless another worker holds it (SPEC S5).

    With `wait`, keep trying for the lease that many seconds (the healthcheck, user actions).
    """
    holder = secrets.token_hex(8)
    tries = int(wait / LEASE_POLL) + 1
    while not _lease_acquire(lock_id, holder):
        tries -= 1
        if tries <= 0:
            return False
        time.sleep(LEASE_POLL)
    try:
        lock = Lock.objects.select_related("connection__host").get(pk=lock_id)
        _LockRun(lock=lock).run(only_ids=only_ids)
    finally:
        _lease_release(lock_id, holder)
    return True


def connection_mark_disconnected(*, connection: LockConnection, message: str) -> None:
    """Credentials stopped working: mark the connection and tell the host once (SPEC L3)."""
    updated = LockConnection.objects.filter(
        pk=connection.pk, state=LockConnection.State.CONNECTED
    ).update(
        state=LockConnection.State.DISCONNECTED,
        last_error=message[:500],
        last_error_at=timezone.now(),
    )
    connection.state = LockConnection.State.DISCONNECTED
    if updated:
        host_alert_raise(
            host=connection.host,
            kind=HostAlert.Kind.ACCOUNT_DISCONNECTED,
            subject=f"Your {connection.get_vendor_display()} account is disconnected",
            body=(
                f"locksync can no longer reach your {connection.get_vendor_display()} account "
                f"({message}). Guests' codes cannot be set or removed until you reconnect it. "
                "Reconnect the account with fresh credentials; we then resync every lock."
            ),
            link=f"/connections/{connection.pk}/",
        )


# --- due work (SPEC S3, S4, D1) ------------------------------------------------------------


def _lock_ids(code_rows, backup_rows, limit: int) -> list[int]:
    """Distinct lock ids of due lock-code and backup-code rows, a bounded batch."""
    found: set[int] = set()
    for rows in (code_rows, backup_rows):
        found |= set(rows.order_by().values_list("lock_id", flat=True).distinct()[:limit])
    return sorted(found)[:limit]


def due_lock_ids(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> list[int]:
    """Locks with a send, follow-up or retry due (the minute sweep)."""
    now = now or timezone.now()
    return _lock_ids(
        LockCode.objects.filter(next_attempt_at__lte=now),
        BackupCode.objects.filter(next_attempt_at__lte=now),
        limit,
    )


def deletion_due_lock_ids(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> list[int]:
    """Locks with one of our codes past its deletion time, or a backup code to rotate."""
    now = now or timezone.now()
    return _lock_ids(
        LockCode.objects.filter(delete_after__lte=now).exclude(state=LockCode.State.REMOVED),
        BackupCode.objects.filter(retire_after__lte=now),
        limit,
    )


def _process_each(lock_ids: list[int]) -> int:
    processed = 0
    for lock_id in lock_ids:
        try:
            processed += lock_process(lock_id=lock_id)
        except Exception:
            # One lock's unexpected failure must not hold up every other lock; its rows stay
            # due and are tried again by the next sweep.
            log.exception("processing lock %s failed", lock_id)
    return processed


def dispatch_due(*, now: datetime | None = None) -> int:
    """Process every lock with due work, a bounded batch at a time; return locks processed."""
    return _process_each(due_lock_ids(now=now))


def delete_due(*, now: datetime | None = None) -> int:
    """Process every lock with a deletion or backup rotation due."""
    return _process_each(deletion_due_lock_ids(now=now))


# --- user actions (SPEC V2, Y1) ------------------------------------------------------------


def lock_code_retry_now(*, lock_code: LockCode, user=None) -> LockCode:
    """Re-attempt a code at once (dashboard, admin, API)."""
    if lock_code.state == LockCode.State.REMOVED:
        raise EngineError("This code has been removed from the lock; there is nothing to retry.")
    lock_code.next_attempt_at = timezone.now()
    lock_code.save(update_fields=["next_attempt_at", "updated_at"])
    code_event_record(
        host_id=lock_code.lock.connection.host_id,
        kind="retry_requested",
        lock_code=lock_code,
        actor=CodeEvent.Actor.USER if user else CodeEvent.Actor.SYSTEM,
        user=user,
    )
    lock_process(lock_id=lock_code.lock_id, only_ids={lock_code.pk}, wait=10)
    lock_code.refresh_from_db()
    return lock_code


def lock_resync(*, lock: Lock, user=None) -> None:
    """Re-push every code of ours that should be on the lock now or within the lead time,
    backup codes included, with the same PINs and no duplicates (SPEC Y1)."""
    now = timezone.now()
    lead = adapter_for(lock.connection).lead_time(lock.capability_record)
    codes = LockCode.objects.filter(lock=lock).exclude(state=LockCode.State.REMOVED)
    codes = codes.filter(
        access_code__starts_at__lte=now + lead, access_code__ends_at__gt=now
    ).exclude(delete_after__lte=now)
    codes.update(next_attempt_at=now)
    BackupCode.objects.filter(lock=lock, state__in=LIVE_BACKUP_STATES).update(next_attempt_at=now)
    code_event_record(
        host_id=lock.connection.host_id,
        kind="resync_requested",
        lock=lock,
        actor=CodeEvent.Actor.USER if user else CodeEvent.Actor.SYSTEM,
        user=user,
    )
    lock_process(lock_id=lock.pk, wait=10)


# --- backup code pools (SPEC H3) -----------------------------------------------------------


def _backup_new(*, lock: Lock, slot: int) -> BackupCode:
    capabilities = lock.capability_record
    length = nearest_length(6, capabilities.supported_code_lengths) or 6
    pin = random_pin(length, [capabilities], _pins_on_locks([lock]))
    return BackupCode.objects.create(
        lock=lock,
        slot=slot,
        name=f"Backup {slot}",
        pin=pin,
        next_attempt_at=timezone.now(),
    )


def backup_pool_size(*, lock: Lock) -> int:
    """The pool the lock should keep: the largest of its properties' settings, 0 when off."""
    sizes = [0]
    for match in lock.matches.select_related("property"):
        settings = smart_lock_settings_effective(property=match.property)
        if settings.backup_codes_enabled:
            sizes.append(settings.backup_pool_size)
    return max(sizes)


def backup_pool_ensure(*, lock: Lock) -> list[BackupCode]:
    """Create the missing backup codes of the lock's pool (they are sent by the sweep)."""
    size = backup_pool_size(lock=lock)
    live = {
        backup.slot: backup
        for backup in BackupCode.objects.filter(lock=lock).exclude(
            state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED]
        )
    }
    created = []
    for slot in range(1, size + 1):
        if slot not in live:
            created.append(_backup_new(lock=lock, slot=slot))
    return created


def lock_reconcile(*, lock: Lock) -> int:
    """Compare the lock's list with our codes: re-set what is missing, record what was
    changed by hand (SPEC Y2). Returns how many of our codes were missing."""
    adapter = adapter_for(lock.connection)
    if (
        not adapter.has(Feature.LIST_CODES)
        or lock.connection.state != LockConnection.State.CONNECTED
    ):
        return 0
    try:
        listing = {remote.remote_id: remote for remote in adapter.list_codes(lock.remote_id)}
    except VendorError:
        return 0
    missing = 0
    now = timezone.now()
    for lock_code in LockCode.objects.filter(lock=lock, state=LockCode.State.SET).select_related(
        "access_code__reservation", "lock__connection"
    ):
        remote = listing.get(lock_code.vendor_code_id)
        if remote is None:
            missing += 1
            lock_code.next_attempt_at = now
            lock_code.save(update_fields=["next_attempt_at", "updated_at"])
            continue
        changed = {
            field
            for field, ours, theirs in (
                ("pin", lock_code.pin, remote.pin),
                ("name", lock_code.name_on_lock, remote.name),
                ("ends_at", lock_code.window_ends_at, remote.ends_at),
            )
            if theirs is not None and ours is not None and ours != theirs
        }
        if changed:
            code_event_record(
                host_id=lock.connection.host_id,
                kind="changed_by_hand",
                lock_code=lock_code,
                actor=CodeEvent.Actor.VENDOR,
                reason="changed outside locksync: " + ", ".join(sorted(changed)),
            )
    if missing:
        lock_process(lock_id=lock.pk)
    return missing


def locks_reconcile_all() -> int:
    """The daily reconciliation over every matched lock of a connected account."""
    count = 0
    locks = Lock.objects.filter(
        matches__isnull=False, connection__state=LockConnection.State.CONNECTED
    ).distinct()
    for lock in locks.select_related("connection__host").iterator():
        count += lock_reconcile(lock=lock)
    return count


def connection_codes_resync(*, connection: LockConnection) -> None:
    """After (re)connecting an account: resync each of its locks (SPEC L3, Y3).

    Codes whose provisioning had not finished before the reconnect take the reservation
    code as their name, so a half-made earlier attempt can't clash with them (SPEC N2).
    """
    for lock in connection.locks.filter(is_present=True).select_related("connection__host"):
        unfinished = (
            LockCode.objects.filter(lock=lock)
            .filter(state__in=[*NOT_ON_LOCK, LockCode.State.SETTING])
            .select_related("access_code__reservation")
        )
        for lock_code in unfinished:
            reservation = lock_code.access_code.reservation
            name = fallback_name(
                reservation_code=reservation.reservation_code,
                external_id=reservation.external_id,
                max_length=lock.capability_record.name_max_length,
            )
            if lock_code.name_on_lock != name and not lock_code.vendor_code_id:
                lock_code.name_on_lock = name
                lock_code.save(update_fields=["name_on_lock", "updated_at"])
        lock_resync(lock=lock)
