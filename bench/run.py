"""Benchmark the periodic jobs' selections at scale, and the dispatcher against the simulator.

    DJANGO_SETTINGS_MODULE=locksync.settings.local \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/locksync_bench \\
    .venv/bin/python bench/run.py --reservations 1000000

Loads N reservations (default 100,000) with their access codes and lock codes, spread from
two years ago to a year ahead over ~1000 properties, each with its own simulated lock, in the
states the engine leaves them in (past codes removed, recent ones awaiting deletion, near ones
set, far ones scheduled, a few failed or unconfirmed with a retry due). Then prints, per
periodic job, the rows selected, queries, seconds and the PostgreSQL plan, and the
dispatcher's codes per second against simulated locks answering in 50 ms.

It refuses a database holding anything but its own data, unless --yes; its own data from an
earlier run is replaced (or kept with --reuse).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "locksync.settings.local")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accesscodes.models import AccessCode, LockCode  # noqa: E402
from bench.dispatcher import DISPATCH_CODES, DISPATCH_LOCKS, measure_dispatcher  # noqa: E402
from bench.figures import Figure, database_setup, record  # noqa: E402
from bench.jobs import measure_jobs  # noqa: E402
from bench.loading import insert_rows, reset_sequences  # noqa: E402
from integrations.base import LockCapabilities, Reason  # noqa: E402
from integrations.models import (  # noqa: E402
    Lock,
    LockConnection,
    Match,
    SimulatedAccount,
    SimulatedDevice,
)
from locksync.fields import encrypt_text  # noqa: E402
from properties.models import Host, Property, SmartLockSettings  # noqa: E402
from reservations.models import Reservation  # noqa: E402

BENCH_PREFIX = "bench-"
PROPERTIES = 1000
PROPERTIES_PER_HOST = 10
BATCH = 10_000
LEAD = timedelta(days=3)
GRACE = timedelta(hours=24)
# The app tables the benchmark fills; emptied together when its earlier data is replaced.
TABLES = [
    "accesscodes_codeevent",
    "accesscodes_backupcode",
    "accesscodes_lockcode",
    "accesscodes_accesscode",
    "accesscodes_locklease",
    "accesscodes_healthcheckrun",
    "reservations_reservation",
    "integrations_match",
    "integrations_lock",
    "integrations_lockconnection",
    "integrations_simulatedcode",
    "integrations_simulateddevice",
    "integrations_simulatedaccount",
    "properties_smartlocksettings",
    "properties_property",
    "messaging_hostalert",
    "properties_host",
]


def say(message: str) -> None:
    print(message, flush=True)


# --- guarding the database -------------------------------------------------------------------


def foreign_data() -> list[str]:
    """What in the database is not the benchmark's own."""
    found = []
    others = Host.objects.exclude(name__startswith=BENCH_PREFIX)
    if others.exists():
        found.append(f"{others.count()} hosts that are not the benchmark's")
    stray = Reservation.objects.exclude(host__name__startswith=BENCH_PREFIX)
    if stray.exists():
        found.append(f"{stray.count()} reservations of other hosts")
    return found


def wipe() -> None:
    """Empty the tables the benchmark fills (only ever called on benchmark-only data)."""
    say("removing the previous benchmark data …")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        else:
            for table in TABLES:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 — fixed table names


# --- loading -----------------------------------------------------------------------------------


def bulk(model, rows: list, label: str) -> list:
    """bulk_create in batches, keeping the primary keys."""
    created = []
    for start in range(0, len(rows), BATCH):
        created.extend(model.objects.bulk_create(rows[start : start + BATCH]))
    return created


