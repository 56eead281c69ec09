"""The world driver: loads stays onto simulated locks, plays faults, and reports what the locks
hold. The harness runs it as its own process (`python -m tests.chaos.world COMMAND ...`)
against the harness's database, with the harness's clock; it prints one JSON line.

What it reports is what a guest would find: for every stay and every lock it should open,
whether that lock holds exactly the stay's PIN (SPEC S7), and whether anything else on the
lock changed (D2).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from tests.chaos.clock import install_from_environment

install_from_environment()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "locksync.settings.local")

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from accesscodes.models import BackupCode, CodeEvent, LockCode  # noqa: E402
from integrations.connections import connection_create  # noqa: E402
from integrations.models import SimulatedAccount, SimulatedCode, SimulatedDevice  # noqa: E402
from integrations.services import match_create  # noqa: E402
from properties.models import Host, Property, SmartLockSettings  # noqa: E402
from reservations.models import Reservation  # noqa: E402
from reservations.services import (  # noqa: E402
    reservation_alter,
    reservation_cancel,
    reservation_upsert,
)

ZONE = "Europe/Lisbon"
FOREIGN_FILE = "foreign-codes.json"


def _emit(payload: dict) -> None:
    print(json.dumps(payload, sort_keys=True, default=str), flush=True)


def _host(name: str, *, code_source: str = SmartLockSettings.CodeSource.RANDOM) -> Host:
    host = Host.objects.create(name=name, alert_email="host@example.com")
    SmartLockSettings.objects.create(host=host, property=None, code_source=code_source)
    return host


def _device(account, name: str, *, latency_ms: int, capacity: int = 100) -> SimulatedDevice:
    return SimulatedDevice.objects.create(
        account=account,
        name=name,
        latency_ms=latency_ms,
        capacity=capacity,
        supported_code_lengths=[4, 5, 6, 7, 8],
    )


def _hand_code(device: SimulatedDevice, *, pin: str, name: str) -> SimulatedCode:
    """A code the owner put on the lock by hand, before locksync (SPEC D2)."""
    return SimulatedCode.objects.create(
        device=device,
        code_id=f"hand-{device.device_id}-{pin}",
        pin=pin,
        name=name,
        applies_at=timezone.now(),
        created_by_hand=True,
    )


def _save_foreign(run_dir: Path) -> None:
    foreign = {
        code.code_id: [code.device.device_id, code.pin, code.name, code.starts_at, code.ends_at]
        for code in SimulatedCode.objects.filter(created_by_hand=True).select_related("device")
    }
    (run_dir / FOREIGN_FILE).write_text(json.dumps(foreign, default=str))


def _property(host: Host, name: str) -> Property:
    return Property.objects.create(
        host=host,
        name=name,
        address="1 Rua Augusta",
        time_zone=ZONE,
        checkin_time=clock_time(16),
        checkout_time=clock_time(11),
    )


def _stay(*, prop: Property, number: int, check_in: datetime, nights: int, phone: str = ""):
    reservation_upsert(
        host=prop.host,
        external_id=f"CHAOS-{number}",
        property=prop,
        guest_name=f"Guest {number:03d} Chaos",
        reservation_code=f"HMCHAOS{number:04d}",
        guest_email=f"guest{number}@example.com",
        guest_phone=phone,
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
    )


def _arrival(prop: Property, days_ahead: int) -> datetime:
    today = timezone.now().astimezone(prop.zone).date()
    return prop.local_datetime(today + timedelta(days=days_ahead), prop.checkin_time)


# -- loading ---------------------------------------------------------------------------------


def load_one_lock(*, run_dir: Path, stays: int, latency_ms: int, fault: str = "") -> dict:
    """A building's front door with `stays` overlapping stays, all inside the lead time."""
    host = _host("Slow lock host")
    account = SimulatedAccount.objects.create(api_key="chaos-one-lock")
    device = _device(account, "Front door", latency_ms=latency_ms, capacity=stays + 20)
    if fault:  # e.g. "timeout_applied:timeout" for the first write
        mode, reason = fault.split(":")
        SimulatedDevice.objects.filter(pk=device.pk).update(
            fault_count=1, fault_mode=mode, fault_reason=reason
        )
    _hand_code(device, pin="2580", name="Cleaner")
    _save_foreign(run_dir)
    connection = connection_create(
        host=host, vendor="simulator", credentials={"api_key": account.api_key}
    )
    lock = connection.locks.get()
    prop = _property(host, "The building")
    match_create(lock=lock, property=prop)
    for number in range(stays):
        _stay(prop=prop, number=number, check_in=_arrival(prop, 1 + number % 2), nights=2)
    return {"lock": lock.remote_id, "stays": stays}


