"""Services that change which codes should be on which lock. They only write rows.

Each change takes the rows it changes with SELECT … FOR UPDATE and bumps their `version`, so
a lock pass that read them earlier finds its write-back refused and the code due again
(SPEC S9). The talking to the lock is done later by `sweeps.lock_process`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accesscodes.engine.announcements import pin_announcement_schedule
from accesscodes.engine.choices import lock_code_name, lock_pin, pin_choose, pins_on_locks
from accesscodes.engine.events import code_event_record
from accesscodes.engine.listings import listings_refresh_stale
from accesscodes.engine.windows import (
    access_window,
    desired_window,
    removal_time,
    send_time,
    was_sent,
    window_for_lock,
)
from accesscodes.models import AccessCode, LockCode
from accesscodes.pin import pin_violations
from integrations.models import Lock
from reservations.models import Reservation

log = logging.getLogger(__name__)

NOT_ON_LOCK = (
    LockCode.State.SCHEDULED,
    LockCode.State.WAITING_FOR_SPACE,
    LockCode.State.FAILED,
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


def _holds(access_code: AccessCode, lock: Lock) -> bool:
    """Whether this access code already has a live LockCode on the lock. A lock the vendor
    stopped listing gets no new code (it would fail for ever), but keeps the ones it has: a
    listing glitch must not take a guest's code off the lock (SPEC M2, D1)."""
    return access_code.lock_codes.filter(lock=lock).exclude(state=LockCode.State.REMOVED).exists()


def _locked(lock_code: LockCode) -> LockCode:
    """The row, fresh and locked until the caller's transaction ends (S9)."""
    return (
        LockCode.objects.select_for_update(of=("self",))
        .select_related("access_code__reservation__property", "lock__connection")
        .get(pk=lock_code.pk)
    )


def _save(lock_code: LockCode, update_fields: list[str] | None = None) -> None:
    """A service-side change: bump the version so an in-flight pass does not overwrite it."""
    lock_code.version += 1
    if update_fields is not None:
        update_fields = [*update_fields, "version", "updated_at"]
    lock_code.save(update_fields=update_fields)


# --- provisioning (SPEC S1, M2, M3, C1, C2) --------------------------------------------------


@transaction.atomic
def access_code_provision(*, reservation: Reservation) -> AccessCode:
    """Create or refresh the reservation's AccessCode and its LockCode on every matched lock."""
    locks = matched_locks(reservation=reservation)
    starts_at, ends_at = access_window(reservation=reservation)
    access_code = AccessCode.objects.select_for_update().filter(reservation=reservation).first()
    if access_code is None:
        listings_refresh_stale(locks=locks)  # SPEC P7
        pin, source = pin_choose(reservation=reservation, locks=locks, taken=pins_on_locks(locks))
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
        _access_code_refresh(access_code, reservation, starts_at, ends_at)
    locks = [lock for lock in locks if lock.is_present or _holds(access_code, lock)]
    for lock in locks:
        lock_code_ensure(access_code=access_code, lock=lock)
    dispatch_on_commit(lock.pk for lock in locks)
    return access_code


def _access_code_refresh(access_code: AccessCode, reservation: Reservation, starts_at, ends_at):
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
        _lock_codes_rename(access_code, reservation)


def _lock_codes_rename(access_code: AccessCode, reservation: Reservation) -> None:
    """The guest's corrected name goes to every lock, or the reservation code where N2 says
    so; a code already sent is changed on the lock with the same PIN (N1, N2, C1)."""
    for lock_code in access_code.lock_codes.exclude(state=LockCode.State.REMOVED):
        lock_code = _locked(lock_code)
        name = lock_code_name(lock_code.lock, reservation)
        if name == lock_code.name_on_lock:
            continue
        lock_code.name_on_lock = name
        if was_sent(lock_code):
            lock_code.in_sync = False
        _save(lock_code, ["name_on_lock", "in_sync"])


@transaction.atomic
def lock_code_ensure(*, access_code: AccessCode, lock: Lock) -> LockCode:
    """Make sure the access code has a LockCode on the lock that follows its window."""
    lock_code = (
        LockCode.objects.select_for_update(of=("self",))
        .filter(access_code=access_code, lock=lock)
        .first()
    )
    if lock_code is None or lock_code.state == LockCode.State.REMOVED:
        lock_code = _lock_code_schedule(access_code, lock, lock_code)
    else:
        # An existing code follows the access code's current window and name.
        lock_code.access_code = access_code
        lock_code.lock = lock
        _lock_code_follow(lock_code, timezone.now())
        _save(lock_code)
    _tell_if_cut_short(lock_code)
    return lock_code


