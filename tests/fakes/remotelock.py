"""A stateful fake of the RemoteLock API (vendors/README.md §5), enough for the adapter.

From vendors/README.md §5 [DOC]:
- OAuth on `/oauth/token` (client credentials and refresh; `expires_in: 7199`, 2-hour tokens);
  every API call needs `Accept: application/vnd.lockstate+json; version=1`.
- Guests carry lock-local windows without an offset; a grant (`POST /access_persons/:id/
  accesses`) answers `devices_synced_count` / `devices_pending_sync_count` /
  `devices_failed_sync_count`, and the code reaches the lock "the next time the lock wakes
  up": here `sync_delay` seconds later (time.time(), so time_machine drives it) if connected.
- Guest statuses `upcoming`, `current`, `expired`, `deactivated`; `GET /access_persons`
  answers only current and upcoming ones by default. An expired guest is hidden from that
  listing but keeps its access on the lock until it is deactivated or deleted (`codes()`
  shows what the lock holds). `PUT /access_persons/:id/deactivate` (preferred) and
  `DELETE /access_persons/:id` (204) take it off, once the lock next syncs.
- Lists are paginated with `meta{page, per_page, total_count, total_pages}`.

From RemoteLock's own API reference (developer.remotelock.com, its slate source), which the
README does not cover:
- `GET /devices/:id/access_person_accesses`: the device's own access listing (each with
  `access_person_id`, `access_person_type` and the sync counts, but no name or PIN);
  `GET /access_persons/:id` answers one person whatever its status.
- Devices carry `local_pins`: PINs programmed at the keypad, which no access person holds.
- Error bodies: `{"errors": [{"attribute", "messages": [...], "full_messages": [...]}]}`; the
  status table gives 401 "Not permitted" and 403 "Expired/Invalid token".
- Rate limit: 120 requests a minute per account (issue #20 quotes it; the README found none);
  over it the fake answers 429 with Retry-After.

Docs are silent on: what a full lock answers (the "maximum number of users" 422 is an
inference [INF]); whether a deactivated guest's access stays in the device listing until the
lock syncs (here it does, pending, then synced); what a sync of a deactivation reports.
"""

from __future__ import annotations

import secrets
import time
import uuid
import zoneinfo
from datetime import datetime

from tests.fakes.server import FakeRequest, FakeResponse, Switches

CLIENT_ID = "rl-client"
CLIENT_SECRET = "rl-secret"  # noqa: S105
MEDIA_TYPE = "application/vnd.lockstate+json; version=1"


def _unprocessable(attribute: str | None, message: str) -> FakeResponse:
    full = f"{attribute.capitalize()} {message}" if attribute else message
    return FakeResponse(
        422,
        {"errors": [{"attribute": attribute, "messages": [message], "full_messages": [full]}]},
    )


def _naive(value) -> bool:
    if value is None:
        return True
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except (TypeError, ValueError):
        return False


