"""Editing a stay from the dashboard: the effect on codes is said before saving, overlaps are
warned about and need confirming, held messages show their reason and fix, bad input is a
form error (SPEC C1, C2, G4, V5)."""

import html
from datetime import time, timedelta

from django.urls import reverse
from django.utils import timezone

from accesscodes.models import LockCode
from accesscodes.presentation import local_time
from messaging.models import ScheduledMessage
from messaging.rule_checks import message_rule_send_skipped
from messaging.services import messages_send_due
from properties.selectors import smart_lock_settings_effective
from reservations.models import Reservation
from tests.dashboard.conftest import book, settle
from tests.factories import MatchFactory


def form_data(reservation: Reservation, **changes) -> dict:
    zone = reservation.property.zone
    check_in = reservation.check_in.astimezone(zone)
    check_out = reservation.check_out.astimezone(zone)
    data = {
        "property": reservation.property_id,
        "guest_name": reservation.guest_name,
        "guest_phone": reservation.guest_phone,
        "guest_email": reservation.guest_email,
        "check_in_date": check_in.date().isoformat(),
        "check_in_time": check_in.strftime("%H:%M"),
        "check_out_date": check_out.date().isoformat(),
        "check_out_time": check_out.strftime("%H:%M"),
    }
    return {**data, **changes}


def review_token(page: str) -> str:
    marker = 'name="review" value="'
    assert marker in page, "the review step offers to save"
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_a_later_checkout_is_shown_on_each_lock_before_saving_then_saved(hannah, estate):  # C1
    reservation = estate.reservation
    settle()
    pin = reservation.access_code.pin
    new_out_day = (
        reservation.check_out.astimezone(estate.property.zone) + timedelta(days=1)
    ).date()
    url = reverse("reservation_edit", kwargs={"pk": reservation.pk})
    data = form_data(reservation, check_out_date=new_out_day.isoformat(), check_out_time="10:00")

    review = hannah.post(url, data)

    assert review.status_code == 200
    new_out = estate.property.local_datetime(new_out_day, time(10))
    window_end = new_out + smart_lock_settings_effective(property=estate.property).buffer_after
    local_end = local_time(window_end, estate.property, "D j M, H:i")
    expected = f"The code's window on Garden Gate will end {local_end}"
    assert expected in html.unescape(review.text)
    assert "will start" not in review.text, "an untouched check-in is no change"
    assert "(Europe/Lisbon)" in expected
    reservation.refresh_from_db()
    assert reservation.check_out != new_out, "nothing is saved before the host confirms"

    saved = hannah.post(url, {**data, "review": review_token(review.text)})

    assert saved.status_code == 302
    reservation.refresh_from_db()
    assert reservation.check_out == new_out
    assert reservation.access_code.ends_at == window_end
    assert reservation.access_code.pin == pin  # the PIN stays (C1)


def test_saving_needs_the_review_of_the_same_data(hannah, estate):
    reservation = estate.reservation
    url = reverse("reservation_edit", kwargs={"pk": reservation.pk})
    review = hannah.post(url, form_data(reservation, guest_name="Ana Maria Silva"))
    token = review_token(review.text)

    hannah.post(url, {**form_data(reservation, guest_name="Somebody Else"), "review": token})

    reservation.refresh_from_db()
    assert reservation.guest_name == "Ana Silva"
    hannah.post(url, {**form_data(reservation, guest_name="Ana Maria Silva"), "review": token})
    reservation.refresh_from_db()
    assert reservation.guest_name == "Ana Maria Silva"


