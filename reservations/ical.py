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

Cancellation is deliberately slow (SPEC F3): a stay is cancelled only when it is missing from
two good fetches at least an hour apart. A failed fetch, an unreadable body or an export with
no events at all counts as no fetch, so a channel's outage never cancels a guest's code. A
fetch that drops every upcoming stay, or more than half of them, cancels nothing: the host is
asked to confirm. Only stays that have not started are cancelled this way; a stay dropping out
of a feed once it has begun is what exports do, not a cancellation. A stay the feed cancelled
comes back if the feed lists it again before its check-in.

One unreadable event (a broken DTSTART, a date in year 9999) is skipped and reported to the
host; the rest of the feed is imported (SPEC F2). Fetching is reservations.feed_fetch (F1).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from properties.models import Property
from reservations.feed_fetch import (
    FETCH_FAILED,
    FeedUnavailable,
    ical_fetch,
)
from reservations.models import ICalFeed, ICalSeen, Reservation
from reservations.services import reservation_accept, reservation_cancel, reservation_upsert

log = logging.getLogger(__name__)

MISSING_FETCHES_TO_CANCEL = 2
MISSING_FOR_AT_LEAST = timedelta(hours=1)  # between the first and the cancelling fetch
# Stays further ahead than this are taken for garbage (no channel sells years ahead), which
# also keeps year-9999 dates away from window arithmetic.
MAX_YEARS_AHEAD = 5
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


@dataclass(frozen=True)
class Stay:
    uid: str
    check_in: datetime
    check_out: datetime
    guest_name: str
    reservation_code: str = ""
    phone_last_digits: str = ""


@dataclass
class ParsedFeed:
    stays: list[Stay]
    blocked: int = 0
    skipped: list[str] = field(default_factory=list)  # one line per unreadable event (F2)
    # The UIDs of unreadable events: still listed, so never counted missing (F2, F3). None
    # when one had no UID: then nobody can be counted missing from this fetch.
    unreadable_uids: set[str] | None = field(default_factory=set)


@dataclass
class ImportResult:
    ok: bool
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    revived: int = 0
    blocked: int = 0
    skipped: int = 0
    held: bool = False  # a mass drop waits for the host (F3)
    errors: list[str] = field(default_factory=list)


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


class UnreadableEvent(ValueError):
    """One event of a feed cannot be read; it is skipped (SPEC F2)."""

    def __init__(self, message: str, *, uid: str = "") -> None:
        super().__init__(message)
        self.uid = uid


def _stay_from_event(event, feed: ICalFeed) -> Stay | None:
    """Read one stay; None for a blocked-dates event. Raises UnreadableEvent."""
    uid, summary = _text(event, "UID"), _text(event, "SUMMARY")
    if not uid:
        raise UnreadableEvent("an event without UID")
    if feed.source != ICalFeed.Source.BOOKING and summary.lower() in BLOCK_SUMMARIES:
        return None
    prop = feed.property
    start, end = event.get("DTSTART"), event.get("DTEND")
    try:
        if start is None:
            raise UnreadableEvent(f"{uid}: no start date", uid=uid)
        check_in = _instant(start.dt, property=prop, default_time=prop.checkin_time)
        end_day = end.dt if end is not None else start.dt + timedelta(days=1)
        check_out = _instant(end_day, property=prop, default_time=prop.checkout_time)
    except UnreadableEvent:
        raise
    except Exception as error:  # icalendar's broken properties, OverflowError at year 9999
        raise UnreadableEvent(f"{uid}: unreadable dates", uid=uid) from error
    if check_in.year > timezone.now().year + MAX_YEARS_AHEAD:
        raise UnreadableEvent(f"{uid}: dated {check_in.year}", uid=uid)
    if check_out <= check_in:
        raise UnreadableEvent(f"{uid}: ends before it starts", uid=uid)
    description = _text(event, "DESCRIPTION")
    code = RESERVATION_CODE.search(description)
    phone = PHONE_LAST_4.search(description)
    return Stay(
        uid=uid,
        check_in=check_in,
        check_out=check_out,
        guest_name=_guest_name(summary, feed.source),
        reservation_code=code.group(1) if code else "",
        phone_last_digits=phone.group(1) if phone else "",
    )


