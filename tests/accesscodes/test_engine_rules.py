"""The defects of issue #9, one test each, named by the SPEC rule they break (S5, S9, R4, R5,
P6, P7, N2, H5). Each failed on the engine before the rebuild."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accesscodes import services
from accesscodes.engine.lease import LEASE_TTL, LeaseLost, lease_acquire
from accesscodes.engine.lock_pass import LockPass
from accesscodes.models import CodeEvent, LockCode, LockLease
from integrations.base import Reason
from integrations.models import SimulatedCode, SimulatedDevice
from integrations.simulator import SimulatorAdapter
from reservations.services import reservation_alter, reservation_cancel
from tests.accesscodes.conftest import codes_on, days, device_of, settle
from tests.accesscodes.test_lifecycle import book

pytestmark = pytest.mark.django_db


def window_on(lock, name: str):
    code = SimulatedCode.objects.get(device__device_id=lock.remote_id, name=name)
    return code.starts_at, code.ends_at


def run_during_create(monkeypatch, change) -> None:
    """Commit `change()` while the worker waits for the vendor's answer to a create."""
    original = SimulatorAdapter.create_code
    done = []

    def create_then_change(adapter, lock_remote_id, spec):
        remote = original(adapter, lock_remote_id, spec)
        if not done:
            done.append(True)
            change()
        return remote

    monkeypatch.setattr(SimulatorAdapter, "create_code", create_then_change)


# --- S9: a change committed during an in-flight write is never lost -------------------------


def test_a_stay_extended_while_its_code_is_being_sent_ends_with_the_new_checkout_on_the_lock(
    clock, prop, lock, monkeypatch
):  # rule S9
    reservation = book(prop, starts_in=timedelta(hours=5))
    new_checkout = reservation.check_out + days(2)
    run_during_create(
        monkeypatch,
        lambda: reservation_alter(reservation=reservation, check_out=new_checkout),
    )
    settle()
    access_code = reservation.access_code
    access_code.refresh_from_db()
    assert window_on(lock, "Ana Silva") == (access_code.starts_at, access_code.ends_at)
    lock_code = access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SET and lock_code.in_sync
    assert lock_code.window_ends_at == access_code.ends_at


def test_a_stay_cancelled_while_its_code_is_being_sent_ends_with_the_cut_window_on_the_lock(
    clock, prop, lock, monkeypatch
):  # rules S9, C3
    reservation = book(prop, starts_in=-timedelta(hours=5))  # in-stay: the window is cut now
    run_during_create(monkeypatch, lambda: reservation_cancel(reservation=reservation))
    settle()
    access_code = reservation.access_code
    access_code.refresh_from_db()
    assert access_code.cancelled_at is not None
    starts_at, ends_at = window_on(lock, "Ana Silva")
    assert ends_at == access_code.cancelled_at, "the lock keeps the full window"
    lock_code = access_code.lock_codes.get()
    assert lock_code.delete_after == access_code.cancelled_at + services.DELETE_GRACE


def test_a_pass_that_loses_the_race_keeps_the_vendor_id_it_learned(
    clock, prop, lock, monkeypatch
):  # rule S9: the code on the lock is never left untracked
    reservation = book(prop, starts_in=timedelta(hours=5))
    run_during_create(
        monkeypatch,
        lambda: reservation_alter(
            reservation=reservation, check_out=reservation.check_out + days(1)
        ),
    )
    services.dispatch_due()
    lock_code = reservation.access_code.lock_codes.get()
    on_lock = SimulatedCode.objects.get(device__device_id=lock.remote_id)
    assert lock_code.vendor_code_id == on_lock.code_id
    assert lock_code.next_attempt_at <= timezone.now(), "due again to apply the change"
    settle()
    assert device_of(lock).codes.count() == 1


