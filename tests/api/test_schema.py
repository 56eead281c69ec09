"""The OpenAPI schema, the docs page without a CDN, and a bounded schemathesis run."""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.specs.openapi.checks import positive_data_acceptance

from properties.services import api_token_create
from tests.factories import (
    AccessCodeFactory,
    LockCodeFactory,
    MatchFactory,
    ReservationFactory,
)


def test_the_schema_is_served_without_a_key(db):
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/reservations/{external_id}/access/" in schema["paths"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(db):
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


@pytest.fixture
def _keep_test_connection():
    """Calls go straight to the WSGI app, so, as Django's test client does, keep the request
    signals from closing the test's database connection (PostgreSQL runs it in a transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(settings, host, host_user, _keep_test_connection):
    settings.API_THROTTLE_RATE = "100000/min"
    # Some data for the generated requests to find, next to ids that do not exist.
    match = MatchFactory(lock__connection__host=host)
    reservation = ReservationFactory(property=match.property, external_id="BK-1")
    LockCodeFactory(access_code=AccessCodeFactory(reservation=reservation), lock=match.lock)
    _, key = api_token_create(user=host_user, name="schemathesis")
    return key


# Loaded at collection: serving the schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_answers_every_generated_request_without_a_500_and_as_documented(case, api_key):
    # Schema-valid input can still be refused on business rules (an unknown time zone, another
    # host's id), so "positive data accepted" does not apply; every other check does.
    case.call_and_validate(
        headers={"Authorization": f"Token {api_key}"},
        excluded_checks=[positive_data_acceptance],
    )
