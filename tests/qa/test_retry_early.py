""" "Retry now" on a code that is only waiting for its send time (SPEC S2, W2, V4)."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accesscodes.models import LockCode
from tests.accesscodes.conftest import days, device_of, settle
from tests.qa.helpers import book, on_lock

pytestmark = pytest.mark.django_db


@pytest.fixture
def permanent_only(lock):
    device = device_of(lock)
    device.time_bound_codes = False
    device.save()
    lock.capabilities = device.capability_record().to_json()
    lock.save()
    return lock


def test_support_retrying_a_scheduled_code_does_not_open_the_door_days_early(
    client, support_agent, clock, prop, permanent_only
):  # rules W2, S2: a permanent code is set 10 minutes before the window, not 5 days
    reservation = book(prop, starts_in=days(5))
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SCHEDULED
    client.force_login(support_agent)
    client.post(
        reverse("admin:accesscodes_lockcode_changelist"),
        {"action": "retry_now", "_selected_action": [lock_code.pk]},
    )
    settle()
    assert on_lock(permanent_only) == {}


def test_a_host_posting_retry_for_a_scheduled_code_does_not_send_it_early(
    client, clock, prop, permanent_only
):  # rules W2, V4: the panel hides Retry for waiting codes, but a stale page still posts it
    reservation = book(prop, starts_in=days(5))
    lock_code = reservation.access_code.lock_codes.get()
    client.force_login(prop.host.members.get().user)
    client.post(reverse("lock_code_retry", args=[lock_code.pk]))
    settle()
    assert on_lock(permanent_only) == {}
    lock_code.refresh_from_db()
    assert lock_code.next_attempt_at == reservation.access_code.starts_at - timedelta(minutes=10)