def load_buildings(
    *, run_dir: Path, buildings: int, apartments: int, latency_ms: int, seed: int
) -> dict:
    """Buildings whose front door serves every apartment (M1), each apartment with its own lock,
    three one-night stays per apartment, hand-made codes on the doors, and guests whose phone
    digits equal a hand-made code (P4/P7) or whose name equals one (N2)."""
    rng = random.Random(seed)
    number = 0
    for b in range(buildings):
        source = (
            SmartLockSettings.CodeSource.PHONE if b % 2 else SmartLockSettings.CodeSource.RANDOM
        )
        host = _host(f"Building {b}", code_source=source)
        account = SimulatedAccount.objects.create(api_key=f"chaos-building-{b}")
        front = _device(account, f"B{b} front door", latency_ms=latency_ms)
        _hand_code(front, pin="2580", name="Cleaner")
        _hand_code(front, pin=f"{1300 + b}", name="Owner")
        _hand_code(front, pin=f"{9100 + b}", name=f"Guest {b * apartments * 3:03d} Chaos")
        doors = []
        for a in range(apartments):
            door = _device(account, f"B{b} apartment {a}", latency_ms=latency_ms)
            if rng.random() < 0.4:
                _hand_code(door, pin=f"{rng.randrange(2000, 9000)}", name="Owner")
            doors.append(door)
        connection = connection_create(
            host=host, vendor="simulator", credentials={"api_key": account.api_key}
        )
        locks = {lock.remote_id: lock for lock in connection.locks.all()}
        for a, door in enumerate(doors):
            prop = _property(host, f"B{b} apartment {a}")
            match_create(lock=locks[door.device_id], property=prop)
            match_create(lock=locks[front.device_id], property=prop)
            hand = list(door.codes.filter(created_by_hand=True)) + list(
                front.codes.filter(created_by_hand=True)
            )
            for day in range(3):
                phone = ""
                if rng.random() < 0.5:
                    last = (
                        rng.choice(hand).pin
                        if rng.random() < 0.3
                        else f"{rng.randrange(10**4):04d}"
                    )
                    phone = f"+351 91{rng.randrange(10**3):03d}{last}"
                _stay(prop=prop, number=number, check_in=_arrival(prop, day), nights=1, phone=phone)
                number += 1
    _save_foreign(run_dir)
    return {"stays": number, "locks": SimulatedDevice.objects.count()}


# -- faults ----------------------------------------------------------------------------------

# Played in turn, so every kind happens in every run; which lock gets it is random.
FAULTS = [
    ("offline", ""),
    (SimulatedDevice.FaultMode.FAIL, "rejected"),
    (SimulatedDevice.FaultMode.TIMEOUT_APPLIED, "timeout"),
    (SimulatedDevice.FaultMode.ACK_NEVER_APPLIED, "timeout"),
    (SimulatedDevice.FaultMode.FAIL, "vendor_error"),
    (SimulatedDevice.FaultMode.TIMEOUT_APPLIED, "timeout"),
]


BOOKING_CHANGES = 24


