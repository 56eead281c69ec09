"""How codes, stays and times read to a host or a support agent (SPEC V4, V5).

Pure presentation: nothing here writes. Times are shown in the property's zone with the zone
named; failure reasons read as sentences; each lock code gets one honest state for the panel.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.dateformat import format as date_format

REASON_SENTENCES = {
    "lock_offline": "the lock was offline",
    "account_disconnected": "the lock app account is disconnected",
    "lock_full": "the lock has no room for more codes",
    "duplicate_code": "the lock already holds this PIN",
    "duplicate_name": "the lock already holds a code with this name",
    "rejected": "the lock service refused the code without saying why",
    "rate_limited": "the lock service asked us to slow down",
    "vendor_error": "the lock service answered with an error",
    "timeout": "the lock service did not answer in time",
}

EVENT_WORDS = {
    "sending": "code sent to the lock",
    "updating": "update sent to the lock",
    "set": "confirmed on the lock",
    "failed": "attempt failed",
    "removing": "removal sent to the lock",
    "removed": "removed from the lock",
    "dropped": "dropped before it was sent",
    "removal_scheduled": "removal scheduled",
    "retry_requested": "retry requested",
    "gave_up": "stopped retrying",
}

STAY_PHASES = {
    "upcoming": "Upcoming stay",
    "in_stay": "Guest staying now",
    "past": "Past stay",
    "cancelled": "Cancelled stay",
    "inquiry": "Inquiry (not accepted)",
}

DEFAULT_FORMAT = "D j M Y, H:i"


def zone_of(where) -> zoneinfo.ZoneInfo:
    """A ZoneInfo from a property, a zone name or a ZoneInfo."""
    if isinstance(where, zoneinfo.ZoneInfo):
        return where
    name = getattr(where, "time_zone", where) or "UTC"
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_time(value: datetime | None, where, fmt: str = DEFAULT_FORMAT) -> str:
    """`Sat 14 Mar 2026, 10:00 (Europe/Lisbon)`: an instant as the property's wall clock."""
    if value is None:
        return "—"
    zone = zone_of(where)
    return f"{date_format(value.astimezone(zone), fmt)} ({zone.key})"


def local_time_short(value: datetime | None, where) -> str:
    """`Sat 14 Mar, 10:00 WET`: the compact form, the zone abbreviated (lists, the panel)."""
    if value is None:
        return "—"
    return date_format(value.astimezone(zone_of(where)), "D j M, H:i T")


def reason_sentence(reason: str | None) -> str:
    """`lock_offline: simulated failure` → `the lock was offline (simulated failure)`."""
    if not reason:
        return ""
    key, _, detail = str(reason).partition(":")
    sentence = REASON_SENTENCES.get(key.strip())
    if sentence is None:
        return str(reason).replace("_", " ")
    detail = detail.strip()
    return f"{sentence} ({detail})" if detail else sentence


def event_words(kind: str) -> str:
    return EVENT_WORDS.get(kind, str(kind).replace("_", " "))


def stay_phase(reservation, now: datetime | None = None) -> str:
    """upcoming, in_stay, past, cancelled or inquiry: what a host needs to tell apart (V4)."""
    now = now or timezone.now()
    if reservation.status == "cancelled":
        return "cancelled"
    if reservation.status == "inquiry":
        return "inquiry"
    if reservation.check_out <= now:
        return "past"
    if reservation.check_in <= now:
        return "in_stay"
    return "upcoming"


@dataclass(frozen=True)
class CodeView:
    """One lock code as the panel shows it."""

    key: str  # scheduled, waiting, sending, set, failing, leaving, removed
    label: str
    tone: str  # ok, warn, bad, muted
    can_retry: bool
    in_flight: bool


def lock_code_view(lock_code, where, now: datetime | None = None) -> CodeView:
    """The honest state of a code on one lock (SPEC V1, V4), times in the property's zone."""
    now = now or timezone.now()
    state = lock_code.state
    # A cancelled or ended stay's code is on its way off the lock, whatever its last state.
    retiring = (
        lock_code.access_code.cancelled_at is not None or lock_code.access_code.ends_at <= now
    )

    def at(value):
        return local_time_short(value, where)

    irrevocable = _irrevocable_view(lock_code, where, now, retiring)
    if irrevocable is not None:
        return irrevocable
    if state == "removed":
        when = f" on {at(lock_code.removed_at)}" if lock_code.removed_at else ""
        return CodeView("removed", f"removed from the lock{when}", "muted", False, False)
    if state == "removing" or (retiring and lock_code.delete_after):
        when = lock_code.delete_after
        label = f"leaves the lock {at(when)}" if when and when > now else "being removed"
        return CodeView("leaving", label, "muted", False, state == "removing")
    if state == "failed":
        label = f"failing: {reason_sentence(lock_code.last_error) or 'the lock refused it'}"
        # Due now ("Retry now", or the sweep's turn): a worker is about to send it, so the
        # panel polls until the outcome shows (SPEC V4).
        due_now = bool(lock_code.next_attempt_at and lock_code.next_attempt_at <= now)
        if due_now:
            label += "; trying again now"
        elif lock_code.next_attempt_at:
            label += f"; next attempt {at(lock_code.next_attempt_at)}"
        return CodeView("failing", label, "bad", True, due_now)
    if state == "waiting_for_space":
        return CodeView("waiting", "waiting for space on the lock", "warn", True, False)
    if state == "setting":
        return CodeView("sending", "sending to the lock", "warn", False, True)
    if state == "set":
        how = lock_code.get_confirmation_display() or "confirmed"
        when = f", {at(lock_code.set_at)}" if lock_code.set_at else ""
        label = f"set ({how}{when})"
        if not lock_code.in_sync:
            label += " — updating"
        return CodeView("set", label, "ok", False, not lock_code.in_sync)
    due = lock_code.next_attempt_at
    label = f"scheduled for {at(due)}" if due else "scheduled"
    return CodeView("scheduled", label, "muted", False, bool(due and due <= now))


