"""Shortcodes (SPEC G2) and rendering at send time (G3, H4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.utils import translation
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.translation import gettext

from accesscodes.selectors import GuestLockCode, guest_lock_codes
from reservations.models import Reservation

SHORTCODE = re.compile(r"%([A-Za-z0-9_]+)%")
SHORTCODES = (
    "guest_name",
    "guest_first_name",
    "property_name",
    "checkin_date",
    "checkin_time",
    "checkout_date",
    "checkout_time",
    "reservation_code",
    "smartlock_code",
    "guest_link",  # SPEC K1: the stay's private guest page
)
CODE_SHORTCODE = "%smartlock_code%"


def unknown_shortcodes(text: str) -> list[str]:
    """Return the %…% words in the text that are not shortcodes, in order, once each."""
    found = []
    for name in SHORTCODE.findall(text):
        if name not in SHORTCODES and f"%{name}%" not in found:
            found.append(f"%{name}%")
    return found


def needs_code(text: str) -> bool:
    return CODE_SHORTCODE in text


class CodeMissing(Exception):
    """The text needs the guest's code and the reservation has none yet (SPEC G4)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    included_code: bool


# Dates a guest reads (messages, their page) take the active language's own Django formats with
# the weekday in front: "Montag, 9. März 2026", "lundi 9 mars 2026", "lunes, 9 de marzo de 2026".
# English keeps the form locksync has always sent: "Monday 9 March 2026", a 24-hour clock.
ENGLISH_FORMATS = {"DATE_FORMAT": "j F Y", "MONTH_DAY_FORMAT": "j F", "TIME_FORMAT": "H:i"}
WEEKDAY_THEN_COMMA = {"de", "es", "pt"}


def _language() -> str:
    return (translation.get_language() or "en").split("-")[0]


def _guest_format(name: str) -> str:
    return ENGLISH_FORMATS[name] if _language() == "en" else get_format(name)


def guest_date(moment: datetime, *, year: bool = True) -> str:
    """The date of a wall-clock time (already in the property's zone) in the active language."""
    weekday = "l, " if _language() in WEEKDAY_THEN_COMMA else "l "
    return date_format(
        moment, weekday + _guest_format("DATE_FORMAT" if year else "MONTH_DAY_FORMAT")
    )


def guest_time(moment: datetime) -> str:
    """The time of day of a wall-clock time in the active language (24-hour in all six)."""
    return date_format(moment, _guest_format("TIME_FORMAT"))


def guest_language(reservation: Reservation) -> str:
    """What the guest's messages are written in: the stay's language, else English (K4)."""
    return reservation.language or "en"


def first_use_note(row: GuestLockCode, reservation: Reservation) -> str:
    """On a lock whose long codes must be entered within a day of their start (igloohome
    algoPIN), when the guest must first use it, in the property's time (vendors/README §4)."""
    lock_code = row.lock_code
    if row.backup is not None or not (lock_code.window_starts_at and lock_code.window_ends_at):
        return ""
    deadline = row.lock.capability_record.first_use_deadline(
        lock_code.window_starts_at, lock_code.window_ends_at
    )
    if deadline is None:
        return ""
    local = deadline.astimezone(reservation.property.zone)
    when = f"{guest_date(local)} {guest_time(local)}"
    return " " + gettext("(enter it for the first time by %(when)s, or it stops working)") % {
        "when": when
    }


def smartlock_code_text(*, reservation: Reservation) -> str:
    """The guest's code; one "lock name: code" line per lock when the locks differ (G3, H4),
    with a lock's first-use deadline where it has one."""
    rows = [row for row in guest_lock_codes(reservation=reservation) if row.code]
    if not rows:
        return ""
    notes = [first_use_note(row, reservation) for row in rows]
    if len({row.code for row in rows}) == 1 and not any(notes):
        return rows[0].code
    if len(rows) == 1:
        return rows[0].code + notes[0]
    return "\n".join(
        f"{row.lock.name}: {row.code}{note}" for row, note in zip(rows, notes, strict=True)
    )


def preview_guest_link() -> str:
    """What a preview shows for %guest_link%: a placeholder that opens no stay (SPEC §3)."""
    from django.conf import settings

    return f"{settings.SITE_URL.rstrip('/')}/g/preview/"


def render(*, reservation: Reservation, subject: str, body: str, preview: bool = False) -> Rendered:
    """Fill in the shortcodes with what is true now, dates in the guest's language and the
    property's time. A preview issues no guest link. Raises CodeMissing (G4)."""
    with translation.override(guest_language(reservation)):
        return _render(reservation=reservation, subject=subject, body=body, preview=preview)


def _render(*, reservation: Reservation, subject: str, body: str, preview: bool) -> Rendered:
    prop = reservation.property
    check_in = reservation.check_in.astimezone(prop.zone)
    check_out = reservation.check_out.astimezone(prop.zone)
    values = {
        "guest_name": reservation.guest_name,
        "guest_first_name": reservation.guest_first_name(),
        "property_name": prop.name,
        "checkin_date": guest_date(check_in),
        "checkin_time": guest_time(check_in),
        "checkout_date": guest_date(check_out),
        "checkout_time": guest_time(check_out),
        "reservation_code": reservation.reservation_code,
    }
    if preview:
        values["guest_link"] = preview_guest_link()
    elif "%guest_link%" in subject or "%guest_link%" in body:
        from guests.services import guest_link_issue

        values["guest_link"] = guest_link_issue(reservation=reservation)
    included_code = needs_code(subject) or needs_code(body)
    if included_code:
        code = smartlock_code_text(reservation=reservation)
        if not code:
            raise CodeMissing("the guest has no door code yet")
        values["smartlock_code"] = code

    def fill(text: str) -> str:
        return SHORTCODE.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    return Rendered(subject=fill(subject), body=fill(body), included_code=included_code)
