"""The `simulator` vendor: locks kept in the database that behave like a real vendor's.

It has what real clouds have, as switches on SimulatedDevice: online/offline, battery,
capacity, code rules, name length, latency (half on the way to the lock, half on the way
back, so a write can be applied while its caller still waits), asynchronous confirmation (a
write stays `setting` until `confirm_delay_seconds` have passed), and a fault plan: the next
N writes fail with a reason, are applied but answered with a timeout, or are acknowledged
and never applied. The demo and the tests use it; nothing in it is test-only.

With the setting SIMULATOR_CALL_LOG naming a file, every call to a lock appends a line when it
starts and one when it ends (JSON: call id, operation, lock, process, time, outcome), so a test
driving real worker processes can check that calls on one lock never overlap (SPEC S5).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField, DateTimeField, F, Field, IntegerField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accesscodes.pin import pin_violations, pins_collide, random_pin
from integrations.base import (
    Adapter,
    CodeSpec,
    CodeStatus,
    Feature,
    LockCapabilities,
    LockInfo,
    Reason,
    RemoteCode,
    VendorError,
)
from integrations.models import SimulatedAccount, SimulatedCode, SimulatedDevice

# Traits of real locks, picked by a device's `model`, so every capability branch of the engine
# runs against the simulator (SPEC §5). Values override the device's LockCapabilities, except
# `unset_until_start`: the vendor holds a time-bound code `unset` until its window starts
# (Seam does this for some locks) and reports it `set` from then on.
MODEL_TRAITS: dict[str, dict] = {
    # Seam `cannot_specify_pin_code`: the vendor picks the PIN.
    "Simulated vendor-PIN lock": {"pin_chosen_by_vendor": True},
    # igloohome algoPIN: vendor-computed hourly PINs that can't be deleted, at most 672 h.
    "Simulated algoPIN lock": {
        "pin_chosen_by_vendor": True,
        "can_delete_codes": False,
        "window_granularity_minutes": 60,
        "max_window_hours": 672,
    },
    "Simulated scheduled-at-vendor lock": {"unset_until_start": True},
}
# Switches for the whole account, in the connection's credentials: {"features_off": [...]}
# turns off listing codes, updating windows in place, or asynchronous confirmation.


def _call_log_append(path: str, entry: dict) -> None:
    """One line per write with O_APPEND, so lines from many processes never interleave."""
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def _recorded(operation: str):
    """Record a call's start and end in SIMULATOR_CALL_LOG, when set (never the PIN)."""

    def decorate(method):
        @functools.wraps(method)
        def call(self, lock_remote_id: str, *args, **kwargs):
            path = getattr(settings, "SIMULATOR_CALL_LOG", "")
            if not path:
                return method(self, lock_remote_id, *args, **kwargs)
            spec = next((a for a in args if isinstance(a, CodeSpec)), None)
            code = next((a for a in args if isinstance(a, str)), "")
            started = {
                "call": secrets.token_hex(8),
                "event": "start",
                "op": operation,
                "lock": lock_remote_id,
                "code": code,
                "name": spec.name if spec else "",
                "pid": os.getpid(),
                "t": time.time(),
            }
            _call_log_append(path, started)
            outcome = "error"
            try:
                result = method(self, lock_remote_id, *args, **kwargs)
                outcome = "ok"
                return result
            except VendorError as error:
                outcome = str(error.reason)
                raise
            finally:
                ended = {"call": started["call"], "event": "end", "outcome": outcome}
                _call_log_append(path, {**ended, "t": time.time()})

        return call

    return decorate


