"""The guest's page: each lock's code and readiness, shown from the reveal time (rule K2),
and "Code not working?" (rule K3)."""

from datetime import timedelta

import pytest

from accesscodes.models import BackupCode, CodeEvent, LockCode
from guests.models import GuestSettings
from guests.services import guest_settings_update
from integrations.base import Reason
from integrations.models import SimulatedDevice
from tests.guests.conftest import (
    backup_pool_placed,
    backups_on,
    book,
    codes_on,
    device_of,
    hours,
    link_path,
    settle,
)

pytestmark = pytest.mark.django_db


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_page_shows_the_stay_in_the_property_time_zone(client, clock, prop, lock):  # rule K2
    reservation = book(prop, starts_in=timedelta(days=5), name="Ana Silva")
    body = page(client, link_path(reservation))
    local_in = reservation.check_in.astimezone(prop.zone)
    assert "Altbau Loft" in body and "Kastanienallee 12, Berlin" in body
    assert "Welcome, Ana" in body
    assert f"{local_in:%H:%M}" in body and "Europe/Berlin" in body
    assert lock.name in body


def test_code_appears_at_the_hosts_reveal_time_and_not_before(client, clock, prop, lock):
    # rule K2: default reveal is 3 days before check-in
    reservation = book(prop, starts_in=timedelta(days=5))
    path = link_path(reservation)
    pin = reservation.access_code.pin
    reveal = reservation.check_in - timedelta(days=3)
    clock.move_to(reveal - timedelta(seconds=1))
    settle()
    body = page(client, path)
    assert pin not in body
    assert "Your door code will appear here on" in body
    clock.move_to(reveal)
    settle()
    body = page(client, path)
    assert pin in body
    assert f"Ready on {lock.name}" in body


def test_code_is_never_shown_before_the_lock_can_have_it(client, clock, prop, lock):  # rule K2
    # A lock holding only permanent codes gets its code 10 minutes before the window (S2).
    SimulatedDevice.objects.filter(device_id=lock.remote_id).update(time_bound_codes=False)
    lock.capabilities = device_of(lock).capability_record().to_json()
    lock.save()
    reservation = book(prop, starts_in=timedelta(days=2))
    path = link_path(reservation)
    pin = reservation.access_code.pin
    send_at = reservation.access_code.starts_at - timedelta(minutes=10)
    clock.move_to(send_at - timedelta(seconds=1))
    assert pin not in page(client, path)
    clock.move_to(send_at)
    assert pin in page(client, path)


def test_host_can_reveal_codes_later(client, clock, prop, lock):  # rule K2
    guest_settings_update(host=prop.host, reveal_before=timedelta(days=1))
    reservation = book(prop, starts_in=timedelta(days=2))
    path = link_path(reservation)
    pin = reservation.access_code.pin
    clock.move_to(reservation.check_in - timedelta(days=1, seconds=1))
    assert pin not in page(client, path)
    clock.move_to(reservation.check_in - timedelta(days=1))
    assert pin in page(client, path)


def test_code_disappears_when_the_window_ends(client, clock, prop, lock):  # rule K2
    reservation = book(prop, starts_in=timedelta(days=1), nights=1)
    path = link_path(reservation)
    pin = reservation.access_code.pin
    clock.move_to(reservation.access_code.ends_at - timedelta(seconds=1))
    assert pin in page(client, path)
    clock.move_to(reservation.access_code.ends_at)
    body = page(client, path)
    assert pin not in body
    assert "Your stay has ended" in body


def test_each_lock_says_whether_the_code_is_ready_there(
    client, clock, prop, lock, second_lock
):  # rule K2
    device = device_of(second_lock)
    device.fault_count, device.fault_reason = 50, Reason.LOCK_OFFLINE
    device.save()
    reservation = book(prop, starts_in=timedelta(days=1))
    settle()
    body = page(client, link_path(reservation))
    assert f"Ready on {lock.name}" in body
    assert f"Being set up on {second_lock.name}" in body


def test_page_is_small_and_works_without_javascript(client, clock, prop, lock, second_lock):
    reservation = book(prop, starts_in=timedelta(hours=1))
    clock.shift(hours(2))
    settle()
    response = client.get(link_path(reservation))
    assert len(response.content) < 50 * 1024
    body = response.content.decode()
    assert "<script" not in body
    assert 'name="viewport"' in body
    # The button is a plain form post.
    assert body.count('<form method="post"') == 2


# --- "Code not working?" (K3) --------------------------------------------------------------


def in_stay(client, clock, prop, lock, *, backups: bool = True):
    if backups:
        backups_on(prop)
    reservation = book(prop, starts_in=timedelta(hours=1), name="Ana Silva")
    if backups:
        backup_pool_placed(lock)
    settle()
    clock.shift(hours(2))
    return reservation, link_path(reservation)