def ical_parse(*, text: str, feed: ICalFeed) -> ParsedFeed:
    """Return the stays in an export, its blocked-date events and the events it could not read.

    Raises FeedUnavailable when the text is not a calendar or holds no events at all.
    """
    try:
        calendar = Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as error:
        raise FeedUnavailable(FETCH_FAILED) from error
    events = list(calendar.walk("VEVENT"))
    if not events:
        raise FeedUnavailable("the feed lists no events")
    parsed = ParsedFeed(stays=[])
    for event in events:
        try:
            stay = _stay_from_event(event, feed)
        except UnreadableEvent as error:
            parsed.skipped.append(str(error)[:200])
            if parsed.unreadable_uids is not None:
                parsed.unreadable_uids = parsed.unreadable_uids | {error.uid} if error.uid else None
            continue
        if stay is None:
            parsed.blocked += 1
        else:
            parsed.stays.append(stay)
    return parsed


def ical_feed_create(
    *, property: Property, url: str, source: str = ICalFeed.Source.AIRBNB, enabled: bool = True
) -> ICalFeed:
    feed = ICalFeed(property=property, url=url, source=source, enabled=enabled)
    feed.full_clean()  # ICalFeed.clean refuses internal addresses (F1)
    feed.save()
    return feed


def ical_feed_update(*, feed: ICalFeed, **changes) -> ICalFeed:
    unknown = set(changes) - {"property", "url", "source", "enabled"}
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(feed, name, value)
    feed.full_clean()  # ICalFeed.clean refuses internal addresses (F1)
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
        parsed = ical_parse(text=ical_fetch(feed.url), feed=feed)
    except FeedUnavailable as error:
        feed.last_error = str(error)
        feed.save(update_fields=["last_fetched_at", "last_error", "updated_at"])
        log.warning("iCal feed %s not imported: %s", feed.pk, error)
        return ImportResult(ok=False, errors=[str(error)])

    result = ImportResult(ok=True, blocked=parsed.blocked, skipped=len(parsed.skipped))
    seen_uids = set()
    for stay in parsed.stays:
        seen_uids.add(stay.uid)
        if stay.check_out > now:  # past stays stay as they were
            _import_stay(feed=feed, stay=stay, now=now, result=result)
    if parsed.unreadable_uids is not None:  # an unreadable event cancels nothing (F2)
        _handle_missing(
            feed=feed, seen_uids=seen_uids | parsed.unreadable_uids, now=now, result=result
        )

    previous_error = feed.last_error
    skipped = [f"skipped unreadable event {line}" for line in parsed.skipped]
    feed.last_ok_at = now
    feed.last_error = "; ".join([*skipped, *result.errors])[:2000]
    feed.save(
        update_fields=["last_fetched_at", "last_ok_at", "last_error", "drop_held_at", "updated_at"]
    )
    if skipped and "; ".join(skipped)[:2000] not in previous_error:
        _alert_host(
            feed,
            subject=f"{len(skipped)} event(s) of the {feed} could not be read",
            body=(
                "locksync imported the rest of the feed and skipped these events:\n"
                + "\n".join(parsed.skipped)
                + "\n\nIf one of them is a booking, add it by hand or fix it on the channel."
            ),
            link=reverse("property_detail", args=[feed.property_id]),
        )
    return result


def _import_stay(*, feed: ICalFeed, stay: Stay, now: datetime, result: ImportResult) -> None:
    host = feed.property.host
    external_id = _external_id(feed, stay.uid)
    known = Reservation.objects.filter(host=host, external_id=external_id).first()
    revive = False
    if known is not None and known.status == Reservation.Status.CANCELLED:
        # Only a stay this feed cancelled comes back, and only before its check-in (F3); a
        # stay the host cancelled stays cancelled.
        seen = ICalSeen.objects.filter(feed=feed, uid=stay.uid).first()
        if seen is None or seen.cancelled_by_feed_at is None or stay.check_in <= now:
            return
        revive = True
    # A feed carries no email or full phone, and often no name: keep what the host added
    # in the dashboard or API rather than wiping it every 15 minutes.
    guest_name = stay.guest_name
    if known is not None and guest_name in GUEST_NAME_FALLBACK.values():
        guest_name = known.guest_name
    try:
        # One savepoint per stay: a stay the engine refuses does not undo the others.
        with transaction.atomic():
            if revive:
                reservation_accept(reservation=known)
            reservation, created = reservation_upsert(
                host=host,
                external_id=external_id,
                property=feed.property,
                guest_name=guest_name,
                check_in=stay.check_in,
                check_out=stay.check_out,
                reservation_code=stay.reservation_code or (known.reservation_code if known else ""),
                guest_phone=known.guest_phone if known else "",
                guest_phone_last_digits=stay.phone_last_digits
                or (known.guest_phone_last_digits if known else ""),
                guest_email=known.guest_email if known else "",
                source=SOURCE_FOR_FEED[feed.source],
            )
    except ValidationError as error:
        result.errors.append(f"{stay.uid}: {' '.join(error.messages)}")
        return
    if created:
        result.created += 1
    elif revive:
        result.revived += 1
    elif reservation.updated_at >= now:
        result.updated += 1
    ICalSeen.objects.update_or_create(
        feed=feed,
        uid=stay.uid,
        defaults={
            "reservation": reservation,
            "missing_fetches": 0,
            "first_missing_at": None,
            "cancelled_by_feed_at": None,
            "last_seen_at": now,
        },
    )


