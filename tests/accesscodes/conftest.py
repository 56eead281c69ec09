"""Helpers for engine tests: a world of simulated locks, and letting the system settle."""

from datetime import UTC, datetime, time, timedelta

import pytest

from accesscodes import services
from integrations.models import SimulatedCode, SimulatedDevice
from tests.factories import MatchFactory, PropertyFactory, SmartLockSettingsFactory


def settle(rounds: int = 10) -> None:
    """Run the minute sweeps until nothing more is due now."""
    for _ in range(rounds):
        if not services.dispatch_due() and not services.delete_due():
            return


def device_of(lock) -> SimulatedDevice:
    return SimulatedDevice.objects.get(device_id=lock.remote_id)


def codes_on(lock) -> dict[str, str]:
    """What the simulated lock holds and lists: name -> PIN."""
    return {
        code.name: code.pin
        for code in SimulatedCode.objects.filter(
            device__device_id=lock.remote_id, never_applies=False
        )
    }


@pytest.fixture
def prop(host):
    SmartLockSettingsFactory(host=host)
    return PropertyFactory(
        host=host, time_zone="Europe/Lisbon", checkin_time=time(16), checkout_time=time(11)
    )


@pytest.fixture
def lock(prop):
    return MatchFactory(property=prop, lock__connection__host=prop.host).lock


@pytest.fixture
def second_lock(prop, lock):
    return MatchFactory(property=prop, lock__connection=lock.connection).lock


def local(prop, day: datetime | str, at: time) -> datetime:
    if isinstance(day, str):
        day = datetime.fromisoformat(day)
    return prop.local_datetime(day.date() if isinstance(day, datetime) else day, at)


@pytest.fixture
def clock():
    """Freeze time at a known instant; tests move it with clock.shift / clock.move_to."""
    import time_machine

    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def days(n: float) -> timedelta:
    return timedelta(days=n)
