"""Dispatch plumbing: the on-commit fast path and one worker per lock (rules S3, S4, S5)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accesscodes import services
from accesscodes.engine.lock_pass import LockPass
from accesscodes.models import LockCode, LockLease
from tests.accesscodes.conftest import codes_on, settle
from tests.accesscodes.test_lifecycle import book

pytestmark = pytest.mark.django_db


def test_a_stay_inside_the_lead_time_is_sent_on_commit_without_waiting_for_the_sweep(
    clock, prop, lock, django_capture_on_commit_callbacks
):  # rule S3
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        reservation = book(prop, starts_in=timedelta(hours=2))
    assert callbacks, "the fast path is queued on commit"
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_a_lost_fast_path_task_is_caught_by_the_sweep(clock, prop, lock):  # rule S4
    reservation = book(prop, starts_in=timedelta(hours=2))  # on-commit task never runs here
    assert codes_on(lock) == {}
    settle()
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_a_lock_held_by_another_worker_is_left_alone(clock, prop, lock):  # rule S5
    book(prop, starts_in=timedelta(hours=2))
    LockLease.objects.create(
        lock=lock, holder="other", expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert services.dispatch_due() == 0
    assert codes_on(lock) == {}
    assert LockCode.objects.get().next_attempt_at <= timezone.now()
    clock.shift(timedelta(minutes=1, seconds=1))  # a dead worker's lease runs out
    settle()
    assert codes_on(lock)


def test_one_locks_crash_does_not_hold_up_the_others(clock, prop, lock, second_lock, monkeypatch):
    book(prop, starts_in=timedelta(hours=2))
    real = LockPass.run

    def explode(self, **kwargs):
        if self.lock.pk == lock.pk:
            raise RuntimeError("bug")
        return real(self, **kwargs)

    monkeypatch.setattr(LockPass, "run", explode)
    services.dispatch_due()
    assert codes_on(lock) == {}
    assert codes_on(second_lock)


def test_a_vendor_webhook_confirms_a_code_at_once_instead_of_at_the_next_poll(
    clock, prop, lock, django_capture_on_commit_callbacks
):  # rule S6
    from integrations.webhooks import lock_codes_changed
    from tests.accesscodes.conftest import device_of

    device = device_of(lock)
    device.confirm_delay_seconds = 10
    device.save()
    reservation = book(prop, starts_in=timedelta(hours=2))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SETTING
    clock.shift(timedelta(seconds=11))  # the lock has it; the next poll is 30 s away
    with django_capture_on_commit_callbacks(execute=True):
        lock_codes_changed.send(
            sender=None, lock=lock, code_remote_id=lock_code.vendor_code_id, event="set"
        )
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET


def test_a_broker_that_is_down_does_not_undo_a_committed_change(
    clock, prop, lock, django_capture_on_commit_callbacks, monkeypatch
):  # rule S4
    from accesscodes import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(tasks.lock_dispatch, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        reservation = book(prop, starts_in=timedelta(hours=2))
    assert codes_on(lock) == {}
    settle()
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}
