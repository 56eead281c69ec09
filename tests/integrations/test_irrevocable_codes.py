# ruff: noqa: F811  (the igloohome_slice fixture is imported from the slice tests)
"""Codes an igloohome algoPIN lock can neither change nor delete once issued (issue #14):
a longer or moved stay gets a new code and the guest its new PIN (C1, P6, G7); a code that
outlasts a shorter or cancelled stay is reported to the host, times in the property's zone."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from accesscodes.models import CodeEvent
from messaging.models import HostAlert, ScheduledMessage
from messaging.rendering import render
from reservations.services import reservation_cancel
from tests.api.conftest import client_for
from tests.integrations.test_engine_slices import igloohome_slice  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def issued(world) -> list[dict]:
    return world.fake.codes(world.native_id)


def alerts_of(host) -> list[str]:
    return [
        f"{alert.subject}\n{alert.body}"
        for alert in HostAlert.objects.filter(host=host, kind=HostAlert.Kind.CODE_STILL_WORKS)
    ]


def test_a_guest_sent_their_igloohome_pin_is_sent_the_new_one_when_the_stay_grows(
    igloohome_slice,
):  # rules C1, P6, G7
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    ScheduledMessage.objects.create(
        reservation=reservation, state=ScheduledMessage.State.SENT, included_code=True
    )
    old_pin = world.lock_code(reservation).pin
    world.upsert(reservation.check_in, reservation.check_out + timedelta(days=1))
    world.settle()
    lock_code = world.lock_code(reservation)
    assert len(issued(world)) == 2 and lock_code.pin != old_pin
    [follow_up] = ScheduledMessage.objects.filter(
        reservation=reservation, kind=ScheduledMessage.Kind.CODE_CHANGED
    )
    text = render(reservation=reservation, subject="New code", body="%smartlock_code%").body
    assert lock_code.pin in text and old_pin not in text


def test_the_old_igloohome_code_is_recorded_as_working_until_its_end_in_the_propertys_zone(
    igloohome_slice,
):  # rules C1, V5
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    first_end = datetime.fromisoformat(issued(world)[0]["endDate"]).astimezone(world.prop.zone)
    world.upsert(reservation.check_in, reservation.check_out + timedelta(days=1))
    world.settle()
    [event] = CodeEvent.objects.filter(kind="superseded")
    assert f"works until {first_end:%a} {first_end.day} {first_end:%b %Y, %H:%M}" in event.reason
    assert "(Europe/Lisbon)" in event.reason and "UTC" not in event.reason


def test_a_shorter_igloohome_stay_keeps_its_code_and_the_host_learns_until_when_it_works(
    igloohome_slice,
):  # rules C1, C3 on a lock that cannot change codes
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1), nights=3)
    world.settle()
    [code] = issued(world)
    end = datetime.fromisoformat(code["endDate"]).astimezone(world.prop.zone)
    world.upsert(reservation.check_in, reservation.check_out - timedelta(days=1))
    world.settle()
    assert issued(world) == [code]  # no new code: the old one covers the shorter stay
    [alert] = alerts_of(world.host)
    assert f"keeps working until {end:%a} {end.day} {end:%b %Y, %H:%M} (Europe/Lisbon)" in alert


def test_a_longer_igloohome_stay_raises_no_alert(igloohome_slice):
    # rule C1: the old code lies inside the new stay, so nobody keeps access they should not
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    world.upsert(reservation.check_in, reservation.check_out + timedelta(days=1))
    world.settle()
    assert alerts_of(world.host) == []


def test_a_moved_igloohome_stay_gets_a_new_code_and_the_host_learns_the_old_one_works_on(
    igloohome_slice,
):  # rules C1, C3 on a lock that cannot delete codes
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    week = timedelta(days=7)
    world.upsert(reservation.check_in + week, reservation.check_out + week)
    world.settle()
    lock_code = world.lock_code(reservation)
    assert len(issued(world)) == 2
    assert issued(world)[-1]["pin"] == lock_code.pin
    [alert] = alerts_of(world.host)
    assert "keeps working until" in alert


def test_the_cancelled_igloohome_code_is_alerted_once_and_the_panel_names_its_end(
    igloohome_slice,
    client,
    host_user,
):  # rules C3, V4, V5
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    reservation_cancel(reservation=reservation)
    world.settle()
    world.clock.shift(timedelta(hours=24, minutes=1))  # our record of it is closed by now
    world.settle()
    assert len(alerts_of(world.host)) == 1
    client.force_login(host_user)
    panel = client.get(reverse("access_panel", kwargs={"pk": reservation.pk})).content.decode()
    end = datetime.fromisoformat(issued(world)[0]["endDate"]).astimezone(world.prop.zone)
    assert f"keeps working until {end:%a} {end.day} {end:%b %Y, %H:%M} (Europe/Lisbon)" in panel
    assert ">removed from the lock" not in panel  # the code's state, not its history


def test_an_igloohome_code_of_a_day_or_less_carries_no_first_use_note(igloohome_slice):
    # rule G3; vendors/README §4: only codes longer than 24 h must be used within a day
    world = igloohome_slice
    check_in = world.book(starts_in=timedelta(days=1)).check_in
    reservation = world.upsert(check_in, check_in + timedelta(hours=12))
    world.settle()
    lock_code = world.lock_code(reservation)
    text = render(reservation=reservation, subject="Your code", body="%smartlock_code%").body
    assert text == lock_code.pin


def cancel_and_close(world, reservation) -> datetime:
    """Cancel the stay and let our record of its code close (24 h on); the code's end."""
    reservation_cancel(reservation=reservation)
    world.settle()
    world.clock.shift(timedelta(hours=24, minutes=1))
    world.settle()
    return datetime.fromisoformat(issued(world)[0]["endDate"]).astimezone(world.prop.zone)


