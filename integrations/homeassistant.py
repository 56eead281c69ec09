"""Local Z-Wave locks through the host's Home Assistant (vendors/README.md §6).

Home Assistant's REST API with the host's long-lived token: `lock.*` entities are the locks;
user codes are read with `zwave_js.get_lock_usercode` (a service that answers, so it is called
with `?return_response`), written with `set_lock_usercode` and cleared with
`clear_lock_usercode`. Z-Wave user codes are numbered slots with no validity window and no
name, so these are permanent-only codes (the engine sets them just before the window and
clears them at its end, SPEC W2), and:

- locksync uses only the slots the host gave it on the Lock (default 10–29): a slot outside
  the range is never written, cleared or read as ours, and capacity is the range's size;
- a code's remote id is its slot number; the name locksync wrote in each slot is kept in the
  Lock's adapter_state, written before the call so an unanswered write is still ours (R4);
- a write counts once the slot reads back with the PIN (SPEC S7); a dead or sleeping node
  answers lock_offline rather than queueing a code that arrives who knows when;
- only `zwave_js` locks take the user-code services: `/api/states` does not say which
  integration an entity belongs to, so the lock list asks Home Assistant's template
  `integration_entities('zwave_js')` (a `lock.garage_door` of another integration is not
  offered);
- `get_lock_usercode` answers for every slot the lock has (README §6): that answer bounds the
  host's range (a 5-slot lock is never offered slot 10), and a slot with a code in it is taken
  even when `in_use` is false: the host disabled it (userIdStatus 2) and its code stays;
- Home Assistant answers 500 both when the node is unreachable and when the lock refuses the
  PIN (the service raises). The README and Home Assistant's docs give no error code for either,
  so after a 500 the slot is read back: a lock that answers the read and does not hold the PIN
  refused it (`rejected`, not retried all stay); a read that fails too is an outage.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

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
from integrations.http import VendorHttpClient, redact_pins
from integrations.models import DEFAULT_CODE_SLOTS, Lock

DOMAIN = "zwave_js"
CODE_CAPABLE_TEMPLATE = (
    "{{ integration_entities('zwave_js') | select('match', 'lock\\.') | list | tojson }}"
)
OFFLINE_STATES = frozenset({"unavailable", "unknown"})
# zwave_js's node status sensor: a dead node cannot be reached, an asleep one would only
# queue the write until it wakes.
OFFLINE_NODE_STATUSES = frozenset({"dead", "asleep"})
# A slot written this recently and not yet read back is still on its way: not free.
PENDING_WRITE_HOLD = timedelta(hours=1)
SUPPORTED_LENGTHS = (4, 5, 6, 7, 8)


def check_base_url(url: str) -> str:
    """The host's Home Assistant address, refused when it points into our own network."""
    malformed = VendorError(
        Reason.ACCOUNT_DISCONNECTED,
        "the Home Assistant address must look like https://myhome.example.com",
    )
    try:
        parts = urlsplit(url.strip())
        hostname, port = parts.hostname, parts.port
    except ValueError as error:
        raise malformed from error
    if parts.scheme not in ("http", "https") or not hostname:
        raise malformed
    if not settings.HOMEASSISTANT_ALLOW_PRIVATE_URLS:
        try:
            infos = socket.getaddrinfo(hostname, port or 443)
        except (socket.gaierror, UnicodeError) as error:
            raise VendorError(
                Reason.ACCOUNT_DISCONNECTED, "the Home Assistant address does not resolve"
            ) from error
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise VendorError(
                    Reason.ACCOUNT_DISCONNECTED,
                    "the Home Assistant address is not reachable from the internet "
                    "(use its Nabu Casa or public address)",
                )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def capabilities_for(slots: range) -> LockCapabilities:
    return LockCapabilities(
        time_bound_codes=False,
        max_active_codes_supported=len(slots),
        supported_code_lengths=SUPPORTED_LENGTHS,
    )


