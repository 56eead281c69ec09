"""Message rules and a reservation's conversation over the API (SPEC G1, G2, G5, G6)."""

from datetime import UTC, datetime, timedelta

import time_machine

from messaging.models import MessageRule
from messaging.services import messages_send_due
from reservations.services import reservation_upsert
from tests.factories import MatchFactory, PropertyFactory


def rule_payload(prop, **overrides):
    payload = {
        "name": "Arrival",
        "properties": [prop.pk],
        "subject": "Your stay at %property_name%",
        "body": "Hi %guest_first_name%, your code is %smartlock_code%.",
        "trigger": "before_check_in",
        "days_before": 1,
        "send_time": "10:00",
    }
    payload.update(overrides)
    return payload


def test_a_rule_is_created_with_no_warning_when_the_code_goes_out_a_day_ahead(host, api):
    prop = PropertyFactory(host=host)
    response = api.post("/api/v1/message-rules/", rule_payload(prop), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["warnings"] == []
    assert MessageRule.objects.get().properties.get() == prop


def test_a_rule_sending_the_code_a_week_ahead_is_saved_with_a_warning(host, api):
    # rule G5
    prop = PropertyFactory(host=host)
    response = api.post("/api/v1/message-rules/", rule_payload(prop, days_before=7), format="json")
    assert response.status_code == 201
    [warning] = response.json()["warnings"]
    assert "more than 3 days before check-in" in warning


def test_unknown_shortcodes_are_a_400_on_the_body(host, api):
    # rule G2
    prop = PropertyFactory(host=host)
    response = api.post(
        "/api/v1/message-rules/", rule_payload(prop, body="Wifi: %wifi%"), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"body": ["Unknown shortcode: %wifi%"]}
    assert not MessageRule.objects.exists()


def test_rules_and_properties_of_another_host_are_out_of_reach(host, other_host, api):
    foreign_prop = PropertyFactory(host=other_host)
    refused = api.post("/api/v1/message-rules/", rule_payload(foreign_prop), format="json")
    assert refused.status_code == 400
    assert "properties" in refused.json()
    foreign_rule = MessageRule.objects.create(
        host=other_host, name="x", body="x", trigger="booking_accepted"
    )
    assert api.get(f"/api/v1/message-rules/{foreign_rule.pk}/").status_code == 404
    assert api.delete(f"/api/v1/message-rules/{foreign_rule.pk}/").status_code == 404


def test_the_conversation_shows_what_was_sent_to_the_guest(host, api):
    # rule G6
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        match = MatchFactory(lock__connection__host=host, property__host=host)
        api.post(
            "/api/v1/message-rules/",
            rule_payload(match.property, trigger="booking_accepted", send_time=None),
            format="json",
        )
        reservation, _ = reservation_upsert(
            host=host,
            external_id="BK-9",
            property=match.property,
            guest_name="Ana Silva",
            guest_email="ana@example.com",
            check_in=datetime(2026, 3, 10, 16, 0, tzinfo=UTC),
            check_out=datetime(2026, 3, 10, 16, 0, tzinfo=UTC) + timedelta(days=2),
            source="api",
        )
        messages_send_due()
        response = api.get("/api/v1/reservations/BK-9/messages/")
    assert response.status_code == 200
    [message] = response.json()
    assert message["state"] == "sent"
    assert message["recipient"] == "ana@example.com"
    assert message["body"] == f"Hi Ana, your code is {reservation.access_code.pin}."


def test_a_variant_with_an_unknown_shortcode_is_a_400(host, api):
    # rule G11
    prop = PropertyFactory(host=host)
    payload = rule_payload(prop, variants={"de": {"body": "Code: %tuercode%"}})
    response = api.post("/api/v1/message-rules/", payload, format="json")
    assert response.status_code == 400
    assert "Unknown shortcode in the German variant: %tuercode%" in str(response.json())
    assert not MessageRule.objects.exists()
