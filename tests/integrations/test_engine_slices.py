"""The engine end to end on RemoteLock, Home Assistant and igloohome fakes: a booking puts a
code on the lock, a change reaches it, a cancellation takes it away again (or, for an
igloohome algoPIN, says honestly that it keeps working until its end)."""

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import BackupCode, LockCode
from accesscodes.services import backup_pool_ensure, locks_reconcile_all
from integrations.connections import connection_create
from integrations.services import match_create
from messaging.models import HostAlert
from messaging.rendering import render
from properties.models import SmartLockSettings
from reservations.services import reservation_cancel, reservation_upsert
from tests.accesscodes.conftest import settle
from tests.factories import PropertyFactory, SmartLockSettingsFactory
from tests.fakes import homeassistant, igloohome, remotelock

pytestmark = pytest.mark.django_db


class Slice:
    """One lock of one vendor's fake, matched to a Lisbon flat."""

    def __init__(self, host, clock, fake, *, vendor, credentials, native_id):
        self.host, self.clock, self.fake, self.native_id = host, clock, fake, native_id
        connection = connection_create(host=host, vendor=vendor, credentials=credentials)
        self.lock = connection.locks.get(remote_id=native_id)
        SmartLockSettingsFactory(host=host)
        self.prop = PropertyFactory(
            host=host, time_zone="Europe/Lisbon", checkin_time=time(16), checkout_time=time(11)
        )
        match_create(lock=self.lock, property=self.prop)

    def settle(self, rounds: int = 4) -> None:
        """Let the engine's sweeps and the vendor's own delays run their course."""
        for _ in range(rounds):
            settle()
            self.clock.shift(timedelta(seconds=30))
        settle()

    def book(self, *, starts_in: timedelta, nights: int = 3, external_id="B1"):
        check_in = timezone.now().replace(second=0, microsecond=0) + starts_in
        return self.upsert(check_in, check_in + timedelta(days=nights), external_id=external_id)

    def upsert(self, check_in, check_out, *, external_id="B1"):
        reservation, _ = reservation_upsert(
            host=self.host,
            external_id=external_id,
            property=self.prop,
            guest_name="Ana Silva",
            check_in=check_in,
            check_out=check_out,
            reservation_code="HMABC123",
        )
        return reservation

    def lock_code(self, reservation) -> LockCode:
        return LockCode.objects.get(access_code__reservation=reservation, lock=self.lock)


@pytest.fixture
def remotelock_slice(host, clock, fake_remotelock):
    device_id = fake_remotelock.add_lock("Loft door", time_zone="Europe/Lisbon")
    credentials = {"client_id": remotelock.CLIENT_ID, "client_secret": remotelock.CLIENT_SECRET}
    return Slice(
        host,
        clock,
        fake_remotelock,
        vendor="remotelock",
        credentials=credentials,
        native_id=device_id,
    )


@pytest.fixture
def homeassistant_slice(host, clock, fake_homeassistant):
    entity_id = fake_homeassistant.add_lock("Loft door")
    fake_homeassistant.add_code_by_hand(entity_id, code="9137", slot=1)  # the owner's own code
    credentials = {"base_url": fake_homeassistant.url, "access_token": homeassistant.TOKEN}
    return Slice(
        host,
        clock,
        fake_homeassistant,
        vendor="homeassistant",
        credentials=credentials,
        native_id=entity_id,
    )


