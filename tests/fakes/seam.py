"""A stateful fake of the Seam Connect API (vendors/README.md §3), enough for the SDK adapter.

Codes follow Seam's lifecycle with time passing (time.time(), so time_machine drives it):
created `setting`, then after `apply_delay` seconds `set`, or `unset` with `errors` when the
device is offline, full, or already holds the PIN as an unmanaged code. Deletes go through
`removing`. Each device accepts 10 creates a minute; the 11th gets 429, as Seam documents.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime

from tests.fakes.server import FakeRequest, FakeResponse, Switches

WORKSPACE_ID = "00000000-0000-4000-8000-000000000001"


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
        self.creates_per_minute = 10
        self.devices: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.unmanaged: dict[str, list[dict]] = {}
        self.create_log: dict[str, list[float]] = {}
        self.rejected_429 = 0

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
    ) -> str:
        device_id = str(uuid.uuid4())
        self.devices[device_id] = {
            "device_id": device_id,
            "device_type": "august_lock",
            "display_name": name,
            "workspace_id": WORKSPACE_ID,
            "connected_account_id": str(uuid.uuid4()),
            "created_at": _iso(time.time()),
            "errors": [],
            "warnings": [],
            "can_program_online_access_codes": True,
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
        self.create_log[device_id] = []
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

    def set_offline(self, device_id: str, offline: bool = True) -> None:
        device = self.devices[device_id]
        device["properties"]["online"] = not offline
        device["errors"] = (
            [
                {
                    "error_code": "device_offline",
                    "message": "Device is offline",
                    "is_device_error": True,
                }
            ]
            if offline
            else []
        )

    def set_battery(self, device_id: str, level: float) -> None:
        self.devices[device_id]["properties"]["battery_level"] = level

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
    def _public(code: dict) -> dict:
        return {k: v for k, v in code.items() if not k.startswith("_")}

    def _advance(self) -> None:
        now = time.time()
        for code in list(self.codes.values()):
            if code["status"] == "removing" and code["_done_at"] <= now:
                del self.codes[code["access_code_id"]]
            elif code["status"] == "setting" and code["_done_at"] <= now and not code["_never"]:
                self._program(code)
            elif (
                code.get("_waiting_for_device")
                and self.devices[code["device_id"]]["properties"]["online"]
            ):
                # attempt_for_offline_device: Seam programs the code once the device is back.
                self._program(code)

    def _program(self, code: dict) -> None:
        device = self.devices[code["device_id"]]
        props = device["properties"]
        others = [
            c
            for c in self._device_codes(code["device_id"])
            if c["status"] == "set" and c is not code
        ]
        code["_waiting_for_device"] = not props["online"]
        if not props["online"]:
            code["status"] = "unset"
            code["errors"] = [
                _code_error("failed_to_set_on_device", "Failed to set code on device"),
                {
                    "error_code": "device_offline",
                    "message": "Device is offline",
                    "is_device_error": True,
                },
            ]
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
            code["status"] = "set"
            code["errors"] = []
            if code.get("starts_at"):
                code["is_scheduled_on_device"] = True

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
        return _ok(devices=list(self.devices.values()), pagination={"has_next_page": False})

    def _devices_get(self, params: dict) -> FakeResponse:
        device = self._device(params)
        return device if isinstance(device, FakeResponse) else _ok(device=device)

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
        if not code.isdigit() or len(code) not in props["supported_code_lengths"]:
            return _error(400, "invalid_input", "code length not supported by device")
        constraints = {c["constraint_type"] for c in props["code_constraints"]}
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

    def _rate_limited(self, device_id: str) -> FakeResponse | None:
        now = time.time()
        recent = [t for t in self.create_log[device_id] if t > now - 60]
        if self.rate_limited or len(recent) >= self.creates_per_minute:
            self.rejected_429 += 1
            wait = int(recent[0] + 60 - now) + 1 if recent else 60
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
        code = str(params.get("code", ""))
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
            "status": "setting",
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
        self.codes[access_code["access_code_id"]] = access_code
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

    def _access_codes_update(self, params: dict) -> FakeResponse:
        code = self.codes.get(params.get("access_code_id", ""))
        if code is None:
            return _error(404, "access_code_not_found", "Access code not found")
        device = self.devices[code["device_id"]]
        new_code = params.get("code")
        if new_code is not None:
            problem = self._check_code(device, str(new_code), exclude=code["access_code_id"])
            if problem:
                return problem
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
