"""A host edits a property while its stays have codes on the locks."""

from datetime import date, datetime, time

import pytest
from django.urls import reverse

from reservations.services import reservation_upsert
from tests.accesscodes.conftest import days, settle
from tests.qa.helpers import on_lock

pytestmark = pytest.mark.django_db


def stay(prop, external_id: str, check_in: str, check_out: str, name: str):
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id=external_id,
        property=prop,
        guest_name=name,
        check_in=prop.local_datetime(date.fromisoformat(check_in), time(16)),
        check_out=prop.local_datetime(date.fromisoformat(check_out), time(11)),
    )
    return reservation


def wall_clock(moment: datetime, prop) -> str:
    return moment.astimezone(prop.zone).strftime("%Y-%m-%d %H:%M")


def test_a_corrected_time_zone_keeps_the_stays_local_times_and_moves_the_codes(
    clock, prop, lock, client
):  # rules W1, C1: the property was set up as Lisbon but is in New York
    clock.move_to(datetime.fromisoformat("2026-05-19T12:00:00+00:00"))
    past = stay(prop, "PAST", "2026-05-20", "2026-05-23", "Past Guest")
    clock.move_to(datetime.fromisoformat("2026-05-31T12:00:00+00:00"))
    current = stay(prop, "NOW", "2026-05-30", "2026-06-02", "In Stay")
    upcoming = stay(prop, "NEXT", "2026-06-02", "2026-06-05", "Next Guest")
    settle()
    pins = {r.guest_name: r.access_code.pin for r in (current, upcoming)}
    past_check_out = past.check_out

    client.force_login(prop.host.members.get().user)
    response = client.post(
        reverse("property_edit", args=[prop.pk]),
        {
            "name": prop.name,
            "address": prop.address,
            "time_zone": "America/New_York",
            "checkin_time": "16:00",
            "checkout_time": "11:00",
        },
    )
    assert response.status_code == 302
    settle()

    prop.refresh_from_db()
    for reservation in (current, upcoming):
        reservation.refresh_from_db()
        assert wall_clock(reservation.check_in, prop).endswith("16:00")
        assert wall_clock(reservation.check_out, prop).endswith("11:00")
    assert on_lock(lock) == {
        r.guest_name: (pins[r.guest_name], r.check_in, r.check_out) for r in (current, upcoming)
    }
    past.refresh_from_db()
    assert past.check_out == past_check_out  # history is not rewritten


def test_a_name_change_leaves_stays_and_codes_alone(clock, prop, lock):  # rule W1
    from properties.services import property_update

    upcoming = stay(prop, "NEXT", "2026-06-02", "2026-06-05", "Next Guest")
    settle()
    before = on_lock(lock)
    property_update(property=prop, name="Casa Nova", checkin_time=time(15))
    settle()
    upcoming.refresh_from_db()
    assert on_lock(lock) == before
    assert wall_clock(upcoming.check_in, prop) == "2026-06-02 16:00"
    assert days(0) == upcoming.access_code.starts_at - upcoming.check_in


def test_a_stay_moved_through_the_api_to_another_time_zone_keeps_its_local_times(
    clock, prop, lock, api
):  # rules W1, C2: as the dashboard and PUT read a moved stay
    from tests.factories import MatchFactory, PropertyFactory

    brooklyn = MatchFactory(
        lock__connection=lock.connection,
        property=PropertyFactory(host=prop.host, time_zone="America/New_York"),
    )
    booking = {
        "property": prop.pk,
        "guest_name": "Ana Silva",
        "check_in_date": "2026-06-03",
        "check_out_date": "2026-06-06",
    }
    assert api.put("/api/v1/reservations/BK1/", booking, format="json").status_code == 201
    response = api.post(
        "/api/v1/reservations/BK1/move/", {"property": brooklyn.property.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["check_in"] == "2026-06-03T16:00:00-04:00"
    assert response.json()["check_out"] == "2026-06-06T11:00:00-04:00"
    settle()
    [(pin, starts_at, ends_at)] = on_lock(brooklyn.lock).values()
    assert wall_clock(starts_at, brooklyn.property) == "2026-06-03 16:00"
    assert wall_clock(ends_at, brooklyn.property) == "2026-06-06 11:00"
    assert on_lock(lock) == {}
