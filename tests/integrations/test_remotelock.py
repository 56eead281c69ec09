"""RemoteLock specifics: lock-local windows without an offset, the guest + access model behind
one code, sync counts as confirmation, deactivation, token refresh and pagination."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from accesscodes.models import LockCode
from integrations.base import CodeSpec, CodeStatus, Reason, VendorError
from integrations.connections import connection_create
from integrations.models import LockConnection
from integrations.registry import adapter_for
from integrations.remotelock import error_from
from integrations.services import match_create
from reservations.services import reservation_cancel, reservation_upsert
from tests.accesscodes.conftest import settle
from tests.factories import LockConnectionFactory, PropertyFactory, SmartLockSettingsFactory
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
    # Listed, removing, until the lock has synced the deactivation (S7: gone only when read).
    assert [c.status for c in adapter.list_codes(lock_id)] == [CodeStatus.REMOVING]
    clock_at_november.shift(timedelta(seconds=fake_remotelock.sync_delay + 1))
    assert adapter.list_codes(lock_id) == []
    assert fake_remotelock.codes(lock_id) == []
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
    clock_at_november.shift(timedelta(seconds=fake_remotelock.sync_delay + 1))
    assert adapter.list_codes(lock_id) == []


def test_deleting_a_code_remotelock_no_longer_knows_is_done(connection, fake_remotelock):
    lock_id = fake_remotelock.add_lock()
    adapter_for(connection).delete_code(lock_id, "0b4c9e6e-0000-4000-8000-000000000000:x")


# --- round 2 (issue #20): what RemoteLock's documentation says, and codes left on a door ---


def test_an_expired_guest_is_hidden_from_the_default_listing_but_still_read_from_the_lock(
    connection, fake_remotelock, clock_at_november
):  # rule D1, S7
    lock_id = fake_remotelock.add_lock()
    adapter = adapter_for(connection)
    created = adapter.create_code(lock_id, stay())
    clock_at_november.move_to(datetime(2026, 12, 6, tzinfo=UTC))  # after checkout (Dec 4)
    guest_id = created.remote_id.split(":")[0]
    assert [c["pin"] for c in fake_remotelock.codes(lock_id)] == ["4826"]  # the lock has it
    assert fake_remotelock.persons[guest_id]["attributes"]["status"] == "expired"
    assert guest_id not in fake_remotelock.listed_by_default()
    [listed] = adapter.list_codes(lock_id)
    assert (listed.remote_id, listed.pin) == (created.remote_id, "4826")


class RemoteLockWorld:
    """One RemoteLock lock matched to a Lisbon property, driven by the engine's sweeps."""

    def __init__(self, host, fake, clock):
        self.fake, self.clock = fake, clock
        self.device_id = fake.add_lock("Front door", time_zone="Europe/Lisbon")
        connection = connection_create(
            host=host,
            vendor="remotelock",
            credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        self.lock = connection.locks.get()
        SmartLockSettingsFactory(host=host)
        self.prop = PropertyFactory(
            host=host, time_zone="Europe/Lisbon", checkin_time=time(16), checkout_time=time(11)
        )
        match_create(lock=self.lock, property=self.prop)

    def pins_on_lock(self) -> dict[str, str]:
        return {c["name"]: c["pin"] for c in self.fake.codes(self.device_id)}

    def settle(self, rounds: int = 4) -> None:
        for _ in range(rounds):
            settle()
            self.clock.shift(timedelta(seconds=30))
        settle()

    def book(self, *, starts_in: timedelta, days: int = 3):
        check_in = timezone.now() + starts_in
        reservation, _ = reservation_upsert(
            host=self.prop.host,
            external_id="B1",
            property=self.prop,
            guest_name="Ana Silva",
            check_in=check_in,
            check_out=check_in + timedelta(days=days),
            reservation_code="HMABC123",
        )
        return reservation


@pytest.fixture
def world(host, fake_remotelock, clock):
    return RemoteLockWorld(host, fake_remotelock, clock)


def test_after_checkout_the_guest_is_deactivated_and_the_lock_lets_go(world):
    # rules D1, C3: the code was marked removed without a call, and the lock kept the guest
    reservation = world.book(starts_in=timedelta(days=1), days=2)
    world.settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert world.pins_on_lock() == {lock_code.name_on_lock: lock_code.pin}
    world.clock.shift(timedelta(days=4))  # past checkout + 24 h: the guest is `expired`
    world.settle(rounds=6)
    guest_id = lock_code.vendor_code_id.split(":")[0]
    assert world.fake.persons[guest_id]["attributes"]["status"] == "deactivated"
    assert world.pins_on_lock() == {}
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.REMOVED
    assert ("PUT", f"/access_persons/{guest_id}/deactivate") in world.fake.calls


def test_a_stay_cancelled_while_its_grant_went_unanswered_ends_with_nothing_on_the_lock(
    world, settings
):  # rules D1, R4
    settings.VENDOR_HTTP_TIMEOUT = 0.3
    reservation = world.book(starts_in=timedelta(days=1))
    world.fake.timeout_next_writes = 1  # the grant reaches RemoteLock, its answer does not
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.last_error == Reason.TIMEOUT
    reservation_cancel(reservation=reservation)
    world.settle()
    world.clock.shift(timedelta(hours=24, minutes=1))
    world.settle(rounds=6)
    world.clock.shift(timedelta(minutes=5))
    world.settle(rounds=6)
    assert world.pins_on_lock() == {}


def test_a_cancelled_stay_is_removed_only_once_the_lock_has_synced_it(world):  # rules D1, S7
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = reservation.access_code.lock_codes.get()
    world.fake.set_offline(world.device_id)  # the lock sleeps through the deactivation
    reservation_cancel(reservation=reservation)
    world.clock.shift(timedelta(hours=24, minutes=1))
    world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.REMOVING
    assert world.pins_on_lock() == {lock_code.name_on_lock: lock_code.pin}
    world.fake.set_offline(world.device_id, False)
    world.clock.shift(timedelta(minutes=1))
    world.settle()
    lock_code.refresh_from_db()
    assert (lock_code.state, world.pins_on_lock()) == (LockCode.State.REMOVED, {})


def test_a_pin_programmed_at_the_keypad_is_never_chosen_for_a_guest(world):  # rules P4, P7
    reservation = world.book(starts_in=timedelta(days=5))
    taken = reservation.access_code.lock_codes.get().pin
    world.fake.add_local_pin(world.device_id, taken)
    world.clock.shift(timedelta(days=2, hours=12))
    world.settle()
    world.clock.move_to(reservation.access_code.lock_codes.get().next_attempt_at)
    world.settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.pin != taken
    assert world.pins_on_lock() == {lock_code.name_on_lock: lock_code.pin}
    assert world.fake.devices[world.device_id]["attributes"]["local_pins"] == [taken]


def test_local_pins_are_listed_as_taken_and_not_offered_to_create(
    connection, fake_remotelock, clock_at_november
):  # rules P4, P7
    lock_id = fake_remotelock.add_lock()
    fake_remotelock.add_local_pin(lock_id, "4826")
    adapter = adapter_for(connection)
    assert [(c.pin, c.name) for c in adapter.list_codes(lock_id)] == [("4826", "Keypad PIN")]
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock_id, stay(pin="4826"))
    assert error.value.reason == Reason.DUPLICATE_CODE
    assert fake_remotelock.persons == {}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"errors": [{"attribute": "pin", "messages": ["has already been taken"],
                      "full_messages": ["Pin has already been taken"]}]}, Reason.DUPLICATE_CODE),
        ({"errors": [{"attribute": "name", "messages": ["has already been taken"],
                      "full_messages": ["Name has already been taken"]}]}, Reason.DUPLICATE_NAME),
        ({"errors": [{"attribute": None,
                      "messages": ["Device has reached its maximum number of users"]}]},
         Reason.LOCK_FULL),
        ({"errors": [{"attribute": "pin", "messages": ["is too short"],
                      "full_messages": ["Pin is too short"]}]}, Reason.REJECTED),
    ],
)  # fmt: skip
def test_remotelock_error_bodies_are_read_as_documented(body, reason):  # rule R2
    error = error_from(422, body)
    assert error.reason == reason
    if reason == Reason.REJECTED:
        assert error.message == "Pin is too short"


