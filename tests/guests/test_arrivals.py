"""Arrival from vendor events, the panel, and "not arrived N hours after check-in" (rule K5)."""

import json
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from accesscodes.models import LockCode
from guests.models import Arrival, StayCheck
from guests.prearrival import stay_checks_run_due
from guests.services import guest_settings_update
from tests.factories import (
    AccessCodeFactory,
    BackupCodeFactory,
    LockCodeFactory,
    MatchFactory,
    PropertyFactory,
    ReservationFactory,
)
from tests.integrations.test_webhooks import post_nuki, post_seam, seam_event

pytestmark = pytest.mark.django_db


def in_stay(lock, *, vendor_code_id="code-1", pin="4711", name="Ana Silva", starts_ago=1):
    prop = PropertyFactory(host=lock.connection.host, time_zone="Europe/Berlin", name="Loft")
    MatchFactory(lock=lock, property=prop)
    check_in = timezone.now() - timedelta(hours=starts_ago)
    reservation = ReservationFactory(
        property=prop, guest_name=name, check_in=check_in, check_out=check_in + timedelta(days=2)
    )
    access_code = AccessCodeFactory(reservation=reservation, pin=pin)
    LockCodeFactory(
        access_code=access_code,
        lock=lock,
        pin=pin,
        vendor_code_id=vendor_code_id,
        state=LockCode.State.SET,
    )
    return reservation


def panel_html(reservation) -> str:
    template = Template("{% load guest_panel %}{% guest_panel reservation %}")
    return template.render(Context({"reservation": reservation}))


def test_seam_unlock_with_the_guests_code_records_the_arrival(client, seam_lock):  # rule K5
    reservation = in_stay(seam_lock, vendor_code_id="ac_1")
    at = timezone.now().replace(microsecond=0)
    event = seam_event(
        seam_lock,
        "lock.unlocked",
        access_code_id="ac_1",
        method="keycode",
        occurred_at=at.isoformat(),
    )
    assert post_seam(client, seam_lock, event).status_code == 204
    arrival = Arrival.objects.get(reservation=reservation)
    assert (arrival.entered_at, arrival.lock_name) == (at, "Front door")
    local = at.astimezone(reservation.property.zone)
    assert f"arrived {local:%a %H:%M} at Front door" in panel_html(reservation)


def test_only_the_first_entry_is_kept(client, seam_lock):  # rule K5
    reservation = in_stay(seam_lock, vendor_code_id="ac_1")
    first = timezone.now().replace(microsecond=0)
    for at in (first, first + timedelta(hours=3)):
        event = seam_event(
            seam_lock, "lock.unlocked", access_code_id="ac_1", occurred_at=at.isoformat()
        )
        post_seam(client, seam_lock, event)
    assert Arrival.objects.get(reservation=reservation).entered_at == first


def test_an_unlock_by_another_code_or_outside_the_stay_is_not_an_arrival(client, seam_lock):
    reservation = in_stay(seam_lock, vendor_code_id="ac_1")
    for access_code_id, at in (
        ("ac_someone_else", timezone.now()),
        ("ac_1", timezone.now() - timedelta(days=3)),
    ):
        event = seam_event(
            seam_lock, "lock.unlocked", access_code_id=access_code_id, occurred_at=at.isoformat()
        )
        post_seam(client, seam_lock, event)
    assert not Arrival.objects.filter(reservation=reservation).exists()


def test_nuki_log_entry_with_the_guests_auth_id_records_the_arrival(client, nuki_lock):  # K5
    reservation = in_stay(nuki_lock, vendor_code_id="5f2a9c")
    payload = {
        "feature": "DEVICE_LOGS",
        "smartlockId": int(nuki_lock.remote_id),
        "smartlockLog": {
            "smartlockId": int(nuki_lock.remote_id),
            "authId": "5f2a9c",
            "action": 3,
            "trigger": 255,
            "date": timezone.now().isoformat(),
        },
    }
    assert post_nuki(client, nuki_lock, payload).status_code == 204
    assert Arrival.objects.get(reservation=reservation).vendor == "nuki"
    # A lock action (2) is not an entry.
    Arrival.objects.all().delete()
    payload["smartlockLog"]["action"] = 2
    post_nuki(client, nuki_lock, payload)
    assert not Arrival.objects.exists()


def test_a_forged_nuki_log_changes_nothing(client, nuki_lock):
    reservation = in_stay(nuki_lock, vendor_code_id="5f2a9c")
    payload = {"feature": "DEVICE_LOGS", "smartlockId": 1, "authId": "5f2a9c", "action": 1}
    assert post_nuki(client, nuki_lock, payload, secret="wrong").status_code == 403
    assert not Arrival.objects.filter(reservation=reservation).exists()


