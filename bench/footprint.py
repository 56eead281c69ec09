"""Memory of `python3 dev.py run` on the embedded default (SQLite, filesystem broker), idle.

    .venv/bin/python bench/footprint.py [--settle 20] [-- extra dev.py run arguments]

Starts `dev.py run` on a free port with an empty environment for the database and broker
(DATABASE_URL and REDIS_URL removed, so it runs on var/), waits until the login page answers,
lets it settle, then sums the resident memory (RSS, and PSS, which shares pages between
processes fairly) of dev.py and every process under it, read from /proc. Stops it and prints
the figure and each process's part. Exits 1 when the total RSS is 300 MiB or more.

Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MIB = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """Every process under pid, read from /proc/*/stat (its parent is field 4)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0])
    return values.get("Rss", 0), values.get("Pss", 0)


def command_of(pid: int) -> str:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    return raw if len(raw) <= 90 else raw[:87] + "…"


def wait_until_serving(port: int, process: subprocess.Popen, timeout: float) -> float:
    started = time.monotonic()
    url = f"http://127.0.0.1:{port}/accounts/login/"
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            sys.exit(f"dev.py run exited with {process.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    sys.exit(f"dev.py run did not serve {url} within {timeout:.0f} s")


def measure(pid: int) -> list[tuple[int, int, int, str]]:
    rows = []
    for member in children_of(pid):
        try:
            rss, pss = memory_kib(member)
            rows.append((member, rss, pss, command_of(member)))
        except OSError:
            continue  # it exited meanwhile
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=20.0, help="idle seconds before measuring")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("extra", nargs="*", help="arguments for dev.py run")
    args = parser.parse_args()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PORT"] = str(port)
    log = open(ROOT / "var" / "footprint.log", "w")  # noqa: SIM115 (kept open for the child)
    process = subprocess.Popen(
        [sys.executable, "dev.py", "run", *args.extra],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        seconds = wait_until_serving(port, process, args.timeout)
        print(f"serving after {seconds:.1f} s; idling {args.settle:.0f} s", flush=True)
        time.sleep(args.settle)
        samples = []
        for _ in range(3):
            samples.append(measure(process.pid))
            time.sleep(1)
        rows = max(samples, key=lambda sample: sum(row[1] for row in sample))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    print(f"{'pid':>7} {'RSS MiB':>8} {'PSS MiB':>8}  command")
    for pid, rss, pss, command in rows:
        print(f"{pid:>7} {rss / 1024:8.1f} {pss / 1024:8.1f}  {command}")
    total_rss = sum(row[1] for row in rows) / 1024
    total_pss = sum(row[2] for row in rows) / 1024
    print(
        f"dev.py run idle: {total_rss:.0f} MiB RSS summed over {len(rows)} processes "
        f"({total_pss:.0f} MiB PSS); limit {LIMIT_MIB} MiB"
    )
    sys.path.insert(0, str(ROOT))
    from bench.figures import Figure, record

    figure = Figure(
        figure="`dev.py run` idle, RSS summed over its processes",
        command="bench/footprint.py",
        measured=f"{total_rss:.0f} MiB ({total_pss:.0f} MiB PSS), {len(rows)} processes",
        target=f"< {LIMIT_MIB} MiB",
        met=total_rss < LIMIT_MIB,
    )
    record("footprint", [figure], setup="SQLite + filesystem broker")
    return 0 if total_rss < LIMIT_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
