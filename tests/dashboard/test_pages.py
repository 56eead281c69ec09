"""The dashboard's pages show the host what they need, and act through the services."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import LockCode
from integrations.models import Match, SimulatedDevice
from properties.models import SmartLockSettings
from reservations.models import Reservation
from tests.dashboard.conftest import book, settle
from tests.factories import LockCodeFactory, LockFactory, SimulatedCodeFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def device(lock) -> SimulatedDevice:
    return SimulatedDevice.objects.get(device_id=lock.remote_id)


def lock_code_of(reservation) -> LockCode:
    return LockCode.objects.get(access_code__reservation=reservation)


# --- properties, matching, settings ---------------------------------------------------------


def test_a_host_adds_a_property_with_its_time_zone_and_times(hannah, host):
    response = hannah.post(
        reverse("property_new"),
        {
            "name": "Harbour Loft",
            "address": "2 Quay",
            "time_zone": "America/New_York",
            "checkin_time": "15:00",
            "checkout_time": "10:30",
        },
    )
    property = host.properties.get(name="Harbour Loft")
    assert response.url == reverse("property_detail", kwargs={"pk": property.pk})
    page = hannah.get(response.url).text
    assert "America/New_York" in page and "15:00" in page and "10:30" in page


def test_matching_shows_how_many_codes_will_be_created_before_doing_it(
    hannah, host, estate
):  # rule M3
    book(estate.property, name="Bea Costa", n=1)
    new_lock = LockFactory(connection=estate.lock.connection, device__name="Back Door")
    url = reverse("match_new", kwargs={"pk": estate.property.pk})
    confirm = hannah.get(url, {"lock": new_lock.pk}).text
    assert "2 codes for upcoming stays will be created on Back Door" in confirm
    assert not Match.objects.filter(lock=new_lock).exists()
    hannah.post(url, {"lock": new_lock.pk, "confirm": "yes"})
    assert Match.objects.filter(lock=new_lock, property=estate.property).exists()
    assert LockCode.objects.filter(lock=new_lock).count() == 2


def test_unmatching_says_which_codes_leave_the_lock_now_then_does_it(hannah, estate):  # M4
    settle()
    assert lock_code_of(estate.reservation).state == LockCode.State.SET
    url = reverse("match_remove", kwargs={"pk": estate.match.pk})
    assert "1 code will be deleted from Garden Gate now" in hannah.get(url).text
    hannah.post(url)
    assert not Match.objects.filter(pk=estate.match.pk).exists()
    settle()
    assert not device(estate.lock).codes.exists()
    # The engine counts it removed once a later read of the lock no longer lists it (S7).
    assert lock_code_of(estate.reservation).state in {
        LockCode.State.REMOVING,
        LockCode.State.REMOVED,
    }


def test_host_settings_and_a_property_override_are_saved_through_the_form(hannah, host, estate):
    form = {
        "code_source": "phone",
        "code_length": 6,
        "buffer_before": 2,
        "buffer_before_unit": "hours",
        "buffer_after": 30,
        "buffer_after_unit": "minutes",
        "backup_pool_size": 3,
    }
    assert hannah.post(reverse("host_settings"), form).status_code == 302
    defaults = SmartLockSettings.objects.get(host=host, property=None)
    assert (defaults.code_source, defaults.code_length) == ("phone", 6)
    assert defaults.buffer_before == timedelta(hours=2)
    assert defaults.buffer_after == timedelta(minutes=30)
    assert not defaults.backup_codes_enabled

    override = {**form, "code_length": 8, "backup_codes_enabled": "on"}
    url = reverse("property_settings", kwargs={"pk": estate.property.pk})
    hannah.post(url, override)
    row = SmartLockSettings.objects.get(property=estate.property)
    assert (row.code_length, row.backup_codes_enabled) == (8, True)
    # Backup codes follow on the property's lock at once (rule H3).
    assert estate.lock.backup_codes.count() == 3
    detail = hannah.get(reverse("property_detail", kwargs={"pk": estate.property.pk})).text
    assert "This property has its own settings" in detail
    assert "2 hours before check-in, 30 minutes after checkout" in detail


def test_a_code_length_outside_4_to_8_is_refused(hannah, host):
    form = {
        "code_source": "random",
        "code_length": 9,
        "buffer_before": 0,
        "buffer_before_unit": "minutes",
        "buffer_after": 0,
        "buffer_after_unit": "minutes",
        "backup_pool_size": 3,
    }
    response = hannah.post(reverse("host_settings"), form)
    assert response.status_code == 200
    assert "less than or equal to 8" in response.text
    assert not SmartLockSettings.objects.filter(host=host).exists()


# --- locks ------------------------------------------------------------------------------------


def test_the_lock_page_marks_our_codes_apart_from_pre_existing_ones(hannah, estate):
    settle()
    SimulatedCodeFactory(device=device(estate.lock), name="Cleaner", pin="9051")
    page = hannah.get(reverse("lock_detail", kwargs={"pk": estate.lock.pk})).text
    assert "Ana Silva" in page and "locksync" in page
    assert "Cleaner" in page and "pre-existing" in page
    assert "9051" not in page  # a hand-made code's PIN is the host's business, not ours to show
    assert "Seaside Cottage" in page


def test_the_lock_page_reads_only_the_codes_the_lock_lists_now(
    hannah, estate
):  # issue #21: removed codes keep their vendor id; the page must not load the lock's history
    settle()
    past = [
        LockCodeFactory(
            lock=estate.lock,
            state=LockCode.State.REMOVED,
            vendor_code_id=f"simcode-gone-{n}",
            access_code__reservation__property=estate.property,
            access_code__reservation__guest_name=f"Past Guest {n}",
        )
        for n in range(5)
    ]
    SimulatedCodeFactory(
        device=device(estate.lock), name="Reused id", code_id=past[0].vendor_code_id
    )
    url = reverse("lock_detail", kwargs={"pk": estate.lock.pk})
    with CaptureQueriesContext(connection) as queries:
        page = hannah.get(url).text
    assert "Ana Silva" in page  # still listed and ours
    assert "Past Guest 0" in page  # a removed code the lock still lists is ours, named
    assert "Past Guest 1" not in page
    [lookup] = [
        q["sql"]
        for q in queries
        if 'FROM "accesscodes_lockcode"' in q["sql"]
        and "vendor_code_id" in q["sql"]
        and " IN " in q["sql"]
    ]
    assert "simcode-gone-1" not in lookup


def test_an_offline_lock_shows_the_troubleshooting_advice_and_why_codes_cannot_be_read(
    hannah, estate
):  # rule L2
    device(estate.lock).__class__.objects.filter(pk=device(estate.lock).pk).update(online=False)
    estate.lock.online = False
    estate.lock.battery_level = 12
    estate.lock.save()
    page = hannah.get(reverse("lock_detail", kwargs={"pk": estate.lock.pk})).text
    assert "Garden Gate is offline" in page
    assert "Replace the battery" in page
    assert "move the hub closer to the lock" in page
    assert "We could not read the codes from the lock" in page


def test_resync_lock_puts_a_code_deleted_by_hand_back_in_place(
    hannah, estate, django_capture_on_commit_callbacks
):  # rule Y1
    settle()
    device(estate.lock).codes.all().delete()
    with django_capture_on_commit_callbacks() as queued:
        response = hannah.post(reverse("lock_resync", kwargs={"pk": estate.lock.pk}), **HTMX)
    assert "Resyncing Garden Gate" in response.text
    assert "<html" not in response.text  # htmx gets the fragment only
    assert device(estate.lock).codes.count() == 0, "the request does not wait on the vendor"
    for callback in queued:
        callback()  # the worker's pass
    assert device(estate.lock).codes.count() == 1


def test_resync_refuses_a_get(hannah, estate):
    assert hannah.get(reverse("lock_resync", kwargs={"pk": estate.lock.pk})).status_code == 405


# --- reservations and the Property Access panel ------------------------------------------------


def test_a_manual_reservation_takes_property_local_dates_and_times(hannah, host, estate):
    next_year = timezone.now().year + 1
    response = hannah.post(
        reverse("reservation_new"),
        {
            "property": estate.property.pk,
            "guest_name": "Carla Dias",
            "guest_phone": "+351 912 345 678",
            "check_in_date": f"{next_year}-07-10",
            "check_in_time": "",
            "check_out_date": f"{next_year}-07-12",
            "check_out_time": "10:00",
        },
    )
    reservation = Reservation.objects.get(guest_name="Carla Dias")
    assert response.url == reverse("conversation", kwargs={"pk": reservation.pk})
    lisbon = estate.property.zone
    assert reservation.check_in == datetime(next_year, 7, 10, 16, tzinfo=lisbon)
    assert reservation.check_out == datetime(next_year, 7, 12, 10, tzinfo=lisbon)
    assert reservation.source == Reservation.Source.MANUAL
    assert reservation.access_code.lock_codes.count() == 1  # rule S1


def test_checkout_before_check_in_is_refused(hannah, estate):
    response = hannah.post(
        reverse("reservation_new"),
        {
            "property": estate.property.pk,
            "guest_name": "Backwards",
            "check_in_date": "2031-07-10",
            "check_out_date": "2031-07-09",
        },
    )
    assert "Checkout must be after check-in" in response.text
    assert not Reservation.objects.filter(guest_name="Backwards").exists()


def test_the_reservation_list_filters_by_code_state(hannah, estate):
    upcoming = book(estate.property, name="Later Guest", starts_in=timedelta(days=10), n=2)
    in_stay = book(estate.property, name="Here Now", starts_in=-timedelta(hours=2), n=3)
    settle()
    LockCode.objects.filter(access_code__reservation=upcoming).update(
        state=LockCode.State.FAILED, last_error="lock_offline"
    )
    url = reverse("reservation_list")
    failing = hannah.get(url, {"show": "failing"}).text
    assert "Later Guest" in failing and "Here Now" not in failing
    assert "failing on Garden Gate" in failing
    staying = hannah.get(url, {"show": "in_stay"}).text
    assert "Here Now" in staying and "Later Guest" not in staying
    assert "set on 1 of 1 lock" in staying
    assert in_stay.pk and "Later Guest" in hannah.get(url, {"show": "upcoming"}).text


def test_the_panel_shows_the_pin_window_and_each_locks_state(hannah, estate):  # rule V1
    url = reverse("conversation", kwargs={"pk": estate.reservation.pk})
    pin = estate.reservation.access_code.pin
    page = hannah.get(url).text
    assert "Property Access" in page
    assert pin in page and "Copy code" in page
    assert "Name on the lock: Ana Silva" in page
    local_start = timezone.localtime(estate.reservation.check_in, estate.property.zone)
    assert local_start.strftime("%H:%M") in page and "Europe/Lisbon time" in page
    assert "scheduled for" in page or "sending" in page
    settle()
    page = hannah.get(url).text
    assert "set" in page and "seen on the lock" in page  # rule S7
    assert "No messages yet." in page


def test_a_failing_code_shows_its_reason_and_next_attempt_and_retry_now_sets_it(
    hannah, estate, django_capture_on_commit_callbacks
):  # rules V1, V2, R2
    simulated = device(estate.lock)
    simulated.online = False
    simulated.save()
    settle()
    lock_code = lock_code_of(estate.reservation)
    assert lock_code.state == LockCode.State.FAILED
    panel = hannah.get(reverse("access_panel", kwargs={"pk": estate.reservation.pk})).text
    assert "failing: the lock was offline" in panel
    next_attempt = timezone.localtime(lock_code.next_attempt_at, estate.property.zone)
    assert f"next attempt {next_attempt:%a %-d %b, %H:%M}" in panel

    simulated.online = True
    simulated.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = hannah.post(reverse("lock_code_retry", kwargs={"pk": lock_code.pk}), **HTMX)
    assert 'id="access-panel"' in response.text and "<html" not in response.text
    assert "Trying again on Garden Gate" in response.text
    lock_code.refresh_from_db()
    assert lock_code.state in {LockCode.State.SET, LockCode.State.SETTING}


def test_resync_from_the_panel_refreshes_the_panel(
    hannah, estate, django_capture_on_commit_callbacks
):  # rule V2
    settle()
    device(estate.lock).codes.all().delete()
    url = reverse(
        "conversation_lock_resync",
        kwargs={"pk": estate.reservation.pk, "lock_pk": estate.lock.pk},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = hannah.post(url, **HTMX)
    assert "Resyncing Garden Gate" in response.text
    assert device(estate.lock).codes.count() == 1


def test_without_htmx_actions_redirect_back_to_the_conversation(hannah, estate):
    lock_code = lock_code_of(estate.reservation)
    response = hannah.post(reverse("lock_code_retry", kwargs={"pk": lock_code.pk}))
    assert response.url == reverse("conversation", kwargs={"pk": estate.reservation.pk})


def test_the_conversation_has_the_menu_button_for_narrow_screens(hannah, estate):  # rule V3
    page = hannah.get(reverse("conversation", kwargs={"pk": estate.reservation.pk})).text
    assert 'aria-controls="conversation-sidebar"' in page and 'aria-expanded="false"' in page


def test_alerts_are_listed_newest_first_with_their_link(hannah, host, estate):
    from tests.factories import HostAlertFactory

    HostAlertFactory(host=host, subject="Newest alert", link="/connections/")
    page = hannah.get(reverse("alert_list")).text
    assert page.index("Newest alert") < page.index("Garden Gate is offline")
    assert f'href="/locks/{estate.lock.pk}/"' in page


@pytest.mark.parametrize(
    "name",
    [
        "home",
        "property_list",
        "lock_list",
        "connection_list",
        "reservation_list",
        "inbox",
        "alert_list",
        "rule_list",
        "host_settings",
        "property_new",
        "reservation_new",
    ],
)
def test_every_page_needs_a_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_user_without_a_host_gets_no_dashboard_page(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("property_list")).status_code == 403


def test_the_nav_marks_the_section_the_page_is_in(hannah, estate):
    page = hannah.get(reverse("lock_detail", kwargs={"pk": estate.lock.pk})).text
    assert f'<a href="{reverse("lock_list")}" aria-current="page">Locks</a>' in page


def test_cancelling_a_stay_says_what_happens_to_its_codes_then_cancels(hannah, estate):  # C3
    settle()
    url = reverse("reservation_cancel", kwargs={"pk": estate.reservation.pk})
    assert "deleted from the lock in 24 hours" in hannah.get(url).text
    hannah.post(url)
    estate.reservation.refresh_from_db()
    assert estate.reservation.status == Reservation.Status.CANCELLED
    assert lock_code_of(estate.reservation).delete_after is not None


def test_a_stay_beyond_the_lead_time_is_scheduled_for_its_send_time_in_local_time(
    hannah, estate
):  # rules S2, V1
    later = book(estate.property, name="Dora Lima", starts_in=timedelta(days=10), n=4)
    lock_code = lock_code_of(later)
    assert lock_code.state == LockCode.State.SCHEDULED
    send_at = timezone.localtime(lock_code.next_attempt_at, estate.property.zone)
    panel = hannah.get(reverse("access_panel", kwargs={"pk": later.pk})).text
    assert f"scheduled for {send_at:%a %-d %b, %H:%M}" in panel


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (LockCode.State.WAITING_FOR_SPACE, "waiting for space on the lock"),
        (LockCode.State.SETTING, "sending to the lock"),
        (LockCode.State.REMOVED, "removed from the lock"),
    ],
)
def test_the_panel_names_every_code_state(hannah, estate, state, text):  # rule V1
    LockCode.objects.filter(access_code__reservation=estate.reservation).update(state=state)
    panel = hannah.get(reverse("access_panel", kwargs={"pk": estate.reservation.pk})).text
    assert f">{text}</span>" in panel


def test_a_vendor_confirmed_code_says_so_rather_than_seen_on_the_lock(hannah, estate):  # S7
    LockCode.objects.filter(access_code__reservation=estate.reservation).update(
        state=LockCode.State.SET, confirmation=LockCode.Confirmation.VENDOR
    )
    panel = hannah.get(reverse("access_panel", kwargs={"pk": estate.reservation.pk})).text
    assert "confirmed by the vendor" in panel and "seen on the lock" not in panel


def test_the_panel_gives_the_backup_code_while_it_stands_in_for_the_guests(
    hannah, estate
):  # rules H4, V1
    from tests.factories import BackupCodeFactory

    LockCode.objects.filter(access_code__reservation=estate.reservation).update(
        state=LockCode.State.FAILED, last_error="lock_full"
    )
    BackupCodeFactory(
        lock=estate.lock, pin="8642", state="set", reservation=estate.reservation, slot=1
    )
    panel = hannah.get(reverse("access_panel", kwargs={"pk": estate.reservation.pk})).text
    assert "Backup code" in panel and "8642" in panel
    assert f">{estate.reservation.access_code.pin}<" not in panel


def test_favicon_is_a_small_cached_icon_not_a_debug_404(client):
    # issue #24: /favicon.ico answered a 17 KB debug 404 on every first load
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content and len(response.content) < 2048
    assert "max-age" in response["Cache-Control"]


def test_lock_to_match_preselects_a_free_lock_not_another_propertys(hannah, host, estate):
    # issue #24: "Lock to match" preselected a lock another property already uses
    from tests.factories import PropertyFactory

    LockFactory(connection=estate.lock.connection, device__name="Zz Shed")  # matched nowhere
    other = PropertyFactory(host=host, name="Hill House")
    page = hannah.get(reverse("property_detail", kwargs={"pk": other.pk})).text
    select = page[page.index('name="lock"') : page.index("</select>")]
    first = select[select.index("<option") : select.index("</option>")]
    assert "Zz Shed" in first
    assert "Garden Gate" in select  # still offered, after the free one
