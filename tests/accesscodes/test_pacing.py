"""Pacing a backlog on one Seam lock at the vendor's rate and no faster (rule R3, issue #15).

In-process, on a stopped clock, against the Seam fake (which answers 429 itself when a
device's 60 s window is outrun). Queued passes and beat's minute sweep are played in time
order by a tiny scheduler: `lock_dispatch_enqueue(countdown=…)` becomes an event at now +
countdown, and the sweep runs every 60 s at a chosen phase. The adversarial phase puts each
sweep just before the lock's window frees, so a backlog that waited for the sweep instead of
its own queued pass would take twice as long.
"""

import heapq
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from accesscodes import services
from accesscodes.models import CodeEvent, LockCode
from integrations.connections import connection_create
from integrations.services import match_create
from reservations.services import reservation_upsert
from tests.factories import PropertyFactory, SmartLockSettingsFactory
from tests.fakes.seam import FakeSeam
from tests.fakes.server import FakeServer

pytestmark = pytest.mark.django_db

CODES = 30
PER_MINUTE = 10  # Seam, per device (vendors/README.md §3)
# What the limit allows: batches at 0, 60, …, (CODES / PER_MINUTE - 1) x 60 s, plus half a
# minute for the last batch to be programmed (the 330 s for 60 codes); +10 %.
ALLOWED = ((CODES // PER_MINUTE - 1) * 60 + 30) * 1.1


@pytest.fixture
def fake_seam(settings):
    fake = FakeSeam()
    with FakeServer(fake) as server:
        settings.SEAM_API_URL = server.url
        yield fake


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(timezone.now().replace(microsecond=0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def seam_lock(host, fake_seam):
    SmartLockSettingsFactory(host=host)
    prop = PropertyFactory(host=host, time_zone="UTC")
    device_id = fake_seam.add_device("Front door")
    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    lock = connection.locks.get(remote_id=device_id)
    match_create(lock=lock, property=prop)
    return prop, lock, device_id


class Scheduler:
    """Queued passes (with their countdowns) and the minute sweep, run in time order."""

    def __init__(self, clock, monkeypatch, *, sweep_phase: float) -> None:
        self.clock = clock
        self.start = timezone.now()
        self.events: list = []
        self.order = itertools.count()
        self.sweep_phase = sweep_phase
        self.add(0, "pass")  # the booking's fast path
        self.add(sweep_phase, "sweep")
        monkeypatch.setattr("accesscodes.engine.sweeps.lock_dispatch_enqueue", self.enqueue)

    def add(self, at: float, kind: str) -> None:
        heapq.heappush(self.events, (at, next(self.order), kind))

    def now(self) -> float:
        return (timezone.now() - self.start).total_seconds()

    def enqueue(self, *, lock_id: int, countdown: float | None = None) -> None:
        self.add(self.now() + (countdown or 0), "pass")

    def run(self, lock, *, until: float) -> None:
        while self.events and not self.all_set(lock):
            at, _, kind = heapq.heappop(self.events)
            if at > until:
                return
            self.clock.move_to(self.start + timedelta(seconds=at))
            if kind == "sweep":
                services.dispatch_due()
                self.add(at + 60, "sweep")
            else:
                services.lock_process(lock_id=lock.pk)

    @staticmethod
    def all_set(lock) -> bool:
        return LockCode.objects.filter(lock=lock, state=LockCode.State.SET).count() == CODES


def busiest_minute(stamps: list[float]) -> int:
    return max(sum(1 for t in stamps if start <= t < start + 60) for start in stamps)


@pytest.mark.parametrize("sweep_phase", [59.0, 30.0], ids=["sweep-just-before", "sweep-mid"])
def test_a_backlog_on_one_seam_lock_goes_out_at_the_vendors_rate_and_no_faster(
    clock, fake_seam, seam_lock, monkeypatch, sweep_phase
):  # rule R3; issue #15 (pacing)
    prop, lock, device_id = seam_lock
    start = timezone.now()
    for n in range(CODES):
        check_in = start + timedelta(days=1, hours=n)
        reservation_upsert(
            host=prop.host,
            external_id=f"P{n}",
            property=prop,
            guest_name=f"Guest {n}",
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
        )
    fake_seam.calls.clear()
    scheduler = Scheduler(clock, monkeypatch, sweep_phase=sweep_phase)
    scheduler.run(lock, until=600)

    creates = sorted(t - start.timestamp() for t in fake_seam.create_log[device_id])
    assert len(creates) == CODES
    assert fake_seam.rejected_429 == 0, "our own throttle kept us inside Seam's window"
    assert busiest_minute(creates) <= PER_MINUTE
    on_lock = [
        c
        for c in fake_seam.device_codes(device_id)
        if c["status"] == "set" or c.get("is_scheduled_on_device")
    ]
    assert len(on_lock) == CODES
    reached = creates[-1] + fake_seam.apply_delay
    assert reached <= ALLOWED, f"all codes on the lock after {reached:.0f} s"
    # A refused attempt is no failure the host needs to see once per code: one a batch.
    refused = CodeEvent.objects.filter(lock=lock, kind="rate_limited").count()
    assert refused <= CODES // PER_MINUTE


def test_a_rate_limited_seam_lock_is_left_alone_until_its_window_frees(
    clock, fake_seam, seam_lock, monkeypatch
):  # rule R3: wait as the vendor says; no read of the lock per refused attempt
    prop, lock, device_id = seam_lock
    for n in range(PER_MINUTE + 5):
        check_in = timezone.now() + timedelta(days=1, hours=n)
        reservation_upsert(
            host=prop.host,
            external_id=f"W{n}",
            property=prop,
            guest_name=f"Guest {n}",
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
        )
    queued = []
    monkeypatch.setattr(
        "accesscodes.engine.sweeps.lock_dispatch_enqueue",
        lambda lock_id, countdown=None: queued.append(countdown),
    )
    start = timezone.now()
    assert services.lock_process(lock_id=lock.pk)
    assert len(fake_seam.create_log[device_id]) == PER_MINUTE
    assert queued == [60.0], "one pass queued for the moment the window frees"
    fake_seam.calls.clear()
    for seconds in (1, 20, 59):  # booking fast paths and minute sweeps meanwhile
        clock.move_to(start + timedelta(seconds=seconds))
        assert not services.lock_process(lock_id=lock.pk)
        services.dispatch_due()
    assert fake_seam.calls == [], "nothing read or sent while the lock waits"
    assert queued == [60.0]
    clock.move_to(start + timedelta(seconds=60))
    assert services.lock_process(lock_id=lock.pk)
    assert len(fake_seam.create_log[device_id]) == PER_MINUTE + 5


def test_the_healthcheck_does_not_wait_for_a_lock_paused_by_the_vendor(
    clock, fake_seam, seam_lock, monkeypatch
):  # rule R3 (and H1: the healthcheck's worker is not held 30 s by a paused lock)
    import time

    prop, lock, device_id = seam_lock
    for n in range(PER_MINUTE + 1):
        check_in = timezone.now() + timedelta(days=1, hours=n)
        reservation_upsert(
            host=prop.host,
            external_id=f"H{n}",
            property=prop,
            guest_name=f"Guest {n}",
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
        )
    monkeypatch.setattr(
        "accesscodes.engine.sweeps.lock_dispatch_enqueue", lambda lock_id, countdown=None: None
    )
    assert services.lock_process(lock_id=lock.pk)
    started = time.monotonic()
    assert not services.lock_process(lock_id=lock.pk, wait=30)
    assert time.monotonic() - started < 2