def _handle_missing(
    *, feed: ICalFeed, seen_uids: set[str], now: datetime, result: ImportResult
) -> None:
    """Count upcoming stays the fetch no longer lists; cancel those gone long enough (F3)."""
    upcoming = list(
        ICalSeen.objects.filter(
            feed=feed,
            reservation__status=Reservation.Status.ACCEPTED,
            reservation__check_in__gt=now,
        ).select_related("reservation")
    )
    missing = [seen for seen in upcoming if seen.uid not in seen_uids]
    for seen in missing:
        seen.missing_fetches = min(seen.missing_fetches + 1, 1000)
        seen.first_missing_at = seen.first_missing_at or now
        seen.save(update_fields=["missing_fetches", "first_missing_at", "updated_at"])
    if missing and (len(missing) == len(upcoming) or 2 * len(missing) > len(upcoming)):
        # An export that suddenly lacks most stays is more likely broken than a run of
        # cancellations: nothing is cancelled until the host confirms.
        result.held = True
        if feed.drop_held_at is None:
            feed.drop_held_at = now
            _alert_host(
                feed,
                subject=f"The {feed} no longer lists {len(missing)} upcoming stay(s)",
                body=(
                    f"The latest fetch lists {len(upcoming) - len(missing)} of the "
                    f"{len(upcoming)} upcoming stays locksync imported from it. Nothing was "
                    "cancelled. If these bookings really were cancelled, confirm it; if the "
                    "channel's export is broken, they stay as they are."
                ),
                link=reverse("ical_feed_confirm_drop", args=[feed.pk]),
            )
        return
    feed.drop_held_at = None
    for seen in missing:
        gone_long_enough = now - seen.first_missing_at >= MISSING_FOR_AT_LEAST
        if seen.missing_fetches >= MISSING_FETCHES_TO_CANCEL and gone_long_enough:
            _cancel_by_feed(seen=seen, now=now)
            result.cancelled += 1


def _cancel_by_feed(*, seen: ICalSeen, now: datetime) -> None:
    reservation_cancel(reservation=seen.reservation)
    seen.cancelled_by_feed_at = now
    seen.save(update_fields=["cancelled_by_feed_at", "updated_at"])


def _missing_upcoming(feed: ICalFeed):
    return ICalSeen.objects.filter(
        feed=feed,
        missing_fetches__gt=0,
        reservation__status=Reservation.Status.ACCEPTED,
        reservation__check_in__gt=timezone.now(),
    ).select_related("reservation")


def ical_feed_missing_stays(*, feed: ICalFeed) -> list[Reservation]:
    """The upcoming stays the feed's latest good fetch no longer listed."""
    return [seen.reservation for seen in _missing_upcoming(feed)]


@transaction.atomic
def ical_feed_drop_confirm(*, feed: ICalFeed) -> int:
    """The host confirms the stays a feed dropped were cancelled: cancel them now (F3)."""
    now = timezone.now()
    cancelled = 0
    for seen in _missing_upcoming(feed):
        _cancel_by_feed(seen=seen, now=now)
        cancelled += 1
    feed.drop_held_at = None
    feed.save(update_fields=["drop_held_at", "updated_at"])
    return cancelled


def _alert_host(feed: ICalFeed, *, subject: str, body: str, link: str) -> None:
    from messaging.models import HostAlert
    from messaging.services import host_alert_raise

    host_alert_raise(
        host=feed.property.host,
        kind=HostAlert.Kind.FEED_PROBLEM,
        subject=subject,
        body=body,
        link=link,
    )
