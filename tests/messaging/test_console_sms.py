"""The console SMS backend, the embedded default: SMS and WhatsApp printed to the log with a
Delivery stored, never sent (SPEC G8, G9); production refuses it like console email."""

import logging
from datetime import UTC, datetime, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from messaging.models import Delivery, Message, MessageRule
from messaging.services import message_rule_create, messages_send_due
from reservations.models import Reservation
from reservations.services import reservation_upsert
from tests.factories import MatchFactory, PropertyFactory
from tests.locksync.test_settings import PRODUCTION, run_manage

pytestmark = pytest.mark.django_db

GUEST = "+12125550123"


@pytest.fixture
def console(settings):
    settings.SMS_BACKEND = "console"


def test_an_sms_is_printed_and_its_delivery_stored_without_any_twilio_account(
    console, host, caplog
):
    # rules G8, G9
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        prop = PropertyFactory(host=host, name="Hudson Loft", time_zone="America/New_York")
        prop.checkin_time = time(16)
        prop.save()
        MatchFactory(property=prop, lock__connection__host=host)
        message_rule_create(
            host=host,
            properties=[prop],
            name="Code",
            body="Your code for %property_name%: %smartlock_code%",
            trigger=MessageRule.Trigger.BOOKING_ACCEPTED,
            channel=MessageRule.Channel.SMS,
        )
        check_in = datetime(2026, 3, 3, 21, 0, tzinfo=UTC)
        reservation, _ = reservation_upsert(
            host=host,
            external_id="BK-1",
            property=prop,
            guest_name="Ana Silva",
            guest_email="ana@example.com",
            guest_phone=GUEST,
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
            source=Reservation.Source.API,
        )
        with caplog.at_level(logging.INFO, logger="messaging.channels"):
            messages_send_due()
    pin = reservation.access_code.pin
    assert f"SMS to {GUEST} (console SMS backend, not sent):" in caplog.text
    assert f"Your code for Hudson Loft: {pin}" in caplog.text
    [delivery] = Delivery.objects.all()
    assert (delivery.channel, delivery.recipient, delivery.state) == ("sms", GUEST, "sent")
    assert delivery.provider_id.startswith("console-")
    assert Message.objects.get().state == Message.State.SENT
    assert mail.outbox == []


def test_without_the_console_backend_no_twilio_account_means_email(host, settings):
    # rule G8: the test settings use Twilio; with no account the SMS rule falls back
    assert settings.SMS_BACKEND == "twilio"
    prop = MatchFactory(lock__connection__host=host, property__host=host).property
    message_rule_create(
        host=host,
        properties=[prop],
        name="Code",
        body="%smartlock_code%",
        trigger=MessageRule.Trigger.BOOKING_ACCEPTED,
        channel=MessageRule.Channel.SMS,
    )
    reservation_upsert(
        host=host,
        external_id="BK-1",
        property=prop,
        guest_name="Ana Silva",
        guest_email="ana@example.com",
        guest_phone=GUEST,
        check_in=datetime.now(UTC) + timedelta(days=1),
        check_out=datetime.now(UTC) + timedelta(days=3),
        source=Reservation.Source.API,
    )
    messages_send_due()
    assert [d.channel for d in Delivery.objects.all()] == ["email"]
    assert len(mail.outbox) == 2  # the guest's email, and the host told once (G8)


def test_the_demo_holds_an_sms_conversation(console, caplog):
    # rule G8: README's demo — Brooklyn's stays get their code by SMS, printed by the worker
    call_command("demo", stdout=StringIO())
    rule = MessageRule.objects.get(name="Door code by SMS")
    assert rule.channel == "sms"
    with caplog.at_level(logging.INFO, logger="messaging.channels"):
        messages_send_due()
    priya = Reservation.objects.get(external_id="DEMO-4")  # in stay, +1 347 555 0199
    [delivery] = Delivery.objects.filter(scheduled__reservation=priya)
    assert (delivery.channel, delivery.recipient, delivery.state) == ("sms", "+13475550199", "sent")
    assert "SMS to +13475550199 (console SMS backend, not sent):" in caplog.text
    assert priya.access_code.pin in caplog.text
    call_command("demo", stdout=StringIO())
    assert MessageRule.objects.filter(name="Door code by SMS").count() == 1


@pytest.mark.parametrize("backend", ["console", "nonsense"])
def test_production_refuses_the_console_sms_backend(backend):
    # rule §3: it would print every PIN to the log and send nothing
    result = run_manage("check", **{**PRODUCTION, "SMS_BACKEND": backend})
    assert result.returncode != 0
    assert f"SMS_BACKEND={backend} prints every SMS" in result.stderr


def test_production_sends_sms_through_twilio_by_default():
    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.SMS_BACKEND)", **PRODUCTION
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("twilio")
