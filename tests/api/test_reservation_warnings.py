"""The API accepts overlapping stays (channel managers send them on purpose) and says so in a
`warnings` field of its answer."""

from datetime import UTC, datetime

import pytest
import time_machine

from reservations.models import Reservation
from tests.factories import PropertyFactory


@pytest.fixture(autouse=True)
def _winter_2026():
    with time_machine.travel(datetime(2026, 2, 1, 12, 0, tzinfo=UTC), tick=True):
        yield


def booking(prop, external_id: str, check_in: str, check_out: str, name: str) -> dict:
    return {
        "external_id": external_id,
        "property": prop.pk,
        "guest_name": name,
        "check_in_date": check_in,
        "check_out_date": check_out,
    }


def test_an_overlapping_stay_is_accepted_with_a_warning_naming_the_other(host, api):
    lisbon = PropertyFactory(host=host, time_zone="Europe/Lisbon")
    first = api.post(
        "/api/v1/reservations/",
        booking(lisbon, "A-1", "2026-07-01", "2026-07-04", "Ana Silva"),
        format="json",
    )
    assert first.status_code == 201 and first.json()["warnings"] == []

    second = api.post(
        "/api/v1/reservations/",
        booking(lisbon, "B-2", "2026-07-03", "2026-07-06", "Bruno Reis"),
        format="json",
    )

    assert second.status_code == 201
    [warning] = second.json()["warnings"]
    assert warning["code"] == "overlap" and warning["reservation"] == "A-1"
    assert "Ana Silva" in warning["message"] and "+01:00" in warning["message"]
    assert Reservation.objects.filter(status="accepted").count() == 2


def test_back_to_back_stays_do_not_warn(host, api):
    lisbon = PropertyFactory(host=host, time_zone="Europe/Lisbon")
    api.post(
        "/api/v1/reservations/",
        booking(lisbon, "A-1", "2026-07-01", "2026-07-04", "Ana Silva"),
        format="json",
    )
    second = api.post(
        "/api/v1/reservations/",
        booking(lisbon, "B-2", "2026-07-04", "2026-07-06", "Bruno Reis"),
        format="json",
    )
    assert second.status_code == 201 and second.json()["warnings"] == []
