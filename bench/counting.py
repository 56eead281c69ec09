"""The Celery app of bench/throughput.py's workers: locksync's own, plus a count of SQL queries
(the engine's apart from the simulated vendor's) written to a file after every task.

    celery -A bench.counting worker ...   (BENCH_COUNTS_FILE names the file)

Queries are counted by an execute wrapper on every thread's connection; a query run inside a
simulator call counts as the vendor's (a real vendor answers over HTTP)."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter

from celery.signals import task_postrun, task_prerun, worker_ready
from django.db.backends.signals import connection_created

from locksync.celery import app

__all__ = ["app"]

VENDOR_CALLS = ("list_codes", "create_code", "update_code", "delete_code")
_counts: Counter = Counter()
_guard = threading.Lock()
_inside = threading.local()


def _count_query(execute, sql, params, many, context):
    kind = "simulator" if getattr(_inside, "vendor", False) else "engine"
    with _guard:
        _counts[kind] += 1
    return execute(sql, params, many, context)


def _wrap_connection(sender, connection, **kwargs) -> None:
    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_query)


_wrapped: list[bool] = []


@task_prerun.connect
def _wrap_simulator(**kwargs) -> None:
    """Once, before the first task (Django is set up by then)."""
    with _guard:
        if _wrapped:
            return
        _wrapped.append(True)
    from integrations.simulator import SimulatorAdapter

    def counted(name, original):
        def call(adapter, *args, **kwargs):
            with _guard:
                _counts[name] += 1
            _inside.vendor = True
            try:
                return original(adapter, *args, **kwargs)
            finally:
                _inside.vendor = False

        return call

    for name in VENDOR_CALLS:
        setattr(SimulatorAdapter, name, counted(name, getattr(SimulatorAdapter, name)))


@task_postrun.connect
def _write_counts(**kwargs) -> None:
    path = os.environ.get("BENCH_COUNTS_FILE")
    if not path:
        return
    with _guard:
        data = json.dumps(dict(_counts))
    temporary = f"{path}.{threading.get_ident()}"
    with open(temporary, "w") as file:
        file.write(data)
    os.replace(temporary, path)


@worker_ready.connect
def _say_ready(**kwargs) -> None:
    """The worker logs at WARNING (no per-task lines): its readiness goes to the counts file."""
    path = os.environ.get("BENCH_COUNTS_FILE")
    if path:
        with open(path, "w") as file:
            file.write("{}")


connection_created.connect(_wrap_connection)
