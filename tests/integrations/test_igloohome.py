"""igloohome specifics: vendor-computed algoPINs on hour windows in the lock's zone, three per
window, daily codes for long stays, no change or revocation; custom PINs through a bridge."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from accesscodes.models import LockCode
from integrations.base import CodeSpec, CodeStatus, LockCapabilities, Reason, VendorError
from integrations.connections import connection_create
from integrations.igloohome import ALGOPIN, BRIDGED
from integrations.igloohome_jobs import job_error
from integrations.models import Lock, LockConnection
from integrations.registry import adapter_for
from integrations.services import match_create
from reservations.services import reservation_cancel, reservation_upsert
from tests.accesscodes.conftest import settle
from tests.api.conftest import client_for
from tests.factories import LockConnectionFactory, PropertyFactory, SmartLockSettingsFactory
from tests.fakes.igloohome import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 20, 9, 17, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def connection(host, fake_igloohome):
    return LockConnectionFactory(
        host=host,
        vendor="igloohome",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )


def lisbon_lock(connection, fake, *, bridge=False) -> Lock:
    """An igloohome lock matched to a Lisbon flat: its zone is the flat's."""
    device_id = fake.add_lock("Flat door", time_zone="Europe/Lisbon", bridge=bridge)
    lock = Lock.objects.create(connection=connection, remote_id=device_id, name="Flat door")
    flat = PropertyFactory(host=connection.host, time_zone="Europe/Lisbon")
    match_create(lock=lock, property=flat)
    return lock


def window(start: datetime, hours: float, *, name="Ana Silva", pin=""):
    return CodeSpec(pin=pin, name=name, starts_at=start, ends_at=start + timedelta(hours=hours))


def test_an_algopin_comes_from_igloohome_on_an_hour_window_in_the_locks_zone(
    connection, fake_igloohome, clock
):  # rules P6, W1
    lock = lisbon_lock(connection, fake_igloohome)
    # 15:30 → 11:10 three days later, Lisbon summer time (UTC+1) before the clocks go back.
    start = datetime(2026, 10, 22, 14, 30, tzinfo=UTC)
    issued = adapter_for(connection).create_code(lock.remote_id, window(start, 67 + 2 / 3))
    [sent] = fake_igloohome.codes(lock.remote_id)
    assert (sent["startDate"], sent["endDate"]) == (
        "2026-10-22T15:00:00+01:00",
        "2026-10-25T11:00:00+00:00",  # the clocks went back on the 25th
    )
    assert sent["kind"] == "hourly"
    assert issued.pin == sent["pin"] and len(issued.pin) == 9
    assert issued.status == CodeStatus.SET
    assert issued.starts_at == datetime(2026, 10, 22, 14, tzinfo=UTC)
    assert issued.ends_at == datetime(2026, 10, 25, 11, tzinfo=UTC)


def test_a_window_already_started_begins_at_the_current_hour(connection, fake_igloohome, clock):
    lock = lisbon_lock(connection, fake_igloohome)
    adapter_for(connection).create_code(lock.remote_id, window(NOW - timedelta(hours=5), 30))
    [sent] = fake_igloohome.codes(lock.remote_id)
    assert sent["startDate"] == "2026-10-20T10:00:00+01:00"  # 09:17 UTC is 10:17 in Lisbon


def test_asking_again_for_the_same_guest_and_hours_gives_the_same_pin(
    connection, fake_igloohome, clock
):  # rule R4
    lock = lisbon_lock(connection, fake_igloohome)
    start = NOW + timedelta(days=2)
    adapter = adapter_for(connection)
    first = adapter.create_code(lock.remote_id, window(start, 48))
    again = adapter_for(connection).create_code(lock.remote_id, window(start, 48))
    assert again.pin == first.pin


def test_three_guests_can_share_the_same_hours_and_a_fourth_cannot(
    connection, fake_igloohome, clock
):
    lock = lisbon_lock(connection, fake_igloohome)
    start = NOW + timedelta(days=2)
    adapter = adapter_for(connection)
    pins = {adapter.create_code(lock.remote_id, window(start, 48, name=n)).pin for n in "ABC"}
    assert len(pins) == 3
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, window(start, 48, name="D"))
    assert error.value.reason == Reason.LOCK_FULL


def test_a_stay_longer_than_four_weeks_gets_a_daily_code_ending_at_its_start_time(
    connection, fake_igloohome, clock
):
    lock = lisbon_lock(connection, fake_igloohome)
    start = datetime(2026, 11, 2, 15, tzinfo=UTC)  # 15:00 in Lisbon (winter time)
    issued = adapter_for(connection).create_code(lock.remote_id, window(start, 30 * 24 - 4))
    [sent] = fake_igloohome.codes(lock.remote_id)
    assert sent["kind"] == "daily"
    assert (sent["startDate"], sent["endDate"]) == (
        "2026-11-02T15:00:00+00:00",
        "2026-12-02T15:00:00+00:00",
    )
    assert issued.ends_at == datetime(2026, 12, 2, 15, tzinfo=UTC)


