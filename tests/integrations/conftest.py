"""Fixtures serving each vendor's fake on localhost and pointing the settings at it."""

import pytest
import time_machine
from django.utils import timezone

from tests.fakes import homeassistant, igloohome, nuki, remotelock, seam, ttlock
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
def fake_remotelock(settings):
    fake = remotelock.FakeRemoteLock()
    with FakeServer(fake) as server:
        settings.REMOTELOCK_API_URL = server.url
        settings.REMOTELOCK_AUTH_URL = server.url
        yield fake


@pytest.fixture
def fake_igloohome(settings):
    fake = igloohome.FakeIgloohome()
    with FakeServer(fake) as server:
        settings.IGLOOHOME_API_URL = server.url
        settings.IGLOOHOME_AUTH_URL = server.url
        settings.IGLOOHOME_JOB_POLL_INTERVAL = 0.0
        yield fake


@pytest.fixture
def fake_homeassistant(settings):
    fake = homeassistant.FakeHomeAssistant()
    with FakeServer(fake) as server:
        settings.HOMEASSISTANT_ALLOW_PRIVATE_URLS = True
        fake.url = server.url
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
    "remotelock": harness.RemoteLockHarness,
    "igloohome": harness.IgloohomeHarness,
    "homeassistant": harness.HomeAssistantHarness,
}
VENDORS = ["simulator", *HARNESSES]


@pytest.fixture(params=VENDORS)
def vendor(request, host, clock):
    """The harness of one vendor, its fake already serving."""
    if request.param == "simulator":
        return harness.SimulatorHarness(host)
    fake = request.getfixturevalue(f"fake_{request.param}")
    return HARNESSES[request.param](host, fake)
