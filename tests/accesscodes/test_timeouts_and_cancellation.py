"""A stay cancelled while its code's write times out (found by the chaos helper's real-worker
run): the write may have reached the lock, so it must be found, tracked and cut (S9, C3, R4)."""

from datetime import timedelta

import pytest

from accesscodes import services
from integrations.base import Reason, VendorError
from integrations.simulator import SimulatorAdapter
from reservations.services import reservation_cancel
from tests.accesscodes.conftest import codes_on, settle
from tests.accesscodes.test_engine_rules import window_on
from tests.accesscodes.test_lifecycle import book

pytestmark = pytest.mark.django_db


def cancel_then_time_out(monkeypatch, reservation) -> None:
    """The vendor applies the create, the stay is cancelled meanwhile, and the answer is lost."""
    original = SimulatorAdapter.create_code
    done = []

    def create_cancel_and_time_out(adapter, lock_remote_id, spec):
        remote = original(adapter, lock_remote_id, spec)
        if done:
            return remote
        done.append(True)
        reservation_cancel(reservation=reservation)
        raise VendorError(Reason.TIMEOUT, "no answer from the lock service")

    monkeypatch.setattr(SimulatorAdapter, "create_code", create_cancel_and_time_out)


def test_a_stay_cancelled_while_its_write_times_out_has_its_window_cut_on_the_lock_within_minutes(
    clock, prop, lock, monkeypatch
):  # rules S9, C3, R4
    reservation = book(prop, starts_in=-timedelta(hours=5))  # in-stay: the window is cut now
    cancel_then_time_out(monkeypatch, reservation)
    settle()
    clock.shift(timedelta(minutes=5))
    settle()
    access_code = reservation.access_code
    access_code.refresh_from_db()
    assert access_code.cancelled_at is not None
    _starts_at, ends_at = window_on(lock, "Ana Silva")
    assert ends_at == access_code.cancelled_at, "the lock keeps the full window"
    lock_code = access_code.lock_codes.get()
    assert lock_code.vendor_code_id, "the code on the lock is left untracked"
    assert lock_code.delete_after == access_code.cancelled_at + services.DELETE_GRACE


def test_a_stay_cancelled_while_its_write_times_out_leaves_the_lock_a_day_later(
    clock, prop, lock, monkeypatch
):  # rules C3, D1, R4
    reservation = book(prop, starts_in=-timedelta(hours=5))
    cancel_then_time_out(monkeypatch, reservation)
    settle()
    clock.shift(services.DELETE_GRACE + timedelta(minutes=1))
    settle()
    clock.shift(timedelta(minutes=1))  # the lock lists it no more: gone
    settle()
    assert "Ana Silva" not in codes_on(lock)
    assert reservation.access_code.lock_codes.get().state == "removed"