def test_an_algopin_lock_says_what_the_engine_and_the_messages_must_know(
    connection, fake_igloohome
):
    fake_igloohome.add_lock("Keypad")
    [info] = adapter_for(connection).list_locks()
    capabilities = info.capabilities
    assert capabilities.pin_chosen_by_vendor is True
    assert capabilities.can_delete_codes is False
    assert capabilities.window_granularity_minutes == 60
    assert capabilities.first_use_within_hours == 24
    assert info.online is True  # an offline keypad needs no connection


def test_an_algopin_can_be_neither_changed_nor_revoked(connection, fake_igloohome, clock):
    lock = lisbon_lock(connection, fake_igloohome)
    adapter = adapter_for(connection)
    issued = adapter.create_code(lock.remote_id, window(NOW + timedelta(days=1), 24))
    for call in (
        lambda: adapter.delete_code(lock.remote_id, issued.remote_id),
        lambda: adapter.update_code(lock.remote_id, issued.remote_id, window(NOW, 5)),
    ):
        with pytest.raises(VendorError) as error:
            call()
        assert (error.value.reason, error.value.retryable) == (Reason.REJECTED, False)
    assert len(fake_igloohome.codes(lock.remote_id)) == 1


def test_a_bridged_lock_takes_our_pin_through_a_bridge_job_and_deletes_it_again(
    connection, fake_igloohome, clock
):
    lock = lisbon_lock(connection, fake_igloohome, bridge=True)
    adapter = adapter_for(connection)
    [info] = [i for i in adapter.list_locks() if i.remote_id == lock.remote_id]
    assert info.capabilities.pin_chosen_by_vendor is False
    assert info.capabilities.can_delete_codes is True
    created = adapter.create_code(lock.remote_id, window(NOW + timedelta(days=1), 24, pin="4826"))
    assert created.status == CodeStatus.SET
    assert [c["pin"] for c in fake_igloohome.codes(lock.remote_id)] == ["4826"]
    assert "4826" not in created.remote_id  # the PIN rides along encrypted, for job 5
    assert "4826" not in str(Lock.objects.get(pk=lock.pk).adapter_state)
    # The bridge runs about two jobs a minute: the delete waits its turn, and is not done
    # until it has run.
    with pytest.raises(VendorError) as error:
        adapter.delete_code(lock.remote_id, created.remote_id)
    assert error.value.reason == Reason.TIMEOUT
    assert [c["pin"] for c in fake_igloohome.codes(lock.remote_id)] == ["4826"]
    clock.shift(timedelta(seconds=30))
    adapter_for(connection).delete_code(lock.remote_id, created.remote_id)
    assert fake_igloohome.codes(lock.remote_id) == []
    deletes = [j for j in fake_igloohome.jobs.values() if j["type"] == 5]
    assert len(deletes) == 1  # the second call followed the queued job, it queued no other


def test_a_bridge_that_cannot_reach_the_lock_is_lock_offline(connection, fake_igloohome, clock):
    lock = lisbon_lock(connection, fake_igloohome, bridge=True)
    fake_igloohome.set_lock_unreachable(lock.remote_id)
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(
            lock.remote_id, window(NOW + timedelta(days=1), 24, pin="4826")
        )
    assert (error.value.reason, error.value.retryable) == (Reason.LOCK_OFFLINE, True)


def test_a_bridge_job_still_queued_when_we_stop_waiting_is_setting_with_our_id(
    connection, fake_igloohome, clock, settings
):  # rules R4, S6
    settings.IGLOOHOME_JOB_WAIT = 0.05
    lock = lisbon_lock(connection, fake_igloohome, bridge=True)
    fake_igloohome.set_bridge_offline(lock.remote_id)
    adapter = adapter_for(connection)
    created = adapter.create_code(lock.remote_id, window(NOW + timedelta(days=1), 24, pin="4826"))
    assert created.status == CodeStatus.SETTING
    assert created.remote_id  # a cancel meanwhile can queue the delete behind it
    assert len(fake_igloohome.queued_jobs(lock.remote_id)) == 1
    # Asked again (the engine retrying), the same job is followed, not a second one queued.
    fake_igloohome.set_bridge_offline(lock.remote_id, False)
    again = adapter_for(connection).create_code(
        lock.remote_id, window(NOW + timedelta(days=1), 24, pin="4826")
    )
    assert again.status == CodeStatus.SET
    assert len(fake_igloohome.jobs) == 1
    assert [c["pin"] for c in fake_igloohome.codes(lock.remote_id)] == ["4826"]


