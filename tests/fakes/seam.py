"""A stateful fake of the Seam Connect API (vendors/README.md §3), enough for the SDK adapter.

Codes follow Seam's lifecycle with time passing (time.time(), so time_machine drives it). An
ongoing code is created `setting`, then after `apply_delay` seconds `set`, or `unset` with
`errors` when the device is offline, full, or already holds the PIN as an unmanaged code. A
time-bound code is `unset` until Seam programs it: a natively scheduling device ("native", the
default) is preloaded 72 hours before `starts_at` and then carries `is_scheduled_on_device`
while still `unset` until `starts_at`; a "just_in_time" device is programmed only `jit_lead`
seconds before `starts_at` and stays `unset` with `is_scheduled_on_device` false until then.
Deletes go through `removing`. Each device accepts 10 creates, 10 updates and 20 deletes in any
60 s of the fake's own clock (`time.time()`); one more gets 429 with a Retry-After header saying
when the window frees, as Seam documents (`limits`; accepted writes in `create_log`, `update_log`,
`delete_log`). Devices that take no access codes (a thermostat, a noise sensor) are listed too,
as in a real workspace. `cannot_specify_pin_code` devices refuse a `code` and choose one
themselves. Webhooks are registered with /webhooks/create, which returns
the `whsec_…` signing secret.

`fail_early(access_code_id)` models README §3 "Lifecycle / timing": failures show up as
`errors[]` (`failed_to_set_on_device`) on a code still `unset`. The README does not say how
long before `starts_at` Seam can report that; issue #20 observed it up to days early (Seam
programs many codes right away), so the fake lets a test report it at any time.
"""

from __future__ import annotations

import base64
import math
import secrets
import time
import uuid
from datetime import UTC, datetime

from tests.fakes.server import FakeRequest, FakeResponse, Switches

WORKSPACE_ID = "00000000-0000-4000-8000-000000000001"
NATIVE_PRELOAD = 72 * 3600  # docs.seam.co lifecycle: natively scheduled codes, 72 h ahead
# docs.seam.co "rate limits and guardrails": per device, in any 60 s.
LIMITS = {"create": 10, "update": 10, "delete": 20}
RATE_WINDOW = 60.0


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, error_type: str, message: str, headers: dict | None = None) -> FakeResponse:
    body = {"ok": False, "error": {"type": error_type, "message": message}}
    return FakeResponse(status, body, {"seam-request-id": str(uuid.uuid4()), **(headers or {})})


def _ok(**payload) -> FakeResponse:
    return FakeResponse(200, {"ok": True, **payload})


def _code_error(error_code: str, message: str) -> dict:
    return {"error_code": error_code, "message": message, "is_access_code_error": True}