def test_a_stay_extended_during_a_pass_is_not_overwritten_by_the_read_back_batch(
    clock, prop, lock, monkeypatch
):  # rule S9: the read-back stores its confirmations in one UPDATE, guarded per row
    stays = [
        book(prop, starts_in=timedelta(hours=5), external_id=f"B{n}", name=f"Guest {n}")
        for n in range(3)
    ]
    changed = stays[1]
    new_checkout = changed.check_out + days(2)
    original = SimulatorAdapter.create_code
    creates = []

    def change_after_the_last_create(adapter, lock_remote_id, spec):
        remote = original(adapter, lock_remote_id, spec)
        creates.append(spec.name)
        if len(creates) == 3:  # every code is now awaiting the pass's read-back
            reservation_alter(reservation=changed, check_out=new_checkout)
        return remote

    monkeypatch.setattr(SimulatorAdapter, "create_code", change_after_the_last_create)
    services.lock_process(lock_id=lock.pk)
    others = [stay.access_code.lock_codes.get() for stay in (stays[0], stays[2])]
    assert all(code.state == LockCode.State.SET for code in others), "the batch wrote them"
    lock_code = changed.access_code.lock_codes.get()
    assert not lock_code.in_sync and lock_code.next_attempt_at <= timezone.now()
    settle()
    changed.access_code.refresh_from_db()
    assert window_on(lock, "Guest 1")[1] == changed.access_code.ends_at
    assert device_of(lock).codes.count() == 3


# --- S5 / R4: the lease is short, renewed on every vendor call, and bounds a pass -----------


def test_a_second_worker_cannot_enter_a_lock_while_a_slow_pass_keeps_renewing_its_lease(
    clock, prop, lock, monkeypatch
):  # rule S5
    for n in range(20):
        book(prop, starts_in=timedelta(hours=5), external_id=f"S{n}", name=f"Guest {n}")
    entered = []
    original = SimulatorAdapter.create_code

    def slow_create(adapter, lock_remote_id, spec):
        clock.shift(timedelta(seconds=20))  # each call takes 20 s of the lease's 90
        entered.append(lease_acquire(lock.pk))  # the second worker tries mid-pass
        return original(adapter, lock_remote_id, spec)

    monkeypatch.setattr(SimulatorAdapter, "create_code", slow_create)
    for _ in range(20):  # worker one's passes, each queueing the next, as in production
        services.lock_process(lock_id=lock.pk)
    assert len(entered) == 20
    assert all(lease is None for lease in entered), "a second worker entered mid-pass"
    assert device_of(lock).codes.count() == 20


def test_a_pass_stops_taking_codes_when_its_time_budget_is_spent_and_queues_the_rest(
    clock, prop, lock, monkeypatch, django_capture_on_commit_callbacks
):  # rule S5
    for n in range(5):
        book(prop, starts_in=timedelta(hours=5), external_id=f"B{n}", name=f"Guest {n}")
    original = SimulatorAdapter.create_code
    queued = []
    monkeypatch.setattr(
        "accesscodes.engine.sweeps.lock_dispatch_enqueue",
        lambda lock_id, countdown=None: queued.append(lock_id),
    )

    def slow_create(adapter, lock_remote_id, spec):
        clock.shift(timedelta(seconds=12))
        return original(adapter, lock_remote_id, spec)

    monkeypatch.setattr(SimulatorAdapter, "create_code", slow_create)
    started = timezone.now()
    services.lock_process(lock_id=lock.pk)
    assert timezone.now() - started < LEASE_TTL
    assert 0 < device_of(lock).codes.count() < 5
    assert queued == [lock.pk], "the rest is queued for the next pass"
    settle()
    assert device_of(lock).codes.count() == 5


def test_a_pass_whose_lease_was_taken_over_stops_before_its_next_vendor_call(
    clock, prop, lock, monkeypatch
):  # rule S5
    book(prop, starts_in=timedelta(hours=5))
    lease = lease_acquire(lock.pk)
    LockLease.objects.filter(lock=lock).update(holder="someone else")
    clock.shift(timedelta(seconds=30))
    lock_pass = LockPass(lock, lease=lease)
    with pytest.raises(LeaseLost):
        lock_pass.run()
    assert codes_on(lock) == {}


