"""Choosing a guest's PIN (SPEC P1–P7) and the name a code carries on a lock (N1, N2)."""

from __future__ import annotations

from accesscodes.engine.listings import listed_names, listed_pins
from accesscodes.models import AccessCode, BackupCode, LockCode
from accesscodes.naming import code_name_choose, fallback_name
from accesscodes.pin import (
    combined_lengths,
    nearest_length,
    phone_pin,
    pin_violations,
    pins_collide,
    random_pin,
)
from integrations.models import Lock
from properties.selectors import smart_lock_settings_effective
from reservations.models import Reservation

LIVE_BACKUP_STATES = (
    BackupCode.State.SCHEDULED,
    BackupCode.State.SETTING,
    BackupCode.State.SET,
    BackupCode.State.FAILED,
)


def pins_on_locks(locks: list[Lock], *, excluding_access_code_id: int | None = None) -> set[str]:
    """PINs of our live codes and backup codes on these locks, and of the codes each lock
    listed the last time a pass read it (SPEC P4, P7)."""
    codes = LockCode.objects.filter(lock__in=locks).exclude(state=LockCode.State.REMOVED)
    if excluding_access_code_id is not None:
        codes = codes.exclude(access_code_id=excluding_access_code_id)
    backups = BackupCode.objects.filter(lock__in=locks, state__in=LIVE_BACKUP_STATES)
    taken = {code.pin for code in codes} | {backup.pin for backup in backups}
    return taken | listed_pins(locks, excluding_access_code_id=excluding_access_code_id)


def phone_digits(reservation: Reservation) -> str:
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
    capabilities = [
        lock.capability_record for lock in locks if not lock.capability_record.pin_chosen_by_vendor
    ]
    lengths = combined_lengths(capabilities) if capabilities else (4, 5, 6, 7, 8)
    if not lengths:
        # No length suits every lock: the PIN fits the first lock; the others get their own
        # (lock_pin), and messages list one line per lock (SPEC G3).
        capabilities = capabilities[:1]
        lengths = combined_lengths(capabilities)
    length = nearest_length(settings.code_length, lengths) or settings.code_length
    if allow_phone and settings.code_source == settings.CodeSource.PHONE:
        pin = phone_pin(phone_digits(reservation), length, capabilities, taken)
        if pin:
            return pin, AccessCode.Source.PHONE
    return random_pin(length, capabilities, taken), AccessCode.Source.RANDOM


def lock_pin(lock: Lock, access_code: AccessCode, taken: set[str]) -> str:
    """The access code's PIN where this lock takes it and it is free there, else its own.

    A lock whose vendor chooses the PIN gets "" until the vendor answers (capability
    `pin_chosen_by_vendor`); the vendor's PIN is then this lock's own (SPEC P6)."""
    capabilities = lock.capability_record
    if capabilities.pin_chosen_by_vendor:
        return ""
    if not pin_violations(access_code.pin, capabilities) and not any(
        pins_collide(access_code.pin, other, capabilities) for other in taken
    ):
        return access_code.pin
    return own_pin(lock, len(access_code.pin), taken)


def own_pin(lock: Lock, length: int, taken: set[str]) -> str:
    """A PIN for this lock alone (SPEC P6: a lock that keeps rejecting the guest's PIN)."""
    capabilities = lock.capability_record
    lengths = capabilities.supported_code_lengths
    length = nearest_length(length, lengths) or lengths[0]
    return random_pin(length, [capabilities], taken)


def lock_code_name(
    lock: Lock, reservation: Reservation, *, force_fallback: bool = False, names: set[str] = ()
) -> str:
    """The guest's full name on this lock, or the reservation code where N2 says so.

    Names already on the lock are our codes' names and the names the lock itself listed at
    its last read, hand-made codes included, on every lock (SPEC N2)."""
    others = LockCode.objects.filter(lock=lock).exclude(state=LockCode.State.REMOVED)
    others = others.exclude(access_code__reservation=reservation).select_related(
        "access_code__reservation"
    )
    names_on_lock = set(names) | {code.name_on_lock for code in others} | listed_names(lock)
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


def reservation_fallback_name(lock: Lock, reservation: Reservation) -> str:
    return fallback_name(
        reservation_code=reservation.reservation_code,
        external_id=reservation.external_id,
        max_length=lock.capability_record.name_max_length,
    )
