"""Pre-arrival checks in the property's own time (SPEC H6) and "not arrived" notices (K5).

Each stay gets a StayCheck row per check with its due time, written when its access code is
saved; the minute job reads only due rows through the `staycheck_due` partial index, so the
work per minute is the number of checks due, not the number of stays.

"24 hours before" means the same wall-clock time the day before in the property's zone, so a
16:00 Berlin check-in is checked at 16:00 Berlin the day before, also across a DST change
(when that is 23 or 25 hours earlier). "2 hours before" is two hours of elapsed time.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import AccessCode, LockCode
from guests import engine_adapter
from guests.models import Arrival, StayCheck
from guests.services import guest_settings_get
from messaging.models import HostAlert
from messaging.services import host_alert_raise
from properties.models import Host
from properties.selectors import smart_lock_settings_effective
from reservations.models import Reservation

BATCH_SIZE = 100
MAX_ATTEMPTS = 3
# A claimed check is pushed this far ahead; a worker killed mid-check leaves it due again.
CLAIM_LEASE = timedelta(minutes=10)
BEFORE_2H = timedelta(hours=2)
PRE_ARRIVAL = (StayCheck.Kind.BEFORE_24H, StayCheck.Kind.BEFORE_2H)
log = logging.getLogger(__name__)


def check_due_time(*, kind: str, reservation: Reservation, starts_at: datetime) -> datetime | None:
    """When a check of the stay is due; None when the host does not want it."""
    prop = reservation.property
    if kind == StayCheck.Kind.BEFORE_24H:
        local = starts_at.astimezone(prop.zone)
        return prop.local_datetime(local.date() - timedelta(days=1), local.time())
    if kind == StayCheck.Kind.BEFORE_2H:
        return starts_at - BEFORE_2H
    hours = guest_settings_get(host=reservation.host).not_arrived_after_hours
    if not hours:
        return None
    return reservation.check_in + timedelta(hours=hours)


def stay_checks_schedule(*, access_code: AccessCode, now: datetime | None = None) -> None:
    """Write or move the stay's check rows after its access window was (re)computed."""
    now = now or timezone.now()
    reservation = access_code.reservation
    for kind in StayCheck.Kind.values:
        due = check_due_time(kind=kind, reservation=reservation, starts_at=access_code.starts_at)
        existing = StayCheck.objects.filter(reservation=reservation, kind=kind).first()
        if existing is not None and existing.scheduled_for == due:
            continue
        if due is None:
            StayCheck.objects.filter(
                reservation=reservation, kind=kind, state=StayCheck.State.PENDING
            ).delete()
            continue
        # A check whose moment passed before the stay was booked or moved is not run late: a
        # booking made 20 hours ahead gets its 2-hour check, not a 24-hour one at once.
        late = due < now
        StayCheck.objects.update_or_create(
            reservation=reservation,
            kind=kind,
            defaults={
                "scheduled_for": due,
                "due_at": due,
                "state": StayCheck.State.DONE if late else StayCheck.State.PENDING,
                "result": StayCheck.Result.NOT_NEEDED if late else "",
                "detail": "booked or moved after this check's time" if late else "",
                "finished_at": now if late else None,
            },
        )


def stay_checks_reschedule_host(*, host: Host, now: datetime | None = None) -> int:
    """Recompute the checks of the host's stays that have not ended (after a settings change)."""
    now = now or timezone.now()
    access_codes = AccessCode.objects.filter(
        reservation__host=host, ends_at__gt=now, cancelled_at__isnull=True
    ).select_related("reservation__property", "reservation__host")
    count = 0
    for access_code in access_codes.iterator(chunk_size=500):
        stay_checks_schedule(access_code=access_code, now=now)
        count += 1
    return count


# --- the job ---------------------------------------------------------------------------------


