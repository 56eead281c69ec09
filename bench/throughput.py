"""Throughput across locks with real worker processes: codes/s against the physical limit.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/locksync \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python bench/throughput.py
    .venv/bin/python bench/throughput.py          # embedded default (SQLite, filesystem broker)

Loads 200 simulated locks x 5 stays due now, each lock answering in 50 ms (through
`bench.dispatcher._dispatch_world`, the on-commit fast path left out), starts ONE
`celery -A locksync worker --pool threads --concurrency 16` process, sends the minute sweep
(`accesscodes.tasks.dispatch_due.delay()`) once and times until every code is set (read back
from its lock); then the same with TWO worker processes. Always on a database of its own: the
name in DATABASE_URL gets the suffix `_throughput` (created if missing); without DATABASE_URL a
SQLite file under var/. Workers run in their own process group and are killed with it.

The physical limit is locks x 1 call / 50 ms (the simulator has no per-device rate limit to cap
it); the ratio printed is achieved codes/s per worker process over that limit.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOCKS = 200
STAYS_PER_LOCK = 5
CONCURRENCY = 16
LATENCY_MS = 50
VENDOR_RATE_PER_SECOND = None  # the simulator has none; a real vendor's would cap the limit
SUFFIX = "_throughput"


def own_database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{VAR / 'bench-throughput.sqlite3'}"
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.endswith(SUFFIX):
        name += SUFFIX
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup() -> None:
    VAR.mkdir(exist_ok=True)
    os.environ["DATABASE_URL"] = own_database_url()
    if os.environ["DATABASE_URL"].startswith("postgres"):
        create_postgres_database(os.environ["DATABASE_URL"])
    if not os.environ.get("REDIS_URL"):
        os.environ["CELERY_BROKER_FOLDER"] = str(VAR / "bench-throughput-broker")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "locksync.settings.local")
    os.environ["CELERY_SKIP_CHECKS"] = "1"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--no-input", "-v", "0")


def start_workers(count: int) -> list[tuple[subprocess.Popen, Path]]:
    workers = []
    for n in range(count):
        log_path = VAR / f"bench-throughput-worker-{n}.log"
        log = open(log_path, "w")  # noqa: SIM115 (kept for the child)
        command = [
            sys.executable, "-m", "celery", "-A", "locksync", "worker",
            "--pool", "threads", "--concurrency", str(CONCURRENCY), "-Q", "celery",
            "--without-mingle", "--without-gossip", "-l", "INFO",
            "-n", f"throughput{n}@%h",
        ]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        workers.append((process, log_path))
    deadline = time.monotonic() + 60
    for process, log_path in workers:
        while " ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                stop_workers(workers)
                sys.exit(f"a worker did not start; see {log_path}")
            time.sleep(0.2)
    return workers


def stop_workers(workers: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, _ in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process, _ in workers:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def snapshot(connection) -> list:
    """The rows a pass changes, as loaded: the second run starts from the same world without
    loading it again (loading 1,000 stays takes about a minute here)."""
    from accesscodes.models import AccessCode, LockCode
    from integrations.models import Lock

    return [
        (model, [model(**row) for row in model.objects.filter(**{lookup: connection}).values()])
        for model, lookup in (
            (Lock, "connection"),
            (LockCode, "lock__connection"),
            (AccessCode, "lock_codes__lock__connection"),
        )
    ]


def restore(connection, rows: list) -> None:
    from integrations.models import SimulatedCode

    SimulatedCode.objects.filter(
        device__account__api_key=connection.credentials["api_key"]
    ).delete()
    for model, instances in rows:
        fields = [f.name for f in model._meta.concrete_fields if not f.primary_key]
        model.objects.bulk_update(list({i.pk: i for i in instances}.values()), fields, 500)


def run_once(connection, processes: int, timeout: float) -> dict:
    from accesscodes import tasks
    from accesscodes.models import LockCode
    from locksync.celery import app

    codes = LOCKS * STAYS_PER_LOCK
    app.control.purge()  # nothing left from an earlier run
    placed = LockCode.objects.filter(lock__connection=connection, state=LockCode.State.SET)
    workers = start_workers(processes)
    try:
        started = time.perf_counter()
        tasks.dispatch_due.delay()
        done = 0
        while done < codes and time.perf_counter() - started < timeout:
            time.sleep(0.25)
            done = placed.count()
        elapsed = time.perf_counter() - started
    finally:
        stop_workers(workers)
    return {"processes": processes, "set": done, "codes": codes, "seconds": elapsed}


def report(result: dict) -> float:
    limit = LOCKS * 1000 / LATENCY_MS
    if VENDOR_RATE_PER_SECOND:
        limit = min(limit, LOCKS * VENDOR_RATE_PER_SECOND)
    per_second = result["set"] / result["seconds"]
    ratio = per_second / result["processes"] / limit
    threads_limit = min(LOCKS, CONCURRENCY) * 1000 / LATENCY_MS
    threads_ratio = per_second / result["processes"] / threads_limit
    print(
        f"== {result['processes']} worker process(es) x {CONCURRENCY} threads: "
        f"{result['set']}/{result['codes']} codes set in {result['seconds']:.1f} s = "
        f"{per_second:.1f} codes/s\n"
        f"   physical limit {limit:.0f} codes/s ({LOCKS} locks x 1 call / {LATENCY_MS} ms, "
        f"no per-device vendor rate in the simulator); achieved/limit per worker process "
        f"{ratio:.1%} (target >= 80 %); {CONCURRENCY} threads alone allow "
        f"{threads_limit:.0f} calls/s per process ({threads_ratio:.1%})",
        flush=True,
    )
    return per_second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=45, help="seconds per run at most")
    args = parser.parse_args()
    # A `kill` or `timeout` of this script still stops the workers (the `finally` in run_once).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    setup()
    broker = os.environ.get("REDIS_URL") or "filesystem"
    print(f"database {os.environ['DATABASE_URL']}, broker {broker}")
    from django.utils import timezone

    from bench.dispatcher import _dispatch_world

    loading = time.perf_counter()
    connection = _dispatch_world(
        timezone.now(), locks=LOCKS, codes=LOCKS * STAYS_PER_LOCK, minutes_apart=1
    )  # 1,000 check-ins a minute apart: all inside the 3-day lead time, so all due now
    rows = snapshot(connection)
    print(
        f"  loaded {LOCKS * STAYS_PER_LOCK} stays on {LOCKS} locks in "
        f"{time.perf_counter() - loading:.1f} s",
        flush=True,
    )
    one = report(run_once(connection, 1, args.timeout))
    restore(connection, rows)
    two = report(run_once(connection, 2, args.timeout))
    print(f"== speed-up of the second worker process: +{(two / one - 1):.0%} (target >= +80 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
