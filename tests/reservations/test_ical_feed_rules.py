"""iCal feeds that misbehave: unreadable events (SPEC F2), mass drops and returns (F3)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from messaging.models import HostAlert
from reservations import ical
from reservations.ical import ical_feed_import
from reservations.models import ICalFeed, ICalSeen, Reservation
from reservations.services import reservation_cancel
from tests.factories import MatchFactory

pytestmark = pytest.mark.django_db


def event(uid: str, start: str, end: str, summary: str = "Reserved") -> str:
    return (
        "BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTART;VALUE=DATE:{start}\r\nDTEND;VALUE=DATE:{end}\r\n"
        f"SUMMARY:{summary}\r\n"
        "DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/"
        f"HM{uid.upper():0>8}\r\n"
        "END:VEVENT\r\n"
    )


def calendar(*events: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Airbnb Inc//EN\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n"
    )


STAYS = {
    "a": event("a", "20260306", "20260310"),
    "b": event("b", "20260312", "20260315"),
    "c": event("c", "20260320", "20260322"),
}
BLOCK = event("blk", "20260401", "20260405", summary="Airbnb (Not available)")


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 2, 20, 12, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def feed(host, clock, monkeypatch):
    match = MatchFactory(lock__connection__host=host, property__host=host)
    host.alert_email = "hannah@example.com"
    host.save()
    feed = ICalFeed.objects.create(
        property=match.property, url="https://channel.example/ical/secret.ics"
    )
    feed.answers = []
    monkeypatch.setattr(ical, "ical_fetch", lambda url: feed.answers.pop(0))
    return feed


def fetch(feed, text: str):
    feed.answers.append(text)
    return ical_feed_import(feed=feed)


def status(feed, uid: str) -> str:
    return ICalSeen.objects.get(feed=feed, uid=uid).reservation.status


# -- F2 --


def test_unreadable_events_are_skipped_the_rest_imported_and_the_host_told(feed):
    # rule F2
    broken = event("broken", "2026XX01", "20260305")
    far = event("far", "99991230", "99991231")
    result = fetch(feed, calendar(STAYS["a"], broken, far, STAYS["b"]))

    assert (result.ok, result.created, result.skipped) == (True, 2, 2)
    assert {r.reservation_code for r in Reservation.objects.all()} == {"HM0000000A", "HM0000000B"}
    feed.refresh_from_db()
    assert "broken: unreadable dates" in feed.last_error
    assert "far: dated 9999" in feed.last_error
    alert = HostAlert.objects.get(kind=HostAlert.Kind.FEED_PROBLEM)
    assert "2 event(s)" in alert.subject and "broken" in alert.body
    assert mail.outbox[-1].subject == alert.subject


def test_the_same_unreadable_event_is_reported_once_not_every_fetch(feed, clock):
    broken = event("broken", "2026XX01", "20260305")
    fetch(feed, calendar(STAYS["a"], broken))
    clock.shift(timedelta(minutes=15))
    fetch(feed, calendar(STAYS["a"], broken))
    assert HostAlert.objects.filter(kind=HostAlert.Kind.FEED_PROBLEM).count() == 1


def test_a_stay_whose_event_turns_unreadable_is_never_cancelled_for_it(feed, clock):
    # rules F2, F3: counted as missing too, it was cancelled after two fetches an hour apart
    fetch(feed, calendar(*STAYS.values()))
    broken_b = event("b", "2026XX12", "20260315")
    for _ in range(3):
        clock.shift(timedelta(hours=2))
        result = fetch(feed, calendar(STAYS["a"], broken_b, STAYS["c"]))
        assert (result.skipped, result.cancelled) == (1, 0)
    assert status(feed, "b") == Reservation.Status.ACCEPTED
    assert ICalSeen.objects.get(feed=feed, uid="b").missing_fetches == 0


def test_an_unreadable_event_without_uid_keeps_every_stay_from_being_counted_missing(
    feed, clock
):  # rules F2, F3: nobody can say which stay it was
    fetch(feed, calendar(*STAYS.values()))
    no_uid = event("x", "20260312", "20260315").replace("UID:x\r\n", "")
    for _ in range(3):
        clock.shift(timedelta(hours=2))
        result = fetch(feed, calendar(STAYS["a"], no_uid, STAYS["c"]))
        assert result.cancelled == 0
    assert status(feed, "b") == Reservation.Status.ACCEPTED
    clock.shift(timedelta(hours=2))
    fetch(feed, calendar(STAYS["a"], STAYS["c"]))  # readable again and b gone: counted now
    assert ICalSeen.objects.get(feed=feed, uid="b").missing_fetches == 1


# -- F3 --


def test_a_fetch_dropping_every_future_stay_cancels_nothing_and_asks_the_host(feed, clock):
    # rule F3: blocked dates only, twice, hours apart
    fetch(feed, calendar(*STAYS.values()))
    for _ in range(3):
        clock.shift(timedelta(hours=2))
        result = fetch(feed, calendar(BLOCK))
        assert (result.cancelled, result.held) == (0, True)
    assert set(Reservation.objects.values_list("status", flat=True)) == {"accepted"}
    alert = HostAlert.objects.get(kind=HostAlert.Kind.FEED_PROBLEM)
    assert "no longer lists 3 upcoming stay(s)" in alert.subject
    assert alert.link == f"/feeds/{feed.pk}/confirm-drop/"


def test_a_fetch_dropping_more_than_half_is_held_but_half_is_not(feed, clock):
    fetch(feed, calendar(*STAYS.values()))
    clock.shift(timedelta(hours=1))
    held = fetch(feed, calendar(STAYS["a"]))  # 2 of 3 gone
    assert (held.held, held.cancelled) == (True, 0)
    clock.shift(timedelta(minutes=30))
    # b is back; c is missing from two good fetches only 30 minutes apart
    assert fetch(feed, calendar(STAYS["a"], STAYS["b"])).cancelled == 0
    clock.shift(timedelta(minutes=30))
    result = fetch(feed, calendar(STAYS["a"], STAYS["b"]))  # 1 of 3 gone
    assert (result.held, result.cancelled) == (False, 1)
    assert [status(feed, uid) for uid in "abc"] == ["accepted", "accepted", "cancelled"]


def test_the_host_confirms_a_held_drop_and_only_then_the_stays_are_cancelled(
    feed, clock, client, host_user
):
    fetch(feed, calendar(*STAYS.values()))
    clock.shift(timedelta(hours=1))
    fetch(feed, calendar(BLOCK))
    client.force_login(host_user)

    page = client.get(f"/feeds/{feed.pk}/confirm-drop/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "HM0000000A" in text and "Cancel these stays" in text
    assert set(Reservation.objects.values_list("status", flat=True)) == {"accepted"}

    response = client.post(f"/feeds/{feed.pk}/confirm-drop/")
    assert response.status_code == 302
    assert set(Reservation.objects.values_list("status", flat=True)) == {"cancelled"}
    feed.refresh_from_db()
    assert feed.drop_held_at is None


def test_another_host_cannot_confirm_a_feeds_drop(feed, clock, client, other_host):
    fetch(feed, calendar(*STAYS.values()))
    clock.shift(timedelta(hours=1))
    fetch(feed, calendar(BLOCK))
    client.force_login(other_host.members.get().user)
    assert client.post(f"/feeds/{feed.pk}/confirm-drop/").status_code == 404
    assert set(Reservation.objects.values_list("status", flat=True)) == {"accepted"}


def test_a_feed_that_recovers_from_a_mass_drop_keeps_every_stay(feed, clock):
    fetch(feed, calendar(*STAYS.values()))
    for text in [calendar(BLOCK), calendar(BLOCK), calendar(*STAYS.values())]:
        clock.shift(timedelta(hours=1))
        fetch(feed, text)
    assert set(Reservation.objects.values_list("status", flat=True)) == {"accepted"}
    feed.refresh_from_db()
    assert feed.drop_held_at is None


def test_a_stay_cancelled_by_the_feed_comes_back_with_its_pin_if_relisted_before_check_in(
    feed, clock
):
    # rule F3
    fetch(feed, calendar(*STAYS.values()))
    pin = ICalSeen.objects.get(feed=feed, uid="c").reservation.access_code.pin
    for _ in range(2):
        clock.shift(timedelta(hours=1))
        fetch(feed, calendar(STAYS["a"], STAYS["b"]))
    assert status(feed, "c") == "cancelled"

    clock.shift(timedelta(hours=1))
    result = fetch(feed, calendar(*STAYS.values()))
    assert result.revived == 1
    assert status(feed, "c") == "accepted"
    stay = ICalSeen.objects.get(feed=feed, uid="c").reservation
    assert stay.access_code.pin == pin
    assert stay.access_code.cancelled_at is None


def test_a_stay_relisted_after_its_check_in_stays_cancelled(feed, clock):
    fetch(feed, calendar(*STAYS.values()))
    for _ in range(2):
        clock.shift(timedelta(hours=1))
        fetch(feed, calendar(STAYS["b"], STAYS["c"]))
    assert status(feed, "a") == "cancelled"
    clock.move_to(datetime(2026, 3, 6, 22, 0, tzinfo=UTC))  # after the 16:00 EST check-in
    fetch(feed, calendar(*STAYS.values()))
    assert status(feed, "a") == "cancelled"


def test_a_stay_the_host_cancelled_is_not_revived_by_the_feed(feed, clock):
    fetch(feed, calendar(*STAYS.values()))
    reservation_cancel(reservation=ICalSeen.objects.get(feed=feed, uid="b").reservation)
    clock.shift(timedelta(hours=1))
    fetch(feed, calendar(*STAYS.values()))
    assert status(feed, "b") == "cancelled"


def test_the_host_can_confirm_a_held_drop_over_the_api(feed, clock, host_user, other_host):
    from tests.api.conftest import client_for

    fetch(feed, calendar(*STAYS.values()))
    clock.shift(timedelta(hours=1))
    fetch(feed, calendar(BLOCK))
    api = client_for(host_user)
    shown = api.get(f"/api/v1/ical-feeds/{feed.pk}/").json()
    assert shown["drop_held_at"] is not None

    foreign = client_for(other_host.members.get().user)
    assert foreign.post(f"/api/v1/ical-feeds/{feed.pk}/confirm-drop/").status_code == 404
    assert set(Reservation.objects.values_list("status", flat=True)) == {"accepted"}

    response = api.post(f"/api/v1/ical-feeds/{feed.pk}/confirm-drop/")
    assert response.json() == {"cancelled": 3}
    assert set(Reservation.objects.values_list("status", flat=True)) == {"cancelled"}
    assert api.get(f"/api/v1/ical-feeds/{feed.pk}/").json()["drop_held_at"] is None
