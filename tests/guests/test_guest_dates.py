"""The guest page's dates in the guest's language, in the property's time with its zone named
(rules K2, K4, V5), against a fake clock: 1 June 2026, 09:00 UTC."""

from datetime import timedelta

import pytest

from tests.guests.conftest import book, link_path

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "check_in", "checkout", "zone_note"),
    [
        (
            "de",
            "Samstag, 6. Juni 2026, 11:00",
            "Dienstag, 9. Juni 2026, 11:00",
            "Ortszeit der Unterkunft (Europe/Berlin)",
        ),
        (
            "es",
            "sábado, 6 de junio de 2026, 11:00",
            "martes, 9 de junio de 2026, 11:00",
            "(Europe/Berlin)",
        ),
        (
            "en",
            "Saturday 6 June 2026, 11:00",
            "Tuesday 9 June 2026, 11:00",
            "Times are local time at the property (Europe/Berlin).",
        ),
    ],
)
def test_the_stay_reads_in_the_guests_language_and_the_propertys_time(
    client, clock, prop, lock, language, check_in, checkout, zone_note
):  # rules K2, K4, V5: 09:00 UTC is 11:00 in Berlin in June
    reservation = book(prop, starts_in=timedelta(days=5))
    reservation.language = language
    reservation.save(update_fields=["language"])
    body = client.get(link_path(reservation)).content.decode()
    assert f"<strong>{check_in}</strong>" in body
    assert f"<strong>{checkout}</strong>" in body
    assert zone_note in body


def test_the_reveal_time_reads_in_the_guests_language(client, clock, prop, lock):  # rule K2, K4
    reservation = book(prop, starts_in=timedelta(days=5))
    reservation.language = "de"
    reservation.save(update_fields=["language"])
    body = client.get(link_path(reservation)).content.decode()
    assert "Der Code erscheint hier am Mittwoch, 3. Juni, 11:00." in body