def test_moving_a_stay_says_which_lock_it_leaves_and_which_it_goes_onto(hannah, host, estate):  # C2
    other = MatchFactory(
        lock__connection__host=host,
        lock__device__name="Harbour Door",
        property__host=host,
        property__name="Harbour Flat",
        property__time_zone="Europe/Lisbon",
    )
    reservation = estate.reservation
    settle()
    url = reverse("reservation_edit", kwargs={"pk": reservation.pk})
    data = form_data(reservation, property=other.property.pk)

    review = hannah.post(url, data)
    assert "The code leaves Garden Gate at once" in review.text
    assert "A code will be created on Harbour Door" in review.text
    hannah.post(url, {**data, "review": review_token(review.text)})

    reservation.refresh_from_db()
    assert reservation.property == other.property
    states = dict(
        LockCode.objects.filter(access_code__reservation=reservation).values_list(
            "lock__name", "state"
        )
    )
    assert states["Harbour Door"] != LockCode.State.REMOVED
    leaving = LockCode.objects.get(access_code__reservation=reservation, lock=estate.lock)
    assert leaving.state == LockCode.State.REMOVED or leaving.delete_after <= timezone.now()


def test_an_overlapping_new_stay_is_warned_about_and_needs_confirming(hannah, estate):
    url = reverse("reservation_new")
    check_in = estate.reservation.check_in.astimezone(estate.property.zone) + timedelta(days=1)
    data = {
        "property": estate.property.pk,
        "guest_name": "Bruno Reis",
        "check_in_date": check_in.date().isoformat(),
        "check_out_date": (check_in + timedelta(days=2)).date().isoformat(),
    }

    warned = hannah.post(url, data)

    assert warned.status_code == 200
    assert "Overlaps the stay of Ana Silva" in warned.text
    assert not Reservation.objects.filter(guest_name="Bruno Reis").exists()
    confirmed = hannah.post(url, {**data, "overlap_confirmed": "on"})
    assert confirmed.status_code == 302
    assert Reservation.objects.filter(guest_name="Bruno Reis").exists()


def test_a_stay_that_does_not_overlap_is_added_without_a_question(hannah, estate):
    check_in = estate.reservation.check_out.astimezone(estate.property.zone) + timedelta(days=2)
    data = {
        "property": estate.property.pk,
        "guest_name": "Carla Dias",
        "check_in_date": check_in.date().isoformat(),
        "check_out_date": (check_in + timedelta(days=2)).date().isoformat(),
    }
    assert hannah.post(reverse("reservation_new"), data).status_code == 302


def test_an_edit_into_an_overlap_needs_confirming_too(hannah, estate):
    later = book(estate.property, name="Later Guest", starts_in=timedelta(days=10), n=2)
    url = reverse("reservation_edit", kwargs={"pk": later.pk})
    earlier_in = estate.reservation.check_in.astimezone(estate.property.zone)
    data = form_data(later, check_in_date=earlier_in.date().isoformat())
    page = hannah.post(url, data).text
    assert "Overlaps the stay of Ana Silva" in page and 'name="review"' not in page
    page = hannah.post(url, {**data, "overlap_confirmed": "on"}).text
    assert 'name="review"' in page


def test_a_held_message_shows_in_the_conversation_with_its_reason_and_fix(hannah, estate):  # G4
    reservation = estate.reservation
    ScheduledMessage.objects.filter(reservation=reservation).update(
        state=ScheduledMessage.State.HELD, held_reason="the guest has no email address"
    )
    page = hannah.get(reverse("conversation", kwargs={"pk": reservation.pk})).text

    assert "Held: Welcome to Seaside Cottage" in page
    assert "Not sent because the guest has no email address." in page
    assert reverse("reservation_edit", kwargs={"pk": reservation.pk}) in page
    assert "No messages yet." not in page


def test_adding_the_guests_email_releases_the_held_message(hannah, estate):  # G4
    reservation = estate.reservation
    Reservation.objects.filter(pk=reservation.pk).update(guest_email="")
    reservation.refresh_from_db()
    ScheduledMessage.objects.filter(reservation=reservation).update(
        state=ScheduledMessage.State.HELD, held_reason="the guest has no email address"
    )
    url = reverse("reservation_edit", kwargs={"pk": reservation.pk})
    data = form_data(reservation, guest_email="ana@example.com")
    review = hannah.post(url, data)
    hannah.post(url, {**data, "review": review_token(review.text)})

    reservation.refresh_from_db()
    assert reservation.guest_email == "ana@example.com"
    states = set(
        ScheduledMessage.objects.filter(reservation=reservation).values_list("state", flat=True)
    )
    assert ScheduledMessage.State.HELD not in states


