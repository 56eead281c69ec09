"""iCal feeds: stays come in, change and go; blocks, outages and time zones handled (SPEC §4)."""

import http.server
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from reservations import ical
from reservations.feed_fetch import FETCH_FAILED
from reservations.ical import FeedUnavailable, ical_feed_import, ical_fetch
from reservations.models import ICalFeed, ICalSeen, Reservation
from tests.factories import MatchFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ical"
STAY_A = "1418fb94e984-2f6c0a1e5b7d4c3e9a8f7b6c5d4e3f2a@airbnb.com"
STAY_B = "1418fb94e984-5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b@airbnb.com"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 2, 20, 12, 0, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def serve(monkeypatch):
    """Answer the next fetches with these fixture files or calendar texts (None: the channel
    is down)."""
    answers: list = []

    def fake_fetch(url):
        answer = answers.pop(0)
        if answer is None:
            raise FeedUnavailable("fetch failed: ConnectionError")
        if answer.startswith("BEGIN:VCALENDAR"):
            return answer
        return (FIXTURES / answer).read_text()

    monkeypatch.setattr(ical, "ical_fetch", fake_fetch)
    return answers.extend


def feed_for(host, source, time_zone="America/New_York"):
    match = MatchFactory(
        lock__connection__host=host, property__time_zone=time_zone, property__host=host
    )
    return ICalFeed.objects.create(
        property=match.property, url="https://channel.example/ical/secret.ics", source=source
    )


def by_uid(feed, uid):
    return ICalSeen.objects.get(feed=feed, uid=uid).reservation


def test_airbnb_stays_become_accepted_reservations_with_code_and_phone_digits(host, serve):
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics"])

    result = ical_feed_import(feed=feed)

    assert (result.ok, result.created, result.blocked) == (True, 2, 2)
    stay = by_uid(feed, STAY_A)
    assert stay.status == Reservation.Status.ACCEPTED
    assert stay.source == Reservation.Source.AIRBNB
    assert stay.reservation_code == "HMABCDEF12"
    assert stay.guest_phone_last_digits == "1234"
    assert stay.guest_name == "Airbnb guest"
    assert hasattr(stay, "access_code")  # SPEC S1: the PIN exists at once
    assert by_uid(feed, STAY_B).reservation_code == "HMZXCVBN34"
    feed.refresh_from_db()
    assert feed.last_ok_at is not None and feed.last_error == ""


def test_not_available_blocks_and_past_stays_are_not_reservations(host, serve):
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics"])
    ical_feed_import(feed=feed)
    codes = set(Reservation.objects.values_list("reservation_code", flat=True))
    assert codes == {"HMABCDEF12", "HMZXCVBN34"}


def test_all_day_dates_get_the_propertys_times_across_a_dst_change(host, serve):
    # rule W1: 16:00 EST on March 6th, 11:00 EDT on March 10th (DST began March 8th)
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics"])
    ical_feed_import(feed=feed)
    stay = by_uid(feed, STAY_A)
    assert stay.check_in == datetime(2026, 3, 6, 21, 0, tzinfo=UTC)
    assert stay.check_out == datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def test_importing_the_same_feed_again_changes_nothing(host, serve):
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics", "airbnb.ics"])
    ical_feed_import(feed=feed)
    second = ical_feed_import(feed=feed)
    assert (second.created, second.updated, second.cancelled) == (0, 0, 0)
    assert Reservation.objects.count() == 2


def test_changed_dates_alter_the_reservation_and_keep_the_pin(host, serve):
    # rule C1
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics", "airbnb_extended.ics"])
    ical_feed_import(feed=feed)
    pin = by_uid(feed, STAY_A).access_code.pin
    result = ical_feed_import(feed=feed)
    stay = by_uid(feed, STAY_A)
    assert result.updated == 1
    assert stay.check_out == datetime(2026, 3, 11, 15, 0, tzinfo=UTC)
    assert stay.access_code.ends_at >= stay.check_out
    assert stay.access_code.pin == pin


def test_a_vanished_stay_is_cancelled_only_after_two_good_fetches_an_hour_apart(host, serve, clock):
    # rule F3
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics", *["airbnb_without_second_stay.ics"] * 3])
    ical_feed_import(feed=feed)

    clock.shift(timedelta(minutes=15))
    ical_feed_import(feed=feed)
    assert by_uid(feed, STAY_B).status == Reservation.Status.ACCEPTED

    clock.shift(timedelta(minutes=59))
    assert ical_feed_import(feed=feed).cancelled == 0
    assert by_uid(feed, STAY_B).status == Reservation.Status.ACCEPTED

    clock.shift(timedelta(minutes=1))
    result = ical_feed_import(feed=feed)
    assert result.cancelled == 1
    assert by_uid(feed, STAY_B).status == Reservation.Status.CANCELLED
    assert by_uid(feed, STAY_A).status == Reservation.Status.ACCEPTED


