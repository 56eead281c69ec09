"""One contract, every vendor: the simulator, Nuki, Seam, TTLock, RemoteLock, igloohome and
Home Assistant behave alike through the adapter interface (SPEC §5), each real vendor proven
against a stateful fake of its HTTP API. Scenarios that need what a vendor cannot do (list
codes, hold a window) say so from its capabilities instead of special-casing it."""

from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.base import (
    RETRYABLE_BY_DEFAULT,
    Adapter,
    CodeSpec,
    CodeStatus,
    Feature,
    Reason,
    VendorError,
)
from integrations.registry import ADAPTERS
from tests.fakes.proxy import FAULTS, FaultProxy
from tests.integrations.conftest import HARNESSES

pytestmark = pytest.mark.django_db

SETTLE = timedelta(seconds=30)


def spec(pin="482693", name="Ana Silva", *, starts_in=timedelta(days=1), days=3):
    start = timezone.now().replace(microsecond=0) + starts_in
    return CodeSpec(pin=pin, name=name, starts_at=start, ends_at=start + timedelta(days=days))


def settle(clock, delta=SETTLE):
    clock.shift(delta)


def window_on_lock(vendor, wanted):
    """The window the lock holds: none on locks with only permanent codes (SPEC W2)."""
    capabilities = vendor.adapter.get_lock(vendor.lock_id).capabilities
    if not capabilities.time_bound_codes:
        return None, None
    return wanted.starts_at, wanted.ends_at


def ours(vendor, wanted):
    if not vendor.adapter.has(Feature.LIST_CODES):
        pytest.skip(f"{vendor.vendor} cannot list a lock's codes (see test_{vendor.vendor}.py)")
    return [
        c
        for c in vendor.adapter.list_codes(vendor.lock_id)
        if (c.pin, c.name) == (wanted.pin, wanted.name)
    ]


def create_outcome(vendor, clock, wanted):
    """Return (reason, retryable) of a create: raised at once, or reported on the lock later."""
    try:
        vendor.adapter.create_code(vendor.lock_id, wanted)
    except VendorError as error:
        return error.reason, error.retryable
    settle(clock)
    [listed] = ours(vendor, wanted)
    return listed.error, RETRYABLE_BY_DEFAULT.get(listed.error)


def test_every_vendor_is_registered_with_its_lead_times_and_credential_fields():  # rule S2
    assert {
        "simulator",
        "nuki",
        "seam",
        "ttlock",
        "remotelock",
        "igloohome",
        "homeassistant",
    } <= set(ADAPTERS)
    for adapter in ADAPTERS.values():
        assert issubclass(adapter, Adapter)
        assert adapter.lead_time_time_bound == timedelta(days=3)
        assert adapter.lead_time_permanent == timedelta(minutes=10)
        assert adapter.credential_fields


def test_lists_the_accounts_locks_with_battery_and_capabilities(vendor):
    vendor.set_battery(57)
    [info] = [lock for lock in vendor.adapter.list_locks() if lock.remote_id == vendor.lock_id]
    assert info.online is True
    assert info.battery_level == 57
    assert info.capabilities.max_active_codes_supported > 0
    assert info.capabilities.supported_code_lengths


def test_reads_one_locks_state_and_sees_it_go_offline(vendor):  # rule L1
    assert vendor.adapter.get_lock(vendor.lock_id).online is True
    vendor.go_offline()
    assert vendor.adapter.get_lock(vendor.lock_id).online is False


def test_a_created_code_is_confirmed_once_it_is_listed_on_the_lock(vendor, clock):  # rule S6/S7
    wanted = spec()
    ours(vendor, wanted)
    created = vendor.adapter.create_code(vendor.lock_id, wanted)
    assert created.status in (CodeStatus.SETTING, CodeStatus.SET)
    settle(clock)
    [listed] = ours(vendor, wanted)
    assert listed.status == CodeStatus.SET
    assert listed.error is None
    assert listed.remote_id
    assert (listed.starts_at, listed.ends_at) == window_on_lock(vendor, wanted)


