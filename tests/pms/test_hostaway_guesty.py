"""Hostaway (hour-integer times, Basic-auth webhooks, writable doorCode) and Guesty (v2
events, at most 5 tokens a day, cached for every worker) against their fakes (SPEC Q3–Q6)."""

from __future__ import annotations

import base64
from datetime import time, timedelta

import pytest
import time_machine
from celery.exceptions import Retry
from django.utils import timezone

from accesscodes.engine.provisioning import access_code_pin_replace
from pms.base import VendorError
from pms.models import PmsConnection
from pms.registry import adapter_for
from pms.writeback import write_backs_due
from reservations.models import Reservation
from tests.pms.conftest import codes_on, day, post_webhook, settle

pytestmark = pytest.mark.django_db


def stay() -> Reservation:
    return Reservation.objects.get()


def hostaway_hook(remote_id: str, event="reservation.updated") -> dict:
    return {"object": "reservation", "event": event, "accountId": 1, "data": {"id": int(remote_id)}}


def test_hostaway_hour_times_null_times_and_cancel(
    client, hostaway, hostaway_connection, prop, lock
):  # rules Q4, C3
    hostaway.add("301", listing="201", arrival=day(1), departure=day(3), check_in=15)
    post_webhook(client, hostaway_connection, hostaway_hook("301", "reservation.created"))
    reservation = stay()
    assert reservation.check_in.astimezone(prop.zone).time() == time(15)
    assert reservation.check_out.astimezone(prop.zone).time() == time(11)  # null: the property's
    assert reservation.language == "it"
    assert reservation.guest_phone_e164 == "+393123456789"
    hostaway.reservations["301"]["status"] = "cancelled"
    post_webhook(client, hostaway_connection, hostaway_hook("301"))
    assert stay().status == Reservation.Status.CANCELLED


def test_hostaway_owner_stays_and_inquiries_get_no_code(client, hostaway, hostaway_connection):
    # rule Q4
    hostaway.add("302", listing="201", arrival=day(1), departure=day(3), status="ownerStay")
    hostaway.add("303", listing="201", arrival=day(1), departure=day(3), status="inquiry")
    post_webhook(client, hostaway_connection, hostaway_hook("302", "reservation.created"))
    post_webhook(client, hostaway_connection, hostaway_hook("303", "reservation.created"))
    assert not Reservation.objects.exists()


def test_hostaway_webhook_login_is_checked(client, hostaway, hostaway_connection):  # rule Q3
    hostaway_connection.credentials = {
        **hostaway_connection.credentials,
        "webhook_login": "ls",
        "webhook_password": "pw",
    }
    hostaway_connection.save(update_fields=["credentials"])
    hostaway.add("304", listing="201", arrival=day(1), departure=day(3))
    body = hostaway_hook("304", "reservation.created")
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ls:nope").decode()}
    assert post_webhook(client, hostaway_connection, body, headers=wrong).status_code == 400
    assert not Reservation.objects.exists()
    right = {"Authorization": "Basic " + base64.b64encode(b"ls:pw").decode()}
    assert post_webhook(client, hostaway_connection, body, headers=right).status_code == 200
    assert stay().status == Reservation.Status.ACCEPTED


def test_hostaway_door_code_is_written_back_and_the_echo_changes_nothing(
    client, hostaway, hostaway_connection, lock
):  # rule Q5
    hostaway.add("305", listing="201", arrival=day(1), departure=day(3))
    post_webhook(client, hostaway_connection, hostaway_hook("305", "reservation.created"))
    settle()
    pin = stay().access_code.pin
    assert codes_on(lock) == {"Maria Rossi": pin}
    assert write_backs_due() == 1
    assert hostaway.reservations["305"]["doorCode"] == pin
    post_webhook(client, hostaway_connection, hostaway_hook("305"))  # the door-code change
    assert stay().access_code.pin == pin
    assert write_backs_due() == 0
    assert len(hostaway.tokens) == 1  # the long-lived token is reused


def guesty_hook(remote_id: str, event="reservation.updated.v2", event_id=None) -> dict:
    return {
        "event": event,
        "eventId": event_id or f"{remote_id}-{event}",
        "reservation": {"_id": remote_id},
    }