def test_a_revoked_api_client_disconnects_the_account(connection, fake_igloohome):
    fake_igloohome.revoke()
    with pytest.raises(VendorError) as error:
        adapter_for(connection).list_locks()
    assert error.value.reason == Reason.ACCOUNT_DISCONNECTED


def test_connecting_igloohome_imports_only_its_locks(host, fake_igloohome):
    fake_igloohome.page_size = 1
    fake_igloohome.add_lock("Keypad", bridge=True)  # a lock and its bridge, on two pages
    fake_igloohome.add_lock("Gate")
    connection = connection_create(
        host=host,
        vendor="igloohome",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert sorted(connection.locks.values_list("name", flat=True)) == ["Gate", "Keypad"]


def test_a_code_longer_than_a_day_must_be_used_within_24_hours_and_says_until_when():
    start = datetime(2026, 10, 22, 14, tzinfo=UTC)
    algopin = ALGOPIN
    assert algopin.first_use_deadline(start, start + timedelta(hours=24)) is None
    assert algopin.first_use_deadline(start, start + timedelta(hours=25)) == start + timedelta(
        hours=24
    )
    assert BRIDGED.first_use_deadline(start, start + timedelta(days=5)) is None
    # The rule survives the trip through Lock.capabilities JSON.
    assert LockCapabilities.from_json(ALGOPIN.to_json()).first_use_within_hours == 24


def test_no_code_is_issued_for_a_window_that_has_ended(connection, fake_igloohome, clock):
    lock = lisbon_lock(connection, fake_igloohome)
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(lock.remote_id, window(NOW - timedelta(hours=3), 2))
    assert error.value.reason == Reason.REJECTED
    assert fake_igloohome.codes(lock.remote_id) == []


def test_asking_for_an_igloohome_locks_codes_gets_a_clear_answer_not_a_crash(
    host, host_user, fake_igloohome, connection, client
):
    lock = lisbon_lock(connection, fake_igloohome)
    response = client_for(host_user).get(f"/api/v1/locks/{lock.pk}/codes/")
    assert response.status_code == 502
    assert "offline PINs live only on the keypad" in response.json()["detail"]
    client.force_login(host_user)
    page = client.get(f"/locks/{lock.pk}/").content.decode()
    assert "offline PINs live only on the keypad" in page


# --- round 2 (issue #20): queued bridge jobs followed to their end, replies that are not JSON ---


class BridgedWorld:
    """A bridged igloohome lock matched to a Lisbon flat, driven by the engine's sweeps."""

    def __init__(self, host, fake, clock):
        self.fake, self.clock = fake, clock
        self.device_id = fake.add_lock("Flat door", time_zone="Europe/Lisbon", bridge=True)
        connection = connection_create(
            host=host,
            vendor="igloohome",
            credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        self.lock = connection.locks.get(remote_id=self.device_id)
        SmartLockSettingsFactory(host=host)
        self.prop = PropertyFactory(
            host=host, time_zone="Europe/Lisbon", checkin_time=time(16), checkout_time=time(11)
        )
        match_create(lock=self.lock, property=self.prop)

    def pins_on_lock(self) -> list[str]:
        return [c["pin"] for c in self.fake.codes(self.device_id)]

    def settle(self, rounds: int = 4) -> None:
        for _ in range(rounds):
            settle()
            self.clock.shift(timedelta(seconds=30))
        settle()

    def book(self, *, starts_in: timedelta):
        check_in = timezone.now().replace(minute=0, second=0, microsecond=0) + starts_in
        reservation, _ = reservation_upsert(
            host=self.prop.host,
            external_id="B1",
            property=self.prop,
            guest_name="Ana Silva",
            check_in=check_in,
            check_out=check_in + timedelta(days=3),
            reservation_code="HMABC123",
        )
        return reservation


@pytest.fixture
def bridged(host, fake_igloohome, settings):
    settings.IGLOOHOME_JOB_WAIT = 0.05  # a worker does not sit out the bridge's queue
    with time_machine.travel(NOW, tick=False) as traveller:
        yield BridgedWorld(host, fake_igloohome, traveller)


def test_a_stay_cancelled_while_its_create_job_is_queued_ends_with_nothing_on_the_lock(
    bridged,
):  # rules D1, R4, S6: the create ran late, after the cancel
    bridged.fake.set_bridge_offline(bridged.device_id)  # the bridge holds the job for now
    reservation = bridged.book(starts_in=timedelta(days=1))
    settle()
    lock_code = LockCode.objects.get(access_code__reservation=reservation)
    assert lock_code.vendor_code_id  # known at once, though the job has not run
    assert len(bridged.fake.queued_jobs(bridged.device_id)) == 1
    reservation_cancel(reservation=reservation)
    bridged.settle()
    bridged.clock.shift(timedelta(hours=1))
    bridged.fake.set_bridge_offline(bridged.device_id, False)  # the create runs, late
    bridged.fake.codes(bridged.device_id)
    [create] = [j for j in bridged.fake.jobs.values() if j["type"] == 4]
    assert create["status"] == 0  # it did put the PIN on the lock, after the cancel
    bridged.clock.shift(timedelta(hours=23, minutes=1))  # C3: deleted 24 h after the cancel
    for _ in range(6):
        bridged.settle()
        bridged.clock.shift(timedelta(minutes=5))
    assert bridged.pins_on_lock() == []
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.REMOVED
    kinds = [j["type"] for j in sorted(bridged.fake.jobs.values(), key=lambda j: j["queued_at"])]
    assert kinds[0] == 4 and 5 in kinds  # the create, then a delete behind it
    assert Lock.objects.get(pk=bridged.lock.pk).adapter_state.get("jobs") == {}


def test_after_checkout_the_bridged_pin_is_removed_only_by_a_delete_job_that_ran(bridged):
    # rules D1, C3
    reservation = bridged.book(starts_in=timedelta(days=1))
    bridged.settle()
    lock_code = LockCode.objects.get(access_code__reservation=reservation)
    assert bridged.pins_on_lock() == [lock_code.pin]
    bridged.fake.set_bridge_offline(bridged.device_id)
    bridged.clock.shift(timedelta(days=5))
    bridged.settle()
    lock_code.refresh_from_db()
    assert lock_code.state != LockCode.State.REMOVED
    assert bridged.pins_on_lock() == [lock_code.pin]
    bridged.fake.set_bridge_offline(bridged.device_id, False)
    for _ in range(6):
        bridged.clock.shift(timedelta(minutes=5))
        bridged.settle()
    lock_code.refresh_from_db()
    assert (lock_code.state, bridged.pins_on_lock()) == (LockCode.State.REMOVED, [])


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("PIN storage is full", Reason.LOCK_FULL),
        ("PIN already exists", Reason.DUPLICATE_CODE),
        ("Bridge could not reach the lock", Reason.LOCK_OFFLINE),
        ("Job expired", Reason.LOCK_OFFLINE),
        ("Something else went wrong", Reason.VENDOR_ERROR),
    ],
)
def test_a_failed_job_is_mapped_to_what_it_is(message, reason):  # rule R2
    error = job_error({"jobResponse": {"jobStatus": 2, "message": message}})
    assert error.reason == reason


