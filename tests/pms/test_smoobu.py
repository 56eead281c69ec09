"""Smoobu: one webhook URL for every action, no signature (the URL's secret), times often
missing, owner blocks, the door PIN written back (SPEC Q3–Q5)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.utils import timezone

from accesscodes.engine.provisioning import access_code_pin_replace
from pms.models import PmsConnection, PmsEvent
from pms.services import connection_poll
from pms.writeback import write_backs_due
from reservations.models import Reservation
from tests.pms.conftest import codes_on, day, post_webhook, settle

pytestmark = pytest.mark.django_db


def hook(action: str, remote_id: str, **data) -> dict:
    return {"action": action, "user": 7, "data": {"id": int(remote_id), **data}}


def stay() -> Reservation:
    return Reservation.objects.get()


def test_new_reservation_without_times_uses_the_propertys_and_takes_the_language(
    client, smoobu, smoobu_connection, lock, prop
):  # rule Q4
    smoobu.add("501", listing="101", arrival=day(1), departure=day(3), phone="0151 23456789")
    assert post_webhook(client, smoobu_connection, hook("newReservation", "501")).status_code == 200
    reservation = stay()
    local_in = reservation.check_in.astimezone(prop.zone)
    assert (local_in.date().isoformat(), local_in.time()) == (day(1), time(16))
    assert reservation.check_out.astimezone(prop.zone).time() == time(11)
    assert reservation.language == "de"
    assert reservation.guest_name == "Jonas Weber"
    assert reservation.reservation_code == "SM501"
    settle()
    assert codes_on(lock) == {"Jonas Weber": reservation.access_code.pin}


def test_smoobus_own_times_are_used_when_it_sends_them(client, smoobu, smoobu_connection, prop):
    # rule Q4
    smoobu.add(
        "502", listing="101", arrival=day(2), departure=day(4), check_in="14:00", check_out="10:00"
    )
    post_webhook(client, smoobu_connection, hook("newReservation", "502"))
    reservation = stay()
    assert reservation.check_in.astimezone(prop.zone).time() == time(14)
    assert reservation.check_out.astimezone(prop.zone).time() == time(10)


def test_cancel_and_messages_on_the_same_url(client, smoobu, smoobu_connection, lock):
    # rules Q3, Q4, C3
    smoobu.add("503", listing="101", arrival=day(1), departure=day(3))
    post_webhook(client, smoobu_connection, hook("newReservation", "503"))
    settle()
    message = {"action": "newMessage", "user": 7, "data": {"id": 9, "message": "hi"}}
    assert post_webhook(client, smoobu_connection, message).status_code == 200
    assert PmsEvent.objects.count() == 1  # a message is not about a stay
    smoobu.reservations["503"]["type"] = "cancellation"
    post_webhook(client, smoobu_connection, hook("cancelReservation", "503"))
    assert stay().status == Reservation.Status.CANCELLED
    assert stay().access_code.lock_codes.get().window_ends_at <= timezone.now()


def test_owner_blocks_get_no_code(client, smoobu, smoobu_connection):  # rule Q4
    smoobu.add("504", listing="101", arrival=day(1), departure=day(3), blocked=True)
    post_webhook(client, smoobu_connection, hook("newReservation", "504"))
    assert not Reservation.objects.exists()


def test_the_same_body_twice_is_one_event(client, smoobu, smoobu_connection):  # rule Q3
    smoobu.add("505", listing="101", arrival=day(1), departure=day(3))
    post_webhook(client, smoobu_connection, hook("updateReservation", "505"))
    post_webhook(client, smoobu_connection, hook("updateReservation", "505"))
    assert PmsEvent.objects.count() == 1
    assert smoobu.calls.count(("GET", "/api/reservations/505")) == 1


def test_a_wrong_url_secret_is_refused_and_changes_nothing(client, smoobu, smoobu_connection):
    # rule Q3
    smoobu.add("506", listing="101", arrival=day(1), departure=day(3))
    response = post_webhook(client, smoobu_connection, hook("newReservation", "506"), secret="x")
    assert response.status_code == 403
    assert not Reservation.objects.exists()
    assert PmsConnection.objects.get().webhooks_refused == 1


def test_the_poll_reads_every_page_of_what_changed(smoobu, smoobu_connection):  # rule Q3
    for n in range(5):
        smoobu.add(f"6{n}0", listing="101", arrival=day(1 + n), departure=day(2 + n))
    smoobu_connection.last_poll_ok_at = timezone.now() - timedelta(minutes=15)
    assert connection_poll(smoobu_connection) == 5
    assert Reservation.objects.count() == 5
    modified = [q for q in smoobu.calls if q == ("GET", "/api/reservations")]
    assert len(modified) == 3  # pages of two


def test_the_pin_is_written_back_once_on_every_lock_and_again_when_it_changes(
    client, smoobu, smoobu_connection, lock
):  # rule Q5
    smoobu.add("507", listing="101", arrival=day(6), departure=day(8))
    post_webhook(client, smoobu_connection, hook("newReservation", "507"))
    settle()
    assert codes_on(lock) == {}
    assert write_backs_due() == 0  # not yet on the lock
    with time_machine.travel(timezone.now() + timedelta(days=4), tick=True):
        settle()
        assert codes_on(lock)
        assert write_backs_due() == 1
    pin = stay().access_code.pin
    assert smoobu.reservations["507"]["doorPin"] == pin
    with time_machine.travel(timezone.now() + timedelta(days=4), tick=True):
        assert write_backs_due() == 0  # written once
        # Smoobu reports the write as a change: fetched and applied, nothing moves.
        post_webhook(client, smoobu_connection, hook("updateReservation", "507", doorPin=pin))
        assert stay().access_code.pin == pin
        assert write_backs_due() == 0
        # A new PIN (P5): written again once it is on the lock, not before.
        access_code = stay().access_code
        new_pin = access_code_pin_replace(access_code=access_code, reason="test", avoid=set())
        assert write_backs_due() == 0
        settle()
        assert codes_on(lock) == {"Jonas Weber": new_pin}
        assert write_backs_due() == 1
        assert smoobu.reservations["507"]["doorPin"] == new_pin
    assert len(smoobu.writes) == 2


def test_write_back_can_be_turned_off_per_connection(client, smoobu, smoobu_connection, lock):
    # rule Q5
    smoobu_connection.write_back_codes = False
    smoobu_connection.save(update_fields=["write_back_codes"])
    smoobu.add("508", listing="101", arrival=day(1), departure=day(3))
    post_webhook(client, smoobu_connection, hook("newReservation", "508"))
    settle()
    assert write_backs_due() == 0
    assert "doorPin" not in smoobu.reservations["508"]
