"""Nuki Web API adapter (vendors/README.md §1): keypad codes are authorizations of type 13.

The cloud is asynchronous: a create answers 204 with no body and no id, and the lock gets the
code through its bridge "usually in some seconds". So a create is matched afterwards by name
and PIN in the lock's auth list, and until it shows there it is reported as `setting` with an
empty remote id (the engine follows it up, SPEC S6/S7).
"""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from django.conf import settings

from integrations.base import (
    Adapter,
    CodeSpec,
    CodeStatus,
    Constraint,
    Feature,
    LockCapabilities,
    LockInfo,
    Reason,
    RemoteCode,
    VendorError,
)
from integrations.http import VendorHttpClient, redact_pins

KEYPAD_CODE = 13
WEBHOOK_FEATURES = ["DEVICE_STATUS", "DEVICE_AUTHS", "DEVICE_LOGS"]
SERVER_STATE_OFFLINE = 4
MODELS = {
    0: "Smart Lock 1/2",
    1: "Box",
    2: "Opener",
    3: "Smart Door",
    4: "Smart Lock 3/4",
    5: "Smart Lock 5",
}

# Nuki staff: keypad codes are exactly 6 digits 1–9, may not start with 12, names up to 20
# characters (else 422), about 100 codes per keypad.
CAPABILITIES = LockCapabilities(
    time_bound_codes=True,
    max_active_codes_supported=100,
    supported_code_lengths=(6,),
    code_constraints=frozenset({Constraint.NO_ZEROS, Constraint.CANNOT_START_WITH_12}),
    name_max_length=20,
)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _error_reason(message: str) -> Reason:
    """Read the free-text `error` Nuki sets on an auth whose device operation failed."""
    text = message.lower()
    if any(word in text for word in ("slot", "full", "memory", "maximum")):
        return Reason.LOCK_FULL
    if any(word in text for word in ("offline", "not reachable", "unreachable")):
        return Reason.LOCK_OFFLINE
    return Reason.VENDOR_ERROR


