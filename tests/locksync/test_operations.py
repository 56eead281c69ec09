"""What an operator watches: /healthz, /metrics, Sentry reports without PINs, JSON logs."""

import json
import logging
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accesscodes.models import LockCode
from locksync.monitoring import BEAT_HEARTBEAT_KEY, JsonFormatter, sentry_before_send
from messaging.models import ScheduledMessage
from tests.factories import LockCodeFactory, ReservationFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def beat_ticked():
    cache.set(BEAT_HEARTBEAT_KEY, time.time(), timeout=None)
    yield
    cache.delete(BEAT_HEARTBEAT_KEY)


def test_healthz_is_200_when_database_cache_broker_and_beat_are_fine(client, beat_ticked):
    response = client.get("/healthz", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    checks = response.json()
    assert set(checks.values()) == {"OK"}
    assert any(name.startswith("Database") for name in checks)
    assert any(name.startswith("Cache") for name in checks)
    assert any(name.startswith("Broker") for name in checks)
    assert any(name.startswith("BeatHeartbeat") for name in checks)


def test_healthz_fails_naming_beat_when_beat_has_not_ticked_for_five_minutes(client):
    cache.set(BEAT_HEARTBEAT_KEY, time.time() - 301, timeout=None)
    response = client.get("/healthz", HTTP_ACCEPT="application/json")
    assert response.status_code == 500
    beat = next(value for name, value in response.json().items() if "Beat" in name)
    assert "beat last ticked 301 s ago" in beat
    cache.set(BEAT_HEARTBEAT_KEY, time.time() - 290, timeout=None)
    assert client.get("/healthz", HTTP_ACCEPT="application/json").status_code == 200


def test_healthz_fails_when_the_broker_cannot_be_reached(client, beat_ticked, settings):
    from locksync.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    try:
        response = client.get("/healthz", HTTP_ACCEPT="application/json")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 500
    broker = next(value for name, value in response.json().items() if "Broker" in name)
    assert "broker cannot be reached" in broker


def test_beat_records_its_tick_for_healthz(tmp_path):
    from locksync.celery import app
    from locksync.monitoring import HeartbeatScheduler

    assert app.conf.beat_scheduler == "locksync.monitoring:HeartbeatScheduler"
    cache.delete(BEAT_HEARTBEAT_KEY)
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "beat"))
    try:
        scheduler.tick()
    finally:
        scheduler.close()
    assert time.time() - cache.get(BEAT_HEARTBEAT_KEY) < 5


def test_metrics_refuse_a_client_without_the_token_or_an_allowed_network(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_metrics_are_served_to_an_allowed_network(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert client.get("/metrics").status_code == 200
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403


def metric(text: str, line_start: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(line_start))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_report_codes_failures_sweep_lag_and_held_messages(client, settings):
    settings.METRICS_TOKEN = TOKEN
    now = timezone.now()
    LockCodeFactory(state=LockCode.State.SET)
    LockCodeFactory(
        state=LockCode.State.FAILED,
        last_error="lock_offline",
        next_attempt_at=now - timedelta(minutes=7),
        lock__connection__vendor="nuki",
    )
    ScheduledMessage.objects.create(
        reservation=ReservationFactory(), state=ScheduledMessage.State.HELD
    )
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    text = response.content.decode()
    assert metric(text, 'locksync_lock_codes{state="set"}') == 1
    assert metric(text, 'locksync_lock_codes{state="failed"}') == 1
    assert metric(text, 'locksync_lock_code_failures{reason="lock_offline",vendor="nuki"}') == 1
    assert 419 < metric(text, 'locksync_sweep_lag_seconds{sweep="codes"}') < 430
    assert metric(text, 'locksync_sweep_lag_seconds{sweep="messages"}') == 0
    assert metric(text, "locksync_messages_held ") == 1
    assert "locksync_queue_length" in text


@pytest.mark.redis
def test_metrics_report_the_length_of_each_celery_queue(client, settings):
    from locksync.celery import app

    settings.METRICS_TOKEN = TOKEN
    previous = app.conf.broker_url
    app.conf.broker_url = settings.TEST_REDIS_URL
    try:
        with app.connection_for_write() as connection:
            for queue in settings.CELERY_QUEUE_NAMES:
                connection.default_channel.client.delete(queue)
            connection.default_channel.client.rpush("feeds", "{}", "{}")
        text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        with app.connection_for_write() as connection:
            connection.default_channel.client.delete("feeds")
    finally:
        app.conf.broker_url = previous
    assert metric(text, 'locksync_queue_length{queue="feeds"}') == 2
    assert metric(text, 'locksync_queue_length{queue="celery"}') == 0


def test_sentry_reports_have_pins_masked():
    event = {
        "event_id": "0123456789abcdef",
        "timestamp": "2026-11-26T12:00:00Z",
        "message": "could not set 482613 on the lock",
        "exception": {"values": [{"type": "VendorError", "value": "PIN 482613 refused"}]},
        "breadcrumbs": {"values": [{"message": "vendor call with code 482613"}]},
        "request": {"data": {"pin": "482613"}, "query_string": "code=482613"},
        "extra": {"pins": ["482613", "7391"]},
    }
    scrubbed = json.dumps(sentry_before_send(event, {}))
    assert "482613" not in scrubbed and "7391" not in scrubbed
    assert event["timestamp"] == "2026-11-26T12:00:00Z"
    assert event["event_id"] == "0123456789abcdef"


def test_sentry_sends_errors_without_pins_when_a_dsn_is_set():
    import sentry_sdk
    from sentry_sdk.transport import Transport

    sent = []

    class Capture(Transport):
        def capture_envelope(self, envelope):
            sent.append(envelope.serialize().decode())

    from locksync.monitoring import sentry_init

    sentry_init(dsn="https://key@sentry.example/1", environment="test", transport=Capture)
    try:
        try:
            raise ValueError("the lock refused PIN 482613")
        except ValueError:
            sentry_sdk.capture_exception()
        sentry_sdk.flush()
    finally:
        sentry_sdk.init(dsn=None)
    assert sent and "the lock refused PIN" in sent[0]
    assert "482613" not in "".join(sent)


def test_json_log_lines_carry_message_level_and_extra_fields():
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "hello %s", "args": ("world",), "lock": "7"}
    )
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["level"], line["lock"]) == ("hello world", "INFO", "7")


def test_log_format_json_makes_every_log_line_a_json_object():
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('integrations.http').info('vendor call', extra={'vendor': 'nuki'})"
    )
    environment = {**os.environ, "LOG_FORMAT": "json"}
    environment["DJANGO_SETTINGS_MODULE"] = "locksync.settings.local"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    call = next(line for line in lines if line["logger"] == "integrations.http")
    assert (call["message"], call["vendor"], call["level"]) == ("vendor call", "nuki", "INFO")
