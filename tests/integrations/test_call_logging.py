"""One log line per vendor call: lock, vendor, operation, outcome, ms, and never a PIN."""

import json
import logging
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.base import CodeSpec
from locksync.metrics import LocksyncCollector
from locksync.monitoring import JsonFormatter
from tests.integrations import harness

pytestmark = pytest.mark.django_db

PIN = "358946"


@pytest.fixture
def nuki_lock(host, fake_nuki):
    return harness.NukiHarness(host, fake_nuki)


def create_code(nuki_lock) -> None:
    start = timezone.now() + timedelta(days=1)
    spec = CodeSpec(pin=PIN, name="Ada", starts_at=start, ends_at=start + timedelta(days=2))
    nuki_lock.adapter.create_code(nuki_lock.lock_id, spec)


def test_each_vendor_call_logs_its_lock_vendor_operation_outcome_and_duration(nuki_lock, caplog):
    caplog.set_level(logging.INFO, logger="integrations.http")
    create_code(nuki_lock)
    calls = [r for r in caplog.records if r.getMessage().startswith("vendor call")]
    assert calls
    writes = [r for r in calls if r.operation == "create_code"]
    assert writes, [r.getMessage() for r in calls]
    line = writes[0]
    assert (line.lock, line.vendor, line.outcome) == (nuki_lock.lock_id, "nuki", "204")
    assert isinstance(line.ms, int) and line.ms >= 0
    assert f"lock={nuki_lock.lock_id} vendor=nuki operation=create_code" in line.getMessage()
    for record in caplog.records:
        assert PIN not in record.getMessage()
        assert PIN not in JsonFormatter().format(record)


def test_a_vendor_call_log_line_is_one_json_object_with_its_fields(nuki_lock, caplog):
    caplog.set_level(logging.INFO, logger="integrations.http")
    create_code(nuki_lock)
    record = next(r for r in caplog.records if getattr(r, "operation", "") == "create_code")
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO" and line["logger"] == "integrations.http"
    assert {key: line[key] for key in ("lock", "vendor", "operation")} == {
        "lock": nuki_lock.lock_id,
        "vendor": "nuki",
        "operation": "create_code",
    }
    assert isinstance(line["ms"], int)


def test_an_unreachable_vendor_is_logged_as_a_failed_call(nuki_lock, settings, caplog):
    settings.NUKI_API_URL = "http://127.0.0.1:9"
    caplog.set_level(logging.INFO, logger="integrations.http")
    with pytest.raises(Exception):  # noqa: B017 — the adapter's VendorError
        nuki_lock.adapter.list_codes(nuki_lock.lock_id)
    line = next(r for r in caplog.records if r.getMessage().startswith("vendor call"))
    assert (line.operation, line.outcome, line.levelname) == (
        "list_codes",
        "connection_failed",
        "WARNING",
    )


def test_vendor_call_durations_reach_the_latency_histogram(nuki_lock, caplog):
    caplog.set_level(logging.INFO, logger="integrations.http")
    cache.clear()
    create_code(nuki_lock)
    calls = [r for r in caplog.records if r.getMessage().startswith("vendor call")]
    families = {family.name: family for family in LocksyncCollector().collect()}
    samples = families["locksync_vendor_call_seconds"].samples
    count = next(s for s in samples if s.name.endswith("_count") and s.labels["vendor"] == "nuki")
    assert count.value == len(calls)


def test_sdk_based_adapters_log_their_calls_through_httpx_hooks(fake_seam, settings, caplog):
    import httpx

    from integrations.http import vendor_httpx_event_hooks

    caplog.set_level(logging.INFO, logger="integrations.http")
    with httpx.Client(event_hooks=vendor_httpx_event_hooks("seam")) as client:
        client.post(f"{settings.SEAM_API_URL}/devices/list", json={})
    line = next(r for r in caplog.records if r.getMessage().startswith("vendor call"))
    assert (line.vendor, line.operation) == ("seam", "POST /devices/list")
    assert line.outcome.isdigit() and line.ms >= 0


def test_seam_calls_through_its_sdk_are_logged_too_without_the_pin(host, fake_seam, caplog):
    seam_lock = harness.SeamHarness(host, fake_seam)
    caplog.set_level(logging.INFO, logger="integrations.http")
    create_code(seam_lock)
    writes = [r for r in caplog.records if getattr(r, "operation", "") == "create_code"]
    assert writes and writes[0].vendor == "seam"
    assert writes[0].outcome == "200" and writes[0].lock == seam_lock.lock_id
    assert all(PIN not in record.getMessage() for record in caplog.records)
