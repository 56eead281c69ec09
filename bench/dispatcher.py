"""The dispatcher benchmark: codes placed per second, and vendor calls and SQL queries per code
placed. The simulator keeps its locks in the same database, so its queries (what a real vendor
does over HTTP) are counted apart from the engine's.

Measured on PostgreSQL, one lock with 20 codes (issue #9 asked for at most half of before):
before the rebuild 7.8 engine queries per placed code (14.0 with the simulator's), after it
3.1 (9.4). With 10 locks x 20 codes (`bench/run.py --dispatch-only`, PostgreSQL, 26 Nov 2026):
2.7 engine + 6.3 simulator = 9.0 queries per code before issue #15's query work, 1.6 + 2.1 =
3.7 after (target <= 4)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction

from accesscodes import services
from accesscodes.models import LockCode
from integrations.models import Lock, LockConnection, Match, SimulatedAccount, SimulatedDevice
from integrations.simulator import SimulatorAdapter
from properties.models import Host, Property, SmartLockSettings
from reservations.models import Reservation

BENCH_PREFIX = "bench-"
DISPATCH_LOCKS = 10
DISPATCH_CODES = 200
DISPATCH_LATENCY_MS = 50
VENDOR_CALLS = ("list_codes", "create_code", "update_code", "delete_code")


def _dispatch_world(
    now: datetime,
    *,
    locks: int = DISPATCH_LOCKS,
    codes: int = DISPATCH_CODES,
    minutes_apart: int = 10,
) -> LockConnection:
    """`codes` stays due now on `locks` simulated locks answering in 50 ms (bench/throughput.py
    loads 200 locks x 5 stays through it)."""
    # Whatever the loaded data has due now is not part of this measure.
    LockCode.objects.filter(next_attempt_at__lte=now + timedelta(hours=1)).update(
        next_attempt_at=now + timedelta(days=1)
    )
    # A reused database still holds the previous run's dispatch world.
    Reservation.objects.filter(host__name=f"{BENCH_PREFIX}dispatch").delete()
    Host.objects.filter(name=f"{BENCH_PREFIX}dispatch").delete()
    SimulatedAccount.objects.filter(api_key=f"{BENCH_PREFIX}dispatch-key").delete()
    host = Host.objects.create(name=f"{BENCH_PREFIX}dispatch", alert_email="d@example.com")
    SmartLockSettings.objects.create(host=host)
    account = SimulatedAccount.objects.create(api_key=f"{BENCH_PREFIX}dispatch-key")
    lock_connection = LockConnection.objects.create(
        host=host, vendor="simulator", credentials={"api_key": account.api_key}
    )
    props = []
    for n in range(locks):
        device = SimulatedDevice.objects.create(
            account=account,
            device_id=f"{BENCH_PREFIX}dispatch-{n}",
            name=f"Dispatch door {n}",
            latency_ms=DISPATCH_LATENCY_MS,
            capacity=codes,
        )
        lock = Lock.objects.create(
            connection=lock_connection,
            remote_id=device.device_id,
            name=device.name,
            capabilities=device.capability_record().to_json(),
        )
        prop = Property.objects.create(host=host, name=f"Dispatch flat {n}", time_zone="UTC")
        Match.objects.create(lock=lock, property=prop)
        props.append(prop)
    from accesscodes.engine import provisioning
    from reservations.services import reservation_upsert

    # Accepted inside the lead time, so every code is due at once; the on-commit fast path is
    # left out so the sweep does all the sending.
    original = provisioning.dispatch_on_commit
    provisioning.dispatch_on_commit = lambda lock_ids: None
    try:
        for n in range(codes):
            check_in = now + timedelta(hours=2, minutes=minutes_apart * n)
            with transaction.atomic():
                reservation_upsert(
                    host=host,
                    external_id=f"DISPATCH-{n}",
                    property=props[n % locks],
                    guest_name=f"Dispatch Guest{n}",
                    check_in=check_in,
                    check_out=check_in + timedelta(days=2),
                )
    finally:
        provisioning.dispatch_on_commit = original
    return lock_connection


def _counting_vendor_calls(calls: Counter, inside: list[bool]) -> dict:
    guard = threading.Lock()
    originals = {name: getattr(SimulatorAdapter, name) for name in VENDOR_CALLS}

    def counted(name, original):
        def call(adapter, *args):
            with guard:
                calls[name] += 1
            inside[0] = True  # the simulator's own queries stand for the vendor's HTTP
            try:
                return original(adapter, *args)
            finally:
                inside[0] = False

        return call

    for name, original in originals.items():
        setattr(SimulatorAdapter, name, counted(name, original))
    return originals


def measure_dispatcher(now: datetime, *, say: Callable[[str], None]) -> dict:
    """One worker runs the minute sweep until nothing is due; count what it cost per code."""
    lock_connection = _dispatch_world(now)
    calls: Counter = Counter()
    inside = [False]
    originals = _counting_vendor_calls(calls, inside)
    try:
        queries = Counter()

        def count_query(execute, sql, params, many, context):
            queries["simulator" if inside[0] else "engine"] += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        # Counted by an execute wrapper: CaptureQueriesContext keeps only the last 9,000.
        with connection.execute_wrapper(count_query):
            sweeps = 0
            while services.dispatch_due():
                sweeps += 1
        elapsed = time.perf_counter() - started
    finally:
        for name, original in originals.items():
            setattr(SimulatorAdapter, name, original)
    placed = LockCode.objects.filter(
        lock__connection=lock_connection, state=LockCode.State.SET
    ).count()
    per_code = max(1, placed)
    result = {
        "codes": calls["create_code"],
        "set": placed,
        "seconds": elapsed,
        "per_second": placed / elapsed if elapsed else 0.0,
        "queries": queries["engine"],
        "queries_per_code": queries["engine"] / per_code,
        "simulator_queries_per_code": queries["simulator"] / per_code,
        "vendor_calls": sum(calls.values()),
        "vendor_calls_per_code": sum(calls.values()) / per_code,
        "sweeps": sweeps,
    }
    say(
        f"\n== dispatcher (accesscodes.services.dispatch_due, one worker): {placed} codes "
        f"placed and read back on {DISPATCH_LOCKS} locks at {DISPATCH_LATENCY_MS} ms in "
        f"{elapsed:.2f} s = {result['per_second']:.1f} codes/s, {sweeps} sweep(s)\n"
        f"   per code placed: {result['queries_per_code']:.1f} SQL queries by the engine + "
        f"{result['simulator_queries_per_code']:.1f} inside the simulated vendor = "
        f"{result['queries_per_code'] + result['simulator_queries_per_code']:.1f} "
        f"(target <= 4), "
        f"{result['vendor_calls_per_code']:.2f} vendor calls "
        f"({', '.join(f'{name} {count}' for name, count in sorted(calls.items()))})"
    )
    return result
