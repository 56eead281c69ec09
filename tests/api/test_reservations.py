"""Reservations over the API: idempotent upsert by external id, alter, move, cancel, access."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from reservations.api import local_instant
from reservations.models import Reservation
from tests.factories import (
    AccessCodeFactory,
    BackupCodeFactory,
    LockCodeFactory,
    MatchFactory,
    PropertyFactory,
    ReservationFactory,
)


@pytest.fixture(autouse=True)
def _winter_2026():
    # The stays below are in March and July 2026: look at them from before they start.
    with time_machine.travel(datetime(2026, 2, 1, 12, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def lisbon(host):
    return PropertyFactory(host=host, name="Casa Azul", time_zone="Europe/Lisbon")


def booking(prop, **overrides):
    payload = {
        "property": prop.pk,
        "guest_name": "Ana Silva",
        "guest_phone": "+351 912 345 678",
        "guest_email": "ana@example.com",
        "reservation_code": "HMABCDEF12",
        "check_in_date": "2026-07-01",
        "check_out_date": "2026-07-04",
    }
    payload.update(overrides)
    return payload


def test_wall_clock_times_keep_their_local_hour_across_a_dst_change():
    # rule W1: 16:00 is 16:00 in New York on both sides of the March change
    prop = PropertyFactory.build(time_zone="America/New_York")
    before = local_instant(property=prop, day=date(2026, 3, 7), at=time(16, 0))
    after = local_instant(property=prop, day=date(2026, 3, 9), at=time(16, 0))
    assert before.astimezone(UTC) == datetime(2026, 3, 7, 21, 0, tzinfo=UTC)
    assert after.astimezone(UTC) == datetime(2026, 3, 9, 20, 0, tzinfo=UTC)


def test_checkout_before_check_in_is_a_400_on_that_field_and_stores_nothing(lisbon, api):
    response = api.put(
        "/api/v1/reservations/BK-1/",
        booking(lisbon, check_in_date="2026-07-04", check_out_date="2026-07-01"),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["check_out_date"] == ["Checkout must be after check-in."]
    assert not Reservation.objects.exists()


def test_missing_and_malformed_fields_get_one_message_each(lisbon, api):
    response = api.post(
        "/api/v1/reservations/",
        {"property": lisbon.pk, "check_in_date": "July 1st", "guest_email": "nope"},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) >= {"external_id", "guest_name", "check_in_date", "check_out_date"}
    assert "guest_email" in errors
    assert not Reservation.objects.exists()


def test_another_hosts_property_is_unknown_in_a_reservation(other_host, api):
    foreign = PropertyFactory(host=other_host)
    response = api.put("/api/v1/reservations/BK-1/", booking(foreign), format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["property"][0]
    assert not Reservation.objects.exists()


def test_another_hosts_reservation_answers_404_everywhere(other_host, lisbon, api):
    foreign = ReservationFactory(property=PropertyFactory(host=other_host), external_id="OSC-1")
    base = "/api/v1/reservations/OSC-1"
    assert api.get(f"{base}/").status_code == 404
    assert api.patch(f"{base}/", {"guest_name": "X"}, format="json").status_code == 404
    assert api.post(f"{base}/move/", {"property": lisbon.pk}, format="json").status_code == 404
    assert api.post(f"{base}/cancel/").status_code == 404
    assert api.get(f"{base}/access/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == Reservation.Status.ACCEPTED
    assert foreign.guest_name != "X"


def test_reservations_are_listed_with_property_local_times(lisbon, other_host, api):
    ReservationFactory(
        property=lisbon,
        external_id="BK-1",
        check_in=datetime(2026, 7, 1, 15, 0, tzinfo=UTC),
        check_out=datetime(2026, 7, 4, 10, 0, tzinfo=UTC),
    )
    ReservationFactory(property=PropertyFactory(host=other_host))
    rows = api.get("/api/v1/reservations/").json()["results"]
    assert [row["external_id"] for row in rows] == ["BK-1"]
    assert rows[0]["check_in"] == "2026-07-01T16:00:00+01:00"
    assert rows[0]["check_out"] == "2026-07-04T11:00:00+01:00"


def test_access_shows_pin_window_and_each_locks_state(host, lisbon, api):
    match = MatchFactory(lock__connection__host=host, property=lisbon)
    reservation = ReservationFactory(
        property=lisbon,
        external_id="BK-7",
        check_in=datetime(2026, 7, 1, 15, 0, tzinfo=UTC),
        check_out=datetime(2026, 7, 4, 10, 0, tzinfo=UTC),
    )
    access_code = AccessCodeFactory(reservation=reservation, pin="4826")
    LockCodeFactory(
        access_code=access_code,
        lock=match.lock,
        state="failed",
        last_error="lock_offline",
        attempts=2,
        next_attempt_at=datetime(2026, 6, 30, 12, 0, tzinfo=UTC),
    )
    BackupCodeFactory(lock=match.lock, pin="7391", state="set", reservation=reservation)

    response = api.get("/api/v1/reservations/BK-7/access/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["pin"] == "4826"
    assert body["window_starts_at"] == "2026-07-01T16:00:00+01:00"
    assert body["time_zone"] == "Europe/Lisbon"
    [lock] = body["locks"]
    assert lock["lock_name"] == match.lock.name
    assert lock["state"] == "failed"
    assert lock["reason"] == "lock_offline"
    assert lock["next_attempt_at"] == "2026-06-30T13:00:00+01:00"
    assert lock["backup_code"]["pin"] == "7391"
    assert lock["backup_code"]["state"] == "set"
    assert lock["code_to_use"] == "7391"


def test_the_same_put_twice_gives_one_reservation(lisbon, api):
    first = api.put("/api/v1/reservations/BK-1/", booking(lisbon), format="json")
    second = api.put("/api/v1/reservations/BK-1/", booking(lisbon), format="json")
    assert (first.status_code, second.status_code) == (201, 200), first.json()
    assert Reservation.objects.count() == 1
    body = second.json()
    assert body["check_in"] == "2026-07-01T16:00:00+01:00"
    assert body["check_out"] == "2026-07-04T11:00:00+01:00"
    assert body["status"] == "accepted"
    assert body["source"] == "api"


def test_a_post_with_an_existing_external_id_updates_it(lisbon, api):
    api.post("/api/v1/reservations/", booking(lisbon, external_id="BK-2"), format="json")
    response = api.post(
        "/api/v1/reservations/",
        booking(lisbon, external_id="BK-2", check_out_date="2026-07-05"),
        format="json",
    )
    assert response.status_code == 200
    assert Reservation.objects.get().check_out == datetime(2026, 7, 5, 10, 0, tzinfo=UTC)


def test_new_york_times_are_converted_in_the_propertys_zone_across_dst(host, api):
    # rule W1
    prop = PropertyFactory(host=host, time_zone="America/New_York")
    response = api.put(
        "/api/v1/reservations/NY-1/",
        booking(
            prop, check_in_date="2026-03-07", check_out_date="2026-03-09", check_out_time="10:30"
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    reservation = Reservation.objects.get()
    assert reservation.check_in == datetime(2026, 3, 7, 21, 0, tzinfo=UTC)
    assert reservation.check_out == datetime(2026, 3, 9, 14, 30, tzinfo=UTC)
    assert response.json()["check_out"] == "2026-03-09T10:30:00-04:00"


def test_patch_changes_only_what_is_sent(lisbon, api):
    api.put("/api/v1/reservations/BK-1/", booking(lisbon), format="json")
    response = api.patch(
        "/api/v1/reservations/BK-1/", {"check_out_date": "2026-07-06"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["check_out"] == "2026-07-06T11:00:00+01:00"
    assert response.json()["check_in"] == "2026-07-01T16:00:00+01:00"


def test_a_reservation_moves_and_is_cancelled(host, lisbon, api):
    porto = PropertyFactory(host=host, name="Porto Loft", time_zone="Europe/Lisbon")
    api.put("/api/v1/reservations/BK-1/", booking(lisbon), format="json")
    moved = api.post("/api/v1/reservations/BK-1/move/", {"property": porto.pk}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["property"] == porto.pk
    cancelled = api.post("/api/v1/reservations/BK-1/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert Reservation.objects.get().status == Reservation.Status.CANCELLED
