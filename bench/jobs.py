"""The periodic jobs' selections, measured as the jobs run them: rows, queries, seconds and
the PostgreSQL plan (does an index drive it?)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accesscodes import services
from accesscodes.healthcheck import healthcheck_selection
from accesscodes.models import LockCode

BIG_TABLES = ("accesscodes_lockcode", "accesscodes_accesscode", "reservations_reservation")


def plan_uses_index(plan: str) -> bool:
    """An index drives the selection: no big table is read whole."""
    reads_whole = any(f"Seq Scan on {table}" in plan for table in BIG_TABLES)
    return "Index" in plan and not reads_whole


def measure(name: str, run, querysets, *, say: Callable[[str], None]) -> dict:
    """Time one selection (best of three), count its queries, print its plans."""
    timings = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            rows = run()
            timings.append(time.perf_counter() - started)
    result = {"job": name, "rows": len(rows), "queries": len(queries), "seconds": min(timings)}
    say(
        f"\n== {name}: {result['rows']:,} rows, {result['queries']} queries, "
        f"{result['seconds']:.3f} s (best of 3; first run {timings[0]:.3f} s)"
    )
    uses_index = True
    if connection.vendor == "postgresql":
        for queryset in querysets:
            plan = queryset.explain()
            uses_index = uses_index and plan_uses_index(plan)
            say(plan)
        say(f"-- uses an index: {'yes' if uses_index else 'NO'}")
    result["index"] = uses_index
    return result


def measure_jobs(now: datetime, *, say: Callable[[str], None]) -> list[dict]:
    limit = services.BATCH_SIZE
    due_codes = (
        LockCode.objects.filter(next_attempt_at__lte=now)
        .order_by()
        .values_list("lock_id", flat=True)
        .distinct()[:limit]
    )
    deletion_codes = (
        LockCode.objects.filter(delete_after__lte=now)
        .exclude(state=LockCode.State.REMOVED)
        .order_by()
        .values_list("lock_id", flat=True)
        .distinct()[:limit]
    )
    selection = healthcheck_selection(now=now)
    return [
        measure(
            "due sweep (accesscodes.services.due_lock_ids)",
            lambda: services.due_lock_ids(now=now),
            [due_codes],
            say=say,
        ),
        measure(
            "healthcheck selection (accesscodes.healthcheck.healthcheck_selection)",
            lambda: list(healthcheck_selection(now=now).values_list("id", flat=True)),
            [selection.values_list("id", flat=True)],
            say=say,
        ),
        measure(
            "deletion sweep (accesscodes.services.deletion_due_lock_ids)",
            lambda: services.deletion_due_lock_ids(now=now),
            [deletion_codes],
            say=say,
        ),
    ]
