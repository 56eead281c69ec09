"""Several dispatcher workers over the same due rows send each operation once (SPEC S4, S5).

Runs on PostgreSQL only: SQLite serialises writers, so it could not show a race. Each worker
is a thread with its own database connection, as Celery workers have.
"""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from accesscodes import services
from accesscodes.models import LockCode
from integrations.models import SimulatedCode
from integrations.simulator import SimulatorAdapter
from reservations.services import reservation_upsert
from tests.accesscodes.conftest import settle
from tests.factories import (
    LockConnectionFactory,
    LockFactory,
    MatchFactory,
    PropertyFactory,
    SmartLockSettingsFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 4
LOCKS = 3
STAYS_PER_LOCK = 20


class CreateCounter:
    """Counts the create calls that reach the vendor, per (lock, code name), across threads."""

    def __init__(self, monkeypatch) -> None:
        self.calls: Counter = Counter()
        self._guard = threading.Lock()
        original = SimulatorAdapter.create_code

        def counted(adapter, lock_remote_id, spec):
            with self._guard:
                self.calls[(lock_remote_id, spec.name)] += 1
            return original(adapter, lock_remote_id, spec)

        monkeypatch.setattr(SimulatorAdapter, "create_code", counted)


def run_workers(target, count: int) -> list[BaseException]:
    """Start `count` threads together, each given its index; each closes its connection."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start.wait()
            target(index)
        except BaseException as error:  # noqa: BLE001 — reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return errors


@pytest.fixture
def world(monkeypatch):
    """3 simulated locks with 20 stays each, all within the lead time, so all due at once."""
    # The fast path would send the codes inside reservation_upsert; the test wants the workers
    # to find them due instead.
    monkeypatch.setattr("accesscodes.engine.provisioning.dispatch_on_commit", lambda lock_ids: None)
    connection_ = LockConnectionFactory()
    host = connection_.host
    SmartLockSettingsFactory(host=host)
    locks = []
    for n in range(LOCKS):
        lock = LockFactory(connection=connection_, device__latency_ms=20)
        prop = PropertyFactory(host=host, name=f"Flat {n}")
        MatchFactory(lock=lock, property=prop)
        locks.append(lock)
        for stay in range(STAYS_PER_LOCK):
            check_in = timezone.now() + timedelta(hours=12 + stay)
            reservation_upsert(
                host=host,
                external_id=f"L{n}-S{stay}",
                property=prop,
                guest_name=f"Guest {n}-{stay}",
                check_in=check_in,
                check_out=check_in + timedelta(days=2),
                reservation_code=f"HM{n}{stay:03d}",
            )
    return locks


def test_concurrent_sweeps_send_each_code_to_its_lock_exactly_once(
    world, monkeypatch
):  # rules S4, S5
    counter = CreateCounter(monkeypatch)
    due_before = services.due_lock_ids()
    assert len(due_before) == LOCKS

    def sweep_three_times(_index: int) -> None:
        for _ in range(3):
            services.dispatch_due()

    errors = run_workers(sweep_three_times, WORKERS)
    assert errors == []
    settle()  # whatever a worker left due (a lease it lost) is finished here

    expected = LOCKS * STAYS_PER_LOCK
    per_code = SimulatedCode.objects.values("device_id", "name").annotate(n=Count("id"))
    assert len(per_code) == expected
    assert {row["n"] for row in per_code} == {1}
    assert len(counter.calls) == expected
    assert set(counter.calls.values()) == {1}, [k for k, v in counter.calls.items() if v > 1]
    states = Counter(LockCode.objects.values_list("state", flat=True))
    assert states == {LockCode.State.SET: expected}


def test_the_fast_path_racing_the_sweep_sends_each_code_once(world, monkeypatch):  # rule S5
    counter = CreateCounter(monkeypatch)
    lock_ids = [lock.pk for lock in world]

    def fast_path_for_every_lock() -> None:
        # What lock_dispatch tasks queued on commit do, racing the minute sweep below.
        for lock_id in lock_ids:
            services.lock_process(lock_id=lock_id)

    def either(index: int) -> None:
        if index % 2:
            fast_path_for_every_lock()
        else:
            services.dispatch_due()

    errors = run_workers(either, WORKERS)
    assert errors == []
    settle()

    expected = LOCKS * STAYS_PER_LOCK
    assert SimulatedCode.objects.count() == expected
    assert sum(counter.calls.values()) == expected
    assert LockCode.objects.filter(state=LockCode.State.SET).count() == expected


# --- S9 and S5 with real threads on PostgreSQL ------------------------------------------------


def test_a_stay_extended_by_a_web_request_while_a_worker_sends_its_code_is_not_lost(
    monkeypatch,
):  # rule S9
    connection_ = LockConnectionFactory()
    SmartLockSettingsFactory(host=connection_.host)
    lock = LockFactory(connection=connection_)
    prop = PropertyFactory(host=connection_.host)
    MatchFactory(lock=lock, property=prop)
    monkeypatch.setattr("accesscodes.engine.provisioning.dispatch_on_commit", lambda lock_ids: None)
    check_in = timezone.now() + timedelta(hours=5)
    reservation, _ = reservation_upsert(
        host=connection_.host,
        external_id="X",
        property=prop,
        guest_name="Ana Silva",
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        reservation_code="HMX",
    )
    in_call, change_committed = threading.Event(), threading.Event()
    original = SimulatorAdapter.create_code

    def waiting_create(adapter, lock_remote_id, spec):
        remote = original(adapter, lock_remote_id, spec)
        in_call.set()
        assert change_committed.wait(30)
        return remote

    monkeypatch.setattr(SimulatorAdapter, "create_code", waiting_create)

    def worker_or_request(index: int) -> None:
        if index == 0:
            services.dispatch_due()
        else:
            assert in_call.wait(30)
            from reservations.services import reservation_alter

            reservation_alter(
                reservation=Reservation.objects.get(pk=reservation.pk),
                check_out=check_in + timedelta(days=4),
            )
            change_committed.set()

    from reservations.models import Reservation

    assert run_workers(worker_or_request, 2) == []
    monkeypatch.setattr(SimulatorAdapter, "create_code", original)
    settle()
    access_code = reservation.access_code
    access_code.refresh_from_db()
    on_lock = SimulatedCode.objects.get()
    assert access_code.ends_at >= check_in + timedelta(days=4), "the extension was kept"
    assert on_lock.ends_at == access_code.ends_at, "the lock has the new checkout"
    assert LockCode.objects.get().window_ends_at == access_code.ends_at


def test_two_workers_on_one_slow_lock_never_overlap_their_vendor_calls(monkeypatch):  # rule S5
    """The lease is 1 s here and each pass may run 4 s: only renewing keeps the other out."""
    monkeypatch.setattr("accesscodes.engine.lease.LEASE_TTL", timedelta(seconds=1))
    monkeypatch.setattr("accesscodes.engine.lease.RENEW_AFTER", timedelta(milliseconds=100))
    monkeypatch.setattr("accesscodes.engine.lock_pass.PASS_BUDGET", timedelta(seconds=4))
    monkeypatch.setattr("accesscodes.engine.provisioning.dispatch_on_commit", lambda lock_ids: None)
    connection_ = LockConnectionFactory()
    SmartLockSettingsFactory(host=connection_.host)
    lock = LockFactory(connection=connection_, device__latency_ms=150)
    prop = PropertyFactory(host=connection_.host)
    MatchFactory(lock=lock, property=prop)
    for stay in range(30):
        check_in = timezone.now() + timedelta(hours=12 + stay)
        reservation_upsert(
            host=connection_.host,
            external_id=f"S{stay}",
            property=prop,
            guest_name=f"Guest {stay}",
            check_in=check_in,
            check_out=check_in + timedelta(days=1),
            reservation_code=f"HM{stay:03d}",
        )
    calls: list[tuple[float, float]] = []
    guard = threading.Lock()
    import time as time_module

    def recorded(name):
        original = getattr(SimulatorAdapter, name)

        def call(adapter, *args):
            started = time_module.monotonic()
            try:
                return original(adapter, *args)
            finally:
                with guard:
                    calls.append((started, time_module.monotonic()))

        monkeypatch.setattr(SimulatorAdapter, name, call)

    for name in ("create_code", "list_codes", "delete_code", "update_code"):
        recorded(name)

    def keep_processing(_index: int) -> None:
        deadline = time_module.monotonic() + 20
        while time_module.monotonic() < deadline:
            if not services.due_lock_ids():
                return
            services.lock_process(lock_id=lock.pk)

    assert run_workers(keep_processing, 2) == []
    settle()
    calls.sort()
    overlaps = [(a, b) for a, b in zip(calls, calls[1:], strict=False) if b[0] < a[1]]
    assert overlaps == []
    assert SimulatedCode.objects.count() == 30
    assert LockCode.objects.filter(state=LockCode.State.SET).count() == 30
