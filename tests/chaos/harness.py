"""Real processes around the engine: a freshly migrated PostgreSQL database, a Redis db, two
`celery -A locksync worker` processes and `celery beat`, each in its own process group so it
can be killed mid-call (`kill -9`) and is always stopped, even when a test fails.

Where the harness runs (both derived from the test run's own URLs unless given):
  CHAOS_DATABASE_URL  default: DATABASE_URL with `_chaos` added to the database name
  CHAOS_REDIS_URL     default: REDIS_URL with the next Redis db number (mod 16)
The database is dropped and created again, the Redis db flushed, at every start.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
READY_TIMEOUT = 60.0
# Template databases migrated by this test run (migrating costs seconds; cloning is instant).
_MIGRATED_TEMPLATES: set[str] = set()


def chaos_urls() -> tuple[str, str]:
    """The database and Redis URLs the harness uses, or ("", "") without PostgreSQL/Redis."""
    database_url = os.environ.get("CHAOS_DATABASE_URL", "")
    redis_url = os.environ.get("CHAOS_REDIS_URL", "")
    base_db = os.environ.get("DATABASE_URL", "")
    base_redis = os.environ.get("REDIS_URL", "")
    if not database_url and base_db.startswith(("postgres", "pgsql")):
        parts = urlsplit(base_db)
        database_url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_chaos"))
    if not redis_url and base_redis.startswith("redis"):
        parts = urlsplit(base_redis)
        number = int(parts.path.strip("/") or 0)
        redis_url = urlunsplit(parts._replace(path=f"/{(number + 1) % 16}"))
    if not database_url.startswith(("postgres", "pgsql")) or not redis_url.startswith("redis"):
        return "", ""
    return database_url, redis_url


def _die_with_parent() -> None:
    """In the child before exec: be killed if the test process dies (Linux PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


class CallLog:
    """The simulator's call log (SIMULATOR_CALL_LOG), read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.calls: dict[str, dict] = {}

    def read(self) -> dict[str, dict]:
        if not self.path.exists():
            return self.calls
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            entry = json.loads(line)
            if entry["event"] == "start":
                self.calls[entry["call"]] = entry
            else:
                call = self.calls.setdefault(entry["call"], {})
                call.update(end=entry["t"], outcome=entry["outcome"])
        return self.calls

    def open_calls(self) -> list[dict]:
        return [call for call in self.read().values() if "end" not in call and "t" in call]

    def overlaps(self) -> list[tuple[dict, dict]]:
        """Pairs of calls on one lock whose times overlap; a killed call ends at its kill."""
        by_lock: dict[str, list[tuple[float, float, dict]]] = defaultdict(list)
        for call in self.read().values():
            end = call.get("end", call.get("killed_at", math.inf))
            by_lock[call["lock"]].append((call["t"], end, call))
        found = []
        for calls in by_lock.values():
            calls.sort(key=lambda item: item[:2])
            latest = None
            for start, end, call in calls:
                if latest and start < latest[1]:
                    found.append((latest[2], call))
                if latest is None or end > latest[1]:
                    latest = (start, end, call)
        return found

    def summary(self) -> dict:
        calls = list(self.read().values())
        outcomes: dict[str, int] = defaultdict(int)
        for call in calls:
            outcomes[f"{call.get('op')}:{call.get('outcome', 'unfinished')}"] += 1
        return {"calls": len(calls), "by_outcome": dict(sorted(outcomes.items()))}


class Harness:
    """`with Harness("name", speed=10) as h:` — a fresh world; every process stopped on exit."""

    def __init__(self, name: str, *, speed: float = 1.0, sweep_seconds: float = 3.0) -> None:
        self.database_url, self.redis_url = chaos_urls()
        if not self.database_url:
            raise RuntimeError("the harness needs PostgreSQL and Redis (see tests/chaos/)")
        self.name = name
        self.speed = speed
        self.dir = Path(tempfile.mkdtemp(prefix=f"locksync-{name}-"))
        self.calls = CallLog(self.dir / "calls.jsonl")
        self.processes: dict[str, subprocess.Popen] = {}
        self.kills: list[dict] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "locksync.settings.local",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SIMULATOR_CALL_LOG": str(self.calls.path),
            "SWEEP_INTERVAL_SECONDS": str(sweep_seconds),
            "CHAOS_CLOCK_ORIGIN": repr(time.time()),
            "CHAOS_CLOCK_SPEED": str(speed),
            "DEBUG": "0",
            "EMAIL_URL": "dummymail://",
            "PYTHONUNBUFFERED": "1",
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Harness:
        atexit.register(self.stop_all)
        self.prepare()
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if error is not None:
                print(self.diagnostics())
        finally:
            self.stop_all()
            atexit.unregister(self.stop_all)

    def prepare(self) -> None:
        """A fresh database cloned from a template migrated once per test run; empty Redis db."""
        import psycopg
        import redis

        parts = urlsplit(self.database_url)
        database = parts.path.strip("/")
        template = f"{database}_template"
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as connection:
            if template not in _MIGRATED_TEMPLATES:
                self._recreate(connection, template)
                template_url = urlunsplit(parts._replace(path=f"/{template}"))
                self._run(
                    [PYTHON, "manage.py", "migrate", "-v0"],
                    timeout=300,
                    env={**self.env, "DATABASE_URL": template_url},
                )
                _MIGRATED_TEMPLATES.add(template)
            self._recreate(connection, database, template=template)
        client = redis.Redis.from_url(self.redis_url)
        client.flushdb()
        client.close()

    @staticmethod
    def _recreate(connection, database: str, *, template: str = "") -> None:
        from psycopg import sql

        name = sql.Identifier(database)
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if template:
            clone = sql.SQL("CREATE DATABASE {} TEMPLATE {}")
            connection.execute(clone.format(name, sql.Identifier(template)))
        else:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def _run(self, command: list[str], *, timeout: float, env: dict | None = None) -> str:
        done = subprocess.run(  # noqa: S603 - our own interpreter and modules
            command,
            cwd=ROOT,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(command[2:4])} failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def _spawn(self, key: str, args: list[str]) -> subprocess.Popen:
        log = (self.dir / f"{key}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            [PYTHON, "-m", "tests.chaos.launch", "-A", "locksync", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        log.close()
        self.processes[key] = process
        return process

    def start_workers(self, *keys: str) -> float:
        """Start `celery -A locksync worker` processes (one pool process each) and return
        the time when all are ready."""
        offsets = {key: self._log_size(key) for key in keys}
        for key in keys:
            self._spawn(
                key,
                [
                    "worker",
                    "-n",
                    f"{key}@chaos",
                    "-c",
                    "1",
                    "-l",
                    "INFO",
                    # Every queue a deployment consumes (code work is on `celery`).
                    "-Q",
                    "celery,feeds,messages",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
            )
        for key in keys:
            self._wait_for_line(key, f"{key}@chaos ready.", offsets[key])
        return time.time()

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                "beat",
                "-l",
                "INFO",
                "-s",
                str(self.dir / "beat-schedule"),
                "--pidfile",
                str(self.dir / "beat.pid"),
            ],
        )

    def _log_size(self, key: str) -> int:
        path = self.dir / f"{key}.log"
        return path.stat().st_size if path.exists() else 0

    def _wait_for_line(self, key: str, text: str, offset: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        path = self.dir / f"{key}.log"
        while time.monotonic() < deadline:
            if text in path.read_text(errors="replace")[offset:]:
                return
            if self.processes[key].poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{key} did not become ready:\n{self.tail(key)}")

    def kill(self, key: str) -> None:
        """`kill -9` the process group: the worker and its pool process, mid-whatever."""
        process = self.processes[key]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def _worker_of(self, pid: int, keys) -> str | None:
        try:
            pgid = os.getpgid(pid)
        except ProcessLookupError:
            return None
        return next((key for key in keys if self.processes[key].pid == pgid), None)

    def kill_mid_call(
        self, keys=("w1", "w2"), *, ops=("create_code",), min_age: float = 0.0, timeout=60.0
    ) -> dict:
        """Wait until one of the workers `keys` has a vendor call of one of `ops` in flight
        for at least `min_age` seconds, then kill -9 that worker. Returns the interrupted call,
        with `worker` and `killed_at` added."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.calls.open_calls():
                if call["op"] not in ops or time.time() - call["t"] < min_age:
                    continue
                key = self._worker_of(call["pid"], keys)
                if key is None:
                    continue
                pgid = self.processes[key].pid
                killed_at = time.time()
                for other in self.calls.open_calls():
                    with contextlib.suppress(ProcessLookupError):
                        if os.getpgid(other["pid"]) == pgid:
                            other["killed_at"] = killed_at
                self.kill(key)
                self.calls.read()
                if "end" in call:  # it ended between our look and the kill: not mid-call
                    continue
                killed = {**call, "worker": key, "killed_at": killed_at}
                self.kills.append(killed)
                return killed
            time.sleep(0.01)
        raise RuntimeError(f"no {ops} call in flight on {keys} within {timeout} s")

    def stop_all(self) -> None:
        """Stop every process group: TERM, then KILL; then make sure none is left."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        left = [key for key, process in self.processes.items() if self._group_alive(process.pid)]
        if left:
            raise RuntimeError(f"processes left running: {left}")

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return False
            time.sleep(0.1)
        return True

    # -- the world ---------------------------------------------------------------------------

    def world_args(self, command: str, **options) -> list[str]:
        args = [PYTHON, "-m", "tests.chaos.world", command, "--run-dir", str(self.dir)]
        for option, value in options.items():
            args += [f"--{option.replace('_', '-')}", str(value)]
        return args

    def world(self, command: str, *, timeout: float = 300, **options) -> dict:
        """Run a world command in its own process and return what it printed."""
        out = self._run(self.world_args(command, **options), timeout=timeout)
        return json.loads(out.strip().splitlines()[-1])

    def world_start(self, command: str, **options) -> subprocess.Popen:
        """Start a world command in the background; `world_result` collects it."""
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            self.world_args(command, **options),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        self.processes[f"world-{command}-{process.pid}"] = process
        return process

    @staticmethod
    def world_result(process: subprocess.Popen, *, timeout: float = 300) -> dict:
        out, err = process.communicate(timeout=timeout)
        if process.returncode:
            raise RuntimeError(f"world command failed:\n{err[-4000:]}")
        return json.loads(out.strip().splitlines()[-1])

    # -- diagnostics -------------------------------------------------------------------------

    def tail(self, key: str, lines: int = 30) -> str:
        path = self.dir / f"{key}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def diagnostics(self) -> str:
        parts = [f"harness files: {self.dir}"]
        for key in self.processes:
            if not key.startswith("world-"):
                parts.append(f"--- {key} (last lines)\n{self.tail(key)}")
        return "\n".join(parts)
