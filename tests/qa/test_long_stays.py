"""A stay longer than a lock's longest window (algoPIN hourly codes: 672 hours)."""

from datetime import timedelta

import pytest

from integrations.connections import locks_import
from messaging.models import HostAlert
from tests.accesscodes.conftest import device_of, settle
from tests.qa.helpers import book, on_lock

pytestmark = pytest.mark.django_db


@pytest.fixture
def algopin_lock(lock):
    device = device_of(lock)
    device.model, device.supported_code_lengths = "Simulated algoPIN lock", [7, 8, 9]
    device.save()
    locks_import(connection=lock.connection)
    lock.refresh_from_db()
    assert lock.capability_record.max_window_hours == 672
    return lock


def test_a_30_night_stay_can_still_open_the_door_on_its_last_day(
    clock, prop, algopin_lock
):  # rules W1, H2: the guest has access until checkout, or the host is told they won't
    reservation = book(prop, starts_in=timedelta(hours=5), nights=30)
    settle()
    last_hour = reservation.check_out - timedelta(hours=1)
    covered = any(
        starts_at <= last_hour < ends_at
        for _pin, starts_at, ends_at in on_lock(algopin_lock).values()
    )
    assert covered or HostAlert.objects.filter(host=prop.host).exists()


def test_the_host_is_told_once_when_the_lock_cuts_a_long_stay_short(
    clock, prop, algopin_lock, mailoutbox
):  # rules W1, V5: when the code stops, in the property's zone, and what to do
    from accesscodes.models import LockCode
    from accesscodes.presentation import local_time
    from reservations.services import reservation_alter

    reservation = book(prop, starts_in=timedelta(hours=5), nights=30)
    settle()
    [(_pin, _starts_at, ends_at)] = on_lock(algopin_lock).values()
    assert ends_at < reservation.check_out
    [alert] = HostAlert.objects.filter(host=prop.host, kind="code_cut_short")
    assert f"stops working at {local_time(ends_at, prop)}" in alert.subject
    assert f"({prop.time_zone})" in alert.subject
    assert "at most 28 days" in alert.body and "another way in" in alert.body
    assert [alert.subject in mail.subject for mail in mailoutbox] == [True]

    reservation_alter(reservation=reservation, guest_name=reservation.guest_name)  # no change
    LockCode.objects.update(in_sync=False)
    settle()
    assert HostAlert.objects.filter(kind="code_cut_short").count() == 1


def test_a_stay_inside_the_longest_window_gets_it_whole(clock, prop, algopin_lock):  # rule W1
    reservation = book(prop, starts_in=timedelta(hours=5), nights=27)
    settle()
    [(_pin, starts_at, ends_at)] = on_lock(algopin_lock).values()
    assert (starts_at, ends_at) == (reservation.check_in, reservation.check_out)
