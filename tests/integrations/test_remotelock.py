"""RemoteLock specifics: lock-local windows without an offset, the guest + access model behind
one code, sync counts as confirmation, deactivation, token refresh and pagination."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from integrations.base import CodeSpec, CodeStatus, Reason, VendorError
from integrations.connections import connection_create
from integrations.registry import adapter_for
from integrations.remotelock import error_from
from tests.factories import LockConnectionFactory
from tests.fakes.remotelock import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(host, fake_remotelock):
    return LockConnectionFactory(
        host=host,
        vendor="remotelock",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )


def stay(name="Ana Silva", pin="4826"):
    start = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 16:00 in Denver
    return CodeSpec(pin=pin, name=name, starts_at=start, ends_at=start + timedelta(days=3))


@pytest.fixture
def clock_at_november():
    with time_machine.travel(datetime(2026, 11, 26, 12, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def test_a_guest_window_is_written_in_the_locks_local_time_without_an_offset(
    connection, fake_remotelock, clock_at_november
):
    lock_id = fake_remotelock.add_lock("Loft", time_zone="America/Denver")
    adapter_for(connection).create_code(lock_id, stay())
    [guest] = [p["attributes"] for p in fake_remotelock.persons.values()]
    assert guest["starts_at"] == "2026-12-01T16:00:00"
    assert guest["ends_at"] == "2026-12-04T16:00:00"


def test_a_code_is_one_guest_granted_to_the_lock_and_reads_back_with_its_real_window(
    connection, fake_remotelock, clock_at_november
):
    lock_id = fake_remotelock.add_lock("Loft", time_zone="America/Denver")
    adapter = adapter_for(connection)
    created = adapter.create_code(lock_id, stay())
    guest_id, access_id = created.remote_id.split(":")
    assert fake_remotelock.persons[guest_id]["type"] == "access_guest"
    assert [a["id"] for a in fake_remotelock.accesses[guest_id]] == [access_id]
    [listed] = adapter.list_codes(lock_id)
    assert (listed.starts_at, listed.ends_at) == (stay().starts_at, stay().ends_at)


def test_a_code_is_setting_until_the_lock_wakes_up_and_syncs_it(  # rule S6, S7
    connection, fake_remotelock, clock_at_november
):
    lock_id = fake_remotelock.add_lock()
    adapter = adapter_for(connection)
    assert adapter.create_code(lock_id, stay()).status == CodeStatus.SETTING
    fake_remotelock.set_offline(lock_id)  # it missed its wake-up
    clock_at_november.shift(timedelta(minutes=5))
    assert [c.status for c in adapter.list_codes(lock_id)] == [CodeStatus.SETTING]
    assert fake_remotelock.codes(lock_id) == []
    fake_remotelock.set_offline(lock_id, False)
    assert [c.status for c in adapter.list_codes(lock_id)] == [CodeStatus.SET]
    assert [c["pin"] for c in fake_remotelock.codes(lock_id)] == ["4826"]


def test_a_code_we_are_done_with_is_deactivated_not_deleted(
    connection, fake_remotelock, clock_at_november
):
    lock_id = fake_remotelock.add_lock()
    adapter = adapter_for(connection)
    created = adapter.create_code(lock_id, stay())
    adapter.delete_code(lock_id, created.remote_id)
    guest_id = created.remote_id.split(":")[0]
    assert fake_remotelock.persons[guest_id]["attributes"]["status"] == "deactivated"
    assert adapter.list_codes(lock_id) == []
    adapter.delete_code(lock_id, created.remote_id)  # again: nothing left to do, no error


def test_a_guest_whose_creation_was_never_answered_is_reused_not_duplicated(  # rule R4
    connection, fake_remotelock, clock_at_november, settings
):
    settings.VENDOR_HTTP_TIMEOUT = 0.3
    lock_id = fake_remotelock.add_lock()
    adapter = adapter_for(connection)
    fake_remotelock.timeout_next_guest_creates = 1
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock_id, stay())
    assert error.value.reason == Reason.TIMEOUT
    again = adapter_for(connection).create_code(lock_id, stay())
    assert len(fake_remotelock.persons) == 1
    assert again.remote_id.split(":")[0] in fake_remotelock.persons


def test_codes_made_in_remotelock_by_hand_are_listed_but_never_taken_for_ours(
    connection, fake_remotelock, clock_at_november
):  # rule D2
    lock_id = fake_remotelock.add_lock()
    fake_remotelock.add_code_by_hand(lock_id, code="4826", name="Cleaner")
    adapter = adapter_for(connection)
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock_id, stay(pin="4826"))
    assert error.value.reason == Reason.DUPLICATE_CODE
    assert [(c.name, c.pin) for c in adapter.list_codes(lock_id)] == [("Cleaner", "4826")]
    # The refused guest is not left holding the PIN without a lock.
    guests = [p for p in fake_remotelock.persons.values() if p["type"] == "access_guest"]
    assert [g["attributes"]["status"] for g in guests] == ["deactivated"]


def test_only_keypad_locks_are_imported_across_every_page(connection, fake_remotelock):
    fake_remotelock.per_page_cap = 2
    ids = [fake_remotelock.add_lock(f"Door {n}") for n in range(3)]
    fake_remotelock.add_device("thermostat")
    fake_remotelock.add_device("resort_lock")  # algorithmic: not a lock locksync can give PINs
    assert sorted(lock.remote_id for lock in adapter_for(connection).list_locks()) == sorted(ids)


def test_an_expired_token_is_renewed_with_the_refresh_token(connection, fake_remotelock):
    fake_remotelock.add_lock()
    adapter_for(connection).list_locks()
    fake_remotelock.expire_tokens()
    adapter_for(connection).list_locks()
    assert fake_remotelock.token_grants == ["client_credentials", "refresh_token"]
    connection.refresh_from_db()
    assert set(connection.credentials) >= {"client_id", "client_secret", "access_token"}


@pytest.mark.parametrize(
    ("status", "body", "reason", "retryable"),
    [
        (401, {}, Reason.ACCOUNT_DISCONNECTED, False),
        (422, {"errors": [{"attribute": "pin", "message": "has already been taken"}]},
         Reason.DUPLICATE_CODE, False),
        (422, {"errors": [{"message": "Device has reached its maximum number of users"}]},
         Reason.LOCK_FULL, False),
        (422, {"errors": [{"attribute": "pin", "message": "is invalid"}]}, Reason.REJECTED, False),
        (404, None, Reason.VENDOR_ERROR, False),
    ],
)  # fmt: skip
def test_remotelock_answers_map_to_spec_reasons(status, body, reason, retryable):  # rule R2
    error = error_from(status, body)
    assert (error.reason, error.retryable) == (reason, retryable)


def test_connecting_remotelock_imports_its_locks_and_keeps_the_tokens(host, fake_remotelock):
    fake_remotelock.add_lock("Loft")
    connection = connection_create(
        host=host,
        vendor="remotelock",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    [lock] = connection.locks.all()
    assert (lock.name, lock.model, lock.capacity) == ("Loft", "OpenEdge RG", 100)
    assert connection.credentials["access_token"]


def test_a_permanent_code_is_an_access_user_since_guests_always_have_a_window(
    connection, fake_remotelock, clock_at_november
):  # rule H3: backup codes are permanent
    lock_id = fake_remotelock.add_lock()
    adapter = adapter_for(connection)
    backup = adapter.create_code(lock_id, CodeSpec(pin="7391", name="Backup 1"))
    guest_id = backup.remote_id.split(":")[0]
    assert fake_remotelock.persons[guest_id]["type"] == "access_user"
    [listed] = adapter.list_codes(lock_id)
    assert (listed.name, listed.starts_at, listed.ends_at) == ("Backup 1", None, None)
    adapter.delete_code(lock_id, backup.remote_id)
    assert adapter.list_codes(lock_id) == []


def test_deleting_a_code_remotelock_no_longer_knows_is_done(connection, fake_remotelock):
    lock_id = fake_remotelock.add_lock()
    adapter_for(connection).delete_code(lock_id, "0b4c9e6e-0000-4000-8000-000000000000:x")
