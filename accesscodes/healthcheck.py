"""The daily healthcheck at 08:00 America/New_York (SPEC H1–H3)."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accesscodes.engine.backups import backup_code_assign, backup_pool_ensure
from accesscodes.engine.retry import MIN_SPACING
from accesscodes.engine.sweeps import lock_process
from accesscodes.models import HealthcheckRun, LockCode
from accesscodes.presentation import local_time_short
from integrations.models import Lock
from messaging.models import HostAlert
from messaging.services import host_alert_raise
from properties.models import Host
from properties.selectors import smart_lock_settings_effective
from reservations.models import Reservation

HEALTHCHECK_ZONE = zoneinfo.ZoneInfo("America/New_York")
HEALTHCHECK_AT = time(8, 0)
HORIZON = timedelta(hours=24)


def healthcheck_due_date(*, now: datetime) -> date | None:
    """Return today's New York date once it is 08:00 there and today's run has not happened.

    Asking "is it past 08:00 local and not yet run today" instead of scheduling a UTC time
    keeps the check at 08:00 on both sides of a DST change, and catches up after downtime.
    """
    local = now.astimezone(HEALTHCHECK_ZONE)
    if local.time() < HEALTHCHECK_AT:
        return None
    if HealthcheckRun.objects.filter(run_date=local.date()).exists():
        return None
    return local.date()


def healthcheck_selection(*, now: datetime) -> QuerySet[LockCode]:
    """Codes whose window overlaps the next 24 hours and are not confirmed on their lock.

    A window-overlap test alone can't use a B-tree (PostgreSQL estimates the two range
    conditions independently and reads both tables whole). Every code that is not on its lock
    and whose window has not ended is due within 24 hours (sends happen at window start minus
    the lead time, retries are at most a day apart, rate-limit waits are capped at a day), so
    the `lockcode_due_attempt` index on next_attempt_at narrows the search first.
    """
    return (
        LockCode.objects.filter(
            next_attempt_at__lte=now + HORIZON,
            access_code__starts_at__lt=now + HORIZON,
            access_code__ends_at__gt=now,
            access_code__cancelled_at__isnull=True,
            access_code__reservation__status=Reservation.Status.ACCEPTED,
        )
        .exclude(state__in=[LockCode.State.SET, LockCode.State.REMOVED, LockCode.State.REMOVING])
        .exclude(delete_after__lte=now)
        .order_by()  # no sort needed (LockCode.Meta.ordering would double it at scale)
    )


def healthcheck_run(*, now: datetime | None = None) -> HealthcheckRun | None:
    """Run today's healthcheck if it is due; a second worker finds it claimed and stops."""
    now = now or timezone.now()
    run_date = healthcheck_due_date(now=now)
    if run_date is None:
        return None
    try:
        with transaction.atomic():
            run = HealthcheckRun.objects.create(run_date=run_date)
    except IntegrityError:
        return None

    failing_ids = list(healthcheck_selection(now=now).values_list("id", "lock_id"))
    by_lock: dict[int, set[int]] = defaultdict(set)
    for code_id, lock_id in failing_ids:
        by_lock[lock_id].add(code_id)
    # H2: each is re-attempted at once, unless the retry schedule has just tried it: no code
    # is written twice in one minute (R5).
    LockCode.objects.filter(pk__in=[code_id for code_id, _ in failing_ids]).exclude(
        last_attempt_at__gt=timezone.now() - MIN_SPACING
    ).update(next_attempt_at=timezone.now(), version=F("version") + 1)
    for lock_id, code_ids in by_lock.items():
        lock_process(lock_id=lock_id, only_ids=code_ids, wait=30)

    still_failing = (
        LockCode.objects.filter(pk__in=[code_id for code_id, _ in failing_ids])
        .exclude(state=LockCode.State.SET)
        .select_related("access_code__reservation__property", "lock__connection__host")
        .order_by("access_code__starts_at", "id")
    )
    digest: dict[Host, list[str]] = defaultdict(list)
    assigned = 0
    for lock_code in still_failing:
        reservation = lock_code.access_code.reservation
        settings = smart_lock_settings_effective(property=reservation.property)
        backup = None
        if settings.backup_codes_enabled:
            backup = backup_code_assign(lock_code=lock_code)
        if backup is not None:
            assigned += 1
            continue
        digest[lock_code.lock.connection.host].append(_digest_line(lock_code))
    for host, lines in digest.items():
        _send_digest(host=host, lines=lines)

    for lock in Lock.objects.filter(matches__isnull=False).distinct():
        backup_pool_ensure(lock=lock)

    run.codes_checked = len(failing_ids)
    run.codes_failing = sum(len(lines) for lines in digest.values())
    run.backup_codes_assigned = assigned
    run.finished_at = timezone.now()
    run.save()
    return run


def _digest_line(lock_code: LockCode) -> str:
    """One failing code, its times in the property's zone with the zone named (SPEC V5)."""
    reservation = lock_code.access_code.reservation
    where = reservation.property
    reason = lock_code.get_last_error_display() or "not confirmed on the lock yet"
    retry = (
        f"; next attempt {local_time_short(lock_code.next_attempt_at, where)}"
        if lock_code.next_attempt_at
        else ""
    )
    return (
        f"- {reservation.guest_name} ({reservation.reservation_code or reservation.external_id}), "
        f"{where.name}, check-in {local_time_short(reservation.check_in, where)}: "
        f"{lock_code.lock.name} — {reason}{retry}"
    )


def _send_digest(*, host: Host, lines: list[str]) -> None:
    count = len(lines)
    host_alert_raise(
        host=host,
        kind=HostAlert.Kind.HEALTHCHECK,
        subject=(
            f"{count} guest code{'s' if count != 1 else ''} not set "
            "for arrivals in the next 24 hours"
        ),
        body=(
            "This morning's healthcheck could not confirm these codes on their locks:\n\n"
            + "\n".join(lines)
            + "\n\nWe keep retrying. If a lock is offline, check its battery and its hub's "
            "wifi. You can set a code by hand in your lock app, or give the guest another "
            "way in."
        ),
        link="/reservations/?show=failing",
    )
