"""RemoteLock adapter (vendors/README.md §5).

One locksync code on one lock is one RemoteLock `access_guest` (name, PIN, window) granted to
that lock through one `access`; its remote id is `<guest id>:<access id>`, so nothing of this
shape leaves the module. Guest windows are written in the lock's own local time without an
offset, as RemoteLock wants them; the zone is the one of the lock's RemoteLock location.
The lock takes the code the next time it wakes up: the access's `devices_*_sync_count` say
whether it has, so a code is `setting` until RemoteLock reports it synced. A code we are done
with is deactivated, not deleted, as RemoteLock recommends.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.conf import settings

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
from integrations.oauth import BearerTokens

MEDIA_TYPE = "application/vnd.lockstate+json; version=1"
# Keypad locks that take a guest's PIN. ResortLocks are algorithmic (resort_lock_guests, whole
# hours, vendor-chosen PINs) and are left out until locksync speaks that model.
LOCK_TYPES = ("lock", "schlage_home_lock")
PER_PAGE = 50
# Refresh a token this long before RemoteLock says it expires (tokens live 2 hours).
EXPIRY_MARGIN = 60.0
TOKEN_LIFETIME = 7200.0
# RemoteLock does not publish per-model limits; 4–8 digit PINs and this many users are what
# its keypad locks accept [INF, vendors/README.md §5].
CAPABILITIES = LockCapabilities(
    time_bound_codes=True,
    max_active_codes_supported=100,
    supported_code_lengths=(4, 5, 6, 7, 8),
)
CODE_HOLDERS = ("access_guest", "access_user")
FULL_WORDS = ("maximum", "full", "no room", "capacity")


def _local(moment: datetime | None, zone: zoneinfo.ZoneInfo) -> str | None:
    """Lock-local wall time without an offset: RemoteLock's format for guest windows."""
    if moment is None:
        return None
    return moment.astimezone(zone).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S")


def _aware(value: str | None, zone: zoneinfo.ZoneInfo) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def split_remote_id(code_remote_id: str) -> tuple[str, str]:
    guest_id, _, access_id = code_remote_id.partition(":")
    return guest_id, access_id


def _json(response) -> dict:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as error:
        raise VendorError(Reason.VENDOR_ERROR, "RemoteLock answered without JSON") from error
    if not isinstance(body, dict):
        raise VendorError(Reason.VENDOR_ERROR, "RemoteLock answered with an unexpected shape")
    return body


def _data(body: dict, kind: type = dict):
    """The `data` of an answer; an answer without it is the vendor's fault, not a crash."""
    data = body.get("data")
    if not isinstance(data, kind):
        raise VendorError(Reason.VENDOR_ERROR, "RemoteLock answered without its data")
    return data


def error_from(status: int, body) -> VendorError:
    """Map a RemoteLock 4xx to a SPEC R2 reason; the status stays on the error."""
    error = _error_from(status, body)
    error.status = status
    return error


def _error_detail(body) -> str:
    """RemoteLock's resource errors: `errors[]` of `attribute`, `messages`, `full_messages`;
    general errors: `message` and `type` (its API reference, "Errors")."""
    if not isinstance(body, dict):
        return ""
    parts = []
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        full = [str(m) for m in error.get("full_messages") or [] if m]
        messages = [str(m) for m in error.get("messages") or [] if m]
        if not (full or messages) and error.get("message"):
            messages = [str(error["message"])]  # older, singular form
        attribute = str(error.get("attribute") or "")
        parts += full or [f"{attribute} {m}".strip() for m in messages]
    return "; ".join(parts) or str(body.get("message") or body.get("error") or "")