def test_a_killed_workers_lock_is_free_again_within_two_minutes(clock, prop, lock):  # rule S5
    assert lease_acquire(lock.pk) is not None  # a worker takes the lock and is killed
    clock.shift(timedelta(seconds=60))
    assert lease_acquire(lock.pk) is None
    clock.shift(LEASE_TTL)
    assert lease_acquire(lock.pk) is not None


def test_a_write_interrupted_by_a_killed_worker_is_read_back_and_set_within_minutes(
    clock, prop, lock, monkeypatch
):  # rule R4
    reservation = book(prop, starts_in=timedelta(hours=5))

    def killed(adapter, lock_remote_id, spec):
        raise KeyboardInterrupt  # the worker dies mid-call; nothing reaches the lock

    monkeypatch.setattr(SimulatorAdapter, "create_code", killed)
    with pytest.raises(KeyboardInterrupt):
        services.dispatch_due()
    monkeypatch.undo()
    killed_at = timezone.now()
    for _ in range(10):
        clock.shift(timedelta(seconds=30))
        settle()
        lock_code = reservation.access_code.lock_codes.get()
        if lock_code.state == LockCode.State.SET:
            break
    assert lock_code.state == LockCode.State.SET
    assert timezone.now() - killed_at <= timedelta(minutes=5)
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}
    assert lock_code.attempts == 0, "an interrupted write is not a failure"


def test_a_write_applied_before_the_worker_was_killed_is_adopted_not_doubled(
    clock, prop, lock, monkeypatch
):  # rule R4
    reservation = book(prop, starts_in=timedelta(hours=5))
    original = SimulatorAdapter.create_code

    def applied_then_killed(adapter, lock_remote_id, spec):
        original(adapter, lock_remote_id, spec)
        raise KeyboardInterrupt

    monkeypatch.setattr(SimulatorAdapter, "create_code", applied_then_killed)
    with pytest.raises(KeyboardInterrupt):
        services.dispatch_due()
    monkeypatch.undo()
    clock.shift(LEASE_TTL + timedelta(seconds=1))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.SET
    assert device_of(lock).codes.count() == 1


# --- R5: no livelock, removals stay removals, space re-examined at once ---------------------


def test_a_cancelled_code_on_an_unreadable_lock_is_not_retried_every_minute(
    clock, prop, lock
):  # rule R5
    reservation = book(prop, starts_in=timedelta(hours=1))
    device = device_of(lock)
    device.fault_count, device.fault_reason = 1, Reason.TIMEOUT
    device.fault_mode = SimulatedDevice.FaultMode.TIMEOUT_APPLIED
    device.save()
    services.dispatch_due()  # the write times out: it may be on the lock (R4)
    device.refresh_from_db()
    device.online = False
    device.save()
    reservation_cancel(reservation=reservation)  # its window is cut to now
    failed_before = CodeEvent.objects.filter(kind="failed").count()
    for _ in range(10):
        clock.shift(timedelta(minutes=1))
        settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert CodeEvent.objects.filter(kind="failed").count() - failed_before <= 1
    assert lock_code.next_attempt_at is None or lock_code.next_attempt_at > timezone.now()


def test_a_retry_is_never_due_in_the_past(clock, prop, lock):  # rule R5
    reservation = book(prop, starts_in=-timedelta(hours=1), nights=1)
    device = device_of(lock)
    device.online = False
    device.save()
    clock.shift(days(1) + timedelta(minutes=30))  # the window has ended meanwhile
    services.dispatch_due()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.next_attempt_at is None or lock_code.next_attempt_at > timezone.now()


def test_a_code_being_removed_stays_removing_while_its_deletion_fails(clock, prop, lock):  # rule R5
    reservation = book(prop, starts_in=timedelta(hours=1), nights=1)
    settle()
    device = device_of(lock)
    device.online = False
    device.save()
    clock.move_to(reservation.access_code.ends_at + services.DELETE_GRACE)
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.REMOVING
    assert lock_code.last_error == Reason.LOCK_OFFLINE
    assert lock_code.delete_after > timezone.now()
    device.online = True
    device.save()
    clock.move_to(lock_code.delete_after)
    settle()
    assert codes_on(lock) == {}