def test_remotelock_booking_change_and_cancellation_reach_the_lock(remotelock_slice):
    # rules S1, S6, S7, C1, C3, D1
    world = remotelock_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = world.lock_code(reservation)
    [on_lock] = world.fake.codes(world.native_id)
    assert (on_lock["name"], on_lock["pin"]) == (lock_code.name_on_lock, lock_code.pin)
    assert (lock_code.state, lock_code.confirmation) == ("set", "read_back")

    later = reservation.check_out + timedelta(days=2)  # the guest stays two nights more
    world.upsert(reservation.check_in, later)
    world.settle()
    lock_code.refresh_from_db()
    [on_lock] = world.fake.codes(world.native_id)
    assert on_lock["pin"] == lock_code.pin  # the PIN stays (C1)
    local_end = lock_code.window_ends_at.astimezone(world.prop.zone)
    assert on_lock["ends_at"] == local_end.strftime("%Y-%m-%dT%H:%M:%S")

    reservation_cancel(reservation=reservation)
    world.settle()
    world.clock.shift(timedelta(hours=24, minutes=1))
    world.settle()
    assert world.fake.codes(world.native_id) == []
    # Deactivated, not deleted: the guest stays in the host's RemoteLock history.
    assert [p["attributes"]["status"] for p in world.fake.persons.values()] == ["deactivated"]


def test_home_assistant_sets_the_code_just_before_the_stay_and_clears_it_at_the_end(
    homeassistant_slice,
):  # rules W2, S2, S7, D1, D2
    world = homeassistant_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    assert world.fake.codes(world.native_id) == {1: "9137"}  # permanent codes wait (S2)
    lock_code = world.lock_code(reservation)
    world.clock.move_to(lock_code.access_code.starts_at - timedelta(minutes=10))
    world.settle()
    lock_code.refresh_from_db()
    assert world.fake.codes(world.native_id) == {1: "9137", 10: lock_code.pin}
    assert (lock_code.state, lock_code.confirmation, lock_code.vendor_code_id) == (
        "set",
        "read_back",
        "10",
    )

    world.clock.move_to(lock_code.access_code.ends_at + timedelta(minutes=1))
    world.settle()
    assert world.fake.codes(world.native_id) == {1: "9137"}  # the owner's code is untouched
    lock_code.refresh_from_db()
    assert lock_code.state == "removed"


def test_home_assistant_cancellation_clears_the_slot(homeassistant_slice):  # rules C3, W2
    world = homeassistant_slice
    reservation = world.book(starts_in=timedelta(minutes=5))
    world.settle()
    assert 10 in world.fake.codes(world.native_id)
    reservation_cancel(reservation=reservation)
    world.settle()
    world.clock.shift(timedelta(hours=24, minutes=1))
    world.settle()
    assert world.fake.codes(world.native_id) == {1: "9137"}


def test_home_assistant_shows_a_sleeping_lock_as_offline_and_sets_the_code_when_it_wakes(
    homeassistant_slice,
):  # rules R1, R2
    world = homeassistant_slice
    world.fake.fall_asleep(world.native_id)
    reservation = world.book(starts_in=timedelta(minutes=5))
    world.settle()
    lock_code = world.lock_code(reservation)
    assert lock_code.last_error == "lock_offline"
    world.fake.wake(world.native_id)
    world.clock.shift(timedelta(hours=3))
    world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == "set"
    assert world.fake.codes(world.native_id)[10] == lock_code.pin


@pytest.fixture
def bridged_igloohome_slice(host, clock, fake_igloohome):
    device_id = fake_igloohome.add_lock("Loft door", time_zone="Europe/Lisbon", bridge=True)
    credentials = {"client_id": igloohome.CLIENT_ID, "client_secret": igloohome.CLIENT_SECRET}
    return Slice(
        host,
        clock,
        fake_igloohome,
        vendor="igloohome",
        credentials=credentials,
        native_id=device_id,
    )


def test_a_bridged_igloohome_lock_gets_our_pin_and_loses_it_after_cancelling(
    bridged_igloohome_slice,
):  # rules S1, S7 (vendor confirmation), C1, C3, D1
    world = bridged_igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = world.lock_code(reservation)
    [on_lock] = world.fake.codes(world.native_id)
    assert (on_lock["pin"], on_lock["accessName"]) == (lock_code.pin, lock_code.name_on_lock)
    assert (lock_code.state, lock_code.confirmation) == ("set", "vendor")
    first_end = datetime.fromisoformat(on_lock["endDate"])

    world.upsert(reservation.check_in, reservation.check_out + timedelta(days=1))
    world.settle()
    [on_lock] = world.fake.codes(world.native_id)
    lock_code.refresh_from_db()
    assert on_lock["pin"] == lock_code.pin
    assert datetime.fromisoformat(on_lock["endDate"]) == first_end + timedelta(days=1)

    reservation_cancel(reservation=reservation)
    world.settle()
    world.clock.shift(timedelta(hours=24, minutes=1))
    world.settle()
    assert world.fake.codes(world.native_id) == []


