"""One harness per vendor: the adapter under test plus the switches of its fake.

The contract suite drives every vendor through the same methods, so a scenario is written
once and proves the same behaviour on the simulator, Nuki, Seam, TTLock, RemoteLock,
igloohome and Home Assistant.
"""

from __future__ import annotations

import pytest

from integrations.models import Lock, SimulatedAccount, SimulatedDevice
from integrations.registry import adapter_for
from tests.factories import LockConnectionFactory, LockFactory, SimulatedCodeFactory
from tests.fakes import homeassistant, igloohome, nuki, remotelock, seam, ttlock


class SimulatorHarness:
    vendor = "simulator"
    can_refresh = False

    def __init__(self, host) -> None:
        self.lock = LockFactory(connection__host=host)
        self.connection = self.lock.connection
        self.lock_id = self.lock.remote_id
        self.device.confirm_delay_seconds = 5
        self.device.save()

    @property
    def device(self) -> SimulatedDevice:
        return SimulatedDevice.objects.get(device_id=self.lock_id)

    @property
    def adapter(self):
        self.connection.refresh_from_db()
        return adapter_for(self.connection)

    def _fault(self, mode, reason="") -> None:
        SimulatedDevice.objects.filter(pk=self.device.pk).update(
            fault_count=1, fault_mode=mode, fault_reason=reason or "timeout"
        )

    def set_battery(self, percent: int) -> None:
        SimulatedDevice.objects.filter(pk=self.device.pk).update(battery_level=percent)

    def go_offline(self) -> None:
        SimulatedDevice.objects.filter(pk=self.device.pk).update(online=False)

    def add_code_by_hand(self, *, pin: str, name: str) -> None:
        SimulatedCodeFactory(device=self.device, pin=pin, name=name)

    def fill(self) -> None:
        device = self.device
        SimulatedDevice.objects.filter(pk=device.pk).update(capacity=device.codes.count())

    def revoke(self) -> None:
        SimulatedAccount.objects.filter(api_key=self.connection.credentials["api_key"]).update(
            revoked=True
        )

    def rate_limit(self) -> None:
        self._fault(SimulatedDevice.FaultMode.FAIL, "rate_limited")

    def timeout_next_write(self) -> None:
        self._fault(SimulatedDevice.FaultMode.TIMEOUT_APPLIED)

    def drop_next_write(self) -> None:
        self._fault(SimulatedDevice.FaultMode.ACK_NEVER_APPLIED)


class FakeHarness:
    """Common switches of the HTTP fakes."""

    can_refresh = False

    def __init__(self, fake, lock_id, connection) -> None:
        self.fake, self.lock_id, self.connection = fake, lock_id, connection

    @property
    def adapter(self):
        self.connection.refresh_from_db()
        return adapter_for(self.connection)

    def _native_id(self):
        return self.lock_id

    def set_battery(self, percent: int) -> None:
        self.fake.set_battery(self._native_id(), percent)

    def go_offline(self) -> None:
        self.fake.set_offline(self._native_id())

    def add_code_by_hand(self, *, pin: str, name: str) -> None:
        self.fake.add_code_by_hand(self._native_id(), code=pin, name=name)

    def fill(self) -> None:
        self.fake.fill(self._native_id())

    def revoke(self) -> None:
        self.fake.revoke()

    def rate_limit(self) -> None:
        self.fake.rate_limited = True

    def timeout_next_write(self) -> None:
        self.fake.timeout_next_writes = 1

    def drop_next_write(self) -> None:
        self.fake.drop_next_writes = 1


class NukiHarness(FakeHarness):
    vendor = "nuki"

    def __init__(self, host, fake: nuki.FakeNuki) -> None:
        smartlock_id = fake.add_smartlock("Front door")
        connection = LockConnectionFactory(
            host=host, vendor="nuki", name="Nuki", credentials={"api_token": "nuki-token"}
        )
        super().__init__(fake, str(smartlock_id), connection)

    def _native_id(self):
        return int(self.lock_id)


class TTLockHarness(FakeHarness):
    vendor = "ttlock"
    can_refresh = True

    def __init__(self, host, fake: ttlock.FakeTTLock) -> None:
        lock_id = fake.add_lock("Front door")
        connection = LockConnectionFactory(
            host=host,
            vendor="ttlock",
            name="TTLock",
            credentials={"username": "host@example.com", "password_md5": ttlock.md5("s3cret")},
        )
        super().__init__(fake, str(lock_id), connection)

    def _native_id(self):
        return int(self.lock_id)

    def expire_token(self) -> None:
        self.fake.expire_tokens()


class SeamHarness(FakeHarness):
    vendor = "seam"

    def __init__(self, host, fake: seam.FakeSeam) -> None:
        device_id = fake.add_device("Front door")
        connection = LockConnectionFactory(
            host=host, vendor="seam", name="Seam", credentials={"api_key": "seam_testkey_fake"}
        )
        super().__init__(fake, device_id, connection)

    def set_battery(self, percent: int) -> None:
        self.fake.set_battery(self.lock_id, percent / 100)


class RemoteLockHarness(FakeHarness):
    vendor = "remotelock"
    can_refresh = True

    def __init__(self, host, fake: remotelock.FakeRemoteLock) -> None:
        device_id = fake.add_lock("Front door")
        connection = LockConnectionFactory(
            host=host,
            vendor="remotelock",
            name="RemoteLock",
            credentials={
                "client_id": remotelock.CLIENT_ID,
                "client_secret": remotelock.CLIENT_SECRET,
            },
        )
        super().__init__(fake, device_id, connection)

    def expire_token(self) -> None:
        self.fake.expire_tokens()


class HomeAssistantHarness(FakeHarness):
    vendor = "homeassistant"

    def __init__(self, host, fake: homeassistant.FakeHomeAssistant) -> None:
        entity_id = fake.add_lock("Front door")
        connection = LockConnectionFactory(
            host=host,
            vendor="homeassistant",
            name="Home Assistant",
            credentials={"base_url": fake.url, "access_token": homeassistant.TOKEN},
        )
        # The slot range and the names locksync wrote live on the lock's row.
        Lock.objects.create(connection=connection, remote_id=entity_id, name="Front door")
        super().__init__(fake, entity_id, connection)


class IgloohomeHarness(FakeHarness):
    """An offline keypad: algoPINs need no connection, cannot be listed, made by hand or
    fill the lock, so the scenarios built on those are not this vendor's (see test_igloohome)."""

    vendor = "igloohome"
    can_refresh = True

    def __init__(self, host, fake: igloohome.FakeIgloohome) -> None:
        device_id = fake.add_lock("Front door")
        connection = LockConnectionFactory(
            host=host,
            vendor="igloohome",
            name="igloohome",
            credentials={
                "client_id": igloohome.CLIENT_ID,
                "client_secret": igloohome.CLIENT_SECRET,
            },
        )
        super().__init__(fake, device_id, connection)

    def _not_here(self, what: str):
        pytest.skip(f"igloohome algoPIN locks: {what}")

    def go_offline(self) -> None:
        self._not_here("they need no connection, so they are never offline")

    def add_code_by_hand(self, *, pin: str, name: str) -> None:
        self._not_here("igloohome computes every PIN, so none can clash with ours")

    def fill(self) -> None:
        self._not_here("algoPINs take no room on the lock")

    def expire_token(self) -> None:
        self.fake.expire_tokens()