def test_a_code_being_removed_from_a_disconnected_account_stays_removing(
    clock, prop, lock
):  # rule R5
    from integrations.models import LockConnection

    reservation = book(prop, starts_in=timedelta(hours=1), nights=1)
    settle()
    LockConnection.objects.filter(pk=lock.connection_id).update(
        state=LockConnection.State.DISCONNECTED
    )
    clock.move_to(reservation.access_code.ends_at + services.DELETE_GRACE)
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.REMOVING
    assert lock_code.last_error == Reason.ACCOUNT_DISCONNECTED
    assert lock_code.delete_after > timezone.now()


def test_a_code_waiting_for_space_is_sent_as_soon_as_a_slot_is_confirmed_free(
    clock, prop, lock
):  # rules R5, S8
    device = device_of(lock)
    device.capacity = 1
    device.save()
    lock.capabilities = {**lock.capabilities, "max_active_codes_supported": 1}
    lock.save()
    hand_made = SimulatedCode.objects.create(
        device=device, code_id="hand-1", pin="8642", name="Owner", applies_at=timezone.now()
    )
    reservation = book(prop, starts_in=timedelta(hours=5))
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.WAITING_FOR_SPACE
    hand_made.delete()  # the owner frees a slot by hand
    clock.shift(timedelta(minutes=1))
    from accesscodes.services import lock_reconcile

    lock.refresh_from_db()
    lock_reconcile(lock=lock)  # any read of the lock (here the daily one) sees the free slot
    settle()
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.SET


def test_the_healthcheck_does_not_write_a_code_the_retry_schedule_wrote_this_minute(
    clock, prop, lock, monkeypatch
):  # rule R5
    from accesscodes.healthcheck import healthcheck_run

    reservation = book(prop, starts_in=timedelta(hours=5))
    device = device_of(lock)
    device.online = False
    device.save()
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.FAILED
    attempted_at = lock_code.last_attempt_at
    clock.shift(timedelta(seconds=20))
    import accesscodes.healthcheck as healthcheck

    monkeypatch.setattr(healthcheck, "healthcheck_due_date", lambda now: now.date())
    healthcheck_run()
    lock_code.refresh_from_db()
    assert lock_code.last_attempt_at == attempted_at


# --- P6, P7, N2 --------------------------------------------------------------------------


def test_a_lock_that_keeps_rejecting_gets_its_own_pin_and_the_others_keep_theirs(
    clock, prop, lock, second_lock, told
):  # rule P6
    reservation = book(prop, starts_in=timedelta(hours=5))
    pin = reservation.access_code.pin
    device = device_of(second_lock)
    device.fault_count, device.fault_reason = 3, Reason.REJECTED
    device.fault_mode = SimulatedDevice.FaultMode.FAIL
    device.save()
    for _ in range(6):
        settle()
        clock.shift(timedelta(hours=1))
    reservation.access_code.refresh_from_db()
    assert reservation.access_code.pin == pin, "the guest's PIN did not change"
    assert codes_on(lock) == {"Ana Silva": pin}
    own = second_lock.lock_codes.get().pin
    assert list(codes_on(second_lock).values()) == [own]
    assert own != pin
    from accesscodes.selectors import smartlock_codes_for_reservation

    assert sorted(code for _, code in smartlock_codes_for_reservation(reservation=reservation)) == (
        sorted([pin, own])
    )
    assert len(told) == 1, "the guest is told once, when the lock holds its own PIN"


