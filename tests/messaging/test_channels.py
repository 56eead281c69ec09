"""SMS and WhatsApp through the host's own Twilio account, against a fake Twilio (SPEC G8–G10)."""

import json
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from twilio.request_validator import RequestValidator

from accesscodes.models import AccessCode
from accesscodes.services import access_code_pin_replace
from messaging.models import (
    Delivery,
    HostAlert,
    Message,
    MessageRule,
    OptOut,
    ScheduledMessage,
    TwilioAccount,
)
from messaging.services import message_rule_create, messages_send_due
from reservations.models import Reservation
from reservations.services import reservation_upsert
from tests.factories import MatchFactory, PropertyFactory
from tests.fakes.server import FakeServer
from tests.fakes.twilio import FakeTwilio

pytestmark = pytest.mark.django_db

SID, TOKEN = "AC" + "1" * 32, "secret-token"
GUEST = "+12125550123"
BODY = "Hi %guest_first_name%, your door code for %property_name%: %smartlock_code%"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(utc(2026, 3, 1, 12, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio()
    fake.add_account(SID, TOKEN)
    with FakeServer(fake) as server:
        settings.TWILIO_API_BASE = server.url
        yield fake


@pytest.fixture
def prop(host):
    prop = PropertyFactory(
        host=host, name="Hudson Loft", time_zone="America/New_York", checkin_time=time(16)
    )
    MatchFactory(property=prop, lock__connection__host=host)
    return prop


@pytest.fixture
def account(host):
    return TwilioAccount.objects.create(
        host=host,
        account_sid=SID,
        auth_token=TOKEN,
        sms_from="+12125550100",
        whatsapp_from="+12125550199",
        whatsapp_content_sid="HX" + "a" * 32,
        whatsapp_variables={"1": "%guest_first_name%", "2": "%smartlock_code%"},
    )


def book(prop, *, phone=GUEST, email="ana@example.com"):
    check_in = utc(2026, 3, 9, 20, 0)
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id="BK-1",
        property=prop,
        guest_name="Ana Silva",
        guest_email=email,
        guest_phone=phone,
        check_in=check_in,
        check_out=check_in + timedelta(days=3),
        reservation_code="HMABCDEF12",
        source=Reservation.Source.API,
    )
    return reservation


def rule(prop, channel, **kw):
    return message_rule_create(
        **kw,
        host=prop.host,
        properties=[prop],
        name="Door code",
        body=BODY,
        trigger=MessageRule.Trigger.BOOKING_ACCEPTED,
        channel=channel,
    )


def guest_mail():
    return [email for email in mail.outbox if email.to == ["ana@example.com"]]


def callback(client, data, token=TOKEN):
    url = "http://testserver/webhooks/twilio/status/"
    signature = RequestValidator(token).compute_signature(url, data)
    return client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature)


def inbound(client, data):
    url = "http://testserver/webhooks/twilio/inbound/"
    data = {"AccountSid": SID, **data}
    signature = RequestValidator(TOKEN).compute_signature(url, data)
    return client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature)


def test_the_pin_goes_by_sms_from_the_hosts_number(clock, prop, account, twilio):
    # rules G8, G9
    rule(prop, MessageRule.Channel.SMS)
    reservation = book(prop)
    messages_send_due()
    [sms] = twilio.messages
    pin = reservation.access_code.pin
    assert (sms["To"], sms["From"]) == (GUEST, "+12125550100")
    assert sms["Body"] == f"Hi Ana, your door code for Hudson Loft: {pin}"
    assert mail.outbox == []
    [delivery] = Delivery.objects.all()
    assert (delivery.channel, delivery.state, delivery.provider_id) == ("sms", "sent", sms["sid"])


def test_a_messaging_service_sends_instead_of_a_number(clock, prop, account, twilio):
    # rule G8
    account.messaging_service_sid = "MG" + "b" * 32
    account.save()
    rule(prop, MessageRule.Channel.SMS)
    book(prop)
    messages_send_due()
    [sms] = twilio.messages
    assert sms["MessagingServiceSid"] == account.messaging_service_sid
    assert "From" not in sms


def test_whatsapp_outside_the_window_uses_the_approved_template(clock, prop, account, twilio):
    # rules G8, G10
    rule(prop, MessageRule.Channel.WHATSAPP)
    reservation = book(prop)
    messages_send_due()
    [message] = twilio.messages
    assert message["To"] == f"whatsapp:{GUEST}"
    assert message["ContentSid"] == account.whatsapp_content_sid
    assert "Body" not in message  # free text would be refused with 63016
    variables = json.loads(message["ContentVariables"])
    assert variables == {"1": "Ana", "2": reservation.access_code.pin}