def test_code_not_working_gives_a_backup_code_that_is_on_the_lock(
    client, clock, prop, lock, mailoutbox, django_capture_on_commit_callbacks
):  # rule K3, H5
    reservation, path = in_stay(client, clock, prop, lock)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{path}locks/{lock.pk}/help/")
    assert response.status_code == 302
    body = page(client, response["Location"])
    backup = BackupCode.objects.get(lock=lock, reservation=reservation)
    assert backup.pin in body
    assert backup.pin in codes_on(lock).values()
    assert "Please try the backup code shown above" in body
    [email] = mailoutbox
    assert email.to == [prop.host.alert_email]
    assert "Ana Silva" in email.subject and lock.name in email.subject
    assert CodeEvent.objects.filter(
        kind="guest_reported_code_not_working", access_code=reservation.access_code
    ).exists()


def test_code_not_working_re_attempts_the_guests_own_code_without_calling_the_vendor(
    client, clock, prop, lock, django_capture_on_commit_callbacks
):  # rule K3
    reservation, path = in_stay(client, clock, prop, lock)
    lock_code = reservation.access_code.lock_codes.get()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(f"{path}locks/{lock.pk}/help/")
    lock_code.refresh_from_db()
    assert lock_code.next_attempt_at is not None and lock_code.next_attempt_at <= clock_now()
    assert callbacks  # the lock pass is queued for after the request, not run inside it


def clock_now():
    from django.utils import timezone

    return timezone.now()


def test_a_backup_code_not_seen_on_the_lock_is_never_given(
    client, clock, prop, lock, mailoutbox, django_capture_on_commit_callbacks
):  # rule K3, H5
    reservation, path = in_stay(client, clock, prop, lock)
    # Nothing has read the lock's list for more than a day: its backup code may be gone.
    clock.shift(hours(25))
    guest_settings_update(host=prop.host, host_phone="+49 30 1234567")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{path}locks/{lock.pk}/help/")
    body = page(client, response["Location"])
    assert not BackupCode.objects.filter(reservation=reservation).exists()
    # The lock is looked at again (its backup codes read back, or restored) at once.
    from accesscodes.models import LockListing

    assert LockListing.objects.get(lock=lock).read_at == clock_now()
    assert "We could not give you a backup code" in body
    assert "+49 30 1234567" in body
    assert len(mailoutbox) >= 1  # the host still hears about it


def test_a_mail_server_that_is_down_does_not_take_the_backup_code_away(
    client, clock, prop, lock, django_capture_on_commit_callbacks, monkeypatch
):  # rule K3
    reservation, path = in_stay(client, clock, prop, lock)

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("smtp is down")

    monkeypatch.setattr("messaging.services.send_mail", smtp_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{path}locks/{lock.pk}/help/")
    assert response.status_code == 302
    backup = BackupCode.objects.get(reservation=reservation)
    assert backup.pin in page(client, response["Location"])


def test_at_most_three_requests_per_stay(client, clock, prop, lock):  # rule K3
    reservation, path = in_stay(client, clock, prop, lock)
    for _ in range(3):
        client.post(f"{path}locks/{lock.pk}/help/")
    response = client.post(f"{path}locks/{lock.pk}/help/")
    body = page(client, response["Location"])
    assert "already asked for help three times" in body
    assert "Code not working?" not in body
    assert (
        CodeEvent.objects.filter(
            kind="guest_reported_code_not_working", access_code=reservation.access_code
        ).count()
        == 3
    )


def test_outside_the_window_the_guest_is_told_what_to_do(client, clock, prop, lock):  # rule K3
    GuestSettings.objects.create(host=prop.host, host_phone="+49 30 7654321")
    backups_on(prop)
    reservation = book(prop, starts_in=timedelta(days=1))
    backup_pool_placed(lock)
    path = link_path(reservation)
    body = page(client, path)
    assert "Code not working?" not in body
    response = client.post(f"{path}locks/{lock.pk}/help/")
    body = page(client, response["Location"])
    assert "only works during your stay" in body
    assert "+49 30 7654321" in body
    assert not BackupCode.objects.filter(reservation=reservation).exists()
    assert not CodeEvent.objects.filter(kind="guest_reported_code_not_working").exists()


def test_lock_code_state_is_untouched_for_another_stays_lock(client, clock, prop, lock):
    from tests.factories import MatchFactory, PropertyFactory

    other_prop = PropertyFactory(host=prop.host, time_zone="Europe/Berlin")
    other_lock = MatchFactory(property=other_prop, lock__connection=lock.connection).lock
    reservation, path = in_stay(client, clock, prop, lock)
    assert client.post(f"{path}locks/{other_lock.pk}/help/").status_code == 404
    assert LockCode.objects.filter(lock=other_lock).count() == 0