def test_the_history_of_a_cancelled_igloohome_code_says_it_cannot_be_removed_and_until_when(
    igloohome_slice, client, host_user
):  # rules C3, D1 on a lock that cannot delete codes, V1, V5
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    end = cancel_and_close(world, reservation)
    lock_code = world.lock_code(reservation)
    assert lock_code.state == "removed"  # our record is closed; the lock was never asked
    history = [(event.kind, event.reason) for event in lock_code.events.order_by("pk")]
    assert "removed" not in [kind for kind, _ in history]
    until = f"{end:%a} {end.day} {end:%b %Y, %H:%M} (Europe/Lisbon)"
    assert history[-1] == (
        "expires_on_its_own",
        f"can't be removed from this lock; it stops working at {until}",
    )
    client.force_login(host_user)
    panel = client.get(reverse("access_panel", kwargs={"pk": reservation.pk})).content.decode()
    assert "removed from the lock" not in panel
    assert f"it stops working at {until}" in panel


def test_an_ended_igloohome_stays_history_says_its_code_stopped_working_on_its_own(
    igloohome_slice,
):  # rule D1 on a lock that cannot delete codes, V5
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1), nights=1)
    world.settle()
    lock_code = world.lock_code(reservation)
    end = lock_code.window_ends_at.astimezone(world.prop.zone)
    world.clock.move_to(lock_code.window_ends_at + timedelta(hours=24, minutes=1))
    world.settle()
    lock_code.refresh_from_db()
    [event] = lock_code.events.filter(kind="expires_on_its_own")
    until = f"{end:%a} {end.day} {end:%b %Y, %H:%M} (Europe/Lisbon)"
    assert event.reason == f"can't be removed from this lock; it stopped working at {until}"
    assert not lock_code.events.filter(kind="removed").exists()


def test_the_stays_list_says_a_cancelled_igloohome_code_keeps_working_until_its_end(
    igloohome_slice, client, host_user
):  # rules C3, V4, V5
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    end = cancel_and_close(world, reservation)
    client.force_login(host_user)
    page = client.get(reverse("reservation_list") + "?show=all").content.decode()
    assert "codes leave the locks" not in page
    assert f"cancelled: the code keeps working until {end:%a} {end.day} {end:%b, %H:%M}" in page


def test_the_api_says_a_cancelled_igloohome_code_keeps_working_until_its_end(
    igloohome_slice, host_user
):  # rules C3, V5 through the API (SPEC §4: a reservation's access, per-lock state)
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    end = cancel_and_close(world, reservation)
    api = client_for(host_user)
    access = api.get(f"/api/v1/reservations/{reservation.external_id}/access/").json()
    [lock] = access["locks"]
    until = f"{end:%a} {end.day} {end:%b %Y, %H:%M} (Europe/Lisbon)"
    assert lock["state_label"] == f"offline code: keeps working until {until}"
    assert lock["works_until"] == end.isoformat()


GERMAN_WEEKDAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
GERMAN_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August"]
GERMAN_MONTHS += ["September", "Oktober", "November", "Dezember"]


def test_a_german_guest_reads_the_first_use_deadline_in_german(igloohome_slice):
    # rules G3, K4, vendors/README §4: the note and its date in the guest's language,
    # in the property's time
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    reservation.language = "de"
    reservation.save(update_fields=["language"])
    world.settle()
    lock_code = world.lock_code(reservation)
    deadline = world.lock.capability_record.first_use_deadline(
        lock_code.window_starts_at, lock_code.window_ends_at
    ).astimezone(world.prop.zone)
    text = render(reservation=reservation, subject="", body="%smartlock_code%").body
    when = (
        f"{GERMAN_WEEKDAYS[deadline.weekday()]}, {deadline.day}. "
        f"{GERMAN_MONTHS[deadline.month - 1]} {deadline.year} {deadline:%H:%M}"
    )
    assert text == (
        f"{lock_code.pin} (geben Sie ihn bis {when} zum ersten Mal ein, "
        "sonst funktioniert er nicht mehr)"
    )


def test_cancelling_an_igloohome_stay_in_the_admin_says_the_code_keeps_working(
    igloohome_slice, client, support_agent
):  # rules C3, V5: the support agent is told what the host is told, not "codes leave"
    world = igloohome_slice
    reservation = world.book(starts_in=timedelta(days=1))
    world.settle()
    client.force_login(support_agent)
    cancel_url = reverse("admin:reservations_reservation_cancel", args=[reservation.pk])
    page = client.post(cancel_url, follow=True).content.decode()
    end = datetime.fromisoformat(issued(world)[0]["endDate"]).astimezone(world.prop.zone)
    assert f"was cancelled: the code keeps working until {end:%a} {end.day}" in page
    assert "(Europe/Lisbon)" in page
    assert "codes leave the locks." not in page
