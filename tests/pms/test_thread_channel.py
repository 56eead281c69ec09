"""The booking platform's thread as a guest channel (SPEC G8, issue #23): a stay imported from
a PMS gets its PIN message in that PMS's guest thread, within the PMS's message limits; a PMS
refusing hands over to email and the host is told once."""

from __future__ import annotations

import pytest
from django.core import mail

from messaging.models import Delivery, HostAlert, MessageRule
from messaging.services import message_rule_create, messages_send_due
from pms.services import connection_poll
from reservations.models import Reservation
from tests.pms.conftest import day

pytestmark = pytest.mark.django_db

BODY = "Hi %guest_first_name%, your door code: %smartlock_code%"
# (fake fixture, connection fixture, remote id, listing id)
PMSS = {
    "hospitable": ("res-7", "prop-uuid-1"),
    "smoobu": ("707", "101"),
    "hostaway": ("707", "201"),
    "guesty": ("g-707", "gl-1"),
}


def rule(prop, name="Door code", channel=MessageRule.Channel.BEST):
    return message_rule_create(
        host=prop.host,
        properties=[prop],
        name=name,
        body=BODY,
        trigger=MessageRule.Trigger.BOOKING_ACCEPTED,
        channel=channel,
    )


def imported(request, pms: str):
    fake = request.getfixturevalue(pms)
    connection = request.getfixturevalue(f"{pms}_connection")
    remote_id, listing = PMSS[pms]
    fake.add(remote_id, listing=listing, arrival=day(1), departure=day(3))
    assert connection_poll(connection) == 1
    return fake, remote_id, Reservation.objects.get()


def guest_mail(reservation):
    return [m for m in mail.outbox if m.to == [reservation.guest_email]]


@pytest.mark.parametrize("pms", list(PMSS))
def test_the_pin_message_lands_in_the_pms_thread(request, prop, pms):  # rule G8
    rule(prop)
    fake, remote_id, reservation = imported(request, pms)
    messages_send_due()
    pin = reservation.access_code.pin
    [text] = fake.threads[remote_id]
    assert text.endswith(f"your door code: {pin}")
    assert guest_mail(reservation) == []
    [delivery] = Delivery.objects.all()
    assert (delivery.channel, delivery.state) == ("pms", Delivery.State.SENT)
    assert not HostAlert.objects.filter(kind=HostAlert.Kind.CHANNEL_FALLBACK).exists()


@pytest.mark.parametrize("status", [403, 429])
def test_a_pms_refusing_hands_over_to_email_and_the_host_is_told_once(request, prop, status):
    # rule G8: a refusal, or a rate limit asking for an hour, is not waited for
    hospitable = request.getfixturevalue("hospitable")
    hospitable.refuse_messages = status
    rule(prop, "Door code")
    rule(prop, "Welcome")
    _, remote_id, reservation = imported(request, "hospitable")
    messages_send_due()
    assert hospitable.threads == {}
    emails = guest_mail(reservation)
    assert len(emails) == 2
    assert any(reservation.access_code.pin in e.body for e in emails)
    assert HostAlert.objects.filter(kind=HostAlert.Kind.CHANNEL_FALLBACK).count() == 1
    assert Delivery.objects.filter(channel="pms", state=Delivery.State.FAILED).count() == 2


def test_hospitables_two_messages_a_minute_per_thread_are_kept(request, prop):
    # rule G8: Hospitable takes 2 messages a minute per reservation; a third is not posted
    for name in ("One", "Two", "Three"):
        rule(prop, name)
    hospitable, remote_id, reservation = imported(request, "hospitable")
    messages_send_due()
    assert len(hospitable.threads[remote_id]) == 2
    assert len(guest_mail(reservation)) == 1


def test_a_direct_booking_has_no_thread_and_goes_by_email(prop, host, lock):  # rule G8
    from datetime import timedelta

    from django.utils import timezone

    from reservations.services import reservation_upsert

    rule(prop)
    reservation, _ = reservation_upsert(
        host=host,
        external_id="BK-1",
        property=prop,
        guest_name="Ana Silva",
        guest_email="ana@example.com",
        check_in=timezone.now() + timedelta(days=1),
        check_out=timezone.now() + timedelta(days=3),
        source=Reservation.Source.API,
    )
    messages_send_due()
    assert len(guest_mail(reservation)) == 1
    assert not Delivery.objects.filter(channel="pms").exists()


def test_a_rule_naming_the_pms_thread_saves_and_posts_there(request, prop):  # rule G8
    saved = rule(prop, channel=MessageRule.Channel.PMS)
    assert MessageRule.objects.get(pk=saved.pk).channel == "pms"
    guesty, remote_id, reservation = imported(request, "guesty")
    messages_send_due()
    [text] = guesty.threads[remote_id]
    assert text.endswith(reservation.access_code.pin)
    assert guest_mail(reservation) == []


def test_a_short_429_is_waited_out_and_the_message_still_lands_in_the_thread(
    request, prop, monkeypatch
):
    # rule G8: Guesty's 429 says when to come back; a few seconds are waited, then it posts
    waits = []
    monkeypatch.setattr("pms.channel.clock.sleep", waits.append)
    guesty = request.getfixturevalue("guesty")
    guesty.refuse_messages, guesty.refusals_left, guesty.retry_after = 429, 1, "2"
    rule(prop)
    _, remote_id, reservation = imported(request, "guesty")
    messages_send_due()
    assert waits == [2.0]
    assert guesty.threads[remote_id][0].endswith(reservation.access_code.pin)
    assert guest_mail(reservation) == []
    assert not HostAlert.objects.filter(kind=HostAlert.Kind.CHANNEL_FALLBACK).exists()


def test_the_per_thread_window_opens_again_exactly_a_minute_later(request, prop):
    # rule G8: Hospitable's 2 messages a minute per reservation, at the boundary
    import time_machine

    from pms.channel import throttle_wait
    from pms.models import PmsBooking

    imported(request, "hospitable")
    booking = PmsBooking.objects.get()
    limits = (("reservation", 2, 60),)
    with time_machine.travel("2027-03-01 10:00:00+00:00", tick=False) as traveller:
        assert throttle_wait(booking, limits) == 0
        assert throttle_wait(booking, limits) == 0
        assert throttle_wait(booking, limits) == 60
        traveller.shift(59)
        assert throttle_wait(booking, limits) == 1
        traveller.shift(1)
        assert throttle_wait(booking, limits) == 0
        assert throttle_wait(booking, limits) == 0
        assert throttle_wait(booking, limits) == 60
