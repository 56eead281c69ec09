"""Home Assistant specifics: the host's slot range is the only part of the lock locksync
touches, slots are confirmed by reading them back, and the slot map lives on the Lock."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.base import CodeSpec, CodeStatus, Reason, VendorError
from integrations.models import Lock, LockConnection
from integrations.registry import adapter_for
from tests.factories import LockConnectionFactory, LockFactory
from tests.fakes.homeassistant import TOKEN
from tests.fakes.server import FakeResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(host, fake_homeassistant):
    entity_id = fake_homeassistant.add_lock("Front door", slots=30)
    connection = LockConnectionFactory(
        host=host,
        vendor="homeassistant",
        credentials={"base_url": fake_homeassistant.url, "access_token": TOKEN},
    )
    lock = Lock.objects.create(connection=connection, remote_id=entity_id, name="Front door")
    return fake_homeassistant, connection, lock


def code(name="Ana Silva", pin="4826"):
    return CodeSpec(pin=pin, name=name)


def test_lists_lock_entities_with_battery_and_a_capacity_of_the_slot_range(world):
    fake, connection, lock = world
    lock.code_slot_first, lock.code_slot_last = 20, 24
    lock.save()
    fake.set_battery(lock.remote_id, 41)
    [info] = adapter_for(connection).list_locks()  # the porch light is no lock
    assert (info.remote_id, info.name, info.battery_level) == ("lock.front_door", "Front door", 41)
    assert info.capabilities.time_bound_codes is False
    assert info.capabilities.max_active_codes_supported == 5


def test_codes_go_into_the_hosts_slot_range_and_nothing_else_is_touched(world):  # rule D2
    fake, connection, lock = world
    fake.add_code_by_hand(lock.remote_id, code="1111", slot=1)
    fake.add_code_by_hand(lock.remote_id, code="2222", slot=10)  # someone used our range
    adapter = adapter_for(connection)
    first = adapter.create_code(lock.remote_id, code())
    second = adapter.create_code(lock.remote_id, code("Ben Okafor", "5937"))
    assert (first.remote_id, second.remote_id) == ("11", "12")
    assert fake.codes(lock.remote_id) == {1: "1111", 10: "2222", 11: "4826", 12: "5937"}
    with pytest.raises(VendorError) as error:
        adapter.delete_code(lock.remote_id, "1")
    assert error.value.reason == Reason.REJECTED
    assert fake.codes(lock.remote_id)[1] == "1111"
    written = {c[1]["code_slot"] for c in fake.service_calls if c[0] != "get_lock_usercode"}
    assert written == {11, 12}


def test_a_full_range_is_lock_full_even_with_free_slots_outside_it(world):  # rule D3
    fake, connection, lock = world
    lock.code_slot_first, lock.code_slot_last = 10, 11
    lock.save()
    adapter = adapter_for(connection)
    adapter.create_code(lock.remote_id, code())
    adapter.create_code(lock.remote_id, code("Ben Okafor", "5937"))
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, code("Chloé Martin", "6048"))
    assert error.value.reason == Reason.LOCK_FULL
    assert len(fake.codes(lock.remote_id)) == 2


def test_a_pin_held_in_a_slot_outside_the_range_is_a_duplicate(world):  # rule P5
    fake, connection, lock = world
    fake.add_code_by_hand(lock.remote_id, code="4826", slot=3)
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(lock.remote_id, code())
    assert error.value.reason == Reason.DUPLICATE_CODE
    # The host's own slots are not locksync's business: not even listed.
    assert adapter_for(connection).list_codes(lock.remote_id) == []


def test_a_write_counts_only_once_the_slot_reads_back(world):  # rule S7
    fake, connection, lock = world
    adapter = adapter_for(connection)
    assert adapter.create_code(lock.remote_id, code()).status == CodeStatus.SET
    fake.drop_next_writes = 1
    dropped = adapter.create_code(lock.remote_id, code("Ben Okafor", "5937"))
    assert dropped.status == CodeStatus.SETTING
    assert [c.pin for c in adapter_for(connection).list_codes(lock.remote_id)] == ["4826"]


def test_a_dead_or_sleeping_node_is_lock_offline(world):  # rule R2
    fake, connection, lock = world
    adapter = adapter_for(connection)
    fake.fall_asleep(lock.remote_id)
    assert adapter.get_lock(lock.remote_id).online is False
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, code())
    assert (error.value.reason, error.value.retryable) == (Reason.LOCK_OFFLINE, True)
    fake.set_offline(lock.remote_id)
    with pytest.raises(VendorError) as error:
        adapter.list_codes(lock.remote_id)
    assert error.value.reason == Reason.LOCK_OFFLINE
    assert fake.codes(lock.remote_id) == {}


def test_the_slot_map_survives_a_restart_from_the_lock_row_and_the_read_back(world):  # Y2
    fake, connection, lock = world
    created = adapter_for(connection).create_code(lock.remote_id, code())
    fresh = adapter_for(LockConnection.objects.get(pk=connection.pk))
    [listed] = fresh.list_codes(lock.remote_id)
    assert (listed.remote_id, listed.name, listed.pin) == (created.remote_id, "Ana Silva", "4826")
    fresh.delete_code(lock.remote_id, created.remote_id)
    assert fresh.list_codes(lock.remote_id) == []
    lock.refresh_from_db()
    assert lock.adapter_state["slots"] == {}


def test_reading_codes_asks_home_assistant_for_the_services_response(world):
    fake, connection, lock = world
    adapter_for(connection).list_codes(lock.remote_id)
    assert ("POST", "/api/services/zwave_js/get_lock_usercode") in fake.calls


def test_a_private_home_assistant_address_is_refused_on_a_shared_locksync(world, settings):
    _, connection, lock = world
    settings.HOMEASSISTANT_ALLOW_PRIVATE_URLS = False
    with pytest.raises(VendorError) as error:
        adapter_for(connection).list_locks()
    assert error.value.reason == Reason.ACCOUNT_DISCONNECTED
    assert "not reachable from the internet" in error.value.message


@pytest.mark.parametrize("url", ["ftp://home.example.com", "home.example.com", "http://[::1"])
def test_a_malformed_address_gets_a_clear_error(world, url):
    _, connection, _ = world
    connection.credentials = {**connection.credentials, "base_url": url}
    with pytest.raises(VendorError) as error:
        adapter_for(connection).list_locks()
    assert "must look like https://" in error.value.message


def test_a_slot_range_must_be_a_range_of_real_slots(world):
    _, _, lock = world
    for first, last in ((0, 10), (20, 10), (10, 255)):
        lock.code_slot_first, lock.code_slot_last = first, last
        with pytest.raises(IntegrityError), transaction.atomic():
            lock.save()


@pytest.fixture
def signed_in(client, host_user):
    client.force_login(host_user)
    return client


def test_a_host_connects_home_assistant_from_the_lock_app_form(signed_in, host, fake_homeassistant):
    fake_homeassistant.add_lock("Back door")
    page = signed_in.get("/connections/new/?vendor=homeassistant")
    assert "Home Assistant address" in page.content.decode()
    assert 'type="password"' in page.content.decode()  # the token is not shown as typed
    response = signed_in.post(
        "/connections/new/",
        {"vendor": "homeassistant", "base_url": fake_homeassistant.url, "access_token": TOKEN},
    )
    assert response.status_code == 302
    [lock] = Lock.objects.filter(connection__host=host)
    assert (lock.remote_id, lock.code_slot_first, lock.code_slot_last) == ("lock.back_door", 10, 29)
    assert lock.capacity == 20


def test_a_refused_token_is_a_form_error_and_nothing_is_saved(signed_in, host, fake_homeassistant):
    response = signed_in.post(
        "/connections/new/",
        {"vendor": "homeassistant", "base_url": fake_homeassistant.url, "access_token": "nope"},
    )
    assert response.status_code == 200
    assert "did not accept these details" in response.content.decode()
    assert not LockConnection.objects.filter(host=host).exists()


def test_the_host_narrows_the_slot_range_and_the_capacity_follows(signed_in, world):
    _, _, lock = world
    response = signed_in.post(f"/locks/{lock.pk}/slots/", {"first": "20", "last": "24"})
    assert response.status_code == 302
    lock.refresh_from_db()
    assert (lock.code_slot_first, lock.code_slot_last, lock.capacity) == (20, 24, 5)
    page = signed_in.get(f"/locks/{lock.pk}/").content.decode()
    assert "Code slots" in page and 'value="20"' in page


def test_a_range_that_would_strand_a_guest_code_is_refused(signed_in, world):
    _, connection, lock = world
    adapter_for(connection).create_code(lock.remote_id, code())  # in slot 10
    response = signed_in.post(f"/locks/{lock.pk}/slots/", {"first": "20", "last": "24"})
    assert response.status_code == 400
    assert "Slot 10 still holds a locksync code" in response.content.decode()
    lock.refresh_from_db()
    assert (lock.code_slot_first, lock.code_slot_last) == (10, 29)


@pytest.mark.parametrize(("first", "last"), [("0", "5"), ("30", "20"), ("10", "300"), ("a", "")])
def test_a_bad_slot_range_is_a_form_error(signed_in, world, first, last):
    _, _, lock = world
    response = signed_in.post(f"/locks/{lock.pk}/slots/", {"first": first, "last": last})
    assert response.status_code == 400
    lock.refresh_from_db()
    assert (lock.code_slot_first, lock.code_slot_last) == (10, 29)


def test_another_hosts_lock_slots_answer_404(client, other_host, world):
    _, _, lock = world
    client.force_login(other_host.members.get().user)
    assert client.post(f"/locks/{lock.pk}/slots/", {"first": "1", "last": "2"}).status_code == 404


def test_locks_of_other_vendors_have_no_slot_form(signed_in, host):
    lock = LockFactory(connection__host=host)
    assert "Code slots" not in signed_in.get(f"/locks/{lock.pk}/").content.decode()


def test_a_slot_emptied_at_the_keypad_is_forgotten_once_its_write_is_old(world):  # rule Y2
    fake, connection, lock = world
    with time_machine.travel(timezone.now(), tick=False) as clock:
        created = adapter_for(connection).create_code(lock.remote_id, code())
        fake.locks[lock.remote_id]["slots"][int(created.remote_id)] = ""  # cleared by hand
        adapter_for(connection).list_codes(lock.remote_id)
        lock.refresh_from_db()
        assert list(lock.adapter_state["slots"]) == ["10"]  # maybe still on its way
        clock.shift(timedelta(hours=1))
        assert adapter_for(connection).list_codes(lock.remote_id) == []
        lock.refresh_from_db()
        assert lock.adapter_state["slots"] == {}


def test_an_address_that_is_not_home_assistant_is_a_clear_error(world):
    fake, connection, _ = world
    fake.other_states = {}
    original = fake.handle

    def login_page(request):
        return FakeResponse(200, "<html>Please sign in</html>")

    fake.handle = login_page
    try:
        with pytest.raises(VendorError) as error:
            adapter_for(connection).list_locks()
    finally:
        fake.handle = original
    assert "does not answer like Home Assistant" in error.value.message


# -- issue #20: Home Assistant as its documentation says (vendors/README.md §6) --


def test_only_zwave_js_locks_are_offered_as_code_capable(world):
    fake, connection, lock = world
    fake.add_lock("Garage door", integration="august")  # user-code services are zwave_js's
    assert [i.remote_id for i in adapter_for(connection).list_locks()] == ["lock.front_door"]


def test_a_slot_the_host_disabled_keeps_its_code_and_is_never_overwritten(world):  # rule D2
    fake, connection, lock = world
    fake.add_code_by_hand(lock.remote_id, code="3141", slot=10)
    fake.disable_slot(lock.remote_id, 10)  # userIdStatus 2: in_use false, code still there
    written = adapter_for(connection).create_code(lock.remote_id, code())
    assert written.remote_id == "11"
    assert fake.codes(lock.remote_id) == {10: "3141", 11: "4826"}


def test_a_lock_with_five_slots_is_not_offered_slots_beyond_them(host, fake_homeassistant):
    entity_id = fake_homeassistant.add_lock("Small door", slots=5)
    connection = LockConnectionFactory(
        host=host,
        vendor="homeassistant",
        credentials={"base_url": fake_homeassistant.url, "access_token": TOKEN},
    )
    [info] = adapter_for(connection).list_locks()
    assert info.capabilities.max_active_codes_supported == 0  # the default range is 10-29
    lock = Lock.objects.create(connection=connection, remote_id=entity_id, name="Small door")
    lock.code_slot_first, lock.code_slot_last = 3, 29
    lock.save()
    adapter = adapter_for(connection)
    assert adapter.get_lock(entity_id).capabilities.max_active_codes_supported == 3
    for pin, name in [("4826", "A"), ("5937", "B"), ("6048", "C")]:
        adapter.create_code(entity_id, code(name, pin))
    with pytest.raises(VendorError) as error:
        adapter.create_code(entity_id, code("D", "7159"))
    assert error.value.reason == Reason.LOCK_FULL  # not a retryable failure on slot 6
    assert set(fake_homeassistant.codes(entity_id)) == {3, 4, 5}


def test_a_pin_the_lock_refuses_is_rejected_not_retried_all_stay(world):  # rules R1, R2
    fake, connection, lock = world
    fake.refuse_pin(lock.remote_id, "4826")  # Home Assistant answers 500, the node is alive
    with pytest.raises(VendorError) as error:
        adapter_for(connection).create_code(lock.remote_id, code())
    assert (error.value.reason, error.value.retryable) == (Reason.REJECTED, False)
    assert fake.codes(lock.remote_id) == {}


def test_a_500_from_a_dead_node_stays_an_outage_not_a_refusal(world):  # rule R2
    fake, connection, lock = world
    adapter = adapter_for(connection)
    adapter.list_codes(lock.remote_id)
    original = fake._service

    def die_during_the_write(service, request):
        if service == "set_lock_usercode":
            fake.set_offline(lock.remote_id)
        return original(service, request)

    fake._service = die_during_the_write
    with pytest.raises(VendorError) as error:
        adapter.create_code(lock.remote_id, code())
    assert error.value.retryable and error.value.reason != Reason.REJECTED


@pytest.mark.parametrize("body", [{"entity_id": "lock.x"}, [["lock.x"]], [{"state": "on"}]])
def test_states_of_the_wrong_shape_are_a_vendor_error(world, body):
    fake, connection, lock = world
    original = fake.handle

    def wrong_shape(request):
        if request.path == "/api/states":
            return FakeResponse(200, body)
        return original(request)

    fake.handle = wrong_shape
    with pytest.raises(VendorError) as error:
        adapter_for(connection).list_locks()
    assert error.value.reason == Reason.VENDOR_ERROR


def test_call_times_are_counted_under_the_registry_name_metrics_reads(world):
    from locksync import metrics

    fake, connection, lock = world
    adapter_for(connection).list_codes(lock.remote_id)
    counts = {
        sample.labels["vendor"]: sample.value
        for sample in metrics._vendor_latency().samples
        if sample.name.endswith("_count")
    }
    assert counts["homeassistant"] >= 3  # states, usercodes, ... written where /metrics reads