class HomeAssistantAdapter(Adapter):
    key = "homeassistant"
    label = "Home Assistant (Z-Wave locks)"
    features = frozenset(
        {Feature.LIST_CODES, Feature.ASYNC_WRITES, Feature.UPDATE_WINDOW, Feature.CODE_SLOTS}
    )
    credential_fields = {
        "base_url": "Home Assistant address (e.g. https://myhome.ui.nabu.casa)",
        "access_token": "Long-lived access token (your Home Assistant profile → Security)",
    }

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self._http: VendorHttpClient | None = None
        self._slot_counts: dict[str, int] = {}  # read this time, for locks not yet saved

    # -- plumbing --

    @property
    def http(self) -> VendorHttpClient:
        if self._http is None:
            self._http = VendorHttpClient(
                base_url=check_base_url(str(self.credentials.get("base_url", ""))),
                vendor="Home Assistant",
                headers={
                    "Authorization": f"Bearer {self.credentials.get('access_token', '')}",
                    "Content-Type": "application/json",
                },
            )
        return self._http

    @staticmethod
    def _check(response):
        status = response.status_code
        if status < 400:
            try:
                return response.json() if response.content else None
            except ValueError as error:
                # Not Home Assistant answering (a login page of a proxy in front of it?).
                raise VendorError(
                    Reason.ACCOUNT_DISCONNECTED,
                    "the address does not answer like Home Assistant's API",
                ) from error
        if status in (401, 403):
            raise VendorError(
                Reason.ACCOUNT_DISCONNECTED, "Home Assistant no longer accepts the access token"
            )
        try:
            message = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            message = response.text[:200]
        if status == 404:
            raise VendorError(
                Reason.VENDOR_ERROR, "Home Assistant does not know this lock", retryable=False
            )
        raise VendorError(Reason.REJECTED, redact_pins(message) or f"Home Assistant said {status}")

    def _service(self, service: str, data: dict, *, answers: bool = False):
        path = f"api/services/{DOMAIN}/{service}"
        # Services that answer must be asked for the answer, the others must not (HA 400s);
        # Home Assistant only looks for the parameter's presence.
        params = {"return_response": "true"} if answers else None
        body = self._check(self.http.post(path, params=params, json=data))
        return (body or {}).get("service_response", {}) if answers else body

    def _states(self) -> list[dict]:
        states = self._check(self.http.get("api/states")) or []
        if not isinstance(states, list) or not all(
            isinstance(s, dict) and isinstance(s.get("entity_id"), str) for s in states
        ):
            raise VendorError(
                Reason.VENDOR_ERROR, "Home Assistant's /api/states answer is not a list of states"
            )
        return states

    def _code_capable(self) -> set[str]:
        """The lock entities of the zwave_js integration (the only ones with user codes)."""
        response = self.http.post("api/template", json={"template": CODE_CAPABLE_TEMPLATE})
        if response.status_code >= 400:
            self._check(response)
        try:
            entities = json.loads(response.text)
        except ValueError as error:
            raise VendorError(
                Reason.VENDOR_ERROR, "Home Assistant did not list its Z-Wave JS locks"
            ) from error
        if not isinstance(entities, list):
            raise VendorError(
                Reason.VENDOR_ERROR, "Home Assistant did not list its Z-Wave JS locks"
            )
        return {str(e) for e in entities}

    def _state(self, entity_id: str) -> dict:
        return self._check(self.http.get(f"api/states/{entity_id}")) or {}

    # -- the lock row: slot range and names --

    def _lock_row(self, entity_id: str) -> Lock | None:
        if self.connection.pk is None:
            return None
        return Lock.objects.filter(connection=self.connection, remote_id=entity_id).first()

    def _slots(self, entity_id: str) -> range:
        """The host's range, cut to the slots the lock has once it has been read."""
        row = self._lock_row(entity_id)
        wanted = (
            range(DEFAULT_CODE_SLOTS[0], DEFAULT_CODE_SLOTS[1] + 1)
            if row is None
            else row.code_slots
        )
        count = ((row.adapter_state or {}).get("slot_count") if row is not None else None) or 0
        count = count or self._slot_counts.get(entity_id, 0)
        if count:
            return range(wanted.start, max(wanted.start, min(wanted.stop, count + 1)))
        return wanted

    def _slot_count_known(self, entity_id: str) -> bool:
        row = self._lock_row(entity_id)
        stored = (row.adapter_state or {}).get("slot_count") if row is not None else None
        return bool(stored or self._slot_counts.get(entity_id))

    def _remember_slot_count(self, entity_id: str, count: int) -> None:
        self._slot_counts[entity_id] = count
        row = self._lock_row(entity_id)
        if row is not None and count and (row.adapter_state or {}).get("slot_count") != count:
            state = {**(row.adapter_state or {}), "slot_count": count}
            Lock.objects.filter(pk=row.pk).update(adapter_state=state)

    def _names(self, entity_id: str) -> dict[str, dict]:
        row = self._lock_row(entity_id)
        return dict((row.adapter_state or {}).get("slots") or {}) if row is not None else {}

    def _save_names(self, entity_id: str, names: dict[str, dict]) -> None:
        # Writes to one lock are never concurrent (SPEC S5), so read-modify-write is safe.
        row = self._lock_row(entity_id)
        if row is not None:
            state = {**(row.adapter_state or {}), "slots": names}
            Lock.objects.filter(pk=row.pk).update(adapter_state=state)

    def _guard(self, entity_id: str, slot: str) -> int:
        if not slot.isdigit() or int(slot) not in self._slots(entity_id):
            raise VendorError(
                Reason.REJECTED, f"slot {slot} is outside the slots locksync may use on this lock"
            )
        return int(slot)

    # -- locks --

    def _lock_info(self, state: dict, states_by_id: dict[str, dict]) -> LockInfo:
        entity_id = state["entity_id"]
        object_id = entity_id.split(".", 1)[1]
        attributes = state.get("attributes") or {}
        battery = attributes.get("battery_level")
        for sensor in (f"sensor.{object_id}_battery_level", f"sensor.{object_id}_battery"):
            if battery is None and sensor in states_by_id:
                battery = states_by_id[sensor].get("state")
        try:
            battery = None if battery is None else round(float(battery))
        except (TypeError, ValueError):
            battery = None
        node_status = (states_by_id.get(f"sensor.{object_id}_node_status") or {}).get("state")
        online = state.get("state") not in OFFLINE_STATES and node_status not in (
            OFFLINE_NODE_STATUSES
        )
        if online and not self._slot_count_known(entity_id):
            self._read_all(entity_id)  # once: the lock's real slot count bounds the range
        return LockInfo(
            remote_id=entity_id,
            name=attributes.get("friendly_name") or object_id,
            model="Z-Wave lock (Home Assistant)",
            online=online,
            battery_level=battery,
            capabilities=capabilities_for(self._slots(entity_id)),
        )

    def list_locks(self) -> list[LockInfo]:
        states = self._states()
        by_id = {s["entity_id"]: s for s in states}
        capable = self._code_capable()
        return [
            self._lock_info(s, by_id)
            for s in states
            if s["entity_id"].startswith("lock.") and s["entity_id"] in capable
        ]

    def get_lock(self, remote_id: str) -> LockInfo:
        object_id = remote_id.split(".", 1)[-1]
        state = self._state(remote_id)
        by_id = {remote_id: state}
        for sensor in ("battery_level", "battery", "node_status"):
            entity = f"sensor.{object_id}_{sensor}"
            try:
                by_id[entity] = self._state(entity)
            except VendorError as error:
                if error.reason != Reason.VENDOR_ERROR:
                    raise
        return self._lock_info(state, by_id)

    def _require_online(self, entity_id: str) -> None:
        if not self.get_lock(entity_id).online:
            raise VendorError(Reason.LOCK_OFFLINE, "the Z-Wave lock is asleep or unreachable")

    # -- codes --

    def _read_slots(self, entity_id: str, slot: int | None = None) -> dict[int, str]:
        """Slot -> PIN of every enabled slot, as the lock reports it."""
        return {n: pin for n, (pin, enabled) in self._read_all(entity_id, slot).items() if enabled}

    def _read_all(self, entity_id: str, slot: int | None = None) -> dict[int, tuple[str, bool]]:
        """Slot -> (PIN, enabled) of every slot holding a code, enabled or disabled.

        A full read answers for every slot the lock has: its size is remembered as the
        lock's slot count.
        """
        data: dict[str, str | int] = {"entity_id": entity_id}
        if slot is not None:
            data["code_slot"] = slot
        answer = self._service("get_lock_usercode", data, answers=True).get(entity_id) or {}
        held = {}
        for key, value in answer.items():
            if not isinstance(value, dict):
                continue
            in_use = value.get("in_use")
            if value.get("usercode") or in_use is not False:
                # in_use None: the lock has not told; treat the slot as taken, never free.
                held[int(key)] = (str(value.get("usercode") or ""), in_use is True)
        if slot is None:
            self._remember_slot_count(entity_id, max((int(k) for k in answer), default=0))
        return held

    def list_codes(self, lock_remote_id: str) -> list[RemoteCode]:
        """The codes in locksync's slot range, as read back from the lock.

        Slots outside the range are the host's and are not reported at all: they take none
        of the range's room (so the engine's count against capacity is exact), and a PIN held
        there still reaches us as duplicate_code when we try to write it (SPEC P5).
        """
        self._require_online(lock_remote_id)
        slots, names = self._slots(lock_remote_id), self._names(lock_remote_id)
        used = self._read_slots(lock_remote_id)
        self._forget_empty(lock_remote_id, used, names)
        return [
            RemoteCode(
                remote_id=str(slot),
                pin=pin,
                name=(names.get(str(slot)) or {}).get("name", ""),
                status=CodeStatus.SET,
            )
            for slot, pin in sorted(used.items())
            if slot in slots
        ]

    def _forget_empty(self, entity_id: str, used: dict[int, str], names: dict[str, dict]) -> None:
        """Reconcile the slot map with the read-back (SPEC Y2): a name whose slot reads back
        empty, and whose write is no longer on its way, is forgotten."""
        now = timezone.now()
        stale = [
            slot
            for slot, entry in names.items()
            if int(slot) not in used
            and now - datetime.fromisoformat(entry["at"]) >= PENDING_WRITE_HOLD
        ]
        for slot in stale:
            names.pop(slot)
        if stale:
            self._save_names(entity_id, names)

    def _free_slot(self, slots: range, used: dict[int, str], names: dict[str, dict]) -> int:
        now = timezone.now()
        for slot in slots:
            if slot in used:
                continue
            pending = names.get(str(slot))
            if pending and now - datetime.fromisoformat(pending["at"]) < PENDING_WRITE_HOLD:
                continue
            return slot
        raise VendorError(
            Reason.LOCK_FULL, f"all {len(slots)} slots locksync may use on this lock are taken"
        )

    def _write(self, entity_id: str, slot: int, spec: CodeSpec, names: dict) -> RemoteCode:
        previous = names.get(str(slot))
        names[str(slot)] = {"name": spec.name, "at": timezone.now().isoformat()}
        self._save_names(entity_id, names)  # before the call: an unanswered write stays ours
        try:
            self._set(entity_id, slot, spec.pin)
        except VendorError as error:
            if error.reason != Reason.TIMEOUT:
                if previous is None:
                    names.pop(str(slot), None)
                else:
                    names[str(slot)] = previous
                self._save_names(entity_id, names)
            raise
        landed = self._read_slots(entity_id, slot).get(slot) == spec.pin
        return RemoteCode(
            remote_id=str(slot),
            pin=spec.pin,
            name=spec.name,
            status=CodeStatus.SET if landed else CodeStatus.SETTING,
        )

    def _set(self, entity_id: str, slot: int, pin: str) -> None:
        """Write the slot; a 500 from a lock that still answers and lacks the PIN: rejected."""
        try:
            self._service(
                "set_lock_usercode", {"entity_id": entity_id, "code_slot": slot, "usercode": pin}
            )
        except VendorError as error:
            if error.reason != Reason.VENDOR_ERROR or not error.retryable:
                raise
            # Outage or refusal? Both are 500 (see the module docstring): ask the lock.
            try:
                online = self.get_lock(entity_id).online
                landed = online and self._read_slots(entity_id, slot).get(slot) == pin
            except VendorError:
                raise error from None
            if not online:
                raise VendorError(
                    Reason.LOCK_OFFLINE, "the Z-Wave lock is asleep or unreachable"
                ) from error
            if not landed:
                raise VendorError(
                    Reason.REJECTED, "the lock refused this PIN (Home Assistant answered 500)"
                ) from error

    def create_code(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        self._require_online(lock_remote_id)
        held = self._read_all(lock_remote_id)
        slots, names = self._slots(lock_remote_id), self._names(lock_remote_id)
        used = {n: pin for n, (pin, _enabled) in held.items()}
        for slot, pin in used.items():
            if pin != spec.pin:
                continue
            if slot in slots and (names.get(str(slot)) or {}).get("name") == spec.name:
                return RemoteCode(remote_id=str(slot), pin=pin, name=spec.name)  # SPEC R4
            raise VendorError(Reason.DUPLICATE_CODE, "a code with this PIN is already on the lock")
        return self._write(lock_remote_id, self._free_slot(slots, used, names), spec, names)

    def update_code(self, lock_remote_id: str, code_remote_id: str, spec: CodeSpec) -> RemoteCode:
        slot = self._guard(lock_remote_id, code_remote_id)
        self._require_online(lock_remote_id)
        used = self._read_slots(lock_remote_id)
        if any(pin == spec.pin and other != slot for other, pin in used.items()):
            raise VendorError(Reason.DUPLICATE_CODE, "a code with this PIN is already on the lock")
        names = self._names(lock_remote_id)
        if used.get(slot) == spec.pin:
            names[str(slot)] = {"name": spec.name, "at": timezone.now().isoformat()}
            self._save_names(lock_remote_id, names)
            return RemoteCode(remote_id=str(slot), pin=spec.pin, name=spec.name)
        return self._write(lock_remote_id, slot, spec, names)

    def delete_code(self, lock_remote_id: str, code_remote_id: str) -> None:
        slot = self._guard(lock_remote_id, code_remote_id)
        self._require_online(lock_remote_id)
        self._service("clear_lock_usercode", {"entity_id": lock_remote_id, "code_slot": slot})
        names = self._names(lock_remote_id)
        if names.pop(str(slot), None) is not None:
            self._save_names(lock_remote_id, names)
