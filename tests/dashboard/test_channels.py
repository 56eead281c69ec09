"""The dashboard for SMS and WhatsApp: the rule's channel, stays a saved rule skipped, the
host's Twilio account, and each message's deliveries (SPEC G8, G9, G11)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from messaging.models import Delivery, MessageRule, ScheduledMessage, TwilioAccount
from messaging.services import message_rule_create, messages_send_due
from reservations.models import Reservation
from reservations.services import reservation_upsert
from tests.dashboard.test_messaging import rule_form
from tests.fakes.server import FakeServer
from tests.fakes.twilio import FakeTwilio

SID, TOKEN = "AC" + "1" * 32, "0123456789abcdef" * 2
GUEST = "+12125550123"


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio()
    fake.add_account(SID, TOKEN)
    with FakeServer(fake) as server:
        settings.TWILIO_API_BASE = server.url
        yield fake


def twilio_form(**changes) -> dict:
    return {
        "account_sid": SID,
        "auth_token": TOKEN,
        "sms_from": "+1 212 555 0100",
        "messaging_service_sid": "",
        "whatsapp_from": "",
        "whatsapp_content_sid": "",
        "whatsapp_variables": "",
        **changes,
    }


def test_the_rule_form_offers_each_channel_and_saves_the_one_chosen(hannah, host, estate):
    # rule G8
    page = hannah.get(reverse("rule_new")).text
    for label in ("Best available", "SMS", "WhatsApp", "Email"):
        assert f">{label}</option>" in page
    hannah.post(reverse("rule_new"), rule_form(estate, name="By SMS", channel="sms"))
    assert MessageRule.objects.get(host=host, name="By SMS").channel == "sms"
    edit = hannah.get(reverse("rule_edit", args=[estate.rule.pk])).text
    assert '<option value="email" selected>' in edit


def test_an_unknown_channel_is_refused_on_the_form(hannah, host, estate):
    # rule G8
    response = hannah.post(reverse("rule_new"), rule_form(estate, channel="pigeon"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not MessageRule.objects.filter(host=host, name="Door code").exists()


def test_the_rule_page_counts_the_stays_it_skipped_and_sends_them_once_confirmed(hannah, estate):
    # rule G11: the estate's rule was saved after its stay was booked, due at once
    Reservation.objects.filter(pk=estate.reservation.pk).update(guest_email="ana@example.com")
    page = hannah.get(reverse("rule_detail", args=[estate.rule.pk])).text
    assert "1 existing stay was not sent this message" in page
    messages_send_due()
    assert mail.outbox == []

    response = hannah.post(reverse("rule_send_skipped", args=[estate.rule.pk]), follow=True)
    assert "1 existing stay gets" in response.text
    assert "not sent this message" not in response.text
    messages_send_due()
    [email] = mail.outbox
    assert email.to == ["ana@example.com"]
    assert estate.reservation.access_code.pin in email.body
    hannah.post(reverse("rule_send_skipped", args=[estate.rule.pk]))
    messages_send_due()
    assert len(mail.outbox) == 1


def test_sending_skipped_stays_is_a_post_with_csrf_and_only_for_the_hosts_own_rule(
    hannah, host_user, estate, foreign_estate
):
    # rule G11, tenancy
    url = reverse("rule_send_skipped", args=[estate.rule.pk])
    assert hannah.get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(host_user)
    assert strict.post(url).status_code == 403
    foreign = reverse("rule_send_skipped", args=[foreign_estate.rule.pk])
    assert hannah.post(foreign).status_code == 404
    assert hannah.get(reverse("rule_detail", args=[foreign_estate.rule.pk])).status_code == 404
    skipped = ScheduledMessage.State.SKIPPED
    assert ScheduledMessage.objects.filter(rule=foreign_estate.rule, state=skipped).count() == 1
    assert ScheduledMessage.objects.filter(rule=estate.rule, state=skipped).count() == 1


def test_a_twilio_account_is_checked_with_twilio_and_saved_with_its_token_hidden(
    hannah, host, twilio
):
    # rule G8 (SPEC §3: the token is encrypted and never shown again)
    response = hannah.post(reverse("twilio_account"), twilio_form(), follow=True)
    assert "Twilio is connected" in response.text
    account = TwilioAccount.objects.get(host=host)
    assert (account.sms_from, account.auth_token) == ("+12125550100", TOKEN)
    page = hannah.get(reverse("twilio_account")).text
    assert SID in page and TOKEN not in page
    assert "/webhooks/twilio/inbound/</code>" in page  # where STOP and START arrive (G10)

    # Saving again without the token keeps it.
    hannah.post(reverse("twilio_account"), twilio_form(auth_token="", sms_from="+12125550111"))
    account.refresh_from_db()
    assert (account.sms_from, account.auth_token) == ("+12125550111", TOKEN)


def test_a_token_twilio_refuses_is_a_clear_error_and_nothing_is_saved(hannah, host, twilio):
    # rule G8
    response = hannah.post(reverse("twilio_account"), twilio_form(auth_token="f" * 32))
    assert "Twilio refused this account SID and auth token" in response.text
    assert not TwilioAccount.objects.exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"account_sid": "SK" + "1" * 32}, "An account SID starts with AC"),
        ({"auth_token": "SK-not-a-token"}, "An auth token is 32 characters"),
        ({"sms_from": "212 555 0100"}, "with its country code, starting with +"),
        ({"sms_from": "+1 212 555"}, "+1 212 555 is not a valid phone number"),
        ({"sms_from": "", "whatsapp_from": "+99 123"}, "is not a valid phone number"),
        ({"messaging_service_sid": "MG123"}, "A Messaging Service SID starts with MG"),
        ({"sms_from": ""}, "Enter an SMS sender number, a Messaging Service SID or a WhatsApp"),
        ({"whatsapp_content_sid": "HX" + "a" * 32}, "A WhatsApp template needs the WhatsApp"),
        ({"whatsapp_variables": '{"1": "%door%"}'}, "Unknown shortcode: %door%"),
        ({"auth_token": ""}, "This field is required"),
    ],
)
def test_a_twilio_account_form_refuses_what_cannot_work(hannah, twilio, changes, error):
    # rule G8: each mistake is named where it was made
    response = hannah.post(reverse("twilio_account"), twilio_form(**changes))
    assert response.status_code == 200
    assert error in response.text
    assert not TwilioAccount.objects.exists()
    assert twilio.messages == []


def test_another_hosts_twilio_account_is_neither_shown_nor_changed(hannah, other_host, twilio):
    # tenancy
    TwilioAccount.objects.create(
        host=other_host, account_sid=SID, auth_token=TOKEN, sms_from="+12125550999"
    )
    page = hannah.get(reverse("twilio_account")).text
    assert "+12125550999" not in page and SID not in page
    response = hannah.post(reverse("twilio_account"), twilio_form())
    assert "connected to another host" in response.text
    assert TwilioAccount.objects.get().host == other_host


def _sms_stay(host, estate) -> Reservation:
    TwilioAccount.objects.create(
        host=host, account_sid=SID, auth_token=TOKEN, sms_from="+12125550100"
    )
    message_rule_create(
        host=host,
        name="Code by SMS",
        body="Your code: %smartlock_code%",
        trigger=MessageRule.Trigger.BOOKING_ACCEPTED,
        properties=[estate.property],
        channel=MessageRule.Channel.SMS,
    )
    check_in = timezone.now() + timedelta(days=2)
    reservation, _ = reservation_upsert(
        host=host,
        external_id="SMS-1",
        property=estate.property,
        guest_name="Ana Silva",
        guest_phone=GUEST,
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        source=Reservation.Source.API,
    )
    messages_send_due()
    return reservation


def test_the_conversation_and_the_api_show_each_delivery(client, hannah, host, estate, twilio):
    # rule G9
    reservation = _sms_stay(host, estate)
    [sms] = twilio.messages
    page = hannah.get(reverse("conversation", args=[reservation.pk])).text
    assert f"SMS to {GUEST}: Sent" in page

    data = {"MessageSid": sms["sid"], "MessageStatus": "undelivered", "AccountSid": SID}
    data |= {"ErrorCode": "30003", "ErrorMessage": "Unreachable destination handset"}
    url = "http://testserver/webhooks/twilio/status/"
    signature = RequestValidator(TOKEN).compute_signature(url, data)
    assert client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 204
    page = hannah.get(reverse("conversation", args=[reservation.pk])).text
    assert f"SMS to {GUEST}: Failed — Twilio 30003: Unreachable destination handset" in page
    assert Delivery.objects.get().state == "failed"

    from tests.api.conftest import client_for

    api = client_for(host.members.get().user)
    [message] = api.get("/api/v1/reservations/SMS-1/messages/").json()
    [delivery] = message["deliveries"]
    assert delivery["channel"] == "sms" and delivery["recipient"] == GUEST
    assert delivery["state"] == "failed" and "30003" in delivery["reason"]
    assert "provider_id" not in delivery


def test_the_stay_form_refuses_a_number_sms_cannot_use(hannah, estate):
    # rule G8: the stay form, with the property's country for national numbers
    next_year = timezone.now().year + 1
    form = {
        "property": estate.property.pk,
        "guest_name": "Carla Dias",
        "guest_phone": "912 345",
        "check_in_date": f"{next_year}-07-10",
        "check_in_time": "",
        "check_out_date": f"{next_year}-07-12",
        "check_out_time": "",
    }
    response = hannah.post(reverse("reservation_new"), form)
    assert response.status_code == 200
    assert "“912 345” is not a valid phone number" in response.text
    assert not Reservation.objects.filter(guest_name="Carla Dias").exists()
    hannah.post(reverse("reservation_new"), {**form, "guest_phone": "912 345 678"})
    assert Reservation.objects.get(guest_name="Carla Dias").guest_phone_e164 == "+351912345678"


def test_a_stay_no_channel_can_reach_is_shown_before_its_message_is_due(hannah, host, estate):
    # rules G8, G11: an SMS rule, a guest with neither a mobile number nor an email
    TwilioAccount.objects.create(
        host=host, account_sid=SID, auth_token=TOKEN, sms_from="+12125550100"
    )
    message_rule_create(
        host=host,
        name="Code by SMS",
        body="Your code: %smartlock_code%",
        trigger=MessageRule.Trigger.BEFORE_CHECK_IN,
        days_before=1,
        properties=[estate.property],
        channel=MessageRule.Channel.SMS,
    )
    check_in = timezone.now() + timedelta(days=5)
    reservation, _ = reservation_upsert(
        host=host,
        external_id="NO-ADDRESS",
        property=estate.property,
        guest_name="Nadia Ortiz",
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        source=Reservation.Source.API,
    )
    page = hannah.get(reverse("conversation", args=[reservation.pk])).text
    assert "Nadia Ortiz cannot be reached yet" in page
    assert "“Code by SMS” (SMS)" in page

    assert "“Welcome to Seaside Cottage” (Email)" in page  # the estate's email rule

    reservation.guest_phone = GUEST
    reservation.save(update_fields=["guest_phone"])
    page = hannah.get(reverse("conversation", args=[reservation.pk])).text
    assert "“Code by SMS”" not in page
    assert "“Welcome to Seaside Cottage” (Email)" in page
    reservation.guest_email = "nadia@example.com"
    reservation.save(update_fields=["guest_email"])
    page = hannah.get(reverse("conversation", args=[reservation.pk])).text
    assert "cannot be reached yet" not in page


def test_the_editor_saves_a_language_variant_and_shows_it_when_editing(hannah, host, estate):
    # rules G11, K4
    form = rule_form(
        estate,
        name="Code in two languages",
        language="en",
        subject_de="Ihr Türcode",
        body_de="Hallo %guest_first_name%, Ihr Code: %smartlock_code%",
    )
    hannah.post(reverse("rule_new"), form)
    rule = MessageRule.objects.get(host=host, name="Code in two languages")
    assert rule.variants == {
        "de": {
            "subject": "Ihr Türcode",
            "body": "Hallo %guest_first_name%, Ihr Code: %smartlock_code%",
        }
    }
    edit = hannah.get(reverse("rule_edit", args=[rule.pk])).text
    assert "Ihr Türcode" in edit

    response = hannah.post(reverse("rule_new"), {**form, "name": "Bad", "body_fr": "%code_porte%"})
    assert response.status_code == 200
    assert "Unknown shortcode in the French variant: %code_porte%" in response.text
    assert not MessageRule.objects.filter(name="Bad").exists()


def test_the_preview_shows_the_rule_check_as_the_host_types(hannah, estate):
    # rule G11: the estate's stay has no email, so an email rule with the code cannot reach it
    data = {
        "subject": "",
        "body": "Code: %smartlock_code%",
        "trigger": "before_check_in",
        "days_before": "1",
        "channel": "email",
        "properties": [estate.property.pk],
    }
    preview = hannah.post(reverse("rule_preview"), data, HTTP_HX_REQUEST="true").text
    assert "no usable address for this message" in preview
    assert "Ana Silva" in preview
    without_code = hannah.post(
        reverse("rule_preview"), {**data, "body": "Welcome!"}, HTTP_HX_REQUEST="true"
    ).text
    assert "no usable address" not in without_code
