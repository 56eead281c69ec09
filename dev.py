#!/usr/bin/env python3
"""locksync's two commands, needing nothing but Python 3.11+.

python3 dev.py run     set up, migrate, load the demo, run web + worker + beat
                       (--reload, or LOCKSYNC_RELOAD=1: restart the web server on code changes)
python3 dev.py test    set up and run the whole test suite (extra args go to pytest)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".installed"
HOST, PORT = "127.0.0.1", os.environ.get("PORT", "8000")

# How long `dev.py run` waits for the web server's /healthz before giving up.
STARTUP_TIMEOUT = 90.0

# pytest's exit code when it collected no test: a marker selection may legitimately be empty.
PYTEST_NO_TESTS = 5


def setup() -> None:
    """Create .venv and install the pinned dependencies when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py may be started by an older python3)
        sys.exit("locksync needs Python 3.11 or newer")
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("Installing dependencies …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(digest)


def manage(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, check=True, **kwargs)


def start(name: str, *args: str, env: dict | None = None) -> tuple[str, subprocess.Popen]:
    # Each process leads its own process group, so stopping it also stops its children
    # (runserver's autoreloader child under --reload, the worker's threads).
    group = {"start_new_session": True} if os.name != "nt" else {}
    environ = {**os.environ, **(env or {})}
    return name, subprocess.Popen([str(PYTHON), *args], cwd=ROOT, env=environ, **group)


def stop(processes: list[tuple[str, subprocess.Popen]]) -> None:
    # SIGTERM, not SIGINT: a process started from a background shell ignores SIGINT. The
    # worker stops its pool itself (warm shutdown); whatever outlives its leader (runserver's
    # autoreloader child) is stopped through the process group afterwards.
    for _, process in processes:
        if process.poll() is None:
            process.terminate()
    for _, process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        if os.name != "nt":
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# Every queue a task may be routed to; the one worker of `dev.py run` consumes them all.
WORKER_QUEUES = "celery,feeds,messages"
# Threads, not processes: the tasks wait on vendors, mail and the database, and each task
# holds its lock's lease (SPEC S5), so threads are safe and cost a few MiB where a prefork
# child costs ~100 MiB.
WORKER_THREADS = "4"


def wants_reload(args: list[str], environ) -> bool:
    """`dev.py run --reload`, or LOCKSYNC_RELOAD=1: restart the web server on code changes."""
    return "--reload" in args or environ.get("LOCKSYNC_RELOAD", "") not in ("", "0")


def web_command(*, reload: bool) -> list[str]:
    # Django's autoreloader runs the server in a second, full-size process; only on request.
    return ["manage.py", "runserver", *([] if reload else ["--noreload"]), f"{HOST}:{PORT}"]


def worker_command() -> list[str]:
    # One process: beat runs as a thread of the worker (--beat-thread, locksync/celery.py).
    return [
        "-m",
        "celery",
        "-A",
        "locksync",
        "worker",
        "--beat-thread",
        "--pool",
        "threads",
        "--concurrency",
        WORKER_THREADS,
        "--queues",
        WORKER_QUEUES,
        "--without-mingle",
        "--without-gossip",
        "-l",
        "INFO",
    ]


def healthz_answers(url: str) -> bool:
    """Whether the web server answers at url (any HTTP status: it is up, checks may still fail
    while beat has not ticked yet)."""
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own localhost URL)
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_until_answering(processes, *, timeout: float = STARTUP_TIMEOUT, answers=None) -> str:
    """Wait until /healthz answers; return why starting failed, or "" once it answers."""
    answers = answers or healthz_answers
    deadline = time.monotonic() + timeout
    while True:
        failed = [name for name, process in processes if process.poll() is not None]
        if failed:
            return f"{', '.join(failed)} exited"
        if answers(f"http://{HOST}:{PORT}/healthz"):
            return ""
        if time.monotonic() > deadline:
            return f"the web server did not answer at http://{HOST}:{PORT}/healthz"
        time.sleep(0.25)


def run(args: list[str]) -> int:
    # Stop the children on Ctrl-C and on `kill`, also when started in the background (where
    # SIGINT arrives ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    setup()
    (ROOT / "var").mkdir(exist_ok=True)
    manage("migrate", "--no-input", "-v", "0")
    manage("demo")
    processes = [
        start("web", *web_command(reload=wants_reload(args, os.environ))),
        # The web server has just run Django's system checks; the worker skipping them
        # (which would import every URL and view) saves ~20 MiB.
        start("worker + beat", *worker_command(), env={"CELERY_SKIP_CHECKS": "1"}),
    ]
    failed = wait_until_answering(processes)
    if failed:
        print(f"\n  locksync could not start: {failed} (see above)\n")
        stop(processes)
        return 1
    print(
        f"\n  locksync is running at http://{HOST}:{PORT}/\n"
        "  log in as demo@locksync.test with password 'locksync-demo'\n"
        f"  the admin is at http://{HOST}:{PORT}/admin/ (support@locksync.test, same password)\n"
        "  press Ctrl-C to stop\n",
        flush=True,
    )
    code = 0
    try:
        while True:
            exited = [name for name, process in processes if process.poll() is not None]
            if exited:
                print(f"\n  {', '.join(exited)} stopped; stopping the rest\n", flush=True)
                code = 1
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)
    return code


def test(args: list[str]) -> int:
    setup()
    code = subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=ROOT).returncode
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests for this selection; that is not a failure")
        return 0
    return code


def main() -> int:
    command, *args = sys.argv[1:] or ["help"]
    if command == "run":
        return run(args)
    if command == "test":
        return test(args)
    if command == "setup":
        setup()
        return 0
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main())
