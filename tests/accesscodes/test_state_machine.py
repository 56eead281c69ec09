"""Random histories of stays, matches, lock trouble and time: every lock ends up right.

A hypothesis RuleBasedStateMachine drives two properties (Lisbon and New York, so DST changes
fall inside the runs) and three simulated locks (L0 on P0, L1 on P1, L2 on both), with backup
codes on. Steps: accept, alter, move and cancel stays; match and unmatch; locks going offline,
filling up, getting a code by hand; injected vendor failures; time passing, with the minute
sweeps and the 08:00 New York healthcheck run at every moment something is due. A model of
the reservations, kept by the test, says what each lock should hold.

Concurrency is modelled too: a booking change (alter or cancel) committed while a write to the
lock is in flight (SPEC S9), a worker killed in the middle of a write, with or without the
write reaching the lock, its lease left to expire (R4, S5), and a second worker trying the
lock during every write, which must find it leased (S5).

Checked after every step: hand-made codes are never changed or deleted (D2); no two codes on
a lock share a PIN; no lock is over capacity; nothing stays due after a sweep; no code of ours
stays past its deletion time (D1, M4, C2, C3), and on a lock that had no trouble since the last
settle, nothing of ours is on it that the model does not allow. After "settle" (faults
cleared, locks online, retries run): each lock holds exactly its hand-made codes, its backup
pool and the codes of the stays that should be on it now, with the window on the lock; each
guest has one PIN on every lock; no copy is unaccounted for.

CI runs a fixed, derandomised set of examples (30 x 25 steps). The long run (10,000 steps):

    HYPOTHESIS_EXAMPLES=400 HYPOTHESIS_DERANDOMIZE=0 HYPOTHESIS_NO_SHRINK=1 \
        .venv/bin/python -m pytest -q -s tests/accesscodes/test_state_machine.py -k random_histories

(HYPOTHESIS_STEPS sets the steps per example, default 25; HYPOTHESIS_DERANDOMIZE=0 explores
fresh examples on each run, HYPOTHESIS_NO_SHRINK=1 skips shrinking a failure.)
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accesscodes import pin as pin_module
from accesscodes import services
from accesscodes.engine.lease import LEASE_TTL, lease_acquire
from accesscodes.healthcheck import HEALTHCHECK_AT, HEALTHCHECK_ZONE, healthcheck_run
from accesscodes.models import AccessCode, BackupCode, CodeEvent, LockCode, LockLease
from integrations.base import Reason
from integrations.models import Match, SimulatedCode, SimulatedDevice
from integrations.services import match_create, match_delete
from integrations.simulator import SimulatorAdapter
from properties.models import SmartLockSettings
from reservations.models import Reservation
from reservations.services import (
    reservation_alter,
    reservation_cancel,
    reservation_move,
    reservation_upsert,
)
from tests.accesscodes.conftest import codes_on, settle
from tests.factories import (
    HostFactory,
    LockConnectionFactory,
    LockFactory,
    PropertyFactory,
    SimulatedCodeFactory,
)

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "30"))
STEPS = int(os.environ.get("HYPOTHESIS_STEPS", "25"))
# Exploring beyond CI's fixed examples: HYPOTHESIS_DERANDOMIZE=0 draws fresh ones each run,
# HYPOTHESIS_NO_SHRINK=1 reports a failure as found (shrinking one can take minutes).
DERANDOMIZE = os.environ.get("HYPOTHESIS_DERANDOMIZE", "1") != "0"
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + (
    [] if os.environ.get("HYPOTHESIS_NO_SHRINK") else [Phase.shrink]
)

# Lisbon leaves summer time on 25 Oct 2026, New York on 1 Nov 2026: both inside the runs.
START = datetime(2026, 10, 22, 9, 0, tzinfo=UTC)
LEAD = timedelta(days=3)  # the simulator stores time-bound codes (SPEC S2)
GRACE = services.DELETE_GRACE  # SPEC D1
CAPACITY = 100
POOL = 2  # backup codes per lock
ZONES = ("Europe/Lisbon", "America/New_York")
INITIAL_MATCHES = {(0, 0), (1, 1), (2, 0), (2, 1)}  # (lock, property)
# Each advance of the clock may handle this many due moments; more means the engine loops.
MAX_EVENTS = 600

FAULTS = [
    (SimulatedDevice.FaultMode.FAIL, Reason.LOCK_OFFLINE),
    (SimulatedDevice.FaultMode.FAIL, Reason.LOCK_FULL),
    (SimulatedDevice.FaultMode.FAIL, Reason.DUPLICATE_CODE),
    (SimulatedDevice.FaultMode.FAIL, Reason.DUPLICATE_NAME),
    (SimulatedDevice.FaultMode.FAIL, Reason.REJECTED),
    (SimulatedDevice.FaultMode.FAIL, Reason.RATE_LIMITED),
    (SimulatedDevice.FaultMode.FAIL, Reason.VENDOR_ERROR),
    (SimulatedDevice.FaultMode.TIMEOUT_APPLIED, Reason.TIMEOUT),
    (SimulatedDevice.FaultMode.ACK_NEVER_APPLIED, Reason.VENDOR_ERROR),
]
TIME_STEPS = [
    timedelta(minutes=5),
    timedelta(minutes=40),
    timedelta(hours=3),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=3),
]


class SeededSecrets:
    """Stands in for `secrets` in accesscodes.pin so each example replays the same PINs."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)  # noqa: S311 — test determinism, not security

    def choice(self, sequence):
        return self._random.choice(sequence)


