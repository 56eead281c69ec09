"""Seam specifics, each against the fake behaving as docs.seam.co describes: per-device rate
limits and Retry-After, device kinds, device-read capabilities (vendor-chosen PINs), battery,
`unset` codes waiting for their programming time, and offline devices."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.base import CodeSpec, Constraint, Reason, VendorError
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


def test_seam_s_backup_pool_is_left_alone_because_locksync_keeps_its_own(
    fake_seam, connection, clock
):  # rule H3: backup codes are locksync's own, on every vendor
    device_id = fake_seam.add_device("Schlage", backup_pool=True, lengths=(4, 6))
    adapter = adapter_for(connection)
    created = adapter.create_code(device_id, CodeSpec(pin="482693", name="Ana", **window()))
    assert fake_seam.codes[created.remote_id]["is_backup_access_code_available"] is False


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


def test_only_devices_that_take_access_codes_become_locks(fake_seam, connection):
    front = fake_seam.add_device("Front door")
    fake_seam.add_other_device("Hallway thermostat", "ecobee_thermostat")
    fake_seam.add_other_device("Living room noise", "minut_sensor")
    assert [lock.remote_id for lock in adapter_for(connection).list_locks()] == [front]


def test_a_device_taking_only_offline_codes_is_a_lock_too(fake_seam, connection):
    padlock = fake_seam.add_device("Shed padlock", device_type="igloohome_lock")
    fake_seam.devices[padlock]["can_program_online_access_codes"] = False
    fake_seam.devices[padlock]["can_program_offline_access_codes"] = True
    assert [lock.remote_id for lock in adapter_for(connection).list_locks()] == [padlock]


def test_a_429_is_answered_with_seams_own_retry_after(fake_seam, connection):  # rule R3
    device_id = fake_seam.add_device("Front door", lengths=(6,))
    fake_seam.rate_limited, fake_seam.retry_after = True, 17
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(device_id, CodeSpec("482693", "Ana", **window()))
    assert (error.value.reason, error.value.retry_after) == (Reason.RATE_LIMITED, 17)


def test_battery_is_read_from_battery_level_or_from_battery_dot_level(fake_seam, connection):
    device_id = fake_seam.add_device("Front door")
    del fake_seam.devices[device_id]["properties"]["battery_level"]
    fake_seam.set_battery(device_id, 0.34)
    assert adapter_for(connection).get_lock(device_id).battery_level == 34


def test_a_code_seam_holds_unset_until_its_programming_time_is_healthy_not_failed(
    fake_seam, connection, clock
):  # engine: accepted, not yet on the lock; failed only if not set by the window start
    device_id = fake_seam.add_device("Kwikset", scheduling="just_in_time", lengths=(6,))
    adapter = adapter_for(connection)
    wanted = CodeSpec(pin="482693", name="Ana", **window())
    created = adapter.create_code(device_id, wanted)
    assert (created.status, created.error) == ("unset", None)
    clock.shift(timedelta(hours=20))  # far beyond the 15 minutes a `setting` code gets
    [listed] = adapter.list_codes(device_id)
    assert (listed.remote_id, listed.status, listed.error) == (created.remote_id, "unset", None)
    assert fake_seam.codes[created.remote_id]["is_scheduled_on_device"] is False
    # A retry finds the same code, never a second one.
    assert adapter.create_code(device_id, wanted).remote_id == created.remote_id
    clock.move_to(wanted.starts_at - timedelta(minutes=25))
    [programmed] = adapter.list_codes(device_id)
    assert (programmed.status, programmed.error) == ("set", None)


def test_a_natively_scheduled_code_is_on_the_lock_while_seam_still_says_unset(
    fake_seam, connection, clock
):
    device_id = fake_seam.add_device("August", lengths=(6,))
    adapter = adapter_for(connection)
    adapter.create_code(device_id, CodeSpec(pin="482693", name="Ana", **window()))
    clock.shift(timedelta(minutes=1))
    [stored] = fake_seam.device_codes(device_id)
    assert (stored["status"], stored["is_scheduled_on_device"]) == ("unset", True)
    assert adapter.list_codes(device_id)[0].status == "set"


def test_an_error_seam_reports_on_an_unset_code_is_a_failure(fake_seam, connection, clock):
    device_id = fake_seam.add_device("August", lengths=(6,))
    fake_seam.add_code_by_hand(device_id, code="482693", name="Cleaner")
    adapter = adapter_for(connection)
    adapter.create_code(device_id, CodeSpec(pin="482693", name="Ana", **window()))
    clock.shift(timedelta(minutes=1))
    [ours] = [c for c in adapter.list_codes(device_id) if c.name == "Ana"]
    assert (ours.status, ours.error) == ("unset", Reason.DUPLICATE_CODE)


@pytest.mark.parametrize(
    ("error_code", "online_flag", "copied"),
    [
        ("device_offline", True, True),
        ("device_offline", True, False),
        ("device_disconnected", False, False),
    ],
)
def test_codes_of_an_offline_device_are_lock_offline_whether_or_not_seam_copied_the_error(
    fake_seam, connection, clock, error_code, online_flag, copied
):  # rule R2
    device_id = fake_seam.add_device("Front door", lengths=(6,))
    fake_seam.copy_device_errors = copied
    fake_seam.set_offline(device_id, error_code=error_code, online_flag=online_flag)
    adapter = adapter_for(connection)
    assert adapter.get_lock(device_id).online is False
    adapter.create_code(device_id, CodeSpec(pin="482693", name="Ana", **window()))
    clock.shift(timedelta(minutes=1))
    [listed] = adapter.list_codes(device_id)
    assert listed.error == Reason.LOCK_OFFLINE
    assert listed.status != "set"


def test_an_unset_code_waiting_on_an_offline_device_is_lock_offline(fake_seam, connection, clock):
    device_id = fake_seam.add_device("Kwikset", scheduling="just_in_time", lengths=(6,))
    adapter = adapter_for(connection)
    adapter.create_code(device_id, CodeSpec(pin="482693", name="Ana", **window()))
    fake_seam.set_offline(device_id)
    [listed] = adapter.list_codes(device_id)
    assert (listed.status, listed.error) == ("unset", Reason.LOCK_OFFLINE)


def test_a_device_that_chooses_its_own_pins_gets_codes_without_one(
    fake_seam, connection, clock, settings
):  # rule P6: the engine keeps the PIN the vendor returns as this lock's PIN
    device_id = fake_seam.add_device(
        "Lockly", constraints=("cannot_specify_pin_code",), lengths=(6,)
    )
    adapter = adapter_for(connection)
    capabilities = adapter.get_lock(device_id).capabilities
    assert capabilities.pin_chosen_by_vendor is True
    assert "cannot_specify_pin_code" not in capabilities.code_constraints
    created = adapter.create_code(device_id, CodeSpec(pin="", name="Ana", **window()))
    [stored] = fake_seam.device_codes(device_id)
    assert created.pin == stored["code"]
    assert len(created.pin) == 6
    # A create repeated after a lost answer finds that code instead of making a second one.
    assert adapter.create_code(device_id, CodeSpec(pin="", name="Ana", **window())) == created
    assert len(fake_seam.device_codes(device_id)) == 1
    with pytest.raises(VendorError) as refused:
        adapter.create_code(device_id, CodeSpec(pin="482693", name="Bo", **window()))
    assert refused.value.reason == Reason.REJECTED


def test_registers_a_webhook_and_returns_its_signing_secret(fake_seam, connection):
    adapter = adapter_for(connection)
    webhook_id, secret = adapter.webhook_register("https://locksync.example/webhooks/seam/1/")
    assert secret.startswith("whsec_")
    assert fake_seam.webhooks[webhook_id]["url"] == "https://locksync.example/webhooks/seam/1/"
    assert "access_code.set_on_device" in fake_seam.webhooks[webhook_id]["event_types"]
    adapter.webhook_unregister(webhook_id)
    assert fake_seam.webhooks == {}
    adapter.webhook_unregister(webhook_id)  # already gone is fine


def test_a_code_scheduled_at_seam_says_so_on_the_lock_page_and_in_the_api(
    fake_seam, host, host_user, client, clock
):
    from integrations.connections import connection_create
    from tests.api.conftest import client_for

    device_id = fake_seam.add_device("Kwikset", scheduling="just_in_time", lengths=(6,))
    connection = connection_create(
        host=host, vendor="seam", credentials={"api_key": "seam_testkey_fake"}
    )
    lock = connection.locks.get()
    adapter_for(connection).create_code(device_id, CodeSpec(pin="482693", name="Ana", **window()))
    client.force_login(host_user)
    assert "scheduled at the vendor" in client.get(f"/locks/{lock.pk}/").content.decode()
    [row] = client_for(host_user).get(f"/api/v1/locks/{lock.pk}/codes/").json()
    assert (row["status"], row["status_label"], row["error"]) == (
        "unset",
        "scheduled at the vendor",
        None,
    )


@pytest.mark.parametrize(
    ("action", "limit"), [("create", 10), ("update", 10), ("delete", 20)], ids=str
)
def test_the_fake_answers_429_itself_when_a_devices_window_is_outrun(
    fake_seam, connection, clock, monkeypatch, action, limit
):  # rule R3, vendors/README §3: the fake catches what our own throttle would let through
    from integrations.seam import SeamAdapter

    device_id = fake_seam.add_device("Front door", capacity=1000, lengths=(6,))
    adapter = adapter_for(connection)
    monkeypatch.setattr(SeamAdapter, "_throttle", staticmethod(lambda device_id, action: None))
    monkeypatch.setitem(fake_seam.limits, "create", 1000)  # the codes to update or delete
    codes = [
        adapter.create_code(device_id, CodeSpec(str(500000 + n), f"G{n}", **window())).remote_id
        for n in range(limit + 1 if action != "create" else 0)
    ]
    monkeypatch.undo()
    monkeypatch.setattr(SeamAdapter, "_throttle", staticmethod(lambda device_id, action: None))
    clock.shift(timedelta(seconds=60))

    def write(n: int) -> None:
        spec = CodeSpec(str(600000 + n), f"H{n}", **window())
        if action == "create":
            adapter.create_code(device_id, spec)
        elif action == "update":
            adapter.update_code(device_id, codes[n], spec)
        else:
            adapter.delete_code(device_id, codes[n])

    for n in range(limit):
        write(n)
        clock.shift(timedelta(seconds=2))
    with pytest.raises(VendorError) as error:
        write(limit)
    # The window's first write leaves it 60 s after it was made: 2 s from now.
    assert (error.value.reason, error.value.retry_after) == (Reason.RATE_LIMITED, 60 - 2 * limit)
    assert fake_seam.rejected_429 == 1
    clock.shift(timedelta(seconds=60 - 2 * limit))
    write(limit)


def test_a_lock_pass_reads_the_device_once_for_its_opening_read_and_its_read_back(
    fake_seam, connection, clock
):  # issue #15: no device read per listing
    device_id = fake_seam.add_device("Front door", lengths=(6,))
    adapter = adapter_for(connection)
    adapter.list_codes(device_id)
    adapter.create_code(device_id, CodeSpec(pin="482693", name="Ana", **window()))
    clock.shift(timedelta(seconds=5))
    adapter.list_codes(device_id)
    assert [path for _, path in fake_seam.calls].count("/devices/get") == 1
    clock.shift(timedelta(seconds=30))  # a later pass reads the device again
    adapter.list_codes(device_id)
    assert [path for _, path in fake_seam.calls].count("/devices/get") == 2
