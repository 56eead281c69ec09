"""Guest phones are kept in E.164, read in the property's country; bad ones never crash."""

import pytest

from reservations.phones import phone_normalise, region_for_time_zone
from tests.factories import PropertyFactory


@pytest.mark.parametrize(
    ("time_zone", "region"),
    [
        ("Europe/Lisbon", "PT"),
        ("Atlantic/Madeira", "PT"),
        ("America/New_York", "US"),
        ("Europe/London", "GB"),
        ("Australia/Sydney", "AU"),
        ("UTC", None),
        ("Not/AZone", None),
    ],
)
def test_the_default_country_comes_from_the_propertys_time_zone(time_zone, region):
    assert region_for_time_zone(time_zone) == region


def test_a_national_number_is_read_in_the_propertys_country():
    phone = phone_normalise(raw="912 345 678", time_zone="Europe/Lisbon")
    assert (phone.e164, phone.valid) == ("+351912345678", True)


def test_the_same_digits_in_new_york_are_a_us_number():
    phone = phone_normalise(raw="(415) 723-4000", time_zone="America/New_York")
    assert (phone.e164, phone.valid) == ("+14157234000", True)


def test_an_international_number_keeps_its_own_country():
    phone = phone_normalise(raw="+44 20 7946 0958", time_zone="Europe/Lisbon")
    assert phone.e164 == "+442079460958"


def test_an_international_number_is_read_even_without_a_country():
    assert phone_normalise(raw="+351 912 345 678", time_zone="UTC").e164 == "+351912345678"


@pytest.mark.parametrize("raw", ["call me", "12", "+999 123", "912 345 678 999 999 999", "²³⁴⁵"])
def test_a_bad_number_is_kept_as_given_and_marked_invalid(raw):
    phone = phone_normalise(raw=raw, time_zone="Europe/Lisbon")
    assert (phone.raw, phone.e164, phone.valid) == (raw, "", False)


def test_digits_of_other_scripts_are_kept_as_the_ascii_digits_they_mean():
    # rule P3: a keypad types only 0-9
    assert phone_normalise(raw="٣٤٥", time_zone="Europe/Lisbon").raw == "345"
    phone = phone_normalise(raw="+1 555 ٣٣٣ ٤٨٦٧", time_zone="America/New_York")
    assert (phone.raw, phone.valid, phone.last_digits(4)) == ("+1 555 333 4867", False, "4867")


def test_no_number_is_simply_not_valid():
    assert phone_normalise(raw="  ", time_zone="Europe/Lisbon").valid is False


def test_the_last_digits_come_from_the_normalised_number():
    # rule P3
    phone = phone_normalise(raw="+351 912-345-678", time_zone="Europe/Lisbon")
    assert phone.last_digits(4) == "5678"
    assert phone.last_digits(6) == "345678"
    assert phone_normalise(raw="12", time_zone="Europe/Lisbon").last_digits(4) == ""


@pytest.mark.django_db
def test_a_reservation_keeps_its_e164_phone_in_step_with_the_phone_given():
    from tests.factories import ReservationFactory

    reservation = ReservationFactory(
        property=PropertyFactory(time_zone="Europe/Lisbon"), guest_phone="912 345 678"
    )
    assert (reservation.guest_phone_e164, reservation.guest_phone_valid) == ("+351912345678", True)
    reservation.guest_phone = "not a phone"
    reservation.save(update_fields=["guest_phone"])
    reservation.refresh_from_db()
    assert (reservation.guest_phone_e164, reservation.guest_phone_valid) == ("", False)
    assert reservation.guest_phone == "not a phone"
