"""Lock connections, locks with their live code list, matches and resync over the API."""

import pytest

from integrations.models import Match, SimulatedDevice
from tests.factories import (
    BackupCodeFactory,
    LockCodeFactory,
    LockConnectionFactory,
    LockFactory,
    MatchFactory,
    PropertyFactory,
    ReservationFactory,
    SimulatedCodeFactory,
)


def test_connections_are_listed_without_credentials(host, other_host, api):
    LockConnectionFactory(host=host, name="My simulator")
    LockConnectionFactory(host=other_host)
    response = api.get("/api/v1/lock-connections/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == ["My simulator"]
    assert "credentials" not in rows[0]


def test_another_hosts_connection_and_lock_answer_404(other_host, api):
    lock = LockFactory(connection__host=other_host)
    assert api.get(f"/api/v1/lock-connections/{lock.connection.pk}/").status_code == 404
    assert api.get(f"/api/v1/locks/{lock.pk}/").status_code == 404
    assert api.get(f"/api/v1/locks/{lock.pk}/codes/").status_code == 404
    assert api.post(f"/api/v1/locks/{lock.pk}/resync/").status_code == 404


def test_a_lock_shows_its_capacity_and_matched_properties(host, api):
    match = MatchFactory(lock__connection__host=host)
    response = api.get(f"/api/v1/locks/{match.lock.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == match.lock.name
    assert body["capacity"] == 100
    assert body["matched_property_ids"] == [match.property.pk]


def test_the_live_code_list_marks_ours_apart_from_pre_existing_codes(host, api):
    # rule D2: the host must see which codes locksync will never touch
    lock = LockFactory(connection__host=host)
    device = SimulatedDevice.objects.get(device_id=lock.remote_id)
    SimulatedCodeFactory(device=device, code_id="hand-1", name="Cleaner")
    SimulatedCodeFactory(device=device, code_id="ours-1", name="Ana Silva", created_by_hand=False)
    SimulatedCodeFactory(device=device, code_id="backup-1", name="Backup 1", created_by_hand=False)
    reservation = ReservationFactory(property=PropertyFactory(host=host), external_id="BK-1")
    LockCodeFactory(access_code__reservation=reservation, lock=lock, vendor_code_id="ours-1")
    BackupCodeFactory(lock=lock, vendor_code_id="backup-1")

    response = api.get(f"/api/v1/locks/{lock.pk}/codes/")

    assert response.status_code == 200
    by_name = {row["name"]: row for row in response.json()}
    assert by_name["Cleaner"]["origin"] == "pre_existing"
    assert by_name["Ana Silva"]["origin"] == "guest"
    assert by_name["Ana Silva"]["reservation_external_id"] == "BK-1"
    assert by_name["Backup 1"]["origin"] == "backup"
    assert all("pin" not in row for row in response.json())


def test_a_vendor_failure_reading_codes_answers_502_with_the_reason(host, api):
    lock = LockFactory(connection__host=host)
    SimulatedDevice.objects.filter(device_id=lock.remote_id).update(online=False)
    response = api.get(f"/api/v1/locks/{lock.pk}/codes/")
    assert response.status_code == 502
    assert response.json()["reason"] == "lock_offline"


def test_a_match_with_another_hosts_lock_is_a_400_and_stores_nothing(host, other_host, api):
    prop = PropertyFactory(host=host)
    foreign_lock = LockFactory(connection__host=other_host)
    response = api.post(
        "/api/v1/matches/", {"lock": foreign_lock.pk, "property": prop.pk}, format="json"
    )
    assert response.status_code == 400
    assert "lock" in response.json()
    assert not Match.objects.exists()


def test_another_hosts_match_cannot_be_deleted(other_host, api):
    match = MatchFactory(lock__connection__host=other_host)
    assert api.delete(f"/api/v1/matches/{match.pk}/").status_code == 404
    assert Match.objects.filter(pk=match.pk).exists()


def test_matches_list_only_the_hosts_own(host, other_host, api):
    own = MatchFactory(lock__connection__host=host)
    MatchFactory(lock__connection__host=other_host)
    response = api.get("/api/v1/matches/")
    assert [row["id"] for row in response.json()["results"]] == [own.pk]


def test_a_match_is_created_and_deleted_through_the_engine(host, api):
    lock = LockFactory(connection__host=host)
    prop = PropertyFactory(host=host)
    response = api.post("/api/v1/matches/", {"lock": lock.pk, "property": prop.pk}, format="json")
    assert response.status_code == 201, response.json()
    match = Match.objects.get()
    assert (match.lock, match.property) == (lock, prop)

    again = api.post("/api/v1/matches/", {"lock": lock.pk, "property": prop.pk}, format="json")
    assert again.status_code == 400
    assert Match.objects.count() == 1

    assert api.delete(f"/api/v1/matches/{match.pk}/").status_code == 204
    assert not Match.objects.exists()


def test_resync_is_accepted_for_the_hosts_own_lock(host, api):
    lock = LockFactory(connection__host=host)
    response = api.post(f"/api/v1/locks/{lock.pk}/resync/")
    assert response.status_code == 202


@pytest.mark.parametrize("path", ["/api/v1/locks/", "/api/v1/matches/"])
def test_unauthenticated_lock_endpoints_answer_401(db, path):
    from rest_framework.test import APIClient

    assert APIClient().get(path).status_code == 401