def _error_from(status: int, body) -> VendorError:
    detail = _error_detail(body)
    text = detail.lower()
    if status == 401:
        return VendorError(Reason.ACCOUNT_DISCONNECTED, "RemoteLock no longer accepts the app keys")
    if status == 403:
        # "Expired/Invalid token" in RemoteLock's status table; seen here only after signing
        # in again did not help.
        return VendorError(Reason.ACCOUNT_DISCONNECTED, "RemoteLock refuses locksync's sign-in")
    if status in (409, 422) and "taken" in text and text.startswith("name"):
        return VendorError(Reason.DUPLICATE_NAME, "a code with this name is already on the lock")
    if status in (409, 422) and "taken" in text:
        return VendorError(Reason.DUPLICATE_CODE, "a code with this PIN is already on the lock")
    if status == 422 and any(word in text for word in FULL_WORDS):
        return VendorError(Reason.LOCK_FULL, "the RemoteLock lock has no room for another code")
    if status in (400, 409, 422):
        return VendorError(Reason.REJECTED, redact_pins(detail) or "RemoteLock refused the code")
    if status == 404:
        return VendorError(Reason.VENDOR_ERROR, "RemoteLock no longer knows this", retryable=False)
    return VendorError(Reason.VENDOR_ERROR, f"RemoteLock answered {status}", retryable=False)