def test_a_stay_back_in_the_feed_resets_its_missing_count(host, serve, clock):
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(
        [
            "airbnb.ics",
            "airbnb_without_second_stay.ics",
            "airbnb.ics",
            "airbnb_without_second_stay.ics",
        ]
    )
    for _ in range(4):
        ical_feed_import(feed=feed)
        clock.shift(timedelta(hours=1))
    assert by_uid(feed, STAY_B).status == Reservation.Status.ACCEPTED
    assert ICalSeen.objects.get(feed=feed, uid=STAY_B).first_missing_at is not None


def test_failed_and_empty_fetches_never_cancel_anything(host, serve):
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics", None, "airbnb_empty.ics", None, "airbnb_empty.ics"])
    ical_feed_import(feed=feed)
    outcomes = [ical_feed_import(feed=feed).ok for _ in range(4)]
    assert outcomes == [False, False, False, False]
    assert Reservation.objects.filter(status=Reservation.Status.ACCEPTED).count() == 2
    assert set(ICalSeen.objects.values_list("missing_fetches", flat=True)) == {0}
    feed.refresh_from_db()
    assert "no events" in feed.last_error


def test_a_flaky_feed_between_two_good_fetches_does_not_count_as_missing(host, serve):
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics", "airbnb_without_second_stay.ics", None, "airbnb.ics"])
    for _ in range(4):
        ical_feed_import(feed=feed)
    assert by_uid(feed, STAY_B).status == Reservation.Status.ACCEPTED
    assert ICalSeen.objects.get(feed=feed, uid=STAY_B).missing_fetches == 0


def test_vrbo_stays_carry_the_guests_first_name_and_blocks_are_skipped(host, serve):
    feed = feed_for(host, ICalFeed.Source.VRBO, time_zone="Europe/Lisbon")
    serve(["vrbo.ics"])
    result = ical_feed_import(feed=feed)
    assert (result.created, result.blocked) == (1, 1)
    stay = Reservation.objects.get()
    assert stay.guest_name == "Maria"
    assert stay.source == Reservation.Source.VRBO
    assert stay.check_in == datetime(2026, 3, 12, 16, 0, tzinfo=UTC)  # Lisbon is UTC in March


def test_every_booking_com_event_is_a_stay(host, serve):
    feed = feed_for(host, ICalFeed.Source.BOOKING, time_zone="Europe/Lisbon")
    serve(["booking.ics"])
    assert ical_feed_import(feed=feed).created == 2
    assert set(Reservation.objects.values_list("guest_name", flat=True)) == {"Booking.com guest"}


def test_a_garbled_body_is_a_failed_fetch(host, monkeypatch):
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    monkeypatch.setattr(ical, "ical_fetch", lambda url: "<html>Service Unavailable</html>")
    result = ical_feed_import(feed=feed)
    assert result.ok is False
    assert not Reservation.objects.exists()


@pytest.fixture
def channel_server():
    """A loopback HTTP server: /airbnb.ics serves the fixture, anything else answers 503."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/airbnb.ics":
                body = (FIXTURES / "airbnb.ics").read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(503)
                self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(settings):
    """The test channel server is on 127.0.0.1, which production refuses (rule F1)."""
    settings.ICAL_ALLOW_LOOPBACK = True


def test_the_fetch_reads_a_feed_over_http(channel_server, loopback_allowed):
    assert "Airbnb Inc" in ical_fetch(f"{channel_server}/airbnb.ics")


def test_without_the_setting_a_feed_on_loopback_is_refused(channel_server, settings):
    # rule F1
    settings.ICAL_ALLOW_LOOPBACK = False
    settings.ICAL_ALLOW_PRIVATE_ADDRESSES = True
    with pytest.raises(FeedUnavailable) as error:
        ical_fetch(f"{channel_server}/airbnb.ics")
    assert str(error.value) == FETCH_FAILED


def test_an_http_error_is_reported_without_the_secret_url(channel_server, loopback_allowed):
    with pytest.raises(FeedUnavailable) as error:
        ical_fetch(f"{channel_server}/secret-token-123.ics")
    assert "secret-token-123" not in str(error.value)


def test_the_periodic_task_imports_every_enabled_feed(host, serve):
    from reservations.tasks import ical_feeds_import

    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    ICalFeed.objects.create(property=feed.property, url="https://x.example/a", enabled=False)
    serve(["airbnb.ics"])
    ical_feeds_import()
    assert Reservation.objects.count() == 2


def test_details_the_host_added_survive_the_next_import(host, serve):
    feed = feed_for(host, ICalFeed.Source.AIRBNB)
    serve(["airbnb.ics", "airbnb.ics"])
    ical_feed_import(feed=feed)
    stay = by_uid(feed, STAY_A)
    Reservation.objects.filter(pk=stay.pk).update(
        guest_name="Ana Silva", guest_email="ana@example.com", guest_phone="+1 415 723 4000"
    )
    result = ical_feed_import(feed=feed)
    stay.refresh_from_db()
    assert result.updated == 0
    assert (stay.guest_name, stay.guest_email, stay.guest_phone) == (
        "Ana Silva",
        "ana@example.com",
        "+1 415 723 4000",
    )