@dataclass
class Stay:
    """The test's own record of a reservation: what the engine must make of it."""

    pk: int
    prop: int
    check_in: datetime
    check_out: datetime
    cancelled_at: datetime | None = None
    # Locks the stay was on when it was cancelled: its code may stay there 24 h (SPEC C3).
    cancelled_locks: set[int] = field(default_factory=set)

    @property
    def accepted(self) -> bool:
        return self.cancelled_at is None


class WorkerKilled(BaseException):
    """A worker process dying mid-call (kill -9): no except clause of the engine sees it."""


class LockWorld(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # One savepoint per example, rolled back in teardown: examples never see each other.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._traveller = time_machine.travel(START, tick=False)
        self.clock = self._traveller.start()
        self._real_secrets = pin_module.secrets
        pin_module.secrets = SeededSecrets(20261022)

        self.host = HostFactory()
        SmartLockSettings.objects.create(
            host=self.host, backup_codes_enabled=True, backup_pool_size=POOL
        )
        self.props = [
            PropertyFactory(
                host=self.host,
                name=f"P{n}",
                time_zone=zone,
                checkin_time=time(16),
                checkout_time=time(11),
            )
            for n, zone in enumerate(ZONES)
        ]
        connection = LockConnectionFactory(host=self.host)
        self.locks = [
            LockFactory(connection=connection, device__name=f"L{n}", device__capacity=CAPACITY)
            for n in range(3)
        ]
        self.devices = [SimulatedDevice.objects.get(device_id=lk.remote_id) for lk in self.locks]
        self.matches: set[tuple[int, int]] = set()
        for lock_index, prop_index in sorted(INITIAL_MATCHES):
            match_create(lock=self.locks[lock_index], property=self.props[prop_index])
            self.matches.add((lock_index, prop_index))
        self.stays: list[Stay] = []
        # code_id -> (device index, pin, name, starts_at, ends_at) of codes put on by hand.
        self.hand_made: dict[str, tuple] = {}
        # Locks that had an injected fault, went offline or filled up since the last settle.
        self.troubled: set[int] = set()
        # One-shot happenings armed by rules, carried out at the next write to a lock.
        self.during_next_write = None
        self.kill_next_write: bool | None = None  # True: after the write reached the lock
        self._lock_of_device = {lk.remote_id: n for n, lk in enumerate(self.locks)}
        self._real_writes = {
            name: getattr(SimulatorAdapter, name)
            for name in ("create_code", "update_code", "delete_code")
        }
        for name, original in self._real_writes.items():
            setattr(SimulatorAdapter, name, self._watched(original))
        self.sweep()

    def _watched(self, original):
        """A vendor write as the machine sees it: a second worker tries the lock (it must find
        it leased), and an armed booking change or worker kill happens mid-call."""
        world = self

        def write(adapter, lock_remote_id, *args):
            index = world._lock_of_device[lock_remote_id]
            assert lease_acquire(world.locks[index].pk) is None, "two workers on one lock"
            kill = world.kill_next_write
            if kill is False:  # killed before the write reached the lock
                world.kill_next_write = None
                world.troubled.add(index)
                raise WorkerKilled
            result = original(adapter, lock_remote_id, *args)
            if kill:
                world.kill_next_write = None
                world.troubled.add(index)
                raise WorkerKilled
            change, world.during_next_write = world.during_next_write, None
            if change is not None:
                change()  # a web request commits while the worker waits for the vendor
            return result

        return write

    def teardown(self) -> None:
        RAN["examples"] += 1
        for name, original in self._real_writes.items():
            setattr(SimulatorAdapter, name, original)
        pin_module.secrets = self._real_secrets
        self._traveller.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- the system running ---------------------------------------------------------------

    def sweep(self) -> None:
        """What the workers do at this moment: fast path, minute sweeps, 08:00 healthcheck."""
        try:
            settle(rounds=20)
            if healthcheck_run() is not None:
                settle(rounds=20)
        except WorkerKilled:
            self.worker_died()
            self.sweep()
            return
        self.check_sweep_done()

    def worker_died(self) -> None:
        """The dead worker's lease stays until it expires (its `finally` never ran)."""
        live = LockLease.objects.filter(expires_at__gt=timezone.now())
        for index, lock in enumerate(self.locks):
            if index in self.troubled and not live.filter(lock=lock).exists():
                LockLease.objects.update_or_create(
                    lock=lock,
                    defaults={"holder": "dead", "expires_at": timezone.now() + LEASE_TTL},
                )

    def leased(self) -> set[int]:
        return set(
            LockLease.objects.filter(expires_at__gt=timezone.now()).values_list(
                "lock_id", flat=True
            )
        )

    def next_event(self) -> datetime | None:
        """The next moment something is due: a send, follow-up, retry, deletion, rotation or
        healthcheck."""
        now = timezone.now()
        candidates = [
            LockCode.objects.exclude(state=LockCode.State.REMOVED).aggregate(
                a=Min("next_attempt_at"), d=Min("delete_after")
            ),
            BackupCode.objects.exclude(state=BackupCode.State.REMOVED).aggregate(
                a=Min("next_attempt_at"), d=Min("retire_after")
            ),
        ]
        moments = [m for row in candidates for m in row.values() if m is not None]
        leases = LockLease.objects.filter(expires_at__gt=now).aggregate(m=Min("expires_at"))
        if leases["m"] is not None:
            moments.append(leases["m"] + timedelta(seconds=1))
        local = now.astimezone(HEALTHCHECK_ZONE)
        for day in (local.date(), local.date() + timedelta(days=1)):
            at = datetime.combine(day, HEALTHCHECK_AT, tzinfo=HEALTHCHECK_ZONE)
            if at > now:
                moments.append(at.astimezone(UTC))
                break
        if not moments:
            return None
        # Anything still due now is picked up by the next minute's sweep.
        return max(min(moments), now + timedelta(minutes=1))

    def advance(self, until: datetime) -> None:
        """Move the clock to `until`, running the sweeps at every moment something is due."""
        for _ in range(MAX_EVENTS):
            moment = self.next_event()
            if moment is None or moment > until:
                break
            self.clock.move_to(moment)
            self.sweep()
            self.check_always()
        else:
            pytest.fail(f"more than {MAX_EVENTS} due moments before {until}: the engine loops")
        if timezone.now() < until:
            self.clock.move_to(until)
            self.sweep()

    def unsettled_at(self) -> datetime | None:
        """When the next follow-up, retry or pending removal is due, if any is pending."""
        pending_codes = LockCode.objects.filter(next_attempt_at__isnull=False).filter(
            ~Q(state__in=[LockCode.State.SCHEDULED, LockCode.State.REMOVED])
            | Q(in_sync=False, state=LockCode.State.SET)
        )
        pending_backups = BackupCode.objects.filter(next_attempt_at__isnull=False).exclude(
            state=BackupCode.State.REMOVED
        )
        dead_leases = LockLease.objects.filter(expires_at__gt=timezone.now())
        lease_end = dead_leases.aggregate(m=Min("expires_at"))["m"]
        moments = [
            pending_codes.aggregate(m=Min("next_attempt_at"))["m"],
            pending_backups.aggregate(m=Min("next_attempt_at"))["m"],
            # A killed worker's lock is worked on again once its lease has expired.
            lease_end + timedelta(seconds=1) if lease_end else None,
        ]
        moments = [m for m in moments if m is not None]
        return min(moments) if moments else None

    # --- reading the locks ----------------------------------------------------------------

    def visible(self, index: int) -> list[SimulatedCode]:
        return list(
            SimulatedCode.objects.filter(device=self.devices[index], never_applies=False).order_by(
                "id"
            )
        )

    def stay_window(self, stay: Stay) -> tuple[datetime, datetime]:
        """The window on the lock: the stay's, cut at cancellation (SPEC W1 buffers are 0, C3)."""
        starts_at, ends_at = stay.check_in, stay.check_out
        if stay.cancelled_at is not None and stay.cancelled_at < ends_at:
            ends_at = stay.cancelled_at
            starts_at = min(starts_at, ends_at - timedelta(minutes=1))
        return starts_at, ends_at

    def allowed(self, stay: Stay, lock: int, now: datetime) -> bool:
        """Whether our code for the stay may be on the lock now."""
        if stay.accepted and (lock, stay.prop) in self.matches:
            return now < stay.check_out + GRACE
        if not stay.accepted and lock in stay.cancelled_locks:
            return now < self.stay_window(stay)[1] + GRACE
        return False

    def required(self, stay: Stay, lock: int, now: datetime) -> bool:
        """Whether our code for the stay must be on the lock now (SPEC S2, W1)."""
        return (
            stay.accepted
            and (lock, stay.prop) in self.matches
            and stay.check_in - LEAD <= now < stay.check_out
        )

    def ours_on(self, index: int) -> tuple[dict[str, LockCode], dict[str, BackupCode], list]:
        """Our codes on the lock by code id: guest codes, backup codes, and unaccounted ones."""
        lock = self.locks[index]
        lock_codes = {
            lc.vendor_code_id: lc
            for lc in LockCode.objects.filter(lock=lock)
            .exclude(vendor_code_id="")
            .select_related("access_code")
        }
        backups = {
            b.vendor_code_id: b
            for b in BackupCode.objects.filter(lock=lock).exclude(vendor_code_id="")
        }
        guests, spares, unknown = {}, {}, []
        for code in self.visible(index):
            if code.created_by_hand:
                continue
            if code.code_id in lock_codes:
                guests[code.code_id] = lock_codes[code.code_id]
            elif code.code_id in backups:
                spares[code.code_id] = backups[code.code_id]
            else:
                unknown.append(code)
        return guests, spares, unknown

    def stay_of(self, lock_code: LockCode) -> Stay:
        reservation_id = lock_code.access_code.reservation_id
        return next(stay for stay in self.stays if stay.pk == reservation_id)

    # --- checks ---------------------------------------------------------------------------

    def check_sweep_done(self) -> None:
        now = timezone.now()
        leased = self.leased()  # a killed worker's lock waits for its lease to expire
        due = set(services.due_lock_ids(now=now)) - leased
        assert due == set(), "work still due after the sweeps"
        deletions = set(services.deletion_due_lock_ids(now=now)) - leased
        assert deletions == set(), "deletion still due after sweeps"

    @invariant()
    def check_always(self) -> None:
        RAN["checks"] += 1
        now = timezone.now()
        # D2: codes put on by hand are never changed or deleted.
        for code_id, (index, pin, name, starts_at, ends_at) in self.hand_made.items():
            code = SimulatedCode.objects.filter(code_id=code_id).first()
            assert code is not None, f"hand-made code {name} was deleted from L{index}"
            assert (code.device_id, code.pin, code.name, code.starts_at, code.ends_at) == (
                self.devices[index].pk,
                pin,
                name,
                starts_at,
                ends_at,
            ), f"hand-made code {name} on L{index} was changed"
        for index, device in enumerate(self.devices):
            codes = self.visible(index)
            pins = [code.pin for code in codes]
            assert len(pins) == len(set(pins)), f"two codes share a PIN on L{index}"
            device.refresh_from_db()
            assert len(codes) <= device.capacity, f"L{index} is over capacity"
            if index in self.troubled:
                continue
            # A lock without trouble holds nothing of ours the model does not allow now.
            guests, _spares, _unknown = self.ours_on(index)
            for lock_code in guests.values():
                stay = self.stay_of(lock_code)
                assert self.allowed(stay, index, now), (
                    f"L{index} still holds the code of stay {stay} at {now}"
                )
        # D1: after the sweeps, no code of ours is left past its deletion time.
        late = LockCode.objects.filter(delete_after__lte=now).exclude(state=LockCode.State.REMOVED)
        late = late.exclude(lock_id__in=self.leased())
        assert not late.exists(), "a code is past its deletion time after the sweep"

    def check_settled(self) -> None:
        """Everything as the model says, after faults are cleared and retries have run."""
        now = timezone.now()
        for index, lock in enumerate(self.locks):
            guests, spares, unknown = self.ours_on(index)
            assert unknown == [], f"L{index} holds copies we cannot account for: {unknown}"
            on_lock = {}
            for code_id, lock_code in guests.items():
                stay = self.stay_of(lock_code)
                assert lock_code.state != LockCode.State.REMOVED, f"removed code on L{index}"
                assert self.allowed(stay, index, now), f"L{index} holds {stay} at {now}"
                assert stay.pk not in on_lock, f"two copies of {stay} on L{index}"
                on_lock[stay.pk] = SimulatedCode.objects.get(code_id=code_id)
            for stay in self.stays:
                if self.required(stay, index, now):
                    assert stay.pk in on_lock, f"L{index} lacks the code of {stay} at {now}"
            for stay_pk, code in on_lock.items():
                stay = next(s for s in self.stays if s.pk == stay_pk)
                lock_code = guests[code.code_id]
                assert lock_code.state == LockCode.State.SET, f"{stay} on L{index} not SET"
                # One PIN per guest on every lock (SPEC M2, P5) and the window on the lock (W1).
                assert code.pin == lock_code.pin
                if lock_code.pin != lock_code.access_code.pin:
                    # P6: only a lock that kept rejecting the guest's PIN has its own.
                    assert CodeEvent.objects.filter(lock_code=lock_code, kind="own_pin").exists()
                assert code.name == lock_code.name_on_lock
                assert (code.starts_at, code.ends_at) == self.stay_window(stay), (
                    f"window of {stay} on L{index}"
                )
            # Backup codes (SPEC H3): the pool, on the lock, while the lock serves a property.
            pool = POOL if any(lock_index == index for lock_index, _ in self.matches) else 0
            assert len(spares) == pool, f"L{index} holds {len(spares)} backup codes, not {pool}"
            for code_id, backup in spares.items():
                assert backup.state == BackupCode.State.SET
                assert SimulatedCode.objects.get(code_id=code_id).pin == backup.pin
            # Nothing believed set is missing from the lock.
            believed = LockCode.objects.filter(lock=lock, state=LockCode.State.SET)
            assert {lc.vendor_code_id for lc in believed} <= set(guests)

    # --- steps ----------------------------------------------------------------------------

    def _local_stay(self, prop_index: int, offset_days: int, nights: int):
        prop = self.props[prop_index]
        today = timezone.now().astimezone(prop.zone).date()
        check_in = prop.local_datetime(today + timedelta(days=offset_days), prop.checkin_time)
        check_out = prop.local_datetime(
            today + timedelta(days=offset_days + nights), prop.checkout_time
        )
        return check_in, check_out

    def _pick(self, index: int, *, accepted: bool = True) -> Stay | None:
        candidates = [s for s in self.stays if s.accepted or not accepted]
        if accepted:
            candidates = [s for s in candidates if s.check_out > timezone.now()]
        return candidates[index % len(candidates)] if candidates else None

    @rule(
        prop=st.integers(0, 1),
        offset_days=st.integers(-2, 10),
        nights=st.integers(1, 5),
    )
    def accept(self, prop: int, offset_days: int, nights: int) -> None:
        check_in, check_out = self._local_stay(prop, offset_days, nights)
        if check_out <= timezone.now():
            return
        number = len(self.stays)
        reservation, _ = reservation_upsert(
            host=self.host,
            external_id=f"R{number}",
            property=self.props[prop],
            guest_name=f"Guest Number{number}",
            check_in=check_in,
            check_out=check_out,
            reservation_code=f"HM{number:05d}",
        )
        self.stays.append(Stay(reservation.pk, prop, check_in, check_out))
        self.sweep()

    @precondition(lambda self: self.stays)
    @rule(
        which=st.integers(0, 50),
        offset_days=st.integers(-2, 10),
        nights=st.integers(1, 5),
        rename=st.booleans(),
    )
    def alter(self, which: int, offset_days: int, nights: int, rename: bool) -> None:
        stay = self._pick(which)
        if stay is None:
            return
        check_in, check_out = self._local_stay(stay.prop, offset_days, nights)
        if check_out <= timezone.now():
            return
        reservation = Reservation.objects.get(pk=stay.pk)
        reservation_alter(
            reservation=reservation,
            check_in=check_in,
            check_out=check_out,
            guest_name=f"{reservation.guest_name} Jr" if rename else None,
        )
        stay.check_in, stay.check_out = check_in, check_out
        self.sweep()

    @precondition(lambda self: self.stays)
    @rule(which=st.integers(0, 50))
    def move(self, which: int) -> None:
        stay = self._pick(which)
        if stay is None:
            return
        target = 1 - stay.prop
        reservation_move(
            reservation=Reservation.objects.get(pk=stay.pk), property=self.props[target]
        )
        stay.prop = target
        self.sweep()

    @precondition(lambda self: self.stays)
    @rule(which=st.integers(0, 50))
    def cancel(self, which: int) -> None:
        stay = self._pick(which)
        if stay is None:
            return
        reservation_cancel(reservation=Reservation.objects.get(pk=stay.pk))
        stay.cancelled_at = timezone.now()
        stay.cancelled_locks = {lock for lock, prop in self.matches if prop == stay.prop}
        self.sweep()

    @rule(lock=st.integers(0, 2), prop=st.integers(0, 1))
    def toggle_match(self, lock: int, prop: int) -> None:
        if (lock, prop) in self.matches:
            match_delete(match=Match.objects.get(lock=self.locks[lock], property=self.props[prop]))
            self.matches.discard((lock, prop))
            for stay in self.stays:
                if stay.prop == prop:
                    stay.cancelled_locks.discard(lock)
        else:
            match_create(lock=self.locks[lock], property=self.props[prop])
            self.matches.add((lock, prop))
        self.sweep()

    @rule(lock=st.integers(0, 2), online=st.booleans())
    def set_online(self, lock: int, online: bool) -> None:
        SimulatedDevice.objects.filter(pk=self.devices[lock].pk).update(online=online)
        if not online:
            self.troubled.add(lock)
        self.sweep()

    def _set_capacity(self, lock: int, capacity: int) -> None:
        device = self.devices[lock]
        device.refresh_from_db()
        device.capacity = capacity
        device.save()
        # The lock's declared capacity follows at the next state refresh (SPEC L1).
        self.locks[lock].capabilities = device.capability_record().to_json()
        self.locks[lock].save(update_fields=["capabilities", "updated_at"])

    @rule(lock=st.integers(0, 2), room=st.integers(0, 1))
    def fill_lock(self, lock: int, room: int) -> None:
        """The lock can hold only what it holds now (plus `room`)."""
        self._set_capacity(lock, max(1, len(self.visible(lock)) + room))
        self.troubled.add(lock)
        self.sweep()

    @rule(lock=st.integers(0, 2), guest=st.none() | st.integers(0, 50), seed=st.integers(0, 999))
    def code_by_hand(self, lock: int, guest: int | None, seed: int) -> None:
        """Someone adds a code in the lock app, maybe with a guest's PIN from another lock."""
        self.devices[lock].refresh_from_db()
        codes = self.visible(lock)
        if len(codes) >= self.devices[lock].capacity:
            return
        pins_here = {code.pin for code in codes}
        pin = f"{(seed * 7919) % 9000 + 1000}"
        if guest is not None:
            access_codes = list(AccessCode.objects.filter(reservation__host=self.host))
            if access_codes:
                pin = access_codes[guest % len(access_codes)].pin
        if pin in pins_here:
            return
        code = SimulatedCodeFactory(device=self.devices[lock], pin=pin, name=f"Cleaner {seed}")
        self.hand_made[code.code_id] = (lock, pin, code.name, code.starts_at, code.ends_at)
        self.sweep()

    @rule(lock=st.integers(0, 2), fault=st.sampled_from(FAULTS), count=st.integers(1, 3))
    def inject_fault(self, lock: int, fault: tuple, count: int) -> None:
        mode, reason = fault
        SimulatedDevice.objects.filter(pk=self.devices[lock].pk).update(
            fault_mode=mode, fault_reason=reason, fault_count=count
        )
        self.troubled.add(lock)

    @precondition(lambda self: self.stays)
    @rule(
        which=st.integers(0, 50),
        cancel=st.booleans(),
        offset_days=st.integers(-1, 6),
        nights=st.integers(1, 4),
    )
    def change_during_next_write(
        self, which: int, cancel: bool, offset_days: int, nights: int
    ) -> None:
        """A booking change committed while the next write to a lock waits for the vendor."""
        stay = self._pick(which)
        if stay is None:
            return

        def change() -> None:
            if not stay.accepted:
                return
            if cancel:
                reservation_cancel(reservation=Reservation.objects.get(pk=stay.pk))
                stay.cancelled_at = timezone.now()
                stay.cancelled_locks = {lock for lock, prop in self.matches if prop == stay.prop}
                return
            check_in, check_out = self._local_stay(stay.prop, offset_days, nights)
            if check_out <= timezone.now():
                return
            reservation_alter(
                reservation=Reservation.objects.get(pk=stay.pk),
                check_in=check_in,
                check_out=check_out,
            )
            stay.check_in, stay.check_out = check_in, check_out

        self.during_next_write = change

    @rule(reached_the_lock=st.booleans())
    def kill_worker_during_next_write(self, reached_the_lock: bool) -> None:
        """kill -9 of the worker in the middle of its next vendor write."""
        self.kill_next_write = reached_the_lock

    @rule(step=st.sampled_from(TIME_STEPS))
    def time_passes(self, step: timedelta) -> None:
        self.advance(timezone.now() + step)

    @rule()
    def settle_everything(self) -> None:
        """Faults cleared, locks online with room: run until no retry or follow-up is pending."""
        SimulatedDevice.objects.filter(pk__in=[d.pk for d in self.devices]).update(
            online=True, fault_count=0
        )
        self.kill_next_write = None
        for lock in range(3):
            self._set_capacity(lock, CAPACITY)
        self.sweep()
        for _ in range(50):
            pending = self.unsettled_at()
            if pending is None:
                break
            self.advance(max(pending, timezone.now() + timedelta(minutes=1)))
        else:
            pytest.fail("retries and follow-ups still pending after 50 rounds")
        self.troubled.clear()
        self.check_always()
        self.check_settled()


# How much the run explored: the invariants run after every step (and once per example after
# its setup), so checks minus examples is the number of steps. Printed for the long run (-s).
RAN = {"checks": 0, "examples": 0}


@pytest.mark.django_db
def test_random_histories_leave_every_lock_holding_exactly_its_codes():  # rules S, R, D, C, M, H3
    run_state_machine_as_test(
        LockWorld,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=DERANDOMIZE,
            phases=PHASES,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            print_blob=True,
        ),
    )
    steps = RAN["checks"] - RAN["examples"]
    print(f"state machine: {RAN['examples']} examples, {steps} steps, all invariants held")


