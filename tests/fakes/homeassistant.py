"""A stateful fake of Home Assistant's REST API with Z-Wave JS locks (vendors/README.md §6).

`GET /api/states[/<entity>]`, and `POST /api/services/zwave_js/<service>` for the three
user-code services. As in Home Assistant, `get_lock_usercode` only answers when called with
`?return_response` (else 400) and the others refuse it; answers are
`{"changed_states": [...], "service_response": {entity_id: {"<slot>": {usercode, in_use}}}}`.
Each lock has `supportedUsers` slots (default 30). A Z-Wave lock refuses a PIN that another
slot holds (it reports "duplicate code" and keeps the slot empty), so does the fake. A dead
node makes the entity `unavailable` and the services fail with 500; an asleep node queues
writes until `wake()` and reads back what it last reported.

Documented facts modelled (vendors/README.md §6 "How slots work"):
- slots 1…N where N is the lock's `supportedUsers`; `get_lock_usercode` answers for every
  slot, so its answer is the lock's real slot count (a 5-slot lock: `add_lock(slots=5)`);
- `userIdStatus` 0 available, 1 enabled, 2 disabled: `disable_slot()` keeps the code in a
  slot the host disabled. The answer's `in_use` is `status == enabled` (zwave-js-server-python
  `util/lock.py`, [3P]), so a disabled slot reads `in_use: false` with its `usercode` still set.
Where the README is silent (documented by Home Assistant, not in our notes, [INF]):
- which integration a `lock.*` entity belongs to is not in `/api/states`; Home Assistant's
  template function `integration_entities('zwave_js')` (`POST /api/template`) lists them.
  `add_lock(integration="august")` makes a lock of another integration, whose entity takes
  no `zwave_js` service (400, as Home Assistant answers for an entity outside the domain).
- a lock that refuses a PIN (its own rules, e.g. a PIN it blocks) makes the service call raise
  inside Home Assistant, which answers 500 with a plain text body; the node stays alive and
  the slot reads back without the PIN (`refuse_pin()`). A dead node also answers 500, but
  then the entity is `unavailable` and reads fail too: that is how the adapter tells them apart.
"""

from __future__ import annotations

import json
import re

from tests.fakes.server import FakeRequest, FakeResponse, Switches

TOKEN = "ha-long-lived-token"  # noqa: S105


