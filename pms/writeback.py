"""Q5: the guest's PIN written into the PMS's door-code field once it is set on every lock of
the stay, and again when it changes; per connection, on by default. The webhook the PMS sends
back for that write is re-fetched like any other and changes nothing (the door code is not
read back into the stay)."""

from __future__ import annotations

import logging

from django.utils import timezone

from accesscodes.models import AccessCode, LockCode
from pms.base import VendorError
from pms.models import PmsBooking
from pms.registry import ADAPTERS, adapter_for
from reservations.models import Reservation

logger = logging.getLogger(__name__)


def pin_ready(reservation: Reservation) -> str:
    """The PIN when it is on every lock of the stay, else ''."""
    access_code = AccessCode.objects.filter(reservation=reservation).first()
    if access_code is None or access_code.cancelled_at is not None:
        return ""
    lock_codes = list(access_code.lock_codes.exclude(state=LockCode.State.REMOVED))
    if not lock_codes:
        return ""
    if all(
        code.state == LockCode.State.SET and code.in_sync and code.pin == access_code.pin
        for code in lock_codes
    ):
        return access_code.pin
    return ""


def write_backs_due() -> int:
    """Write every ready PIN not yet written; return how many were written."""
    door_code_pms = [key for key, adapter in ADAPTERS.items() if adapter.has_door_code_field]
    bookings = PmsBooking.objects.select_related("connection", "reservation").filter(
        connection__pms__in=door_code_pms,
        connection__write_back_codes=True,
        reservation__status=Reservation.Status.ACCEPTED,
        reservation__check_out__gt=timezone.now(),
    )
    written = 0
    for booking in bookings:
        pin = pin_ready(booking.reservation)
        if not pin or pin == booking.written_pin:
            continue
        try:
            adapter_for(booking.connection).write_door_code(booking.remote_id, pin)
        except VendorError as error:
            logger.info("pms door code not written booking=%s: %s", booking.pk, error.message)
            continue
        booking.written_pin, booking.written_at = pin, timezone.now()
        booking.save(update_fields=["written_pin", "written_at", "updated_at"])
        written += 1
    return written