def test_whatsapp_free_text_is_refused_and_email_takes_over(clock, prop, account, twilio):
    # rules G8, G10: no approved template, the fake refuses free text with 63016
    account.whatsapp_content_sid = ""
    account.save()
    twilio.whatsapp_sessions.clear()
    rule(prop, MessageRule.Channel.WHATSAPP)
    reservation = book(prop)
    messages_send_due()
    assert twilio.messages == []
    [email] = guest_mail()
    assert reservation.access_code.pin in email.body
    assert HostAlert.objects.filter(kind=HostAlert.Kind.CHANNEL_FALLBACK).count() == 1


def test_whatsapp_free_text_inside_the_window(clock, client, prop, account, twilio):
    # rule G10: the guest wrote on WhatsApp an hour ago, so free text is allowed
    reservation = book(prop)
    inbound(client, {"From": f"whatsapp:{GUEST}", "Body": "Hello, arriving late"})
    twilio.whatsapp_sessions.add(f"whatsapp:{GUEST}")
    clock.shift(timedelta(hours=1))
    rule(prop, MessageRule.Channel.WHATSAPP, send_to_existing=True)
    messages_send_due()
    [message] = twilio.messages
    assert (
        message["Body"] == f"Hi Ana, your door code for Hudson Loft: {reservation.access_code.pin}"
    )
    assert "ContentSid" not in message


def test_whatsapp_window_closed_free_text_refused_by_twilio_falls_back(
    clock, client, prop, account, twilio
):
    # rule G10: locksync thought the window was open; Twilio says 63016, email takes over
    book(prop)
    inbound(client, {"From": f"whatsapp:{GUEST}", "Body": "Hello"})
    rule(prop, MessageRule.Channel.WHATSAPP, send_to_existing=True)
    messages_send_due()
    assert twilio.messages == []
    assert "63016" in Delivery.objects.get(channel="whatsapp").reason
    assert len(guest_mail()) == 1


def test_a_changed_pin_follows_on_the_same_channel(
    clock, prop, account, twilio, django_capture_on_commit_callbacks
):
    # rules G7, G8
    rule(prop, MessageRule.Channel.SMS)
    reservation = book(prop)
    messages_send_due()
    with django_capture_on_commit_callbacks(execute=True):
        new_pin = access_code_pin_replace(
            access_code=AccessCode.objects.get(reservation=reservation),
            reason="duplicate_code",
            avoid=set(),
        )
    messages_send_due()
    assert len(twilio.messages) == 2
    assert new_pin in twilio.messages[1]["Body"]
    assert twilio.messages[1]["To"] == GUEST
    assert mail.outbox == []


def test_stop_then_the_next_message_goes_by_email_and_the_host_is_told_once(
    clock, client, prop, account, twilio, django_capture_on_commit_callbacks
):
    # rules G10, G8
    rule(prop, MessageRule.Channel.SMS)
    reservation = book(prop)
    messages_send_due()
    assert len(twilio.messages) == 1
    response = inbound(client, {"From": GUEST, "To": "+12125550100", "Body": "stop"})
    assert response.status_code == 200
    assert OptOut.objects.filter(phone=GUEST, channel="sms").exists()

    for _ in range(2):  # two PIN changes: two follow-ups, both by email
        with django_capture_on_commit_callbacks(execute=True):
            access_code_pin_replace(
                access_code=AccessCode.objects.get(reservation=reservation),
                reason="duplicate_code",
                avoid=set(),
            )
        messages_send_due()
    assert len(twilio.messages) == 1  # nothing more by SMS
    emails = guest_mail()
    assert len(emails) == 2
    reservation.access_code.refresh_from_db()
    assert reservation.access_code.pin in emails[-1].body
    assert HostAlert.objects.filter(kind=HostAlert.Kind.CHANNEL_FALLBACK).count() == 1

    inbound(client, {"From": GUEST, "To": "+12125550100", "Body": "START"})
    assert not OptOut.objects.exists()


def test_twilios_opt_out_error_marks_the_number_and_falls_back(clock, prop, account, twilio):
    # rule G10: 21610 from Twilio itself
    twilio.opted_out.add(GUEST)
    rule(prop, MessageRule.Channel.SMS)
    book(prop)
    messages_send_due()
    assert twilio.messages == []
    assert len(guest_mail()) == 1
    assert OptOut.objects.filter(phone=GUEST, channel="sms").exists()
    failed, sent = Delivery.objects.order_by("id")
    assert (failed.channel, failed.state) == ("sms", "failed")
    assert "21610" in failed.reason
    assert (sent.channel, sent.state) == ("email", "sent")


