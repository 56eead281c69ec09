"""Dates and times in guest messages read in the guest's language, in the property's time
(rules K4, G3, V5): German "Montag, 9. März 2026", French "lundi 9 mars 2026", English as ever."""

import pytest
from django.core import mail
from django.utils import translation

from messaging.models import ScheduledMessage
from messaging.rendering import render
from messaging.services import messages_send_due
from tests.messaging.test_messages import (
    ARRIVAL_TEMPLATE,
    CHECK_IN,
    arrival_rule,
    book,
    clock,
    front_door,
    new_york,
    utc,
)

__all__ = ["clock", "front_door", "new_york"]  # fixtures

pytestmark = pytest.mark.django_db

DATES = "%checkin_date% %checkin_time% – %checkout_date% %checkout_time%"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Montag, 9. März 2026 16:00 – Donnerstag, 12. März 2026 11:00"),
        ("fr", "lundi 9 mars 2026 16:00 – jeudi 12 mars 2026 11:00"),
        ("es", "lunes, 9 de marzo de 2026 16:00 – jueves, 12 de marzo de 2026 11:00"),
        ("en", "Monday 9 March 2026 16:00 – Thursday 12 March 2026 11:00"),
        ("", "Monday 9 March 2026 16:00 – Thursday 12 March 2026 11:00"),  # unset: English
    ],
)
def test_shortcode_dates_are_in_the_guests_language_and_the_propertys_time(
    clock, new_york, front_door, language, expected
):  # rules K4, G3: 16:00 New York time, the day after clocks go forward
    reservation = book(new_york, check_in=CHECK_IN)
    reservation.language = language
    with translation.override("it"):  # whoever triggers the send, the guest's language counts
        assert render(reservation=reservation, subject="", body=DATES).body == expected


def test_a_german_guests_message_goes_out_with_german_dates(clock, new_york, front_door):
    # rules K4, G1, G3 against a fake clock
    arrival_rule(new_york, body=ARRIVAL_TEMPLATE)
    reservation = book(new_york, check_in=CHECK_IN)
    reservation.language = "de"
    reservation.save(update_fields=["language"])
    clock.move_to(utc(2026, 3, 8, 14, 0))
    messages_send_due()
    [email] = mail.outbox
    assert "Check-in: Montag, 9. März 2026 from 16:00." in email.body
    assert "Checkout: Donnerstag, 12. März 2026 by 11:00." in email.body
    assert ScheduledMessage.objects.get(reservation=reservation).state == "sent"