@pytest.fixture
def igloohome_slice(host, clock, fake_igloohome):
    device_id = fake_igloohome.add_lock("Loft door", time_zone="Europe/Lisbon")
    credentials = {"client_id": igloohome.CLIENT_ID, "client_secret": igloohome.CLIENT_SECRET}
    return Slice(
        host,
        clock,
        fake_igloohome,
        vendor="igloohome",
        credentials=credentials,
        native_id=device_id,
    )


def test_igloohome_issues_its_own_pin_on_the_hour_and_the_panel_shows_it(
    igloohome_slice, client, host_user
):  # rules P6, S7, W1
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = world.lock_code(reservation)
    [issued] = world.fake.codes(world.native_id)
    assert lock_code.pin == issued["pin"]  # the vendor's PIN is this lock's own
    assert (lock_code.state, lock_code.confirmation) == ("set", "vendor")  # never read back
    start = datetime.fromisoformat(issued["startDate"])
    assert start <= reservation.access_code.starts_at < start + timedelta(hours=1)
    assert (start.minute, datetime.fromisoformat(issued["endDate"]).minute) == (0, 0)
    client.force_login(host_user)
    panel = client.get(reverse("access_panel", kwargs={"pk": reservation.pk})).content.decode()
    assert issued["pin"] in panel


def test_an_igloohome_code_is_never_deleted_and_is_left_to_expire(igloohome_slice):
    # rules C3, D1 on a lock that cannot delete codes
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = world.lock_code(reservation)
    reservation_cancel(reservation=reservation)
    world.settle()
    world.clock.shift(timedelta(hours=24, minutes=1))
    world.settle()
    assert [c["pin"] for c in world.fake.codes(world.native_id)] == [lock_code.pin]
    kinds = set(lock_code.events.values_list("kind", flat=True))
    assert "expires_on_its_own" in kinds


def test_a_longer_igloohome_stay_gets_a_new_code_covering_it(igloohome_slice):  # rule C1
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    world.upsert(reservation.check_in, reservation.check_out + timedelta(days=1))
    world.settle()
    lock_code = world.lock_code(reservation)
    latest = max(datetime.fromisoformat(c["endDate"]) for c in world.fake.codes(world.native_id))
    assert latest >= lock_code.access_code.ends_at
    assert lock_code.pin == world.fake.codes(world.native_id)[-1]["pin"]


def test_the_panel_says_a_cancelled_igloohome_code_keeps_working_until_its_end(
    igloohome_slice, client, host_user
):  # rules C3, V4, V5
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    reservation_cancel(reservation=reservation)
    world.settle()
    client.force_login(host_user)
    panel = client.get(reverse("access_panel", kwargs={"pk": reservation.pk})).content.decode()
    end = datetime.fromisoformat(world.fake.codes(world.native_id)[0]["endDate"])
    assert "keeps working until" in panel
    assert f"{end:%H:%M}" in panel and "Europe/Lisbon" in panel


def test_the_host_is_told_a_cancelled_guests_igloohome_code_still_works(igloohome_slice, host):
    # rule C3 on a lock that cannot delete codes
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    reservation_cancel(reservation=reservation)
    world.settle()
    alerts = " ".join(a.subject + " " + a.body for a in HostAlert.objects.filter(host=host))
    assert "keeps working until" in alerts


