"""Reservation services: each change creates, updates or retires the guest's codes."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accesscodes.models import AccessCode, BackupCode, LockCode
from accesscodes.services import (
    access_code_cancel,
    access_code_provision,
    lock_code_retire,
    lock_dispatch_enqueue,
    matched_locks,
)
from properties.models import Host, Property
from reservations.models import Reservation


def _check_dates(check_in: datetime, check_out: datetime) -> None:
    if check_in >= check_out:
        raise ValidationError({"check_out": "Checkout must be after check-in."})


def _check_property(host: Host, property: Property) -> None:
    if property.host_id != host.pk:
        raise ValidationError({"property": "No such property."})


@transaction.atomic
def reservation_upsert(
    *,
    host: Host,
    external_id: str,
    property: Property,
    guest_name: str,
    check_in: datetime,
    check_out: datetime,
    status: str = Reservation.Status.ACCEPTED,
    reservation_code: str = "",
    guest_phone: str = "",
    guest_phone_last_digits: str = "",
    guest_email: str = "",
    source: str = Reservation.Source.API,
) -> tuple[Reservation, bool]:
    """Create or update a reservation by the host's external id; the same data twice is a no-op."""
    _check_property(host, property)
    _check_dates(check_in, check_out)
    if status not in Reservation.Status.values:
        raise ValidationError({"status": f"Unknown status '{status}'."})
    reservation = (
        Reservation.objects.select_for_update().filter(host=host, external_id=external_id).first()
    )
    details = {
        "guest_name": guest_name,
        "reservation_code": reservation_code,
        "guest_phone": guest_phone,
        "guest_phone_last_digits": guest_phone_last_digits,
        "guest_email": guest_email,
    }
    if reservation is None:
        reservation = Reservation.objects.create(
            host=host,
            external_id=external_id,
            property=property,
            check_in=check_in,
            check_out=check_out,
            status=Reservation.Status.INQUIRY,
            source=source,
            **details,
        )
        if status == Reservation.Status.ACCEPTED:
            reservation_accept(reservation=reservation)
        elif status == Reservation.Status.CANCELLED:
            reservation_cancel(reservation=reservation)
        return reservation, True

    _update(
        reservation=reservation,
        property=property,
        details=details,
        stay=(check_in, check_out),
        status=status,
    )
    return reservation, False


def _update(
    *,
    reservation: Reservation,
    property: Property,
    details: dict,
    stay: tuple[datetime, datetime],
    status: str,
) -> None:
    """Bring a known reservation to what was sent: cancel, reinstate, or change it."""
    if status == Reservation.Status.INQUIRY != reservation.status:
        # Taking it as sent would mean the guest's codes leave the locks; ignoring it would
        # answer "done" to a change not made. Say what to send instead.
        raise ValidationError(
            {
                "status": f"This stay is {reservation.status} and can't go back to an inquiry. "
                "Send status 'cancelled' if the guest is no longer coming."
            }
        )
    if status == Reservation.Status.CANCELLED:
        if reservation.status != Reservation.Status.CANCELLED:
            reservation_cancel(reservation=reservation)
        return
    if reservation.status == Reservation.Status.CANCELLED and status == Reservation.Status.ACCEPTED:
        _reinstate(reservation=reservation, property=property, details=details, stay=stay)
        return
    changed = [key for key, value in details.items() if getattr(reservation, key) != value]
    for key in changed:
        setattr(reservation, key, details[key])
    if changed:
        reservation.save(update_fields=[*changed, "updated_at"])
    if reservation.property_id != property.pk:
        reservation_move(reservation=reservation, property=property)
    if (reservation.check_in, reservation.check_out) != stay or changed:
        reservation_alter(reservation=reservation, check_in=stay[0], check_out=stay[1])
    if status == Reservation.Status.ACCEPTED and reservation.status != status:
        reservation_accept(reservation=reservation)


def _reinstate(
    *, reservation: Reservation, property: Property, details: dict, stay: tuple[datetime, datetime]
) -> None:
    """A cancelled booking sent again as accepted, perhaps with new dates, guest details or
    property: it is taken as sent and accepted; the codes follow (SPEC S1, C1, C2)."""
    for key, value in details.items():
        setattr(reservation, key, value)
    reservation.check_in, reservation.check_out = stay
    reservation.save()
    reservation_accept(reservation=reservation)
    if reservation.property_id != property.pk:
        reservation_move(reservation=reservation, property=property)


@transaction.atomic
def reservation_accept(*, reservation: Reservation) -> AccessCode:
    """Accept a stay: its code is created at once on every matched lock (SPEC S1)."""
    if reservation.check_out <= timezone.now():
        raise ValidationError({"check_out": "This stay has already ended."})
    reservation.status = Reservation.Status.ACCEPTED
    reservation.cancelled_at = None
    reservation.save(update_fields=["status", "cancelled_at", "updated_at"])
    return access_code_provision(reservation=reservation)