def stay_checks_due_ids(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> list[int]:
    """Ids of due checks, oldest first: the selection the `staycheck_due` index serves."""
    now = now or timezone.now()
    return list(
        StayCheck.objects.filter(state=StayCheck.State.PENDING, due_at__lte=now)
        .order_by("due_at")
        .values_list("id", flat=True)[:limit]
    )


def stay_check_claim(*, check_id: int, now: datetime) -> bool:
    """Take a due check; a second worker finds it no longer due and leaves it."""
    return bool(
        StayCheck.objects.filter(
            pk=check_id, state=StayCheck.State.PENDING, due_at__lte=now
        ).update(due_at=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    )


def stay_checks_run_due(*, now: datetime | None = None) -> int:
    """Run the due checks, one batch; hosts get one digest for the codes still failing."""
    now = now or timezone.now()
    digest: dict[int, list[str]] = defaultdict(list)
    done = 0
    for check_id in stay_checks_due_ids(now=now):
        if not stay_check_claim(check_id=check_id, now=now):
            continue
        check = StayCheck.objects.select_related("reservation__property", "reservation__host").get(
            pk=check_id
        )
        try:
            result, detail, lines = stay_check_run(check=check, now=now)
        except Exception:
            # One stay's trouble must not stop the others; the claim's lease brings the
            # check back, and after MAX_ATTEMPTS it is closed with what happened.
            log.exception("stay check %s failed", check_id)
            if check.attempts < MAX_ATTEMPTS:
                continue
            result, detail, lines = StayCheck.Result.NOT_NEEDED, "the check kept failing", []
        StayCheck.objects.filter(pk=check.pk).update(
            state=StayCheck.State.DONE,
            result=result,
            detail=detail[:2000],
            finished_at=timezone.now(),
        )
        digest[check.reservation.host_id].extend(lines)
        done += 1
    for host_id, lines in digest.items():
        if lines:
            _send_digest(host=Host.objects.get(pk=host_id), lines=lines)
    return done


def stay_check_run(*, check: StayCheck, now: datetime) -> tuple[str, str, list[str]]:
    """Carry out one check; return its result, a sentence for the panel, and digest lines."""
    reservation = check.reservation
    if reservation.status != Reservation.Status.ACCEPTED:
        return StayCheck.Result.NOT_NEEDED, "the stay is not accepted", []
    if check.kind == StayCheck.Kind.NOT_ARRIVED:
        return _not_arrived_run(reservation=reservation), "", []
    guest_settings = guest_settings_get(host=reservation.host)
    wanted = (
        guest_settings.check_24h
        if check.kind == StayCheck.Kind.BEFORE_24H
        else (guest_settings.check_2h)
    )
    if not wanted:
        return StayCheck.Result.OFF, "", []
    access_code = engine_adapter.access_code_for(reservation=reservation)
    if access_code is None or access_code.cancelled_at or now >= access_code.ends_at:
        return StayCheck.Result.NOT_NEEDED, "the stay has no code that is still to be used", []
    return pre_arrival_check(reservation=reservation, now=now)


def _should_be_on_lock(item: engine_adapter.GuestLockCode, now: datetime) -> bool:
    # A code whose send time (S2) is still ahead is not failing, it is waiting: locks that
    # hold only permanent codes get theirs 10 minutes before the window.
    return item.send_at <= now


def pre_arrival_check(*, reservation: Reservation, now: datetime) -> tuple[str, str, list[str]]:
    """H2 for one stay: re-attempt unconfirmed codes, then a backup code or the host's digest."""
    items = engine_adapter.guest_lock_codes(reservation=reservation)
    if not items:
        return StayCheck.Result.NO_LOCKS, "", []
    due = [i for i in items if not i.own_code_set and _should_be_on_lock(i, now)]
    if not due:
        waiting = [i.lock.name for i in items if not i.own_code_set]
        detail = f"waiting for its send time on {', '.join(waiting)}" if waiting else ""
        return StayCheck.Result.ALL_SET, detail, []
    engine_adapter.lock_codes_reattempt_now(lock_codes=[i.lock_code for i in due])
    still = [
        i
        for i in due
        if not LockCode.objects.filter(pk=i.lock_code.pk, state=LockCode.State.SET).exists()
    ]
    if not still:
        names = ", ".join(i.lock.name for i in due)
        return StayCheck.Result.REATTEMPTED, f"set after a new attempt on {names}", []
    backups_on = smart_lock_settings_effective(property=reservation.property).backup_codes_enabled
    lines, sent = [], []
    for item in still:
        backup = None
        if backups_on:
            # Sent to the guest by the messaging engine, as the healthcheck's are (H2).
            backup = engine_adapter.backup_assign_for_failing(
                lock_code=item.lock_code,
                reason=f"{item.lock.name}: pre-arrival check, the guest's own code is not set",
            )
        if backup is not None:
            sent.append(item.lock.name)
        else:
            lines.append(_digest_line(reservation=reservation, lock_code=item.lock_code))
    if lines:
        names = ", ".join(i.lock.name for i in still if i.lock.name not in sent)
        return StayCheck.Result.HOST_TOLD, f"not set on {names}", lines
    return StayCheck.Result.BACKUP_SENT, f"backup code sent for {', '.join(sent)}", []


def _not_arrived_run(*, reservation: Reservation) -> str:
    from guests.selectors import lock_reports_entries

    if Arrival.objects.filter(reservation=reservation).exists():
        return StayCheck.Result.ARRIVED
    hours = guest_settings_get(host=reservation.host).not_arrived_after_hours
    if not hours:
        return StayCheck.Result.OFF
    locks = [i.lock for i in engine_adapter.guest_lock_codes(reservation=reservation)]
    if not any(lock_reports_entries(lock=lock) for lock in locks):
        return StayCheck.Result.NOT_NEEDED
    prop = reservation.property
    check_in = reservation.check_in.astimezone(prop.zone)
    host_alert_raise(
        host=reservation.host,
        kind=HostAlert.Kind.HEALTHCHECK,
        subject=f"{reservation.guest_name} has not arrived yet at {prop.name}",
        body=(
            f"{reservation.guest_name} was due at {prop.name} at {check_in:%a %d %b %H:%M} "
            f"({prop.time_zone}), and {hours} hour{'s' if hours != 1 else ''} later no lock "
            "has reported an entry with their code. They may just be late; you may want to "
            "message them."
        ),
        link=reverse("conversation", kwargs={"pk": reservation.pk}),
    )
    return StayCheck.Result.NOT_ARRIVED


def _digest_line(*, reservation: Reservation, lock_code: LockCode) -> str:
    prop = reservation.property
    start = lock_code.access_code.starts_at.astimezone(prop.zone)
    lock_code.refresh_from_db()
    reason = lock_code.get_last_error_display() or "not confirmed on the lock yet"
    return (
        f"- {reservation.guest_name} ({reservation.reservation_code or reservation.external_id}),"
        f" {prop.name}, code from {start:%a %d %b %H:%M} {prop.time_zone}: "
        f"{lock_code.lock.name} — {reason}"
    )


def _send_digest(*, host: Host, lines: list[str]) -> None:
    count = len(lines)
    with transaction.atomic():
        host_alert_raise(
            host=host,
            kind=HostAlert.Kind.HEALTHCHECK,
            subject=f"{count} guest code{'s' if count != 1 else ''} not set before arrival",
            body=(
                "A pre-arrival check could not confirm these codes on their locks:\n\n"
                + "\n".join(lines)
                + "\n\nWe keep retrying. If a lock is offline, check its battery and its hub's "
                "wifi. You can set a code by hand in your lock app, or give the guest another "
                "way in."
            ),
            link="/reservations/?show=failing",
        )
