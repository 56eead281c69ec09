"""The 08:00 America/New_York healthcheck and backup codes (rules H1–H4)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accesscodes.healthcheck import healthcheck_run
from accesscodes.models import BackupCode, HealthcheckRun, LockCode
from accesscodes.selectors import smartlock_codes_for_reservation
from accesscodes.signals import backup_code_assigned
from integrations.base import Reason
from properties.models import SmartLockSettings
from tests.accesscodes.conftest import codes_on, device_of, settle
from tests.accesscodes.test_lifecycle import book

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "at"),
    [
        # Summer (EDT, UTC-4): 08:00 New York is 12:00 UTC.
        (utc(2026, 10, 31, 11, 59, 59), utc(2026, 10, 31, 12, 0)),
        # After the 1 November 2026 change (EST, UTC-5): 08:00 is 13:00 UTC.
        (utc(2026, 11, 2, 12, 59, 59), utc(2026, 11, 2, 13, 0)),
        # Spring forward on 8 March 2026: 08:00 EDT is 12:00 UTC again.
        (utc(2026, 3, 8, 11, 59, 59), utc(2026, 3, 8, 12, 0)),
    ],
)
def test_healthcheck_runs_at_eight_new_york_time_across_dst(clock, before, at):  # rule H1
    clock.move_to(before)
    assert healthcheck_run() is None
    clock.move_to(at)
    run = healthcheck_run()
    assert run is not None and run.run_date == at.date()
    clock.shift(timedelta(hours=3))
    assert healthcheck_run() is None  # once a day
    assert HealthcheckRun.objects.count() == 1


def failing_lock(lock, writes=50):
    device = device_of(lock)
    device.fault_count, device.fault_reason = writes, Reason.VENDOR_ERROR
    device.save()


def test_unset_codes_arriving_within_24h_are_retried_and_the_host_gets_one_email(
    clock, prop, lock, mailoutbox
):  # rules H1, H2
    clock.move_to(utc(2026, 6, 1, 11, 0))
    failing_lock(lock)
    first = book(prop, starts_in=timedelta(hours=10), external_id="A", name="Ana Silva")
    book(prop, starts_in=timedelta(hours=20), external_id="B", name="Bo Li")
    book(prop, starts_in=timedelta(hours=40), external_id="C", name="Cy Later")
    settle()
    mailoutbox.clear()
    attempts_before = first.access_code.lock_codes.get().attempts
    clock.move_to(utc(2026, 6, 1, 12, 0))
    run = healthcheck_run()
    assert (run.codes_checked, run.codes_failing) == (2, 2)
    assert first.access_code.lock_codes.get().attempts == attempts_before + 1
    [email] = mailoutbox
    assert email.to == [prop.host.alert_email]
    assert "Ana Silva" in email.body and "Bo Li" in email.body
    assert "Cy Later" not in email.body


def test_healthcheck_fixes_what_it_can_and_says_nothing_then(clock, prop, lock, mailoutbox):
    clock.move_to(utc(2026, 6, 1, 11, 0))
    failing_lock(lock, writes=1)
    reservation = book(prop, starts_in=timedelta(hours=10))
    settle()
    mailoutbox.clear()
    clock.move_to(utc(2026, 6, 1, 12, 0))
    run = healthcheck_run()
    assert run.codes_failing == 0 and mailoutbox == []
    assert reservation.access_code.lock_codes.get().state == LockCode.State.SET


def test_backup_code_is_given_to_a_guest_whose_code_failed_and_replaced_after_the_stay(
    clock, prop, lock, mailoutbox, django_capture_on_commit_callbacks
):  # rules H2, H3, H4
    clock.move_to(utc(2026, 6, 1, 11, 0))
    SmartLockSettings.objects.filter(host=prop.host, property=None).update(
        backup_codes_enabled=True, backup_pool_size=2
    )
    from accesscodes.services import backup_pool_ensure

    backup_pool_ensure(lock=lock)
    settle()
    backups = {b.name: b.pin for b in BackupCode.objects.filter(state=BackupCode.State.SET)}
    assert set(backups) == {"Backup 1", "Backup 2"}
    assert {name: codes_on(lock)[name] for name in backups} == backups

    failing_lock(lock)
    reservation = book(prop, starts_in=timedelta(hours=10))
    settle()
    sent = []
    backup_code_assigned.connect(lambda **kw: sent.append(kw["backup_code"].name), weak=False)
    mailoutbox.clear()
    clock.move_to(utc(2026, 6, 1, 12, 0))
    with django_capture_on_commit_callbacks(execute=True):
        run = healthcheck_run()
    assert run.backup_codes_assigned == 1
    # No healthcheck email to the host; the backup code goes to the guest (messaging), and as
    # this guest has no email address the host is told that message is held instead.
    assert [m.subject for m in mailoutbox] == [
        "Message to Ana Silva held: the guest has no email address"
    ]
    assert sent == ["Backup 1"]
    assert smartlock_codes_for_reservation(reservation=reservation) == [(lock, backups["Backup 1"])]

    device = device_of(lock)
    device.fault_count = 0
    device.save()
    clock.move_to(reservation.access_code.ends_at - timedelta(seconds=1))
    settle()
    assert codes_on(lock)["Backup 1"] == backups["Backup 1"]
    clock.move_to(reservation.access_code.ends_at)
    settle()
    assert codes_on(lock)["Backup 1"] != backups["Backup 1"]
    assert BackupCode.objects.filter(state=BackupCode.State.SET, reservation=None).count() == 2
    assert timezone.now() == reservation.access_code.ends_at


@pytest.mark.parametrize(
    ("starts_in", "nights", "selected"),
    [
        (timedelta(hours=24) - timedelta(seconds=1), 1, True),  # just inside the horizon
        (timedelta(hours=24), 1, False),  # at the horizon: not yet
        (-timedelta(days=2), 2, False),  # ended exactly now
        (-timedelta(days=2), 3, True),  # in stay
    ],
)
def test_healthcheck_looks_at_windows_overlapping_the_next_24_hours(
    clock, prop, lock, starts_in, nights, selected
):  # rule H1
    from accesscodes.healthcheck import healthcheck_selection

    failing_lock(lock)
    clock.move_to(utc(2026, 6, 1, 12, 0))
    now = timezone.now()
    clock.move_to(now - timedelta(days=3))
    book(prop, starts_in=starts_in + timedelta(days=3), nights=nights)
    clock.move_to(now)
    assert healthcheck_selection(now=now).exists() is selected


def test_healthcheck_finds_codes_whose_next_try_is_far_or_at_window_end(
    clock, prop, lock, monkeypatch
):  # rules H1, R1, R3: every unconfirmed code stays due within a day
    from accesscodes.healthcheck import healthcheck_selection
    from integrations.base import VendorError
    from integrations.simulator import SimulatorAdapter

    clock.move_to(utc(2026, 6, 1, 11, 0))

    def monthly_quota(self, lock_remote_id, spec):
        raise VendorError(Reason.RATE_LIMITED, "monthly quota", retry_after=30 * 86400)

    monkeypatch.setattr(SimulatorAdapter, "create_code", monthly_quota)
    book(prop, starts_in=timedelta(hours=10), external_id="Q", name="Quota Guest")
    settle()
    monkeypatch.undo()
    quota = LockCode.objects.get(access_code__reservation__external_id="Q")
    assert quota.last_error == Reason.RATE_LIMITED
    assert quota.next_attempt_at == timezone.now() + timedelta(days=1)

    failing_lock(lock)
    short = book(prop, starts_in=-timedelta(days=2, hours=12), nights=3, external_id="S")
    settle()
    LockCode.objects.filter(access_code__reservation=short).update(attempts=4)
    clock.move_to(LockCode.objects.get(access_code__reservation=short).next_attempt_at)
    settle()
    # The fifth failure would wait a day, past the window's end: the next look is at its end.
    stay = LockCode.objects.get(access_code__reservation=short)
    assert stay.next_attempt_at == short.access_code.ends_at
    selected = set(healthcheck_selection(now=timezone.now()).values_list("pk", flat=True))
    assert selected == {quota.pk, stay.pk}


def test_the_digest_links_to_the_failing_stays_page(clock, prop, lock, mailoutbox, client):
    from django.urls import reverse

    from messaging.models import HostAlert

    clock.move_to(utc(2026, 6, 1, 11, 0))
    failing_lock(lock)
    book(prop, starts_in=timedelta(hours=10))
    settle()
    clock.move_to(utc(2026, 6, 1, 12, 0))
    healthcheck_run()
    alert = HostAlert.objects.get(kind=HostAlert.Kind.HEALTHCHECK)
    assert alert.link == reverse("reservation_list") + "?show=failing"
    client.force_login(prop.host.members.get().user)
    page = client.get(alert.link)
    assert page.status_code == 200 and "Ana Silva" in page.text