class FakeRemoteLock(Switches):
    def __init__(self) -> None:
        super().__init__()
        self.clients = {CLIENT_ID: CLIENT_SECRET}
        self.access_tokens: dict[str, float] = {}
        self.refresh_tokens: set[str] = set()
        self.token_grants: list[str] = []
        self.sync_delay = 10.0
        self.capacity = 100
        self.locations: dict[str, dict] = {}
        self.devices: dict[str, dict] = {}
        self.persons: dict[str, dict] = {}
        self.accesses: dict[str, list[dict]] = {}
        self.per_page_cap = 50
        # The shared timeout switch delays the grant (the write that puts a code on a lock);
        # this one delays the guest's creation before it.
        self.timeout_next_guest_creates = 0
        # Account rate limit (requests a minute) and what each minute used.
        self.rate_limit = 120
        self.minute_calls: dict[int, int] = {}
        # The next this many 200 answers of the API come without their `data`.
        self.omit_data_next = 0

    # -- set-up helpers used by tests --

    def add_lock(self, name: str = "Front door", *, time_zone: str = "America/Denver") -> str:
        location_id = str(uuid.uuid4())
        self.locations[location_id] = {
            "type": "location",
            "id": location_id,
            "attributes": {"name": f"{name} building", "time_zone": time_zone},
        }
        device_id = str(uuid.uuid4())
        self.devices[device_id] = {
            "type": "lock",
            "id": device_id,
            "attributes": {
                "name": name,
                "connected": True,
                "power_level": 90,
                "model_number": "OpenEdge RG",
                "location_id": location_id,
            },
        }
        return device_id

    def add_device(self, kind: str = "thermostat") -> str:
        """A device that is not a keypad lock (a thermostat, a ResortLock)."""
        device_id = str(uuid.uuid4())
        self.devices[device_id] = {"type": kind, "id": device_id, "attributes": {"name": kind}}
        return device_id

    def add_code_by_hand(self, device_id: str, *, code: str, name: str) -> str:
        with self.lock:
            person = self._person("access_user", {"name": name, "pin": code})
            self._grant(person["id"], device_id, synced=True)
            return person["id"]

    def add_local_pin(self, device_id: str, pin: str) -> None:
        """A PIN programmed at the keypad itself: on the lock, held by no access person."""
        self.devices[device_id]["attributes"].setdefault("local_pins", []).append(pin)

    def listed_by_default(self) -> list[str]:
        """The people `GET /access_persons` answers without a status filter."""
        with self.lock:
            for person in self.persons.values():
                self._refresh_status(person)
            return [
                p["id"]
                for p in self.persons.values()
                if p["attributes"]["status"] in ("current", "upcoming")
            ]

    def api_calls(self) -> int:
        return sum(1 for _, path in self.calls if path != "/oauth/token")

    def set_offline(self, device_id: str, offline: bool = True) -> None:
        self.devices[device_id]["attributes"]["connected"] = not offline

    def set_battery(self, device_id: str, percent: int) -> None:
        self.devices[device_id]["attributes"]["power_level"] = percent

    def fill(self, device_id: str) -> None:
        self.capacity = len(self.codes(device_id))

    def revoke(self) -> None:
        self.clients.clear()
        self.access_tokens.clear()
        self.refresh_tokens.clear()

    def expire_tokens(self) -> None:
        self.access_tokens.clear()

    def codes(self, device_id: str) -> list[dict]:
        """What the lock itself holds: synced accesses (an expired guest's included: its access
        stays on the lock until it is deactivated or deleted and the lock syncs that)."""
        with self.lock:
            self._sync_due()
            held = []
            for person in self.persons.values():
                self._refresh_status(person)
                # A deactivated person's access is on the lock until the lock syncs it.
                for access in self.accesses.get(person["id"], []):
                    attributes = access["attributes"]
                    if attributes["accessible_id"] == device_id and attributes["on_lock"]:
                        held.append(person["attributes"])
            return held

    def _zone_of(self, person_id: str) -> zoneinfo.ZoneInfo:
        for access in self.accesses.get(person_id, []):
            device = self.devices.get(access["attributes"]["accessible_id"]) or {}
            location = self.locations.get((device.get("attributes") or {}).get("location_id"))
            if location:
                return zoneinfo.ZoneInfo(location["attributes"]["time_zone"])
        return zoneinfo.ZoneInfo("UTC")

    def _refresh_status(self, person: dict) -> None:
        """A guest's status follows its lock-local window; deactivation is final."""
        attributes = person["attributes"]
        if attributes["status"] == "deactivated" or person["type"] != "access_guest":
            return
        now = datetime.now(self._zone_of(person["id"])).replace(tzinfo=None)
        starts, ends = attributes.get("starts_at"), attributes.get("ends_at")
        if ends and datetime.fromisoformat(ends) <= now:
            attributes["status"] = "expired"
        elif starts and datetime.fromisoformat(starts) > now:
            attributes["status"] = "upcoming"
        else:
            attributes["status"] = "current"

    # -- state --

    def _person(self, kind: str, attributes: dict) -> dict:
        person_id = str(uuid.uuid4())
        self.persons[person_id] = {
            "type": kind,
            "id": person_id,
            "attributes": {
                "name": attributes.get("name", ""),
                "pin": attributes.get("pin"),
                "starts_at": attributes.get("starts_at"),
                "ends_at": attributes.get("ends_at"),
                "status": "current",
            },
        }
        self.accesses[person_id] = []
        return self.persons[person_id]

    def _grant(self, person_id: str, device_id: str, *, synced: bool = False) -> dict:
        access = {
            "type": "access_person_access",
            "id": str(uuid.uuid4()),
            "attributes": {
                "accessible_id": device_id,
                "accessible_type": "lock",
                "devices_synced_count": 1 if synced else 0,
                "devices_pending_sync_count": 0 if synced else 1,
                "devices_failed_sync_count": 0,
                "access_person_id": person_id,
                "access_person_type": self.persons[person_id]["type"],
                "on_lock": synced,
                "sync_at": None if synced else time.time() + self.sync_delay,
                "never_syncs": False,
            },
        }
        self.accesses[person_id].append(access)
        return access

    def _resync(self, person_id: str) -> None:
        for access in self.accesses.get(person_id, []):
            attributes = access["attributes"]
            attributes.update(
                devices_synced_count=0,
                devices_pending_sync_count=1,
                sync_at=time.time() + self.sync_delay,
            )

    def _sync_due(self) -> None:
        now = time.time()
        for person_id, accesses in self.accesses.items():
            for access in accesses:
                attributes = access["attributes"]
                due = attributes["sync_at"]
                if due is None or due > now:
                    continue
                device = self.devices[attributes["accessible_id"]]
                if not device["attributes"]["connected"]:
                    continue  # synced the next time the lock wakes up
                if attributes["never_syncs"]:
                    # Acknowledged, but the lock never took it: RemoteLock reports the sync
                    # as failed.
                    attributes.update(
                        sync_at=None, devices_pending_sync_count=0, devices_failed_sync_count=1
                    )
                    continue
                deactivated = self.persons[person_id]["attributes"]["status"] == "deactivated"
                attributes.update(
                    sync_at=None,
                    devices_synced_count=1,
                    devices_pending_sync_count=0,
                    on_lock=not deactivated,
                )

    def _pins_on(self, device_id: str, *, excluding: str = "") -> set[str]:
        pins = set(self.devices[device_id]["attributes"].get("local_pins") or ())
        for person_id, accesses in self.accesses.items():
            person = self.persons[person_id]["attributes"]
            if person_id == excluding or person["status"] == "deactivated":
                continue
            if any(a["attributes"]["accessible_id"] == device_id for a in accesses):
                pins.add(person["pin"])
        return pins

    # -- the API --

    def _oauth(self, form: dict) -> FakeResponse:
        if self.clients.get(form.get("client_id")) != form.get("client_secret"):
            return FakeResponse(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        self.token_grants.append(grant)
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return FakeResponse(400, {"error": "invalid_grant"})
            self.refresh_tokens.discard(form["refresh_token"])
        elif grant != "client_credentials":
            return FakeResponse(400, {"error": "unsupported_grant_type"})
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.access_tokens[access] = time.time() + 7199
        self.refresh_tokens.add(refresh)
        return FakeResponse(
            200,
            {
                "access_token": access,
                "token_type": "bearer",
                "expires_in": 7199,
                "refresh_token": refresh,
                "created_at": int(time.time()),
            },
        )

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.calls.append((request.method, request.path))
            if request.path == "/oauth/token":
                return self._oauth(request.form)
            token = request.header("authorization").removeprefix("Bearer ")
            if self.access_tokens.get(token, 0) < time.time():
                # RemoteLock's status table: 403 is "Expired/Invalid token".
                return FakeResponse(
                    403, {"message": "Expired or invalid token", "type": "invalid_token"}
                )
            if request.header("accept") != MEDIA_TYPE:
                return FakeResponse(406, {"error": "unsupported Accept header"})
            minute = int(time.time() // 60)
            self.minute_calls[minute] = self.minute_calls.get(minute, 0) + 1
            if self.rate_limited or self.minute_calls[minute] > self.rate_limit:
                return FakeResponse(429, {"error": "rate limited"}, headers={"Retry-After": "30"})
            self._sync_due()
            for person in self.persons.values():
                self._refresh_status(person)
            response = self._route(request)
            if self.omit_data_next and response.status < 300 and isinstance(response.body, dict):
                self.omit_data_next -= 1
                response.body = {k: v for k, v in response.body.items() if k != "data"}
            return response

    def _page(self, items: list, request: FakeRequest) -> FakeResponse:
        page = int(request.query.get("page", 1))
        per_page = min(int(request.query.get("per_page", 25)), self.per_page_cap)
        pages = max(1, -(-len(items) // per_page))
        start = (page - 1) * per_page
        return FakeResponse(
            200,
            {
                "data": items[start : start + per_page],
                "meta": {
                    "page": page,
                    "per_page": per_page,
                    "total_count": len(items),
                    "total_pages": pages,
                },
            },
        )

    def _route(self, request: FakeRequest) -> FakeResponse:
        parts = request.path.strip("/").split("/")
        method = request.method
        if parts == ["devices"] and method == "GET":
            # The real API takes type[] filters; this fake answers every device, so the
            # adapter has to keep only locks itself.
            return self._page(list(self.devices.values()), request)
        if parts[0] == "devices" and parts[2:] == ["access_person_accesses"] and method == "GET":
            if parts[1] not in self.devices:
                return FakeResponse(404, {"errors": [{"messages": ["not found"]}]})
            return self._page(
                [
                    access
                    for accesses in self.accesses.values()
                    for access in accesses
                    if access["attributes"]["accessible_id"] == parts[1]
                ],
                request,
            )
        if parts[0] == "devices" and len(parts) == 2 and method == "GET":
            device = self.devices.get(parts[1])
            return FakeResponse(200, {"data": device}) if device else FakeResponse(404, {})
        if parts[0] == "locations" and len(parts) == 2 and method == "GET":
            location = self.locations.get(parts[1])
            return FakeResponse(200, {"data": location}) if location else FakeResponse(404, {})
        if parts == ["access_persons"] and method == "GET":
            # Only current and upcoming people unless a status filter asks for others.
            wanted = request.query.get("attributes[status][]", "current,upcoming").split(",")
            listed = [p for p in self.persons.values() if p["attributes"]["status"] in wanted]
            return self._page(listed, request)
        if parts == ["access_persons"] and method == "POST":
            return self._create_person(request.json or {})
        if parts[0] == "access_persons" and len(parts) >= 2:
            person = self.persons.get(parts[1])
            if person is None:
                return FakeResponse(404, {"errors": [{"message": "not found"}]})
            return self._person_route(person, parts[2:], method, request)
        return FakeResponse(404, {"errors": [{"message": "no such route"}]})

    def _create_person(self, body: dict) -> FakeResponse:
        attributes = body.get("attributes") or {}
        if body.get("type") not in ("access_guest", "access_user"):
            return _unprocessable("type", "is not included in the list")
        if not attributes.get("pin") or not str(attributes["pin"]).isdigit():
            return _unprocessable("pin", "is invalid")
        if not (_naive(attributes.get("starts_at")) and _naive(attributes.get("ends_at"))):
            # Windows are lock-local; an offset would be read as a different wall time.
            return _unprocessable("starts_at", "must be a local time without a time zone")
        if body["type"] == "access_guest" and not (
            attributes.get("starts_at") and attributes.get("ends_at")
        ):
            return _unprocessable("starts_at", "can't be blank")
        delay = self.timeout_delay if self.timeout_next_guest_creates else 0.0
        self.timeout_next_guest_creates = max(0, self.timeout_next_guest_creates - 1)
        person = self._person(body["type"], attributes)
        return FakeResponse(201, {"data": person}, delay=delay)

    def _person_route(
        self, person: dict, rest: list[str], method: str, request: FakeRequest
    ) -> FakeResponse:
        person_id = person["id"]
        if rest == [] and method == "GET":
            return FakeResponse(200, {"data": person})
        if rest == [] and method == "DELETE":
            if not self.take_drop():
                del self.persons[person_id]
                del self.accesses[person_id]
            return FakeResponse(204, None, delay=self.take_timeout())
        if rest == [] and method == "PUT":
            attributes = (request.json or {}).get("attributes") or {}
            if not (_naive(attributes.get("starts_at")) and _naive(attributes.get("ends_at"))):
                return _unprocessable("starts_at", "must be a local time without a time zone")
            pin = attributes.get("pin")
            if pin and any(
                pin in self._pins_on(a["attributes"]["accessible_id"], excluding=person_id)
                for a in self.accesses[person_id]
            ):
                return _unprocessable("pin", "has already been taken")
            delay = self.take_timeout()
            if not self.take_drop():
                person["attributes"].update(
                    {
                        k: v
                        for k, v in attributes.items()
                        if k in ("name", "pin", "starts_at", "ends_at")
                    }
                )
                self._resync(person_id)
            return FakeResponse(200, {"data": person}, delay=delay)
        if rest == ["deactivate"] and method == "PUT":
            if not self.take_drop():
                person["attributes"]["status"] = "deactivated"
                self._resync(person_id)
            return FakeResponse(200, {"data": person}, delay=self.take_timeout())
        if rest == ["accesses"] and method == "GET":
            return self._page(self.accesses[person_id], request)
        if rest == ["accesses"] and method == "POST":
            return self._grant_route(person, request.json or {})
        return FakeResponse(404, {"errors": [{"message": "no such route"}]})

    def _grant_route(self, person: dict, body: dict) -> FakeResponse:
        attributes = body.get("attributes") or {}
        device_id = attributes.get("accessible_id")
        if device_id not in self.devices:
            return _unprocessable("accessible_id", "does not exist")
        if person["attributes"]["pin"] in self._pins_on(device_id, excluding=person["id"]):
            return _unprocessable("pin", "has already been taken")
        if len(self.codes(device_id)) >= self.capacity:
            return _unprocessable("base", "Device has reached its maximum number of users")
        delay = self.take_timeout()
        access = self._grant(person["id"], device_id)
        if self.take_drop():
            access["attributes"]["never_syncs"] = True
        return FakeResponse(201, {"data": access}, delay=delay)