def test_a_lock_that_rejects_its_own_pin_too_does_not_churn_pins(
    clock, prop, lock, second_lock, told
):  # rule P6
    reservation = book(prop, starts_in=days(3))
    device = device_of(second_lock)
    device.fault_count, device.fault_reason = 50, Reason.REJECTED
    device.fault_mode = SimulatedDevice.FaultMode.FAIL
    device.save()
    pins_seen = set()
    for _ in range(48):  # two days of retries
        settle()
        pins_seen.add(second_lock.lock_codes.get().pin)
        clock.shift(timedelta(hours=1))
    reservation.access_code.refresh_from_db()
    assert len(pins_seen - {reservation.access_code.pin}) <= 1, "at most one PIN of its own"
    assert len(told) <= 1


def test_a_pin_already_listed_on_the_lock_is_never_chosen_at_booking(
    clock, prop, lock, monkeypatch
):  # rules P4, P7
    device = device_of(lock)
    SimulatedCode.objects.create(
        device=device, code_id="owner", pin="4821", name="Owner", applies_at=timezone.now()
    )
    choices = iter(["4821", "4821", "5937"])
    monkeypatch.setattr("accesscodes.pin.secrets.choice", lambda alphabet: next(digits))
    digits = iter("".join(next(choices) for _ in range(3)))
    reservation = book(prop, starts_in=days(10))
    assert reservation.access_code.pin == "5937"


def test_our_code_does_not_take_the_name_of_a_hand_made_code_even_where_duplicates_are_allowed(
    clock, prop, lock
):  # rule N2
    device = device_of(lock)
    assert not device.name_must_be_unique
    SimulatedCode.objects.create(
        device=device, code_id="hand", pin="8642", name="Ana Silva", applies_at=timezone.now()
    )
    reservation = book(prop, starts_in=timedelta(hours=5), reservation_code="HMANA")
    settle()
    assert codes_on(lock) == {"Ana Silva": "8642", "HMANA": reservation.access_code.pin}


# --- H5, Y1, Y2: backup codes are restored, and handed out only when seen on the lock -------


@pytest.fixture
def backups_on(prop, lock):
    from accesscodes.models import BackupCode
    from properties.models import SmartLockSettings

    SmartLockSettings.objects.filter(host=prop.host, property=None).update(
        backup_codes_enabled=True, backup_pool_size=2
    )
    services.backup_pool_ensure(lock=lock)
    settle()
    backups = {b.name: b.pin for b in BackupCode.objects.filter(state=BackupCode.State.SET)}
    assert set(backups) == {"Backup 1", "Backup 2"}
    return backups


def test_resync_restores_backup_codes_lost_in_a_factory_reset(
    clock, prop, lock, backups_on, django_capture_on_commit_callbacks
):  # rules Y1, H5
    device_of(lock).codes.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        services.lock_resync(lock=lock)
    settle()
    assert codes_on(lock) == backups_on


def test_the_daily_reconciliation_restores_missing_backup_codes(
    clock, prop, lock, backups_on
):  # rules Y2, H5
    device_of(lock).codes.filter(name="Backup 2").delete()
    assert services.lock_reconcile(lock=lock) == 1
    settle()
    assert codes_on(lock) == backups_on


def test_a_backup_code_the_lock_no_longer_lists_is_not_given_to_a_guest(
    clock, prop, lock, backups_on, mailoutbox
):  # rule H5
    from accesscodes.healthcheck import healthcheck_run
    from accesscodes.models import BackupCode

    device = device_of(lock)
    device.codes.all().delete()  # a factory reset
    device.fault_count, device.fault_reason = 50, Reason.VENDOR_ERROR
    device.save()
    reservation = book(prop, starts_in=timedelta(hours=10))
    settle()  # the pass reads the lock: the backup codes are gone
    clock.move_to(timezone.now().replace(hour=12, minute=0) + days(1))
    mailoutbox.clear()
    run = healthcheck_run()
    assert run.backup_codes_assigned == 0
    assert not BackupCode.objects.filter(reservation=reservation).exists()
    assert any("Ana Silva" in mail.body for mail in mailoutbox), "the host is told"
    assert BackupCode.objects.filter(next_attempt_at__lte=timezone.now()).exists() or (
        BackupCode.objects.filter(state=BackupCode.State.FAILED).exists()
    ), "the missing backup codes are being put back"