def test_a_pin_taken_on_the_lock_comes_back_as_duplicate_code(
    connection, fake_remotelock, clock_at_november
):  # rule R2, P5
    lock_id = fake_remotelock.add_lock()
    adapter = adapter_for(connection)
    first = adapter.create_code(lock_id, stay())
    second = adapter.create_code(lock_id, stay(name="Bo Chen", pin="5937"))
    with pytest.raises(VendorError) as error:
        adapter.update_code(lock_id, second.remote_id, stay(name="Bo Chen", pin="4826"))
    assert error.value.reason == Reason.DUPLICATE_CODE
    assert first.remote_id != second.remote_id


def test_a_403_for_an_expired_token_signs_in_again_and_does_not_disconnect(
    connection, fake_remotelock
):  # RemoteLock's status table: 403 is "Expired/Invalid token"
    lock_id = fake_remotelock.add_lock()
    adapter_for(connection).list_locks()
    fake_remotelock.expire_tokens()
    connection.refresh_from_db()
    assert [lock.remote_id for lock in adapter_for(connection).list_locks()] == [lock_id]
    assert fake_remotelock.token_grants == ["client_credentials", "refresh_token"]


def test_revoked_app_keys_still_disconnect_the_account(connection, fake_remotelock):
    fake_remotelock.add_lock()
    adapter_for(connection).list_locks()
    fake_remotelock.revoke()
    connection.refresh_from_db()
    with pytest.raises(VendorError) as error:
        adapter_for(connection).list_locks()
    assert error.value.reason == Reason.ACCOUNT_DISCONNECTED


