"""Benchmark the pre-arrival check selection (SPEC H6) at a million stays.

    DJANGO_SETTINGS_MODULE=locksync.settings.local \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/locksync_bench \\
    .venv/bin/python bench/prearrival.py --stays 1000000

Loads N stays (default 1,000,000) spread from two years ago to a year ahead over 1,000
properties, each with its three StayCheck rows as the job leaves them: checks whose time has
passed are done, later ones pending at their due time (the "not arrived" notice only for the
10 % of hosts who turned it on). Then times `guests.prearrival.stay_checks_due_ids` — what the
minute job `guests.tasks.stay_checks_due` asks — and prints the PostgreSQL plan, which must
be driven by the `staycheck_due` partial index (no sequential scan of the check table).

It refuses a database holding anything but its own data, unless --yes; it replaces its own
data from an earlier run (or keeps it with --reuse).

Measured on 26 Nov 2026 (PostgreSQL, the shared 2-core machine, 1,000,000 stays, 2,100,000
check rows of which 701,348 pending; loading took 254 s):

    Index Scan using staycheck_due on guests_staycheck
    due checks now:            2 rows, 1 query, 3.5 ms
    due checks after 1 h down: 80 rows, 1 query, 0.9 ms (batch of 100)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "locksync.settings.local")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.figures import Figure, record  # noqa: E402
from bench.loading import insert_rows, reset_sequences  # noqa: E402
from guests.models import StayCheck  # noqa: E402
from guests.prearrival import BATCH_SIZE, stay_checks_due_ids  # noqa: E402
from properties.models import Host, Property  # noqa: E402
from reservations.models import Reservation  # noqa: E402

BENCH_PREFIX = "bench-prearrival-"
PROPERTIES = 1000
PROPERTIES_PER_HOST = 10
BATCH = 20_000
ZONES = ["Europe/Berlin", "America/New_York", "Europe/Lisbon", "Asia/Tokyo", "Australia/Sydney"]


def say(message: str) -> None:
    print(message, flush=True)


def foreign_data() -> list[str]:
    problems = []
    if Host.objects.exclude(name__startswith=BENCH_PREFIX).exists():
        problems.append("hosts not made by this benchmark")
    if Reservation.objects.exclude(host__name__startswith=BENCH_PREFIX).exists():
        problems.append("reservations not made by this benchmark")
    return problems


def wipe() -> None:
    say("removing the data of an earlier run …")
    with connection.cursor() as cursor:
        for table in ("guests_staycheck", "reservations_reservation"):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 — fixed table names
    Property.objects.filter(host__name__startswith=BENCH_PREFIX).delete()
    Host.objects.filter(name__startswith=BENCH_PREFIX).delete()


def next_id(model) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1


def load_world(rng: random.Random) -> list[Property]:
    hosts = Host.objects.bulk_create(
        Host(name=f"{BENCH_PREFIX}{n}", alert_email=f"host{n}@bench.test")
        for n in range(PROPERTIES // PROPERTIES_PER_HOST)
    )
    return Property.objects.bulk_create(
        Property(
            host=hosts[n // PROPERTIES_PER_HOST],
            name=f"Property {n}",
            time_zone=rng.choice(ZONES),
            checkin_time=clock_time(16),
        )
        for n in range(PROPERTIES)
    )


def check_rows(stay_id: int, starts_at: datetime, notify: bool, now: datetime, rng) -> list:
    rows = []
    kinds = [
        (StayCheck.Kind.BEFORE_24H, starts_at - timedelta(hours=24)),
        (StayCheck.Kind.BEFORE_2H, starts_at - timedelta(hours=2)),
    ]
    if notify:
        kinds.append((StayCheck.Kind.NOT_ARRIVED, starts_at + timedelta(hours=3)))
    for kind, due in kinds:
        done = due <= now - timedelta(minutes=rng.randrange(0, 3))
        rows.append(
            {
                "reservation_id": stay_id,
                "kind": kind,
                "scheduled_for": due,
                "due_at": due,
                "state": StayCheck.State.DONE if done else StayCheck.State.PENDING,
                "finished_at": due if done else None,
                "result": StayCheck.Result.ALL_SET if done else "",
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def load_stays(count: int, props: list[Property], now: datetime, rng: random.Random) -> None:
    say(f"loading {count:,} stays with their checks …")
    earliest = now - timedelta(days=730)
    span = int(timedelta(days=1095).total_seconds())
    stay_id, check_id = next_id(Reservation), next_id(StayCheck)
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        stays, checks = [], []
        for n in range(start, min(count, start + BATCH)):
            prop = props[n % len(props)]
            check_in = earliest + timedelta(seconds=rng.randrange(span))
            stays.append(
                {
                    "id": stay_id,
                    "host_id": prop.host_id,
                    "property_id": prop.pk,
                    "external_id": f"B{n}",
                    "guest_name": f"Guest {n}",
                    "check_in": check_in,
                    "check_out": check_in + timedelta(days=rng.randrange(1, 8)),
                    "status": Reservation.Status.ACCEPTED,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            notify = prop.host_id % 10 == 0
            for row in check_rows(stay_id, check_in, notify, now, rng):
                row["id"] = check_id
                check_id += 1
                checks.append(row)
            stay_id += 1
        insert_rows(Reservation, stays)
        insert_rows(StayCheck, checks)
        done = min(count, start + BATCH)
        say(f"  {done:,} stays ({time.perf_counter() - started:.0f} s)")
    reset_sequences(Reservation, StayCheck)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE guests_staycheck")
            cursor.execute("VACUUM ANALYZE reservations_reservation")


def measure(now: datetime) -> dict:
    timings = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            ids = stay_checks_due_ids(now=now)
            timings.append(time.perf_counter() - started)
    uses_index = None
    if connection.vendor == "postgresql":
        queryset = (
            StayCheck.objects.filter(state=StayCheck.State.PENDING, due_at__lte=now)
            .order_by("due_at")
            .values_list("id", flat=True)[:BATCH_SIZE]
        )
        plan = queryset.explain()
        say(plan)
        uses_index = "staycheck_due" in plan and "Seq Scan" not in plan
    return {"rows": len(ids), "queries": len(queries), "seconds": min(timings), "index": uses_index}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stays", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--yes", action="store_true", help="run on a database with other data")
    parser.add_argument("--reuse", action="store_true", help="keep an earlier run's data")
    args = parser.parse_args()

    say(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    call_command("migrate", verbosity=0, interactive=False)
    problems = foreign_data()
    if problems and not args.yes:
        say("refusing: this database holds " + "; ".join(problems) + " (or pass --yes)")
        return 2
    now = timezone.now().replace(microsecond=0)
    rng = random.Random(args.seed)  # noqa: S311 — synthetic data, not secrets
    existing = Reservation.objects.filter(host__name__startswith=BENCH_PREFIX).count()
    if args.reuse and existing:
        say(f"reusing {existing:,} stays")
    else:
        if existing:
            wipe()
        started = time.perf_counter()
        load_stays(args.stays, load_world(rng), now, rng)
        say(f"loaded in {time.perf_counter() - started:.0f} s")
    pending = StayCheck.objects.filter(state=StayCheck.State.PENDING).count()
    say(f"rows: {StayCheck.objects.count():,} checks, {pending:,} pending")
    # The minute job a minute after the load: the checks that came due meanwhile, and a
    # backlog after an hour of downtime.
    figures = []
    for label, moment in (
        ("now", now + timedelta(minutes=1)),
        ("after 1 h down", now + timedelta(hours=1)),
    ):
        result = measure(moment)
        say(
            f"== due checks {label}: {result['rows']:,} rows (batch {BATCH_SIZE}), "
            f"{result['queries']} query, {result['seconds'] * 1000:.1f} ms (best of 3), "
            f"index: {result['index']}"
        )
        figures.append(
            Figure(
                figure=f"pre-arrival checks due {label}, {StayCheck.objects.count():,} checks",
                command="bench/prearrival.py --stays 1000000",
                measured=(
                    f"{result['rows']:,} rows, {result['queries']} query, "
                    f"{result['seconds'] * 1000:.1f} ms, index used: {result['index']}"
                ),
            )
        )
    if connection.vendor == "postgresql" and args.stays == 1_000_000:
        record("prearrival-postgresql", figures, setup="PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
