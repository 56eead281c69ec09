"""A stateful fake of the iglooaccess API (vendors/README.md §4), enough for the adapter.

From vendors/README.md §4 ([3P] clients, [DOC via Seam] constraints):
- OAuth client credentials with HTTP Basic on `/oauth2/token`; devices with cursor pages
  (`nextCursor`, `payload[]` of `{type, deviceId, deviceName, linkedDevices, batteryLevel}`).
- algoPINs computed from (lock, kind, window, variance), so asking twice for the same window
  and variance gives the same PIN, as a real algorithm does. Dates must be
  `YYYY-MM-DDTHH:00:00±hh:mm`, carry the offset of the lock's zone at that date, and not start
  before the current hour. Hourly codes 1–672 h; daily 29–367 days with the same time of day
  at both ends; variance 1–3. Nothing here can list or delete an algoPIN: neither can the API.
- A total of 199 PINs (online + offline) per lock: a create job on a full lock fails.
- Bridge jobs (4 create custom PIN, 5 delete PIN) are **queued only**: `POST .../jobs/bridges/
  {bridgeId}` answers `{jobId}` and the bridge carries jobs out later, about two a minute
  [3P]: here one job per `job_interval` seconds per bridge, in the order queued, only while
  the bridge is online (time.time(), so time_machine drives it). `GET /jobs/{id}` answers
  `{jobId, completed, jobType, expiryDate, jobResponse:{jobStatus}}`; jobStatus 0 done,
  2 failed [3P]. Jobs "can expire" [3P, Seam tracker #132].

The README is silent on, so these are inferences [INF]: how long a job lives before it
expires (`job_ttl`, 24 h here); what a failed job says about why (here `jobResponse.message`:
"Bridge could not reach the lock", "PIN storage is full", "PIN already exists", "Job
expired"); whether a bridge offline fails a job or keeps it queued (here: kept, until it
expires); the error body (`{message}` here, as the README's "`{error}`/message").
A delete job for a PIN queued behind its create job runs after it: a stay cancelled while its
create is queued ends with nothing on the lock once both have run.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from tests.fakes.server import FakeRequest, FakeResponse, Switches

CLIENT_ID = "igloo-client"
CLIENT_SECRET = "igloo-secret"  # noqa: S105
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:00:00[+-]\d\d:\d\d$")


def _bad(message: str, status: int = 400) -> FakeResponse:
    return FakeResponse(status, {"message": message})


class FakeIgloohome(Switches):
    def __init__(self) -> None:
        super().__init__()
        self.clients = {CLIENT_ID: CLIENT_SECRET}
        self.tokens: set[str] = set()
        self.token_grants: list[str] = []
        self.devices: dict[str, dict] = {}
        self.zones: dict[str, str] = {}
        self.issued: dict[str, list[dict]] = {}
        self.custom_pins: dict[str, dict[str, dict]] = {}
        self.jobs: dict[str, dict] = {}
        self.job_interval = 30.0  # about two jobs a minute per bridge
        self.job_ttl = 24 * 3600.0
        self.pin_limit = 199
        self.bridge_online: dict[str, bool] = {}
        self.bridge_free_at: dict[str, float] = {}
        self.page_size = 50
        # The next this many API answers are an HTML page with status 200.
        self.html_next = 0

    # -- set-up helpers used by tests --

    def add_lock(
        self, name: str = "Front door", *, time_zone: str = "UTC", bridge: bool = False
    ) -> str:
        device_id = "IGK3" + secrets.token_hex(4).upper()
        linked = []
        if bridge:
            bridge_id = "IGB4" + secrets.token_hex(4).upper()
            self.devices[bridge_id] = {
                "id": str(uuid.uuid4()),
                "type": "Bridge",
                "deviceId": bridge_id,
                "deviceName": f"{name} bridge",
                "linkedDevices": [{"type": "Lock", "deviceId": device_id}],
                "batteryLevel": None,
            }
            self.bridge_online[bridge_id] = True
            linked = [{"type": "Bridge", "deviceId": bridge_id}]
        self.devices[device_id] = {
            "id": str(uuid.uuid4()),
            "type": "Lock",
            "deviceId": device_id,
            "deviceName": name,
            "pairedAt": "2026-01-05T10:00:00.000Z",
            "homeId": [],
            "linkedDevices": linked,
            "batteryLevel": 80,
        }
        self.zones[device_id] = time_zone
        self.issued[device_id] = []
        self.custom_pins[device_id] = {}
        return device_id

    def add_device_without_id(self, name: str = "Odd device") -> None:
        """A device entry with no `deviceId` (the API has answered such entries)."""
        self.devices[f"odd-{len(self.devices)}"] = {"type": "Lock", "deviceName": name}

    def queued_jobs(self, device_id: str) -> list[dict]:
        with self.lock:
            self._advance()
            return [
                j for j in self.jobs.values() if j["device_id"] == device_id and j["status"] is None
            ]

    def bridge_of(self, device_id: str) -> str:
        return self.devices[device_id]["linkedDevices"][0]["deviceId"]

    def set_battery(self, device_id: str, percent: int) -> None:
        self.devices[device_id]["batteryLevel"] = percent

    def set_lock_unreachable(self, device_id: str, unreachable: bool = True) -> None:
        """The bridge is online but cannot reach the lock (out of Bluetooth range)."""
        self.devices[device_id]["unreachable"] = unreachable

    def set_bridge_offline(self, device_id: str, offline: bool = True) -> None:
        self.bridge_online[self.bridge_of(device_id)] = not offline

    def revoke(self) -> None:
        self.clients.clear()
        self.tokens.clear()

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def codes(self, device_id: str) -> list[dict]:
        """Every algoPIN issued for the lock (each works in its window) and its custom PINs."""
        with self.lock:
            self._advance()
            return self.issued[device_id] + list(self.custom_pins[device_id].values())

    # -- the API --

    def _oauth(self, request: FakeRequest) -> FakeResponse:
        header = request.header("authorization")
        try:
            client_id, _, secret = (
                base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
            )
        except ValueError:
            return FakeResponse(401, {"error": "invalid_client"})
        if self.clients.get(client_id) != secret:
            return FakeResponse(401, {"error": "invalid_client"})
        if request.form.get("grant_type") != "client_credentials":
            return FakeResponse(400, {"error": "unsupported_grant_type"})
        self.token_grants.append("client_credentials")
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return FakeResponse(
            200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        )

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.calls.append((request.method, request.path))
            if request.path == "/oauth2/token":
                return self._oauth(request)
            if request.header("authorization").removeprefix("Bearer ") not in self.tokens:
                return FakeResponse(401, {"message": "Unauthorized"})
            if self.html_next:
                self.html_next -= 1
                return FakeResponse(200, "<html><body>Service temporarily unavailable</body>")
            if self.rate_limited:
                return FakeResponse(
                    429, {"message": "Too Many Requests"}, headers={"Retry-After": "60"}
                )
            self._advance()
            return self._route(request)

    def _route(self, request: FakeRequest) -> FakeResponse:
        parts = request.path.strip("/").split("/")
        if parts == ["devices"] and request.method == "GET":
            items = list(self.devices.values())
            start = int(request.query.get("cursor") or 0)
            end = start + self.page_size
            next_cursor = str(end) if end < len(items) else None
            return FakeResponse(200, {"nextCursor": next_cursor, "payload": items[start:end]})
        if parts[0] == "devices" and len(parts) >= 2:
            device = self.devices.get(parts[1])
            if device is None:
                return _bad("Device not found", 404)
            if len(parts) == 2 and request.method == "GET":
                return FakeResponse(200, device)
            if parts[2:3] == ["algopin"] and len(parts) == 4 and request.method == "POST":
                return self._algopin(device["deviceId"], parts[3], request.json or {})
            if parts[2:4] == ["jobs", "bridges"] and len(parts) == 5 and request.method == "POST":
                return self._queue_job(device["deviceId"], parts[4], request.json or {})
        if parts[0] == "jobs" and len(parts) == 2 and request.method == "GET":
            return self._job(parts[1])
        return _bad("Not found", 404)

    def _date(self, device_id: str, value) -> datetime | FakeResponse:
        if not isinstance(value, str) or not DATE.match(value):
            return _bad("'startDate' must be in format YYYY-MM-DDTHH:00:00+hh:mm")
        moment = datetime.fromisoformat(value)
        zone = zoneinfo.ZoneInfo(self.zones[device_id])
        if moment.utcoffset() != moment.astimezone(zone).utcoffset():
            return _bad("date offset does not match the lock's time zone")
        return moment

    def _algopin(self, device_id: str, kind: str, body: dict) -> FakeResponse:
        if kind not in ("hourly", "daily"):
            return _bad(f"this fake does not issue {kind} algoPINs")
        start = self._date(device_id, body.get("startDate"))
        end = self._date(device_id, body.get("endDate"))
        for value in (start, end):
            if isinstance(value, FakeResponse):
                return value
        now_hour = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if start < now_hour:
            return _bad("startDate cannot be in the past")
        length = end.astimezone(UTC) - start.astimezone(UTC)
        if kind == "hourly" and not timedelta(hours=1) <= length <= timedelta(hours=672):
            return _bad("hourly algoPINs last 1 to 672 hours")
        if kind == "daily":
            if start.time() != end.time():
                return _bad("daily algoPINs start and end at the same time of day")
            if not timedelta(days=29) <= length <= timedelta(days=367, hours=1):
                return _bad("daily algoPINs last 29 to 367 days")
        variance = body.get("variance")
        if variance not in (1, 2, 3):
            return _bad("variance must be 1 to 3")
        seed = f"{device_id}|{kind}|{body['startDate']}|{body['endDate']}|{variance}"
        pin = str(int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 900_000_000 + 100_000_000)
        code = {
            "pin": pin,
            "pinId": str(uuid.uuid4()),
            "kind": kind,
            "accessName": body.get("accessName", ""),
            "startDate": body["startDate"],
            "endDate": body["endDate"],
            "variance": variance,
        }
        self.issued[device_id].append(code)
        return FakeResponse(200, {"pin": pin, "pinId": code["pinId"]}, delay=self.take_timeout())

    def _queue_job(self, device_id: str, bridge_id: str, body: dict) -> FakeResponse:
        if not any(
            d.get("deviceId") == bridge_id for d in self.devices[device_id]["linkedDevices"]
        ):
            return _bad("the bridge is not linked to this lock")
        job_type, data = body.get("jobType"), body.get("jobData") or {}
        if job_type == 4:
            for key in ("startDate", "endDate"):
                moment = self._date(device_id, data.get(key))
                if isinstance(moment, FakeResponse):
                    return moment
            if not str(data.get("pin", "")).isdigit():
                return _bad("pin must be digits")
        elif job_type != 5:
            return _bad(f"this fake does not run job type {job_type}")
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = {
            "device_id": device_id,
            "bridge_id": bridge_id,
            "type": job_type,
            "data": data,
            "queued_at": time.time(),
            "never": self.take_drop(),
            "status": None,
            "message": "",
        }
        return FakeResponse(200, {"jobId": job_id}, delay=self.take_timeout())

    def _job(self, job_id: str) -> FakeResponse:
        job = self.jobs.get(job_id)
        if job is None:
            return _bad("Job not found", 404)
        response = {} if job["status"] is None else {"jobStatus": job["status"]}
        if job["message"]:
            response["message"] = job["message"]
        return FakeResponse(
            200,
            {
                "jobId": job_id,
                "jobType": job["type"],
                "completed": job["status"] == 0,
                "expiryDate": datetime.fromtimestamp(job["queued_at"] + self.job_ttl, UTC)
                .isoformat()
                .replace("+00:00", "Z"),
                "jobResponse": response,
            },
        )

    def _advance(self) -> None:
        """Each online bridge runs its oldest queued job, one per `job_interval`; a job older
        than `job_ttl` expires unrun."""
        now = time.time()
        for job in sorted(self.jobs.values(), key=lambda j: j["queued_at"]):
            if job["status"] is not None:
                continue
            if now - job["queued_at"] >= self.job_ttl:
                job["status"], job["message"] = 2, "Job expired"
                continue
            bridge = job["bridge_id"]
            if not self.bridge_online.get(bridge, False) or job["never"]:
                continue
            free_at = max(self.bridge_free_at.get(bridge, 0.0), job["queued_at"])
            if free_at > now:
                continue
            job["status"], job["message"] = self._run(job)
            self.bridge_free_at[bridge] = free_at + self.job_interval

    def _run(self, job: dict) -> tuple[int, str]:
        if self.devices[job["device_id"]].get("unreachable"):
            return 2, "Bridge could not reach the lock"
        pins = self.custom_pins[job["device_id"]]
        pin = str(job["data"]["pin"])
        if job["type"] == 4:
            existing = pins.get(pin)
            if existing and existing["accessName"] != job["data"].get("accessName"):
                return 2, "PIN already exists"  # the lock holds it for someone else
            held = len(pins) + len(self.issued[job["device_id"]])
            if not existing and held >= self.pin_limit:
                return 2, "PIN storage is full"
            pins[pin] = dict(job["data"])
            return 0, ""
        pins.pop(pin, None)
        return 0, ""