def test_updating_a_code_moves_its_window_on_the_lock(vendor, clock):  # rule C1
    wanted = spec()
    ours(vendor, wanted)  # these scenarios read the lock's codes
    vendor.adapter.create_code(vendor.lock_id, wanted)
    settle(clock)
    [listed] = ours(vendor, wanted)
    later = CodeSpec(
        pin=wanted.pin,
        name=wanted.name,
        starts_at=wanted.starts_at,
        ends_at=wanted.ends_at + timedelta(days=2),
    )
    vendor.adapter.update_code(vendor.lock_id, listed.remote_id, later)
    settle(clock)
    [moved] = ours(vendor, later)
    assert moved.remote_id == listed.remote_id
    assert moved.ends_at == window_on_lock(vendor, later)[1]


def test_deleting_a_code_removes_it_from_the_lock(vendor, clock):
    wanted = spec()
    ours(vendor, wanted)  # these scenarios read the lock's codes
    vendor.adapter.create_code(vendor.lock_id, wanted)
    settle(clock)
    [listed] = ours(vendor, wanted)
    vendor.adapter.delete_code(vendor.lock_id, listed.remote_id)
    settle(clock)
    assert ours(vendor, wanted) == []


@pytest.mark.parametrize(
    ("switch", "reason", "retryable"),
    [
        ("go_offline", Reason.LOCK_OFFLINE, True),
        ("duplicate", Reason.DUPLICATE_CODE, False),
        ("fill", Reason.LOCK_FULL, False),
        ("revoke", Reason.ACCOUNT_DISCONNECTED, False),
        ("rate_limit", Reason.RATE_LIMITED, True),
    ],
)
def test_every_failure_is_reported_with_its_reason_and_retryability(
    vendor, clock, switch, reason, retryable
):  # rule R2
    wanted = spec()
    if switch == "duplicate":
        vendor.add_code_by_hand(pin=wanted.pin, name="Cleaner")
    else:
        getattr(vendor, switch)()
    assert create_outcome(vendor, clock, wanted) == (reason, retryable)


def test_a_rate_limited_call_says_how_long_to_wait(vendor):  # rule R3
    vendor.rate_limit()
    with pytest.raises(VendorError) as error:
        vendor.adapter.create_code(vendor.lock_id, spec())
    assert error.value.reason == Reason.RATE_LIMITED
    if vendor.vendor != "simulator":
        assert error.value.retry_after and error.value.retry_after > 0


def test_a_write_applied_but_answered_too_late_never_leaves_two_copies(vendor, clock, settings):
    # rule R4
    settings.VENDOR_HTTP_TIMEOUT = 0.3
    if hasattr(vendor, "fake"):
        vendor.fake.timeout_delay = 1.0
    wanted = spec()
    ours(vendor, wanted)
    vendor.timeout_next_write()
    with pytest.raises(VendorError) as error:
        vendor.adapter.create_code(vendor.lock_id, wanted)
    assert (error.value.reason, error.value.retryable) == (Reason.TIMEOUT, True)
    settle(clock)
    # The retry reads the lock first and finds the code the lost answer was about.
    [found] = ours(vendor, wanted)
    assert found.remote_id
    assert found.status == CodeStatus.SET


@pytest.mark.parametrize("vendor", ["nuki", "seam", "ttlock"], indirect=True)
def test_repeating_a_create_after_a_timeout_returns_the_code_already_there(vendor, clock, settings):
    # rule R4
    settings.VENDOR_HTTP_TIMEOUT = 0.3
    vendor.fake.timeout_delay = 1.0
    wanted = spec()
    vendor.timeout_next_write()
    with pytest.raises(VendorError):
        vendor.adapter.create_code(vendor.lock_id, wanted)
    settle(clock)
    again = vendor.adapter.create_code(vendor.lock_id, wanted)
    settle(clock)
    [only] = ours(vendor, wanted)
    assert again.remote_id == only.remote_id


def test_a_code_acknowledged_but_never_applied_is_never_reported_set(vendor, clock):  # rule S7
    wanted = spec()
    ours(vendor, wanted)  # these scenarios read the lock's codes
    vendor.drop_next_write()
    vendor.adapter.create_code(vendor.lock_id, wanted)
    settle(clock, timedelta(minutes=10))
    assert [c for c in ours(vendor, wanted) if c.status == CodeStatus.SET] == []


