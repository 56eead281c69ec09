"""PMS fixtures: a property with a simulated lock, and each PMS's fake on localhost."""

from __future__ import annotations

import json
from datetime import date, time, timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from pms.models import PmsConnection, PmsListing
from tests.accesscodes.conftest import codes_on, settle
from tests.factories import MatchFactory, PropertyFactory, SmartLockSettingsFactory
from tests.fakes.pms import FakeGuesty, FakeHospitable, FakeHostaway, FakeSmoobu
from tests.fakes.server import FakeServer

__all__ = ["codes_on", "day", "post_webhook", "settle"]


def day(offset: int) -> str:
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def as_date(offset: int) -> date:
    return timezone.localdate() + timedelta(days=offset)


def post_webhook(client, connection, body, *, secret=None, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    # The view queues the work on commit; run it as the worker would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            f"/webhooks/pms/{connection.pk}/{secret or connection.webhook_secret}/",
            data=raw,
            content_type="application/json",
            headers=headers or {},
        )


@pytest.fixture
def prop(host):
    SmartLockSettingsFactory(host=host)
    return PropertyFactory(
        host=host,
        name="Alfama Loft",
        time_zone="Europe/Lisbon",
        checkin_time=time(16),
        checkout_time=time(11),
    )


@pytest.fixture
def other_prop(host):
    return PropertyFactory(host=host, name="Porto River View", time_zone="Europe/Lisbon")


@pytest.fixture
def lock(prop):
    return MatchFactory(property=prop, lock__connection__host=prop.host).lock


@pytest.fixture
def other_lock(other_prop, lock):
    return MatchFactory(property=other_prop, lock__connection=lock.connection).lock


@pytest.fixture
def hospitable(settings):
    fake = FakeHospitable()
    fake.listings = {"prop-uuid-1": "Alfama Loft (Lisbon)", "prop-uuid-2": "Porto River View"}
    with FakeServer(fake) as server:
        settings.HOSPITABLE_API_URL = f"{server.url}/v2"
        yield fake


@pytest.fixture
def smoobu(settings):
    fake = FakeSmoobu()
    fake.listings = {"101": "Alfama Loft", "102": "Porto River View"}
    with FakeServer(fake) as server:
        settings.SMOOBU_API_URL = f"{server.url}/api"
        yield fake


def _connect(host, pms, credentials, prop, listing_id):
    connection = PmsConnection.objects.create(host=host, pms=pms, credentials=credentials)
    PmsListing.objects.create(
        connection=connection, remote_id=listing_id, name="listing", property=prop
    )
    return connection


@pytest.fixture
def hospitable_connection(host, prop, lock, hospitable):
    return _connect(host, "hospitable", {"token": FakeHospitable.token}, prop, "prop-uuid-1")


@pytest.fixture
def smoobu_connection(host, prop, lock, smoobu):
    return _connect(host, "smoobu", {"api_key": FakeSmoobu.api_key}, prop, "101")


@pytest.fixture
def hostaway(settings):
    fake = FakeHostaway()
    fake.listings = {"201": "Alfama Loft"}
    with FakeServer(fake) as server:
        settings.HOSTAWAY_API_URL = f"{server.url}/v1"
        yield fake


@pytest.fixture
def guesty(settings):
    fake = FakeGuesty()
    fake.listings = {"gl-1": "Alfama Loft"}
    with FakeServer(fake) as server:
        settings.GUESTY_API_URL = f"{server.url}/v1"
        settings.GUESTY_TOKEN_URL = f"{server.url}/oauth2"
        yield fake


@pytest.fixture
def hostaway_connection(host, prop, lock, hostaway):
    credentials = {"client_id": FakeHostaway.client_id, "client_secret": FakeHostaway.client_secret}
    return _connect(host, "hostaway", credentials, prop, "201")


@pytest.fixture
def guesty_connection(host, prop, lock, guesty):
    credentials = {"client_id": FakeGuesty.client_id, "client_secret": FakeGuesty.client_secret}
    return _connect(host, "guesty", credentials, prop, "gl-1")


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
