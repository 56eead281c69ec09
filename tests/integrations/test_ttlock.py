"""TTLock specifics: MD5 password grant, gateway writes, epoch milliseconds, errcode mapping."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.base import CodeSpec, Constraint, Reason, VendorError
from integrations.models import Lock, Match
from integrations.registry import adapter_for
from integrations.ttlock import error_for
from tests.factories import LockConnectionFactory, PropertyFactory
from tests.fakes.ttlock import md5

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(host, fake_ttlock):
    return LockConnectionFactory(
        host=host,
        vendor="ttlock",
        credentials={"username": "host@example.com", "password": "s3cret"},
    )


def test_signs_in_with_the_md5_of_the_password_and_never_keeps_the_password(
    connection, fake_ttlock
):
    lock_id = fake_ttlock.add_lock("Front door", battery=64)
    adapter = adapter_for(connection)
    [info] = adapter.list_locks()
    assert (info.remote_id, info.battery_level) == (str(lock_id), 64)
    connection.refresh_from_db()
    assert connection.credentials["password_md5"] == md5("s3cret")
    assert "password" not in connection.credentials
    assert fake_ttlock.token_grants == ["password"]


def test_writes_go_through_the_gateway_with_epoch_milliseconds(connection, fake_ttlock):
    lock_id = fake_ttlock.add_lock()
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    wanted = CodeSpec(pin="482693", name="Ana", starts_at=start, ends_at=start + timedelta(days=2))
    adapter_for(connection).create_code(str(lock_id), wanted)
    [stored] = fake_ttlock.codes(lock_id)
    assert stored["keyboardPwd"] == "482693"
    assert stored["startDate"] == int(start.timestamp() * 1000)
    assert stored["keyboardPwdType"] == "3"


def test_ttlock_pins_never_start_with_0_because_the_api_takes_an_integer(
    connection, fake_ttlock
):  # rule P-constraints: one validator honours CANNOT_START_WITH_0
    lock_id = fake_ttlock.add_lock()
    [info] = adapter_for(connection).list_locks()
    assert Constraint.CANNOT_START_WITH_0 in info.capabilities.code_constraints
    # What a leading 0 would do at TTLock: the guest's PIN would silently lose a digit.
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    wanted = CodeSpec(pin="048263", name="Ana", starts_at=start, ends_at=start + timedelta(days=2))
    adapter_for(connection).create_code(str(lock_id), wanted)
    assert [c["keyboardPwd"] for c in fake_ttlock.codes(lock_id)] == ["48263"]


def test_online_means_an_online_gateway_reaches_the_lock(connection, fake_ttlock):
    gateway = fake_ttlock.add_gateway()
    front = fake_ttlock.add_lock("Front door", gateway=gateway)
    back = fake_ttlock.add_lock("Back door", gateway=gateway)
    adapter = adapter_for(connection)
    assert {i.remote_id: i.online for i in adapter.list_locks()} == {
        str(front): True,
        str(back): True,
    }
    fake_ttlock.set_offline(back)  # out of the gateway's range
    assert adapter.get_lock(str(back)).online is False
    assert adapter.get_lock(str(front)).online is True
    fake_ttlock.set_gateway_offline(front)  # still paired, but the gateway is down
    assert {i.remote_id: i.online for i in adapter.list_locks()} == {
        str(front): False,
        str(back): False,
    }
    with pytest.raises(VendorError) as error:
        adapter.create_code(str(front), CodeSpec(pin="482693", name="Ana"))
    assert (error.value.reason, error.value.retryable) == (Reason.LOCK_OFFLINE, True)


def test_a_lock_the_account_is_no_longer_admin_of_is_unreachable_not_the_account(
    connection, fake_ttlock
):  # rule R2, L3
    front = fake_ttlock.add_lock("Front door")
    back = fake_ttlock.add_lock("Back door")
    adapter = adapter_for(connection)
    fake_ttlock.locks[back]["admin"] = False
    with pytest.raises(VendorError) as error:
        adapter.create_code(str(back), CodeSpec(pin="482693", name="Ana"))
    assert error.value.reason == Reason.LOCK_OFFLINE
    assert "admin" in error.value.message
    # The account still works for its other locks.
    adapter.create_code(str(front), CodeSpec(pin="482693", name="Ana"))
    assert [i.remote_id for i in adapter.list_locks()] == [str(front)]


def test_a_lock_without_gateway_passcodes_is_unsupported_never_a_rejected_pin(
    connection, fake_ttlock
):
    lock_id = fake_ttlock.add_lock()
    fake_ttlock.locks[lock_id]["supports_gateway_passcodes"] = False
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(str(lock_id), CodeSpec(pin="482693", name="Ana"))
    assert (error.value.reason, error.value.retryable) == (Reason.VENDOR_ERROR, False)
    assert "does not support" in error.value.message


def test_times_are_shifted_for_a_lock_whose_clock_offset_is_wrong_for_the_property(
    connection, fake_ttlock, host
):
    lock_id = fake_ttlock.add_lock()
    fake_ttlock.locks[lock_id]["timezoneRawOffset"] = 8 * 3600 * 1000  # paired from Shanghai
    lock = Lock.objects.create(connection=connection, remote_id=str(lock_id), name="Front door")
    prop = PropertyFactory(host=host, time_zone="Europe/Lisbon")
    Match.objects.create(lock=lock, property=prop)
    adapter = adapter_for(connection)
    start = datetime(2027, 1, 10, 16, tzinfo=UTC)  # 16:00 in Lisbon (UTC+0 in winter)
    wanted = CodeSpec(pin="482693", name="Ana", starts_at=start, ends_at=start + timedelta(days=2))
    adapter.create_code(str(lock_id), wanted)
    [stored] = fake_ttlock.codes(lock_id)
    # The lock reads epoch + 8 h as its wall clock: it must see 16:00.
    lock_wall = datetime.fromtimestamp(stored["startDate"] / 1000, tz=UTC) + timedelta(hours=8)
    assert lock_wall.replace(tzinfo=None) == datetime(2027, 1, 10, 16)
    # Read back, the window is the one we asked for, so nothing looks out of sync.
    [listed] = adapter.list_codes(str(lock_id))
    assert (listed.starts_at, listed.ends_at) == (wanted.starts_at, wanted.ends_at)
    assert adapter.clock_offset(str(lock_id)) == timedelta(hours=8)


def test_a_lock_whose_offset_matches_the_property_gets_times_unchanged(
    connection, fake_ttlock, host
):
    lock_id = fake_ttlock.add_lock()
    fake_ttlock.locks[lock_id]["timezoneRawOffset"] = 3600 * 1000
    lock = Lock.objects.create(connection=connection, remote_id=str(lock_id), name="Front door")
    Match.objects.create(lock=lock, property=PropertyFactory(host=host, time_zone="Europe/Paris"))
    start = datetime(2027, 7, 10, 14, tzinfo=UTC)  # summer: Paris is UTC+2, raw offset +1
    wanted = CodeSpec(pin="482693", name="Ana", starts_at=start, ends_at=start + timedelta(days=2))
    adapter_for(connection).create_code(str(lock_id), wanted)
    assert fake_ttlock.codes(lock_id)[0]["startDate"] == int(start.timestamp() * 1000)


def test_a_revoked_account_is_disconnected_after_one_failed_refresh(connection, fake_ttlock):
    fake_ttlock.add_lock()
    adapter = adapter_for(connection)
    adapter.list_locks()
    fake_ttlock.revoke()
    with pytest.raises(VendorError) as error:
        adapter.list_locks()
    assert (error.value.reason, error.value.retryable) == (Reason.ACCOUNT_DISCONNECTED, False)
    assert fake_ttlock.token_grants == ["password", "refresh_token", "password"]


def test_the_monthly_quota_waits_until_the_first_beijing_time():
    with time_machine.travel("2026-11-25 16:00:00+08:00", tick=False):
        error = error_for(30007)
    assert error.reason == Reason.RATE_LIMITED
    assert error.retry_after == timedelta(days=5, hours=8).total_seconds()


@pytest.mark.parametrize(
    ("errcode", "reason", "retryable"),
    [
        (-3007, Reason.DUPLICATE_CODE, False),
        (-3009, Reason.LOCK_FULL, False),
        (-3002, Reason.LOCK_OFFLINE, True),
        (-2012, Reason.LOCK_OFFLINE, True),
        (-3036, Reason.LOCK_OFFLINE, True),
        (30006, Reason.RATE_LIMITED, True),
        (-2032, Reason.REJECTED, False),
        (-3006, Reason.REJECTED, False),
        (-3037, Reason.RATE_LIMITED, True),
        (-3003, Reason.RATE_LIMITED, True),
        (90000, Reason.VENDOR_ERROR, True),
        (30007, Reason.RATE_LIMITED, True),
        (10007, Reason.ACCOUNT_DISCONNECTED, False),
        (-3, Reason.VENDOR_ERROR, False),
        (-4043, Reason.VENDOR_ERROR, False),
        (20002, Reason.LOCK_OFFLINE, True),
        (-2018, Reason.LOCK_OFFLINE, True),
        (-2025, Reason.LOCK_OFFLINE, True),
    ],
)
def test_errcodes_map_to_spec_reasons(errcode, reason, retryable):  # rule R2
    error = error_for(errcode)
    assert (error.reason, error.retryable) == (reason, retryable)


def test_an_invalid_parameter_is_never_taken_for_a_rejected_pin(connection, fake_ttlock):
    lock_id = fake_ttlock.add_lock()
    adapter = adapter_for(connection)
    with pytest.raises(VendorError) as error:
        # The fake answers -3 to anything not written through the gateway, like a bad parameter.
        adapter._call("POST", "v3/keyboardPwd/add", {"lockId": lock_id, "addType": 1})
    assert error.value.reason == Reason.VENDOR_ERROR
    assert error.value.reason != Reason.REJECTED


def test_an_unknown_errcode_message_is_kept_without_the_pins_in_it():
    error = error_for(-9999, "passcode 482693 could not be written")
    assert "482693" not in error.message
    assert "-9999" in error.message


def _write_at_once(adapter, lock_ids: list[int]) -> list:
    """Create a code on each lock from its own thread, all at the same moment."""
    import threading

    results: list = [None] * len(lock_ids)
    barrier = threading.Barrier(len(lock_ids))

    def write(n: int) -> None:
        barrier.wait()
        try:
            results[n] = adapter.create_code(
                str(lock_ids[n]), CodeSpec(pin=f"48269{n + 3}", name=f"Guest {n}")
            )
        except VendorError as error:
            results[n] = error

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(lock_ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_locks_behind_one_gateway_take_turns_through_it(connection, fake_ttlock):
    # vendors/README §2: a gateway carries one write at a time (-3003 "gateway busy" otherwise);
    # the engine keeps one writer per lock, so two locks on one gateway can be written at once
    gateway = fake_ttlock.add_gateway()
    locks = [fake_ttlock.add_lock(name, gateway=gateway) for name in ("Front", "Back")]
    fake_ttlock.gateway_write_seconds = 0.3
    adapter = adapter_for(connection)
    adapter.list_locks()  # learns which gateway serves which lock
    results = _write_at_once(adapter, locks)
    assert [type(result).__name__ for result in results] == ["RemoteCode", "RemoteCode"]
    assert [len(fake_ttlock.codes(lock_id)) for lock_id in locks] == [1, 1]


def test_without_knowing_the_gateway_a_busy_answer_is_waited_out_like_a_rate_limit(
    connection, fake_ttlock
):  # rule R3; the fake's gateway is single-flight, which the turn above avoids
    from django.core.cache import cache

    from integrations.ttlock import GATEWAY_OF

    gateway = fake_ttlock.add_gateway()
    locks = [fake_ttlock.add_lock(name, gateway=gateway) for name in ("Front", "Back")]
    fake_ttlock.gateway_write_seconds = 0.3
    adapter = adapter_for(connection)
    adapter.list_locks()
    cache.delete_many([GATEWAY_OF.format(lock_id=lock_id) for lock_id in locks])
    results = _write_at_once(adapter, locks)
    [refused] = [result for result in results if isinstance(result, VendorError)]
    assert (refused.reason, refused.retry_after) == (Reason.RATE_LIMITED, 60.0)