def test_a_backup_code_seen_on_the_lock_can_be_given_to_a_guest_for_one_lock(
    clock, prop, lock, backups_on
):  # rules H5, K3 (the service the guest page calls)
    reservation = book(prop, starts_in=timedelta(hours=10))
    backup = services.backup_code_assign_seen(reservation=reservation, lock=lock)
    assert backup is not None and backup.pin in backups_on.values()
    assert backup.reservation_id == reservation.pk
    assert services.backup_code_assign_seen(reservation=reservation, lock=lock) == backup


# --- P6: the "new code" message waits for the locks, or for 2 h before check-in -------------


@pytest.fixture
def told():
    from accesscodes.signals import pin_changed

    received = []

    def receiver(**kwargs):
        received.append(kwargs["access_code"].pin)

    pin_changed.connect(receiver, weak=False, dispatch_uid="test-told")
    yield received
    pin_changed.disconnect(dispatch_uid="test-told")


def test_a_new_pin_is_announced_only_once_every_lock_that_held_the_old_one_holds_it(
    clock, prop, lock, second_lock, told, django_capture_on_commit_callbacks
):  # rules P6, G7
    reservation = book(prop, starts_in=days(1))
    settle()
    with django_capture_on_commit_callbacks(execute=True):
        new_pin = services.access_code_pin_replace(
            access_code=reservation.access_code, reason="duplicate_code", avoid=set()
        )
    assert told == [], "not before the locks have the new PIN"
    device = device_of(second_lock)
    device.online = False
    device.save()
    settle()
    assert codes_on(lock) == {"Ana Silva": new_pin}
    assert told == [], "the second lock still holds the old PIN"
    device.online = True
    device.save()
    clock.shift(timedelta(hours=1))
    settle()  # the update is sent; it counts once the lock lists it (S7)
    assert codes_on(second_lock) == {"Ana Silva": new_pin}
    clock.shift(timedelta(minutes=1))
    settle()
    assert told == [new_pin]


def test_a_new_pin_is_announced_two_hours_before_check_in_even_if_a_lock_is_still_behind(
    clock, prop, lock, second_lock, told
):  # rule P6
    reservation = book(prop, starts_in=days(1))
    settle()
    new_pin = services.access_code_pin_replace(
        access_code=reservation.access_code, reason="duplicate_code", avoid=set()
    )
    device = device_of(second_lock)
    device.online = False
    device.save()
    clock.move_to(reservation.check_in - timedelta(hours=2, seconds=1))
    settle()
    assert told == []
    clock.move_to(reservation.check_in - timedelta(hours=2))
    settle()
    assert told == [new_pin]


def test_a_rate_limited_pass_stops_writing_and_queues_itself_for_when_the_vendor_allows(
    clock, prop, lock, monkeypatch
):  # rule R3; issue #15 (pacing)
    for n in range(5):
        book(prop, starts_in=timedelta(hours=5), external_id=f"R{n}", name=f"Guest {n}")
    device = device_of(lock)
    device.fault_count, device.fault_reason = 1, Reason.RATE_LIMITED
    device.fault_mode = SimulatedDevice.FaultMode.FAIL
    device.save()
    creates, queued = [], []
    original = SimulatorAdapter.create_code

    def counted(adapter, lock_remote_id, spec):
        creates.append(spec.name)
        return original(adapter, lock_remote_id, spec)

    monkeypatch.setattr(SimulatorAdapter, "create_code", counted)
    monkeypatch.setattr(
        "accesscodes.engine.sweeps.lock_dispatch_enqueue",
        lambda lock_id, countdown=None: queued.append((lock_id, countdown)),
    )
    services.lock_process(lock_id=lock.pk)
    assert len(creates) == 1, "no more writes after the vendor said to wait"
    [(lock_id, countdown)] = queued
    assert lock_id == lock.pk and 59 <= countdown <= 60
    clock.shift(timedelta(seconds=countdown))
    settle()
    assert len(codes_on(lock)) == 5