def _irrevocable_view(lock_code, where, now: datetime, retiring: bool) -> CodeView | None:
    """A code issued on a lock that can never change or delete it (igloohome algoPIN): it is
    an offline code, never read back, and it keeps working until its end (SPEC S7, C3, V4)."""
    if not _issued_for_good(lock_code):
        return None
    ends_at = lock_code.window_ends_at
    if retiring and ends_at is not None:
        if ends_at <= now:
            return CodeView(
                "removed", f"expired on {local_time(ends_at, where)}", "muted", False, False
            )
        label = f"offline code: keeps working until {local_time(ends_at, where)}"
        return CodeView("leaving", label, "warn", False, False)
    if lock_code.state != "set":
        return None
    label = f"offline code issued, {local_time_short(lock_code.set_at, where)}"
    if not lock_code.in_sync:
        label += " — updating"
    return CodeView("set", label, "ok", False, not lock_code.in_sync)


# The panel's order of codes: what needs the host first (issue #24 wall 5, SPEC V6).
PANEL_ORDER = {
    "failing": 0,
    "waiting": 1,
    "sending": 2,
    "scheduled": 3,
    "set": 4,
    "leaving": 5,
    "removed": 6,
}


def access_panel(*, reservation, access: dict, now: datetime | None = None) -> dict:
    """What the Property Access panel shows: the stay's phase, each code's honest state,
    whether the PIN may be copied, and whether something is in flight (poll while it is)."""
    now = now or timezone.now()
    phase = stay_phase(reservation, now)
    for lock_code in access["lock_codes"]:
        lock_code.view = lock_code_view(lock_code, reservation.property, now)
    live = [lc for lc in access["lock_codes"] if lc.view.key not in ("removed", "leaving")]
    # What needs the host comes first: failing, then not yet confirmed, then done (V6).
    lock_codes = sorted(access["lock_codes"], key=lambda lc: PANEL_ORDER.get(lc.view.key, 9))
    return {
        **access,
        "lock_codes": lock_codes,
        "phase": phase,
        "phase_label": STAY_PHASES[phase],
        "can_copy": phase in ("upcoming", "in_stay") and bool(live),
        "in_flight": any(lc.view.in_flight for lc in access["lock_codes"]),
    }


def code_summary(reservation, now: datetime | None = None) -> tuple[str, str, str]:
    """One line on the stay's codes for the lists: text, tone, and state key (for colour)."""
    now = now or timezone.now()
    phase = stay_phase(reservation, now)
    if phase == "inquiry":
        return "no code until the stay is accepted", "muted", "none"
    access_code = getattr(reservation, "access_code", None)
    lock_codes = list(access_code.lock_codes.all()) if access_code else []
    if phase == "cancelled":
        return _cancelled_summary(lock_codes, reservation.property, now)
    if not lock_codes and phase == "past":
        # Its codes' rows may be gone with the stay over: nothing is on a lock any more, which
        # says nothing about whether a lock was matched (issue #24).
        return "stay over: no code on a lock", "muted", "removed"
    if not lock_codes:
        return "no lock matched", "muted", "none"
    views = [lock_code_view(lc, reservation.property, now) for lc in lock_codes]
    keys = [view.key for view in views]
    if all(key in ("removed", "leaving") for key in keys):
        return f"removed from {len(keys)} lock{'s' if len(keys) > 1 else ''}", "muted", "removed"
    failing = [lc.lock.name for lc, key in zip(lock_codes, keys, strict=True) if key == "failing"]
    if failing:
        return "failing on " + ", ".join(failing), "bad", "failing"
    live = [key for key in keys if key not in ("removed", "leaving")]
    set_count = live.count("set")
    of = f"{set_count} of {len(live)} lock{'s' if len(live) > 1 else ''}"
    if set_count == len(live):
        return f"set on {of}", "ok", "set"
    if "sending" in live:
        return f"sending (set on {of})", "warn", "sending"
    if "waiting" in live:
        return "waiting for space", "warn", "waiting"
    return f"scheduled (set on {of})", "muted", "scheduled"


def works_until(lock_code, now: datetime) -> datetime | None:
    """When a code the lock can never delete (igloohome algoPIN) stops working, while it still
    works; None for any other code (SPEC C3, D1)."""
    ends_at = lock_code.window_ends_at
    if not _issued_for_good(lock_code) or ends_at is None:
        return None
    return ends_at if ends_at > now else None


def _issued_for_good(lock_code) -> bool:
    """Issued on a lock that can never change or delete it (igloohome algoPIN)."""
    return (
        not lock_code.lock.capability_record.can_delete_codes
        and lock_code.set_at is not None
        and lock_code.state in ("set", "removing", "removed")
    )


def _cancelled_summary(lock_codes, where, now: datetime) -> tuple[str, str, str]:
    """A cancelled stay's codes leave the locks, except a code no lock can remove (C3, V4)."""
    ends = [until for until in (works_until(lc, now) for lc in lock_codes) if until]
    if not ends:
        return "cancelled: codes leave the locks", "muted", "removed"
    text = f"cancelled: the code keeps working until {local_time_short(max(ends), where)}"
    if len(ends) < len(lock_codes):
        text += "; codes leave the other locks"
    return text, "warn", "leaving"