def test_ttlock_passcode_unlock_record_records_the_arrival(client, ttlock_lock):  # rule K5
    reservation = in_stay(ttlock_lock, pin="582914")
    at = timezone.now().replace(microsecond=0)
    records = [
        {"recordType": 7, "success": 1, "lockDate": int(at.timestamp() * 1000) - 5000},
        {
            "recordType": 4,
            "success": 1,
            "username": "Ana Silva",
            "keyboardPwd": "582914",
            "lockDate": int(at.timestamp() * 1000),
            "electricQuantity": 80,
        },
    ]
    response = client.post(
        "/webhooks/ttlock/?token=callback-token",
        data={"notifyType": "1", "lockId": ttlock_lock.remote_id, "records": json.dumps(records)},
    )
    assert response.content == b"success"
    assert Arrival.objects.get(reservation=reservation).entered_at == at


def test_ttlock_failed_passcode_attempt_is_not_an_arrival(client, ttlock_lock):
    reservation = in_stay(ttlock_lock, pin="582914")
    records = [{"recordType": 4, "success": 0, "keyboardPwd": "582914", "lockDate": 1}]
    client.post(
        "/webhooks/ttlock/?token=callback-token",
        data={"notifyType": "1", "lockId": ttlock_lock.remote_id, "records": json.dumps(records)},
    )
    assert not Arrival.objects.filter(reservation=reservation).exists()


def test_an_entry_with_the_stays_backup_code_counts(client, seam_lock):  # rule K5, H3
    reservation = in_stay(seam_lock, vendor_code_id="ac_1")
    BackupCodeFactory(lock=seam_lock, vendor_code_id="ac_backup", reservation=reservation)
    event = seam_event(seam_lock, "lock.unlocked", access_code_id="ac_backup")
    event["occurred_at"] = timezone.now().isoformat()
    post_seam(client, seam_lock, event)
    assert Arrival.objects.get(reservation=reservation).via == Arrival.Via.BACKUP_CODE


def test_a_lock_that_reports_no_entries_says_so(prop, lock):  # rule K5
    reservation = ReservationFactory(property=prop)
    assert f"{lock.name}: this lock doesn't report entries" in panel_html(reservation)


# --- not arrived N hours after check-in --------------------------------------------------------


def test_host_is_told_when_a_guest_has_not_arrived_n_hours_after_check_in(
    seam_lock, mailoutbox, settings
):  # rule K5
    reservation = in_stay(seam_lock, starts_ago=-1)  # check-in in an hour
    assert not StayCheck.objects.filter(kind=StayCheck.Kind.NOT_ARRIVED).exists()  # off
    guest_settings_update(host=seam_lock.connection.host, not_arrived_after_hours=3)
    notice = StayCheck.objects.get(reservation=reservation, kind=StayCheck.Kind.NOT_ARRIVED)
    assert notice.due_at == reservation.check_in + timedelta(hours=3)
    stay_checks_run_due(now=notice.due_at - timedelta(seconds=1))
    assert not [m for m in mailoutbox if "not arrived" in m.subject]
    import time_machine

    with time_machine.travel(notice.due_at, tick=False):
        stay_checks_run_due()
    [email] = [m for m in mailoutbox if "not arrived" in m.subject]
    assert "Ana Silva" in email.subject and "3 hours" in email.body


def test_no_not_arrived_notice_once_the_guest_came_in(client, seam_lock, mailoutbox):  # K5
    reservation = in_stay(seam_lock, vendor_code_id="ac_1", starts_ago=-1)
    guest_settings_update(host=seam_lock.connection.host, not_arrived_after_hours=2)
    import time_machine

    with time_machine.travel(reservation.check_in + timedelta(minutes=5), tick=False):
        post_seam(
            client,
            seam_lock,
            seam_event(
                seam_lock,
                "lock.unlocked",
                access_code_id="ac_1",
                occurred_at=timezone.now().isoformat(),
            ),
        )
    with time_machine.travel(reservation.check_in + timedelta(hours=2), tick=False):
        stay_checks_run_due()
    assert not [m for m in mailoutbox if "not arrived" in m.subject]
    notice = StayCheck.objects.get(reservation=reservation, kind=StayCheck.Kind.NOT_ARRIVED)
    assert notice.result == StayCheck.Result.ARRIVED