def test_expired_credentials_are_refreshed_where_the_vendor_allows(vendor):  # rule L3
    if not vendor.can_refresh:
        pytest.skip(f"{vendor.vendor} credentials cannot be refreshed; they work or they don't")
    vendor.adapter.list_locks()
    vendor.connection.refresh_from_db()
    first_token = vendor.connection.credentials["access_token"]
    vendor.expire_token()
    assert [lock.remote_id for lock in vendor.adapter.list_locks()] == [vendor.lock_id]
    vendor.connection.refresh_from_db()
    assert vendor.connection.credentials["access_token"] != first_token
    assert "password" not in vendor.connection.credentials


# -- faults on the way: a fault-injecting proxy in front of every vendor's fake (issue #20) --

# Where each vendor's adapter finds its fake (conftest's fixtures point these at it).
UPSTREAM_SETTINGS = {
    "nuki": ["NUKI_API_URL"],
    "seam": ["SEAM_API_URL"],
    "ttlock": ["TTLOCK_API_URL"],
    "remotelock": ["REMOTELOCK_API_URL", "REMOTELOCK_AUTH_URL"],
    "igloohome": ["IGLOOHOME_API_URL", "IGLOOHOME_AUTH_URL"],
    "homeassistant": [],  # its URL is in the connection's credentials: fake.url
}


@pytest.fixture(params=list(HARNESSES))
def proxied(request, host, clock, settings):
    """A vendor's harness whose adapter reaches its fake only through a FaultProxy."""
    fake = request.getfixturevalue(f"fake_{request.param}")
    settings.VENDOR_HTTP_TIMEOUT = 0.3
    proxies: dict[str, FaultProxy] = {}
    names = UPSTREAM_SETTINGS[request.param]
    upstreams = [getattr(settings, name) for name in names] or [fake.url]
    with ExitStack() as stack:
        for upstream in dict.fromkeys(upstreams):
            proxies[upstream] = stack.enter_context(FaultProxy(upstream, timeout_delay=0.6))
        for name in names:
            setattr(settings, name, proxies[getattr(settings, name)].url)
        if not names:
            fake.url = proxies[fake.url].url
        vendor = HARNESSES[request.param](host, fake)
        yield vendor, list(proxies.values())


def _calls(vendor):
    """Every adapter operation, each given what it needs."""
    adapter = vendor.adapter
    lock_id = vendor.lock_id
    wanted = spec(pin="735921", name="Faulty Fay")
    calls = {
        "list_locks": adapter.list_locks,
        "get_lock": lambda: adapter.get_lock(lock_id),
        "create_code": lambda: adapter.create_code(lock_id, wanted),
        "delete_code": lambda: adapter.delete_code(lock_id, "1"),
    }
    if adapter.has(Feature.LIST_CODES):
        calls["list_codes"] = lambda: adapter.list_codes(lock_id)
    return calls


@pytest.mark.parametrize("fault", FAULTS)
def test_no_adapter_crashes_on_a_damaged_reply_only_vendor_errors_with_a_reason(proxied, fault):
    # rule R2: every failure is a VendorError with a reason, never a crash that loses state
    vendor, proxies = proxied
    for name, call in _calls(vendor).items():
        for proxy in proxies:
            proxy.fault = fault
        try:
            call()
        except VendorError as error:
            assert error.reason in set(Reason), (name, error)
            assert error.message
        except Exception as error:  # noqa: BLE001 — the point: nothing but VendorError
            pytest.fail(f"{vendor.vendor}.{name} crashed on {fault}: {error!r}")
        finally:
            for proxy in proxies:
                proxy.fault = None
    assert sum(proxy.injected for proxy in proxies) > 0


def test_a_truncated_answer_to_a_write_is_reported_as_unanswered_so_the_lock_is_read_back(
    proxied,
):
    # rule R4: a write whose answer is cut off may have been applied: timeout, not "failed"
    vendor, proxies = proxied
    adapter = vendor.adapter
    for proxy in proxies:
        proxy.fault = "truncated"
    with pytest.raises(VendorError) as raised:
        adapter.create_code(vendor.lock_id, spec(pin="735921", name="Cut Off"))
    for proxy in proxies:
        proxy.fault = None
    assert raised.value.reason in {Reason.TIMEOUT, Reason.VENDOR_ERROR}
    assert raised.value.retryable
