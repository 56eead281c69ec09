"""Every capability branch of the engine, each on a simulator switch (SPEC §5, S6, S7, P6, W2).

Device traits come from the simulated device's model (integrations.simulator.MODEL_TRAITS);
account-wide switches from the connection's credentials (`features_off`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accesscodes import services
from accesscodes.models import CodeEvent, LockCode
from accesscodes.selectors import smartlock_codes_for_reservation
from integrations.models import SimulatedCode
from integrations.simulator import SimulatorAdapter
from reservations.services import reservation_alter
from tests.accesscodes.conftest import codes_on, days, device_of, settle
from tests.accesscodes.test_lifecycle import book

pytestmark = pytest.mark.django_db


def make_model(lock, model: str) -> None:
    device = device_of(lock)
    device.model = model
    device.save()
    lock.capabilities = SimulatorAdapter._capabilities(device).to_json()
    lock.save()


def switch_off(lock, *features: str) -> None:
    connection = lock.connection
    connection.credentials = {**connection.credentials, "features_off": list(features)}
    connection.save()


def on_lock(lock) -> SimulatedCode:
    return SimulatedCode.objects.get(device__device_id=lock.remote_id)


def test_a_vendor_that_cannot_list_codes_has_its_confirmation_recorded_as_such(
    clock, prop, lock
):  # rule S7
    switch_off(lock, "list_codes")
    device = device_of(lock)
    device.confirm_delay_seconds = 0
    device.save()
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SET
    assert lock_code.confirmation == LockCode.Confirmation.VENDOR
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_a_synchronously_confirmed_write_still_counts_only_once_read_back(
    clock, prop, lock
):  # rules S6, S7
    switch_off(lock, "async_writes")
    device = device_of(lock)
    device.confirm_delay_seconds = 0
    device.save()
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.confirmation == LockCode.Confirmation.READ_BACK


def test_a_vendor_that_cannot_update_a_window_has_the_code_replaced_with_the_new_one(
    clock, prop, lock
):  # rule C1
    switch_off(lock, "update_window")
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    new_checkout = reservation.check_out + days(2)
    reservation_alter(reservation=reservation, check_out=new_checkout)
    settle()
    access_code = reservation.access_code
    access_code.refresh_from_db()
    code = on_lock(lock)
    assert code.ends_at == access_code.ends_at and code.pin == access_code.pin


def test_a_vendor_that_chooses_the_pin_gives_that_lock_its_own_line_in_messages(
    clock, prop, lock, second_lock
):  # rules P6, G3
    make_model(second_lock, "Simulated vendor-PIN lock")
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    vendor_pin = on_lock(second_lock).pin
    lock_code = second_lock.lock_codes.get()
    assert lock_code.pin == vendor_pin and lock_code.state == LockCode.State.SET
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}
    assert dict(smartlock_codes_for_reservation(reservation=reservation)) == {
        lock: reservation.access_code.pin,
        second_lock: vendor_pin,
    }


def test_a_code_that_cannot_be_deleted_is_left_to_expire_and_never_deleted(
    clock, prop, lock, monkeypatch
):  # rules D1, W2 (igloohome algoPIN)
    make_model(lock, "Simulated algoPIN lock")
    switch_off(lock, "list_codes", "update_window")
    reservation = book(prop, starts_in=timedelta(hours=5), nights=1)
    settle()
    deletes = []
    monkeypatch.setattr(SimulatorAdapter, "delete_code", lambda *a: deletes.append(a))
    clock.move_to(reservation.access_code.ends_at + services.DELETE_GRACE)
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert deletes == []
    assert lock_code.state == LockCode.State.REMOVED
    [left] = CodeEvent.objects.filter(lock_code=lock_code, kind="expires_on_its_own")
    assert left.reason.startswith("can't be removed from this lock; it stopped working at ")
    assert not CodeEvent.objects.filter(lock_code=lock_code, kind="removed").exists()


def test_an_hourly_lock_gets_the_window_widened_to_whole_hours_in_the_property_zone(
    clock, prop, lock
):  # rules W1 (granularity), §5
    make_model(lock, "Simulated algoPIN lock")
    reservation = book(prop, starts_in=timedelta(hours=5, minutes=20))
    settle()
    access_code = reservation.access_code
    code = on_lock(lock)
    local_start = code.starts_at.astimezone(prop.zone)
    local_end = code.ends_at.astimezone(prop.zone)
    assert (local_start.minute, local_end.minute) == (0, 0)
    assert code.starts_at <= access_code.starts_at < code.starts_at + timedelta(hours=1)
    assert code.ends_at - timedelta(hours=1) < access_code.ends_at <= code.ends_at


def test_a_window_longer_than_the_lock_allows_is_cut_to_its_longest(clock, prop, lock):  # §5
    make_model(lock, "Simulated algoPIN lock")
    book(prop, starts_in=timedelta(hours=5), nights=40)
    settle()
    code = on_lock(lock)
    assert code.ends_at - code.starts_at <= timedelta(hours=672)


def test_a_code_the_vendor_holds_unset_until_its_window_starts_is_healthy_not_failed(
    clock, prop, lock
):  # rules S6, S7 (issue #10: Seam `unset` before starts_at)
    make_model(lock, "Simulated scheduled-at-vendor lock")
    reservation = book(prop, starts_in=days(2))
    settle()
    clock.shift(timedelta(hours=1))  # long past the 15 minutes an unconfirmed write may take
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SETTING
    assert lock_code.attempts == 0 and lock_code.last_error == ""
    assert not CodeEvent.objects.filter(lock_code=lock_code, kind="failed").exists()
    # polled on a growing interval before the window (issue #20), still healthy, then set
    assert lock_code.next_attempt_at <= lock_code.window_starts_at
    clock.move_to(lock_code.window_starts_at)
    settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert lock_code.set_at <= timezone.now()
