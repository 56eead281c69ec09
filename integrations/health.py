"""Lock and account health (SPEC L1–L3): state refresh, offline, battery and clock notices, and
connections whose credentials stopped working (marked through the engine's
`integrations.services.connection_mark_disconnected`, so the host is told once whoever notices)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from integrations.base import Reason, VendorError
from integrations.connections import locks_upsert
from integrations.models import Lock, LockConnection
from integrations.registry import adapter_for
from integrations.services import connection_mark_disconnected
from integrations.ttlock import standard_offset
from messaging.models import HostAlert
from messaging.services import host_alert_raise

logger = logging.getLogger(__name__)

LOW_BATTERY = 20  # percent, SPEC L2
# A battery reading hovers around the threshold for days; only a clearly better reading (a new
# battery) re-arms the notice, so a host is not told twice about the same battery.
BATTERY_RECOVERED = 30
# A lock's clock offset is read once a day at most (TTLock: one lock/detail call per lock).
CLOCK_CHECK_EVERY = timedelta(days=1)


def _offline_advice(*, lock: Lock, offline_on_connection: int) -> str:
    """The troubleshooting steps of the FAQ, fitted to what we know."""
    steps = []
    if lock.battery_level is not None and lock.battery_level < LOW_BATTERY:
        steps.append(f"Replace the battery: its last reading was {lock.battery_level}%.")
    else:
        steps.append("Replace the battery if it is low.")
    if offline_on_connection > 1:
        steps.append(
            f"{offline_on_connection} locks on this account are offline: check the hub and "
            "improve its wifi connection."
        )
    else:
        steps.append("Only this lock is offline: move the hub closer to the lock.")
    return "\n".join(f"- {step}" for step in steps)


def _notify_offline(*, connection: LockConnection, locks: list[Lock]) -> None:
    offline_count = connection.locks.filter(is_present=True, online=False).count()
    names = ", ".join(lock.name for lock in locks)
    subject = f"{names} is offline" if len(locks) == 1 else f"{len(locks)} locks are offline"
    body = (
        f"{names} stopped answering {connection}. New guest codes cannot reach "
        f"{'it' if len(locks) == 1 else 'them'} until {'it is' if len(locks) == 1 else 'they are'} "
        "back online; we keep trying and tell you again only if it happens after recovery.\n\n"
        "What to do:\n" + _offline_advice(lock=locks[0], offline_on_connection=offline_count)
    )
    link = f"/locks/{locks[0].pk}/" if len(locks) == 1 else "/locks/"
    host_alert_raise(
        host=connection.host,
        kind=HostAlert.Kind.LOCK_OFFLINE,
        subject=subject,
        body=body,
        link=link,
    )


def _notify_low_battery(*, lock: Lock) -> None:
    host_alert_raise(
        host=lock.connection.host,
        kind=HostAlert.Kind.LOW_BATTERY,
        subject=f"{lock.name}: battery low ({lock.battery_level}%)",
        body=(
            f"The battery of {lock.name} is at {lock.battery_level}%. Replace it soon: a lock "
            "with a flat battery goes offline and guests' codes can no longer reach it."
        ),
        link=f"/locks/{lock.pk}/",
    )


def lock_state_apply(
    *, lock: Lock, online: bool | None = None, battery_level: int | None = None
) -> list[Lock]:
    """Record a lock's online state and battery; return it if it just went offline.

    Sends the low-battery notice itself; offline notices are sent by the caller, which may
    have several locks of one connection to tell about in one message.
    """
    now = timezone.now()
    went_offline = []
    if online is not None:
        lock.online = online
        if online:
            lock.last_seen_at = now
            lock.offline_notified_at = None  # back online: the next outage is news again
        elif lock.offline_notified_at is None:
            lock.offline_notified_at = now
            went_offline.append(lock)
    if battery_level is not None:
        lock.battery_level = battery_level
        if battery_level < LOW_BATTERY and lock.low_battery_notified_at is None:
            lock.low_battery_notified_at = now
            _notify_low_battery(lock=lock)
        elif battery_level >= BATTERY_RECOVERED:
            lock.low_battery_notified_at = None
    lock.state_refreshed_at = now
    lock.save(
        update_fields=[
            "online",
            "battery_level",
            "last_seen_at",
            "offline_notified_at",
            "low_battery_notified_at",
            "state_refreshed_at",
            "updated_at",
        ]
    )
    return went_offline


def lock_state_report(*, lock: Lock, online: bool | None = None, battery_level: int | None = None):
    """Apply one lock's state from a webhook, with its notices (SPEC L1: state on webhooks)."""
    with transaction.atomic():
        lock = Lock.objects.select_for_update().select_related("connection__host").get(pk=lock.pk)
        went_offline = lock_state_apply(lock=lock, online=online, battery_level=battery_level)
        if went_offline:
            _notify_offline(connection=lock.connection, locks=went_offline)
    return lock