def test_the_guests_message_says_a_long_igloohome_code_must_be_used_within_a_day(
    igloohome_slice,
):  # rule G3; vendors/README §4
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    lock_code = world.lock_code(reservation)
    deadline = world.lock.capability_record.first_use_deadline(
        lock_code.window_starts_at, lock_code.window_ends_at
    )
    assert deadline is not None  # a three-night stay
    text = render(reservation=reservation, subject="Your code", body="%smartlock_code%").body
    assert lock_code.pin in text
    assert f"{deadline.astimezone(world.prop.zone):%H:%M}" in text


def test_an_igloohome_algopin_lock_keeps_no_backup_pool(igloohome_slice):  # rule H3
    world = igloohome_slice
    SmartLockSettings.objects.filter(host=world.host).update(backup_codes_enabled=True)
    backup_pool_ensure(lock=world.lock)
    world.settle()
    assert not BackupCode.objects.filter(lock=world.lock).exists()
    assert world.fake.codes(world.native_id) == []


def test_a_home_assistant_slot_cleared_at_the_keypad_is_found_daily_and_set_again(
    homeassistant_slice,
):  # rules Y2, S7
    world = homeassistant_slice
    reservation = world.book(starts_in=timedelta(minutes=5), nights=5)
    world.settle()
    lock_code = world.lock_code(reservation)
    assert world.fake.codes(world.native_id)[10] == lock_code.pin
    world.fake.locks[world.native_id]["slots"][10] = ""  # someone cleared it at the keypad
    world.clock.shift(timedelta(days=1))
    locks_reconcile_all()
    world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == "set"
    assert lock_code.pin in world.fake.codes(world.native_id).values()
    assert set(world.fake.codes(world.native_id)) <= {1, *range(10, 30)}


def on_lock(world) -> dict[str, str]:
    """PIN -> who holds it, as the vendor's fake lock itself has it."""
    if isinstance(world.fake, remotelock.FakeRemoteLock):
        return {c["pin"]: c["name"] for c in world.fake.codes(world.native_id)}
    return {pin: f"slot {slot}" for slot, pin in world.fake.codes(world.native_id).items()}


@pytest.fixture(params=["remotelock", "homeassistant"])
def listing_slice(request):
    return request.getfixturevalue(f"{request.param}_slice")


def test_a_pin_already_on_the_lock_is_replaced_and_the_hand_made_code_kept(listing_slice):
    # rules P5, D2
    world = listing_slice
    reservation = world.book(starts_in=timedelta(minutes=5))
    taken = reservation.access_code.pin
    world.fake.add_code_by_hand(world.native_id, code=taken, name="Cleaner")
    world.settle()
    lock_code = world.lock_code(reservation)
    if lock_code.state != "set":
        world.clock.move_to(lock_code.next_attempt_at)
        world.settle()
        lock_code.refresh_from_db()
    codes = on_lock(world)
    assert taken in codes and codes[taken] != lock_code.name_on_lock  # the cleaner's, kept
    assert lock_code.pin != taken
    assert lock_code.state == "set" and lock_code.pin in codes


def test_a_code_acknowledged_but_never_applied_is_sent_again_and_lands_once(listing_slice):
    # rules S6, S7, R1
    world = listing_slice
    world.fake.drop_next_writes = 1
    reservation = world.book(starts_in=timedelta(minutes=5))
    world.settle()
    lock_code = world.lock_code(reservation)
    assert lock_code.state != "set"
    for _ in range(8):
        world.clock.shift(timedelta(hours=1))
        world.settle()
    lock_code.refresh_from_db()
    assert lock_code.state == "set"
    ours = [pin for pin in on_lock(world) if pin == lock_code.pin]
    assert ours == [lock_code.pin]
    assert len(on_lock(world)) == (1 if isinstance(world.fake, remotelock.FakeRemoteLock) else 2)


def test_the_panel_says_an_igloohome_code_is_an_offline_code_issued(
    igloohome_slice, client, host_user
):  # rules S7, V1
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    client.force_login(host_user)
    panel = client.get(reverse("access_panel", kwargs={"pk": reservation.pk})).content.decode()
    assert "offline code issued" in panel
