"""Phone numbers typed into the API are refused when SMS could not use them (SPEC G8)."""

from datetime import UTC, datetime

import pytest
import time_machine

from reservations.models import Reservation
from tests.api.test_reservations import booking
from tests.factories import PropertyFactory


@pytest.fixture(autouse=True)
def _winter_2026():
    with time_machine.travel(datetime(2026, 2, 1, 12, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def lisbon(host):
    return PropertyFactory(host=host, name="Casa Azul", time_zone="Europe/Lisbon")


def test_a_national_number_is_read_in_the_propertys_country_and_stored_as_e164(api, lisbon):
    # rule G8
    response = api.put(
        "/api/v1/reservations/BK-1/", booking(lisbon, guest_phone="912 345 678"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["guest_phone_e164"] == "+351912345678"
    assert response.json()["guest_phone_valid"] is True


@pytest.mark.parametrize("phone", ["12", "+351 912", "call me", "+1 555 333 4867"])
def test_an_invalid_number_is_refused_naming_the_field(api, lisbon, phone):
    # rule G8
    response = api.put(
        "/api/v1/reservations/BK-1/", booking(lisbon, guest_phone=phone), format="json"
    )
    assert response.status_code == 400
    [error] = response.json()["guest_phone"]
    assert f"“{phone}” is not a valid phone number" in error
    assert "read as a number in PT" in error
    assert not Reservation.objects.exists()


def test_changing_to_an_invalid_number_is_refused_and_the_old_one_kept(api, lisbon):
    # rule G8
    api.put("/api/v1/reservations/BK-1/", booking(lisbon), format="json")
    response = api.patch("/api/v1/reservations/BK-1/", {"guest_phone": "0000"}, format="json")
    assert response.status_code == 400
    assert "not a valid phone number" in response.json()["guest_phone"][0]
    assert Reservation.objects.get().guest_phone_e164 == "+351912345678"
    cleared = api.patch("/api/v1/reservations/BK-1/", {"guest_phone": ""}, format="json")
    assert cleared.status_code == 200
    assert Reservation.objects.get().guest_phone == ""
