"""Support reads and edits reservation times in the property's zone, sees each code's lock
state and failure history on the reservation, and cancels instead of deleting (SPEC V5, C3)."""

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import LockCode
from reservations.models import Reservation
from tests.factories import CodeEventFactory, LockCodeFactory, MatchFactory, ReservationFactory

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def stay(host):
    match = MatchFactory(
        lock__connection__host=host,
        lock__device__name="Stoop Door",
        property__host=host,
        property__time_zone="America/New_York",
    )
    day = (timezone.now() + timedelta(days=20)).astimezone(NEW_YORK).date()
    check_in = datetime(day.year, day.month, day.day, 16, tzinfo=NEW_YORK)
    reservation = ReservationFactory(
        property=match.property,
        guest_name="Brook Lyn",
        check_in=check_in,
        check_out=check_in + timedelta(days=2, hours=-5),
    )
    lock_code = LockCodeFactory(access_code__reservation=reservation, lock=match.lock)
    return reservation, lock_code


@pytest.fixture
def agent(client, support_agent):
    client.force_login(support_agent)
    return client


def change_url(reservation) -> str:
    return reverse("admin:reservations_reservation_change", args=[reservation.pk])


def test_the_change_page_shows_check_in_as_the_propertys_wall_clock(agent, stay):  # V5
    reservation, _ = stay
    page = agent.get(change_url(reservation)).text
    assert 'name="check_in_1" value="16:00:00"' in page
    assert "America/New_York time" in page
    listing = agent.get(reverse("admin:reservations_reservation_changelist")).text
    assert "16:00 (America/New_York)" in listing


def test_saving_the_shown_time_does_not_move_the_stay(agent, stay):  # V5
    reservation, _ = stay
    local_in = reservation.check_in.astimezone(NEW_YORK)
    local_out = reservation.check_out.astimezone(NEW_YORK)
    data = {
        "host": reservation.host_id,
        "property": reservation.property_id,
        "external_id": reservation.external_id,
        "reservation_code": reservation.reservation_code,
        "guest_name": "Brook Lyn",
        "guest_phone": "",
        "guest_phone_last_digits": "",
        "guest_email": reservation.guest_email,
        "check_in_0": local_in.date().isoformat(),
        "check_in_1": "17:00",
        "check_out_0": local_out.date().isoformat(),
        "check_out_1": local_out.strftime("%H:%M"),
        "status": "accepted",
        "source": reservation.source,
    }
    response = agent.post(change_url(reservation), data)
    assert response.status_code == 302, response.content[:3000]
    reservation.refresh_from_db()
    assert reservation.check_in.astimezone(NEW_YORK).strftime("%H:%M") == "17:00"
    assert reservation.check_out == local_out


def test_the_reservation_shows_its_codes_lock_states_and_failure_history(agent, stay):
    reservation, lock_code = stay
    LockCode.objects.filter(pk=lock_code.pk).update(state="set", attempts=2, last_error="")
    CodeEventFactory(
        access_code=lock_code.access_code,
        lock_code=lock_code,
        kind="failed",
        reason="lock_offline: simulated failure",
    )
    page = html.unescape(agent.get(change_url(reservation)).text)
    assert "Stoop Door" in page
    assert reverse("admin:accesscodes_lockcode_change", args=[lock_code.pk]) in page
    assert "the lock was offline (simulated failure)" in page
    assert "failed before, now recovered" in page
    assert "(America/New_York)" in page


def test_deleting_is_replaced_by_cancelling_through_the_service(agent, stay):  # C3
    reservation, lock_code = stay
    delete = agent.post(
        reverse("admin:reservations_reservation_delete", args=[reservation.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    cancel_url = reverse("admin:reservations_reservation_cancel", args=[reservation.pk])
    assert cancel_url in agent.get(change_url(reservation)).text
    assert "Yes, cancel the reservation" in agent.get(cancel_url).text

    assert agent.post(cancel_url).status_code == 302

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    lock_code.refresh_from_db()
    assert lock_code.access_code.cancelled_at is not None
    assert Reservation.objects.filter(pk=reservation.pk).exists()


def test_the_cancel_action_cancels_the_selected_reservations(agent, stay):  # C3
    reservation, _ = stay
    response = agent.post(
        reverse("admin:reservations_reservation_changelist"),
        {"action": "cancel_selected", "_selected_action": [reservation.pk]},
    )
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED


def test_a_retried_codes_page_keeps_its_failure_history(agent, stay):
    _, lock_code = stay
    LockCode.objects.filter(pk=lock_code.pk).update(state="set", last_error="")
    CodeEventFactory(
        access_code=lock_code.access_code, lock_code=lock_code, kind="failed", reason="timeout: 30s"
    )
    page = html.unescape(
        agent.get(reverse("admin:accesscodes_lockcode_change", args=[lock_code.pk])).text
    )
    assert "the lock service did not answer in time (30s)" in page
    assert "(America/New_York)" in page
