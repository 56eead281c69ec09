"""Matching locks to properties (SPEC M1–M4)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
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
    reservations = Reservation.objects.filter(
        property=property, status=Reservation.Status.ACCEPTED, check_out__gt=timezone.now()
    )
    for reservation in reservations:
        access_code_provision(reservation=reservation)
    backup_pool_ensure(lock=lock)
    return match


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
    if not lock.matches.exists():
        # Unmatched from every property: our backup codes leave the lock too.
        BackupCode.objects.filter(lock=lock).exclude(state=BackupCode.State.REMOVED).update(
            retire_after=timezone.now()
        )
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
