"""PIN choice, names, retries and vendor failures, on simulated locks (rules P, N, R, S7)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accesscodes.models import LockCode
from accesscodes.services import lock_resync
from accesscodes.signals import pin_changed
from integrations.base import Constraint, Reason
from integrations.models import LockConnection, SimulatedCode, SimulatedDevice
from properties.models import SmartLockSettings
from reservations.services import reservation_cancel
from tests.accesscodes.conftest import codes_on, device_of, settle
from tests.accesscodes.test_lifecycle import book
from tests.factories import SimulatedCodeFactory

pytestmark = pytest.mark.django_db


def nuki_rules(lock) -> None:
    device = device_of(lock)
    device.supported_code_lengths = [6]
    device.code_constraints = [Constraint.NO_ZEROS, Constraint.CANNOT_START_WITH_12]
    device.name_max_length = 20
    device.save()
    lock.capabilities = device.capability_record().to_json()
    lock.save()


def phone_source(prop, length=4) -> None:
    SmartLockSettings.objects.filter(host=prop.host, property=None).update(
        code_source="phone", code_length=length
    )


def test_pin_obeys_every_matched_locks_rules_at_the_nearest_length(
    clock, prop, lock, second_lock
):  # rule P2
    nuki_rules(second_lock)
    reservation = book(prop, starts_in=timedelta(hours=5))
    pin = reservation.access_code.pin
    assert len(pin) == 6 and "0" not in pin and not pin.startswith("12")
    settle()
    assert codes_on(lock) == codes_on(second_lock) == {"Ana Silva": pin}


def test_phone_source_uses_the_last_digits(clock, prop, lock):  # rules P1, P3
    phone_source(prop)
    reservation = book(prop, starts_in=timedelta(hours=5), guest_phone="+351 912 345 847")
    assert (reservation.access_code.pin, reservation.access_code.pin_source) == ("5847", "phone")


@pytest.mark.parametrize(
    ("phone", "why"),
    [
        ("", "no phone"),
        ("+1 5", "too few digits"),
        ("+351 912 341 111", "trivial"),
        ("+351 912 34 1234", "ascending run"),
    ],
)
def test_phone_source_falls_back_to_random(clock, prop, lock, phone, why):  # rule P3
    phone_source(prop)
    reservation = book(prop, starts_in=timedelta(hours=5), guest_phone=phone)
    assert reservation.access_code.pin_source == "random", why


def test_phone_digits_breaking_nuki_rules_fall_back_to_random(clock, prop, lock):  # rule P3
    nuki_rules(lock)
    phone_source(prop, length=6)
    reservation = book(prop, starts_in=timedelta(hours=5), guest_phone="+351 912 305 847")
    assert reservation.access_code.pin_source == "random"
    assert "0" not in reservation.access_code.pin


def test_phone_digits_already_on_the_lock_fall_back_to_random(clock, prop, lock):  # rule P3
    phone_source(prop)
    book(prop, starts_in=timedelta(hours=5), guest_phone="+351 912 345 847", external_id="A")
    second = book(
        prop,
        starts_in=timedelta(hours=6),
        guest_phone="+44 7700 905847",
        external_id="B",
        name="Bo Li",
    )
    assert second.access_code.pin_source == "random"


def test_a_pin_already_on_the_lock_is_replaced_on_every_lock_and_the_guest_told(
    clock, prop, lock, second_lock, django_capture_on_commit_callbacks
):  # rule P5, G7
    reservation = book(prop, starts_in=days_(3))
    old_pin = reservation.access_code.pin
    SimulatedCodeFactory(device=device_of(second_lock), pin=old_pin, name="Owner")
    told = []
    pin_changed.connect(lambda **kw: told.append(kw["access_code"].pk), weak=False)
    clock.move_to(reservation.access_code.starts_at - days_(3))
    with django_capture_on_commit_callbacks(execute=True):
        settle()
    clock.shift(timedelta(hours=1))
    settle()
    reservation.access_code.refresh_from_db()
    new_pin = reservation.access_code.pin
    assert new_pin != old_pin
    assert codes_on(lock)["Ana Silva"] == new_pin
    assert codes_on(second_lock) == {"Owner": old_pin, "Ana Silva": new_pin}
    assert told == [reservation.access_code.pk]


def days_(n):
    return timedelta(days=n)


@pytest.mark.parametrize(
    "name",
    ["Maximilian Alexander von Habsburg", "Zoë (Zo) Smith", "王小明", "Ana 🙂"],
)
def test_reservation_code_is_the_name_when_the_guest_name_cannot_be_used(
    clock, prop, lock, name
):  # rule N2
    nuki_rules(lock)
    book(prop, starts_in=timedelta(hours=5), name=name, reservation_code="HMX42")
    settle()
    assert list(codes_on(lock)) == ["HMX42"]


def test_guest_name_is_kept_when_it_is_plain_gsm(clock, prop, lock):  # rules N1, N2
    book(prop, starts_in=timedelta(hours=5), name="Renée O'Brien-Muñoz")
    settle()
    assert list(codes_on(lock)) == ["Renée O'Brien-Muñoz"]


def test_same_guest_with_two_bookings_uses_the_reservation_code(clock, prop, lock):  # rule N2
    book(prop, starts_in=timedelta(hours=5), external_id="A", reservation_code="HMA")
    book(prop, starts_in=days_(2), external_id="B", reservation_code="HMB")
    settle()
    assert set(codes_on(lock)) == {"Ana Silva", "HMB"}


def test_duplicate_name_falls_back_to_the_reservation_code(clock, prop, lock):  # rules N2, R3
    device = device_of(lock)
    device.name_must_be_unique = True
    device.save()
    lock.capabilities = device.capability_record().to_json()
    lock.save()
    SimulatedCodeFactory(device=device, pin="9182", name="Ana Silva")
    book(prop, starts_in=timedelta(hours=5), reservation_code="HMDUP")
    settle()
    clock.shift(timedelta(minutes=30))
    settle()
    assert set(codes_on(lock)) == {"Ana Silva", "HMDUP"}


def test_failed_code_is_retried_four_more_times_that_day_then_daily(clock, prop, lock):  # R1
    device = device_of(lock)
    device.online = False
    device.save()
    reservation = book(prop, starts_in=days_(5), nights=10)
    lock_code = reservation.access_code.lock_codes.get()
    clock.move_to(lock_code.next_attempt_at)
    attempts_at = []
    for _ in range(7):
        settle()
        lock_code.refresh_from_db()
        attempts_at.append(lock_code.last_attempt_at)
        assert lock_code.state == LockCode.State.FAILED
        assert lock_code.last_error == Reason.LOCK_OFFLINE
        clock.move_to(lock_code.next_attempt_at)
    gaps = [b - a for a, b in zip(attempts_at, attempts_at[1:], strict=False)]
    hours = [gap.total_seconds() / 3600 for gap in gaps]
    assert hours == [0.5, 1, 2, 4, 24, 24]
    device.online = True
    device.save()
    settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_rate_limited_waits_as_told_and_is_not_an_attempt(clock, prop, lock):  # rule R3
    device = device_of(lock)
    device.fault_count, device.fault_reason = 1, Reason.RATE_LIMITED
    device.save()
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.attempts == 0
    assert lock_code.last_error == Reason.RATE_LIMITED
    assert lock_code.next_attempt_at == timezone.now() + timedelta(seconds=60)
    clock.shift(timedelta(seconds=60))
    settle()
    assert codes_on(lock)


def test_a_timeout_after_the_write_applied_never_leaves_two_copies(clock, prop, lock):  # R4
    device = device_of(lock)
    device.fault_count, device.fault_reason = 1, Reason.TIMEOUT
    device.fault_mode = SimulatedDevice.FaultMode.TIMEOUT_APPLIED
    device.save()
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.last_error == Reason.TIMEOUT
    clock.move_to(lock_code.next_attempt_at)
    settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert device.codes.count() == 1


def test_an_acknowledged_code_that_never_appears_is_not_set_and_is_retried(
    clock, prop, lock
):  # rules S6, S7
    device = device_of(lock)
    device.fault_count, device.fault_reason = 1, Reason.VENDOR_ERROR
    device.fault_mode = SimulatedDevice.FaultMode.ACK_NEVER_APPLIED
    device.save()
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SETTING
    clock.shift(timedelta(minutes=15))
    settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.FAILED
    clock.move_to(lock_code.next_attempt_at)
    settle()
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_asynchronous_confirmation_is_followed_until_the_lock_shows_the_code(
    clock, prop, lock
):  # rule S6
    device = device_of(lock)
    device.confirm_delay_seconds = 45
    device.save()
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SETTING
    clock.shift(timedelta(seconds=60))
    settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET


def test_a_full_lock_is_a_queue_ordered_by_window_start(clock, prop, lock):  # rules S8, D3
    device = device_of(lock)
    device.capacity = 2
    device.save()
    lock.capabilities = device.capability_record().to_json()
    lock.save()
    SimulatedCodeFactory(device=device, pin="9182", name="Owner")
    far = book(prop, starts_in=days_(2), external_id="FAR", name="Far Guest")
    settle()
    assert set(codes_on(lock)) == {"Owner", "Far Guest"}
    near = book(prop, starts_in=timedelta(hours=3), external_id="NEAR", name="Near Guest")
    settle()
    assert set(codes_on(lock)) == {"Owner", "Near Guest"}
    far_code = far.access_code.lock_codes.get()
    assert far_code.state == LockCode.State.WAITING_FOR_SPACE
    assert near.access_code.lock_codes.get().state == LockCode.State.SET


def test_a_disconnected_account_fails_codes_and_tells_the_host_once(
    clock, prop, lock, mailoutbox
):  # rules L3, R2, R3
    device = device_of(lock)
    device.account.revoked = True
    device.account.save()
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.last_error == Reason.ACCOUNT_DISCONNECTED
    lock.connection.refresh_from_db()
    assert lock.connection.state == LockConnection.State.DISCONNECTED
    clock.move_to(lock_code.next_attempt_at)
    settle()
    assert len([m for m in mailoutbox if "disconnected" in m.subject]) == 1


def test_resync_puts_back_codes_lost_in_a_factory_reset_without_duplicates(
    clock, prop, lock, second_lock, django_capture_on_commit_callbacks
):  # rules Y1, Y3
    reservation = book(prop, starts_in=timedelta(hours=5))
    future = book(prop, starts_in=days_(2), external_id="F", name="Future Guest")
    far = book(prop, starts_in=days_(20), external_id="FAR", name="Far Guest")
    settle()
    device_of(lock).codes.all().delete()
    # Resync only marks the codes due; the pass it queues on commit puts them back.
    with django_capture_on_commit_callbacks(execute=True):
        lock_resync(lock=lock)
    with django_capture_on_commit_callbacks(execute=True):
        lock_resync(lock=lock)
    assert codes_on(lock) == {
        "Ana Silva": reservation.access_code.pin,
        "Future Guest": future.access_code.pin,
    }
    assert far.access_code.lock_codes.get(lock=lock).state == LockCode.State.SCHEDULED
    assert device_of(lock).codes.count() == 2


def test_reconciliation_resets_missing_codes_and_records_hand_changes(clock, prop, lock):  # Y2
    from accesscodes.models import CodeEvent
    from accesscodes.services import lock_reconcile

    first = book(prop, starts_in=timedelta(hours=5), external_id="A")
    book(prop, starts_in=timedelta(hours=6), external_id="B", name="Bo Li")
    settle()
    device = device_of(lock)
    device.codes.get(name="Ana Silva").delete()
    renamed = device.codes.get(name="Bo Li")
    renamed.name = "Bo (cleaner)"
    renamed.save()
    assert lock_reconcile(lock=lock) == 1
    assert codes_on(lock)["Ana Silva"] == first.access_code.pin
    assert CodeEvent.objects.filter(kind="changed_by_hand").count() == 1


def test_reconnecting_any_number_of_times_leaves_one_copy_of_each_code(
    clock, prop, lock, django_capture_on_commit_callbacks
):
    # rules Y3, L3, N2
    from accesscodes.services import connection_codes_resync

    connection = lock.connection
    device = device_of(lock)
    done = book(prop, starts_in=timedelta(hours=5), external_id="A")
    settle()
    device.account.revoked = True
    device.account.save()
    pending = book(
        prop, starts_in=timedelta(hours=6), external_id="B", name="Bo Li", reservation_code="HMBO"
    )
    settle()
    for _ in range(3):
        device.account.revoked = False
        device.account.save()
        LockConnection.objects.filter(pk=connection.pk).update(state="connected")
        connection.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            connection_codes_resync(connection=connection)
    assert codes_on(lock) == {
        "Ana Silva": done.access_code.pin,
        "HMBO": pending.access_code.pin,
    }
    assert device.codes.count() == 2


def test_a_cancelled_stays_cut_window_is_retried_when_the_lock_went_offline_before_it_showed(
    clock, prop, lock
):  # rules C3, S6, R1: a change acknowledged but not applied, then the lock offline, is
    # still followed until the lock shows it, although the cut window has already ended
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}
    device = device_of(lock)
    device.fault_count, device.fault_reason = 1, Reason.VENDOR_ERROR
    device.fault_mode = SimulatedDevice.FaultMode.ACK_NEVER_APPLIED
    device.save()
    reservation_cancel(reservation=reservation)  # the update is acknowledged, never applied
    settle()
    SimulatedDevice.objects.filter(pk=device.pk).update(online=False)
    clock.shift(timedelta(minutes=1))
    settle()  # the look for the change finds the lock offline
    SimulatedDevice.objects.filter(pk=device.pk).update(online=True)
    lock_code = reservation.access_code.lock_codes.get()
    lock_code.refresh_from_db()
    assert lock_code.next_attempt_at is not None, "the stale window on the lock was given up"
    for _ in range(6):  # the retries of R1, well within the day before its deletion (D1)
        clock.move_to(max(lock_code.next_attempt_at, timezone.now()) + timedelta(seconds=1))
        settle()
        lock_code.refresh_from_db()
        if lock_code.next_attempt_at is None or lock_code.state == LockCode.State.REMOVED:
            break
    [code] = SimulatedCode.objects.filter(device=device, never_applies=False)
    assert code.ends_at <= timezone.now(), "the cancelled guest's code still opens the door"
