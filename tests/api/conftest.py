"""API fixtures: clients authenticated with real tokens for Hannah (host) and Oscar (other)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from properties.services import api_token_create


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Throttle history lives in the cache; token ids repeat between tests on SQLite.
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api(host_user) -> APIClient:
    return client_for(host_user)


@pytest.fixture
def other_api(other_host) -> APIClient:
    return client_for(other_host.members.get().user)
