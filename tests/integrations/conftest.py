"""Fixtures serving each vendor's fake on localhost and pointing the settings at it."""

import pytest
import time_machine
from django.utils import timezone

from tests.fakes import nuki, seam, ttlock
from tests.fakes.server import FakeServer
from tests.integrations import harness


@pytest.fixture
def fake_nuki(settings):
    fake = nuki.FakeNuki()
    with FakeServer(fake) as server:
        settings.NUKI_API_URL = server.url
        yield fake


@pytest.fixture
def fake_ttlock(settings):
    fake = ttlock.FakeTTLock()
    with FakeServer(fake) as server:
        settings.TTLOCK_API_URL = server.url
        settings.TTLOCK_CLIENT_ID = ttlock.CLIENT_ID
        settings.TTLOCK_CLIENT_SECRET = ttlock.CLIENT_SECRET
        yield fake


@pytest.fixture
def fake_seam(settings):
    fake = seam.FakeSeam()
    with FakeServer(fake) as server:
        settings.SEAM_API_URL = server.url
        yield fake


@pytest.fixture
def clock():
    """A stopped clock the test moves by hand; the fakes' threads see it too."""
    with time_machine.travel(timezone.now().replace(microsecond=0), tick=False) as traveller:
        yield traveller


# One line per vendor in the contract suite: its harness, built on the `fake_<vendor>` fixture.
HARNESSES = {
    "nuki": harness.NukiHarness,
    "seam": harness.SeamHarness,
    "ttlock": harness.TTLockHarness,
}
VENDORS = ["simulator", *HARNESSES]


@pytest.fixture(params=VENDORS)
def vendor(request, host, clock):
    """The harness of one vendor, its fake already serving."""
    if request.param == "simulator":
        return harness.SimulatorHarness(host)
    fake = request.getfixturevalue(f"fake_{request.param}")
    return HARNESSES[request.param](host, fake)