def test_a_failed_delivery_alerts_once_and_a_duplicate_callback_changes_nothing(
    clock, client, prop, account, twilio
):
    # rule G9
    rule(prop, MessageRule.Channel.SMS)
    book(prop)
    messages_send_due()
    [sms] = twilio.messages
    data = {
        "MessageSid": sms["sid"],
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "ErrorMessage": "Unreachable destination handset",
        "AccountSid": SID,
    }
    assert callback(client, data).status_code == 204
    assert callback(client, data).status_code == 204  # Twilio retries callbacks
    messages_send_due()
    assert len(twilio.messages) == 1
    assert guest_mail() == []
    [delivery] = Delivery.objects.all()
    assert delivery.state == "failed"
    assert "30003" in delivery.reason
    assert HostAlert.objects.filter(kind=HostAlert.Kind.DELIVERY_FAILED).count() == 1
    message = Message.objects.get(direction=Message.Direction.OUTGOING)
    assert message.state == Message.State.FAILED
    assert ScheduledMessage.objects.get().state == ScheduledMessage.State.SENT


def test_delivered_callback_is_recorded_and_a_forged_one_refused(
    clock, client, prop, account, twilio
):
    # rule G9
    rule(prop, MessageRule.Channel.SMS)
    book(prop)
    messages_send_due()
    [sms] = twilio.messages
    data = {"MessageSid": sms["sid"], "MessageStatus": "failed", "AccountSid": SID}
    assert callback(client, data, token="wrong").status_code == 403
    data["MessageStatus"] = "delivered"
    assert callback(client, data).status_code == 204
    assert callback(client, data).status_code == 204
    assert Delivery.objects.get().state == "delivered"
    assert Message.objects.get().state == Message.State.DELIVERED


def test_best_available_uses_sms_with_a_mobile_and_email_without(clock, prop, account, twilio):
    # rule G8
    rule(prop, MessageRule.Channel.BEST)
    book(prop, phone="")
    messages_send_due()
    assert twilio.messages == []
    assert len(guest_mail()) == 1
    assert not HostAlert.objects.filter(kind=HostAlert.Kind.CHANNEL_FALLBACK).exists()


def test_no_usable_address_holds_the_message_for_the_host(clock, prop, account, twilio):
    # rules G4, G8
    rule(prop, MessageRule.Channel.SMS)
    book(prop, phone="12", email="")
    messages_send_due()
    assert twilio.messages == []
    scheduled = ScheduledMessage.objects.get()
    assert scheduled.state == ScheduledMessage.State.HELD
    assert HostAlert.objects.filter(kind=HostAlert.Kind.MESSAGE_HELD).count() == 1


def test_the_auth_token_is_encrypted_at_rest(account):
    # rule G8 (SPEC §3)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select auth_token from messaging_twilioaccount")
        [(stored,)] = cursor.fetchall()
    assert TOKEN not in stored
    assert TwilioAccount.objects.get().auth_token == TOKEN


def test_saving_a_rule_sends_nothing_to_existing_stays_until_the_host_confirms(clock, prop):
    # rule G11: saving a rule once sent 7 emails at once
    from messaging.rule_checks import message_rule_send_skipped, message_rule_skipped_count

    for number in range(7):
        reservation_upsert(
            host=prop.host,
            external_id=f"BK-{number}",
            property=prop,
            guest_name="Ana Silva",
            guest_email=f"guest{number}@example.com",
            check_in=utc(2026, 3, 9, 20, 0) + timedelta(days=number * 4),
            check_out=utc(2026, 3, 12, 15, 0) + timedelta(days=number * 4),
            source=Reservation.Source.API,
        )
    saved = rule(prop, MessageRule.Channel.EMAIL)
    messages_send_due()
    assert mail.outbox == []
    assert message_rule_skipped_count(rule=saved) == 7

    assert message_rule_send_skipped(rule=saved) == 7
    messages_send_due()
    assert len(mail.outbox) == 7
    messages_send_due()
    assert len(mail.outbox) == 7


def test_two_workers_on_one_due_message_send_it_once(clock, prop, account, twilio, monkeypatch):
    # rule G9: worker B reaches the row while worker A is inside Twilio's call
    from messaging import channels
    from messaging.services import message_send

    rule(prop, MessageRule.Channel.SMS)
    book(prop)
    [scheduled] = ScheduledMessage.objects.all()
    real_send = channels.SmsChannel.send
    second_worker = []

    def send_while_another_worker_runs(self, **kwargs):
        second_worker.append(message_send(scheduled_id=scheduled.pk))
        second_worker.append(messages_send_due())
        return real_send(self, **kwargs)

    monkeypatch.setattr(channels.SmsChannel, "send", send_while_another_worker_runs)
    first = message_send(scheduled_id=scheduled.pk)
    assert first is not None and first.state == ScheduledMessage.State.SENT
    assert second_worker == [None, 0]  # B found it claimed: nothing due, nothing sent
    assert len(twilio.messages) == 1
    assert Delivery.objects.count() == 1
    clock.shift(timedelta(hours=1))
    messages_send_due()
    assert message_send(scheduled_id=scheduled.pk) is None  # a retried task changes nothing
    assert len(twilio.messages) == 1


