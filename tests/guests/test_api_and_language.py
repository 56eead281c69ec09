"""The stay's language through the API and on the guest page (rule K4), and the arrival in the
API (rule K5)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from guests.models import Arrival
from tests.api.conftest import client_for
from tests.guests.conftest import book, link_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(host_user):
    return client_for(host_user)


def test_language_is_set_and_changed_through_the_api(api, prop):  # rule K4
    body = {
        "property": prop.pk,
        "guest_name": "Jean Dupont",
        "check_in_date": "2026-12-10",
        "check_out_date": "2026-12-12",
        "language": "fr",
    }
    response = api.put("/api/v1/reservations/R-1/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["language"] == "fr"
    response = api.patch("/api/v1/reservations/R-1/", {"language": "it"}, format="json")
    assert response.json()["language"] == "it"
    response = api.patch("/api/v1/reservations/R-1/", {"language": "xx"}, format="json")
    assert response.status_code == 400
    assert "language" in str(response.json())


def test_arrival_is_in_the_api(api, clock, prop, lock):  # rule K5
    reservation = book(prop, starts_in=timedelta(hours=1))
    assert api.get(f"/api/v1/reservations/{reservation.external_id}/").json()["arrival"] is None
    at = timezone.now() + timedelta(hours=2)
    Arrival.objects.create(
        reservation=reservation,
        lock=lock,
        lock_name=lock.name,
        entered_at=at,
        via=Arrival.Via.GUEST_CODE,
        vendor="seam",
    )
    access = api.get(f"/api/v1/reservations/{reservation.external_id}/access/").json()
    assert access["arrival"]["lock_name"] == lock.name
    assert access["arrival"]["entered_at"] == at.astimezone(prop.zone).isoformat()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "Check-in-Hinweise Ihres Gastgebers"),
        ("fr-FR,fr;q=0.9", "Consignes d'arrivée de votre hôte"),
        ("es-ES", "Indicaciones de llegada de su anfitrión"),
        ("it-IT", "Note per il check-in dal tuo host"),
        ("pt-PT", "Notas de check-in do seu anfitrião"),
        ("en-GB", "Check-in notes from your host"),
        ("ja-JP", "Check-in notes from your host"),  # a language locksync lacks: English
    ],
)
def test_guest_page_speaks_the_browsers_language(client, clock, prop, lock, accept, expected):
    # rule K4
    from guests.models import PropertyGuestInfo

    PropertyGuestInfo.objects.create(property=prop, checkin_notes="Key box at the gate.")
    reservation = book(prop, starts_in=timedelta(days=1))
    body = client.get(link_path(reservation), headers={"accept-language": accept}).content.decode()
    assert expected in body


def test_the_stays_language_wins_over_the_browser(client, clock, prop, lock):  # rule K4
    reservation = book(prop, starts_in=timedelta(days=1))
    reservation.language = "de"
    reservation.save()
    body = client.get(link_path(reservation), headers={"accept-language": "fr"}).content.decode()
    assert "Wird auf" in body or "Bereit auf" in body
    assert '<html lang="de">' in body


def test_the_expired_page_is_translated_too(client, db):  # rule K4
    body = client.get("/g/nothing/", headers={"accept-language": "es"}).content.decode()
    assert "Este enlace ha caducado" in body