def _tell_if_cut_short(lock_code: LockCode) -> None:
    """A stay longer than the lock's longest code (igloohome: 367 days; the simulated algoPIN
    lock: 672 hours): the code ends before checkout, so the host is told once, with the time in
    the property's zone, to give the guest another way in for the rest (SPEC W1, V5)."""
    lock = lock_code.lock
    if not lock.capability_record.max_window_hours or lock_code.access_code.cancelled_at:
        return
    ends_at = window_for_lock(lock_code)[1]
    if ends_at is None or ends_at >= desired_window(lock_code)[1]:
        return
    from accesscodes.presentation import local_time
    from messaging.models import HostAlert
    from messaging.services import host_alert_raise

    reservation = lock_code.access_code.reservation
    until = local_time(ends_at, reservation.property)
    subject = f"{reservation.guest_name}'s code on {lock.name} stops working at {until}"
    host_id = reservation.host_id
    if HostAlert.objects.filter(host_id=host_id, kind="code_cut_short", subject=subject).exists():
        return
    hours = lock.capability_record.max_window_hours
    host_alert_raise(
        host=reservation.host,
        kind=HostAlert.Kind.CODE_CUT_SHORT,
        subject=subject,
        body=(
            f"{lock.name} holds codes for at most {hours // 24} days, and the stay of "
            f"{reservation.guest_name} at {reservation.property.name} is longer: their code "
            f"stops working at {until}, before checkout. Give the guest another way in for the "
            "rest of the stay, for example a second booking for the remaining nights."
        ),
        link=f"/reservations/{reservation.pk}/",
    )


