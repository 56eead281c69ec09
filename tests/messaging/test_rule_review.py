"""SPEC G11: a rule carrying %smartlock_code% or %guest_link% is checked before it is saved,
each problem with the upcoming stays it affects."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from guests.services import stay_language_set
from messaging.models import MessageRule, TwilioAccount
from messaging.rule_review import message_rule_problems
from messaging.services import message_rule_create, messages_send_due
from reservations.models import Reservation
from reservations.services import reservation_upsert
from tests.factories import MatchFactory, PropertyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CODE = "Hi %guest_first_name%, your code: %smartlock_code%"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def prop(host):
    prop = PropertyFactory(host=host, name="Hudson Loft", time_zone="UTC", checkin_time=time(16))
    MatchFactory(property=prop, lock__connection__host=host)  # the simulator: codes 3 days ahead
    return prop


def stay(prop, ref, *, days=10, phone="", email="guest@example.com", language=""):
    check_in = NOW.replace(hour=16) + timedelta(days=days)
    reservation, _ = reservation_upsert(
        host=prop.host,
        external_id=ref,
        property=prop,
        guest_name=f"Guest {ref}",
        guest_email=email,
        guest_phone=phone,
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        source=Reservation.Source.API,
    )
    if language:
        stay_language_set(reservation=reservation, language=language)
    return reservation


def draft(prop, **fields):
    values = {
        "host": prop.host,
        "name": "Door code",
        "body": CODE,
        "trigger": MessageRule.Trigger.BEFORE_CHECK_IN,
        "days_before": 1,
        **fields,
    }
    return MessageRule(**values)


def problems(prop, **fields) -> dict[str, list[str]]:
    found = message_rule_problems(rule=draft(prop, **fields), properties=[prop])
    return {problem.kind: [s.external_id for s in problem.stays] for problem in found}


def test_an_unknown_placeholder_is_refused_clearly_in_any_language(clock, prop):
    # rule G11 (G2)
    with pytest.raises(ValidationError, match="Unknown shortcode: %guest_lnk%"):
        message_rule_create(
            host=prop.host,
            properties=[prop],
            name="Link",
            body="Your page: %guest_lnk%",
            trigger=MessageRule.Trigger.BOOKING_ACCEPTED,
        )
    with pytest.raises(
        ValidationError, match="Unknown shortcode in the German variant: %tuer_code%"
    ):
        message_rule_create(
            host=prop.host,
            properties=[prop],
            name="Code",
            body=CODE,
            trigger=MessageRule.Trigger.BOOKING_ACCEPTED,
            variants={"de": {"body": "Ihr Code: %tuer_code%"}},
        )
    assert not MessageRule.objects.exists()


def test_a_rule_without_the_code_or_the_link_is_not_checked(clock, prop):
    # rule G11
    stay(prop, "A", email="")
    assert problems(prop, body="Welcome, %guest_first_name%!") == {}


def test_the_code_sent_before_it_is_on_the_lock_names_the_stays(clock, prop):
    # rule G11 (S2: the simulator gets codes 3 days before the window starts)
    stay(prop, "FAR", days=10)
    assert problems(prop, days_before=1) == {}
    assert problems(prop, days_before=3) == {}  # the same moment as the lock's: fine
    assert problems(prop, days_before=3, hours_before=0, send_time=time(15, 59)) == {
        "timing": ["FAR"]
    }
    assert problems(prop, days_before=0, hours_before=73, send_time=None) == {"timing": ["FAR"]}
    assert problems(prop, days_before=0, hours_before=72) == {}


def test_a_code_sent_at_booking_warns_for_stays_booked_before_the_lock_gets_it(clock, prop):
    # rule G11: typical stays booked 10 days ahead, and one booked two days ahead
    stay(prop, "FAR", days=10)
    stay(prop, "SOON", days=2)
    assert problems(prop, trigger=MessageRule.Trigger.BOOKING_ACCEPTED) == {"timing": ["FAR"]}


def test_the_guest_link_is_checked_too(clock, prop):
    # rule G11
    stay(prop, "A", email="")
    assert problems(prop, body="Your page: %guest_link%") == {"unreachable": ["A"]}


def test_an_sms_rule_names_the_stays_it_cannot_reach_by_sms(clock, prop):
    # rules G11, G8
    TwilioAccount.objects.create(
        host=prop.host, account_sid="AC" + "1" * 32, auth_token="t", sms_from="+12125550100"
    )
    stay(prop, "PHONE", phone="+12125550123")
    stay(prop, "EMAIL-ONLY", phone="")
    stay(prop, "BAD-PHONE", phone="12")
    stay(prop, "NOTHING", phone="", email="")
    assert problems(prop, channel="sms") == {
        "channel": ["EMAIL-ONLY", "BAD-PHONE"],
        "unreachable": ["NOTHING"],
    }
    # Best available moving on to email is no problem; no address at all still is.
    assert problems(prop, channel="best") == {"unreachable": ["NOTHING"]}


def test_an_sms_rule_without_a_twilio_account_reaches_no_one_by_sms(clock, prop):
    # rules G11, G8
    stay(prop, "PHONE", phone="+12125550123")
    assert problems(prop, channel="sms") == {"channel": ["PHONE"]}


def test_each_stay_language_without_a_variant_is_named(clock, prop):
    # rules G11, K4
    stay(prop, "EN", language="en")
    stay(prop, "DE", language="de")
    stay(prop, "FR", language="fr")
    stay(prop, "ANY", language="")
    found = message_rule_problems(rule=draft(prop), properties=[prop])
    assert [(p.kind, [s.external_id for s in p.stays]) for p in found] == [
        ("language", ["DE"]),
        ("language", ["FR"]),
    ]
    assert "No German variant" in found[0].message
    german = {"de": {"subject": "Ihr Code", "body": "Hallo, Ihr Code: %smartlock_code%"}}
    assert problems(prop, variants=german) == {"language": ["FR"]}
    assert problems(prop, language="fr", variants=german) == {"language": ["EN"]}


def test_a_stay_in_a_variants_language_is_sent_that_variant(clock, prop):
    # rules G11, K4: what the German guest reads
    message_rule_create(
        host=prop.host,
        properties=[prop],
        name="Door code",
        body=CODE,
        subject="Your code",
        trigger=MessageRule.Trigger.BOOKING_ACCEPTED,
        variants={
            "de": {"subject": "Ihr Code", "body": "Hallo %guest_first_name%: %smartlock_code%"}
        },
    )
    german = stay(prop, "DE", language="de", email="de@example.com")
    stay(prop, "EN", language="en", email="en@example.com")
    messages_send_due()
    by_address = {email.to[0]: email for email in mail.outbox}
    assert by_address["de@example.com"].subject == "Ihr Code"
    assert by_address["de@example.com"].body == f"Hallo Guest: {german.access_code.pin}"
    assert by_address["en@example.com"].subject == "Your code"


def test_the_editor_shows_the_problems_with_their_stays_before_saving(
    clock, client, host_user, prop
):
    # rule G11: nothing is saved until the host has read them
    stay(prop, "NOTHING", email="")
    client.force_login(host_user)
    form = {
        "name": "Door code",
        "properties": [prop.pk],
        "trigger": "before_check_in",
        "days_before": 1,
        "body": CODE,
        "channel": "email",
        "language": "en",
    }
    response = client.post(reverse("rule_new"), form)
    assert response.status_code == 200
    assert "no usable address for this message" in response.text
    assert "Guest NOTHING" in response.text
    assert "Save anyway" in response.text
    assert not MessageRule.objects.exists()

    response = client.post(reverse("rule_new"), {**form, "checked": "1"}, follow=True)
    rule = MessageRule.objects.get()
    assert response.redirect_chain[-1][0] == reverse("rule_detail", args=[rule.pk])
    assert "Guest NOTHING" in response.text  # the rule's page keeps listing it


def test_the_api_reports_the_checks_with_the_stays(clock, prop, host_user):
    # rule G11
    from tests.api.conftest import client_for

    stay(prop, "DE", language="de")
    api = client_for(host_user)
    payload = {
        "name": "Door code",
        "properties": [prop.pk],
        "body": CODE,
        "trigger": "before_check_in",
        "days_before": 1,
    }
    response = api.post("/api/v1/message-rules/", payload, format="json")
    assert response.status_code == 201
    [check] = response.json()["checks"]
    assert (check["kind"], check["reservations"]) == ("language", ["DE"])