def test_a_full_lock_fails_the_create_job_as_lock_full_not_rejected(
    connection, fake_igloohome, clock
):  # rules R2, S8: the documented 199 PINs a lock
    lock = lisbon_lock(connection, fake_igloohome, bridge=True)
    fake_igloohome.pin_limit = 0
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(
            lock.remote_id, window(NOW + timedelta(days=1), 24, pin="4826")
        )
    assert error.value.reason == Reason.LOCK_FULL
    assert fake_igloohome.codes(lock.remote_id) == []


def test_an_html_page_with_status_200_is_a_vendor_error_not_a_crash(
    connection, fake_igloohome, clock
):
    lock = lisbon_lock(connection, fake_igloohome)
    adapter = adapter_for(connection)
    adapter.list_locks()
    fake_igloohome.html_next = 1
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, window(NOW + timedelta(days=1), 24))
    assert error.value.reason == Reason.VENDOR_ERROR
    fake_igloohome.html_next = 1
    with pytest.raises(VendorError):
        adapter.list_locks()


def test_a_device_without_a_device_id_is_skipped_not_a_crash(host, fake_igloohome):
    fake_igloohome.add_lock("Gate")
    fake_igloohome.add_device_without_id()
    connection = connection_create(
        host=host,
        vendor="igloohome",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert list(connection.locks.values_list("name", flat=True)) == ["Gate"]


def test_a_token_refresh_keeps_a_webhook_secret_saved_meanwhile(connection, fake_igloohome):
    # The shared OAuth helper saves only the token fields (issue #20).
    fake_igloohome.add_lock("Gate")
    adapter = adapter_for(connection)  # holds the credentials as they were
    LockConnection.objects.filter(pk=connection.pk).update(
        credentials={**connection.credentials, "webhook_secret": "whsec_saved_meanwhile"}
    )
    connection.refresh_from_db()
    connection.credentials = {**connection.credentials}
    adapter.list_locks()  # signs in and saves its token
    connection.refresh_from_db()
    assert connection.credentials["webhook_secret"] == "whsec_saved_meanwhile"
    assert connection.credentials["access_token"]
    assert connection.credentials["client_id"] == CLIENT_ID