def lock_clock_check(*, lock: Lock, adapter) -> None:
    """Record the UTC offset the lock reads code times with, where the vendor reports one,
    and email the host once when it does not fit a matched property's zone (until it does)."""
    read = getattr(adapter, "clock_offset", None)
    if read is None:
        return
    try:
        offset = read(lock.remote_id)
    except VendorError as error:
        logger.warning("clock offset of lock %s could not be read: %s", lock.pk, error)
        return
    lock.clock_offset_minutes = None if offset is None else round(offset.total_seconds() / 60)
    lock.clock_checked_at = timezone.now()
    notices = clock_notices(lock=lock)
    if not notices:
        lock.clock_notified_at = None  # the clock fits: a later mismatch is news again
    elif lock.clock_notified_at is None:
        lock.clock_notified_at = lock.clock_checked_at
        _notify_clock(lock=lock, notices=notices)
    lock.save(
        update_fields=[
            "clock_offset_minutes",
            "clock_checked_at",
            "clock_notified_at",
            "updated_at",
        ]
    )


def lock_clock_mismatches(*, lock: Lock) -> list[tuple]:
    """(property, its standard offset in minutes) for each matched property whose zone the
    lock's clock offset does not fit; locksync shifts code times for the first of them."""
    if lock.clock_offset_minutes is None:
        return []
    mismatches = []
    for match in lock.matches.select_related("property").order_by("pk"):
        minutes = round(standard_offset(match.property.zone).total_seconds() / 60)
        if minutes != lock.clock_offset_minutes:
            mismatches.append((match.property, minutes))
    return mismatches


def _utc(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def clock_notices(*, lock) -> list[dict]:
    """Tell the host when the lock's clock offset does not fit its property's zone."""
    notices = []
    for prop, minutes in lock_clock_mismatches(lock=lock):
        notices.append(
            {
                "title": (
                    f"{lock.name}'s clock is set to {_utc(lock.clock_offset_minutes)}, "
                    f"but {prop.name} is in {prop.time_zone} ({_utc(minutes)})"
                ),
                "advice": [
                    "locksync moves each code's times so it still opens and closes at "
                    f"{prop.name}'s local check-in and checkout times.",
                    "Set the lock's time zone in the lock app (open the lock, Settings, Lock "
                    "clock) so its own history shows the right times too.",
                ],
            }
        )
    return notices


def _notify_clock(*, lock: Lock, notices: list[dict]) -> None:
    """Email the host once that the lock reads code times in another zone (the lock page
    says the same while it lasts)."""
    body = "\n\n".join(
        notice["title"] + ".\n" + "\n".join(f"- {step}" for step in notice["advice"])
        for notice in notices
    )
    host_alert_raise(
        host=lock.connection.host,
        kind=HostAlert.Kind.LOCK_CLOCK,
        subject=f"{lock.name}'s clock is set to another time zone",
        body=body,
        link=f"/locks/{lock.pk}/",
    )


def lock_states_refresh(*, connection: LockConnection) -> None:
    """Read every lock's state from the vendor, send the notices it calls for (SPEC L1–L3)."""
    adapter = adapter_for(connection)
    try:
        infos = adapter.list_locks()
    except VendorError as error:
        if error.reason == Reason.ACCOUNT_DISCONNECTED:
            connection_mark_disconnected(connection=connection, message=error.message)
        else:
            logger.warning("lock state refresh of connection %s failed: %s", connection.pk, error)
        return
    by_remote_id = {info.remote_id: info for info in infos}
    with transaction.atomic():
        went_offline = []
        for lock in locks_upsert(connection=connection, infos=infos):
            info = by_remote_id[lock.remote_id]
            went_offline += lock_state_apply(
                lock=lock, online=info.online, battery_level=info.battery_level
            )
        LockConnection.objects.filter(pk=connection.pk).update(last_synced_at=timezone.now())
        if went_offline:
            _notify_offline(connection=connection, locks=went_offline)
    due = timezone.now() - CLOCK_CHECK_EVERY
    for lock in connection.locks.filter(is_present=True):
        if lock.clock_checked_at is None or lock.clock_checked_at < due:
            lock_clock_check(lock=lock, adapter=adapter)
