"""The guest's side: a stay on simulated locks, its private link, and a fixed clock."""

import re
from datetime import time, timedelta

import pytest
from django.core.cache import cache

from accesscodes import services
from guests.services import guest_link_issue
from properties.models import SmartLockSettings
from tests.accesscodes.conftest import clock, codes_on, device_of, lock, second_lock, settle
from tests.accesscodes.test_lifecycle import book
from tests.factories import PropertyFactory, SmartLockSettingsFactory
from tests.integrations.test_webhooks import nuki_lock, seam_lock, ttlock_lock

__all__ = [
    "book",
    "clock",
    "codes_on",
    "device_of",
    "lock",
    "nuki_lock",
    "seam_lock",
    "second_lock",
    "settle",
    "ttlock_lock",
]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def prop(host):
    SmartLockSettingsFactory(host=host)
    return PropertyFactory(
        host=host,
        name="Altbau Loft",
        address="Kastanienallee 12, Berlin",
        time_zone="Europe/Berlin",
        checkin_time=time(16),
        checkout_time=time(11),
    )


def backups_on(prop, size: int = 1) -> None:
    SmartLockSettings.objects.filter(host=prop.host, property__isnull=True).update(
        backup_codes_enabled=True, backup_pool_size=size
    )


def backup_pool_placed(*locks) -> None:
    """Put each lock's backup pool on the simulated lock and read it back (SPEC H3, H5)."""
    for each in locks:
        services.backup_pool_ensure(lock=each)
    settle()


def link_path(reservation) -> str:
    url = guest_link_issue(reservation=reservation)
    return re.sub(r"^https?://[^/]+", "", url)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
