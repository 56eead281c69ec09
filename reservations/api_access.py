"""The API's read model of a stay's access: its PIN, window and each lock's state
(`/reservations/<id>/access/`), and the timeline step shape (`/timeline/`)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from rest_framework import serializers

from accesscodes.models import AccessCode, BackupCode, LockCode
from accesscodes.presentation import lock_code_view, works_until
from accesscodes.selectors import smartlock_codes_for_reservation
from guests.services import arrival_json
from properties.models import Property
from reservations.models import Reservation


def local_iso(*, property: Property, moment: datetime | None) -> str | None:
    return moment.astimezone(property.zone).isoformat() if moment else None


class ArrivalSerializer(serializers.Serializer):
    """The guest's first entry reported by a lock (SPEC K5)."""

    entered_at = serializers.DateTimeField()
    lock_id = serializers.IntegerField(allow_null=True)
    lock_name = serializers.CharField()
    via = serializers.ChoiceField(choices=["guest_code", "backup_code"])


class BackupAccessSerializer(serializers.Serializer):
    name = serializers.CharField()
    pin = serializers.CharField()
    state = serializers.CharField()


class LockAccessSerializer(serializers.Serializer):
    lock_id = serializers.IntegerField()
    lock_name = serializers.CharField()
    name_on_lock = serializers.CharField()
    state = serializers.CharField(
        help_text="scheduled, waiting_for_space, setting, set, failed, removing, removed"
    )
    state_label = serializers.CharField(
        help_text="The state as the dashboard words it, times in the property's zone (V4, V5)."
    )
    works_until = serializers.DateTimeField(
        allow_null=True,
        help_text="A code this lock can never remove (igloohome algoPIN) keeps working until "
        "then, even when the stay was cancelled; null for codes locksync removes (C3, D1).",
    )
    confirmation = serializers.CharField(
        help_text="read_back: seen on the lock; vendor: only the vendor's word (SPEC S7)."
    )
    reason = serializers.CharField(allow_null=True, help_text="Last failure reason (SPEC R2).")
    reason_message = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    set_at = serializers.DateTimeField(allow_null=True)
    backup_code = BackupAccessSerializer(allow_null=True)
    code_to_use = serializers.CharField(
        allow_null=True,
        help_text="What the guest types on this lock now: their PIN, or the backup code "
        "while their own is not set (SPEC H4).",
    )


class TimelineStepSerializer(serializers.Serializer):
    """One step of a stay's plan; `at` is null for a step that waits on another."""

    at = serializers.DateTimeField(allow_null=True)
    kind = serializers.CharField()
    what = serializers.CharField()
    done = serializers.BooleanField()
    lock = serializers.CharField(allow_blank=True)


class AccessSerializer(serializers.Serializer):
    reservation = serializers.CharField(help_text="The external id.")
    status = serializers.CharField()
    time_zone = serializers.CharField()
    pin = serializers.CharField(allow_null=True)
    window_starts_at = serializers.DateTimeField(allow_null=True)
    window_ends_at = serializers.DateTimeField(allow_null=True)
    check_in = serializers.DateTimeField()
    check_out = serializers.DateTimeField()
    locks = LockAccessSerializer(many=True)
    arrival = ArrivalSerializer(allow_null=True)


def reservation_access(*, reservation: Reservation) -> dict:
    """Describe the guest's access: PIN, window and each lock's state, in property-local time."""
    prop = reservation.property
    access_code = AccessCode.objects.filter(reservation=reservation).first()
    lock_codes = (
        list(LockCode.objects.filter(access_code=access_code).select_related("lock", "access_code"))
        if access_code
        else []
    )
    backups = {
        backup.lock_id: backup
        for backup in BackupCode.objects.filter(reservation=reservation).exclude(
            state__in=[BackupCode.State.REMOVING, BackupCode.State.REMOVED]
        )
    }
    to_use = {
        lock.pk: code for lock, code in smartlock_codes_for_reservation(reservation=reservation)
    }
    locks, now = [], timezone.now()
    for lock_code in lock_codes:
        backup = backups.get(lock_code.lock_id)
        locks.append(
            {
                "lock_id": lock_code.lock_id,
                "lock_name": lock_code.lock.name,
                "name_on_lock": lock_code.name_on_lock,
                "state": lock_code.state,
                "state_label": lock_code_view(lock_code, prop, now).label,
                "works_until": local_iso(property=prop, moment=works_until(lock_code, now)),
                "confirmation": lock_code.confirmation,
                "reason": lock_code.last_error or None,
                "reason_message": lock_code.last_error_message,
                "attempts": lock_code.attempts,
                "next_attempt_at": local_iso(property=prop, moment=lock_code.next_attempt_at),
                "set_at": local_iso(property=prop, moment=lock_code.set_at),
                "backup_code": (
                    {"name": backup.name, "pin": backup.pin, "state": backup.state}
                    if backup
                    else None
                ),
                "code_to_use": to_use.get(lock_code.lock_id),
            }
        )
    return {
        "reservation": reservation.external_id,
        "status": reservation.status,
        "time_zone": prop.time_zone,
        "pin": access_code.pin if access_code else None,
        "window_starts_at": local_iso(property=prop, moment=access_code and access_code.starts_at),
        "window_ends_at": local_iso(property=prop, moment=access_code and access_code.ends_at),
        "check_in": local_iso(property=prop, moment=reservation.check_in),
        "check_out": local_iso(property=prop, moment=reservation.check_out),
        "locks": locks,
        "arrival": arrival_json(reservation=reservation),
    }