def test_listing_one_locks_codes_costs_requests_for_its_own_guests_not_the_accounts(
    connection, fake_remotelock, clock_at_november
):  # 120 requests a minute per account
    ours, other = fake_remotelock.add_lock("Loft"), fake_remotelock.add_lock("Cabin")
    adapter = adapter_for(connection)
    fake_remotelock.rate_limit = 10_000  # setting up is not what is measured
    adapter.create_code(ours, stay())
    for n in range(40):
        adapter.create_code(other, stay(name=f"Guest {n}", pin=f"{5000 + n}"))
    fake_remotelock.rate_limit = 120
    clock_at_november.shift(timedelta(minutes=1))  # a fresh minute of the rate limit
    before = fake_remotelock.api_calls()
    [listed] = adapter_for(connection).list_codes(ours)
    assert listed.pin == "4826"
    assert fake_remotelock.api_calls() - before <= 4


def test_an_answer_without_data_is_a_vendor_error_not_a_crash(
    connection, fake_remotelock, clock_at_november
):
    lock_id = fake_remotelock.add_lock()
    adapter = adapter_for(connection)
    adapter.list_locks()
    for call in (
        lambda: adapter.get_lock(lock_id),
        lambda: adapter.list_codes(lock_id),
        lambda: adapter_for(connection).list_locks(),
    ):
        fake_remotelock.omit_data_next = 1
        with pytest.raises(VendorError) as error:
            call()
        assert error.value.reason == Reason.VENDOR_ERROR


def test_the_fake_rate_limits_at_120_requests_a_minute_as_a_vendor_error(
    connection, fake_remotelock, clock_at_november
):
    fake_remotelock.add_lock()
    fake_remotelock.rate_limit = 3
    adapter = adapter_for(connection)
    for _ in range(3):
        adapter.list_locks()
    with pytest.raises(VendorError) as error:
        adapter.list_locks()
    assert error.value.reason == Reason.RATE_LIMITED


def test_a_token_refresh_saves_only_the_token_fields(connection, fake_remotelock):
    # One OAuth helper for every vendor (issue #20): a secret saved meanwhile survives.
    fake_remotelock.add_lock()
    adapter_for(connection).list_locks()
    connection.refresh_from_db()
    adapter = adapter_for(connection)  # holds the credentials as they were
    LockConnection.objects.filter(pk=connection.pk).update(
        credentials={**connection.credentials, "webhook_secret": "whsec_saved_meanwhile"}
    )
    fake_remotelock.expire_tokens()
    adapter.list_locks()  # a 403, a refresh, and the new tokens saved
    connection.refresh_from_db()
    assert connection.credentials["webhook_secret"] == "whsec_saved_meanwhile"
    assert connection.credentials["access_token"] == adapter.credentials["access_token"]
    assert fake_remotelock.token_grants == ["client_credentials", "refresh_token"]


def test_an_engine_pass_after_the_token_expired_does_not_disconnect_the_account(world):
    # RemoteLock answers an expired token with 403: sign in again (R2), not disconnected.
    world.fake.expire_tokens()
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    world.lock.connection.refresh_from_db()
    assert world.lock.connection.state == LockConnection.State.CONNECTED
    lock_code = reservation.access_code.lock_codes.get()
    assert world.pins_on_lock() == {lock_code.name_on_lock: lock_code.pin}
