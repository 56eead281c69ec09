"""Vendor webhooks: verify the sender, then update lock state at once (SPEC L1).

Nuki signs the raw body with HMAC-SHA256 (`X-Nuki-Signature-SHA256`, per-connection secret);
Seam signs with Svix (`webhook-id`/`webhook-timestamp`/`webhook-signature`, `whsec_…` secret);
TTLock does not sign its callback, so its URL carries a token of ours and it must be answered
with the raw body `success`. A request that fails verification changes nothing.

Code changes reported by a vendor are passed on through the `lock_codes_changed` signal; the
engine connects a receiver that follows the code up at once instead of at the next poll.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from svix.webhooks import Webhook, WebhookVerificationError

from integrations.health import lock_state_report
from integrations.models import Lock, LockConnection
from integrations.services import connection_mark_disconnected

logger = logging.getLogger(__name__)

# Sent with lock=<Lock>, code_remote_id=<str, "" when the vendor did not say>, event=<str>.
lock_codes_changed = Signal()

NUKI_OFFLINE = 4
SEAM_DISCONNECT_ACCOUNT = "account_disconnected"


def _connection(connection_id: int, vendor: str) -> LockConnection | None:
    return (
        LockConnection.objects.filter(pk=connection_id, vendor=vendor)
        .select_related("host")
        .first()
    )


def _lock(connection: LockConnection, remote_id) -> Lock | None:
    if remote_id is None:
        return None
    return connection.locks.filter(remote_id=str(remote_id)).first()


def _codes_changed(lock: Lock | None, code_remote_id, event: str) -> None:
    if lock is not None:
        lock_codes_changed.send(
            sender=Lock, lock=lock, code_remote_id=str(code_remote_id or ""), event=event
        )


# -- Nuki --


def nuki_signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(signature) and hmac.compare_digest(expected, signature.strip().lower())


def nuki_event_apply(*, connection: LockConnection, payload: dict) -> None:
    """Apply a verified Nuki decentral-webhook payload."""
    feature = payload.get("feature")
    lock = _lock(connection, payload.get("smartlockId"))
    if feature == "DEVICE_STATUS" and lock is not None:
        state = payload.get("state") or {}
        battery = state.get("batteryCharge")
        if battery is None and state.get("batteryCritical"):
            battery = 10
        server_state = payload.get("serverState")
        lock_state_report(
            lock=lock,
            online=None if server_state is None else server_state != NUKI_OFFLINE,
            battery_level=battery,
        )
    elif feature == "DEVICE_AUTHS":
        _codes_changed(lock, payload.get("id") or payload.get("authId"), "auths_changed")


@csrf_exempt
@require_POST
def nuki_webhook(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(connection_id, "nuki")
    secret = (connection.credentials or {}).get("webhook_secret") if connection else None
    signature = request.headers.get("X-Nuki-Signature-SHA256", "")
    if not secret or not nuki_signature_valid(
        secret=secret, body=request.body, signature=signature
    ):
        return HttpResponseForbidden("bad signature")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponse("not JSON", status=400)
    nuki_event_apply(connection=connection, payload=payload)
    return HttpResponse(status=204)


# -- Seam --


def seam_event_apply(*, connection: LockConnection, event: dict) -> None:
    """Apply a verified Seam event (the webhook body is the event object)."""
    event_type = str(event.get("event_type", ""))
    lock = _lock(connection, event.get("device_id"))
    if event_type == "connected_account.disconnected" or (
        event_type == "device.disconnected" and event.get("error_code") == SEAM_DISCONNECT_ACCOUNT
    ):
        connection_mark_disconnected(
            connection=connection, message="Seam reports the account disconnected"
        )
    elif event_type in ("device.connected", "device.disconnected") and lock is not None:
        lock_state_report(lock=lock, online=event_type == "device.connected")
    elif event_type in ("device.low_battery", "device.battery_status_changed") and lock is not None:
        level = event.get("battery_level")
        if level is not None:
            lock_state_report(lock=lock, battery_level=round(float(level) * 100))
    elif event_type.startswith("access_code."):
        _codes_changed(lock, event.get("access_code_id"), event_type)


@csrf_exempt
@require_POST
def seam_webhook(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = _connection(connection_id, "seam")
    secret = (connection.credentials or {}).get("webhook_secret") if connection else None
    if not secret:
        return HttpResponseForbidden("bad signature")
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        event = Webhook(secret).verify(request.body, headers)
    except WebhookVerificationError:
        return HttpResponseForbidden("bad signature")
    if not isinstance(event, dict):
        return HttpResponse("not an event", status=400)
    seam_event_apply(connection=connection, event=event)
    return HttpResponse(status=204)


# -- TTLock --


def ttlock_callback_apply(*, data: dict) -> None:
    """Apply a TTLock callback to every connected lock with that lockId."""
    notify_type = str(data.get("notifyType", ""))
    locks = list(
        Lock.objects.filter(
            connection__vendor="ttlock",
            connection__state=LockConnection.State.CONNECTED,
            remote_id=str(data.get("lockId", "")),
        )
    )
    for lock in locks:
        if notify_type == "1":
            try:
                records = json.loads(data.get("records") or "[]")
            except ValueError:
                records = []
            levels = [r.get("electricQuantity") for r in records if isinstance(r, dict)]
            levels = [int(level) for level in levels if level not in (None, "", -1)]
            if levels:
                lock_state_report(lock=lock, online=True, battery_level=levels[-1])
        elif notify_type == "3":
            lock_state_report(lock=lock, online=str(data.get("isOnline")) == "1")
        elif notify_type == "4":
            _codes_changed(lock, data.get("objectId"), "write_failed")


@csrf_exempt
@require_POST
def ttlock_webhook(request: HttpRequest) -> HttpResponse:
    expected = settings.TTLOCK_CALLBACK_TOKEN
    token = request.GET.get("token", "")
    if not expected or not hmac.compare_digest(expected, token):
        return HttpResponseForbidden("bad token")
    ttlock_callback_apply(data=request.POST.dict())
    # TTLock retries until the body is exactly "success".
    return HttpResponse("success", content_type="text/plain")
