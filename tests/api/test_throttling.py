"""Requests are throttled per API key with 429 and Retry-After."""

from tests.api.conftest import client_for


def test_a_key_over_its_rate_gets_429_with_retry_after(settings, host_user, api):
    settings.API_THROTTLE_RATE = "3/min"
    statuses = [api.get("/api/v1/properties/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.get("/api/v1/properties/")
    assert int(refused["Retry-After"]) > 0
    assert "throttled" in refused.json()["detail"].lower()


def test_another_key_is_counted_separately(settings, host_user, api):
    settings.API_THROTTLE_RATE = "2/min"
    for _ in range(3):
        api.get("/api/v1/properties/")
    fresh = client_for(host_user)
    assert fresh.get("/api/v1/properties/").status_code == 200