def test_a_changed_pin_follows_on_whatsapp_with_the_template(
    clock, prop, account, twilio, django_capture_on_commit_callbacks
):
    # rules G7, G8, G10: the correction goes where the guest read the code
    rule(prop, MessageRule.Channel.WHATSAPP)
    reservation = book(prop)
    messages_send_due()
    with django_capture_on_commit_callbacks(execute=True):
        new_pin = access_code_pin_replace(
            access_code=AccessCode.objects.get(reservation=reservation),
            reason="duplicate_code",
            avoid=set(),
        )
    messages_send_due()
    first, second = twilio.messages
    assert first["To"] == second["To"] == f"whatsapp:{GUEST}"
    assert json.loads(second["ContentVariables"]) == {"1": "Ana", "2": new_pin}
    assert "Body" not in second  # outside the 24-hour window: the template, never free text
    assert mail.outbox == []


class WorkerKilled(BaseException):
    """The process dies: nothing after the call runs (not an Exception a batch catches)."""


def _kill_after_twilio_answers(monkeypatch, *, twilio_took_it: bool):
    from messaging import channels

    real_send = channels.SmsChannel.send

    def send_then_die(self, **kwargs):
        if twilio_took_it:
            real_send(self, **kwargs)
        raise WorkerKilled

    monkeypatch.setattr(channels.SmsChannel, "send", send_then_die)
    return lambda: monkeypatch.setattr(channels.SmsChannel, "send", real_send)


def test_a_worker_killed_after_twilio_took_the_sms_does_not_send_it_again(
    clock, prop, account, twilio, monkeypatch
):
    # rule G9 (S4): the retry finds the message at Twilio and records it as sent
    rule(prop, MessageRule.Channel.SMS)
    book(prop)
    revive = _kill_after_twilio_answers(monkeypatch, twilio_took_it=True)
    with pytest.raises(WorkerKilled):
        messages_send_due()
    revive()
    assert ScheduledMessage.objects.get().state == ScheduledMessage.State.SENDING
    clock.shift(timedelta(minutes=16))  # past STALE_SENDING: the sweep takes it again
    messages_send_due()
    [sms] = twilio.messages
    [delivery] = Delivery.objects.all()
    assert (delivery.state, delivery.provider_id) == ("sent", sms["sid"])
    assert ScheduledMessage.objects.get().state == ScheduledMessage.State.SENT
    assert Message.objects.get().state == Message.State.SENT
    messages_send_due()
    assert len(twilio.messages) == 1


def test_a_worker_killed_before_twilio_took_the_sms_sends_it_on_the_retry(
    clock, prop, account, twilio, monkeypatch
):
    # rules G9, S4: nothing at Twilio, so the guest still gets their code, once
    rule(prop, MessageRule.Channel.SMS)
    reservation = book(prop)
    revive = _kill_after_twilio_answers(monkeypatch, twilio_took_it=False)
    with pytest.raises(WorkerKilled):
        messages_send_due()
    revive()
    assert twilio.messages == []
    clock.shift(timedelta(minutes=16))
    messages_send_due()
    [sms] = twilio.messages
    assert reservation.access_code.pin in sms["Body"]
    interrupted, sent = Delivery.objects.order_by("id")
    assert (interrupted.state, interrupted.reason) == ("failed", "interrupted: not sent")
    assert (sent.state, sent.provider_id) == ("sent", sms["sid"])


@pytest.mark.parametrize(
    ("site_url", "expected"),
    [
        ("https://locksync.example.com", "https://locksync.example.com/webhooks/twilio/status/"),
        ("http://127.0.0.1:8000", None),  # Twilio could not reach it
        ("http://localhost:8000", None),
    ],
)
def test_twilio_is_asked_to_report_delivery_to_the_sites_public_address(
    clock, prop, account, twilio, settings, site_url, expected
):
    # rule G9: without a StatusCallback no delivered/failed state ever arrives
    settings.SITE_URL = site_url
    rule(prop, MessageRule.Channel.SMS)
    book(prop)
    messages_send_due()
    [sms] = twilio.messages
    assert sms.get("StatusCallback") == expected
