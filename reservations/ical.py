"""Reservations from channel calendar exports (Airbnb, Vrbo, Booking.com iCal feeds).

What each channel puts in its export (and so what we can read):
- Airbnb: SUMMARY "Reserved" for a booking, "Airbnb (Not available)" / "Not available" for
  dates the host blocked; the DESCRIPTION carries "Reservation URL: …/details/HMABCDEF12"
  and "Phone Number (Last 4 Digits): 1234". No guest name.
- Vrbo: SUMMARY "Reserved - <first name>" for a booking, "Blocked" for an owner block.
- Booking.com: every event is "CLOSED - Not available", bookings and closed dates alike, so
  every event of a Booking.com feed is taken as a stay (the export cannot tell them apart).

Dates are all-day (DTSTART/DTEND as DATE): check-in gets the property's check-in time and
checkout its checkout time, as wall-clock times in the property's zone (SPEC W1).

Cancellation is deliberately slow: a stay is cancelled only when it is missing from two
successive good fetches. A failed fetch, an unreadable body or an export with no events at
all counts as no fetch, so a channel's outage never cancels a guest's code. Only stays that
have not started are cancelled this way; a stay dropping out of a feed once it has begun is
what exports do, not a cancellation.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import requests
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from icalendar import Calendar

from properties.models import Property
from reservations.models import ICalFeed, ICalSeen, Reservation
from reservations.services import reservation_cancel, reservation_upsert

log = logging.getLogger(__name__)

FETCH_TIMEOUT = (5, 30)  # seconds: connect, read
MISSING_FETCHES_TO_CANCEL = 2
BLOCK_SUMMARIES = {"not available", "airbnb (not available)", "blocked", "unavailable"}
RESERVATION_CODE = re.compile(r"/reservations/details/([A-Z0-9]{6,20})")
PHONE_LAST_4 = re.compile(r"Phone Number \(Last 4 Digits\):\s*(\d{4})")
SOURCE_FOR_FEED = {
    ICalFeed.Source.AIRBNB: Reservation.Source.AIRBNB,
    ICalFeed.Source.VRBO: Reservation.Source.VRBO,
    ICalFeed.Source.BOOKING: Reservation.Source.BOOKING,
    ICalFeed.Source.OTHER: Reservation.Source.ICAL,
}
GUEST_NAME_FALLBACK = {
    ICalFeed.Source.AIRBNB: "Airbnb guest",
    ICalFeed.Source.VRBO: "Vrbo guest",
    ICalFeed.Source.BOOKING: "Booking.com guest",
    ICalFeed.Source.OTHER: "Guest",
}


class FeedUnavailable(Exception):
    """The feed could not be fetched or read; nothing is changed."""


@dataclass(frozen=True)
class Stay:
    uid: str
    check_in: datetime
    check_out: datetime
    guest_name: str
    reservation_code: str = ""
    phone_last_digits: str = ""


@dataclass
class ImportResult:
    ok: bool
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    blocked: int = 0
    errors: list[str] = field(default_factory=list)


def ical_fetch(url: str) -> str:
    """Download a feed. Raises FeedUnavailable for any network or HTTP failure."""
    try:
        response = requests.get(
            url, timeout=FETCH_TIMEOUT, headers={"User-Agent": "locksync iCal import"}
        )
        response.raise_for_status()
    except requests.RequestException as error:
        # The URL holds the feed's secret token: report the failure without it.
        raise FeedUnavailable(f"fetch failed: {type(error).__name__}") from error
    return response.text


def _instant(value: date | datetime, *, property: Property, default_time: time) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time: the property's wall clock
            return value.replace(tzinfo=property.zone)
        return value
    return datetime.combine(value, default_time, tzinfo=property.zone)


def _text(component, name: str) -> str:
    value = component.get(name)
    return str(value).strip() if value is not None else ""


def _guest_name(summary: str, source: str) -> str:
    if source == ICalFeed.Source.VRBO and summary.lower().startswith("reserved - "):
        name = summary[len("reserved - ") :].strip()
        if name:
            return name[:200]
    return GUEST_NAME_FALLBACK[source]


def ical_parse(*, text: str, feed: ICalFeed) -> tuple[list[Stay], int]:
    """Return the stays in an export and how many blocked-date events it had.

    Raises FeedUnavailable when the text is not a calendar or holds no events at all.
    """
    try:
        calendar = Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as error:
        raise FeedUnavailable("not an iCalendar file") from error
    events = list(calendar.walk("VEVENT"))
    if not events:
        raise FeedUnavailable("the feed lists no events")
    prop = feed.property
    stays, blocked = [], 0
    for event in events:
        uid, summary = _text(event, "UID"), _text(event, "SUMMARY")
        start = event.get("DTSTART")
        if not uid or start is None:
            continue
        if feed.source != ICalFeed.Source.BOOKING and summary.lower() in BLOCK_SUMMARIES:
            blocked += 1
            continue
        end = event.get("DTEND")
        check_in = _instant(start.dt, property=prop, default_time=prop.checkin_time)
        if end is not None:
            check_out = _instant(end.dt, property=prop, default_time=prop.checkout_time)
        else:
            check_out = _instant(
                start.dt + timedelta(days=1), property=prop, default_time=prop.checkout_time
            )
        if check_out <= check_in:
            continue
        description = _text(event, "DESCRIPTION")
        code = RESERVATION_CODE.search(description)
        phone = PHONE_LAST_4.search(description)
        stays.append(
            Stay(
                uid=uid,
                check_in=check_in,
                check_out=check_out,
                guest_name=_guest_name(summary, feed.source),
                reservation_code=code.group(1) if code else "",
                phone_last_digits=phone.group(1) if phone else "",
            )
        )
    return stays, blocked


def ical_feed_create(
    *, property: Property, url: str, source: str = ICalFeed.Source.AIRBNB, enabled: bool = True
) -> ICalFeed:
    feed = ICalFeed(property=property, url=url, source=source, enabled=enabled)
    feed.full_clean()
    feed.save()
    return feed


def ical_feed_update(*, feed: ICalFeed, **changes) -> ICalFeed:
    unknown = set(changes) - {"property", "url", "source", "enabled"}
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(feed, name, value)
    feed.full_clean()
    feed.save()
    return feed


def ical_feed_delete(*, feed: ICalFeed) -> None:
    """Stop importing a feed. Its stays remain; nothing is cancelled for want of a feed."""
    feed.delete()


def _external_id(feed: ICalFeed, uid: str) -> str:
    # Unique per host (the reservation's key), stable across fetches, and within 200 chars.
    if len(uid) > 150:
        uid = hashlib.sha256(uid.encode()).hexdigest()
    return f"ical-{feed.pk}-{uid}"


def ical_feed_import(*, feed: ICalFeed) -> ImportResult:
    """Fetch a feed and bring its property's reservations in line with it."""
    now = timezone.now()
    feed.last_fetched_at = now
    try:
        stays, blocked = ical_parse(text=ical_fetch(feed.url), feed=feed)
    except FeedUnavailable as error:
        feed.last_error = str(error)
        feed.save(update_fields=["last_fetched_at", "last_error", "updated_at"])
        log.warning("iCal feed %s not imported: %s", feed.pk, error)
        return ImportResult(ok=False, errors=[str(error)])

    result = ImportResult(ok=True, blocked=blocked)
    host = feed.property.host
    seen_uids = set()
    for stay in stays:
        seen_uids.add(stay.uid)
        if stay.check_out <= now:
            continue  # past stays stay as they were
        external_id = _external_id(feed, stay.uid)
        known = Reservation.objects.filter(host=host, external_id=external_id).first()
        if known is not None and known.status == Reservation.Status.CANCELLED:
            continue  # a stay cancelled here stays cancelled; the engine refuses to revive it
        # A feed carries no email or full phone, and often no name: keep what the host added
        # in the dashboard or API rather than wiping it every 15 minutes.
        guest_name = stay.guest_name
        if known is not None and guest_name in GUEST_NAME_FALLBACK.values():
            guest_name = known.guest_name
        try:
            # One savepoint per stay: a stay the engine refuses does not undo the others.
            with transaction.atomic():
                reservation, created = reservation_upsert(
                    host=host,
                    external_id=external_id,
                    property=feed.property,
                    guest_name=guest_name,
                    check_in=stay.check_in,
                    check_out=stay.check_out,
                    reservation_code=stay.reservation_code
                    or (known.reservation_code if known else ""),
                    guest_phone=known.guest_phone if known else "",
                    guest_phone_last_digits=stay.phone_last_digits
                    or (known.guest_phone_last_digits if known else ""),
                    guest_email=known.guest_email if known else "",
                    source=SOURCE_FOR_FEED[feed.source],
                )
        except ValidationError as error:
            result.errors.append(f"{stay.uid}: {' '.join(error.messages)}")
            continue
        if created:
            result.created += 1
        elif reservation.updated_at >= now:
            result.updated += 1
        ICalSeen.objects.update_or_create(
            feed=feed,
            uid=stay.uid,
            defaults={"reservation": reservation, "missing_fetches": 0, "last_seen_at": now},
        )

    missing = (
        ICalSeen.objects.filter(feed=feed, reservation__isnull=False)
        .exclude(uid__in=seen_uids)
        .select_related("reservation")
    )
    for seen in missing:
        reservation = seen.reservation
        if reservation.status == Reservation.Status.CANCELLED or reservation.check_in <= now:
            continue
        seen.missing_fetches += 1
        seen.save(update_fields=["missing_fetches", "updated_at"])
        if seen.missing_fetches >= MISSING_FETCHES_TO_CANCEL:
            reservation_cancel(reservation=reservation)
            result.cancelled += 1

    feed.last_ok_at = now
    feed.last_error = "; ".join(result.errors)[:2000]
    feed.save(update_fields=["last_fetched_at", "last_ok_at", "last_error", "updated_at"])
    return result
