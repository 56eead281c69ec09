"""The healthcheck digest reads in the property's time, the zone named (rule V5)."""

from datetime import timedelta

import pytest

from accesscodes.healthcheck import healthcheck_run
from tests.accesscodes.conftest import settle
from tests.accesscodes.test_healthcheck import failing_lock, utc
from tests.accesscodes.test_lifecycle import book

pytestmark = pytest.mark.django_db


def test_the_healthcheck_email_gives_check_in_and_next_attempt_in_the_propertys_zone_named(
    clock, prop, lock, mailoutbox
):  # rules V5, H2
    clock.move_to(utc(2026, 6, 1, 11, 0))
    failing_lock(lock)
    reservation = book(prop, starts_in=timedelta(hours=10), name="Ana Silva")
    settle()
    mailoutbox.clear()
    clock.move_to(utc(2026, 6, 1, 12, 0))
    healthcheck_run()
    [email] = mailoutbox
    lock_code = reservation.access_code.lock_codes.get()
    check_in = reservation.check_in.astimezone(prop.zone)  # Lisbon in June: WEST, UTC+1
    retry = lock_code.next_attempt_at.astimezone(prop.zone)
    assert f"check-in {check_in:%a} {check_in.day} {check_in:%b, %H:%M} WEST" in email.body
    assert f"next attempt {retry:%a} {retry.day} {retry:%b, %H:%M} WEST" in email.body