class RemoteLockAdapter(Adapter):
    key = "remotelock"
    label = "RemoteLock"
    features = frozenset({Feature.LIST_CODES, Feature.ASYNC_WRITES, Feature.UPDATE_WINDOW})
    credential_fields = {
        "client_id": "RemoteLock OAuth application Client ID (developer portal)",
        "client_secret": "RemoteLock OAuth application Client Secret",
    }

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self.http = VendorHttpClient(
            base_url=settings.REMOTELOCK_API_URL,
            vendor="RemoteLock",
            headers={"Accept": MEDIA_TYPE},
        )
        self.auth = VendorHttpClient(base_url=settings.REMOTELOCK_AUTH_URL, vendor="RemoteLock")
        # RemoteLock's status table: 403 is "Expired/Invalid token", so both sign in again.
        self.tokens = BearerTokens(
            connection=connection,
            credentials=self.credentials,
            grant=self._grant,
            vendor="RemoteLock",
            default_lifetime=TOKEN_LIFETIME,
            margin=EXPIRY_MARGIN,
            reauth_statuses=(401, 403),
        )
        self._zones: dict[str, zoneinfo.ZoneInfo] = {}

    # -- tokens --

    def _token_grant(self, data: dict) -> dict | None:
        response = self.auth.post("oauth/token", data=data)
        if response.status_code in (400, 401):
            return None
        if response.status_code >= 400:
            raise VendorError(
                Reason.VENDOR_ERROR, f"RemoteLock sign-in answered {response.status_code}"
            )
        return _json(response)

    def _grant(self, credentials: dict) -> dict:
        """A new token: by refresh token where we hold one, else by client credentials."""
        client = {
            "client_id": str(credentials.get("client_id", "")),
            "client_secret": str(credentials.get("client_secret", "")),
        }
        body = None
        if credentials.get("refresh_token"):
            body = self._token_grant(
                {
                    **client,
                    "grant_type": "refresh_token",
                    "refresh_token": credentials["refresh_token"],
                }
            )
        if body is None:
            body = self._token_grant({**client, "grant_type": "client_credentials"})
        if body is None or not body.get("access_token"):
            raise VendorError(Reason.ACCOUNT_DISCONNECTED, "RemoteLock refused the app keys")
        return body

    def _request(self, method: str, path: str, **kwargs) -> dict:
        response = self.tokens.send(
            lambda headers: self.http.request(method, path, headers=headers, **kwargs)
        )
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise error_from(response.status_code, body)
        return _json(response)

    def _pages(self, path: str, params: dict) -> list[dict]:
        items, page = [], 1
        while True:
            body = self._request("GET", path, params={**params, "page": page, "per_page": PER_PAGE})
            items += [item for item in _data(body, list) if isinstance(item, dict)]
            meta = body.get("meta") if isinstance(body, dict) else None
            meta = meta if isinstance(meta, dict) else {}
            try:
                pages = int(meta.get("total_pages") or 1)
            except (TypeError, ValueError):
                pages = 1
            if page >= pages:
                return items
            page += 1

    # -- locks --

    def _lock_info(self, device: dict) -> LockInfo:
        attributes = device.get("attributes") or {}
        power = attributes.get("power_level")
        if "id" not in device:
            raise VendorError(Reason.VENDOR_ERROR, "RemoteLock listed a device without an id")
        return LockInfo(
            remote_id=str(device["id"]),
            name=attributes.get("name") or "",
            model=attributes.get("model_number") or device.get("type", "RemoteLock"),
            online=bool(attributes.get("connected", True)),
            battery_level=power if isinstance(power, int) else None,
            capabilities=CAPABILITIES,
        )

    def list_locks(self) -> list[LockInfo]:
        devices = self._pages("devices", {"type[]": list(LOCK_TYPES)})
        return [self._lock_info(d) for d in devices if d.get("type") in LOCK_TYPES]

    def _device(self, remote_id: str) -> dict:
        return _data(self._request("GET", f"devices/{remote_id}"))

    def get_lock(self, remote_id: str) -> LockInfo:
        return self._lock_info(self._device(remote_id))

    def _lock_zone(self, lock_remote_id: str, device: dict | None = None) -> zoneinfo.ZoneInfo:
        """The time zone of the lock's RemoteLock location: guest windows are read in it."""
        if lock_remote_id not in self._zones:
            device = device or self._device(lock_remote_id)
            attributes = device.get("attributes") or {}
            zone_name = attributes.get("time_zone")
            location_id = attributes.get("location_id")
            if not zone_name and location_id:
                location = _data(self._request("GET", f"locations/{location_id}"))
                zone_name = (location.get("attributes") or {}).get("time_zone")
            self._zones[lock_remote_id] = _zone(zone_name)
        return self._zones[lock_remote_id]

    # -- codes --

    @staticmethod
    def _status(person: dict, access: dict) -> tuple[CodeStatus, Reason | None]:
        attributes = access.get("attributes") or {}
        if (person.get("attributes") or {}).get("status") == "deactivated":
            return CodeStatus.REMOVING, None  # still on the lock until it syncs
        if int(attributes.get("devices_failed_sync_count") or 0):
            return CodeStatus.SETTING, Reason.VENDOR_ERROR
        if int(attributes.get("devices_pending_sync_count") or 0):
            return CodeStatus.SETTING, None
        if int(attributes.get("devices_synced_count") or 0):
            return CodeStatus.SET, None
        return CodeStatus.SETTING, None

    def _accesses_on(self, lock_remote_id: str) -> list[dict]:
        """The device's own access listing: every person granted this lock, whatever their
        status (an expired guest still holds its access; `GET /access_persons` hides it)."""
        return self._pages(f"devices/{lock_remote_id}/access_person_accesses", {})

    def _person(self, person_id: str) -> dict | None:
        try:
            return _data(self._request("GET", f"access_persons/{person_id}"))
        except VendorError as error:
            if getattr(error, "status", None) == 404:
                return None
            raise

    def _holders_on(self, lock_remote_id: str) -> list[tuple[dict, dict]]:
        """Every guest and user with a PIN still on this lock, each with its access there: one
        page of the device's accesses and one read per person on this lock, not per person of
        the account (120 requests a minute per account). A deactivated person whose lock has
        synced since is gone; one still pending is listed as removing."""
        found = []
        for access in self._accesses_on(lock_remote_id):
            attributes = access.get("attributes") or {}
            if attributes.get("access_person_type") not in CODE_HOLDERS:
                continue
            person = self._person(str(attributes.get("access_person_id")))
            if person is None or not (person.get("attributes") or {}).get("pin"):
                continue
            deactivated = (person.get("attributes") or {}).get("status") == "deactivated"
            if deactivated and not int(attributes.get("devices_pending_sync_count") or 0):
                continue
            found.append((person, access))
        return found

    def _remote(self, person: dict, access: dict, zone: zoneinfo.ZoneInfo) -> RemoteCode:
        attributes = person.get("attributes") or {}
        status, error = self._status(person, access)
        return RemoteCode(
            remote_id=f"{person['id']}:{access['id']}",
            pin=attributes.get("pin"),
            name=attributes.get("name") or "",
            status=status,
            starts_at=_aware(attributes.get("starts_at"), zone),
            ends_at=_aware(attributes.get("ends_at"), zone),
            error=error,
            error_message="RemoteLock could not sync the code to the lock" if error else "",
        )

    @staticmethod
    def _local_pins(lock_remote_id: str, device: dict) -> list[RemoteCode]:
        """PINs programmed at the keypad: held by no access person, but taken (P4, P7)."""
        pins = (device.get("attributes") or {}).get("local_pins") or []
        return [
            RemoteCode(remote_id=f"local:{pin}", pin=str(pin), name="Keypad PIN")
            for pin in pins
            if isinstance(pin, str | int)
        ]

    def list_codes(self, lock_remote_id: str) -> list[RemoteCode]:
        device = self._device(lock_remote_id)
        zone = self._lock_zone(lock_remote_id, device)
        codes = [self._remote(p, a, zone) for p, a in self._holders_on(lock_remote_id)]
        return codes + self._local_pins(lock_remote_id, device)

    def _guest_body(self, spec: CodeSpec, zone: zoneinfo.ZoneInfo) -> dict:
        if spec.starts_at is None or spec.ends_at is None:
            # A permanent code (a backup code, SPEC H3): RemoteLock guests always have a
            # window, access users never do.
            return {"type": "access_user", "attributes": {"name": spec.name, "pin": spec.pin}}
        return {
            "type": "access_guest",
            "attributes": {
                "name": spec.name,
                "pin": spec.pin,
                "starts_at": _local(spec.starts_at, zone),
                "ends_at": _local(spec.ends_at, zone),
            },
        }

    def _orphan_guest(self, spec: CodeSpec) -> dict | None:
        """Our guest from an earlier create whose access grant was never answered (SPEC R4):
        the current and upcoming people of that name and PIN, then their accesses."""
        for person in self._pages("access_persons", {"type[]": list(CODE_HOLDERS)}):
            attributes = person.get("attributes") or {}
            if (
                (attributes.get("name"), attributes.get("pin")) == (spec.name, spec.pin)
                and attributes.get("status") != "deactivated"
                and not self._pages(f"access_persons/{person['id']}/accesses", {})
            ):
                return person
        return None

    def create_code(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        device = self._device(lock_remote_id)
        zone = self._lock_zone(lock_remote_id, device)
        for person, access in self._holders_on(lock_remote_id):
            attributes = person.get("attributes") or {}
            if attributes.get("status") == "deactivated":
                continue
            if (attributes.get("name"), attributes.get("pin")) == (spec.name, spec.pin):
                return self._remote(person, access, zone)  # an earlier create did land (R4)
        if not self._lock_info(device).online:
            # RemoteLock would accept the guest and hold it until the lock wakes; say so now.
            raise VendorError(Reason.LOCK_OFFLINE, "the RemoteLock lock is not connected")
        if spec.pin in {code.pin for code in self._local_pins(lock_remote_id, device)}:
            raise VendorError(Reason.DUPLICATE_CODE, "the PIN is programmed at the keypad")
        guest = self._orphan_guest(spec)
        if guest is None:
            guest = _data(
                self._request("POST", "access_persons", json=self._guest_body(spec, zone))
            )
        grant = {"attributes": {"accessible_id": lock_remote_id, "accessible_type": "lock"}}
        try:
            access = self._request("POST", f"access_persons/{guest['id']}/accesses", json=grant)
        except VendorError as error:
            if error.reason != Reason.TIMEOUT:
                # Leave no guest behind that holds the PIN without a lock.
                self._request("PUT", f"access_persons/{guest['id']}/deactivate")
            raise
        return self._remote(guest, _data(access), zone)

    def update_code(self, lock_remote_id: str, code_remote_id: str, spec: CodeSpec) -> RemoteCode:
        zone = self._lock_zone(lock_remote_id)
        guest_id, access_id = split_remote_id(code_remote_id)
        body = self._guest_body(spec, zone)
        guest = _data(self._request("PUT", f"access_persons/{guest_id}", json=body))
        accesses = self._pages(f"access_persons/{guest_id}/accesses", {})
        access = next((a for a in accesses if str(a.get("id")) == access_id), None)
        if access is None:
            raise VendorError(Reason.VENDOR_ERROR, "the code's access to the lock is gone")
        return self._remote(guest, access, zone)

    def delete_code(self, lock_remote_id: str, code_remote_id: str) -> None:
        """Deactivate the guest (RemoteLock's advice). Whether the lock let go is read back by
        the device's access listing: the person stays listed, `removing`, until it syncs."""
        guest_id, _ = split_remote_id(code_remote_id)
        if guest_id == "local":
            raise VendorError(Reason.REJECTED, "a PIN programmed at the keypad is not ours")
        try:
            self._request("PUT", f"access_persons/{guest_id}/deactivate")
        except VendorError as error:
            if getattr(error, "status", None) == 404:
                return  # already gone
            raise