class FakeSeam(Switches):
    def __init__(self, *, api_key: str = "seam_testkey_fake") -> None:
        super().__init__()
        self.api_keys = {api_key}
        self.apply_delay = 5.0
        self.limits = dict(LIMITS)
        self.devices: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.unmanaged: dict[str, list[dict]] = {}
        # When each device accepted each kind of write (epoch seconds).
        self.create_log: dict[str, list[float]] = {}
        self.update_log: dict[str, list[float]] = {}
        self.delete_log: dict[str, list[float]] = {}
        self.rejected_429 = 0
        self.retry_after = 60  # what a 429 from the `rate_limited` switch says to wait
        self.jit_lead = 1800.0  # seconds before starts_at a just-in-time device is programmed
        # Seam copies a device's offline error onto the codes it fails; some providers don't.
        self.copy_device_errors = True
        self.webhooks: dict[str, dict] = {}

    # -- set-up helpers used by tests --

    def add_device(
        self,
        name: str = "Front door",
        *,
        battery: float = 0.9,
        constraints: tuple[str, ...] = (),
        lengths: tuple[int, ...] = (4, 5, 6, 7, 8),
        capacity: int = 100,
        backup_pool: bool = False,
        scheduling: str = "native",
        device_type: str = "august_lock",
    ) -> str:
        device_id = str(uuid.uuid4())
        self.devices[device_id] = {
            "device_id": device_id,
            "device_type": device_type,
            "display_name": name,
            "workspace_id": WORKSPACE_ID,
            "connected_account_id": str(uuid.uuid4()),
            "created_at": _iso(time.time()),
            "errors": [],
            "warnings": [],
            "can_program_online_access_codes": True,
            "can_program_offline_access_codes": False,
            "_scheduling": scheduling,
            "properties": {
                "name": name,
                "online": True,
                "locked": True,
                "battery_level": battery,
                "battery": {"level": battery, "status": "good"},
                "code_constraints": [{"constraint_type": c} for c in constraints],
                "supported_code_lengths": list(lengths),
                "max_active_codes_supported": capacity,
                "supports_backup_access_code_pool": backup_pool,
                "model": {"display_name": "Wi-Fi Smart Lock"},
            },
        }
        self.unmanaged[device_id] = []
        for log in (self.create_log, self.update_log, self.delete_log):
            log[device_id] = []
        return device_id

    def add_other_device(self, name: str, device_type: str) -> str:
        """A device that is not a code lock, e.g. `ecobee_thermostat` or `minut_sensor`."""
        device_id = str(uuid.uuid4())
        self.devices[device_id] = {
            "device_id": device_id,
            "device_type": device_type,
            "display_name": name,
            "workspace_id": WORKSPACE_ID,
            "connected_account_id": str(uuid.uuid4()),
            "created_at": _iso(time.time()),
            "errors": [],
            "warnings": [],
            "can_program_online_access_codes": False,
            "can_program_offline_access_codes": False,
            "properties": {"name": name, "online": True, "battery_level": 0.8},
        }
        self.unmanaged[device_id] = []
        for log in (self.create_log, self.update_log, self.delete_log):
            log[device_id] = []
        return device_id

    def add_code_by_hand(self, device_id: str, *, code: str, name: str) -> str:
        access_code_id = str(uuid.uuid4())
        self.unmanaged[device_id].append(
            {
                "access_code_id": access_code_id,
                "device_id": device_id,
                "name": name,
                "code": code,
                "type": "ongoing",
                "status": "set",
                "is_managed": False,
                "errors": [],
                "warnings": [],
                "created_at": _iso(time.time()),
            }
        )
        return access_code_id

    def set_offline(
        self,
        device_id: str,
        offline: bool = True,
        *,
        error_code: str = "device_offline",
        online_flag: bool = True,
    ) -> None:
        """Take a device offline: a device error, and `properties.online` false unless
        `online_flag` is False (some providers only raise the error)."""
        device = self.devices[device_id]
        device["properties"]["online"] = not (offline and online_flag)
        device["errors"] = (
            [{"error_code": error_code, "message": "Device is offline", "is_device_error": True}]
            if offline
            else []
        )

    def fail_early(self, access_code_id: str) -> None:
        """Seam gave up programming a code still `unset` before its start (README §3)."""
        with self.lock:
            code = self.codes[access_code_id]
            code.pop("_program_at", None)
            code.update(status="unset", _never=True)
            code["errors"] = [
                _code_error("failed_to_set_on_device", "Failed to set code on device")
            ]

    def set_battery(self, device_id: str, level: float) -> None:
        props = self.devices[device_id]["properties"]
        if "battery_level" in props:
            props["battery_level"] = level
        props["battery"] = {"level": level, "status": "low" if level < 0.2 else "good"}

    def fill(self, device_id: str) -> None:
        self.devices[device_id]["properties"]["max_active_codes_supported"] = len(
            self._device_codes(device_id)
        ) + len(self.unmanaged[device_id])

    def revoke(self) -> None:
        self.api_keys.clear()

    def device_codes(self, device_id: str) -> list[dict]:
        with self.lock:
            self._advance()
            return [self._public(c) for c in self._device_codes(device_id)]

    # -- state --

    def _device_codes(self, device_id: str) -> list[dict]:
        return [c for c in self.codes.values() if c["device_id"] == device_id]

    @staticmethod
    def _public(code: dict) -> dict:  # also used for devices: hides the fake's own fields
        return {k: v for k, v in code.items() if not k.startswith("_")}

    @staticmethod
    def _epoch(value: str | None) -> float | None:
        return datetime.fromisoformat(value).timestamp() if value else None

    def _advance(self) -> None:
        now = time.time()
        for code in list(self.codes.values()):
            if code["status"] == "removing" and code["_done_at"] <= now:
                del self.codes[code["access_code_id"]]
            elif code["status"] == "unset" and code.get("_program_at", now + 1) <= now:
                # Seam starts programming a time-bound code at its programming time.
                code.update(status="setting", _done_at=code["_program_at"] + self.apply_delay)
                code.pop("_program_at")
                if code["_done_at"] <= now and not code["_never"]:
                    self._program(code)
            elif code["status"] == "setting" and code["_done_at"] <= now and not code["_never"]:
                self._program(code)
            elif (
                code["status"] == "unset"
                and code.get("is_scheduled_on_device")
                and self._epoch(code["starts_at"]) <= now
            ):
                code["status"] = "set"  # natively scheduled: active from starts_at
            elif code.get("_waiting_for_device") and not self._offline(
                self.devices[code["device_id"]]
            ):
                # attempt_for_offline_device: Seam programs the code once the device is back.
                self._program(code)

    @staticmethod
    def _offline(device: dict) -> bool:
        return not device["properties"]["online"] or bool(device["errors"])

    def _program(self, code: dict) -> None:
        device = self.devices[code["device_id"]]
        props = device["properties"]
        others = [
            c
            for c in self._device_codes(code["device_id"])
            if (c["status"] == "set" or c.get("is_scheduled_on_device")) and c is not code
        ]
        offline = self._offline(device)
        code["_waiting_for_device"] = offline
        if offline:
            code["status"] = "unset"
            code["errors"] = [
                _code_error("failed_to_set_on_device", "Failed to set code on device")
            ] + (list(device["errors"]) if self.copy_device_errors else [])
        elif any(u["code"] == code["code"] for u in self.unmanaged[code["device_id"]]):
            code["status"] = "unset"
            code["errors"] = [_code_error("duplicate_code_on_device", "Code already on device")]
        elif (
            len(others) + len(self.unmanaged[code["device_id"]])
            >= props["max_active_codes_supported"]
        ):
            code["status"] = "unset"
            code["errors"] = [_code_error("no_space_for_access_code_on_device", "Device is full")]
        else:
            code["errors"] = []
            starts_at = self._epoch(code.get("starts_at"))
            if starts_at is not None and starts_at > time.time():
                # On the lock, dormant until starts_at: Seam keeps it `unset` until then.
                code["status"] = "unset"
                code["is_scheduled_on_device"] = True
            else:
                code["status"] = "set"

    # -- the API --

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.calls.append((request.method, request.path))
            key = request.header("authorization").removeprefix("Bearer ")
            if key not in self.api_keys:
                return _error(401, "unauthorized", "Unauthorized")
            self._advance()
            handler = getattr(self, "_" + request.path.strip("/").replace("/", "_"), None)
            if handler is None:
                return _error(404, "not_found", f"no route {request.path}")
            return handler(request.params)

    def _device(self, params: dict) -> dict | FakeResponse:
        device = self.devices.get(params.get("device_id", ""))
        return device if device else _error(404, "device_not_found", "Device not found")

    def _devices_list(self, params: dict) -> FakeResponse:
        devices = [self._public(d) for d in self.devices.values()]
        return _ok(devices=devices, pagination={"has_next_page": False})

    def _devices_get(self, params: dict) -> FakeResponse:
        device = self._device(params)
        return device if isinstance(device, FakeResponse) else _ok(device=self._public(device))

    def _access_codes_list(self, params: dict) -> FakeResponse:
        device = self._device(params)
        if isinstance(device, FakeResponse):
            return device
        codes = [self._public(c) for c in self._device_codes(device["device_id"])]
        return _ok(access_codes=codes, pagination={"has_next_page": False})

    def _access_codes_unmanaged_list(self, params: dict) -> FakeResponse:
        device = self._device(params)
        if isinstance(device, FakeResponse):
            return device
        return _ok(
            access_codes=self.unmanaged[device["device_id"]], pagination={"has_next_page": False}
        )

    def _access_codes_get(self, params: dict) -> FakeResponse:
        code = self.codes.get(params.get("access_code_id", ""))
        if code is None:
            return _error(404, "access_code_not_found", "Access code not found")
        return _ok(access_code=self._public(code))

    def _check_code(self, device: dict, code: str, *, exclude: str = "") -> FakeResponse | None:
        props = device["properties"]
        constraints = {c["constraint_type"] for c in props["code_constraints"]}
        if "cannot_specify_pin_code" in constraints:
            return _error(400, "invalid_input", "this device chooses its own codes")
        if not code.isdigit() or len(code) not in props["supported_code_lengths"]:
            return _error(400, "invalid_input", "code length not supported by device")
        if ("no_zeros" in constraints and "0" in code) or (
            "cannot_start_with_12" in constraints and code.startswith("12")
        ):
            return _error(400, "invalid_input", "code violates the device's code constraints")
        taken = [
            c
            for c in self._device_codes(device["device_id"])
            if c["access_code_id"] != exclude and c["status"] != "removing"
        ]
        if any(c["code"] == code for c in taken):
            return _error(409, "duplicate_access_code", "An access code with this code exists")
        return None

    def _rate_limited(self, device_id: str, action: str = "create") -> FakeResponse | None:
        """429 when the device's window for this action is full; Retry-After says when its
        oldest write leaves the window (whole seconds, rounded up)."""
        now = time.time()
        log = {"create": self.create_log, "update": self.update_log, "delete": self.delete_log}
        recent = [t for t in log[action].setdefault(device_id, []) if t > now - RATE_WINDOW]
        if self.rate_limited or len(recent) >= self.limits[action]:
            self.rejected_429 += 1
            wait = max(1, math.ceil(recent[0] + RATE_WINDOW - now)) if recent else self.retry_after
            return _error(
                429, "rate_limit_exceeded", "Too many requests", {"Retry-After": str(wait)}
            )
        return None

    def _access_codes_create(self, params: dict) -> FakeResponse:
        device = self._device(params)
        if isinstance(device, FakeResponse):
            return device
        device_id = device["device_id"]
        limited = self._rate_limited(device_id)
        if limited:
            return limited
        if params.get("code") is None:
            code = self._generate(device)
        else:
            code = str(params["code"])
            problem = self._check_code(device, code)
            if problem:
                return problem
        now = time.time()
        self.create_log[device_id].append(now)
        access_code = {
            "access_code_id": str(uuid.uuid4()),
            "device_id": device_id,
            "workspace_id": WORKSPACE_ID,
            "name": params.get("name"),
            "code": code,
            "type": "time_bound" if params.get("starts_at") else "ongoing",
            "starts_at": params.get("starts_at"),
            "ends_at": params.get("ends_at"),
            "created_at": _iso(now),
            "status": "unset" if params.get("starts_at") else "setting",
            "errors": [],
            "warnings": [],
            "is_managed": True,
            "common_code_key": None,
            "is_backup_access_code_available": bool(
                params.get("use_backup_access_code_pool")
                and device["properties"]["supports_backup_access_code_pool"]
            ),
            "is_external_modification_allowed": False,
            "is_one_time_use": False,
            "is_offline_access_code": False,
            "is_scheduled_on_device": False,
            "pending_mutations": [],
            "_done_at": now + self.apply_delay,
            "_never": self.take_drop(),
        }
        if params.get("starts_at"):
            lead = NATIVE_PRELOAD if device["_scheduling"] == "native" else self.jit_lead
            access_code["_program_at"] = max(now, self._epoch(params["starts_at"]) - lead)
        self.codes[access_code["access_code_id"]] = access_code
        self._advance()
        action_attempt = {
            "action_attempt_id": str(uuid.uuid4()),
            "action_type": "CREATE_ACCESS_CODE",
            "status": "pending",
            "result": None,
            "error": None,
        }
        response = _ok(access_code=self._public(access_code), action_attempt=action_attempt)
        response.delay = self.take_timeout()
        return response

    def _generate(self, device: dict) -> str:
        length = device["properties"]["supported_code_lengths"][0]
        taken = {c["code"] for c in self._device_codes(device["device_id"])}
        while True:
            code = "".join(str(secrets.randbelow(9) + 1) for _ in range(length))
            if code not in taken:
                return code

    def _webhooks_create(self, params: dict) -> FakeResponse:
        webhook = {
            "webhook_id": str(uuid.uuid4()),
            "url": params.get("url"),
            "event_types": params.get("event_types"),
            "secret": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        }
        self.webhooks[webhook["webhook_id"]] = webhook
        return _ok(webhook=webhook)

    def _webhooks_list(self, params: dict) -> FakeResponse:
        return _ok(webhooks=list(self.webhooks.values()))

    def _webhooks_delete(self, params: dict) -> FakeResponse:
        if self.webhooks.pop(params.get("webhook_id", ""), None) is None:
            return _error(404, "webhook_not_found", "Webhook not found")
        return _ok()

    def _access_codes_update(self, params: dict) -> FakeResponse:
        code = self.codes.get(params.get("access_code_id", ""))
        if code is None:
            return _error(404, "access_code_not_found", "Access code not found")
        device = self.devices[code["device_id"]]
        limited = self._rate_limited(code["device_id"], "update")
        if limited:
            return limited
        new_code = params.get("code")
        if new_code is not None and str(new_code) != code["code"]:
            problem = self._check_code(device, str(new_code), exclude=code["access_code_id"])
            if problem:
                return problem
        self.update_log[code["device_id"]].append(time.time())
        delay = self.take_timeout()
        if not self.take_drop():
            for field in ("name", "starts_at", "ends_at"):
                if field in params:
                    code[field] = params[field]
            if new_code is not None and str(new_code) != code["code"]:
                code.update(
                    code=str(new_code), status="setting", _done_at=time.time() + self.apply_delay
                )
        return FakeResponse(200, {"ok": True, "action_attempt": {"status": "pending"}}, delay=delay)

    def _access_codes_delete(self, params: dict) -> FakeResponse:
        code = self.codes.get(params.get("access_code_id", ""))
        if code is None:
            return _error(404, "access_code_not_found", "Access code not found")
        limited = self._rate_limited(code["device_id"], "delete")
        if limited:
            return limited
        self.delete_log[code["device_id"]].append(time.time())
        delay = self.take_timeout()
        if not self.take_drop():
            code.update(status="removing", _done_at=time.time() + self.apply_delay)
        return FakeResponse(200, {"ok": True, "action_attempt": {"status": "pending"}}, delay=delay)

    def _access_codes_pull_backup_access_code(self, params: dict) -> FakeResponse:
        code = self.codes.get(params.get("access_code_id", ""))
        if code is None or not code["is_backup_access_code_available"]:
            return _error(400, "invalid_input", "no backup access code available")
        backup = {
            **code,
            "access_code_id": str(uuid.uuid4()),
            "code": str(secrets.randbelow(9000) + 1000),
            "status": "set",
            "is_backup": True,
            "is_backup_access_code_available": False,
        }
        self.codes[backup["access_code_id"]] = backup
        code["pulled_backup_access_code_id"] = backup["access_code_id"]
        return _ok(access_code=self._public(code), backup_access_code=self._public(backup))
