"""Matching locks to properties (SPEC M1–M4)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accesscodes.models import BackupCode, LockCode
from accesscodes.services import (
    access_code_provision,
    backup_pool_ensure,
    code_event_record,
    dispatch_on_commit,
    lock_code_retire,
)
from integrations.models import Lock, LockConnection, Match
from messaging.models import HostAlert
from messaging.services import host_alert_raise
from properties.models import Property
from reservations.models import Reservation

MAX_CODE_SLOT = 254  # Home Assistant's zwave_js services take slots 1–254


@transaction.atomic
def match_create(*, lock: Lock, property: Property) -> Match:
    """Match a lock to a property; codes follow for every current and future stay (M3)."""
    if lock.connection.host_id != property.host_id:
        raise ValidationError("The lock and the property belong to different hosts.")
    match, created = Match.objects.get_or_create(lock=lock, property=property)
    if not created:
        return match
    code_event_record(
        host_id=property.host_id, kind="lock_matched", lock=lock, reason=property.name
    )
    stays_ahead_provision(property=property)
    backup_pool_ensure(lock=lock)
    return match


def stays_ahead_provision(**where) -> None:
    """Give every accepted stay not yet over, among those `where` selects, its code on every
    matched lock (a lock matched, or listed again by its vendor: SPEC M2, M3)."""
    stays = Reservation.objects.filter(
        status=Reservation.Status.ACCEPTED, check_out__gt=timezone.now(), **where
    ).distinct()
    for reservation in stays:
        access_code_provision(reservation=reservation)


@transaction.atomic
def match_delete(*, match: Match) -> None:
    """Unmatch: our codes for that property's stays leave the lock at once (M4)."""
    lock, property = match.lock, match.property
    match.delete()
    code_event_record(
        host_id=property.host_id, kind="lock_unmatched", lock=lock, reason=property.name
    )
    lock_codes = LockCode.objects.filter(
        lock=lock, access_code__reservation__property=property
    ).exclude(state=LockCode.State.REMOVED)
    for lock_code in lock_codes.select_related("access_code__reservation", "lock__connection"):
        lock_code_retire(lock_code=lock_code, at_once=True, reason="lock unmatched from property")
    backups = BackupCode.objects.filter(lock=lock).exclude(
        state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED]
    )
    if lock.matches.exists():
        # Still matched elsewhere: the pool stays, but a backup code handed to one of this
        # property's guests is theirs no more (M4, H3), so it is replaced now.
        backups = backups.filter(reservation__property=property)
    # Unmatched from every property: our backup codes leave the lock too.
    backups.update(retire_after=timezone.now(), version=F("version") + 1)
    dispatch_on_commit([lock.pk])


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


def lock_code_slots_set(*, lock: Lock, first: int, last: int) -> Lock:
    """Give locksync another slot range on a slot-based lock; its capacity follows.

    A range that would leave one of our codes outside it is refused: locksync never clears a
    slot outside its range, so that guest would keep the code.
    """
    if not 1 <= first <= last <= MAX_CODE_SLOT:
        raise ValidationError(
            f"Choose slots between 1 and {MAX_CODE_SLOT}, the first no higher than the last."
        )
    ours = sorted(int(slot) for slot in (lock.adapter_state or {}).get("slots", {}))
    stranded = [slot for slot in ours if not first <= slot <= last]
    if stranded:
        listed = ", ".join(str(slot) for slot in stranded)
        raise ValidationError(
            f"Slot {listed} still holds a locksync code. Keep it in the range until that stay "
            "is over and its code is removed."
            if len(stranded) == 1
            else f"Slots {listed} still hold locksync codes. Keep them in the range until "
            "those stays are over and their codes are removed."
        )
    capabilities = {**(lock.capabilities or {}), "max_active_codes_supported": last - first + 1}
    lock.code_slot_first, lock.code_slot_last, lock.capabilities = first, last, capabilities
    lock.save(update_fields=["code_slot_first", "code_slot_last", "capabilities", "updated_at"])
    code_event_record(
        host_id=lock.connection.host_id,
        kind="lock_code_slots_changed",
        lock=lock,
        reason=f"slots {first}–{last}",
    )
    return lock
