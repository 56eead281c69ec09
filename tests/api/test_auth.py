"""API keys: shown once, stored hashed, revocable; both Token and Bearer schemes work."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from properties.models import ApiToken
from properties.services import api_token_create, api_token_revoke
from tests.factories import PropertyFactory, UserFactory


def test_a_request_without_a_key_is_refused_with_401(host):
    response = APIClient().get("/api/v1/properties/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_an_unknown_key_is_refused_with_401(host):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token lsk_not-a-real-key")
    assert client.get("/api/v1/properties/").status_code == 401


def test_the_key_is_stored_only_as_a_hash(host_user):
    token, key = api_token_create(user=host_user, name="PMS")
    stored = ApiToken.objects.get(pk=token.pk)
    assert key.startswith("lsk_") and len(key) > 40
    assert key not in (stored.key_hash, stored.prefix)
    assert stored.prefix == key[:12]


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
def test_token_and_bearer_schemes_both_authenticate(host, host_user, scheme):
    PropertyFactory(host=host, name="Casa Azul")
    _, key = api_token_create(user=host_user, name="PMS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    response = client.get("/api/v1/properties/")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["results"]] == ["Casa Azul"]
    assert ApiToken.objects.get().last_used_at is not None


def test_a_revoked_key_stops_working(host_user):
    token, key = api_token_create(user=host_user, name="PMS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/properties/").status_code == 200
    api_token_revoke(token=token)
    assert client.get("/api/v1/properties/").status_code == 401


def test_a_user_without_a_host_cannot_get_a_key(db):
    with pytest.raises(Exception, match="no host"):
        api_token_create(user=UserFactory(), name="PMS")


def test_the_create_api_token_command_prints_a_working_key_once(host, host_user):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token",
        user="hannah@example.com",
        name="Channel manager",
        stdout=out,
        stderr=err,
    )
    key = out.getvalue().strip()
    assert "shown once" in err.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/properties/").status_code == 200
    assert ApiToken.objects.get().name == "Channel manager"


def test_the_revoke_api_token_command_revokes_by_prefix(host_user):
    token, key = api_token_create(user=host_user, name="PMS")
    call_command("revoke_api_token", key[:12], stdout=io.StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None
