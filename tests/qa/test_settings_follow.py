"""A host changes smart lock settings while guests have codes on locks."""

from datetime import timedelta

import pytest
from django.urls import reverse

from properties.services import smart_lock_settings_reset, smart_lock_settings_update
from tests.accesscodes.conftest import days, settle
from tests.factories import MatchFactory, PropertyFactory
from tests.qa.helpers import book, on_lock

pytestmark = pytest.mark.django_db

SETTINGS_FORM = {
    "code_source": "random",
    "code_length": 4,
    "buffer_before": 2,
    "buffer_before_unit": "hours",
    "buffer_after": 30,
    "buffer_after_unit": "minutes",
    "backup_pool_size": 3,
}


def test_new_buffers_reach_the_codes_already_on_the_lock_with_the_same_pin(
    clock, prop, lock, client
):  # rules W1, C1
    in_stay = book(prop, starts_in=-days(1), external_id="NOW", name="In Stay")
    upcoming = book(prop, starts_in=timedelta(hours=5), external_id="NEXT", name="Next Guest")
    settle()
    pins = {r.guest_name: r.access_code.pin for r in (in_stay, upcoming)}

    client.force_login(prop.host.members.get().user)
    response = client.post(reverse("host_settings"), SETTINGS_FORM)
    assert response.status_code == 302
    settle()

    before, after = timedelta(hours=2), timedelta(minutes=30)
    assert on_lock(lock) == {
        r.guest_name: (pins[r.guest_name], r.check_in - before, r.check_out + after)
        for r in (in_stay, upcoming)
    }


def test_a_property_override_and_its_reset_move_only_that_propertys_windows(
    clock, prop, lock
):  # rule W1
    other = MatchFactory(lock__connection=lock.connection, property=PropertyFactory(host=prop.host))
    here = book(prop, starts_in=timedelta(hours=5), external_id="HERE")
    there = book(other.property, starts_in=timedelta(hours=5), external_id="THERE", name="Bo")
    settle()

    smart_lock_settings_update(host=prop.host, property=prop, buffer_after=timedelta(hours=3))
    settle()
    assert on_lock(lock)["Ana Silva"][2] == here.check_out + timedelta(hours=3)
    assert on_lock(other.lock)["Bo"][2] == there.check_out

    smart_lock_settings_update(host=prop.host, buffer_after=timedelta(hours=1))
    settle()
    # The override wins for its property; the defaults reach the other one.
    assert on_lock(lock)["Ana Silva"][2] == here.check_out + timedelta(hours=3)
    assert on_lock(other.lock)["Bo"][2] == there.check_out + timedelta(hours=1)

    smart_lock_settings_reset(host=prop.host, property=prop)
    settle()
    assert on_lock(lock)["Ana Silva"][2] == here.check_out + timedelta(hours=1)


def test_a_stay_whose_access_ended_keeps_its_window(clock, prop, lock):  # rules W1, D1
    past = book(prop, starts_in=-days(2), external_id="PAST")
    settle()
    clock.shift(days(2))
    ends_at = past.access_code.ends_at
    smart_lock_settings_update(host=prop.host, buffer_after=timedelta(hours=6))
    past.access_code.refresh_from_db()
    assert past.access_code.ends_at == ends_at
