"""API inputs a PMS gets wrong: a clear 400 naming the field, and nothing changed."""

import pytest

from reservations.models import Reservation
from tests.factories import MatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def prop(host):
    return MatchFactory(
        lock__connection__host=host, property__host=host, property__time_zone="Europe/Lisbon"
    ).property


def booking(prop, **overrides):
    return {
        "property": prop.pk,
        "guest_name": "Ana Silva",
        "check_in_date": "2026-07-01",
        "check_out_date": "2026-07-04",
        **overrides,
    }


@pytest.mark.parametrize("time", ["14:00Z", "16:00+02:00", "16:00:00-04:00"])
def test_a_time_with_an_offset_is_refused_not_read_as_local(api, prop, clock, time):
    # rule W1: check-in is the property's wall-clock time; "14:00Z" read as 14:00 Lisbon
    # would open the door an hour off in summer
    response = api.put(
        "/api/v1/reservations/BK1/", booking(prop, check_in_time=time), format="json"
    )
    assert response.status_code == 400
    assert "without an offset" in response.json()["check_in_time"][0]
    assert not Reservation.objects.exists()


def test_a_property_default_time_with_an_offset_is_refused(api, prop, clock):  # rule W1
    response = api.patch(
        f"/api/v1/properties/{prop.pk}/", {"checkin_time": "15:00Z"}, format="json"
    )
    assert response.status_code == 400
    prop.refresh_from_db()
    assert prop.checkin_time.hour == 16


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("status", "cancelled", "/cancel/"),
        ("property", 1, "/move/"),
        ("guest_phne", "+351912345291", "Unknown field."),
    ],
)
def test_a_patch_with_a_field_it_cannot_change_is_a_400_not_a_silent_200(
    api, prop, clock, field, value, hint
):  # rule C3: {"status": "cancelled"} must not answer 200 and leave the guest's code working
    api.put("/api/v1/reservations/BK1/", booking(prop), format="json")
    response = api.patch("/api/v1/reservations/BK1/", {field: value}, format="json")
    assert response.status_code == 400
    assert hint in response.json()[field][0]
    reservation = Reservation.objects.get()
    assert (reservation.status, reservation.guest_phone) == ("accepted", "")


def test_a_put_with_a_misspelt_field_is_a_400_and_stores_nothing(api, prop, clock):
    response = api.put(
        "/api/v1/reservations/BK1/", booking(prop, guest_phne="+351912345291"), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"guest_phne": ["Unknown field."]}
    assert not Reservation.objects.exists()


def test_fields_a_client_echoes_back_from_a_read_are_ignored(api, prop, clock):
    read = api.get(f"/api/v1/properties/{prop.pk}/").json()
    response = api.patch(f"/api/v1/properties/{prop.pk}/", read, format="json")
    assert response.status_code == 200, response.json()


def test_another_hosts_field_on_a_property_is_refused(api, prop, other_host, clock):
    response = api.patch(f"/api/v1/properties/{prop.pk}/", {"host": other_host.pk}, format="json")
    assert response.status_code == 400
    prop.refresh_from_db()
    assert prop.host_id != other_host.pk