def load_world(now: datetime, rng: random.Random) -> list[Property]:
    hosts = bulk(
        Host,
        [
            Host(name=f"{BENCH_PREFIX}host-{n}", alert_email=f"bench{n}@example.com")
            for n in range(PROPERTIES // PROPERTIES_PER_HOST)
        ],
        "hosts",
    )
    bulk(SmartLockSettings, [SmartLockSettings(host=host) for host in hosts], "settings")
    accounts = bulk(
        SimulatedAccount,
        [SimulatedAccount(api_key=f"{BENCH_PREFIX}key-{host.pk}") for host in hosts],
        "accounts",
    )
    connections = bulk(
        LockConnection,
        [
            LockConnection(
                host=host, vendor="simulator", name="Simulator", credentials={"api_key": a.api_key}
            )
            for host, a in zip(hosts, accounts, strict=True)
        ],
        "connections",
    )
    props, devices = [], []
    for n in range(PROPERTIES):
        host_index = n // PROPERTIES_PER_HOST
        props.append(
            Property(
                host=hosts[host_index],
                name=f"Flat {n}",
                time_zone=rng.choice(["Europe/Lisbon", "America/New_York", "Asia/Tokyo"]),
            )
        )
        devices.append(
            SimulatedDevice(
                account=accounts[host_index],
                device_id=f"{BENCH_PREFIX}dev-{n}",
                name=f"Door {n}",
                supported_code_lengths=[4, 5, 6, 7, 8],
            )
        )
    props = bulk(Property, props, "properties")
    devices = bulk(SimulatedDevice, devices, "devices")
    capabilities = LockCapabilities().to_json()
    locks = bulk(
        Lock,
        [
            Lock(
                connection=connections[n // PROPERTIES_PER_HOST],
                remote_id=device.device_id,
                name=device.name,
                capabilities=capabilities,
                last_seen_at=now,
            )
            for n, device in enumerate(devices)
        ],
        "locks",
    )
    bulk(
        Match,
        [Match(lock=lock, property=prop) for lock, prop in zip(locks, props, strict=True)],
        "matches",
    )
    return props


def lock_code_state(
    starts_at: datetime, ends_at: datetime, cancelled: bool, now: datetime, rng: random.Random
) -> dict:
    """The LockCode fields the engine would have left for this window at `now`."""
    if cancelled or ends_at + GRACE <= now:
        return {"state": LockCode.State.REMOVED, "removed_at": min(now, ends_at + GRACE)}
    if ends_at <= now:  # ended, deleted 24 h after (SPEC D1)
        if rng.random() < 0.03:  # a deletion that failed, retried on the R1 schedule
            retry_at = now + timedelta(minutes=rng.randint(-5, 240))
            return {
                "state": LockCode.State.REMOVING,
                "vendor_code_id": f"simcode-{rng.getrandbits(48):012x}",
                "attempts": rng.randint(1, 6),
                "last_error": Reason.LOCK_OFFLINE,
                "next_attempt_at": retry_at,
                "delete_after": retry_at,
            }
        return {"state": LockCode.State.SET, "delete_after": ends_at + GRACE, "set_at": now}
    if starts_at - LEAD > now:  # waiting for its send time (SPEC S2)
        return {
            "state": LockCode.State.SCHEDULED,
            "next_attempt_at": starts_at - LEAD,
            "delete_after": ends_at + GRACE,
        }
    roll = rng.random()
    if roll < 0.03:  # failed; retried on the R1 schedule, some due right now
        return {
            "state": LockCode.State.FAILED,
            "attempts": rng.randint(1, 6),
            "last_error": Reason.LOCK_OFFLINE,
            "next_attempt_at": now + timedelta(minutes=rng.randint(-5, 240)),
            "delete_after": ends_at + GRACE,
        }
    if roll < 0.04:  # sent, not yet seen on the lock
        return {
            "state": LockCode.State.SETTING,
            "vendor_code_id": f"simcode-{rng.getrandbits(48):012x}",
            "next_attempt_at": now + timedelta(seconds=rng.randint(-30, 30)),
            "delete_after": ends_at + GRACE,
        }
    return {
        "state": LockCode.State.SET,
        "vendor_code_id": f"simcode-{rng.getrandbits(48):012x}",
        "confirmation": LockCode.Confirmation.READ_BACK,
        "window_starts_at": starts_at,
        "window_ends_at": ends_at,
        "set_at": now,
        "delete_after": ends_at + GRACE,
    }


def next_id(model) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1


def load_reservations(count: int, props: list[Property], now: datetime, rng: random.Random):
    say(f"loading {count:,} reservations with their codes …")
    locks_by_property = dict(Match.objects.values_list("property_id", "lock_id"))
    # PINs are stored encrypted; a pool of encrypted PINs keeps the load fast and realistic.
    pins = {pin: encrypt_text(pin) for pin in (f"{rng.randrange(1000, 10000)}" for _ in range(500))}
    pin_pool = list(pins.items())
    earliest = now - timedelta(days=730)
    span = timedelta(days=1095).total_seconds()
    reservation_id, access_code_id, lock_code_id = (
        next_id(Reservation),
        next_id(AccessCode),
        next_id(LockCode),
    )
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        reservations, access_codes, lock_codes = [], [], []
        for n in range(start, start + size):
            prop = props[rng.randrange(len(props))]
            check_in = earliest + timedelta(seconds=rng.random() * span)
            check_in = check_in.replace(minute=0, second=0, microsecond=0)
            check_out = check_in + timedelta(days=rng.randint(1, 7), hours=-5)
            cancelled_at = min(now, check_in) if rng.random() < 0.05 else None
            pin, token = pin_pool[rng.randrange(len(pin_pool))]
            reservations.append(
                {
                    "id": reservation_id,
                    "created_at": now,
                    "updated_at": now,
                    "host_id": prop.host_id,
                    "property_id": prop.pk,
                    "external_id": f"BENCH-{n}",
                    "reservation_code": f"HM{n:08d}",
                    "guest_name": f"Guest {n}",
                    "check_in": check_in,
                    "check_out": check_out,
                    "status": "cancelled" if cancelled_at else "accepted",
                    "source": "api",
                    "cancelled_at": cancelled_at,
                }
            )
            access_codes.append(
                {
                    "id": access_code_id,
                    "created_at": now,
                    "updated_at": now,
                    "reservation_id": reservation_id,
                    "pin": token,
                    "pin_source": "random",
                    "name": f"Guest {n}",
                    "starts_at": check_in,
                    "ends_at": check_out,
                    "cancelled_at": cancelled_at,
                }
            )
            state = lock_code_state(check_in, check_out, cancelled_at is not None, now, rng)
            lock_codes.append(
                {
                    "id": lock_code_id,
                    "created_at": now,
                    "updated_at": now,
                    "access_code_id": access_code_id,
                    "lock_id": locks_by_property[prop.pk],
                    "pin": token,
                    "name_on_lock": f"Guest {n}",
                    **{key: getattr(value, "value", value) for key, value in state.items()},
                }
            )
            reservation_id += 1
            access_code_id += 1
            lock_code_id += 1
        with transaction.atomic():
            insert_rows(Reservation, reservations)
            insert_rows(AccessCode, access_codes)
            insert_rows(LockCode, lock_codes)
        done = start + size
        if done % 100_000 == 0 or done == count:
            rate = done / (time.perf_counter() - started)
            say(f"  {done:,} loaded ({rate:,.0f} reservations/s)")
    reset_sequences(Reservation, AccessCode, LockCode)
    if connection.vendor == "postgresql":
        say("VACUUM ANALYZE …")
        with connection.cursor() as cursor:
            for table in (
                "reservations_reservation",
                "accesscodes_accesscode",
                "accesscodes_lockcode",
                "accesscodes_backupcode",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")


# --- measuring ---------------------------------------------------------------------------------


def keep_jobs(results: list[dict], reservations: int) -> None:
    figures = [
        Figure(
            figure=f"{result['job'].split(' (')[0]} at {reservations:,} reservations",
            command=f"bench/run.py --reservations {reservations}",
            measured=(
                f"{result['rows']:,} rows, {result['queries']} "
                f"{'query' if result['queries'] == 1 else 'queries'}, "
                f"{result['seconds']:.3f} s, index: {'yes' if result['index'] else 'NO'}"
            ),
        )
        for result in results
    ]
    record(f"jobs-postgresql-{reservations}", figures, setup="PostgreSQL")


def keep_dispatcher(dispatcher: dict) -> None:
    engine = dispatcher["queries_per_code"]
    simulator = dispatcher["simulator_queries_per_code"]
    figure = Figure(
        figure=(
            f"dispatcher, one process lock after lock, {DISPATCH_LOCKS} locks x "
            f"{DISPATCH_CODES // DISPATCH_LOCKS} codes at 50 ms: SQL queries per placed code"
        ),
        command="bench/run.py --dispatch-only",
        measured=(
            f"{engine + simulator:.1f} (engine {engine:.1f} + simulator {simulator:.1f}); "
            f"{dispatcher['vendor_calls_per_code']:.2f} vendor calls per code, "
            f"{dispatcher['per_second']:.1f} codes/s"
        ),
        target="<= 4",
        met=engine + simulator <= 4,
    )
    setup = database_setup(broker=False)
    record(f"dispatcher-{connection.vendor}", [figure], setup=setup)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reservations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--yes", action="store_true", help="run even though the database holds other data"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the benchmark data of an earlier run"
    )
    parser.add_argument(
        "--dispatch-only",
        action="store_true",
        help="measure only the dispatcher (vendor calls and queries per code placed)",
    )
    args = parser.parse_args()

    say(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    call_command("migrate", verbosity=0, interactive=False)
    problems = foreign_data()
    if problems and not args.yes:
        say(
            "refusing: this database holds data that is not the benchmark's (" + "; ".join(problems)
        )
        say("use a database of its own (createdb locksync_bench), or pass --yes")
        return 2

    if args.dispatch_only:
        keep_dispatcher(measure_dispatcher(timezone.now(), say=say))
        return 0
    now = timezone.now().replace(microsecond=0)
    rng = random.Random(args.seed)  # noqa: S311 — synthetic data, not secrets
    existing = Reservation.objects.filter(host__name__startswith=BENCH_PREFIX).count()
    if args.reuse and existing:
        say(f"reusing {existing:,} benchmark reservations")
    else:
        if existing or Host.objects.filter(name__startswith=BENCH_PREFIX).exists():
            if problems:
                say("refusing to empty tables that hold other data; use a database of its own")
                return 2
            wipe()
        started = time.perf_counter()
        props = load_world(now, rng)
        load_reservations(args.reservations, props, now, rng)
        say(f"loaded in {time.perf_counter() - started:.0f} s")
    say(
        f"rows: {Reservation.objects.count():,} reservations, "
        f"{LockCode.objects.count():,} lock codes, {Lock.objects.count():,} locks"
    )
    results = measure_jobs(now, say=say)
    dispatcher = measure_dispatcher(timezone.now(), say=say)

    say("\nsummary")
    for result in results:
        say(
            f"  {result['job'].split(' (')[0]:<22} {result['rows']:>8,} rows "
            f"{result['queries']:>3} queries {result['seconds']:>8.3f} s  "
            f"index: {'yes' if result['index'] else 'NO'}"
        )
    say(
        f"  {'dispatcher':<22} {dispatcher['per_second']:>8.1f} codes/s, "
        f"{dispatcher['queries_per_code']:.1f} engine + "
        f"{dispatcher['simulator_queries_per_code']:.1f} simulator = "
        f"{dispatcher['queries_per_code'] + dispatcher['simulator_queries_per_code']:.1f} "
        f"queries and "
        f"{dispatcher['vendor_calls_per_code']:.1f} vendor calls per code placed"
    )
    keep_dispatcher(dispatcher)
    if connection.vendor == "postgresql":
        keep_jobs(results, args.reservations)
    healthcheck = results[1]
    if connection.vendor == "postgresql" and healthcheck["seconds"] >= 2:
        say("healthcheck selection is over the 2 s target")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