# --- acknowledged-but-never-applied updates and deletions, pinned down ------------------------


def _ack_never_applied_next_write(lock) -> None:
    SimulatedDevice.objects.filter(device_id=lock.remote_id).update(
        fault_mode=SimulatedDevice.FaultMode.ACK_NEVER_APPLIED,
        fault_reason=Reason.VENDOR_ERROR,
        fault_count=1,
    )


@pytest.mark.django_db
def test_a_deletion_the_vendor_acknowledges_but_never_applies_is_retried(
    clock, prop, lock
):  # rules S7, C2, D1
    check_in = timezone.now() + timedelta(hours=5)
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id="ACK",
        property=prop,
        guest_name="Ana Silva",
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
    )
    settle()
    assert list(codes_on(lock)) == ["Ana Silva"]
    _ack_never_applied_next_write(lock)
    reservation_move(reservation=reservation, property=PropertyFactory(host=prop.host))
    for _ in range(4):  # an hour of minute sweeps
        clock.shift(timedelta(minutes=15))
        settle()
    assert codes_on(lock) == {}, "the moved guest's code still opens the old door"


@pytest.mark.django_db
def test_a_window_change_the_vendor_acknowledges_but_never_applies_is_retried(
    clock, prop, lock
):  # rules S7, C1, C3
    check_in = timezone.now() + timedelta(hours=5)
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id="ACK",
        property=prop,
        guest_name="Ana Silva",
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
    )
    settle()
    _ack_never_applied_next_write(lock)
    reservation_cancel(reservation=reservation)
    for _ in range(4):
        clock.shift(timedelta(minutes=15))
        settle()
    code = SimulatedCode.objects.get(device__device_id=lock.remote_id)
    assert code.ends_at <= reservation.cancelled_at, "the cancelled stay's window was not cut"
