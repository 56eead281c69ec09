"""Vendor webhooks: a verified message updates lock state at once; anything else changes nothing."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from svix.webhooks import Webhook

from integrations.models import Lock, LockConnection
from integrations.webhooks import lock_codes_changed
from tests.factories import LockConnectionFactory

pytestmark = pytest.mark.django_db

NUKI_SECRET = "0123456789abcdef0123456789abcdef01234567"
SEAM_SECRET = "whsec_" + base64.b64encode(b"a-seam-webhook-secret-32-bytes!!").decode()


def lock_on(connection, remote_id="17000001", **fields):
    return Lock.objects.create(
        connection=connection, remote_id=remote_id, name="Front door", **fields
    )


@pytest.fixture
def nuki_lock(host):
    connection = LockConnectionFactory(
        host=host,
        vendor="nuki",
        name="Nuki",
        credentials={"api_token": "t", "webhook_secret": NUKI_SECRET},
    )
    return lock_on(connection, battery_level=90)


@pytest.fixture
def seam_lock(host):
    connection = LockConnectionFactory(
        host=host,
        vendor="seam",
        name="Seam",
        credentials={"api_key": "seam_k", "webhook_secret": SEAM_SECRET},
    )
    return lock_on(connection, remote_id="6f1c0a52-0000-4000-8000-000000000001", battery_level=90)


@pytest.fixture
def ttlock_lock(host, settings):
    settings.TTLOCK_CALLBACK_TOKEN = "callback-token"
    connection = LockConnectionFactory(host=host, vendor="ttlock", credentials={"username": "u"})
    return lock_on(connection, remote_id="3000001", battery_level=90)


@pytest.fixture
def code_events():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    lock_codes_changed.connect(receiver)
    yield received
    lock_codes_changed.disconnect(receiver)


def post_nuki(client, lock, payload, *, secret=NUKI_SECRET, signature=None):
    body = json.dumps(payload).encode()
    if signature is None:
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/webhooks/nuki/{lock.connection_id}/",
        data=body,
        content_type="application/json",
        headers={"X-Nuki-Signature-SHA256": signature},
    )


def status_payload(lock, *, server_state=0, battery=90):
    return {
        "feature": "DEVICE_STATUS",
        "smartlockId": int(lock.remote_id),
        "state": {"state": 1, "batteryCharge": battery, "batteryCritical": battery < 20},
        "serverState": server_state,
        "adminPinState": 0,
    }


def test_a_signed_nuki_status_marks_the_lock_offline_and_tells_the_host(client, nuki_lock):
    # rule L1, L2
    response = post_nuki(client, nuki_lock, status_payload(nuki_lock, server_state=4))
    assert response.status_code == 204
    nuki_lock.refresh_from_db()
    assert nuki_lock.online is False
    assert [m.subject for m in mail.outbox] == ["Front door is offline"]


def test_a_nuki_message_signed_with_another_secret_changes_nothing(client, nuki_lock):
    response = post_nuki(client, nuki_lock, status_payload(nuki_lock, server_state=4), secret="x")
    assert response.status_code == 403
    nuki_lock.refresh_from_db()
    assert nuki_lock.online is True
    assert mail.outbox == []


def test_a_nuki_message_without_a_signature_changes_nothing(client, nuki_lock):
    response = post_nuki(client, nuki_lock, status_payload(nuki_lock, battery=5), signature="")
    assert response.status_code == 403
    nuki_lock.refresh_from_db()
    assert nuki_lock.battery_level == 90


def test_a_nuki_auth_change_is_passed_to_the_engine(client, nuki_lock, code_events):
    payload = {"feature": "DEVICE_AUTHS", "smartlockId": int(nuki_lock.remote_id), "id": "abc"}
    assert post_nuki(client, nuki_lock, payload).status_code == 204
    [event] = code_events
    assert (event["lock"], event["code_remote_id"]) == (nuki_lock, "abc")


def post_seam(client, lock, event, *, secret=SEAM_SECRET, sent_at=None):
    body = json.dumps(event)
    sent_at = sent_at or timezone.now()
    signature = Webhook(secret).sign("msg_1", sent_at, body)
    return client.post(
        f"/webhooks/seam/{lock.connection_id}/",
        data=body,
        content_type="application/json",
        headers={
            "webhook-id": "msg_1",
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
        },
    )


def seam_event(lock, event_type, **fields):
    return {
        "event_id": "evt_1",
        "event_type": event_type,
        "workspace_id": "ws",
        "created_at": "2026-11-25T10:00:00Z",
        "occurred_at": "2026-11-25T10:00:00Z",
        "device_id": lock.remote_id,
        **fields,
    }


def test_a_signed_seam_low_battery_event_updates_the_battery_at_once(client, seam_lock):
    response = post_seam(
        client, seam_lock, seam_event(seam_lock, "device.low_battery", battery_level=0.12)
    )
    assert response.status_code == 204
    seam_lock.refresh_from_db()
    assert seam_lock.battery_level == 12
    assert [m.subject for m in mail.outbox] == ["Front door: battery low (12%)"]


def test_a_seam_event_with_a_bad_signature_changes_nothing(client, seam_lock):
    other = "whsec_" + base64.b64encode(b"another-secret-of-thirty-two-by!").decode()
    event = seam_event(seam_lock, "device.disconnected", error_code="device_disconnected")
    assert post_seam(client, seam_lock, event, secret=other).status_code == 403
    seam_lock.refresh_from_db()
    assert seam_lock.online is True


def test_a_replayed_old_seam_event_is_refused(client, seam_lock):
    event = seam_event(seam_lock, "device.disconnected", error_code="device_disconnected")
    sent_at = timezone.now() - timedelta(hours=1)
    assert post_seam(client, seam_lock, event, sent_at=sent_at).status_code == 403


def test_seam_account_disconnection_disconnects_the_connection(client, seam_lock):  # rule L3
    event = seam_event(seam_lock, "connected_account.disconnected")
    assert post_seam(client, seam_lock, event).status_code == 204
    seam_lock.connection.refresh_from_db()
    assert seam_lock.connection.state == LockConnection.State.DISCONNECTED
    assert len(mail.outbox) == 1


def test_seam_code_events_are_passed_to_the_engine(client, seam_lock, code_events):
    event = seam_event(seam_lock, "access_code.set_on_device", access_code_id="ac_1", code="4826")
    assert post_seam(client, seam_lock, event).status_code == 204
    assert [(e["code_remote_id"], e["event"]) for e in code_events] == [
        ("ac_1", "access_code.set_on_device")
    ]


def test_a_ttlock_callback_is_answered_success_and_updates_the_lock(client, ttlock_lock):
    response = client.post(
        "/webhooks/ttlock/?token=callback-token",
        data={"notifyType": "3", "lockId": ttlock_lock.remote_id, "isOnline": "0"},
    )
    assert (response.status_code, response.content) == (200, b"success")
    ttlock_lock.refresh_from_db()
    assert ttlock_lock.online is False


def test_ttlock_lock_records_carry_the_battery(client, ttlock_lock):
    records = json.dumps([{"recordType": 4, "success": 1, "electricQuantity": 64}])
    client.post(
        "/webhooks/ttlock/?token=callback-token",
        data={"notifyType": "1", "lockId": ttlock_lock.remote_id, "records": records},
    )
    ttlock_lock.refresh_from_db()
    assert ttlock_lock.battery_level == 64


def test_a_ttlock_callback_without_our_token_changes_nothing(client, ttlock_lock):
    response = client.post(
        "/webhooks/ttlock/?token=guess",
        data={"notifyType": "3", "lockId": ttlock_lock.remote_id, "isOnline": "0"},
    )
    assert response.status_code == 403
    ttlock_lock.refresh_from_db()
    assert ttlock_lock.online is True


# -- bodies with the wrong types: 400, and nothing changes --


def nuki_raw(client, lock, body: bytes):
    signature = hmac.new(NUKI_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/webhooks/nuki/{lock.connection_id}/",
        data=body,
        content_type="application/json",
        headers={"X-Nuki-Signature-SHA256": signature},
    )


def assert_unchanged(lock):
    lock.refresh_from_db()
    assert (lock.online, lock.battery_level) == (True, 90)
    assert mail.outbox == []
    assert lock.connection.__class__.objects.get(pk=lock.connection_id).last_webhook_at is None


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"DEVICE_STATUS"',
        b"not json",
        b'{"feature": "DEVICE_STATUS", "smartlockId": 17000001, "state": "abc"}',
        b'{"feature": "DEVICE_STATUS", "smartlockId": 17000001, "state": {"batteryCharge": "abc"}}',
        b'{"feature": "DEVICE_STATUS", "smartlockId": 17000001, "state": {"batteryCharge": -5}}',
        b'{"feature": "DEVICE_STATUS", "smartlockId": 17000001, "state": {"batteryCharge": 1e400}}',
        b'{"feature": "DEVICE_STATUS", "smartlockId": 17000001, "serverState": "4",'
        b' "state": {"batteryCharge": 5}}',
    ],
)
def test_a_signed_nuki_body_with_wrong_types_is_refused_and_changes_nothing(
    client, nuki_lock, body
):
    assert nuki_raw(client, nuki_lock, body).status_code == 400
    assert_unchanged(nuki_lock)


@pytest.mark.parametrize(
    "event",
    [
        ["device.low_battery"],
        {"event_type": 5},
        {"event_type": "device.low_battery", "battery_level": "abc"},
        {"event_type": "device.low_battery", "battery_level": -5},
        {"event_type": "device.low_battery", "battery_level": 1e400},
        {"event_type": "device.low_battery", "battery_level": True},
    ],
)
def test_a_signed_seam_event_with_wrong_types_is_refused_and_changes_nothing(
    client, seam_lock, event
):
    if isinstance(event, dict):
        event = {**event, "device_id": seam_lock.remote_id}
    assert post_seam(client, seam_lock, event).status_code == 400
    assert_unchanged(seam_lock)


@pytest.mark.parametrize(
    "data",
    [
        {"notifyType": "1", "records": "null"},
        {"notifyType": "1", "records": "5"},
        {"notifyType": "1", "records": "not json"},
        {"notifyType": "1", "records": '[{"electricQuantity": "abc"}]'},
        {"notifyType": "1", "records": '[{"electricQuantity": -5}]'},
        {"notifyType": "1", "records": '[{"electricQuantity": 1e400}]'},
        {"notifyType": "1", "records": '["x"]'},
        {"notifyType": "3", "isOnline": "maybe"},
    ],
)
def test_a_ttlock_callback_with_wrong_types_is_refused_and_changes_nothing(
    client, ttlock_lock, data
):
    response = client.post(
        "/webhooks/ttlock/?token=callback-token", data={**data, "lockId": ttlock_lock.remote_id}
    )
    assert response.status_code == 400
    assert_unchanged(ttlock_lock)


def test_a_verified_webhook_is_shown_as_the_last_one_that_arrived(client, nuki_lock):
    assert post_nuki(client, nuki_lock, status_payload(nuki_lock)).status_code == 204
    nuki_lock.connection.refresh_from_db()
    assert nuki_lock.connection.last_webhook_at is not None