def test_a_stay_cancelled_during_a_pass_is_not_brought_back_by_that_pass(
    clock, prop, lock, monkeypatch
):  # rules S9, C3
    first = book(prop, starts_in=timedelta(hours=5), external_id="F", name="First Guest")
    second = book(prop, starts_in=timedelta(hours=6), external_id="S", name="Second Guest")
    # The second guest's PIN is on the lock already (a hand-made code): the pass will fail it
    # without a vendor call, after the web request below has dropped it.
    SimulatedCode.objects.create(
        device=device_of(lock),
        code_id="hand",
        pin=second.access_code.pin,
        name="Owner",
        applies_at=timezone.now(),
    )
    run_during_create(monkeypatch, lambda: reservation_cancel(reservation=second))
    services.dispatch_due()
    lock_code = second.access_code.lock_codes.get()
    assert lock_code.state == LockCode.State.REMOVED
    settle()
    assert "Second Guest" not in codes_on(lock)
    assert codes_on(lock)["First Guest"] == first.access_code.pin


def test_a_phone_pin_the_lock_already_lists_is_not_mailed_at_booking(clock, prop, lock):
    # rules P3, P7: the owner's permanent code equals the guest's last phone digits
    from tests.accesscodes.test_failures import phone_source

    phone_source(prop)
    SimulatedCode.objects.create(
        device=device_of(lock), code_id="owner", pin="5847", name="Owner", applies_at=timezone.now()
    )
    reservation = book(prop, starts_in=days(10), guest_phone="+351 912 345 847")
    assert reservation.access_code.pin != "5847"
    assert reservation.access_code.pin_source == "random"


def test_retry_now_and_resync_never_call_the_vendor_inside_the_request(
    clock, prop, lock, monkeypatch, django_capture_on_commit_callbacks
):  # rules V2, Y1: a web request never waits on a vendor (issue #9, defect 10)
    reservation = book(prop, starts_in=timedelta(hours=5))
    device = device_of(lock)
    device.online = False
    device.save()
    settle()
    lock_code = reservation.access_code.lock_codes.get()
    device.online = True
    device.save()

    def no_vendor(*args, **kwargs):
        raise AssertionError("a vendor call inside the request")

    with monkeypatch.context() as patched:
        for name in ("list_codes", "create_code", "update_code", "delete_code"):
            patched.setattr(SimulatorAdapter, name, no_vendor)
        with django_capture_on_commit_callbacks() as queued:
            services.lock_code_retry_now(lock_code=lock_code)
            services.lock_resync(lock=lock)
    assert queued, "a pass is queued on commit"
    lock_code.refresh_from_db()
    assert lock_code.state == LockCode.State.FAILED and lock_code.next_attempt_at <= timezone.now()
    for callback in queued:
        callback()  # the worker
    assert codes_on(lock) == {"Ana Silva": reservation.access_code.pin}


def test_a_code_whose_retried_deletion_went_through_is_not_put_back(
    clock, prop, lock
):  # rules M4, R5
    from integrations.models import Match
    from integrations.services import match_delete

    book(prop, starts_in=timedelta(hours=5))
    settle()
    device = device_of(lock)
    device.fault_count, device.fault_reason = 1, Reason.LOCK_OFFLINE
    device.fault_mode = SimulatedDevice.FaultMode.FAIL
    device.save()
    match_delete(match=Match.objects.get(lock=lock))
    settle()  # the delete fails once: the lock is offline
    lock_code = LockCode.objects.get(lock=lock)
    assert lock_code.state == LockCode.State.REMOVING
    for _ in range(4):
        clock.move_to(max(timezone.now(), lock_code.delete_after) + timedelta(minutes=1))
        settle()
        lock_code.refresh_from_db()
        if lock_code.delete_after is None:
            break
    assert codes_on(lock) == {}
    assert lock_code.state == LockCode.State.REMOVED
    sent = CodeEvent.objects.filter(lock_code=lock_code, kind="sending").count()
    assert sent == 1, "the code was put back on the lock it had just left"
