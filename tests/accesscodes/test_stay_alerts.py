"""A code failing on a lock for a guest staying now raises an alert at once (issue #24 wall 4);
one open alert per stay and lock, none for a stay not yet begun."""

from datetime import timedelta

from accesscodes.models import LockCode
from messaging.models import HostAlert
from tests.accesscodes.conftest import device_of, settle
from tests.accesscodes.test_lifecycle import book


def _fail_on_lock(clock, prop, lock, starts_in):
    device = device_of(lock)
    device.online = False
    device.save()
    reservation = book(prop, starts_in=starts_in, nights=4)
    lock_code = reservation.access_code.lock_codes.get()
    clock.move_to(max(lock_code.next_attempt_at, reservation.check_in + timedelta(hours=1)))
    settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.FAILED
    return reservation


def test_a_code_failing_during_the_stay_raises_one_alert(clock, prop, lock):
    reservation = _fail_on_lock(clock, prop, lock, timedelta(hours=-1))
    alerts = HostAlert.objects.filter(kind=HostAlert.Kind.CODE_FAILING_IN_STAY)
    assert alerts.count() == 1
    alert = alerts.get()
    assert lock.name in alert.subject and "Ana Silva" in alert.subject
    assert "the lock was offline" in alert.body
    assert alert.link == f"/inbox/{reservation.pk}/"
    clock.shift(timedelta(hours=3))
    settle()
    assert alerts.count() == 1


def test_a_failure_before_the_stay_raises_no_in_stay_alert(clock, prop, lock):
    device = device_of(lock)
    device.online = False
    device.save()
    reservation = book(prop, starts_in=timedelta(days=2), nights=4)
    lock_code = reservation.access_code.lock_codes.get()
    clock.move_to(lock_code.next_attempt_at)
    settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.FAILED
    assert not HostAlert.objects.filter(kind=HostAlert.Kind.CODE_FAILING_IN_STAY).exists()