class NukiAdapter(Adapter):
    key = "nuki"
    label = "Nuki"
    features = frozenset({Feature.LIST_CODES, Feature.ASYNC_WRITES, Feature.UPDATE_WINDOW})
    credential_fields = {"api_token": "Nuki Web API token (Nuki Web → Menu → API)"}
    webhook_setup = "api"  # decentral webhooks, registered on connect where Nuki allows it

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self.http = VendorHttpClient(
            base_url=settings.NUKI_API_URL,
            vendor="Nuki",
            headers={
                "Authorization": f"Bearer {self.credentials.get('api_token', '')}",
                "Accept": "application/json",
            },
        )

    # -- plumbing --

    @staticmethod
    def _check(response: requests.Response) -> requests.Response:
        status = response.status_code
        if status < 400:
            return response
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = (
            str(body.get("detailMessage") or body.get("description") or "")
            if isinstance(body, dict)
            else ""
        )
        if status == 401:
            raise VendorError(Reason.ACCOUNT_DISCONNECTED, "Nuki no longer accepts the API token")
        if status in (402, 426):
            raise VendorError(
                Reason.ACCOUNT_DISCONNECTED, "the Nuki account needs a payment or an upgrade"
            )
        if status == 403:
            raise VendorError(
                Reason.ACCOUNT_DISCONNECTED, "the Nuki API token may not manage this lock"
            )
        if status == 409:
            raise VendorError(Reason.DUPLICATE_CODE, "a code with this PIN is already on the lock")
        if status == 423:
            # Another operation on this auth is still pending; it clears by itself.
            raise VendorError(
                Reason.VENDOR_ERROR, "Nuki is still applying an earlier change", retryable=True
            )
        if status in (400, 422):
            raise VendorError(Reason.REJECTED, redact_pins(detail) or "Nuki refused the code")
        raise VendorError(Reason.VENDOR_ERROR, f"Nuki answered {status}", retryable=False)

    def _get(self, path: str, **kwargs):
        return self._check(self.http.get(path, **kwargs)).json()

    @staticmethod
    def _lock_info(smartlock: dict) -> LockInfo:
        state = smartlock.get("state") or {}
        battery = state.get("batteryCharge")
        if battery is None and "batteryCritical" in state:
            battery = 10 if state["batteryCritical"] else None
        return LockInfo(
            remote_id=str(smartlock["smartlockId"]),
            name=smartlock.get("name", ""),
            model=MODELS.get(smartlock.get("type", -1), "Nuki"),
            online=smartlock.get("serverState") != SERVER_STATE_OFFLINE,
            battery_level=battery,
            capabilities=CAPABILITIES,
        )

    @staticmethod
    def _remote(auth: dict) -> RemoteCode:
        error = str(auth.get("error") or "")
        return RemoteCode(
            remote_id=str(auth["id"]),
            pin=None if auth.get("code") is None else str(auth["code"]),
            name=auth.get("name", ""),
            # A set operationId means the cloud has not reached the lock yet.
            status=CodeStatus.SETTING if auth.get("operationId") else CodeStatus.SET,
            starts_at=_parse(auth.get("allowedFromDate")),
            ends_at=_parse(auth.get("allowedUntilDate")),
            error=_error_reason(error) if error else None,
            error_message=error,
        )

    @staticmethod
    def _twin(codes: list[RemoteCode], spec: CodeSpec) -> RemoteCode | None:
        return next((c for c in codes if c.name == spec.name and c.pin == spec.pin), None)

    def _body(self, spec: CodeSpec) -> dict:
        body = {"name": spec.name, "code": int(spec.pin), "remoteAllowed": False}
        if spec.starts_at is not None:
            body["allowedFromDate"] = _iso(spec.starts_at)
        if spec.ends_at is not None:
            body["allowedUntilDate"] = _iso(spec.ends_at)
        return body

    # -- the interface --

    def list_locks(self) -> list[LockInfo]:
        return [self._lock_info(s) for s in self._get("smartlock")]

    def get_lock(self, remote_id: str) -> LockInfo:
        return self._lock_info(self._get(f"smartlock/{remote_id}"))

    def list_codes(self, lock_remote_id: str) -> list[RemoteCode]:
        auths = self._get(f"smartlock/{lock_remote_id}/auth", params={"types": KEYPAD_CODE})
        return [self._remote(a) for a in auths if a.get("type") == KEYPAD_CODE]

    def create_code(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        codes = self.list_codes(lock_remote_id)
        # After an ambiguous timeout the earlier create may have landed (SPEC R4).
        twin = self._twin(codes, spec)
        if twin is not None:
            return twin
        if not self.get_lock(lock_remote_id).online:
            # Nuki accepts a create for an offline lock and silently never applies it.
            raise VendorError(Reason.LOCK_OFFLINE, "the Nuki lock is offline")
        if len(codes) >= CAPABILITIES.max_active_codes_supported:
            raise VendorError(Reason.LOCK_FULL, "the Nuki keypad holds 100 codes")
        body = {**self._body(spec), "type": KEYPAD_CODE}
        self._check(self.http.put(f"smartlock/{lock_remote_id}/auth", json=body))
        twin = self._twin(self.list_codes(lock_remote_id), spec)
        if twin is not None:
            return twin
        return RemoteCode(
            remote_id="",
            pin=spec.pin,
            name=spec.name,
            status=CodeStatus.SETTING,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
        )

    def update_code(self, lock_remote_id: str, code_remote_id: str, spec: CodeSpec) -> RemoteCode:
        body = {**self._body(spec), "enabled": True}
        self._check(self.http.post(f"smartlock/{lock_remote_id}/auth/{code_remote_id}", json=body))
        return RemoteCode(
            remote_id=code_remote_id,
            pin=spec.pin,
            name=spec.name,
            status=CodeStatus.SETTING,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
        )

    # -- webhooks: Nuki's decentral webhook registration returns the signing secret --

    def webhook_register(self, url: str) -> tuple[str, str]:
        """Register locksync's URL as a decentral webhook; return (id, HMAC secret).

        Nuki grants decentral webhooks to approved "Advanced API" integrations only; a refusal
        (401/403) is reported as vendor_error, never as a disconnected account.
        """
        body = {"webhookUrl": url, "webhookFeatures": WEBHOOK_FEATURES}
        response = self.http.put("api/decentralWebhook", json=body)
        if response.status_code >= 400:
            raise VendorError(
                Reason.VENDOR_ERROR,
                f"Nuki did not register the webhook ({response.status_code})",
                retryable=False,
            )
        data = response.json()
        return str(data["id"]), str(data["secret"])

    def webhook_unregister(self, webhook_id: str) -> None:
        response = self.http.delete(f"api/decentralWebhook/{webhook_id}")
        if response.status_code >= 400 and response.status_code != 404:  # 404: already gone
            raise VendorError(
                Reason.VENDOR_ERROR, f"Nuki answered {response.status_code}", retryable=False
            )

    def delete_code(self, lock_remote_id: str, code_remote_id: str) -> None:
        response = self.http.delete(f"smartlock/{lock_remote_id}/auth/{code_remote_id}")
        if response.status_code == 404:
            return  # already gone: a delete is done when the code is not there
        self._check(response)
