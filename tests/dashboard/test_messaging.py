"""Message rules, the inbox's messages, iCal feeds (SPEC G1–G6, §4)."""

from django.urls import reverse

from messaging.models import Conversation, Message, MessageRule
from reservations.models import ICalFeed

HTMX = {"HTTP_HX_REQUEST": "true"}


def rule_form(estate, **changes) -> dict:
    return {
        "name": "Door code",
        "properties": [estate.property.pk],
        "trigger": "before_check_in",
        "days_before": 1,
        "hours_before": 0,
        "send_time": "",
        "subject": "Your stay at %property_name%",
        "body": "Hi %guest_first_name%, the door code is %smartlock_code%.",
        # The host read G11's check ("Save anyway"); tests/messaging/test_rule_review.py
        # covers the check itself.
        "checked": "1",
        **changes,
    }


def test_the_editor_lists_every_shortcode(hannah, estate):  # rule G2
    page = hannah.get(reverse("rule_new")).text
    for shortcode in ("%guest_name%", "%checkin_time%", "%reservation_code%", "%smartlock_code%"):
        assert shortcode in page


def test_a_rule_is_saved_and_listed(hannah, host, estate):  # rule G1
    response = hannah.post(reverse("rule_new"), rule_form(estate))
    rule = MessageRule.objects.get(host=host, name="Door code")
    assert response.url == reverse("rule_detail", kwargs={"pk": rule.pk})
    listing = hannah.get(reverse("rule_list")).text
    assert "Door code" in listing and "1 day before check-in" in listing


def test_unknown_shortcodes_are_reported_and_the_rule_is_not_saved(hannah, host, estate):
    response = hannah.post(reverse("rule_new"), rule_form(estate, body="Code: %door_code%"))
    assert response.status_code == 200 and "%door_code%" in response.text
    assert not MessageRule.objects.filter(name="Door code").exists()


def test_a_code_sent_more_than_3_days_ahead_warns_on_save_and_in_preview(hannah, estate):  # G5
    response = hannah.post(reverse("rule_new"), rule_form(estate, days_before=5), follow=True)
    assert "more than 3 days before check-in" in response.text
    # issue #24: after saving, the warning showed twice (flash message and the rule's page)
    assert response.text.count("more than 3 days before check-in") == 1
    preview = hannah.post(
        reverse("rule_preview"),
        {"trigger": "booking_accepted", "body": "Code %smartlock_code%"},
        **HTMX,
    )
    assert "more than 3 days before check-in" in preview.text
    close = hannah.post(
        reverse("rule_preview"),
        {"trigger": "before_check_in", "days_before": "1", "body": "Code %smartlock_code%"},
        **HTMX,
    )
    assert "more than 3 days" not in close.text


def test_the_preview_renders_against_a_real_stay_with_its_code(hannah, estate):  # rule G3
    pin = estate.reservation.access_code.pin
    preview = hannah.post(
        reverse("rule_preview"),
        {
            "subject": "Stay at %property_name%",
            "body": "Hi %guest_first_name%, code %smartlock_code%",
            "trigger": "before_check_in",
            "preview_reservation": estate.reservation.pk,
        },
        **HTMX,
    )
    assert "Stay at Seaside Cottage" in preview.text
    assert f"Hi Ana, code {pin}" in preview.text
    assert "<html" not in preview.text


def test_the_preview_refuses_another_hosts_stay(hannah, estate, foreign_estate):
    response = hannah.post(
        reverse("rule_preview"),
        {"body": "%guest_name%", "preview_reservation": foreign_estate.reservation.pk},
        **HTMX,
    )
    assert response.status_code == 404


def test_the_conversation_shows_the_stays_messages(hannah, estate):  # rule G6
    conversation = Conversation.objects.create(reservation=estate.reservation)
    Message.objects.create(
        conversation=conversation,
        channel="email",
        subject="Welcome",
        body="See you tomorrow, Ana.",
        state=Message.State.SENT,
    )
    page = hannah.get(reverse("conversation", kwargs={"pk": estate.reservation.pk})).text
    assert "See you tomorrow, Ana." in page and "No messages yet" not in page


def test_a_property_shows_its_ical_feeds_and_takes_a_new_one(hannah, estate):
    detail = reverse("property_detail", kwargs={"pk": estate.property.pk})
    assert f"https://example.com/{estate.property.host_id}.ics" in hannah.get(detail).text
    hannah.post(
        reverse("ical_feed_new", kwargs={"pk": estate.property.pk}),
        {"url": "https://www.airbnb.com/calendar/ical/1.ics?s=abc", "source": "airbnb"},
    )
    assert ICalFeed.objects.filter(property=estate.property).count() == 2
    remove = reverse("ical_feed_remove", kwargs={"pk": estate.feed.pk})
    assert "Stays it brought in remain" in hannah.get(remove).text
    hannah.post(remove)
    assert not ICalFeed.objects.filter(pk=estate.feed.pk).exists()


def test_a_rule_is_edited_and_a_bad_edit_changes_nothing(hannah, host, estate):  # rules G1, G2
    page = hannah.get(reverse("rule_edit", kwargs={"pk": estate.rule.pk})).text
    assert estate.rule.name in page
    refused = hannah.post(
        reverse("rule_edit", kwargs={"pk": estate.rule.pk}),
        rule_form(estate, name="Renamed", body="Code: %door_code%"),
    )
    assert refused.status_code == 200 and "%door_code%" in refused.text
    estate.rule.refresh_from_db()
    assert estate.rule.name != "Renamed"
    response = hannah.post(
        reverse("rule_edit", kwargs={"pk": estate.rule.pk}),
        rule_form(estate, name="Renamed", body="Hi %guest_first_name%, code %smartlock_code%"),
    )
    assert response.url == reverse("rule_detail", kwargs={"pk": estate.rule.pk})
    estate.rule.refresh_from_db()
    assert estate.rule.name == "Renamed"
    assert "%guest_first_name%" in estate.rule.body


def test_the_preview_shows_a_placeholder_guest_link_that_opens_nothing(hannah, client, estate):
    # rule §3: a preview issues no working guest link
    from urllib.parse import urlsplit

    from guests.models import GuestLink

    preview = hannah.post(
        reverse("rule_preview"),
        {
            "subject": "Your stay",
            "body": "Everything about it: %guest_link%",
            "trigger": "before_check_in",
            "preview_reservation": estate.reservation.pk,
        },
        **HTMX,
    )
    assert "Everything about it: http://" in preview.text
    assert not GuestLink.objects.exists()
    placeholder = preview.text.split("Everything about it: ")[1].split("<")[0].strip()
    page = client.get(urlsplit(placeholder).path)
    assert estate.reservation.guest_name not in page.content.decode()
    assert estate.reservation.access_code.pin not in page.content.decode()