def test_guesty_v2_events_planned_times_and_cancel(client, guesty, guesty_connection, prop, lock):
    # rules Q3, Q4
    guesty.add("g1", listing="gl-1", arrival=day(1), departure=day(3), planned_arrival="18:00")
    post_webhook(client, guesty_connection, guesty_hook("g1", "reservation.created.v2"))
    reservation = stay()
    assert reservation.check_in.astimezone(prop.zone).time() == time(18)
    # No planned departure: Guesty's own checkOut instant (10:00 UTC).
    assert reservation.check_out.isoformat().startswith(f"{day(3)}T10:00")
    assert reservation.language == "es"
    guesty.reservations["g1"]["status"] = "canceled"
    post_webhook(client, guesty_connection, guesty_hook("g1"))
    assert stay().status == Reservation.Status.CANCELLED


def test_guesty_reserved_holds_and_owner_stays_get_no_code(client, guesty, guesty_connection):
    # rule Q4
    guesty.add("g2", listing="gl-1", arrival=day(1), departure=day(3), status="reserved")
    guesty.add("g3", listing="gl-1", arrival=day(1), departure=day(3), source="owner")
    post_webhook(client, guesty_connection, guesty_hook("g2", "reservation.created.v2"))
    post_webhook(client, guesty_connection, guesty_hook("g3", "reservation.created.v2"))
    assert not Reservation.objects.exists()


def test_guesty_token_is_minted_once_for_every_worker_and_never_past_five_a_day(
    guesty, guesty_connection
):  # rule Q6
    for _ in range(10):  # ten workers, each with its own adapter
        adapter_for(PmsConnection.objects.get(pk=guesty_connection.pk)).list_listings()
    assert len(guesty.tokens) == 1
    from django.core.cache import cache

    for n in range(2, 6):
        cache.delete_many([k for k in [_token_key()]])  # the token expired early
        adapter_for(guesty_connection).list_listings()
        assert len(guesty.tokens) == n
    cache.delete(_token_key())
    with pytest.raises(VendorError) as error:
        adapter_for(guesty_connection).list_listings()
    assert error.value.reason == "rate_limited"
    assert len(guesty.tokens) == 5  # Guesty was not asked for a sixth
    # A day after the first mint, one more is allowed.
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=True):
        guesty.tokens_per_day = 6
        adapter_for(guesty_connection).list_listings()
    assert len(guesty.tokens) == 6


def _token_key() -> str:
    from pms.tokens import _key

    return _key("guesty", "guesty-client")


def test_guesty_outage_during_a_webhook_cancels_nothing(client, guesty, guesty_connection):
    # rule Q4
    guesty.add("g4", listing="gl-1", arrival=day(1), departure=day(3))
    post_webhook(client, guesty_connection, guesty_hook("g4", "reservation.created.v2"))
    guesty.down = True
    with pytest.raises((VendorError, Retry)):  # eager in tests; a worker retries it
        post_webhook(client, guesty_connection, guesty_hook("g4", event_id="later"))
    guesty.down = False
    assert stay().status == Reservation.Status.ACCEPTED


def test_guesty_pin_is_written_into_the_door_code_custom_field_and_again_when_it_changes(
    client, guesty, guesty_connection, lock
):  # rule Q5
    guesty_connection.credentials = {
        **guesty_connection.credentials,
        "door_code_field_id": "cf-door",
    }
    guesty_connection.save(update_fields=["credentials"])
    guesty.add("g9", listing="gl-1", arrival=day(1), departure=day(3))
    post_webhook(client, guesty_connection, guesty_hook("g9", "reservation.created.v2"))
    settle()
    pin = stay().access_code.pin
    assert codes_on(lock) == {"GY-g9": pin}
    assert write_backs_due() == 1
    assert guesty.reservations["g9"]["customFields"] == {"cf-door": pin}
    post_webhook(client, guesty_connection, guesty_hook("g9", event_id="echo"))  # the write's echo
    assert stay().access_code.pin == pin
    assert write_backs_due() == 0
    new_pin = access_code_pin_replace(access_code=stay().access_code, reason="test", avoid=set())
    settle()
    assert codes_on(lock) == {"GY-g9": new_pin}
    assert write_backs_due() == 1
    assert guesty.reservations["g9"]["customFields"] == {"cf-door": new_pin}
    assert len(guesty.writes) == 2
    assert len(guesty.tokens) == 1


def test_guesty_without_a_door_code_field_writes_nothing(client, guesty, guesty_connection, lock):
    # rule Q5
    guesty.add("g10", listing="gl-1", arrival=day(1), departure=day(3))
    post_webhook(client, guesty_connection, guesty_hook("g10", "reservation.created.v2"))
    settle()
    assert codes_on(lock)
    assert write_backs_due() == 0
    assert "customFields" not in guesty.reservations["g10"]
