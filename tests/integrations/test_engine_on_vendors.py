"""A slice of the engine's rules run on every real vendor's fake, not only on the simulator:
codes reach the lock, a PIN already on the lock is avoided, an offline lock is retried, and a
cancelled stay's code leaves the lock."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from accesscodes.models import LockCode
from integrations.connections import connection_create, connection_reconnect
from integrations.services import match_create
from reservations.services import reservation_cancel, reservation_upsert
from tests.accesscodes.conftest import settle
from tests.factories import PropertyFactory, SmartLockSettingsFactory

pytestmark = pytest.mark.django_db

NEW_CREDENTIALS = {
    "nuki": {"api_token": "nuki-token-2"},
    "seam": {"api_key": "seam_newkey"},
    "ttlock": {"username": "host@example.com", "password": "changed"},
}
VENDOR_CREDENTIALS = {
    "nuki": {"api_token": "nuki-token"},
    "seam": {"api_key": "seam_testkey_fake"},
    "ttlock": {"username": "host@example.com", "password": "s3cret"},
}


class World:
    """One matched lock on a vendor's fake, and what that fake holds."""

    def __init__(self, vendor, fake, host, clock):
        self.vendor, self.fake, self.clock = vendor, fake, clock
        add = {"nuki": "add_smartlock", "seam": "add_device", "ttlock": "add_lock"}[vendor]
        self.native_id = getattr(fake, add)("Front door")
        connection = connection_create(
            host=host, vendor=vendor, credentials=VENDOR_CREDENTIALS[vendor]
        )
        self.lock = connection.locks.get()
        SmartLockSettingsFactory(host=host)
        self.prop = PropertyFactory(
            host=host, time_zone="Europe/Lisbon", checkin_time=time(16), checkout_time=time(11)
        )
        match_create(lock=self.lock, property=self.prop)

    def codes_on_lock(self) -> dict[str, str]:
        """Name -> PIN of what the vendor lists as on the lock."""
        if self.vendor == "nuki":
            return {a["name"]: str(a["code"]) for a in self.fake.codes(self.native_id)}
        if self.vendor == "ttlock":
            return {c["keyboardPwdName"]: c["keyboardPwd"] for c in self.fake.codes(self.native_id)}
        managed = [
            c
            for c in self.fake.device_codes(self.native_id)
            if c["status"] == "set" or c.get("is_scheduled_on_device")
        ]
        return {c["name"]: c["code"] for c in managed + self.fake.unmanaged[self.native_id]}

    def add_code_by_hand(self, pin: str) -> None:
        self.fake.add_code_by_hand(self.native_id, code=pin, name="Cleaner")

    def settle(self) -> None:
        """Let the engine's sweeps and the vendor's asynchronous application run their course."""
        for _ in range(4):
            settle()
            self.clock.shift(timedelta(seconds=30))
        settle()

    def book(self, *, starts_in: timedelta, name="Ana Silva", external_id="B1"):
        check_in = timezone.now() + starts_in
        reservation, _ = reservation_upsert(
            host=self.prop.host,
            external_id=external_id,
            property=self.prop,
            guest_name=name,
            check_in=check_in,
            check_out=check_in + timedelta(days=3),
            reservation_code="HMABC123",
        )
        return reservation


@pytest.fixture(params=["nuki", "seam", "ttlock"])
def world(request, host, clock):
    fake = request.getfixturevalue(f"fake_{request.param}")
    return World(request.param, fake, host, clock)


def test_a_code_inside_the_lead_time_reaches_the_lock_and_is_read_back(world):
    # rules S2, S3, S6, S7
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    access_code = reservation.access_code
    lock_code = access_code.lock_codes.get()
    assert world.codes_on_lock()[lock_code.name_on_lock] == lock_code.pin
    assert lock_code.state == LockCode.State.SET
    assert lock_code.confirmation == LockCode.Confirmation.READ_BACK
    assert lock_code.vendor_code_id


