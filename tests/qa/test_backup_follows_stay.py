"""A guest who was given a backup code ("Code not working?") and whose stay then changes."""

from datetime import timedelta

import pytest

from accesscodes.models import BackupCode
from reservations.services import reservation_alter, reservation_cancel, reservation_move
from tests.factories import MatchFactory, PropertyFactory
from tests.guests.conftest import _fresh_rate_limits, hours, settle  # noqa: F401
from tests.guests.test_guest_page import in_stay
from tests.qa.helpers import on_lock

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_backup(client, clock, prop, lock, django_capture_on_commit_callbacks):
    """A guest in their stay who pressed "Code not working?" and holds Backup 1."""
    reservation, path = in_stay(client, clock, prop, lock)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{path}locks/{lock.pk}/help/")
    backup = BackupCode.objects.get(reservation=reservation)
    assert on_lock(lock)["Backup 1"][0] == backup.pin
    return reservation, backup


def test_a_cancelled_guest_loses_the_backup_code_at_once(clock, lock, with_backup):
    # rules C3, H3: a cancelled stay's access ends at cancellation, backup code included
    reservation, backup = with_backup
    reservation_cancel(reservation=reservation)
    settle()
    assert backup.pin not in {pin for pin, _, _ in on_lock(lock).values()}
    assert "Backup 1" in on_lock(lock)  # a fresh one takes its place (H3)


def test_a_stay_cut_short_now_takes_the_backup_code_away(clock, lock, with_backup):
    # rules C1, H3: the host ends the stay early (the guest left or was asked to)
    reservation, backup = with_backup
    reservation_alter(reservation=reservation, check_out=clock_now())
    settle()
    assert backup.pin not in {pin for pin, _, _ in on_lock(lock).values()}


def test_an_extended_stay_keeps_its_backup_code_to_the_new_end(clock, lock, with_backup):
    # rules C1, H3: the guest's own code is still not set; the backup must last the stay
    reservation, backup = with_backup
    old_end = reservation.access_code.ends_at
    reservation_alter(reservation=reservation, check_out=reservation.check_out + timedelta(days=2))
    clock.move_to(old_end + hours(1))
    settle()
    assert on_lock(lock)["Backup 1"][0] == backup.pin
    backup.refresh_from_db()
    assert backup.reservation_id == reservation.pk


def test_a_stay_moved_away_leaves_the_backup_code_of_its_old_lock(clock, prop, lock, with_backup):
    # rules C2, H3
    reservation, backup = with_backup
    elsewhere = MatchFactory(
        lock__connection=lock.connection, property=PropertyFactory(host=prop.host)
    )
    reservation_move(reservation=reservation, property=elsewhere.property)
    settle()
    assert backup.pin not in {pin for pin, _, _ in on_lock(lock).values()}


def clock_now():
    from django.utils import timezone

    return timezone.now()


def test_unmatching_the_lock_takes_the_stays_backup_code_off_it(clock, prop, lock, with_backup):
    # rules M4, H3: the lock stays matched to another property, so its pool stays, but the
    # unmatched property's guest no longer has access there
    from integrations.models import Match
    from integrations.services import match_delete

    reservation, backup = with_backup
    MatchFactory(lock=lock, property=PropertyFactory(host=prop.host))
    match_delete(match=Match.objects.get(lock=lock, property=prop))
    settle()
    assert backup.pin not in {pin for pin, _, _ in on_lock(lock).values()}
    assert "Ana Silva" not in on_lock(lock)
