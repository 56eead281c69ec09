"""Guest messages: rules, shortcodes rendered at send time, held and retried sends (SPEC G1–G7)."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from accesscodes.models import AccessCode, LockCode
from accesscodes.services import access_code_pin_replace
from accesscodes.signals import backup_code_assigned
from messaging import channels
from messaging.models import HostAlert, Message, MessageRule, ScheduledMessage
from messaging.services import message_rule_create, message_rule_warnings, messages_send_due
from reservations.models import Reservation
from reservations.services import reservation_alter, reservation_cancel, reservation_upsert
from tests.factories import (
    AccessCodeFactory,
    BackupCodeFactory,
    LockCodeFactory,
    MatchFactory,
    PropertyFactory,
    ReservationFactory,
)

pytestmark = pytest.mark.django_db

ARRIVAL_TEMPLATE = (
    "Hi %guest_first_name%, welcome to %property_name%!\n"
    "Check-in: %checkin_date% from %checkin_time%. Checkout: %checkout_date% by "
    "%checkout_time%.\nYour door code: %smartlock_code%\nBooking %reservation_code%"
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(utc(2026, 3, 1, 12, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def new_york(host):
    return PropertyFactory(
        host=host,
        name="Hudson Loft",
        time_zone="America/New_York",
        checkin_time=time(16),
        checkout_time=time(11),
    )


@pytest.fixture
def front_door(new_york):
    return MatchFactory(property=new_york, lock__connection__host=new_york.host).lock


def book(prop, *, check_in: datetime, nights: int = 3, email="ana@example.com", **kw):
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id=kw.pop("external_id", "BK-1"),
        property=prop,
        guest_name="Ana Silva",
        guest_email=email,
        check_in=check_in,
        # 16:00 check-in, 11:00 checkout
        check_out=check_in + timedelta(days=nights) - timedelta(hours=5),
        reservation_code="HMABCDEF12",
        source=Reservation.Source.API,
    )
    return reservation


def arrival_rule(prop, **kw):
    defaults = {
        "name": "Arrival details",
        "subject": "Your stay at %property_name%",
        "body": ARRIVAL_TEMPLATE,
        "trigger": MessageRule.Trigger.BEFORE_CHECK_IN,
        "days_before": 1,
        "send_time": time(10, 0),
    }
    defaults.update(kw)
    return message_rule_create(host=prop.host, properties=[prop], **defaults)


# 16:00 New York time on Monday 9 March 2026, the day after clocks go forward.
CHECK_IN = utc(2026, 3, 9, 20, 0)


def test_a_rule_sends_at_its_local_time_across_a_dst_change(clock, new_york, front_door):
    # rules G1, W1: "1 day before at 10:00" is 10:00 EDT on Sunday 8 March = 14:00 UTC
    arrival_rule(new_york)
    reservation = book(new_york, check_in=CHECK_IN)
    scheduled = ScheduledMessage.objects.get(reservation=reservation)
    assert scheduled.send_after == utc(2026, 3, 8, 14, 0)

    clock.move_to(utc(2026, 3, 8, 13, 59))
    messages_send_due()
    assert mail.outbox == []

    clock.move_to(utc(2026, 3, 8, 14, 0))
    messages_send_due()
    [email] = mail.outbox
    assert email.to == ["ana@example.com"]
    assert email.subject == "Your stay at Hudson Loft"
    pin = reservation.access_code.pin
    assert email.body == (
        "Hi Ana, welcome to Hudson Loft!\n"
        "Check-in: Monday 9 March 2026 from 16:00. Checkout: Thursday 12 March 2026 by 11:00.\n"
        f"Your door code: {pin}\n"
        "Booking HMABCDEF12"
    )


def test_one_scheduled_message_per_reservation_and_rule(clock, new_york, front_door):
    # rule G1
    arrival_rule(new_york)
    reservation = book(new_york, check_in=CHECK_IN)
    book(new_york, check_in=CHECK_IN)  # the same booking again
    reservation_alter(reservation=reservation, guest_name="Ana M. Silva")
    assert ScheduledMessage.objects.filter(reservation=reservation).count() == 1


def test_a_rule_saved_after_the_booking_is_scheduled_for_it(clock, new_york, front_door):
    reservation = book(new_york, check_in=CHECK_IN)
    arrival_rule(new_york)
    assert ScheduledMessage.objects.get().reservation == reservation


def test_moving_check_in_moves_the_send_time(clock, new_york, front_door):
    arrival_rule(new_york)
    reservation = book(new_york, check_in=CHECK_IN)
    reservation_alter(reservation=reservation, check_in=CHECK_IN + timedelta(days=2))
    assert ScheduledMessage.objects.get().send_after == utc(2026, 3, 10, 14, 0)


def test_a_pin_changed_after_scheduling_is_sent_fresh(clock, new_york, front_door):
    # rule G3
    arrival_rule(new_york)
    reservation = book(new_york, check_in=CHECK_IN)
    old_pin = reservation.access_code.pin
    new_pin = access_code_pin_replace(
        access_code=reservation.access_code, reason="duplicate_code", avoid=set()
    )
    clock.move_to(utc(2026, 3, 8, 14, 0))
    messages_send_due()
    [email] = mail.outbox
    assert f"Your door code: {new_pin}\n" in email.body
    assert old_pin not in email.body


def test_a_guest_already_sent_their_code_gets_the_new_one(
    clock, new_york, front_door, django_capture_on_commit_callbacks
):
    # rule G7
    arrival_rule(new_york, trigger=MessageRule.Trigger.BOOKING_ACCEPTED, send_time=None)
    reservation = book(new_york, check_in=CHECK_IN)
    messages_send_due()
    assert len(mail.outbox) == 1

    with django_capture_on_commit_callbacks(execute=True):
        new_pin = access_code_pin_replace(
            access_code=AccessCode.objects.get(reservation=reservation),
            reason="duplicate_code",
            avoid=set(),
        )

    assert len(mail.outbox) == 2
    follow_up = mail.outbox[1]
    assert follow_up.subject == "Your new door code for Hudson Loft"
    assert f"\n\n{new_pin}\n\n" in follow_up.body
    assert follow_up.to == ["ana@example.com"]


def test_a_pin_change_before_anything_was_sent_sends_nothing_extra(
    clock, new_york, front_door, django_capture_on_commit_callbacks
):
    arrival_rule(new_york)
    reservation = book(new_york, check_in=CHECK_IN)
    with django_capture_on_commit_callbacks(execute=True):
        access_code_pin_replace(access_code=reservation.access_code, reason="x", avoid=set())
    messages_send_due()
    assert mail.outbox == []


def test_a_backup_code_is_sent_while_assigned_and_the_own_code_is_not_set(
    clock, new_york, front_door, django_capture_on_commit_callbacks
):
    # rules H2, H4
    arrival_rule(new_york)
    reservation = book(new_york, check_in=CHECK_IN)
    LockCode.objects.filter(lock=front_door).update(state=LockCode.State.FAILED)
    backup = BackupCodeFactory(lock=front_door, pin="739164", state="set", reservation=reservation)

    with django_capture_on_commit_callbacks(execute=True):
        backup_code_assigned.send(sender=None, backup_code=backup, reservation=reservation)
    [backup_email] = mail.outbox
    assert "\n\n739164\n\n" in backup_email.body

    clock.move_to(utc(2026, 3, 8, 14, 0))
    messages_send_due()
    assert "Your door code: 739164\n" in mail.outbox[1].body
    assert reservation.access_code.pin not in mail.outbox[1].body


def test_two_locks_with_different_codes_render_one_line_each(clock, new_york, front_door):
    # rule G3
    garage = MatchFactory(
        property=new_york, lock__connection=front_door.connection, lock__name="Zz Garage"
    ).lock
    arrival_rule(new_york, body="Codes:\n%smartlock_code%")
    reservation = book(new_york, check_in=CHECK_IN)
    pin = reservation.access_code.pin
    LockCode.objects.filter(lock=garage).update(pin="58213")
    clock.move_to(utc(2026, 3, 8, 14, 0))
    messages_send_due()
    assert mail.outbox[0].body == f"Codes:\n{front_door.name}: {pin}\nZz Garage: 58213"


def test_a_message_needing_a_code_is_held_and_the_host_alerted(host, clock, new_york, settings):
    settings.SITE_URL = "https://locksync.example"
    # rule G4: no lock matched, so no code
    arrival_rule(new_york)
    reservation = ReservationFactory(
        property=new_york, check_in=CHECK_IN, check_out=CHECK_IN + timedelta(days=3)
    )
    clock.move_to(utc(2026, 3, 8, 14, 0))
    messages_send_due()

    scheduled = ScheduledMessage.objects.get()
    assert scheduled.state == ScheduledMessage.State.HELD
    alert = HostAlert.objects.get(kind=HostAlert.Kind.MESSAGE_HELD)
    assert reservation.guest_name in alert.subject
    [host_email] = mail.outbox
    assert host_email.to == [host.alert_email]
    assert (
        host_email.subject
        == f"Message to {reservation.guest_name} held: the guest has no door code yet"
    )
    assert host_email.body == (
        f'The message "Arrival details" to {reservation.guest_name} was not sent: the guest has '
        "no door code yet.\n\n"
        # rule V5: the property's time, zone named (New York is on daylight time by 9 March)
        "Stay: Hudson Loft, check-in Mon 9 Mar 2026, 16:00 (America/New_York) "
        f"({reservation.reservation_code}).\n\n"
        "What you can do: check the reservation's Property Access panel: are its locks matched "
        "and online? The message goes out as soon as it can.\n\n"
        f"https://locksync.example/reservations/{reservation.pk}/\n"
    )

    messages_send_due()  # held stays held, and the host is not told twice
    assert len(mail.outbox) == 1

    access_code = AccessCodeFactory(reservation=reservation, pin="4826")
    LockCodeFactory(access_code=access_code)
    messages_send_due()
    assert mail.outbox[1].to == [reservation.guest_email]
    assert "Your door code: 4826\n" in mail.outbox[1].body


def test_a_failed_send_is_retried_and_sent_once(clock, new_york, front_door, monkeypatch):
    # rule G6: the conversation shows the delivery state
    arrival_rule(new_york)
    reservation = book(new_york, check_in=CHECK_IN)
    real_send = channels.EmailChannel.send
    failures = iter([True])

    def flaky(self, **kwargs):
        if next(failures, False):
            raise channels.ChannelError("SMTPServerDisconnected: try later")
        return real_send(self, **kwargs)

    monkeypatch.setattr(channels.EmailChannel, "send", flaky)
    clock.move_to(utc(2026, 3, 8, 14, 0))
    messages_send_due()

    scheduled = ScheduledMessage.objects.get()
    assert (scheduled.state, scheduled.attempts) == (ScheduledMessage.State.FAILED, 1)
    assert scheduled.send_after == utc(2026, 3, 8, 14, 1)
    assert mail.outbox == []
    message = reservation.conversation.messages.get()
    assert (message.state, message.error) == (Message.State.FAILED, scheduled.last_error)

    clock.move_to(utc(2026, 3, 8, 14, 0, 59))
    messages_send_due()
    assert mail.outbox == []
    clock.move_to(utc(2026, 3, 8, 14, 1))
    messages_send_due()
    messages_send_due()

    assert len(mail.outbox) == 1
    message = reservation.conversation.messages.get()
    assert message.state == Message.State.SENT
    assert message.sent_at == utc(2026, 3, 8, 14, 1)
    assert message.body == mail.outbox[0].body


def test_a_send_interrupted_mid_way_is_retried_later(clock, new_york, front_door):
    arrival_rule(new_york)
    book(new_york, check_in=CHECK_IN)
    clock.move_to(utc(2026, 3, 8, 14, 0))
    ScheduledMessage.objects.update(state=ScheduledMessage.State.SENDING)  # worker killed
    clock.move_to(utc(2026, 3, 8, 14, 20))
    messages_send_due()
    assert len(mail.outbox) == 1


def test_a_cancelled_stay_gets_no_more_messages(clock, new_york, front_door):
    arrival_rule(new_york)
    reservation = book(new_york, check_in=CHECK_IN)
    reservation_cancel(reservation=reservation)
    assert ScheduledMessage.objects.get().state == ScheduledMessage.State.CANCELLED
    clock.move_to(utc(2026, 3, 8, 14, 0))
    messages_send_due()
    assert mail.outbox == []


def test_unknown_shortcodes_are_reported_when_a_rule_is_saved(new_york):
    # rule G2
    with pytest.raises(ValidationError) as error:
        arrival_rule(new_york, body="Code %smartlock_code%, wifi %wifi_password% %guest_nme%")
    assert error.value.message_dict["body"] == ["Unknown shortcodes: %wifi_password%, %guest_nme%"]
    assert not MessageRule.objects.exists()


@pytest.mark.parametrize(
    ("settings_", "warned"),
    [
        ({"trigger": "booking_accepted", "send_time": None}, True),
        ({"days_before": 1, "send_time": time(10)}, False),
        ({"days_before": 3, "send_time": time(17)}, False),
        ({"days_before": 3, "send_time": time(9)}, True),
        ({"days_before": 4, "send_time": None}, True),
        ({"days_before": 3, "hours_before": 0, "send_time": None}, False),
        ({"days_before": 7, "body": "See you soon, %guest_first_name%"}, False),
        ({"trigger": "before_check_out", "hours_before": 2, "send_time": None}, False),
    ],
)
def test_a_rule_sending_the_code_more_than_3_days_ahead_gets_a_warning(new_york, settings_, warned):
    # rule G5
    rule = arrival_rule(new_york, **settings_)
    warnings = message_rule_warnings(rule=rule)
    assert bool(warnings) is warned
    if warned:
        assert "more than 3 days before check-in" in warnings[0]


def test_a_checkout_reminder_goes_out_hours_before_checkout(clock, new_york, front_door):
    message_rule_create(
        host=new_york.host,
        properties=[new_york],
        name="Checkout",
        body="Checkout is at %checkout_time% on %checkout_date%.",
        trigger=MessageRule.Trigger.BEFORE_CHECK_OUT,
        hours_before=3,
    )
    book(new_york, check_in=CHECK_IN)
    # Checkout 11:00 EDT on 12 March = 15:00 UTC; three hours earlier is 12:00 UTC.
    assert ScheduledMessage.objects.get().send_after == utc(2026, 3, 12, 12, 0)