def _lock_code_schedule(access_code: AccessCode, lock: Lock, lock_code: LockCode | None):
    """A fresh LockCode (or a removed one brought back), scheduled for its send time."""
    reservation = access_code.reservation
    taken = pins_on_locks([lock], excluding_access_code_id=access_code.pk)
    fresh = {
        "state": LockCode.State.SCHEDULED,
        "pin": lock_pin(lock, access_code, taken),
        "name_on_lock": lock_code_name(lock, reservation),
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
    lock_code.next_attempt_at = send_time(lock_code, timezone.now())
    lock_code.delete_after = removal_time(lock_code)
    _save(lock_code)
    code_event_record(
        host_id=reservation.host_id,
        kind="scheduled",
        lock_code=lock_code,
        after={"send_at": str(lock_code.next_attempt_at), "name": lock_code.name_on_lock},
    )
    return lock_code


def _lock_code_follow(lock_code: LockCode, now) -> None:
    if lock_code.state == LockCode.State.REMOVING:
        # Wanted again before its deletion went through (moved back, re-matched): keep it,
        # and check it against the lock on the next pass.
        lock_code.state = LockCode.State.SET
        lock_code.in_sync = False
    lock_code.delete_after = removal_time(lock_code)
    if lock_code.state in NOT_ON_LOCK:
        if lock_code.state != LockCode.State.FAILED or lock_code.next_attempt_at is None:
            lock_code.next_attempt_at = send_time(lock_code, now)
        lock_code.next_attempt_at = min(lock_code.next_attempt_at, send_time(lock_code, now))
    elif (lock_code.window_starts_at, lock_code.window_ends_at) != window_for_lock(lock_code):
        lock_code.in_sync = False
    elif send_time(lock_code, now) > now:
        # A permanent-only lock holds no window: a stay moved later must leave it until
        # its new send time, or the code would open the door outside the stay (SPEC W2).
        lock_code.in_sync = False
    if not lock_code.in_sync:
        lock_code.next_attempt_at = now


@transaction.atomic
def lock_code_retire(*, lock_code: LockCode, at_once: bool = False, reason: str) -> None:
    """Take our code off its lock: dropped if never sent, else cut and deleted later or now."""
    now = timezone.now()
    lock_code = _locked(lock_code)
    if lock_code.state == LockCode.State.REMOVED:
        return
    if not was_sent(lock_code):
        lock_code.state = LockCode.State.REMOVED
        lock_code.removed_at = now
        lock_code.next_attempt_at = None
        lock_code.delete_after = None
        _save(lock_code)
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
        removal = removal_time(lock_code)
        if lock_code.delete_after is not None:
            removal = min(removal, lock_code.delete_after)
        lock_code.delete_after = removal
        if window_for_lock(lock_code) != (lock_code.window_starts_at, lock_code.window_ends_at):
            lock_code.in_sync = False
            lock_code.next_attempt_at = now
    _save(lock_code)
    code_event_record(
        host_id=lock_code.access_code.reservation.host_id,
        kind="removal_scheduled",
        lock_code=lock_code,
        reason=reason,
        after={"delete_after": str(lock_code.delete_after)},
    )


@transaction.atomic
def access_code_cancel(*, access_code: AccessCode) -> None:
    """SPEC C3: drop unsent operations, cut windows on the lock, delete 24 h later."""
    access_code.cancelled_at = timezone.now()
    access_code.save(update_fields=["cancelled_at", "updated_at"])
    code_event_record(
        host_id=access_code.reservation.host_id, kind="cancelled", access_code=access_code
    )
    lock_ids = []
    for lock_code in access_code.lock_codes.all():
        lock_code_retire(lock_code=lock_code, reason="reservation cancelled")
        lock_ids.append(lock_code.lock_id)
    dispatch_on_commit(lock_ids)


@transaction.atomic
def access_code_pin_replace(*, access_code: AccessCode, reason: str, avoid: set[str]) -> str:
    """Choose a new PIN and write it to every lock, so the guest keeps one code (SPEC P5)."""
    lock_codes = [
        _locked(lock_code)
        for lock_code in access_code.lock_codes.exclude(state=LockCode.State.REMOVED)
    ]
    locks = [lock_code.lock for lock_code in lock_codes]
    taken = pins_on_locks(locks, excluding_access_code_id=access_code.pk) | avoid
    taken.add(access_code.pin)
    new_pin, _source = pin_choose(
        reservation=access_code.reservation, locks=locks, taken=taken, allow_phone=False
    )
    access_code.pin = new_pin
    access_code.pin_source = AccessCode.Source.RANDOM
    access_code.save(update_fields=["pin", "pin_source", "updated_at"])
    had_old_pin_on_a_lock = False
    for lock_code in lock_codes:
        capabilities = lock_code.lock.capability_record
        if capabilities.pin_chosen_by_vendor:
            continue  # the vendor's PIN on that lock is its own (P6)
        lock_code.pin = (
            new_pin
            if not pin_violations(new_pin, capabilities)
            else lock_pin(lock_code.lock, access_code, taken)
        )
        if lock_code.vendor_code_id:
            had_old_pin_on_a_lock = True
            lock_code.in_sync = False
            lock_code.next_attempt_at = timezone.now()
        _save(lock_code, ["pin", "in_sync", "next_attempt_at"])
    code_event_record(
        host_id=access_code.reservation.host_id,
        kind="pin_changed",
        access_code=access_code,
        reason=reason,
    )
    pin_announcement_schedule(access_code=access_code, had_old_pin_on_a_lock=had_old_pin_on_a_lock)
    return new_pin


# --- queueing the fast path (SPEC S3) --------------------------------------------------------


def dispatch_on_commit(lock_ids: Iterable[int]) -> None:
    """Queue the fast path for locks with work due now (SPEC S3)."""
    now = timezone.now()
    due = set(
        LockCode.objects.filter(lock_id__in=set(lock_ids))
        .filter(Q(next_attempt_at__lte=now) | Q(delete_after__lte=now))
        .exclude(state=LockCode.State.REMOVED)
        .values_list("lock_id", flat=True)
    )
    for lock_id in sorted(due):
        transaction.on_commit(lambda lock_id=lock_id: lock_dispatch_enqueue(lock_id=lock_id))


def lock_dispatch_enqueue(*, lock_id: int, countdown: float | None = None) -> None:
    """Queue a pass for one lock (now, or after `countdown` seconds). The change is already
    committed, so a broker that is down must not turn it into an error: the minute sweep will
    find the due rows (S4)."""
    from accesscodes.tasks import lock_dispatch  # the tasks module imports the services

    try:
        if countdown:
            lock_dispatch.apply_async((lock_id,), countdown=countdown)
        else:
            lock_dispatch.delay(lock_id)
    except Exception:
        log.warning("could not queue the fast path for lock %s; the sweep will pick it up", lock_id)
