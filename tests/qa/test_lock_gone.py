"""A host removes a matched lock from the vendor's app (replaced, returned, broken)."""

from datetime import timedelta

import pytest

from accesscodes.models import LockCode
from integrations.connections import locks_import
from messaging.models import HostAlert
from tests.accesscodes.conftest import device_of, settle
from tests.qa.helpers import book, on_lock

pytestmark = pytest.mark.django_db


@pytest.fixture
def gone_lock(clock, prop, lock, second_lock):
    device_of(second_lock).delete()
    locks_import(connection=lock.connection)
    second_lock.refresh_from_db()
    assert not second_lock.is_present
    return second_lock


def test_the_host_is_told_once_that_a_matched_lock_left_the_account(
    prop, gone_lock, mailoutbox
):  # rules L2, M4: the lock leaves the lock list, so the host must hear where to act
    [alert] = HostAlert.objects.filter(host=prop.host)
    assert gone_lock.name in alert.subject
    assert prop.name in alert.body and "unmatch" in alert.body
    assert alert.link == f"/properties/{prop.pk}/"
    assert [gone_lock.name in mail.subject for mail in mailoutbox] == [True]

    locks_import(connection=gone_lock.connection)
    assert HostAlert.objects.filter(host=prop.host).count() == 1


def test_an_unmatched_lock_leaving_the_account_needs_no_alert(clock, prop, lock):
    from tests.factories import LockFactory

    spare = LockFactory(connection=lock.connection)
    device_of(spare).delete()
    locks_import(connection=lock.connection)
    assert not HostAlert.objects.exists()


def test_a_new_stay_gets_no_code_on_a_lock_the_vendor_no_longer_lists(
    prop, lock, gone_lock
):  # rules M2, R2
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    assert set(on_lock(lock)) == {"Ana Silva"}
    assert list(
        LockCode.objects.filter(access_code=reservation.access_code).values_list(
            "lock_id", flat=True
        )
    ) == [lock.pk]


def test_a_lock_listed_again_gets_the_codes_of_stays_booked_while_it_was_gone(
    prop, lock, gone_lock
):  # rules M2, M3: back in the account, it is a matched lock like any other
    from integrations.models import SimulatedAccount, SimulatedDevice

    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    account = SimulatedAccount.objects.get(api_key=gone_lock.connection.credentials["api_key"])
    SimulatedDevice.objects.create(
        account=account, device_id=gone_lock.remote_id, name=gone_lock.name
    )
    locks_import(connection=gone_lock.connection)
    settle()
    gone_lock.refresh_from_db()
    assert gone_lock.is_present
    assert set(on_lock(gone_lock)) == {"Ana Silva"}
    assert on_lock(gone_lock)["Ana Silva"][0] == reservation.access_code.pin


def test_a_code_already_on_a_lock_that_drops_out_of_the_listing_is_kept(
    clock, prop, lock, second_lock
):  # rules M2, D1: a listing glitch must not take a guest's code away on the next change
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    second_lock.is_present = False
    second_lock.save(update_fields=["is_present"])
    from reservations.services import reservation_alter

    reservation_alter(reservation=reservation, check_out=reservation.check_out + timedelta(days=1))
    settle()
    kept = LockCode.objects.get(access_code=reservation.access_code, lock=second_lock)
    assert kept.state != LockCode.State.REMOVED