class FakeHomeAssistant(Switches):
    def __init__(self) -> None:
        super().__init__()
        self.tokens = {TOKEN}
        self.url = ""
        self.locks: dict[str, dict] = {}
        self.other_states: dict[str, dict] = {
            "light.porch": {"entity_id": "light.porch", "state": "off", "attributes": {}},
        }
        self.service_calls: list[tuple[str, dict]] = []

    # -- set-up helpers used by tests --

    def add_lock(
        self,
        name: str = "Front door",
        *,
        slots: int = 30,
        battery: int = 90,
        integration: str = "zwave_js",
    ) -> str:
        object_id = name.lower().replace(" ", "_")
        entity_id = f"lock.{object_id}"
        self.locks[entity_id] = {
            "name": name,
            "slots": {n: "" for n in range(1, slots + 1)},
            "queued": {},
            "battery": battery,
            "node_status": "alive",
            "capacity": slots,
            "integration": integration,
            "disabled": set(),
            "refused": set(),
        }
        return entity_id

    def add_code_by_hand(self, entity_id: str, *, code: str, name: str = "", slot: int = 0) -> int:
        """A code put on the lock at its keypad or by another app, by default in slot 1.."""
        with self.lock:
            slots = self.locks[entity_id]["slots"]
            slot = slot or next(n for n, pin in sorted(slots.items()) if not pin)
            slots[slot] = code
            return slot

    def disable_slot(self, entity_id: str, slot: int) -> None:
        """The host disabled the slot at the lock (userIdStatus 2): its code stays in it."""
        self.locks[entity_id]["disabled"].add(slot)

    def refuse_pin(self, entity_id: str, pin: str) -> None:
        """The lock refuses this PIN: set_lock_usercode fails inside Home Assistant (500)."""
        self.locks[entity_id]["refused"].add(pin)

    def set_offline(self, entity_id: str, offline: bool = True) -> None:
        self.locks[entity_id]["node_status"] = "dead" if offline else "alive"

    def fall_asleep(self, entity_id: str) -> None:
        self.locks[entity_id]["node_status"] = "asleep"

    def wake(self, entity_id: str) -> None:
        lock = self.locks[entity_id]
        lock["node_status"] = "alive"
        for slot, pin in lock["queued"].items():
            lock["slots"][slot] = pin
        lock["queued"] = {}

    def set_battery(self, entity_id: str, percent: int) -> None:
        self.locks[entity_id]["battery"] = percent

    def fill(self, entity_id: str) -> None:
        """Every slot is taken (by codes made at the keypad)."""
        slots = self.locks[entity_id]["slots"]
        for n in slots:
            if not slots[n]:
                slots[n] = f"{7000 + n}"

    def revoke(self) -> None:
        self.tokens.clear()

    def codes(self, entity_id: str) -> dict[int, str]:
        return {n: pin for n, pin in self.locks[entity_id]["slots"].items() if pin}

    # -- the API --

    def _states(self) -> list[dict]:
        states = list(self.other_states.values())
        for entity_id, lock in self.locks.items():
            object_id = entity_id.split(".", 1)[1]
            dead = lock["node_status"] == "dead"
            states += [
                {
                    "entity_id": entity_id,
                    "state": "unavailable" if dead else "locked",
                    "attributes": {"friendly_name": lock["name"], "supported_features": 0},
                },
                {
                    "entity_id": f"sensor.{object_id}_battery_level",
                    "state": "unavailable" if dead else str(lock["battery"]),
                    "attributes": {"unit_of_measurement": "%", "device_class": "battery"},
                },
                {
                    "entity_id": f"sensor.{object_id}_node_status",
                    "state": lock["node_status"],
                    "attributes": {},
                },
            ]
        return states

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.calls.append((request.method, request.path))
            if request.header("authorization").removeprefix("Bearer ") not in self.tokens:
                return FakeResponse(401, "401: Unauthorized")
            if self.rate_limited:
                # Home Assistant itself does not throttle; a proxy in front of it may.
                return FakeResponse(429, "Too Many Requests", headers={"Retry-After": "20"})
            if request.method == "GET" and request.path == "/api/states":
                return FakeResponse(200, self._states())
            if request.method == "GET" and request.path.startswith("/api/states/"):
                entity_id = request.path.removeprefix("/api/states/")
                state = next((s for s in self._states() if s["entity_id"] == entity_id), None)
                if state is None:
                    return FakeResponse(404, {"message": "Entity not found."})
                return FakeResponse(200, state)
            if request.method == "POST" and request.path == "/api/template":
                return self._template(request)
            prefix = "/api/services/zwave_js/"
            if request.method == "POST" and request.path.startswith(prefix):
                return self._service(request.path.removeprefix(prefix), request)
            return FakeResponse(404, {"message": "Not found"})

    def _template(self, request: FakeRequest) -> FakeResponse:
        """Renders only `integration_entities('<domain>')` (with `| tojson`), as text."""
        template = str((request.json or {}).get("template", ""))
        match = re.search(r"integration_entities\(['\"](\w+)['\"]\)", template)
        if not match:
            return FakeResponse(400, {"message": "Error rendering template"})
        entities = [e for e, lock in self.locks.items() if lock["integration"] == match[1]]
        return FakeResponse(200, json.dumps(sorted(entities)))

    def _service(self, service: str, request: FakeRequest) -> FakeResponse:
        wants_answer = "return_response" in request.query
        data = request.json or {}
        self.service_calls.append((service, {k: v for k, v in data.items() if k != "usercode"}))
        lock = self.locks.get(data.get("entity_id", ""))
        if service not in ("get_lock_usercode", "set_lock_usercode", "clear_lock_usercode"):
            return FakeResponse(400, {"message": f"Service zwave_js.{service} not found."})
        if service == "get_lock_usercode" and not wants_answer:
            return FakeResponse(
                400, {"message": "Service call requires responses but caller did not ask"}
            )
        if service != "get_lock_usercode" and wants_answer:
            return FakeResponse(
                400, {"message": "Service does not support responses. Remove return_response"}
            )
        if lock is None or lock["integration"] != "zwave_js":
            return FakeResponse(400, {"message": "Entity is not a Z-Wave JS lock"})
        if lock["node_status"] == "dead":
            return FakeResponse(500, "500 Internal Server Error")
        slot = data.get("code_slot")
        if slot is not None and int(slot) not in lock["slots"]:
            return FakeResponse(400, {"message": f"Invalid code slot {slot}"})
        if service == "get_lock_usercode":
            return self._read(data["entity_id"], lock, slot)
        delay = self.take_timeout()
        if self.take_drop():
            return FakeResponse(200, [], delay=delay)
        if service == "set_lock_usercode":
            usercode = str(data.get("usercode", ""))
            if len(usercode) < 4 or not usercode.isdigit():
                return FakeResponse(400, {"message": "User code must be at least 4 digits"})
            if usercode in lock["refused"]:
                return FakeResponse(500, "500 Internal Server Error")
            taken = {pin for n, pin in lock["slots"].items() if n != int(slot)}
            if usercode not in taken:  # the lock refuses a duplicate and keeps the slot empty
                self._apply(lock, int(slot), usercode)
        else:
            self._apply(lock, int(slot), "")
        return FakeResponse(200, [], delay=delay)

    @staticmethod
    def _apply(lock: dict, slot: int, pin: str) -> None:
        if lock["node_status"] == "asleep":
            lock["queued"][slot] = pin
        else:
            lock["slots"][slot] = pin

    @staticmethod
    def _read(entity_id: str, lock: dict, slot) -> FakeResponse:
        wanted = [int(slot)] if slot is not None else sorted(lock["slots"])
        answer = {
            str(n): {
                "code_slot": n,
                "name": f"User Code ({n})",
                "usercode": lock["slots"][n],
                "in_use": bool(lock["slots"][n]) and n not in lock["disabled"],
            }
            for n in wanted
        }
        return FakeResponse(200, {"changed_states": [], "service_response": {entity_id: answer}})
