"""Hospitable: webhooks are hints, the reservation is fetched and applied through the
reservation services; the poll catches what webhooks missed (SPEC Q1–Q4)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from pms.models import PmsConnection, PmsEvent, PmsListing
from pms.services import connection_poll, listing_map
from reservations.models import Reservation
from tests.accesscodes.conftest import device_of
from tests.pms.conftest import codes_on, day, post_webhook, settle

pytestmark = pytest.mark.django_db


def event(remote_id: str, action="reservation.changed", event_id=None, triggers=()):
    return {
        "id": event_id or f"evt-{remote_id}-{action}",
        "action": action,
        "data": {"id": remote_id, "triggers": list(triggers)},
        "version": "v2",
    }


def stay() -> Reservation:
    return Reservation.objects.get()


def test_created_webhook_fetches_the_booking_and_puts_the_code_on_the_lock(
    client, hospitable, hospitable_connection, lock
):  # rules Q3, Q4
    hospitable.add(
        "res-1",
        listing="prop-uuid-1",
        arrival=day(1),
        departure=day(4),
        check_in=f"{day(1)}T15:00:00+01:00",
        phones=["912 345 678"],
    )
    response = post_webhook(client, hospitable_connection, event("res-1", "reservation.created"))
    assert response.status_code == 200
    reservation = stay()
    assert reservation.status == Reservation.Status.ACCEPTED
    assert reservation.guest_name == "Ana Silva"
    assert reservation.guest_phone_e164 == "+351912345678"
    assert reservation.guest_email == "ana@example.com"
    # The PMS's own check-in time; no checkout time given, so the property's (11:00).
    assert reservation.check_in.isoformat().startswith(f"{day(1)}T14:00")
    assert reservation.check_out == reservation.property.local_datetime(
        reservation.check_out.date(), reservation.property.checkout_time
    )
    assert ("GET", "/v2/reservations/res-1") in hospitable.calls
    settle()
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_date_guest_and_listing_changes_follow_and_the_pin_stays(
    client, hospitable, hospitable_connection, other_prop, other_lock, lock
):  # rules Q4, C1, C2
    hospitable.add("res-1", listing="prop-uuid-1", arrival=day(1), departure=day(4))
    post_webhook(client, hospitable_connection, event("res-1", "reservation.created"))
    pin = stay().access_code.pin
    hospitable.reservations["res-1"]["departure_date"] = day(6)
    hospitable.reservations["res-1"]["guest"]["first_name"] = "Anabela"
    post_webhook(client, hospitable_connection, event("res-1", event_id="e2"))
    reservation = stay()
    assert reservation.check_out.date().isoformat() == day(6)
    assert reservation.guest_name == "Anabela Silva"
    assert reservation.access_code.pin == pin

    PmsListing.objects.create(
        connection=hospitable_connection, remote_id="prop-uuid-2", property=other_prop
    )
    hospitable.reservations["res-1"]["property_id"] = "prop-uuid-2"
    post_webhook(client, hospitable_connection, event("res-1", event_id="e3"))
    settle()
    assert stay().property == other_prop
    assert codes_on(lock) == {}
    assert codes_on(other_lock) == {"Anabela Silva": pin}


def test_cancel_takes_the_code_off_the_lock(client, hospitable, hospitable_connection, lock):
    # rules Q4, C3
    hospitable.add("res-1", listing="prop-uuid-1", arrival=day(1), departure=day(4))
    post_webhook(client, hospitable_connection, event("res-1", "reservation.created"))
    settle()
    assert codes_on(lock)
    hospitable.reservations["res-1"]["reservation_status"]["current"]["category"] = "cancelled"
    post_webhook(client, hospitable_connection, event("res-1", event_id="e-cancel"))
    settle()
    assert stay().status == Reservation.Status.CANCELLED
    # The code on the lock stops working now and is deleted a day later (C3).
    assert device_of(lock).codes.get().ends_at <= timezone.now()


def test_inquiries_and_requests_get_no_code(client, hospitable, hospitable_connection, lock):
    # rule Q4
    hospitable.add(
        "res-1", listing="prop-uuid-1", arrival=day(1), departure=day(4), category="request"
    )
    hospitable.add(
        "res-2", listing="prop-uuid-1", arrival=day(1), departure=day(4), category="inquiry"
    )
    post_webhook(client, hospitable_connection, event("res-1", "reservation.created"))
    post_webhook(client, hospitable_connection, event("res-2", "reservation.created"))
    assert not Reservation.objects.exists()
    # Accepted later: now it gets its code.
    hospitable.reservations["res-1"]["reservation_status"]["current"]["category"] = "accepted"
    post_webhook(client, hospitable_connection, event("res-1", event_id="accepted"))
    assert stay().status == Reservation.Status.ACCEPTED


def test_duplicate_and_out_of_order_webhooks_apply_the_current_state_once(
    client, hospitable, hospitable_connection
):  # rule Q3
    hospitable.add("res-1", listing="prop-uuid-1", arrival=day(1), departure=day(4))
    first = event("res-1", "reservation.created", event_id="A")
    post_webhook(client, hospitable_connection, first)
    post_webhook(client, hospitable_connection, first)
    assert PmsEvent.objects.count() == 1
    assert hospitable.calls.count(("GET", "/v2/reservations/res-1")) == 1
    # The change arrives, then the older 'created' is redelivered late with another id:
    # the reservation is fetched, so the late event applies today's state, not the old one.
    hospitable.reservations["res-1"]["departure_date"] = day(5)
    post_webhook(client, hospitable_connection, event("res-1", event_id="B"))
    post_webhook(
        client, hospitable_connection, event("res-1", "reservation.created", event_id="A2")
    )
    assert Reservation.objects.count() == 1
    assert stay().check_out.date().isoformat() == day(5)


def test_bad_secret_signature_or_shape_changes_nothing_and_is_counted(
    client, hospitable, hospitable_connection
):  # rule Q3
    hospitable.add("res-1", listing="prop-uuid-1", arrival=day(1), departure=day(4))
    assert (
        post_webhook(client, hospitable_connection, event("res-1"), secret="wrong").status_code
        == 403
    )
    assert post_webhook(client, hospitable_connection, b"{not json").status_code == 400
    assert (
        post_webhook(client, hospitable_connection, {"action": "reservation.changed"}).status_code
        == 400
    )
    hospitable_connection.credentials = {"token": hospitable.token, "webhook_signing_secret": "s3"}
    hospitable_connection.save(update_fields=["credentials"])
    body = json.dumps(event("res-1")).encode()
    forged = post_webhook(client, hospitable_connection, body, headers={"Signature": "00"})
    assert forged.status_code == 400
    good = hmac.new(b"s3", body, hashlib.sha256).hexdigest()
    assert (
        post_webhook(client, hospitable_connection, body, headers={"Signature": good}).status_code
        == 200
    )
    connection = PmsConnection.objects.get()
    assert connection.webhooks_refused == 4
    assert Reservation.objects.count() == 1  # only the signed one


def test_unknown_listing_or_a_reservation_the_api_no_longer_returns_changes_nothing(
    client, hospitable, hospitable_connection, lock
):  # rules Q2, Q3, Q4
    hospitable.add("res-9", listing="prop-uuid-2", arrival=day(1), departure=day(4))
    assert post_webhook(client, hospitable_connection, event("res-9")).status_code == 200
    assert not Reservation.objects.exists()
    hospitable.add("res-1", listing="prop-uuid-1", arrival=day(1), departure=day(4))
    post_webhook(client, hospitable_connection, event("res-1"))
    hospitable.hidden.add("res-1")
    assert (
        post_webhook(client, hospitable_connection, event("res-1", event_id="gone")).status_code
        == 200
    )
    assert stay().status == Reservation.Status.ACCEPTED
    assert PmsConnection.objects.get().events_ignored == 2


def test_the_poll_catches_a_missed_webhook_and_an_outage_cancels_nothing(
    hospitable, hospitable_connection, lock
):  # rules Q3, Q4
    hospitable.add("res-1", listing="prop-uuid-1", arrival=day(1), departure=day(4))
    assert connection_poll(hospitable_connection) == 1
    assert stay().status == Reservation.Status.ACCEPTED
    # A guest's new phone, for which Hospitable sends no webhook, arrives with the next poll.
    hospitable.reservations["res-1"]["guest"]["phone_numbers"] = ["+33 6 12 34 56 78"]
    hospitable_connection.refresh_from_db()
    connection_poll(hospitable_connection)
    assert stay().guest_phone_e164 == "+33612345678"
    hospitable.down = True
    hospitable_connection.refresh_from_db()
    good = hospitable_connection.last_poll_ok_at
    connection_poll(hospitable_connection)
    hospitable.down = False
    hospitable.hidden.add("res-1")  # missing from one poll
    connection_poll(PmsConnection.objects.get())
    assert stay().status == Reservation.Status.ACCEPTED
    connection = PmsConnection.objects.get()
    assert connection.last_poll_ok_at > good
    assert connection.last_error == ""


def test_mapping_a_listing_imports_its_stays_from_today_on(
    hospitable, hospitable_connection, other_prop
):  # rule Q2
    hospitable.add("old", listing="prop-uuid-2", arrival=day(-6), departure=day(-2))
    hospitable.add("new", listing="prop-uuid-2", arrival=day(3), departure=day(5))
    listing = PmsListing.objects.create(
        connection=hospitable_connection, remote_id="prop-uuid-2", name="Porto River View"
    )
    assert listing_map(listing, other_prop) == 1
    assert list(Reservation.objects.values_list("property__name", flat=True)) == [
        "Porto River View"
    ]
