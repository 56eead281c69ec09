"""igloohome specifics: vendor-computed algoPINs on hour windows in the lock's zone, three per
window, daily codes for long stays, no change or revocation; custom PINs through a bridge."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from integrations.base import CodeSpec, CodeStatus, LockCapabilities, Reason, VendorError
from integrations.connections import connection_create
from integrations.igloohome import ALGOPIN, BRIDGED
from integrations.models import Lock
from integrations.registry import adapter_for
from integrations.services import match_create
from tests.api.conftest import client_for
from tests.factories import LockConnectionFactory, PropertyFactory
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
    assert [c["pin"] for c in fake_igloohome.codes(lock.remote_id)] == ["4826"]
    assert "4826" not in created.remote_id  # the PIN rides along encrypted, for job 5
    adapter.delete_code(lock.remote_id, created.remote_id)
    assert fake_igloohome.codes(lock.remote_id) == []


def test_a_bridge_that_cannot_reach_the_lock_is_lock_offline(connection, fake_igloohome, clock):
    lock = lisbon_lock(connection, fake_igloohome, bridge=True)
    fake_igloohome.set_bridge_offline(lock.remote_id)
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(
            lock.remote_id, window(NOW + timedelta(days=1), 24, pin="4826")
        )
    assert (error.value.reason, error.value.retryable) == (Reason.LOCK_OFFLINE, True)


def test_a_bridge_job_still_queued_when_we_stop_waiting_is_an_ambiguous_timeout(
    connection, fake_igloohome, clock, settings
):  # rule R4
    settings.IGLOOHOME_JOB_WAIT = 0.5
    lock = lisbon_lock(connection, fake_igloohome, bridge=True)
    fake_igloohome.drop_next_writes = 1
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(
            lock.remote_id, window(NOW + timedelta(days=1), 24, pin="4826")
        )
    assert (error.value.reason, error.value.retryable) == (Reason.TIMEOUT, True)


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
