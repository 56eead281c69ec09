"""Seam specifics: per-device rate limits kept by the adapter, device-read capabilities,
and the backup-code pool."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.base import CodeSpec, Constraint, Feature, Reason, VendorError
from integrations.registry import adapter_for
from tests.factories import LockConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(host, fake_seam):
    return LockConnectionFactory(
        host=host, vendor="seam", name="Seam", credentials={"api_key": "seam_testkey_fake"}
    )


def window():
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    return {"starts_at": start, "ends_at": start + timedelta(days=3)}


def test_a_burst_of_200_creates_never_exceeds_ten_a_minute_on_one_device(
    fake_seam, connection, clock
):  # rule R3, vendors/README §3 rate limits
    device_id = fake_seam.add_device("Front door", capacity=1000, lengths=(6,))
    adapter = adapter_for(connection)
    told_to_wait = 0
    for number in range(200):
        wanted = CodeSpec(pin=str(300000 + number), name=f"Guest {number}", **window())
        while True:
            try:
                adapter.create_code(device_id, wanted)
                break
            except VendorError as error:
                assert error.reason == Reason.RATE_LIMITED
                assert 0 < error.retry_after <= 60
                told_to_wait += 1
                clock.shift(timedelta(seconds=error.retry_after))
    creates = sorted(fake_seam.create_log[device_id])
    assert len(creates) == 200
    assert fake_seam.rejected_429 == 0
    assert max(sum(1 for t in creates if start <= t < start + 60) for start in creates) == 10
    assert told_to_wait == 19


def test_the_rate_window_is_per_device(fake_seam, connection, clock):
    first = fake_seam.add_device("Front door", lengths=(6,))
    second = fake_seam.add_device("Back door", lengths=(6,))
    adapter = adapter_for(connection)
    for number in range(10):
        adapter.create_code(
            first, CodeSpec(pin=str(400000 + number), name=f"G{number}", **window())
        )
    with pytest.raises(VendorError):
        adapter.create_code(first, CodeSpec(pin="499999", name="One more", **window()))
    adapter.create_code(second, CodeSpec(pin="499999", name="One more", **window()))
    assert fake_seam.rejected_429 == 0


def test_capabilities_come_from_the_device(fake_seam, connection):
    device_id = fake_seam.add_device(
        "Yale", constraints=("no_zeros", "cannot_start_with_12"), lengths=(6, 8), capacity=50
    )
    fake_seam.devices[device_id]["properties"]["code_constraints"].append(
        {"constraint_type": "name_length", "max_length": 14}
    )
    info = adapter_for(connection).get_lock(device_id)
    assert info.capabilities.supported_code_lengths == (6, 8)
    assert info.capabilities.max_active_codes_supported == 50
    assert info.capabilities.code_constraints == {
        Constraint.NO_ZEROS,
        Constraint.CANNOT_START_WITH_12,
    }
    assert info.capabilities.name_max_length == 14


def test_a_device_with_a_backup_pool_gets_codes_that_can_pull_a_backup(
    fake_seam, connection, clock
):
    device_id = fake_seam.add_device("Schlage", backup_pool=True, lengths=(4, 6))
    adapter = adapter_for(connection)
    assert adapter.has(Feature.BACKUP_CODE_POOL)
    assert adapter.supports_backup_code_pool(device_id)
    created = adapter.create_code(device_id, CodeSpec(pin="482693", name="Ana", **window()))
    backup = adapter.pull_backup_code(created.remote_id)
    assert backup.remote_id != created.remote_id
    assert backup.pin and backup.pin != "482693"


def test_a_key_that_is_not_a_seam_key_is_a_disconnected_account(fake_seam, host):
    connection = LockConnectionFactory(host=host, vendor="seam", credentials={"api_key": "nope"})
    with pytest.raises(VendorError) as error:
        adapter_for(connection).list_locks()
    assert error.value.reason == Reason.ACCOUNT_DISCONNECTED


def test_a_code_seam_never_programs_is_left_out_and_replaced_by_the_next_create(
    fake_seam, connection, clock
):  # rules S7, R4
    device_id = fake_seam.add_device("Front door", lengths=(6,))
    adapter = adapter_for(connection)
    wanted = CodeSpec(pin="482693", name="Ana", **window())
    fake_seam.drop_next_writes = 1
    stuck = adapter.create_code(device_id, wanted)
    clock.shift(timedelta(minutes=5))
    assert [c.remote_id for c in adapter.list_codes(device_id)] == [stuck.remote_id]
    assert adapter.create_code(device_id, wanted).remote_id == stuck.remote_id  # still on its way
    clock.shift(timedelta(minutes=11))
    assert adapter.list_codes(device_id) == []
    fresh = adapter.create_code(device_id, wanted)
    assert fresh.remote_id != stuck.remote_id
    clock.shift(timedelta(minutes=1))
    assert [(c.remote_id, c.status) for c in adapter.list_codes(device_id)] == [
        (fresh.remote_id, "set")
    ]