def test_a_pin_already_on_the_lock_is_replaced_and_the_hand_made_code_is_kept(world):
    # rules P5, D2
    reservation = world.book(starts_in=timedelta(days=5))
    taken = reservation.access_code.lock_codes.get().pin
    world.add_code_by_hand(taken)
    world.clock.shift(timedelta(days=2))
    world.settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert (lock_code.state, lock_code.last_error) == (LockCode.State.FAILED, "duplicate_code")
    world.clock.move_to(lock_code.next_attempt_at)  # R1: retried later that day, new PIN
    world.settle()
    lock_code.refresh_from_db()
    on_lock = world.codes_on_lock()
    assert on_lock["Cleaner"] == taken
    assert lock_code.pin != taken
    assert on_lock[lock_code.name_on_lock] == lock_code.pin
    assert lock_code.state == LockCode.State.SET


def test_an_offline_lock_fails_with_lock_offline_and_gets_the_code_once_back(world):
    # rules R1, R2
    world.fake.set_offline(world.native_id)
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state != LockCode.State.SET
    assert lock_code.last_error == "lock_offline"
    world.fake.set_offline(world.native_id, False)
    world.clock.shift(timedelta(hours=6))
    world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert world.codes_on_lock()[lock_code.name_on_lock] == lock_code.pin
    assert len([n for n in world.codes_on_lock() if n == lock_code.name_on_lock]) == 1


def test_a_cancelled_stays_code_leaves_the_lock(world):  # rule D1
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    name = reservation.access_code.lock_codes.get().name_on_lock
    assert name in world.codes_on_lock()
    reservation_cancel(reservation=reservation)
    world.settle()
    world.clock.shift(timedelta(hours=24, minutes=1))  # C3: deleted 24 hours after cancelling
    world.settle()
    assert name not in world.codes_on_lock()


def test_a_revoked_account_fails_codes_until_reconnected_then_resyncs_them(world):
    # rules L3, R2, R3
    world.fake.revoke()
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.last_error == "account_disconnected"
    connection = world.lock.connection
    connection.refresh_from_db()
    assert connection.state == "disconnected"
    if world.vendor == "nuki":
        world.fake.tokens.add("nuki-token-2")
    elif world.vendor == "seam":
        world.fake.api_keys.add("seam_newkey")
    connection_reconnect(connection=connection, credentials=NEW_CREDENTIALS[world.vendor])
    world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert world.codes_on_lock()[lock_code.name_on_lock] == lock_code.pin


def test_a_code_acknowledged_but_never_applied_is_sent_again_and_lands_once(world):
    # rules S6, S7, R1
    world.fake.drop_next_writes = 1
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state != LockCode.State.SET
    for _ in range(8):
        world.clock.shift(timedelta(hours=1))
        world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert world.codes_on_lock() == {lock_code.name_on_lock: lock_code.pin}


@pytest.mark.parametrize("world", ["seam"], indirect=True)
def test_a_burst_of_codes_on_one_seam_lock_stays_within_ten_creates_a_minute(world):
    # rule R3; vendors/README §3: 10 creates per device per minute
    reservations = [
        world.book(starts_in=timedelta(days=1, hours=n), name=f"Guest {n}", external_id=f"B{n}")
        for n in range(35)
    ]
    for _ in range(12):
        world.settle()
        world.clock.shift(timedelta(minutes=1))
    creates = sorted(world.fake.create_log[world.native_id])
    assert world.fake.rejected_429 == 0
    assert max(sum(1 for t in creates if start <= t < start + 60) for start in creates) <= 10
    for reservation in reservations:
        lock_code = reservation.access_code.lock_codes.get()
        assert world.codes_on_lock()[lock_code.name_on_lock] == lock_code.pin


