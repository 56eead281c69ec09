"""The property calendar: weeks across, one row per lock, a bar per stay's code window.

Reads only. One bounded query for the visible range (the access-code window index), so the
page stays fast however many stays a host has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accesscodes.models import LockCode
from accesscodes.presentation import local_time, lock_code_view
from integrations.models import Lock
from properties.models import Property

MAX_WEEKS = 8
MAX_BARS = 3000
DELETE_GRACE = timedelta(hours=24)
# The code states the calendar colours; "leaving" (cancelled or ended, not yet deleted) reads
# as removed there.
BAR_STATES = {"leaving": "removed"}


@dataclass
class Bar:
    label: str
    state: str
    url_pk: int
    left: float
    width: float
    buffer_before: tuple[float, float] | None
    buffer_after: tuple[float, float] | None
    starts: datetime
    ends: datetime
    lane: int = 0
    overlap: bool = False


@dataclass
class LockRow:
    lock: Lock
    bars: list[Bar] = field(default_factory=list)
    lanes: int = 1


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _percent(moment: datetime, start: datetime, total: float) -> float:
    return max(0.0, min(100.0, (moment - start).total_seconds() / total * 100))


def _span(a: datetime, b: datetime, start: datetime, end: datetime, total: float):
    if b <= start or a >= end or a >= b:
        return None
    left = _percent(a, start, total)
    return left, _percent(b, start, total) - left


def _lay_out(bars: list[Bar]) -> int:
    """Put overlapping stays on separate lanes and mark them, so overlaps are seen."""
    lane_ends: list[datetime] = []
    for bar in sorted(bars, key=lambda bar: bar.starts):
        for other in bars:
            if other is not bar and other.starts < bar.ends and bar.starts < other.ends:
                bar.overlap = True
        for lane, lane_end in enumerate(lane_ends):
            if lane_end <= bar.starts:
                bar.lane, lane_ends[lane] = lane, bar.ends
                break
        else:
            bar.lane = len(lane_ends)
            lane_ends.append(bar.ends)
    return max(1, len(lane_ends))


def property_calendar(*, property: Property, first_day: date, weeks: int, now=None) -> dict:
    """The rows, bars, day headings and today's mark for `weeks` weeks from `first_day`."""
    now = now or timezone.now()
    zone = property.zone
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(first_day + timedelta(days=7 * weeks), datetime.min.time(), tzinfo=zone)
    total = (end - start).total_seconds()
    locks = list(
        Lock.objects.filter(matches__property=property, connection__host_id=property.host_id)
        .distinct()
        .order_by("name", "id")
    )
    rows = {lock.pk: LockRow(lock) for lock in locks}
    lock_codes = (
        LockCode.objects.filter(
            lock__in=locks,
            access_code__reservation__property=property,
            access_code__starts_at__lt=end,
            access_code__ends_at__gt=start,
        )
        .select_related("access_code__reservation", "lock")
        .order_by("access_code__starts_at", "id")[:MAX_BARS]
    )
    for lock_code in lock_codes:
        reservation = lock_code.access_code.reservation
        window = (lock_code.access_code.starts_at, lock_code.access_code.ends_at)
        stay = _span(reservation.check_in, reservation.check_out, start, end, total)
        if stay is None:
            stay = _span(*window, start, end, total)
        if stay is None:
            continue
        view = lock_code_view(lock_code, property, now)
        state = "removed" if reservation.status == "cancelled" else view.key
        state = BAR_STATES.get(state, state)
        label = (
            f"{reservation.guest_name}: {local_time(reservation.check_in, property, 'D j M H:i')}"
            f" – {local_time(reservation.check_out, property, 'D j M H:i')}, "
            f"code on {lock_code.lock.name}: {view.label}"
        )
        rows[lock_code.lock_id].bars.append(
            Bar(
                label=label,
                state=state,
                url_pk=reservation.pk,
                left=stay[0],
                width=max(stay[1], 0.6),
                buffer_before=_span(window[0], reservation.check_in, start, end, total),
                buffer_after=_span(reservation.check_out, window[1], start, end, total),
                starts=reservation.check_in,
                ends=reservation.check_out,
            )
        )
    for row in rows.values():
        row.lanes = _lay_out(row.bars)
    days = [first_day + timedelta(days=n) for n in range(7 * weeks)]
    today = _percent(now, start, total) if start <= now < end else None
    return {"rows": list(rows.values()), "days": days, "today": today, "start": start}


def lock_capacity_weeks(*, lock: Lock, weeks: int = 6, now=None) -> list[dict]:
    """Per coming week: our codes that will be on the lock (window plus the 24 h before they
    are deleted), the others already on it, and its capacity (SPEC D3, S8)."""
    now = now or timezone.now()
    ours_now = (
        LockCode.objects.filter(lock=lock)
        .exclude(state=LockCode.State.REMOVED)
        .exclude(vendor_code_id="")
        .count()
    )
    others = max(0, lock.code_count - ours_now)
    week_one = datetime.combine(week_start(now.date()), datetime.min.time(), tzinfo=now.tzinfo)
    live = LockCode.objects.filter(lock=lock).exclude(state=LockCode.State.REMOVED)
    result = []
    for n in range(weeks):
        begins, ends = week_one + timedelta(weeks=n), week_one + timedelta(weeks=n + 1)
        # A code holds its slot from its window's start until it is deleted: at delete_after
        # where that is known (a cancelled stay's), else 24 h after the window (SPEC D1).
        ours = (
            live.filter(access_code__starts_at__lt=ends)
            .filter(
                Q(delete_after__gt=begins)
                | Q(delete_after__isnull=True, access_code__ends_at__gt=begins - DELETE_GRACE)
            )
            .count()
        )
        capacity = lock.capacity or 0
        result.append(
            {
                "week": begins.date(),
                "ours": ours,
                "others": others,
                "capacity": capacity,
                "full": bool(capacity) and ours + others >= capacity,
            }
        )
    return result
