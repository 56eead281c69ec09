"""A stateful fake of the Nuki Web API (vendors/README.md §1), enough for the adapter.

Mutations are asynchronous as on the real cloud: PUT/POST/DELETE answer 204 at once and are
applied `apply_delay` seconds later (read from time.time(), so time_machine drives it). While
an operation is pending the auth carries `operationId` and further mutations get 423. An
offline smartlock (serverState 4) silently drops creates. Decentral webhooks are registered
with PUT /api/decentralWebhook, which returns the HMAC secret (403 without Nuki's approval).
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime

from tests.fakes.server import FakeRequest, FakeResponse, Switches

KEYPAD_CODE = 13


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeNuki(Switches):
    def __init__(self, *, token: str = "nuki-token") -> None:  # noqa: S107
        super().__init__()
        self.tokens = {token}
        self.apply_delay = 5.0
        self.capacity = 100
        self.smartlocks: dict[int, dict] = {}
        self.auths: dict[int, dict[str, dict]] = {}
        self.pending: list[tuple[float, str, int, str, dict]] = []
        self.applied_creates: list[float] = []
        self.webhooks: dict[str, dict] = {}
        self.webhooks_allowed = True  # decentral webhooks need Nuki's Advanced API approval

    # -- set-up helpers used by tests --

    def add_smartlock(self, name: str = "Front door", *, battery: int = 90) -> int:
        smartlock_id = 17000000 + len(self.smartlocks) + 1
        self.smartlocks[smartlock_id] = {
            "smartlockId": smartlock_id,
            "accountId": 1,
            "type": 4,
            "authId": 1,
            "name": name,
            "favorite": False,
            "serverState": 0,
            "adminPinState": 0,
            "config": {"name": name, "keypadPaired": True, "keypad2Paired": False},
            "state": {
                "mode": 2,
                "state": 1,
                "batteryCritical": battery < 20,
                "batteryCharging": False,
                "batteryCharge": battery,
                "keypadBatteryCritical": False,
                "doorState": 2,
            },
        }
        self.auths[smartlock_id] = {}
        return smartlock_id

    def add_code_by_hand(self, smartlock_id: int, *, code: str, name: str) -> str:
        with self.lock:
            auth = self._auth(smartlock_id, {"name": name, "code": int(code)})
            self.auths[smartlock_id][auth["id"]] = auth
            return auth["id"]

    def set_offline(self, smartlock_id: int, offline: bool = True) -> None:
        self.smartlocks[smartlock_id]["serverState"] = 4 if offline else 0

    def set_battery(self, smartlock_id: int, percent: int) -> None:
        state = self.smartlocks[smartlock_id]["state"]
        state["batteryCharge"] = percent
        state["batteryCritical"] = percent < 20

    def fill(self, smartlock_id: int) -> None:
        self.capacity = len(self.auths[smartlock_id])

    def revoke(self) -> None:
        self.tokens.clear()

    def codes(self, smartlock_id: int) -> list[dict]:
        with self.lock:
            self._apply_due()
            return list(self.auths[smartlock_id].values())

    # -- the API --

    def _auth(self, smartlock_id: int, body: dict) -> dict:
        now = time.time()
        return {
            "id": secrets.token_hex(12),
            "smartlockId": smartlock_id,
            "authId": secrets.randbelow(10_000),
            "type": body.get("type", KEYPAD_CODE),
            "name": body["name"],
            "code": body.get("code"),
            "enabled": True,
            "remoteAllowed": bool(body.get("remoteAllowed", False)),
            "lockCount": 0,
            "allowedFromDate": body.get("allowedFromDate"),
            "allowedUntilDate": body.get("allowedUntilDate"),
            "creationDate": _iso(now),
            "updateDate": _iso(now),
        }

    def _apply_due(self) -> None:
        now = time.time()
        due = [p for p in self.pending if p[0] <= now]
        self.pending = [p for p in self.pending if p[0] > now]
        for _, kind, smartlock_id, auth_id, body in due:
            auths = self.auths[smartlock_id]
            if kind == "create":
                if self.smartlocks[smartlock_id]["serverState"] == 4:
                    continue  # Nuki staff: an offline device never gets the auth
                auth = self._auth(smartlock_id, body)
                if len(auths) >= self.capacity:
                    auth["error"] = "The keypad has no free slot for another code"
                auths[auth["id"]] = auth
                self.applied_creates.append(now)
            elif kind == "update" and auth_id in auths:
                auths[auth_id].update(body)
                auths[auth_id].pop("operationId", None)
                auths[auth_id]["updateDate"] = _iso(now)
            elif kind == "delete":
                auths.pop(auth_id, None)

    def _queue(self, kind: str, smartlock_id: int, auth_id: str, body: dict) -> None:
        self.pending.append((time.time() + self.apply_delay, kind, smartlock_id, auth_id, body))

    @staticmethod
    def _bad_request(message: str) -> FakeResponse:
        return FakeResponse(
            400, {"detailMessage": message, "stackTrace": [], "suppressedExceptions": []}
        )

    def _check_code(
        self, smartlock_id: int, body: dict, *, exclude: str = ""
    ) -> FakeResponse | None:
        code = body.get("code")
        if code is None or not re.fullmatch(r"[1-9]{6}", str(code)) or str(code).startswith("12"):
            return self._bad_request(
                f"The supplied value '{code}' for parameter 'code' is not valid"
            )
        name = body.get("name") or ""
        if len(name) > 20:
            return FakeResponse(
                422,
                {
                    "code": 422,
                    "description": "The name of a keypad code is limited to 20 characters",
                    "reasonPhrase": "Unprocessable Entity",
                    "homeRef": "/",
                },
            )
        taken = [a for a in self.auths[smartlock_id].values() if a["id"] != exclude]
        taken += [p[4] for p in self.pending if p[1] == "create" and p[2] == smartlock_id]
        if any(str(a.get("code")) == str(code) for a in taken):
            return FakeResponse(409, {"detailMessage": "parameter conflict: keypad code exists"})
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.calls.append((request.method, request.path))
            token = request.header("authorization").removeprefix("Bearer ")
            if token not in self.tokens:
                return FakeResponse(401, {"detailMessage": "Your access token is not valid"})
            if self.rate_limited:
                return FakeResponse(
                    429, {"detailMessage": "Too many requests"}, {"Retry-After": "30"}
                )
            self._apply_due()
            parts = request.path.strip("/").split("/")
            if parts[:2] == ["api", "decentralWebhook"]:
                return self._decentral_webhook(request, parts)
            return self._route(request)

    def _decentral_webhook(self, request: FakeRequest, parts: list[str]) -> FakeResponse:
        if not self.webhooks_allowed:
            return FakeResponse(403, {"detailMessage": "decentral webhooks are not enabled"})
        if request.method == "PUT" and len(parts) == 2:
            body = request.json
            webhook = {
                "id": secrets.randbelow(10**9),
                "secret": secrets.token_hex(20),
                "webhookUrl": body.get("webhookUrl"),
                "webhookFeatures": body.get("webhookFeatures", []),
            }
            self.webhooks[str(webhook["id"])] = webhook
            return FakeResponse(200, webhook)
        if request.method == "GET" and len(parts) == 2:
            return FakeResponse(200, list(self.webhooks.values()))
        if request.method == "DELETE" and len(parts) == 3:
            if self.webhooks.pop(parts[2], None) is None:
                return FakeResponse(404, {"detailMessage": "webhook not found"})
            return FakeResponse(204)
        return FakeResponse(404, {"detailMessage": "not found"})

    def _route(self, request: FakeRequest) -> FakeResponse:
        parts = request.path.strip("/").split("/")
        if parts == ["smartlock"] and request.method == "GET":
            return FakeResponse(200, list(self.smartlocks.values()))
        if len(parts) < 2 or parts[0] != "smartlock" or not parts[1].isdigit():
            return FakeResponse(404, {"detailMessage": "not found"})
        smartlock_id = int(parts[1])
        if smartlock_id not in self.smartlocks:
            return FakeResponse(404, {"detailMessage": "smartlock not found"})
        if len(parts) == 2 and request.method == "GET":
            return FakeResponse(200, self.smartlocks[smartlock_id])
        if parts[2:] == ["auth"]:
            if request.method == "GET":
                types = request.query.get("types")
                auths = [
                    a
                    for a in self.auths[smartlock_id].values()
                    if not types or str(a["type"]) in types.split(",")
                ]
                return FakeResponse(200, auths)
            if request.method == "PUT":
                body = request.json
                if body.get("type") != KEYPAD_CODE:
                    return self._bad_request("The supplied value for parameter 'type' is not valid")
                problem = self._check_code(smartlock_id, body)
                if problem:
                    return problem
                delay = self.take_timeout()
                if not self.take_drop():
                    self._queue("create", smartlock_id, "", body)
                return FakeResponse(204, delay=delay)
        if len(parts) == 4 and parts[2] == "auth":
            auth = self.auths[smartlock_id].get(parts[3])
            if auth is None:
                return FakeResponse(404, {"detailMessage": "auth not found"})
            if request.method == "GET":
                return FakeResponse(200, auth)
            if auth.get("operationId"):
                return FakeResponse(423, {"detailMessage": "another operation is pending"})
            if request.method == "POST":
                body = request.json
                if "name" not in body:
                    return self._bad_request("name is required")
                if "code" in body:
                    problem = self._check_code(smartlock_id, body, exclude=auth["id"])
                    if problem:
                        return problem
                delay = self.take_timeout()
                if not self.take_drop():
                    auth["operationId"] = secrets.token_hex(12)
                    self._queue("update", smartlock_id, auth["id"], body)
                return FakeResponse(204, delay=delay)
            if request.method == "DELETE":
                delay = self.take_timeout()
                if not self.take_drop():
                    auth["operationId"] = secrets.token_hex(12)
                    self._queue("delete", smartlock_id, auth["id"], {})
                return FakeResponse(204, delay=delay)
        return FakeResponse(404, {"detailMessage": "not found"})
