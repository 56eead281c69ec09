"""Nuki specifics: a create has no id until the code shows in the auth list, pending
operations lock an auth, and HTTP statuses map to SPEC R2 reasons."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.base import CodeSpec, CodeStatus, Constraint, Reason, VendorError
from integrations.registry import adapter_for
from tests.factories import LockConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapter(host, fake_nuki):
    connection = LockConnectionFactory(
        host=host, vendor="nuki", credentials={"api_token": "nuki-token"}
    )
    return adapter_for(connection)


@pytest.fixture
def smartlock(fake_nuki):
    return fake_nuki.add_smartlock("Front door")


def spec(pin="482693", name="Ana Silva"):
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    return CodeSpec(pin=pin, name=name, starts_at=start, ends_at=start + timedelta(days=2))


def test_a_create_has_no_id_until_nuki_lists_the_code(adapter, smartlock, fake_nuki, clock):
    created = adapter.create_code(str(smartlock), spec())
    assert (created.remote_id, created.status) == ("", CodeStatus.SETTING)
    clock.shift(timedelta(seconds=6))
    [listed] = adapter.list_codes(str(smartlock))
    assert listed.remote_id == fake_nuki.codes(smartlock)[0]["id"]
    assert fake_nuki.codes(smartlock)[0]["type"] == 13
    assert fake_nuki.codes(smartlock)[0]["code"] == 482693


def test_declares_nukis_pin_and_name_rules(adapter, smartlock):
    capabilities = adapter.get_lock(str(smartlock)).capabilities
    assert capabilities.supported_code_lengths == (6,)
    assert capabilities.code_constraints == {Constraint.NO_ZEROS, Constraint.CANNOT_START_WITH_12}
    assert capabilities.name_max_length == 20


@pytest.mark.parametrize(
    ("wanted", "reason"),
    [
        (spec(pin="102938"), Reason.REJECTED),  # a zero
        (spec(pin="128493"), Reason.REJECTED),  # starts with 12
        (spec(name="A name far longer than twenty"), Reason.REJECTED),  # 422
    ],
)
def test_codes_breaking_nukis_rules_are_rejected(adapter, smartlock, wanted, reason):
    with pytest.raises(VendorError) as error:
        adapter.create_code(str(smartlock), wanted)
    assert (error.value.reason, error.value.retryable) == (reason, False)
    assert wanted.pin not in error.value.message  # Nuki echoes the code; we keep it out


def test_a_change_while_another_is_pending_is_retryable(adapter, smartlock, fake_nuki, clock):
    adapter.create_code(str(smartlock), spec())
    clock.shift(timedelta(seconds=6))
    [listed] = adapter.list_codes(str(smartlock))
    adapter.update_code(str(smartlock), listed.remote_id, spec())
    assert adapter.list_codes(str(smartlock))[0].status == CodeStatus.SETTING
    with pytest.raises(VendorError) as error:
        adapter.delete_code(str(smartlock), listed.remote_id)  # 423 Locked
    assert (error.value.reason, error.value.retryable) == (Reason.VENDOR_ERROR, True)


def test_an_offline_lock_never_gets_the_code_so_the_adapter_refuses_first(
    adapter, smartlock, fake_nuki
):
    fake_nuki.set_offline(smartlock)
    with pytest.raises(VendorError) as error:
        adapter.create_code(str(smartlock), spec())
    assert error.value.reason == Reason.LOCK_OFFLINE
    assert ("PUT", f"/smartlock/{smartlock}/auth") not in fake_nuki.calls


@pytest.mark.parametrize(
    ("status", "reason", "retryable"),
    [
        (400, Reason.REJECTED, False),
        (401, Reason.ACCOUNT_DISCONNECTED, False),
        (402, Reason.ACCOUNT_DISCONNECTED, False),
        (426, Reason.ACCOUNT_DISCONNECTED, False),
        (409, Reason.DUPLICATE_CODE, False),
        (422, Reason.REJECTED, False),
        (423, Reason.VENDOR_ERROR, True),
    ],
)
def test_nuki_statuses_map_to_spec_reasons(status, reason, retryable):  # rule R2
    import requests

    from integrations.nuki import NukiAdapter

    response = requests.Response()
    response.status_code = status
    response._content = b'{"detailMessage": "something"}'
    with pytest.raises(VendorError) as error:
        NukiAdapter._check(response)
    assert (error.value.reason, error.value.retryable) == (reason, retryable)
