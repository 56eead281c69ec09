"""A stay's timeline: the whole plan for its codes and messages, before it happens (issue #25).

Every moment comes from the function the engine, the sender or the stay checks use to decide
it (`send_time`, `window_for_lock`, `removal_time`, a scheduled message's `send_after`, a stay
check's `due_at`), so the plan cannot disagree with what will happen. Past steps show what did
happen. Times are in the property's zone for the page; the API gives them as ISO datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accesscodes.engine.provisioning import NOT_ON_LOCK
from accesscodes.engine.windows import removal_time, send_time, window_for_lock
from accesscodes.models import LockCode
from guests.models import StayCheck
from messaging.models import ScheduledMessage
from messaging.rendering import needs_code
from reservations.models import Reservation

CHECK_WORDS: dict[str, str] = {
    StayCheck.Kind.BEFORE_24H: "Pre-arrival check (24 hours before): every lock is read; a "
    "code not confirmed is written again, and if it still is not, the guest gets a backup "
    "code and you are told",
    StayCheck.Kind.BEFORE_2H: "Last pre-arrival check (2 hours before): as the one before",
    StayCheck.Kind.NOT_ARRIVED: "Arrival check: you are told if no entry was recorded",
}


# Steps at the same moment read in this order (a write before its confirmation).
KIND_ORDER = [
    "write",
    "confirm",
    "works_from",
    "check_in",
    "message",
    "check",
    "check_out",
    "works_until",
    "remove",
]


@dataclass(frozen=True)
class Step:
    at: datetime | None  # None: it waits on something else (a retry, the lock's answer)
    kind: str  # write, confirm, works_from, works_until, remove, message, check, check_in ...
    what: str
    done: bool
    lock: str = ""

    def as_dict(self) -> dict:
        return {
            "at": self.at.isoformat() if self.at else None,
            "kind": self.kind,
            "what": self.what,
            "done": self.done,
            "lock": self.lock,
        }


def stay_timeline(*, reservation: Reservation, now: datetime | None = None) -> list[Step]:
    """The stay's steps in time order: its own times, each lock's code, messages, checks."""
    now = now or timezone.now()
    steps = [
        Step(reservation.check_in, "check_in", "The guest's check-in", reservation.check_in <= now),
        Step(reservation.check_out, "check_out", "Checkout", reservation.check_out <= now),
    ]
    access_code = getattr(reservation, "access_code", None)
    if access_code is not None:
        lock_codes = access_code.lock_codes.select_related("lock__connection", "access_code")
        for lock_code in lock_codes.order_by("lock__name", "id"):
            steps += _lock_steps(lock_code, now)
    steps += _message_steps(reservation)
    steps += [
        Step(
            check.due_at,
            "check",
            CHECK_WORDS.get(check.kind, check.get_kind_display()),
            check.state == StayCheck.State.DONE,
        )
        for check in reservation.stay_checks.all()
    ]
    return sorted(steps, key=lambda step: (step.at is None, step.at or now, _order(step.kind)))


def _order(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def _lock_steps(lock_code: LockCode, now: datetime) -> list[Step]:
    lock = lock_code.lock.name
    pin = lock_code.pin or lock_code.access_code.pin
    if lock_code.state == LockCode.State.REMOVED:
        return [Step(lock_code.removed_at, "remove", f"Code removed from {lock}", True, lock)]
    steps = []
    starts_at, ends_at = window_for_lock(lock_code)
    if lock_code.state in NOT_ON_LOCK:
        at = lock_code.next_attempt_at if lock_code.state == LockCode.State.FAILED else None
        at = at or send_time(lock_code, now)
        steps.append(Step(at, "write", f"PIN {pin} is written to {lock}", False, lock))
        what = f"Confirmed when {lock} shows it (read back within minutes of the write)"
        steps.append(Step(at, "confirm", what, False, lock))
    elif lock_code.state == LockCode.State.SETTING:
        steps.append(
            Step(lock_code.last_attempt_at, "write", f"PIN {pin} written to {lock}", True, lock)
        )
        steps.append(
            Step(lock_code.next_attempt_at, "confirm", f"{lock} is read back", False, lock)
        )
    else:
        steps.append(Step(lock_code.set_at, "confirm", f"PIN {pin} is on {lock}", True, lock))
    if starts_at is not None and ends_at is not None:
        steps.append(Step(starts_at, "works_from", f"Works on {lock} from", starts_at <= now, lock))
        steps.append(Step(ends_at, "works_until", f"Stops working on {lock}", ends_at <= now, lock))
    else:
        steps.append(Step(None, "works_from", f"{lock} holds only permanent codes", True, lock))
    removal = lock_code.delete_after or removal_time(lock_code)
    if lock_code.state == LockCode.State.REMOVING and removal <= now:
        what = f"Code being removed from {lock}; done when the lock no longer lists it"
        steps.append(Step(lock_code.next_attempt_at, "remove", what, False, lock))
    else:
        steps.append(Step(removal, "remove", f"Code removed from {lock}", False, lock))
    return steps


def _message_steps(reservation: Reservation) -> list[Step]:
    steps = []
    scheduled = ScheduledMessage.objects.filter(reservation=reservation).select_related("rule")
    for message in scheduled.exclude(state=ScheduledMessage.State.CANCELLED):
        title = message.rule.name if message.rule else message.get_kind_display()
        carries = message.rule is not None and needs_code(message.rule.body)
        what = f'Message "{title}"' + (" with the code" if carries else "")
        if message.rule is not None:
            what += f" by {message.rule.get_channel_display()}"
        sent = message.state == ScheduledMessage.State.SENT
        if message.state in (ScheduledMessage.State.HELD, ScheduledMessage.State.SKIPPED):
            what += f" ({message.get_state_display()}: {message.held_reason or 'not sent'})"
        steps.append(Step(message.sent_at if sent else message.send_after, "message", what, sent))
    return steps
