"""A booking cancelled and then accepted again, as a PMS or a support agent sends it."""

from datetime import date, datetime

import pytest

from reservations.models import Reservation
from tests.accesscodes.conftest import settle
from tests.factories import MatchFactory, PropertyFactory
from tests.qa.helpers import on_lock

pytestmark = pytest.mark.django_db


def booking(prop, **overrides):
    return {
        "property": prop.pk,
        "guest_name": "Ana Silva",
        "check_in_date": "2026-06-03",
        "check_out_date": "2026-06-06",
        **overrides,
    }


def local(prop, day: str, hour: int) -> datetime:
    return prop.local_datetime(date.fromisoformat(day), datetime.min.time().replace(hour=hour))


def test_a_cancelled_booking_sent_again_with_new_dates_is_accepted_with_them(
    clock, prop, lock, api
):  # rules S1, C1, C3
    assert api.put("/api/v1/reservations/BK1/", booking(prop), format="json").status_code == 201
    assert api.post("/api/v1/reservations/BK1/cancel/").status_code == 200
    pin = Reservation.objects.get().access_code.pin

    response = api.put(
        "/api/v1/reservations/BK1/",
        booking(prop, check_out_date="2026-06-08", guest_name="Ana Maria Silva"),
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    settle()
    assert on_lock(lock) == {
        "Ana Maria Silva": (pin, local(prop, "2026-06-03", 16), local(prop, "2026-06-08", 11))
    }


def test_a_cancelled_booking_sent_again_for_another_property_lands_there(
    clock, prop, lock, api
):  # rules C2, C3
    elsewhere = MatchFactory(
        lock__connection=lock.connection, property=PropertyFactory(host=prop.host)
    )
    api.put("/api/v1/reservations/BK1/", booking(prop), format="json")
    settle()
    api.post("/api/v1/reservations/BK1/cancel/")

    response = api.put("/api/v1/reservations/BK1/", booking(elsewhere.property), format="json")

    assert response.status_code == 200, response.content
    settle()
    reservation = Reservation.objects.get()
    assert (reservation.status, reservation.property) == ("accepted", elsewhere.property)
    assert on_lock(lock) == {}
    assert set(on_lock(elsewhere.lock)) == {"Ana Silva"}


def test_a_cancelled_booking_sent_again_after_its_new_checkout_is_refused_unchanged(
    clock, prop, lock, api
):  # rule C3
    api.put("/api/v1/reservations/BK1/", booking(prop), format="json")
    api.post("/api/v1/reservations/BK1/cancel/")
    response = api.put(
        "/api/v1/reservations/BK1/",
        booking(prop, check_in_date="2026-05-01", check_out_date="2026-05-04"),
        format="json",
    )
    assert response.status_code == 400
    reservation = Reservation.objects.get()
    assert (reservation.status, reservation.check_out) == (
        "cancelled",
        local(prop, "2026-06-06", 11),
    )


@pytest.mark.parametrize("first", ["accepted", "cancelled"])
def test_a_stay_sent_back_to_inquiry_is_refused_with_what_to_send_and_nothing_changes(
    clock, prop, lock, api, first
):  # rules S1, C3: neither silently kept nor silently dropped
    api.put("/api/v1/reservations/BK1/", booking(prop), format="json")
    if first == "cancelled":
        api.post("/api/v1/reservations/BK1/cancel/")
    settle()
    held = on_lock(lock)
    response = api.put(
        "/api/v1/reservations/BK1/",
        booking(prop, status="inquiry", guest_name="Someone Else"),
        format="json",
    )
    assert response.status_code == 400
    assert "can't go back to an inquiry" in response.content.decode()
    assert "cancelled" in response.content.decode()
    reservation = Reservation.objects.get()
    assert (reservation.status, reservation.guest_name) == (first, "Ana Silva")
    settle()
    assert on_lock(lock) == held
