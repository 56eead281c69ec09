"""Inputs that once answered 500 answer 4xx and change nothing; the schema says what is sent."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from messaging.models import MessageRule
from properties.models import Property
from reservations.models import ICalFeed, Reservation
from tests.factories import LockFactory, MatchFactory, PropertyFactory, SmartLockSettingsFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _winter_2026():
    with time_machine.travel(datetime(2026, 2, 1, 12, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def lisbon(host):
    return PropertyFactory(host=host, name="Casa Azul", time_zone="Europe/Lisbon")


def booking(prop, **overrides):
    payload = {
        "external_id": "BK-1",
        "property": prop.pk,
        "guest_name": "Ana Silva",
        "check_in_date": "2026-07-01",
        "check_out_date": "2026-07-04",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def phone_pins(host):
    match = MatchFactory(lock__connection__host=host, property__host=host)
    SmartLockSettingsFactory(host=host, code_source="phone")
    return match.property


@pytest.mark.parametrize(
    ("phone", "pin"),
    [
        ("+1 646 ٣٣٣ ٤٨٦٧", "4867"),  # Arabic-Indic digits read as the digits they are
        ("+1 415 ٧٢٣ ٤٠٠٠", "4000"),
    ],
)
def test_phone_pins_are_ascii_digits_read_by_phonenumbers(api, phone_pins, phone, pin):
    # rule P3: a PIN is ASCII 0-9 only, always
    response = api.post(
        "/api/v1/reservations/", booking(phone_pins, guest_phone=phone), format="json"
    )
    assert response.status_code == 201, response.content
    code = Reservation.objects.get().access_code
    assert code.pin.isascii() and code.pin.isdigit()
    assert (code.pin, code.pin_source) == (pin, "phone")


def test_superscripts_are_no_phone_number_and_are_refused(api, phone_pins):
    # rules P3, G8: "²³⁴⁵" are not digits; a number typed into the API must be usable
    # (issue #23), so it is refused rather than stored and a random PIN made.
    response = api.post(
        "/api/v1/reservations/", booking(phone_pins, guest_phone="²³⁴⁵²³⁴⁵"), format="json"
    )
    assert response.status_code == 400
    assert "not a valid phone number" in response.json()["guest_phone"][0]
    assert not Reservation.objects.exists()


def test_json_nested_100000_deep_is_a_400(api, lisbon):
    body = "[" * 100_000 + "]" * 100_000
    response = api.generic("POST", "/api/v1/reservations/", body, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("path", ["BK%00-1", "%00", "a%01b"])
def test_a_nul_or_control_byte_in_an_external_id_is_a_404(api, lisbon, path):
    assert api.get(f"/api/v1/reservations/{path}/").status_code == 404
    response = api.put(f"/api/v1/reservations/{path}/", booking(lisbon), format="json")
    assert response.status_code == 404
    assert not Reservation.objects.exists()


def test_a_nul_byte_in_an_external_id_in_the_body_is_a_400(api, lisbon):
    response = api.post(
        "/api/v1/reservations/", booking(lisbon, external_id="BK\x001"), format="json"
    )
    assert response.status_code == 400
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("field", ["guest_name", "guest_phone", "reservation_code", "external_id"])
def test_a_number_for_a_text_field_is_a_400(api, lisbon, field):
    response = api.post("/api/v1/reservations/", booking(lisbon, **{field: 12345}), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Reservation.objects.exists()


def test_a_number_for_a_property_name_is_a_400(api):
    response = api.post(
        "/api/v1/properties/", {"name": 42, "time_zone": "Europe/Lisbon"}, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()
    assert not Property.objects.exists()


@pytest.mark.parametrize("value", [1.5, True, "1", [1], {"id": 1}])
def test_an_id_must_be_a_whole_number(api, lisbon, value):
    # 1.5 was read as 1
    response = api.post(
        "/api/v1/reservations/",
        booking(lisbon, property=value if value != "1" else str(lisbon.pk) + ".5"),
        format="json",
    )
    assert response.status_code == 400
    assert "property" in response.json()
    assert not Reservation.objects.exists()


def test_a_lock_id_of_1_5_is_a_400(api, host, lisbon):
    lock = LockFactory(connection__host=host)
    response = api.post(
        "/api/v1/matches/", {"lock": lock.pk + 0.5, "property": lisbon.pk}, format="json"
    )
    assert response.status_code == 400


def test_a_message_rule_needs_at_least_one_property(api, lisbon):
    payload = {"name": "Arrival", "body": "Hi", "trigger": "booking_accepted", "properties": []}
    response = api.post("/api/v1/message-rules/", payload, format="json")
    assert response.status_code == 400
    assert not MessageRule.objects.exists()


def test_the_schema_declares_what_the_api_accepts_and_returns():
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    components = schema.json()["components"]["schemas"]
    assert components["MessageRuleRequest"]["properties"]["properties"]["minItems"] == 1
    # guest_email is "" when the host gave none, so it is not declared as an email
    assert "format" not in components["Reservation"]["properties"]["guest_email"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/", "http://169.254.169.254/latest/"])
def test_an_ical_feed_on_an_internal_address_is_a_400_and_not_saved(api, lisbon, url):
    # rule F1
    response = api.post(
        "/api/v1/ical-feeds/",
        {"property": lisbon.pk, "url": url, "source": "airbnb"},
        format="json",
    )
    assert response.status_code == 400
    assert "public addresses only" in response.json()["url"][0]
    assert not ICalFeed.objects.exists()