class SimulatorAdapter(Adapter):
    key = "simulator"
    label = "Simulator"
    features = frozenset({Feature.LIST_CODES, Feature.ASYNC_WRITES, Feature.UPDATE_WINDOW})
    credential_fields = {"api_key": "Simulator account key"}

    def __init__(self, connection) -> None:
        super().__init__(connection)
        # What this adapter (one lock pass) saw: devices by id, and their visible codes.
        self._seen: dict[str, SimulatedDevice] = {}
        self._codes: dict[int, list[SimulatedCode]] = {}
        off = {Feature(name) for name in self.credentials.get("features_off", ())}
        if off:
            # Per account, for tests that switch a feature off: an instance's own set.
            self.features = frozenset(type(self).features - off)  # type: ignore[misc]

    @staticmethod
    def _traits(device: SimulatedDevice) -> dict:
        return MODEL_TRAITS.get(device.model, {})

    @classmethod
    def _capabilities(cls, device: SimulatedDevice) -> LockCapabilities:
        traits = {k: v for k, v in cls._traits(device).items() if k != "unset_until_start"}
        return dataclasses.replace(device.capability_record(), **traits)

    def _vendor_pin(self, device: SimulatedDevice) -> str:
        """The PIN a vendor that chooses PINs gives a new code."""
        capabilities = self._capabilities(device)
        taken = {code.pin for code in self._visible_codes(device)}
        length = capabilities.supported_code_lengths[0]
        return random_pin(length, [capabilities], taken)

    # -- plumbing --

    def _account(self) -> SimulatedAccount:
        api_key = str(self.credentials.get("api_key", ""))
        account = SimulatedAccount.objects.filter(api_key=api_key).first() if api_key else None
        if account is None or account.revoked:
            raise VendorError(Reason.ACCOUNT_DISCONNECTED, "the simulator account key is not valid")
        return account

    def _devices(self):
        api_key = str(self.credentials.get("api_key", ""))
        return SimulatedDevice.objects.filter(account__api_key=api_key).order_by()

    def _missing(self, lock_remote_id: str) -> VendorError:
        self._account()  # raises when the key is what's wrong
        return VendorError(Reason.VENDOR_ERROR, f"device {lock_remote_id} not found")

    def _device(self, lock_remote_id: str, *, for_update: bool = False) -> SimulatedDevice:
        """The device with its account in one query; for a write, locked, with a fingerprint
        of its visible codes (so the codes read earlier in this call need no second read)."""
        devices = self._devices().filter(device_id=lock_remote_id).select_related("account")
        if for_update:
            devices = devices.select_for_update(of=("self",)).annotate(**_fingerprint_columns())
        device = next(iter(devices), None)
        if device is None or device.account.revoked:
            raise self._missing(lock_remote_id)
        if for_update:
            device.fingerprint = (
                device.visible_count or 0,
                device.visible_last_id,
                device.visible_last_change,
            )
        self._seen[lock_remote_id] = device
        return device

    def _call(self, lock_remote_id: str) -> tuple[SimulatedDevice, bool]:
        """Start a call: the request travels to the lock (half the device's latency). The
        device is as this adapter last saw it (read now if never); the second value says
        whether it was read just now. Every call reads the device again before acting."""
        device = self._seen.get(lock_remote_id)
        fresh = device is None
        if fresh:
            device = self._device(lock_remote_id)
        assert device is not None
        if device.latency_ms:
            time.sleep(device.latency_ms / 2000)
        return device, fresh

    @staticmethod
    def _answer(device: SimulatedDevice) -> None:
        """The answer travels back (the other half of the latency), after the lock acted."""
        if device.latency_ms:
            time.sleep(device.latency_ms / 2000)

    def _visible_codes(self, device: SimulatedDevice) -> list[SimulatedCode]:
        """The codes on the device, oldest first: the list this adapter read last when the
        device's fingerprint (read under the write's row lock) says nothing changed since."""
        cached = self._codes.get(device.pk)
        if cached is not None and _fingerprint(cached) == getattr(device, "fingerprint", None):
            return cached
        codes = list(device.codes.filter(never_applies=False).order_by("id"))
        self._codes[device.pk] = codes
        return codes

    @classmethod
    def _remote(cls, code: SimulatedCode) -> RemoteCode:
        now = timezone.now()
        status = CodeStatus.SETTING if code.applies_at > now else CodeStatus.SET
        held = cls._traits(code.device).get("unset_until_start")
        if held and code.starts_at is not None and now < code.starts_at:
            status = CodeStatus.UNSET
        return RemoteCode(
            remote_id=code.code_id,
            pin=code.pin,
            name=code.name,
            status=status,
            starts_at=code.starts_at,
            ends_at=code.ends_at,
        )

    def _take_fault(self, device: SimulatedDevice) -> str | None:
        """Consume one planned fault and return its mode. The caller raises a plain failure
        (FAIL) after its transaction commits, so a raised fault stays used."""
        if device.fault_count <= 0 or not device.fault_reason:
            return None
        taken = SimulatedDevice.objects.filter(pk=device.pk, fault_count__gt=0).update(
            fault_count=F("fault_count") - 1
        )
        return device.fault_mode if taken else None

    @staticmethod
    def _fault_error(device: SimulatedDevice, fault: str | None) -> VendorError | None:
        if fault == SimulatedDevice.FaultMode.FAIL:
            return VendorError(Reason(device.fault_reason), "simulated failure")
        return None

    def _check_writable(self, device: SimulatedDevice) -> None:
        if not device.online:
            raise VendorError(Reason.LOCK_OFFLINE, f"{device.name} is offline")

    def _check_code(
        self, device: SimulatedDevice, spec: CodeSpec, *, replacing: str | None = None
    ) -> None:
        capabilities = self._capabilities(device)
        problems = pin_violations(spec.pin, capabilities)
        if problems:
            raise VendorError(Reason.REJECTED, "PIN " + "; ".join(problems))
        if capabilities.name_max_length and len(spec.name) > capabilities.name_max_length:
            raise VendorError(
                Reason.REJECTED, f"name longer than {capabilities.name_max_length} characters"
            )
        others = [c for c in self._visible_codes(device) if c.code_id != replacing]
        if any(pins_collide(spec.pin, c.pin, capabilities) for c in others):
            raise VendorError(Reason.DUPLICATE_CODE, "a code with this PIN is already on the lock")
        if capabilities.name_must_be_unique and any(c.name == spec.name for c in others):
            raise VendorError(Reason.DUPLICATE_NAME, "a code with this name is already on the lock")
        if replacing is None and len(others) >= device.capacity:
            raise VendorError(Reason.LOCK_FULL, f"{device.name} holds {device.capacity} codes")

    def _window(self, device: SimulatedDevice, spec: CodeSpec) -> tuple:
        if not device.time_bound_codes:
            return None, None
        return spec.starts_at, spec.ends_at

    # -- the interface --

    def validate_credentials(self) -> None:
        self._account()

    def list_locks(self) -> list[LockInfo]:
        account = self._account()
        return [
            LockInfo(
                remote_id=device.device_id,
                name=device.name,
                model=device.model,
                online=device.online,
                battery_level=device.battery_level,
                capabilities=self._capabilities(device),
                code_count=device.codes.filter(never_applies=False).count(),
            )
            for device in account.devices.order_by("id")
        ]

    @_recorded("list_codes")
    def list_codes(self, lock_remote_id: str) -> list[RemoteCode]:
        device, fresh = self._call(lock_remote_id)
        # The codes with their device and account in one query; the device alone if none.
        codes = list(
            SimulatedCode.objects.filter(
                device__in=self._devices().filter(device_id=lock_remote_id),
                never_applies=False,
            )
            .select_related("device__account")
            .order_by("id")
        )
        if codes:
            device = codes[0].device
            if device.account.revoked:
                raise self._missing(lock_remote_id)
            self._seen[lock_remote_id] = device
        elif not fresh:
            device = self._device(lock_remote_id)
        self._check_writable(device)
        self._codes[device.pk] = codes
        remote = [self._remote(code) for code in codes]
        self._answer(device)
        return remote

    def _after_commit(self, device: SimulatedDevice, error: VendorError | None, fault) -> None:
        """Raise what the write's transaction decided (a used fault stays used), else let the
        answer travel back; an applied write whose answer is lost is a timeout."""
        if error is not None:
            raise error
        self._answer(device)
        if fault == SimulatedDevice.FaultMode.TIMEOUT_APPLIED:
            raise VendorError(Reason.TIMEOUT, "the simulator did not answer in time")

    @_recorded("create_code")
    def create_code(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        self._call(lock_remote_id)
        code, fault, error = None, None, None
        with transaction.atomic():
            device = self._device(lock_remote_id, for_update=True)
            try:
                self._check_writable(device)
                fault = self._take_fault(device)
                error = self._fault_error(device, fault)
                if error is None:
                    code = self._insert(device, spec, fault)
            except VendorError as refused:
                error = refused
        self._after_commit(device, error, fault)  # raises the error, if any
        assert code is not None
        remote = self._remote(code)
        return RemoteCode(
            remote_id=remote.remote_id,
            pin=remote.pin,
            name=remote.name,
            status=CodeStatus.SETTING if device.confirm_delay_seconds else remote.status,
            starts_at=remote.starts_at,
            ends_at=remote.ends_at,
        )

    def _insert(self, device: SimulatedDevice, spec: CodeSpec, fault) -> SimulatedCode:
        if not spec.pin and self._capabilities(device).pin_chosen_by_vendor:
            spec = dataclasses.replace(spec, pin=self._vendor_pin(device))
        self._check_code(device, spec)
        starts_at, ends_at = self._window(device, spec)
        code = SimulatedCode.objects.create(
            device=device,
            code_id="simcode-" + secrets.token_hex(6),
            pin=spec.pin,
            name=spec.name,
            starts_at=starts_at,
            ends_at=ends_at,
            applies_at=timezone.now() + timedelta(seconds=device.confirm_delay_seconds),
            never_applies=fault == SimulatedDevice.FaultMode.ACK_NEVER_APPLIED,
        )
        if not code.never_applies:
            self._codes[device.pk].append(code)
        return code

    @_recorded("update_code")
    def update_code(self, lock_remote_id: str, code_remote_id: str, spec: CodeSpec) -> RemoteCode:
        self._call(lock_remote_id)
        code, fault, error = None, None, None
        with transaction.atomic():
            device = self._device(lock_remote_id, for_update=True)
            try:
                self._check_writable(device)
                code = next(
                    (c for c in self._visible_codes(device) if c.code_id == code_remote_id), None
                )
                if code is None:
                    raise VendorError(Reason.VENDOR_ERROR, f"code {code_remote_id} not found")
                fault = self._take_fault(device)
                error = self._fault_error(device, fault)
                if error is None:
                    self._check_code(device, spec, replacing=code_remote_id)
                    if fault != SimulatedDevice.FaultMode.ACK_NEVER_APPLIED:
                        code.pin, code.name = spec.pin, spec.name
                        code.starts_at, code.ends_at = self._window(device, spec)
                        code.save()
            except VendorError as refused:
                error = refused
        self._after_commit(device, error, fault)  # raises the error, if any
        assert code is not None
        return self._remote(code)

    @_recorded("delete_code")
    def delete_code(self, lock_remote_id: str, code_remote_id: str) -> None:
        self._call(lock_remote_id)
        fault, error = None, None
        with transaction.atomic():
            device = self._device(lock_remote_id, for_update=True)
            try:
                self._check_writable(device)
                if not self._capabilities(device).can_delete_codes:
                    raise VendorError(Reason.REJECTED, "codes on this lock cannot be deleted")
                fault = self._take_fault(device)
                error = self._fault_error(device, fault)
                if error is None and fault != SimulatedDevice.FaultMode.ACK_NEVER_APPLIED:
                    device.codes.filter(code_id=code_remote_id).delete()
                    cached = self._codes.get(device.pk)
                    if cached is not None:
                        cached[:] = [c for c in cached if c.code_id != code_remote_id]
            except VendorError as refused:
                error = refused
        self._after_commit(device, error, fault)


def _fingerprint(codes: list[SimulatedCode]) -> tuple:
    """What changes whenever a device's visible codes change: their number, the newest id
    (a code added) and the latest change (a code edited; saves set updated_at)."""
    return (
        len(codes),
        max((code.pk for code in codes), default=None),
        max((code.updated_at for code in codes), default=None),
    )


def _fingerprint_columns() -> dict:
    """The fingerprint as three correlated subqueries (raw SQL: building them as ORM
    subqueries cost more CPU than the query itself)."""
    codes, devices = SimulatedCode._meta.db_table, SimulatedDevice._meta.db_table
    visible = f'FROM "{codes}" c WHERE c.device_id = "{devices}".id AND c.never_applies = %s'
    # Constant SQL (table names from the models); the one value is a parameter.
    columns: tuple[tuple[str, str, Field], ...] = (
        ("visible_count", "COUNT(*)", IntegerField()),
        ("visible_last_id", "MAX(c.id)", BigIntegerField()),
        ("visible_last_change", "MAX(c.updated_at)", DateTimeField()),
    )
    return {
        name: RawSQL(f"SELECT {aggregate} {visible}", (False,), field)  # noqa: S611
        for name, aggregate, field in columns
    }
