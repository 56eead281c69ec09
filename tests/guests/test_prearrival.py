"""Pre-arrival checks 24 h and 2 h before each stay's window, in the property's own time
(rule H6), escalating as the healthcheck does (rule H2)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accesscodes.models import BackupCode
from guests.models import StayCheck
from guests.prearrival import stay_checks_due_ids, stay_checks_run_due
from guests.selectors import stay_panel
from guests.services import guest_settings_update
from integrations.base import Reason
from reservations.services import reservation_upsert
from tests.factories import PropertyFactory
from tests.guests.conftest import backup_pool_placed, backups_on, device_of, settle

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def stay(prop, day: date, *, name="Ana Silva", external_id="S1", nights=2):
    check_in = prop.local_datetime(day, prop.checkin_time)
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id=external_id,
        property=prop,
        guest_name=name,
        guest_email="ana@example.com",
        check_in=check_in,
        check_out=prop.local_datetime(day + timedelta(days=nights), prop.checkout_time),
        reservation_code="HMCHECK1",
    )
    return reservation


def check(reservation, kind=StayCheck.Kind.BEFORE_24H) -> StayCheck:
    return StayCheck.objects.get(reservation=reservation, kind=kind)


@pytest.mark.parametrize(
    ("zone", "check_in_day", "due_utc"),
    [
        # Berlin springs forward on 29 March 2026: 16:00 CEST on the 29th is 14:00 UTC, and
        # 16:00 the day before is still CET, 15:00 UTC (23 hours earlier).
        ("Europe/Berlin", date(2026, 3, 29), utc(2026, 3, 28, 15, 0)),
        # Berlin falls back on 25 October 2026: 16:00 CEST on the 24th is 14:00 UTC.
        ("Europe/Berlin", date(2026, 10, 25), utc(2026, 10, 24, 14, 0)),
        # New York falls back on 1 November 2026: 16:00 EDT on 31 October is 20:00 UTC.
        ("America/New_York", date(2026, 11, 1), utc(2026, 10, 31, 20, 0)),
        # New York springs forward on 8 March 2026: 16:00 EST on the 7th is 21:00 UTC.
        ("America/New_York", date(2026, 3, 8), utc(2026, 3, 7, 21, 0)),
    ],
)
def test_a_16_00_check_in_is_checked_at_16_00_local_the_day_before_across_dst(
    clock, host, zone, check_in_day, due_utc
):  # rule H6
    prop = PropertyFactory(host=host, time_zone=zone, checkin_time=time(16))
    clock.move_to(due_utc - timedelta(days=5))
    reservation = stay(prop, check_in_day)
    assert check(reservation).due_at == due_utc
    clock.move_to(due_utc - timedelta(seconds=1))
    assert stay_checks_run_due() == 0
    assert check(reservation).state == StayCheck.State.PENDING
    clock.move_to(due_utc)
    assert stay_checks_run_due() == 1
    assert check(reservation).state == StayCheck.State.DONE
    clock.shift(timedelta(minutes=30))
    assert stay_checks_run_due() == 0  # once


def test_the_two_hour_check_is_two_hours_before_the_window(clock, host):  # rule H6
    prop = PropertyFactory(host=host, time_zone="Europe/Berlin", checkin_time=time(16))
    clock.move_to(utc(2026, 3, 20, 9, 0))
    reservation = stay(prop, date(2026, 3, 29))
    # 16:00 CEST is 14:00 UTC; two hours before is 12:00 UTC (14:00 local).
    assert check(reservation, StayCheck.Kind.BEFORE_2H).due_at == utc(2026, 3, 29, 12, 0)


def failing(lock, reason=Reason.LOCK_OFFLINE):
    device = device_of(lock)
    device.fault_count, device.fault_reason = 100, reason
    device.save()


def test_check_re_attempts_an_unconfirmed_code_and_emails_the_host(
    clock, prop, lock, mailoutbox
):  # rules H6, H2
    clock.move_to(utc(2026, 6, 1, 9, 0))
    failing(lock)
    reservation = stay(prop, date(2026, 6, 4))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    attempts = lock_code.attempts
    mailoutbox.clear()
    clock.move_to(check(reservation).due_at)
    stay_checks_run_due()
    lock_code.refresh_from_db()
    assert lock_code.attempts == attempts + 1
    [email] = mailoutbox
    assert email.to == [prop.host.alert_email]
    assert "Ana Silva" in email.body and lock.name in email.body
    assert "the lock was offline" in email.body or "lock offline" in email.body
    done = check(reservation)
    assert done.result == StayCheck.Result.HOST_TOLD
    assert stay_panel(reservation=reservation).last_check == done


def test_one_email_per_host_for_every_failing_stay_of_a_run(
    clock, prop, lock, mailoutbox
):  # rules H6, H2
    clock.move_to(utc(2026, 6, 1, 9, 0))
    failing(lock)
    first = stay(prop, date(2026, 6, 4), name="Ana Silva", external_id="A")
    stay(prop, date(2026, 6, 4), name="Bo Li", external_id="B")
    settle()
    mailoutbox.clear()
    clock.move_to(check(first).due_at)
    assert stay_checks_run_due() == 2
    [email] = mailoutbox
    assert "Ana Silva" in email.body and "Bo Li" in email.body


def test_check_fixes_what_it_can_and_then_says_nothing(clock, prop, lock, mailoutbox):  # H6
    clock.move_to(utc(2026, 6, 1, 9, 0))
    device = device_of(lock)
    device.fault_count, device.fault_reason = 1, Reason.VENDOR_ERROR
    device.save()
    reservation = stay(prop, date(2026, 6, 4))
    clock.move_to(utc(2026, 6, 1, 14, 0))  # its send time: the first write fails
    settle()
    assert reservation.access_code.lock_codes.get().state == "failed"
    mailoutbox.clear()
    clock.move_to(check(reservation).due_at)
    stay_checks_run_due()
    assert mailoutbox == []
    assert check(reservation).result == StayCheck.Result.REATTEMPTED
    assert reservation.access_code.lock_codes.get().state == "set"


def test_with_backup_codes_on_the_guest_gets_a_backup_code_seen_on_the_lock(
    clock, prop, lock, mailoutbox, django_capture_on_commit_callbacks
):  # rules H6, H2, H5
    clock.move_to(utc(2026, 6, 1, 9, 0))
    backups_on(prop)
    backup_pool_placed(lock)
    reservation = stay(prop, date(2026, 6, 4))
    failing(lock)
    clock.move_to(check(reservation).due_at - timedelta(days=2))
    settle()
    mailoutbox.clear()
    clock.move_to(check(reservation).due_at)
    with django_capture_on_commit_callbacks(execute=True):
        stay_checks_run_due()
    backup = BackupCode.objects.get(reservation=reservation)
    assert check(reservation).result == StayCheck.Result.BACKUP_SENT
    guest_mail = [m for m in mailoutbox if m.to == ["ana@example.com"]]
    assert guest_mail and backup.pin in guest_mail[0].body


def test_a_check_the_host_turned_off_does_nothing(clock, prop, lock, mailoutbox):  # rule H6
    guest_settings_update(host=prop.host, check_24h=False)
    clock.move_to(utc(2026, 6, 1, 9, 0))
    failing(lock)
    reservation = stay(prop, date(2026, 6, 4))
    settle()
    mailoutbox.clear()
    clock.move_to(check(reservation).due_at)
    stay_checks_run_due()
    assert mailoutbox == []
    assert check(reservation).result == StayCheck.Result.OFF
    assert check(reservation, StayCheck.Kind.BEFORE_2H).state == StayCheck.State.PENDING


def test_a_code_still_waiting_for_its_send_time_is_not_failing(
    clock, prop, lock, mailoutbox
):  # rule H6, S2
    from integrations.models import SimulatedDevice

    SimulatedDevice.objects.filter(device_id=lock.remote_id).update(time_bound_codes=False)
    lock.capabilities = device_of(lock).capability_record().to_json()
    lock.save()
    clock.move_to(utc(2026, 6, 1, 9, 0))
    reservation = stay(prop, date(2026, 6, 4))
    clock.move_to(check(reservation).due_at)
    stay_checks_run_due()
    assert mailoutbox == []
    assert check(reservation).result == StayCheck.Result.ALL_SET


def test_moving_the_stay_moves_its_checks(clock, prop, lock):  # rule H6, C1
    clock.move_to(utc(2026, 6, 1, 9, 0))
    reservation = stay(prop, date(2026, 6, 4))
    before = check(reservation).due_at
    stay(prop, date(2026, 6, 6))  # same external id: moved two days later
    assert check(reservation).due_at == before + timedelta(days=2)


def test_a_stay_booked_after_the_24_hour_moment_gets_only_the_2_hour_check(clock, prop, lock):
    clock.move_to(utc(2026, 6, 3, 18, 0))
    reservation = stay(prop, date(2026, 6, 4))
    assert check(reservation).state == StayCheck.State.DONE
    assert check(reservation).result == StayCheck.Result.NOT_NEEDED
    assert check(reservation, StayCheck.Kind.BEFORE_2H).state == StayCheck.State.PENDING


def test_the_job_reads_only_due_rows_in_a_fixed_number_of_queries(clock, prop, lock):  # H6
    clock.move_to(utc(2026, 6, 1, 9, 0))
    for n in range(5):
        stay(prop, date(2026, 6, 4 + n), external_id=f"S{n}", name=f"Guest {n}")
    with CaptureQueriesContext(connection) as queries:
        ids = stay_checks_due_ids(now=utc(2026, 6, 4, 0, 0))
    assert len(queries) == 1
    assert len(ids) == 1  # only the first stay's 24-hour check is due by then


def test_one_stays_failing_check_does_not_stop_the_others(
    clock, prop, lock, monkeypatch
):  # rule H6
    from guests import prearrival

    clock.move_to(utc(2026, 6, 1, 9, 0))
    first = stay(prop, date(2026, 6, 4), name="Ana Silva", external_id="A")
    second = stay(prop, date(2026, 6, 4), name="Bo Li", external_id="B")
    real = prearrival.stay_check_run

    def flaky(*, check, now):
        if check.reservation_id == first.pk:
            raise RuntimeError("boom")
        return real(check=check, now=now)

    monkeypatch.setattr(prearrival, "stay_check_run", flaky)
    clock.move_to(check(first).due_at)
    stay_checks_run_due()
    assert check(second).state == StayCheck.State.DONE
    assert check(first).state == StayCheck.State.PENDING  # back after the claim's lease
    for _ in range(3):
        clock.shift(timedelta(minutes=11))
        stay_checks_run_due()
    assert check(first).state == StayCheck.State.DONE
    assert check(first).detail == "the check kept failing"