@transaction.atomic
def reservation_alter(
    *,
    reservation: Reservation,
    check_in: datetime | None = None,
    check_out: datetime | None = None,
    guest_name: str | None = None,
    guest_phone: str | None = None,
    guest_email: str | None = None,
) -> Reservation:
    """Shorten, extend or correct a stay: the window follows on every lock, the PIN stays (C1)."""
    if reservation.status == Reservation.Status.CANCELLED:
        raise ValidationError("A cancelled reservation cannot be changed.")
    new_in = check_in or reservation.check_in
    new_out = check_out or reservation.check_out
    _check_dates(new_in, new_out)
    reservation.check_in, reservation.check_out = new_in, new_out
    for field, value in (
        ("guest_name", guest_name),
        ("guest_phone", guest_phone),
        ("guest_email", guest_email),
    ):
        if value is not None:
            setattr(reservation, field, value)
    reservation.save()
    if reservation.status == Reservation.Status.ACCEPTED:
        access_code_provision(reservation=reservation)
        _assigned_backups_follow(reservation=reservation)
    return reservation


@transaction.atomic
def reservation_move(*, reservation: Reservation, property: Property) -> Reservation:
    """Move a stay: codes leave locks the new property lacks, and go onto its locks (C2)."""
    _check_property(reservation.host, property)
    if reservation.status == Reservation.Status.CANCELLED:
        raise ValidationError("A cancelled reservation cannot be moved.")
    old_zone = reservation.property.zone
    reservation.property = property
    if old_zone.key != property.time_zone:
        # Stays are wall-clock times at their property (SPEC W1): a 16:00 check-in in Lisbon
        # moved to a New York flat is 16:00 there, as the dashboard and PUT already read it.
        reservation.check_in, reservation.check_out = (
            property.local_datetime(local.date(), local.time())
            for local in (
                reservation.check_in.astimezone(old_zone),
                reservation.check_out.astimezone(old_zone),
            )
        )
    reservation.save(update_fields=["property", "check_in", "check_out", "updated_at"])
    if reservation.status != Reservation.Status.ACCEPTED:
        return reservation
    staying = {lock.pk for lock in matched_locks(reservation=reservation)}
    access_code = AccessCode.objects.filter(reservation=reservation).first()
    if access_code is not None:
        for lock_code in access_code.lock_codes.exclude(state=LockCode.State.REMOVED).exclude(
            lock_id__in=staying
        ):
            # The guest no longer stays there, so the code leaves that lock now: unsent
            # operations are dropped, a code on the lock is deleted at once.
            lock_code_retire(
                lock_code=lock_code, at_once=True, reason="reservation moved to another property"
            )
    access_code_provision(reservation=reservation)
    _assigned_backups_follow(reservation=reservation)
    return reservation


@transaction.atomic
def reservation_cancel(*, reservation: Reservation) -> Reservation:
    """Cancel a stay: unsent operations are dropped, codes on locks removed (SPEC C3)."""
    if reservation.status == Reservation.Status.CANCELLED:
        return reservation
    reservation.status = Reservation.Status.CANCELLED
    reservation.cancelled_at = timezone.now()
    reservation.save(update_fields=["status", "cancelled_at", "updated_at"])
    access_code = AccessCode.objects.filter(reservation=reservation).first()
    if access_code is not None:
        access_code_cancel(access_code=access_code)
    _assigned_backups_follow(reservation=reservation)
    return reservation


def _assigned_backups_follow(*, reservation: Reservation) -> None:
    """A backup code handed to the guest lasts exactly as long as their access (SPEC H3, C1–C3).

    It is retired (and replaced by a fresh one) when the stay is cancelled, cut short to now
    or moved away from its lock, and follows an extended stay to its new end.
    """
    now = timezone.now()
    access_code = AccessCode.objects.filter(reservation=reservation).first()
    if reservation.status == Reservation.Status.CANCELLED or access_code is None:
        ends_at = now
    else:
        ends_at = max(access_code.ends_at, now)
    staying = {lock.pk for lock in matched_locks(reservation=reservation)}
    backups = BackupCode.objects.filter(reservation=reservation).exclude(
        state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED]
    )
    for backup in backups:
        retire_after = ends_at if backup.lock_id in staying else now
        if backup.retire_after == retire_after:
            continue
        # Bump the version, so a lock pass holding this row does not write the old time back.
        BackupCode.objects.filter(pk=backup.pk).update(
            retire_after=retire_after, version=F("version") + 1, updated_at=now
        )
        if retire_after <= now:
            transaction.on_commit(
                lambda lock_id=backup.lock_id: lock_dispatch_enqueue(lock_id=lock_id)
            )


@transaction.atomic
def reservation_edit(
    *,
    reservation: Reservation,
    property: Property,
    check_in: datetime,
    check_out: datetime,
    guest_name: str,
    guest_phone: str,
    guest_email: str,
) -> Reservation:
    """Change a stay from the dashboard: move it (C2) if its property changed, then alter its
    dates and guest details (C1); the codes follow through those services."""
    if reservation.status == Reservation.Status.CANCELLED:
        raise ValidationError("A cancelled reservation cannot be changed.")
    _check_dates(check_in, check_out)
    if reservation.property_id != property.pk:
        reservation_move(reservation=reservation, property=property)
    return reservation_alter(
        reservation=reservation,
        check_in=check_in,
        check_out=check_out,
        guest_name=guest_name,
        guest_phone=guest_phone,
        guest_email=guest_email,
    )
