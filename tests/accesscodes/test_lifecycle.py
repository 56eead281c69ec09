"""The code lifecycle on simulated locks: scheduling, matching, changes and deletion."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from accesscodes.models import AccessCode, CodeEvent, LockCode
from integrations.services import match_create, match_delete
from reservations.services import (
    reservation_alter,
    reservation_cancel,
    reservation_move,
    reservation_upsert,
)
from tests.accesscodes.conftest import codes_on, days, device_of, settle
from tests.factories import (
    LockFactory,
    MatchFactory,
    PropertyFactory,
    SimulatedCodeFactory,
)

pytestmark = pytest.mark.django_db


def book(prop, *, starts_in: timedelta, nights: int = 3, name="Ana Silva", external_id="B1", **kw):
    check_in = timezone.now() + starts_in
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id=external_id,
        property=prop,
        guest_name=name,
        check_in=check_in,
        check_out=check_in + days(nights),
        reservation_code=kw.pop("reservation_code", "HMABC123"),
        **kw,
    )
    return reservation


def test_accepting_creates_the_pin_at_once_and_sends_it_three_days_ahead(
    clock, prop, lock
):  # rules S1, S2
    reservation = book(prop, starts_in=days(5))
    access_code = reservation.access_code
    assert access_code.pin and len(access_code.pin) == 4
    lock_code = access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SCHEDULED
    assert lock_code.next_attempt_at == access_code.starts_at - days(3)

    clock.move_to(lock_code.next_attempt_at - timedelta(seconds=1))
    settle()
    assert codes_on(lock) == {}

    clock.move_to(lock_code.next_attempt_at)
    settle()
    assert codes_on(lock) == {"Ana Silva": access_code.pin}
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert lock_code.confirmation == LockCode.Confirmation.READ_BACK


def test_permanent_only_locks_get_the_code_ten_minutes_before_and_lose_it_at_window_end(
    clock, prop, lock
):  # rules S2, W2, D1
    device = device_of(lock)
    device.time_bound_codes = False
    device.save()
    lock.capabilities = device.capability_record().to_json()
    lock.save()
    reservation = book(prop, starts_in=days(2))
    access_code = reservation.access_code
    clock.move_to(access_code.starts_at - timedelta(minutes=10, seconds=1))
    settle()
    assert codes_on(lock) == {}
    clock.move_to(access_code.starts_at - timedelta(minutes=10))
    settle()
    assert list(codes_on(lock).values()) == [access_code.pin]
    clock.move_to(access_code.ends_at - timedelta(seconds=1))
    settle()
    assert codes_on(lock)
    clock.move_to(access_code.ends_at)
    settle()
    assert codes_on(lock) == {}


def test_a_stay_inside_the_lead_time_is_sent_at_once(clock, prop, lock):  # rule S3
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_one_pin_on_every_lock_of_the_property(clock, prop, lock, second_lock):  # rule M2
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    pin = reservation.access_code.pin
    assert codes_on(lock) == {"Ana Silva": pin}
    assert codes_on(second_lock) == {"Ana Silva": pin}


def test_matching_a_lock_creates_codes_for_current_and_future_stays_only(clock, prop, lock):
    # rule M3
    in_stay = book(prop, starts_in=-days(1), external_id="NOW", name="In Stay")
    future = book(prop, starts_in=timedelta(hours=6), external_id="NEXT", name="Next Guest")
    clock.shift(days(5))
    settle()
    new_lock = LockFactory(connection=lock.connection)
    clock.move_to(in_stay.check_in + days(1))
    match_create(lock=new_lock, property=prop)
    settle()
    assert set(codes_on(new_lock)) == {"In Stay", "Next Guest"}
    assert future.access_code.lock_codes.count() == 2


def test_unmatching_deletes_our_codes_from_that_lock_at_once(clock, prop, lock):  # rule M4
    book(prop, starts_in=timedelta(hours=5))
    hand_made = SimulatedCodeFactory(device=device_of(lock), pin="9182", name="Cleaner")
    settle()
    assert "Ana Silva" in codes_on(lock)
    match_delete(match=lock.matches.get(property=prop))
    settle()
    assert codes_on(lock) == {"Cleaner": hand_made.pin}


def test_window_follows_the_property_zone_across_dst(clock, prop, lock):  # rule W1
    # Lisbon leaves summer time on 2026-10-25: 16:00 local is 15:00 UTC before, 16:00 after.
    before = prop.local_datetime(timezone.datetime(2026, 10, 24).date(), time(16))
    after = prop.local_datetime(timezone.datetime(2026, 10, 26).date(), time(16))
    assert (before.hour, after.hour) == (15, 16)


def test_extending_a_stay_updates_the_window_on_the_lock_and_keeps_the_pin(
    clock, prop, lock
):  # rule C1
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    pin = reservation.access_code.pin
    reservation_alter(reservation=reservation, check_out=reservation.check_out + days(2))
    settle()
    device_code = device_of(lock).codes.get()
    assert device_code.pin == pin
    assert device_code.ends_at == reservation.check_out


def test_moving_a_stay_moves_the_code_and_keeps_the_pin(clock, prop, lock):  # rule C2
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    pin = reservation.access_code.pin
    other = PropertyFactory(host=prop.host)
    other_lock = MatchFactory(property=other, lock__connection=lock.connection).lock
    reservation_move(reservation=reservation, property=other)
    settle()
    assert codes_on(lock) == {}
    assert codes_on(other_lock) == {"Ana Silva": pin}


def test_cancelling_before_sending_drops_the_operation(clock, prop, lock):  # rule C3
    reservation = book(prop, starts_in=days(10))
    reservation_cancel(reservation=reservation)
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.REMOVED
    clock.shift(days(8))
    settle()
    assert codes_on(lock) == {}


def test_cancelling_a_set_code_cuts_its_window_and_deletes_it_24h_later(
    clock, prop, lock
):  # rules C3, D1
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    reservation_cancel(reservation=reservation)
    settle()
    device_code = device_of(lock).codes.get()
    assert device_code.ends_at <= timezone.now()
    clock.shift(days(1) - timedelta(seconds=1))
    settle()
    assert codes_on(lock)
    clock.shift(timedelta(seconds=1))
    settle()
    assert codes_on(lock) == {}


def test_code_is_deleted_24h_after_the_window_ends_and_never_a_hand_made_one(
    clock, prop, lock
):  # rules D1, D2
    hand_made = SimulatedCodeFactory(device=device_of(lock), pin="9182", name="Ana Silva")
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    ends_at = reservation.access_code.ends_at
    clock.move_to(ends_at + days(1) - timedelta(seconds=1))
    settle()
    assert len(device_of(lock).codes.all()) == 2
    clock.move_to(ends_at + days(1))
    settle()
    assert list(device_of(lock).codes.values_list("code_id", flat=True)) == [hand_made.code_id]


def test_every_change_writes_an_event_without_the_pin(clock, prop, lock):  # SPEC §3
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    pin = reservation.access_code.pin
    kinds = list(CodeEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds[:3] == ["code_created", "scheduled", "sending"]
    assert "set" in kinds
    for event in CodeEvent.objects.all():
        assert pin not in str(event.before) + str(event.after) + event.reason


def test_upserting_the_same_reservation_twice_changes_nothing(clock, prop, lock):
    first = book(prop, starts_in=days(5))
    second = book(prop, starts_in=days(5))
    assert first.pk == second.pk
    assert AccessCode.objects.count() == 1 and LockCode.objects.count() == 1


def test_a_stay_moved_later_leaves_a_permanent_only_lock_until_its_new_send_time(
    clock, prop, lock
):  # rules W2, C1
    device = device_of(lock)
    device.time_bound_codes = False
    device.save()
    lock.capabilities = device.capability_record().to_json()
    lock.save()
    reservation = book(prop, starts_in=timedelta(minutes=5))
    settle()
    assert codes_on(lock)
    reservation_alter(
        reservation=reservation,
        check_in=reservation.check_in + days(7),
        check_out=reservation.check_out + days(7),
    )
    settle()
    assert codes_on(lock) == {}
    clock.move_to(reservation.check_in - timedelta(minutes=10))
    settle()
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_one_lock_serves_several_properties_and_a_property_several_locks(
    clock, prop, lock, second_lock
):  # rules M1, M2
    annex = PropertyFactory(host=prop.host)
    match_create(lock=lock, property=annex)
    main_guest = book(prop, starts_in=timedelta(hours=3), external_id="MAIN")
    annex_guest = book(annex, starts_in=timedelta(hours=4), external_id="ANNEX", name="Bo Li")
    settle()
    assert codes_on(lock) == {
        "Ana Silva": main_guest.access_code.pin,
        "Bo Li": annex_guest.access_code.pin,
    }
    assert codes_on(second_lock) == {"Ana Silva": main_guest.access_code.pin}
