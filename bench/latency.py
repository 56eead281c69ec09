"""Booking → first vendor write, with a real worker and beat: p50 and p95 over 20 bookings.

    .venv/bin/python bench/latency.py [--bookings 20]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/locksync_perf \\
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/latency.py

Runs the embedded default (SQLite file and filesystem broker, each the benchmark's own under
var/), and also Redis + PostgreSQL when REDIS_URL and DATABASE_URL are both set. For each it
starts the worker exactly as `dev.py run` does (threads pool, beat as a thread, all queues),
creates one host with N + 1 properties, each matched to its own simulated lock answering at
once, then books one stay per property arriving in two hours (inside the 3-day lead time, so
the code goes out at once), one after another, 0.5–1.5 s apart, through `reservation_upsert`
(the path the API and the dashboard take). The first booking warms the worker up (its first
task opens the database connection and imports the vendor code) and is not counted. The
latency of a booking is from the call to the moment the simulated lock records the code's
creation (its row's created_at, written by the worker). Exits 1 when p95 is 0.5 s or more.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_SECONDS = 0.5
HOST_NAME = "bench-latency"
VAR = ROOT / "var"


def configurations() -> list[tuple[str, dict]]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    embedded = {
        **base,
        "DATABASE_URL": f"sqlite:///{VAR / 'bench-latency.sqlite3'}",
        "CELERY_BROKER_FOLDER": str(VAR / "bench-latency-broker"),
    }
    found = [("embedded default (SQLite, filesystem broker)", embedded)]
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        found.append(("Redis + PostgreSQL", dict(os.environ)))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=20)
    parser.add_argument("--pool", help="the worker's pool instead of dev.py's (threads)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args.bookings)
    VAR.mkdir(exist_ok=True)
    failed = False
    for label, env in configurations():
        if args.pool:
            env = {**env, "BENCH_POOL": args.pool}
            label += f", --pool {args.pool}"
        print(f"== {label}", flush=True)
        code = subprocess.run(
            [sys.executable, __file__, "--measure", "--bookings", str(args.bookings)],
            cwd=ROOT,
            env=env,
        ).returncode
        failed = failed or code != 0
    return 1 if failed else 0


# --- one configuration, in this process (--measure) ---------------------------------------------


def measure(bookings: int) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "locksync.settings.local")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", "-v", "0")
    properties = load_world(bookings + 1)
    worker = start_worker()
    try:
        warm_up, *seconds = book_and_wait(properties)
    finally:
        stop_worker(worker)
    seconds.sort()
    p50 = statistics.median(seconds)
    p95 = seconds[max(0, round(0.95 * len(seconds)) - 1)]
    print(
        f"booking → first vendor write over {len(seconds)} bookings (warm-up {warm_up:.3f} s): "
        f"p50 {p50:.3f} s, p95 {p95:.3f} s, max {seconds[-1]:.3f} s "
        f"(limit p95 < {LIMIT_SECONDS} s)",
        flush=True,
    )
    from bench.figures import Figure, database_setup, record

    setup = database_setup()
    figure = Figure(
        figure=f"booking → first vendor write, {setup}, p50 / p95 over {len(seconds)} bookings",
        command="bench/latency.py",
        measured=f"{p50:.3f} / {p95:.3f} s",
        target=f"p95 < {LIMIT_SECONDS} s",
        met=p95 < LIMIT_SECONDS,
    )
    name = "latency-postgresql" if setup.startswith("PostgreSQL") else "latency-embedded"
    record(name, [figure], setup=setup)
    return 0 if p95 < LIMIT_SECONDS else 1


def load_world(count: int) -> list:
    from integrations.models import Lock, LockConnection, Match, SimulatedAccount, SimulatedDevice
    from properties.models import Host, Property, SmartLockSettings
    from reservations.models import Reservation

    old = Host.objects.filter(name=HOST_NAME).first()
    if old is not None:
        Reservation.objects.filter(host=old).delete()
        SimulatedAccount.objects.filter(api_key=f"{HOST_NAME}-key").delete()
        old.delete()
    host = Host.objects.create(name=HOST_NAME, alert_email="bench-latency@example.com")
    SmartLockSettings.objects.create(host=host)
    account = SimulatedAccount.objects.create(api_key=f"{HOST_NAME}-key")
    connection = LockConnection.objects.create(
        host=host, vendor="simulator", name="Simulator", credentials={"api_key": account.api_key}
    )
    properties = []
    for n in range(count):
        prop = Property.objects.create(host=host, name=f"Latency flat {n}", time_zone="UTC")
        device = SimulatedDevice.objects.create(
            account=account,
            device_id=f"bench-lat-{n}-{random.getrandbits(24):06x}",
            name=f"Latency door {n}",
            supported_code_lengths=[4, 5, 6, 7, 8],
        )
        lock = Lock.objects.create(
            connection=connection,
            remote_id=device.device_id,
            name=device.name,
            capabilities=device.capability_record().to_json(),
            last_seen_at=django_now(),
        )
        Match.objects.create(lock=lock, property=prop)
        properties.append((prop, device))
    return properties


def django_now():
    from django.utils import timezone

    return timezone.now()


def start_worker() -> subprocess.Popen:
    """The worker of `dev.py run`, with the benchmark's own beat schedule file."""
    sys.path.insert(0, str(ROOT))
    from dev import worker_command

    command = worker_command()
    if os.environ.get("BENCH_POOL"):  # --pool: compare another pool with dev.py's
        command[command.index("--pool") + 1] = os.environ["BENCH_POOL"]
    log = open(VAR / "bench-latency-worker.log", "w")  # noqa: SIM115 (kept for the child)
    worker = subprocess.Popen(
        [sys.executable, *command, "-s", str(VAR / "bench-latency-beat-schedule")],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            sys.exit(
                f"the worker exited with {worker.returncode}; see var/bench-latency-worker.log"
            )
        if " ready." in (VAR / "bench-latency-worker.log").read_text():
            time.sleep(3)  # beat's first round of periodic jobs goes out and is done
            return worker
        time.sleep(0.2)
    stop_worker(worker)
    sys.exit("the worker did not start within 60 s; see var/bench-latency-worker.log")


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def book_and_wait(properties: list) -> list[float]:
    from integrations.models import SimulatedCode
    from reservations.services import reservation_upsert

    rng = random.Random(15)
    seconds = []
    for n, (prop, device) in enumerate(properties):
        time.sleep(rng.uniform(0.5, 1.5))
        check_in = django_now() + timedelta(hours=2)
        booked_at = django_now()
        reservation_upsert(
            host=prop.host,
            external_id=f"LAT-{n}-{rng.getrandbits(32):08x}",
            property=prop,
            guest_name=f"Latency Guest {n}",
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
        )
        deadline = time.monotonic() + 30
        code = None
        while code is None and time.monotonic() < deadline:
            code = SimulatedCode.objects.filter(device=device).order_by("created_at").first()
            if code is None:
                time.sleep(0.02)
        if code is None:
            sys.exit(f"booking {n}: no code reached its lock within 30 s")
        seconds.append((code.created_at - booked_at).total_seconds())
        print(f"  booking {n + 1:2d}: {seconds[-1]:.3f} s", flush=True)
    return seconds


if __name__ == "__main__":
    sys.exit(main())
