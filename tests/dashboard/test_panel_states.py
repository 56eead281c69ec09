"""The Property Access panel tells stays and code states apart honestly, polls only while
something is in flight, shows times in the property's zone and reasons as sentences
(SPEC V4, V5)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accesscodes.models import AccessCode, LockCode
from reservations.models import Reservation
from reservations.services import reservation_cancel
from tests.dashboard.conftest import settle
from tests.factories import CodeEventFactory, MatchFactory, ReservationFactory


def panel_of(client, reservation) -> str:
    return client.get(reverse("access_panel", kwargs={"pk": reservation.pk})).text


def set_state(reservation, **fields) -> None:
    LockCode.objects.filter(access_code__reservation=reservation).update(**fields)


def test_a_cancelled_stays_code_has_no_copy_or_retry_and_says_when_it_leaves(hannah, estate):  # V4
    settle()
    set_state(estate.reservation, state=LockCode.State.SET, vendor_code_id="v1")
    reservation_cancel(reservation=estate.reservation)

    panel = panel_of(hannah, estate.reservation)

    assert "Cancelled stay" in panel
    assert "Copy code" not in panel and "Retry now" not in panel
    lock_code = LockCode.objects.get(access_code__reservation=estate.reservation)
    leaves = timezone.localtime(lock_code.delete_after, estate.property.zone)
    assert f"leaves the lock {leaves:%a %-d %b, %H:%M}" in panel
    assert ">set" not in panel


@pytest.mark.parametrize(
    ("state", "retry"),
    [
        (LockCode.State.FAILED, True),
        (LockCode.State.WAITING_FOR_SPACE, True),
        (LockCode.State.SET, False),
        (LockCode.State.SETTING, False),
        (LockCode.State.SCHEDULED, False),
    ],
)
def test_retry_now_shows_only_for_failing_or_waiting_codes(hannah, estate, state, retry):  # V4
    set_state(estate.reservation, state=state, last_error="lock_offline")
    assert ("Retry now" in panel_of(hannah, estate.reservation)) is retry


def test_the_panel_polls_every_two_seconds_while_a_code_is_being_sent(hannah, estate):  # V4
    set_state(estate.reservation, state=LockCode.State.SETTING)
    panel = panel_of(hannah, estate.reservation)
    assert 'hx-trigger="every 2s"' in panel and 'data-polling="yes"' in panel


def test_the_panel_stops_polling_when_nothing_is_in_flight(hannah, estate):  # V4
    set_state(estate.reservation, state=LockCode.State.SET, in_sync=True)
    panel = panel_of(hannah, estate.reservation)
    assert "hx-trigger" not in panel and "hx-get" not in panel.split(">", 1)[0]


def test_a_past_stay_shows_what_happened_not_no_lock_matched(hannah, estate):  # V4
    settle()
    removed_at = timezone.now() - timedelta(hours=3)
    set_state(estate.reservation, state=LockCode.State.REMOVED, removed_at=removed_at)
    Reservation.objects.filter(pk=estate.reservation.pk).update(
        check_in=timezone.now() - timedelta(days=5), check_out=timezone.now() - timedelta(days=2)
    )
    panel = panel_of(hannah, estate.reservation)
    local = timezone.localtime(removed_at, estate.property.zone)
    assert "Past stay" in panel
    assert f"removed from the lock on {local:%a %-d %b, %H:%M}" in panel
    assert "No code yet" not in panel and "Copy code" not in panel
    listing = hannah.get(reverse("reservation_list"), {"show": "all"}).text
    assert "removed from 1 lock" in listing and "no lock matched" not in listing


def test_an_inquiry_reads_as_a_sentence(hannah, estate):  # V5
    inquiry = ReservationFactory(property=estate.property, status=Reservation.Status.INQUIRY)
    panel = panel_of(hannah, inquiry)
    assert "this stay is an inquiry. A code is created as soon as it is accepted" in panel
    assert "is inquiry." not in panel


def test_failure_reasons_read_as_sentences_in_the_panel(hannah, estate):  # V5
    set_state(estate.reservation, state=LockCode.State.FAILED, last_error="lock_offline")
    lock_code = LockCode.objects.get(access_code__reservation=estate.reservation)
    CodeEventFactory(
        access_code=lock_code.access_code,
        lock_code=lock_code,
        kind="failed",
        reason="lock_offline: simulated failure",
    )
    panel = panel_of(hannah, estate.reservation)
    assert "the lock was offline (simulated failure)" in panel
    assert "lock_offline" not in panel


def test_a_brooklyn_stay_reads_in_new_york_time_with_the_zone_named(hannah, host):  # V5
    match = MatchFactory(
        lock__connection__host=host, property__host=host, property__time_zone="America/New_York"
    )
    check_in = timezone.now().replace(hour=21, minute=0, second=0, microsecond=0) + timedelta(
        days=3
    )  # 16:00 or 17:00 in New York, depending on DST
    reservation = ReservationFactory(
        property=match.property, check_in=check_in, check_out=check_in + timedelta(days=2)
    )
    local = timezone.localtime(check_in, match.property.zone)
    page = hannah.get(reverse("reservation_detail", kwargs={"pk": reservation.pk})).text
    assert f"{local:%H:%M} (America/New_York)" in page
    assert "21:00" not in page
    listing = hannah.get(reverse("reservation_list")).text
    assert f"{local:%H:%M} E" in listing  # EST / EDT


def test_the_navigation_counts_open_alerts(hannah, estate):
    page = hannah.get(reverse("reservation_list")).text
    assert 'aria-label="1 open">1</span>' in page
    alert = estate.property.host.alerts.get()
    hannah.post(reverse("alert_resolve", kwargs={"pk": alert.pk}))
    page = hannah.get(reverse("reservation_list")).text
    assert 'aria-label="1 open"' not in page
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_an_ended_stays_code_says_when_it_leaves_the_lock_not_set(hannah, estate):  # V4, D1
    settle()
    ended = timezone.now() - timedelta(hours=2)
    delete_after = ended + timedelta(hours=24)
    LockCode.objects.filter(access_code__reservation=estate.reservation).update(
        state=LockCode.State.SET, delete_after=delete_after
    )
    AccessCode.objects.filter(reservation=estate.reservation).update(
        starts_at=ended - timedelta(days=3), ends_at=ended
    )
    Reservation.objects.filter(pk=estate.reservation.pk).update(
        check_in=ended - timedelta(days=3), check_out=ended
    )
    panel = panel_of(hannah, estate.reservation)
    local = timezone.localtime(delete_after, estate.property.zone)
    assert "Past stay" in panel
    assert f"leaves the lock {local:%a %-d %b, %H:%M}" in panel
    assert "Retry now" not in panel and "Copy code" not in panel


def test_after_retry_now_the_panel_polls_until_the_outcome_shows(hannah, estate):  # V4
    # issue #24 wall 3: "this panel shows the progress" but it answered data-polling="no"
    later = timezone.now() + timedelta(hours=1)
    set_state(estate.reservation, state=LockCode.State.FAILED, last_error="lock_offline")
    LockCode.objects.filter(access_code__reservation=estate.reservation).update(
        next_attempt_at=later
    )
    assert 'data-polling="no"' in panel_of(hannah, estate.reservation)
    lock_code = LockCode.objects.get(access_code__reservation=estate.reservation)

    panel = hannah.post(
        reverse("lock_code_retry", kwargs={"pk": lock_code.pk}), HTTP_HX_REQUEST="true"
    ).text

    assert "this panel shows the progress" in panel
    assert 'hx-trigger="every 2s"' in panel and 'data-polling="yes"' in panel
    assert "trying again now" in panel


def test_a_failing_lock_comes_before_the_set_ones_in_the_panel(hannah, host, estate):  # V6
    # issue #24 wall 5: the failing lock sat below the fold under a green "set"
    from tests.dashboard.conftest import book

    MatchFactory(
        lock__connection=estate.lock.connection,
        lock__device__name="Alpha Door",
        property=estate.property,
    )
    MatchFactory(
        lock__connection=estate.lock.connection,
        lock__device__name="Beta Door",
        property=estate.property,
    )
    stay = book(estate.property, name="Bo Lindqvist", n=7)
    codes = LockCode.objects.filter(access_code__reservation=stay)
    assert codes.count() == 3
    codes.update(state=LockCode.State.SET, vendor_code_id="v")
    codes.filter(lock=estate.lock).update(state=LockCode.State.FAILED, last_error="lock_offline")
    codes.filter(lock__name="Beta Door").update(state=LockCode.State.SETTING)

    panel = panel_of(hannah, stay)

    failing, sending, done = (panel.index(n) for n in ("Garden Gate", "Beta Door", "Alpha Door"))
    assert failing < sending < done


def test_a_past_stay_whose_code_rows_are_gone_does_not_say_no_lock_matched(hannah, estate):
    # issue #24: past stays whose locks matched read "no lock matched" in the list
    LockCode.objects.filter(access_code__reservation=estate.reservation).delete()
    Reservation.objects.filter(pk=estate.reservation.pk).update(
        check_in=timezone.now() - timedelta(days=5), check_out=timezone.now() - timedelta(days=2)
    )
    listing = hannah.get(reverse("reservation_list"), {"show": "all"}).text
    assert "stay over: no code on a lock" in listing and "no lock matched" not in listing
