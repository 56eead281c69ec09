"""Applying what a PMS says to locksync's stays, always through reservations.services (C).

A PMS answer is the truth only about what it returns: an outage, an error answer or a stay
missing from one poll cancels nothing (Q4). A stay is cancelled only when the PMS itself
returns it as cancelled.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pms import base
from pms.base import PmsReservation, VendorError
from pms.models import PmsBooking, PmsConnection, PmsListing
from pms.registry import adapter_for
from reservations.models import Reservation
from reservations.services import reservation_upsert

logger = logging.getLogger(__name__)
POLL_OVERLAP = timedelta(minutes=30)
FIRST_POLL_LOOKBACK = timedelta(days=1)


def external_id(connection: PmsConnection, remote_id: str) -> str:
    return f"{connection.pms}:{connection.pk}:{remote_id}"


def _count_ignored(connection: PmsConnection) -> None:
    PmsConnection.objects.filter(pk=connection.pk).update(events_ignored=F("events_ignored") + 1)


def _stay(listing: PmsListing, found: PmsReservation) -> tuple[datetime, datetime]:
    """The PMS's own times where it gave them, else the property's (Q4)."""
    prop = listing.property
    check_in = found.check_in_at or prop.local_datetime(
        found.arrival, found.check_in_time or prop.checkin_time
    )
    check_out = found.check_out_at or prop.local_datetime(
        found.departure, found.check_out_time or prop.checkout_time
    )
    return check_in, check_out


def booking_apply(connection: PmsConnection, found: PmsReservation) -> str:
    """Bring locksync's stay to what the PMS returned; say what happened ('applied',
    'ignored: …'). Never raises for bad data: it is counted and changes nothing."""
    listing = (
        connection.listings.select_related("property")
        .filter(remote_id=found.listing_id, property__isnull=False)
        .first()
    )
    known = PmsBooking.objects.filter(connection=connection, remote_id=found.remote_id).first()
    if listing is None:
        # Unmapped or unknown listing: imports nothing, moves nothing (Q2).
        _count_ignored(connection)
        return "ignored: listing not mapped"
    if known is None and found.status != base.ACCEPTED:
        return "ignored: not a confirmed booking"
    if known is not None and found.status == base.NO_CODE:
        # A booking back to 'request' or turned into a block: nothing to do but keep it.
        return "ignored: not a confirmed booking"
    check_in, check_out = _stay(listing, found)
    if known is None and check_out <= timezone.now():
        return "ignored: already over"
    status = (
        Reservation.Status.ACCEPTED
        if found.status == base.ACCEPTED
        else Reservation.Status.CANCELLED
    )
    try:
        with transaction.atomic():
            reservation, _ = reservation_upsert(
                host=connection.host,
                external_id=external_id(connection, found.remote_id),
                property=listing.property,
                guest_name=found.guest_name or "Guest",
                check_in=check_in,
                check_out=check_out,
                status=status,
                reservation_code=found.code[:64],
                guest_phone=found.guest_phone,
                guest_email=found.guest_email if "@" in found.guest_email else "",
                source=Reservation.Source.API,
            )
            if found.language != reservation.language:
                reservation.language = found.language
                reservation.save(update_fields=["language", "updated_at"])
            PmsBooking.objects.get_or_create(
                connection=connection,
                remote_id=found.remote_id,
                defaults={"reservation": reservation},
            )
    except ValidationError as error:
        _count_ignored(connection)
        logger.info("pms booking not applied connection=%s: %s", connection.pk, error)
        return "ignored: not valid"
    return "applied"


def booking_sync(connection: PmsConnection, remote_id: str) -> str:
    """Fetch one reservation from the PMS and apply it (a webhook is only a hint, Q3)."""
    found = adapter_for(connection).get_reservation(remote_id)
    if found is None:
        # The API no longer returns it: that alone cancels nothing (Q4).
        _count_ignored(connection)
        return "ignored: the PMS does not return this reservation"
    return booking_apply(connection, found)


def listings_refresh(connection: PmsConnection) -> list[PmsListing]:
    seen = []
    for info in adapter_for(connection).list_listings():
        listing, _ = PmsListing.objects.update_or_create(
            connection=connection, remote_id=info.remote_id, defaults={"name": info.name}
        )
        seen.append(listing)
    return seen


def listing_map(listing: PmsListing, prop) -> int:
    """Map a listing to a property and import its stays from today on (Q2)."""
    if prop is not None and prop.host_id != listing.connection.host_id:
        raise ValidationError({"property": "No such property."})
    listing.property = prop
    listing.save(update_fields=["property", "updated_at"])
    if prop is None:
        return 0
    connection = listing.connection
    today = timezone.localdate(timezone=prop.zone)
    found = adapter_for(connection).reservations_for_listing(listing.remote_id, today)
    return sum(booking_apply(connection, item) == "applied" for item in found)


def suggest_property(listing: PmsListing):
    """The host's property whose name is closest to the listing's (Q2's suggestion)."""
    from difflib import SequenceMatcher

    best, best_score = None, 0.5
    for prop in listing.connection.host.properties.all():
        score = SequenceMatcher(None, prop.name.lower(), listing.name.lower()).ratio()
        if score > best_score:
            best, best_score = prop, score
    return best


def connection_poll(connection: PmsConnection) -> int:
    """What changed since the last good poll, with overlap (Q3). A failed poll changes
    nothing and keeps the last good time, so the next one covers the gap."""
    started = timezone.now()
    since = (connection.last_poll_ok_at or started - FIRST_POLL_LOOKBACK) - POLL_OVERLAP
    try:
        found = adapter_for(connection).reservations_changed_since(since)
    except VendorError as error:
        PmsConnection.objects.filter(pk=connection.pk).update(
            last_error=error.message[:500], last_error_at=started
        )
        return 0
    applied = sum(booking_apply(connection, item) == "applied" for item in found)
    PmsConnection.objects.filter(pk=connection.pk).update(last_poll_ok_at=started, last_error="")
    return applied
