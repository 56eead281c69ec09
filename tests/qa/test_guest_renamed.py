"""A host corrects the guest's name after booking: the lock follows (SPEC N1, N2)."""

from datetime import timedelta

import pytest

from accesscodes.models import LockCode
from reservations.services import reservation_alter
from tests.accesscodes.conftest import days, settle
from tests.qa.helpers import book, on_lock

pytestmark = pytest.mark.django_db


def test_a_name_corrected_before_the_code_is_sent_goes_to_the_lock(clock, prop, lock):
    # rule N1: the name on the lock is the guest's full name, as it is when the code is sent
    reservation = book(prop, starts_in=days(5), name="Ana Slva")
    reservation_alter(reservation=reservation, guest_name="Ana Silva")
    clock.move_to(reservation.access_code.starts_at - days(3))
    settle()
    assert set(on_lock(lock)) == {"Ana Silva"}


def test_a_renamed_guest_code_on_the_lock_is_renamed_with_the_same_pin(clock, prop, lock):
    # rules N1, C1
    reservation = book(prop, starts_in=timedelta(hours=5), name="Ana Silva")
    settle()
    pin = reservation.access_code.pin
    reservation_alter(reservation=reservation, guest_name="Bea Costa")
    settle()
    assert {name: held[0] for name, held in on_lock(lock).items()} == {"Bea Costa": pin}


def test_a_new_name_the_lock_cannot_show_falls_back_to_the_reservation_code(clock, prop, lock):
    # rule N2: "(" is outside GSM 03.38
    reservation = book(prop, starts_in=timedelta(hours=5), external_id="R7")
    settle()
    reservation_alter(reservation=reservation, guest_name="Ana (Silva)")
    settle()
    assert LockCode.objects.get().name_on_lock == "HMR7"
    assert set(on_lock(lock)) == {"HMR7"}