def _change_a_booking(rng: random.Random, pending, *, kind: int) -> dict[int, str]:
    """Extend or cancel a stay with a code on its way to a lock, as a host would mid-write
    (SPEC S9, C1, C3)."""
    candidates = list(
        Reservation.objects.filter(
            status=Reservation.Status.ACCEPTED,
            access_code__lock_codes__lock__remote_id__in=pending,
        )
        # Not one that already failed: a change makes it due at once, and failures stacked
        # in seconds push R1's next retry (30 min, 1 h, 2 h) past a bounded run.
        .exclude(access_code__lock_codes__attempts__gt=0)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    if not candidates:
        return {}
    reservation = Reservation.objects.get(pk=rng.choice(candidates))
    if kind == 0:
        reservation_alter(
            reservation=reservation, check_out=reservation.check_out + timedelta(days=1)
        )
        return {reservation.pk: "extended"}
    reservation_cancel(reservation=reservation)
    return {reservation.pk: "cancelled"}


def monkey(*, seconds: float, seed: int) -> dict:
    """For `seconds`, flip random locks offline for a few seconds and plan faults on others;
    then bring every lock back online and drop unused fault plans."""
    rng = random.Random(seed)
    played: Counter = Counter()
    back_online: dict[int, float] = {}
    turns = itertools.cycle(FAULTS)
    changed: dict[int, str] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = time.monotonic()
        for pk in [pk for pk, at in back_online.items() if at <= now]:
            SimulatedDevice.objects.filter(pk=pk).update(online=True)
            del back_online[pk]
        # Faults land where writes are pending: locks with codes not yet set.
        pending = LockCode.objects.exclude(state=LockCode.State.SET).values("lock__remote_id")
        devices = list(
            SimulatedDevice.objects.filter(device_id__in=pending)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not devices:  # the stays are still being loaded
            time.sleep(0.2)
            continue
        pk = rng.choice(devices)
        mode, reason = next(turns)
        if mode == "offline":
            if pk not in back_online:
                SimulatedDevice.objects.filter(pk=pk).update(online=False)
                back_online[pk] = now + rng.uniform(1.0, 5.0)
                played["offline"] += 1
        else:
            SimulatedDevice.objects.filter(pk=pk).update(
                fault_count=rng.randint(1, 2), fault_mode=mode, fault_reason=reason
            )
            played[f"{mode}:{reason}"] += 1
        if len(changed) < BOOKING_CHANGES:
            changed.update(_change_a_booking(rng, pending, kind=len(changed) % 2))
        time.sleep(rng.uniform(0.2, 0.6))
    played["stays_extended"] = sum(1 for kind in changed.values() if kind == "extended")
    played["stays_cancelled"] = sum(1 for kind in changed.values() if kind == "cancelled")
    unused = sum(SimulatedDevice.objects.values_list("fault_count", flat=True))
    SimulatedDevice.objects.update(online=True, fault_count=0)
    return {"played": dict(played), "unused_fault_writes": unused}


# -- what the locks hold ---------------------------------------------------------------------


def _visible_by_device() -> dict[str, list[SimulatedCode]]:
    codes = defaultdict(list)
    for code in SimulatedCode.objects.filter(never_applies=False).select_related("device"):
        codes[code.device.device_id].append(code)
    return codes


def _tracked_ids() -> set[str]:
    lock_codes = LockCode.objects.exclude(vendor_code_id="").exclude(state=LockCode.State.REMOVED)
    backups = BackupCode.objects.exclude(vendor_code_id="").exclude(state=BackupCode.State.REMOVED)
    return set(lock_codes.values_list("vendor_code_id", flat=True)) | set(
        backups.values_list("vendor_code_id", flat=True)
    )


def _foreign_changed(run_dir: Path, visible: dict[str, list[SimulatedCode]]) -> list[str]:
    path = run_dir / FOREIGN_FILE
    before = json.loads(path.read_text()) if path.exists() else {}
    now = {
        code.code_id: [device_id, code.pin, code.name, code.starts_at, code.ends_at]
        for device_id, codes in visible.items()
        for code in codes
        if code.created_by_hand
    }
    now = json.loads(json.dumps(now, default=str))
    return sorted(code_id for code_id, row in before.items() if now.get(code_id) != row)


def _retry_scheduled(lock_code: LockCode) -> bool:
    return (
        lock_code.state == LockCode.State.FAILED
        and lock_code.next_attempt_at is not None
        and lock_code.next_attempt_at > timezone.now()
    )


def report(*, run_dir: Path) -> dict:
    """Per stay and lock: exactly its PIN on the lock, tracked and confirmed? Plus strays."""
    visible = _visible_by_device()
    tracked = _tracked_ids()
    live = (
        LockCode.objects.exclude(state=LockCode.State.REMOVED)
        .filter(access_code__cancelled_at=None)
        .select_related("lock", "access_code")
    )
    counts: Counter = Counter()
    problems: list[str] = []
    for lock_code in live:
        counts["expected"] += 1
        pin = lock_code.access_code.pin
        on_lock = visible[lock_code.lock.remote_id]
        copies = [c for c in on_lock if not c.created_by_hand and c.pin == pin]
        where = f"stay {lock_code.access_code.reservation_id} on {lock_code.lock.remote_id}"
        if any(c.created_by_hand and c.pin == pin for c in on_lock):
            counts["pin_equals_foreign"] += 1
            problems.append(f"{where}: its PIN equals a hand-made code's")
        if lock_code.pin != pin:
            counts["lock_pin_differs"] += 1
        if not copies and _retry_scheduled(lock_code):
            # Not on the lock yet, but its next attempt is booked (R1 backs off to 2 h after
            # the third failure, longer than a bounded run): late, not lost (S4).
            counts["retry_scheduled"] += 1
            problems.append(
                f"{where}: not on the lock yet, attempt {lock_code.attempts + 1} due "
                f"{lock_code.next_attempt_at} ({lock_code.last_error})"
            )
        elif not copies:
            counts["lost"] += 1
            problems.append(f"{where}: PIN not on the lock ({lock_code.state})")
        elif len(copies) > 1:
            counts["duplicated"] += 1
            problems.append(f"{where}: {len(copies)} copies of its PIN")
        elif copies[0].code_id != lock_code.vendor_code_id:
            counts["not_tracked"] += 1
            problems.append(
                f"{where}: on the lock as {copies[0].code_id}, tracked as "
                f"{lock_code.vendor_code_id!r} ({lock_code.state})"
            )
        elif lock_code.state != LockCode.State.SET:
            counts["unconfirmed"] += 1
        else:
            counts["ok"] += 1
            if (copies[0].starts_at, copies[0].ends_at) != (
                lock_code.access_code.starts_at,
                lock_code.access_code.ends_at,
            ):
                counts["window_differs"] += 1
                problems.append(
                    f"{where}: window on the lock {copies[0].starts_at}–{copies[0].ends_at}, "
                    f"stay {lock_code.access_code.starts_at}–{lock_code.access_code.ends_at}"
                )
    now = timezone.now()
    cancelled = LockCode.objects.filter(access_code__cancelled_at__isnull=False)
    cancelled_pins: dict[str, set[str]] = defaultdict(set)
    for lock_code in cancelled.select_related("lock", "access_code"):
        counts["cancelled"] += 1
        pin = lock_code.access_code.pin
        cancelled_pins[lock_code.lock.remote_id].add(pin)
        still_open = [
            code
            for code in visible[lock_code.lock.remote_id]
            if not code.created_by_hand
            and code.pin == pin
            and (code.ends_at is None or code.ends_at > now)
        ]
        if still_open:
            counts["cancelled_still_open"] += 1
            problems.append(
                f"cancelled stay {lock_code.access_code.reservation_id} still opens "
                f"{lock_code.lock.remote_id} ({lock_code.state})"
            )
    strays, cancelled_strays = [], []
    for device_id, codes in visible.items():
        for code in codes:
            if code.created_by_hand or code.code_id in tracked:
                continue
            # Left behind by a cancelled stay, or by nobody we know of.
            found = cancelled_strays if code.pin in cancelled_pins[device_id] else strays
            found.append(f"{device_id}:{code.code_id}:{code.name}")
    foreign = _foreign_changed(run_dir, visible)
    keys = ("lost", "duplicated", "not_tracked", "unconfirmed", "ok", "expected", "window_differs")
    for key in (*keys, "cancelled", "cancelled_still_open", "retry_scheduled"):
        counts.setdefault(key, 0)
    return {
        "counts": dict(counts),
        "untracked_on_locks": len(strays),
        "untracked_of_cancelled_stays": len(cancelled_strays),
        "foreign_changed": len(foreign),
        "states": dict(Counter(LockCode.objects.values_list("state", flat=True))),
        "pin_changes": CodeEvent.objects.filter(kind="pin_changed").count(),
        "writes_acknowledged_never_applied": SimulatedCode.objects.filter(
            never_applies=True
        ).count(),
        "problems": (
            problems
            + [f"untracked {s}" for s in strays]
            + [f"untracked, of a cancelled stay: {s}" for s in cancelled_strays]
            + foreign
        )[:40],
        "settled": counts["ok"] == counts["expected"]
        and not (counts["window_differs"] or counts["cancelled_still_open"])
        and not (strays or cancelled_strays or foreign),
    }


def cancel_when_on_lock(*, name: str, seconds: float) -> dict:
    """Cancel the stay whose code is named `name` as soon as that code shows on its lock,
    while the worker that wrote it still waits for the vendor's answer (SPEC S9, C3)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if SimulatedCode.objects.filter(name=name, created_by_hand=False).exists():
            lock_code = LockCode.objects.select_related("access_code__reservation").get(
                name_on_lock=name
            )
            state_before, seen_at = lock_code.state, time.time()
            reservation_cancel(reservation=lock_code.access_code.reservation)
            return {"seen_at": seen_at, "cancelled_at": time.time(), "state_before": state_before}
        time.sleep(0.02)
    raise SystemExit(f"{name} never showed on its lock")


def code_on_lock(*, name: str) -> dict:
    """Where the code named `name` stands: our row and the copies on its lock."""
    lock_code = LockCode.objects.select_related("lock", "access_code").get(name_on_lock=name)
    pin = lock_code.access_code.pin
    on_lock = SimulatedCode.objects.filter(
        device__device_id=lock_code.lock.remote_id, never_applies=False, created_by_hand=False
    )
    ids = [code.code_id for code in on_lock if code.pin == pin]
    confirmed = (
        lock_code.state == LockCode.State.SET
        and len(ids) == 1
        and ids[0] == lock_code.vendor_code_id
    )
    return {"state": lock_code.state, "copies": len(ids), "confirmed": confirmed}


def code_details(*, name: str) -> dict:
    """Everything about one code, for a bug report."""
    lock_code = LockCode.objects.select_related("access_code").get(name_on_lock=name)
    fields = (
        "state",
        "vendor_code_id",
        "in_sync",
        "attempts",
        "last_error",
        "next_attempt_at",
        "delete_after",
        "window_starts_at",
        "window_ends_at",
    )
    copies = SimulatedCode.objects.filter(name=name)
    return {
        "now": timezone.now(),
        "cancelled_at": lock_code.access_code.cancelled_at,
        "row": {field: getattr(lock_code, field, None) for field in fields},
        "on_lock": [(c.code_id, c.starts_at, c.ends_at, c.never_applies) for c in copies],
        "events": list(
            CodeEvent.objects.filter(access_code=lock_code.access_code)
            .order_by("id")
            .values_list("kind", "reason", "created_at")
        ),
    }


def wait(*, run_dir: Path, seconds: float, name: str = "") -> dict:
    """Poll until every stay is settled (or the code `name` is confirmed); report either way."""
    started = time.time()
    deadline = started + seconds
    while True:
        done = code_on_lock(name=name)["confirmed"] if name else report(run_dir=run_dir)["settled"]
        if done or time.time() >= deadline:
            break
        time.sleep(0.5)
    result = report(run_dir=run_dir)
    result["waited_seconds"] = round(time.time() - started, 1)
    result["done"] = done
    result["done_at"] = time.time()
    if name:
        result["code"] = code_on_lock(name=name)
    return result


def chaos(
    *,
    run_dir: Path,
    buildings: int,
    apartments: int,
    latency_ms: int,
    seed: int,
    seconds: float,
    deadline: float,
) -> dict:
    """Stays arrive while faults play (a thread), then wait until every stay is settled."""
    played: dict = {}

    def play() -> None:
        try:
            played.update(monkey(seconds=seconds, seed=seed))
        finally:
            connections.close_all()

    thread = threading.Thread(target=play)
    thread.start()
    loaded = load_buildings(
        run_dir=run_dir,
        buildings=buildings,
        apartments=apartments,
        latency_ms=latency_ms,
        seed=seed,
    )
    loaded_at = time.time()
    thread.join()
    return {
        **loaded,
        "loaded_at": loaded_at,
        "faults": played,
        "faults_ended_at": time.time(),
        **wait(run_dir=run_dir, seconds=max(10.0, deadline - time.time())),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.world")
    parser.add_argument("command")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--stays", type=int, default=150)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--buildings", type=int, default=8)
    parser.add_argument("--apartments", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--name", default="")
    parser.add_argument("--fault", default="")
    parser.add_argument("--wait-seconds", type=float, default=0)
    parser.add_argument("--deadline", type=float, default=0, help="epoch seconds")
    args = parser.parse_args(argv)
    if args.command == "load-one-lock":
        loaded = load_one_lock(
            run_dir=args.run_dir, stays=args.stays, latency_ms=args.latency_ms, fault=args.fault
        )
        if args.wait_seconds:
            loaded.update(wait(run_dir=args.run_dir, seconds=args.wait_seconds))
        _emit(loaded)
    elif args.command == "load-buildings":
        _emit(
            load_buildings(
                run_dir=args.run_dir,
                buildings=args.buildings,
                apartments=args.apartments,
                latency_ms=args.latency_ms,
                seed=args.seed,
            )
        )
    elif args.command == "chaos":
        _emit(
            chaos(
                run_dir=args.run_dir,
                buildings=args.buildings,
                apartments=args.apartments,
                latency_ms=args.latency_ms,
                seed=args.seed,
                seconds=args.seconds,
                deadline=args.deadline,
            )
        )
    elif args.command == "monkey":
        _emit(monkey(seconds=args.seconds, seed=args.seed))
    elif args.command == "report":
        _emit(report(run_dir=args.run_dir))
    elif args.command == "cancel-when-on-lock":
        _emit(cancel_when_on_lock(name=args.name, seconds=args.seconds))
    elif args.command == "details":
        _emit(code_details(name=args.name))
    elif args.command == "code":
        _emit(code_on_lock(name=args.name))
    elif args.command == "wait":
        _emit(wait(run_dir=args.run_dir, seconds=args.seconds, name=args.name))
    else:
        parser.error(f"unknown command {args.command}")


if __name__ == "__main__":
    main(sys.argv[1:])
