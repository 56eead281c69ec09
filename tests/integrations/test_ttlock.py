"""TTLock specifics: MD5 password grant, gateway writes, epoch milliseconds, errcode mapping."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.base import CodeSpec, Reason, VendorError
from integrations.registry import adapter_for
from integrations.ttlock import error_for
from tests.factories import LockConnectionFactory
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
    wanted = CodeSpec(pin="048263", name="Ana", starts_at=start, ends_at=start + timedelta(days=2))
    adapter_for(connection).create_code(str(lock_id), wanted)
    [stored] = fake_ttlock.codes(lock_id)
    assert stored["keyboardPwd"] == "048263"  # kept as a string: the leading zero survives
    assert stored["startDate"] == int(start.timestamp() * 1000)
    assert stored["keyboardPwdType"] == "3"


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
        (-3037, Reason.VENDOR_ERROR, True),
        (10007, Reason.ACCOUNT_DISCONNECTED, False),
    ],
)
def test_errcodes_map_to_spec_reasons(errcode, reason, retryable):  # rule R2
    error = error_for(errcode)
    assert (error.reason, error.retryable) == (reason, retryable)
