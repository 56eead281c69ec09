"""The simulator vendor behaves like a real vendor seen through the adapter interface."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.base import CodeSpec, CodeStatus, Constraint, Reason, VendorError
from integrations.models import SimulatedDevice
from integrations.registry import ADAPTERS, adapter_for
from tests.factories import LockFactory, SimulatedCodeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lock():
    return LockFactory()


@pytest.fixture
def device(lock):
    return SimulatedDevice.objects.get(device_id=lock.remote_id)


@pytest.fixture
def adapter(lock):
    return adapter_for(lock.connection)


def spec(pin="4826", name="Ana Silva", days=3):
    start = timezone.now() + timedelta(days=1)
    return CodeSpec(pin=pin, name=name, starts_at=start, ends_at=start + timedelta(days=days))


def test_the_registry_offers_the_simulator():
    assert "simulator" in ADAPTERS


def test_lists_the_accounts_locks_with_state_and_capabilities(adapter, device):
    device.battery_level = 23
    device.code_constraints = [Constraint.NO_ZEROS]
    device.save()
    [info] = adapter.list_locks()
    assert info.remote_id == device.device_id
    assert info.battery_level == 23
    assert Constraint.NO_ZEROS in info.capabilities.code_constraints


def test_create_then_list_shows_the_code(adapter, lock):
    created = adapter.create_code(lock.remote_id, spec())
    assert created.status == CodeStatus.SET
    [listed] = adapter.list_codes(lock.remote_id)
    assert (listed.remote_id, listed.pin, listed.name) == (created.remote_id, "4826", "Ana Silva")


def test_asynchronous_confirmation_keeps_the_code_setting_until_the_lock_confirms(
    adapter, lock, device
):  # rule S6
    device.confirm_delay_seconds = 30
    device.save()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        created = adapter.create_code(lock.remote_id, spec())
        assert created.status == CodeStatus.SETTING
        assert adapter.list_codes(lock.remote_id)[0].status == CodeStatus.SETTING
        traveller.shift(timedelta(seconds=31))
        assert adapter.list_codes(lock.remote_id)[0].status == CodeStatus.SET


def test_offline_lock_refuses_writes(adapter, lock, device):
    device.online = False
    device.save()
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, spec())
    assert error.value.reason == Reason.LOCK_OFFLINE
    assert error.value.retryable


def test_duplicate_pin_is_refused_even_against_a_code_made_by_hand(adapter, lock, device):
    SimulatedCodeFactory(device=device, pin="4826", name="Cleaner")
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, spec(pin="4826"))
    assert error.value.reason == Reason.DUPLICATE_CODE


def test_duplicate_name_is_refused_where_names_must_be_unique(adapter, lock, device):
    device.name_must_be_unique = True
    device.save()
    adapter.create_code(lock.remote_id, spec(pin="4826", name="Ana Silva"))
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, spec(pin="5937", name="Ana Silva"))
    assert error.value.reason == Reason.DUPLICATE_NAME


def test_pin_breaking_the_lock_rules_is_rejected(adapter, lock, device):
    device.supported_code_lengths = [6]
    device.code_constraints = [Constraint.NO_ZEROS, Constraint.CANNOT_START_WITH_12]
    device.save()
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, spec(pin="120456"))
    assert error.value.reason == Reason.REJECTED
    assert not error.value.retryable


def test_full_lock_refuses_with_lock_full(adapter, lock, device):
    device.capacity = 1
    device.save()
    adapter.create_code(lock.remote_id, spec(pin="4826"))
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, spec(pin="5937", name="Bo"))
    assert error.value.reason == Reason.LOCK_FULL


def test_fault_plan_fails_the_next_n_writes_then_recovers(adapter, lock, device):
    device.fault_count, device.fault_reason = 2, Reason.VENDOR_ERROR
    device.save()
    for _ in range(2):
        with pytest.raises(VendorError) as error:
            adapter.create_code(lock.remote_id, spec())
        assert error.value.reason == Reason.VENDOR_ERROR
    adapter.create_code(lock.remote_id, spec())
    assert len(adapter.list_codes(lock.remote_id)) == 1


def test_timeout_after_applying_leaves_the_code_on_the_lock(adapter, lock, device):  # rule R4
    device.fault_count, device.fault_reason = 1, Reason.TIMEOUT
    device.fault_mode = SimulatedDevice.FaultMode.TIMEOUT_APPLIED
    device.save()
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, spec())
    assert error.value.reason == Reason.TIMEOUT
    assert [code.pin for code in adapter.list_codes(lock.remote_id)] == ["4826"]


def test_acknowledged_write_that_never_arrives_is_not_listed(adapter, lock, device):  # rule S7
    device.fault_count, device.fault_reason = 1, Reason.VENDOR_ERROR
    device.fault_mode = SimulatedDevice.FaultMode.ACK_NEVER_APPLIED
    device.save()
    created = adapter.create_code(lock.remote_id, spec())
    assert created.remote_id
    assert adapter.list_codes(lock.remote_id) == []


def test_update_changes_window_and_delete_removes(adapter, lock):
    created = adapter.create_code(lock.remote_id, spec())
    longer = spec(days=5)
    adapter.update_code(lock.remote_id, created.remote_id, longer)
    [listed] = adapter.list_codes(lock.remote_id)
    assert listed.ends_at == longer.ends_at
    adapter.delete_code(lock.remote_id, created.remote_id)
    assert adapter.list_codes(lock.remote_id) == []


def test_permanent_only_lock_ignores_the_window(adapter, lock, device):  # rule W2
    device.time_bound_codes = False
    device.save()
    adapter.create_code(lock.remote_id, spec())
    [listed] = adapter.list_codes(lock.remote_id)
    assert listed.starts_at is None and listed.ends_at is None
    assert adapter.lead_time(device.capability_record()) == timedelta(minutes=10)


def test_revoked_account_fails_with_account_disconnected(adapter, lock, device):  # rule L3
    device.account.revoked = True
    device.account.save()
    with pytest.raises(VendorError) as error:
        adapter.list_locks()
    assert error.value.reason == Reason.ACCOUNT_DISCONNECTED


def test_with_a_call_log_each_call_records_its_start_and_end_but_never_the_pin(
    adapter, lock, device, settings, tmp_path
):  # rule S5: the real-process tests check calls on one lock never overlap with this log
    log = tmp_path / "calls.jsonl"
    settings.SIMULATOR_CALL_LOG = str(log)
    adapter.create_code(lock.remote_id, spec(pin="4826", name="Ana Silva"))
    device.online = False
    device.save()
    with pytest.raises(VendorError):
        adapter.list_codes(lock.remote_id)

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["event"], e.get("op"), e.get("outcome")) for e in entries] == [
        ("start", "create_code", None),
        ("end", None, "ok"),
        ("start", "list_codes", None),
        ("end", None, "lock_offline"),
    ]
    assert entries[0]["call"] == entries[1]["call"] != entries[2]["call"]
    assert entries[0]["lock"] == lock.remote_id
    assert entries[0]["name"] == "Ana Silva"
    assert entries[0]["t"] <= entries[1]["t"] <= entries[2]["t"]
    assert "4826" not in log.read_text()