def test_a_cancelled_stay_cannot_be_edited(hannah, estate):
    from reservations.services import reservation_cancel

    reservation_cancel(reservation=estate.reservation)
    url = reverse("reservation_edit", kwargs={"pk": estate.reservation.pk})
    assert hannah.get(url).status_code == 302


def test_bad_dates_on_a_new_stay_are_form_errors_not_500s(hannah, estate):
    url = reverse("reservation_new")
    base = {"property": estate.property.pk, "guest_name": "Dora Lima"}
    yesterday = (timezone.now() - timedelta(days=1)).date()
    cases = [
        ((yesterday - timedelta(days=3)).isoformat(), yesterday.isoformat(), "in the past"),
        ("0001-01-01", "0001-01-05", "between 2000 and 2100"),
        ("9999-12-25", "9999-12-31", "between 2000 and 2100"),
    ]
    for check_in, check_out, error in cases:
        response = hannah.post(
            url, {**base, "check_in_date": check_in, "check_out_date": check_out}
        )
        assert response.status_code == 200, (check_in, check_out)
        assert error in response.text
    assert not Reservation.objects.filter(guest_name="Dora Lima").exists()


def test_a_buffer_of_a_trillion_hours_is_a_form_error(hannah, estate):
    data = {
        "code_source": "random",
        "code_length": 4,
        "buffer_before": 10**12,
        "buffer_before_unit": "hours",
        "buffer_after": 0,
        "buffer_after_unit": "minutes",
        "backup_pool_size": 3,
    }
    response = hannah.post(reverse("host_settings"), data)
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to" in response.text
    response = hannah.post(reverse("host_settings"), {**data, "buffer_before": 9000})
    assert response.status_code == 200 and "At most 168 hours" in response.text


def test_the_rule_preview_with_a_superscript_two_is_not_a_500(hannah, estate):
    response = hannah.post(
        reverse("rule_preview"),
        {
            "body": "Hi",
            "trigger": "before_check_in",
            "days_before": "²",
            "preview_reservation": "²",
        },
    )
    assert response.status_code == 200


def test_a_message_held_for_a_missing_email_links_the_host_to_the_stays_edit_page(
    hannah, estate, mailoutbox, settings
):  # rule G4
    settings.SITE_URL = "https://locksync.example"
    reservation = estate.reservation
    assert reservation.guest_email == ""
    message_rule_send_skipped(rule=estate.rule)  # booked before the rule: confirmed (G11)
    messages_send_due()

    edit = reverse("reservation_edit", kwargs={"pk": reservation.pk})
    [alert_email] = mailoutbox
    assert alert_email.subject == "Message to Ana Silva held: the guest has no email address"
    assert alert_email.body.endswith(f"\n\nhttps://locksync.example{edit}\n")
    page = hannah.get(reverse("alert_list")).text
    assert f'<a href="{edit}">Fix this</a>' in page
    assert f"{edit}edit/" not in page


def test_a_message_held_for_a_missing_code_links_the_host_to_the_stays_panel(
    hannah, estate, mailoutbox
):  # rule G4: the Property Access panel on the stay's page says why there is no code
    reservation = estate.reservation
    Reservation.objects.filter(pk=reservation.pk).update(guest_email="ana@example.com")
    message_rule_send_skipped(rule=estate.rule)  # booked before the rule: confirmed (G11)
    estate.match.delete()
    reservation.access_code.delete()
    messages_send_due()

    [alert_email] = mailoutbox
    assert alert_email.subject == "Message to Ana Silva held: the guest has no door code yet"
    detail = reverse("reservation_detail", kwargs={"pk": reservation.pk})
    assert alert_email.body.endswith(f"{detail}\n")
    assert f'<a href="{detail}">Fix this</a>' in hannah.get(reverse("alert_list")).text