@pytest.mark.parametrize("world", ["seam"], indirect=True)
def test_a_code_the_vendor_fails_after_accepting_leaves_no_failed_copy_behind(world):
    # rules P5, R3: the PIN turned up on the lock between our create and its programming
    reservation = world.book(starts_in=timedelta(days=1))
    settle()  # the create is accepted and waits to be programmed
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SETTING
    world.add_code_by_hand(lock_code.pin)
    world.settle()
    lock_code.refresh_from_db()
    assert lock_code.last_error == "duplicate_code"
    world.clock.move_to(lock_code.next_attempt_at)
    world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    managed = world.fake.device_codes(world.native_id)
    assert [code["code"] for code in managed] == [lock_code.pin]


def _slow_down(world, how: str) -> None:
    if how == "429/quota":
        world.fake.rate_limited = True  # Nuki: 429 + Retry-After 30; TTLock: errcode 30006
    else:
        world.fake.busy_next_writes, world.fake.busy_errcode = 1, int(how)


@pytest.mark.parametrize(
    ("world", "how"),
    [("nuki", "429/quota"), ("ttlock", "429/quota"), ("ttlock", "-3003"), ("ttlock", "-3037")],
    indirect=["world"],
)
def test_a_vendor_asking_to_wait_is_waited_out_and_the_lock_left_alone_meanwhile(
    world, how, monkeypatch
):  # rule R3; vendors/README §1 (Nuki 429), §2 (TTLock 30006, -3003, -3037)
    from accesscodes import services
    from accesscodes.engine.lease import PAUSED
    from accesscodes.models import LockLease

    queued = []
    monkeypatch.setattr(
        "accesscodes.engine.sweeps.lock_dispatch_enqueue",
        lambda lock_id, countdown=None: queued.append(countdown),
    )
    _slow_down(world, how)
    reservation = world.book(starts_in=timedelta(days=1))
    start = timezone.now()
    assert services.lock_process(lock_id=world.lock.pk)
    lock_code = reservation.access_code.lock_codes.get()
    assert (lock_code.last_error, lock_code.attempts) == ("rate_limited", 0)
    assert lock_code.next_attempt_at == start + timedelta(seconds=60)
    assert queued == [60.0], "one pass queued for when the vendor allows"
    assert LockLease.objects.get(lock=world.lock).holder == PAUSED
    world.fake.rate_limited = False
    calls = len(world.fake.calls)
    world.clock.move_to(start + timedelta(seconds=59))
    assert not services.lock_process(lock_id=world.lock.pk)  # a sweep or fast path meanwhile
    assert len(world.fake.calls) == calls, "the lock is left alone until then"
    world.clock.move_to(start + timedelta(seconds=60))
    assert services.lock_process(lock_id=world.lock.pk)  # the queued pass
    world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET
    assert world.codes_on_lock()[lock_code.name_on_lock] == lock_code.pin


@pytest.mark.parametrize("world", ["seam"], indirect=True)
def test_a_seam_code_held_unset_is_polled_and_an_early_failure_found_days_before_check_in(
    world,
):  # rules S6, R1 (issue #20): followed until confirmed or reported failed
    device = world.fake.devices[world.native_id]
    device["_scheduling"] = "just_in_time"  # held `unset` until shortly before starts_at
    reservation = world.book(starts_in=timedelta(days=3))
    world.settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SETTING and lock_code.vendor_code_id
    # polled again within the hour, not first at the window start three days away
    assert lock_code.next_attempt_at - timezone.now() <= timedelta(hours=1)
    world.clock.shift(timedelta(hours=20))
    first = lock_code.vendor_code_id
    world.fake.fail_early(first)  # Seam gives up two days early
    for _ in range(8):  # the growing interval still looks within hours
        world.clock.shift(timedelta(hours=1))
        world.settle()
    lock_code.refresh_from_db()
    # found and retried (R1) two days before check-in: the failed copy is gone from Seam
    # and a new one is on its way
    assert first not in world.fake.codes
    assert lock_code.vendor_code_id and lock_code.vendor_code_id != first
    assert timezone.now() < lock_code.window_starts_at - timedelta(days=1)
