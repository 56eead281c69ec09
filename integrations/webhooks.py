"""Vendor webhooks: verify the sender, then update lock state at once (SPEC L1).

Nuki signs the raw body with HMAC-SHA256 (`X-Nuki-Signature-SHA256`, per-connection secret);
Seam signs with Svix (`webhook-id`/`webhook-timestamp`/`webhook-signature`, `whsec_…` secret);
TTLock does not sign its callback, so its URL carries a token of ours and it must be answered
with the raw body `success`. A request that fails verification changes nothing, and so does a
verified one whose fields have the wrong types: it is answered 400 (a 500 would make the vendor
retry it forever).

Each vendor's body is read in full first (`*_read`, raising BadPayload) and only then applied,
so a bad field never leaves half a change behind. Code changes reported by a vendor are passed
on through the `lock_codes_changed` signal; the engine connects a receiver that follows the
code up at once instead of at the next poll.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from dataclasses import dataclass

from django.conf import settings
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from svix.webhooks import Webhook, WebhookVerificationError

from integrations import arrivals
from integrations.connections import connection_webhook_received
from integrations.health import lock_state_report
from integrations.models import Lock, LockConnection
from integrations.services import connection_mark_disconnected

logger = logging.getLogger(__name__)

# Sent with lock=<Lock>, code_remote_id=<str, "" when the vendor did not say>, event=<str>.
lock_codes_changed = Signal()

NUKI_OFFLINE = 4
SEAM_DISCONNECT_ACCOUNT = "account_disconnected"
NUKI_CRITICAL_BATTERY = 10  # percent assumed when Nuki only says "critical"


class BadPayload(ValueError):
    """A verified body whose fields are not what the vendor documents."""


def _object(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise BadPayload(f"{what} must be a JSON object")
    return value


def _number(value, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadPayload(f"{what} must be a number")
    return float(value)


def _percent(value, what: str, *, scale: float = 1.0) -> int | None:
    """A battery reading: 0–100 (Nuki, TTLock) or 0–1 with scale=100 (Seam)."""
    number = _number(value, what)
    if number is None:
        return None
    if not 0 <= number * scale <= 100:
        raise BadPayload(f"{what} is out of range")
    return round(number * scale)


def _bad_request(error: BadPayload) -> HttpResponse:
    return HttpResponse(str(error), status=400, content_type="text/plain")


def _connection(connection_id: int, vendor: str) -> LockConnection | None:
    return (
        LockConnection.objects.filter(pk=connection_id, vendor=vendor)
        .select_related("host")
        .first()
    )


def _lock(connection: LockConnection, remote_id) -> Lock | None:
    if remote_id is None or isinstance(remote_id, dict | list):
        return None
    return connection.locks.filter(remote_id=str(remote_id)).first()


def _codes_changed(lock: Lock | None, code_remote_id, event: str) -> None:
    if lock is not None:
        lock_codes_changed.send(
            sender=Lock, lock=lock, code_remote_id=str(code_remote_id or ""), event=event
        )


@dataclass(frozen=True)
class StateChange:
    online: bool | None = None
    battery_level: int | None = None


# -- Nuki --


def nuki_signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(signature) and hmac.compare_digest(expected, signature.strip().lower())


def nuki_status_read(payload: dict) -> StateChange:
    """Read a DEVICE_STATUS payload (`state` is a Smartlock.State object)."""
    state = payload.get("state")
    state = {} if state is None else _object(state, "state")
    battery = _percent(state.get("batteryCharge"), "batteryCharge")
    critical = state.get("batteryCritical")
    if critical is not None and not isinstance(critical, bool):
        raise BadPayload("batteryCritical must be true or false")
    if battery is None and critical:
        battery = NUKI_CRITICAL_BATTERY
    server_state = _number(payload.get("serverState"), "serverState")
    online = None if server_state is None else server_state != NUKI_OFFLINE
    return StateChange(online=online, battery_level=battery)


def nuki_event_apply(*, connection: LockConnection, payload) -> None:
    """Apply a verified Nuki decentral-webhook payload; BadPayload changes nothing."""
    payload = _object(payload, "the body")
    feature = payload.get("feature")
    lock = _lock(connection, payload.get("smartlockId"))
    if feature == "DEVICE_STATUS":
        change = nuki_status_read(payload)
        if lock is not None:
            lock_state_report(lock=lock, online=change.online, battery_level=change.battery_level)
    elif feature == "DEVICE_AUTHS":
        _codes_changed(lock, payload.get("id") or payload.get("authId"), "auths_changed")


@csrf_exempt
@require_POST
def nuki_webhook(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(connection_id, "nuki")
    secret = (connection.credentials or {}).get("webhook_secret") if connection else None
    signature = request.headers.get("X-Nuki-Signature-SHA256", "")
    if (
        connection is None
        or not secret
        or not nuki_signature_valid(secret=secret, body=request.body, signature=signature)
    ):
        return HttpResponseForbidden("bad signature")
    try:
        payload = json.loads(request.body)
        nuki_event_apply(connection=connection, payload=payload)
    except ValueError as error:  # not JSON, or BadPayload
        return _bad_request(BadPayload(str(error)))
    connection_webhook_received(connection=connection)
    arrivals.nuki_entries_record(connection=connection, payload=payload)  # SPEC K5
    return HttpResponse(status=204)


# -- Seam --


def seam_event_apply(*, connection: LockConnection, event) -> None:
    """Apply a verified Seam event (the webhook body is the event object)."""
    event = _object(event, "the event")
    event_type = event.get("event_type")
    if not isinstance(event_type, str):
        raise BadPayload("event_type must be a string")
    lock = _lock(connection, event.get("device_id"))
    if event_type == "connected_account.disconnected" or (
        event_type == "device.disconnected" and event.get("error_code") == SEAM_DISCONNECT_ACCOUNT
    ):
        connection_mark_disconnected(
            connection=connection, message="Seam reports the account disconnected"
        )
    elif event_type in ("device.connected", "device.disconnected"):
        if lock is not None:
            lock_state_report(lock=lock, online=event_type == "device.connected")
    elif event_type in ("device.low_battery", "device.battery_status_changed"):
        level = _percent(event.get("battery_level"), "battery_level", scale=100)
        if lock is not None and level is not None:
            lock_state_report(lock=lock, battery_level=level)
    elif event_type.startswith("access_code."):
        _codes_changed(lock, event.get("access_code_id"), event_type)


@csrf_exempt
@require_POST
def seam_webhook(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(connection_id, "seam")
    secret = (connection.credentials or {}).get("webhook_secret") if connection else None
    if connection is None or not secret:
        return HttpResponseForbidden("bad signature")
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        event = Webhook(secret).verify(request.body, headers)
    except WebhookVerificationError:
        return HttpResponseForbidden("bad signature")
    except ValueError as error:  # signed, but not JSON
        return _bad_request(BadPayload(str(error)))
    try:
        seam_event_apply(connection=connection, event=event)
    except BadPayload as error:
        return _bad_request(error)
    connection_webhook_received(connection=connection)
    arrivals.seam_entries_record(connection=connection, event=event)  # SPEC K5
    return HttpResponse(status=204)


# -- TTLock --


def _ttlock_battery(value) -> int | None:
    """electricQuantity of a record: a percentage; -1 or empty when it carries no reading."""
    if value in (None, "", -1, "-1"):
        return None
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit():
            raise BadPayload("electricQuantity must be a number")
        value = int(value)
    return _percent(value, "electricQuantity")


def ttlock_callback_read(data: dict) -> tuple[str, StateChange | None, str]:
    """Read a TTLock callback into (notifyType, the state it reports, the code id it names)."""
    notify_type = str(data.get("notifyType", ""))
    if notify_type == "1":
        try:
            records = json.loads(data.get("records") or "[]")
        except ValueError as error:
            raise BadPayload("records must be a JSON array") from error
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise BadPayload("records must be a JSON array of objects")
        levels = [r.get("electricQuantity") for r in records]
        # -1 or empty: the record carries no reading.
        levels = [
            _percent(level, "electricQuantity") for level in levels if level not in (None, -1)
        ]
        battery = levels[-1] if levels else None
        return notify_type, StateChange(online=True, battery_level=battery), ""
    if notify_type == "3":
        is_online = str(data.get("isOnline", ""))
        if is_online not in ("0", "1"):
            raise BadPayload("isOnline must be 0 or 1")
        return notify_type, StateChange(online=is_online == "1"), ""
    if notify_type == "4":
        return notify_type, None, str(data.get("objectId", ""))
    return notify_type, None, ""


def ttlock_callback_apply(*, data: dict) -> None:
    """Apply a TTLock callback to every connected lock with that lockId."""
    notify_type, change, code_id = ttlock_callback_read(data)
    locks = list(
        Lock.objects.filter(
            connection__vendor="ttlock",
            connection__state=LockConnection.State.CONNECTED,
            remote_id=str(data.get("lockId", "")),
        )
    )
    for lock in locks:
        connection_webhook_received(connection=lock.connection)
        if change is not None and (change.online is not None or change.battery_level is not None):
            if notify_type == "1" and change.battery_level is None:
                continue  # a record without a reading says nothing about the lock
            lock_state_report(lock=lock, online=change.online, battery_level=change.battery_level)
        elif notify_type == "4":
            _codes_changed(lock, code_id, "write_failed")


@csrf_exempt
@require_POST
def ttlock_webhook(request: HttpRequest) -> HttpResponse:
    expected = settings.TTLOCK_CALLBACK_TOKEN
    token = request.GET.get("token", "")
    if not expected or not hmac.compare_digest(expected, token):
        return HttpResponseForbidden("bad token")
    try:
        ttlock_callback_apply(data=request.POST.dict())
    except BadPayload as error:
        return _bad_request(error)
    arrivals.ttlock_entries_record(data=request.POST.dict())  # SPEC K5
    # TTLock retries until the body is exactly "success".
    return HttpResponse("success", content_type="text/plain")
