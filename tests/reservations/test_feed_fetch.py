"""Fetching a feed can't hurt: public addresses only, a size cap, a deadline (SPEC F1)."""

import contextlib
import gzip
import http.server
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from reservations.feed_fetch import FETCH_FAILED, FeedUnavailable, ical_fetch
from reservations.ical import ical_feed_create
from reservations.models import ICalFeed
from tests.factories import PropertyFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ical"
FEED = (FIXTURES / "airbnb.ics").read_bytes()


class Channel(http.server.BaseHTTPRequestHandler):
    """A hostile channel on loopback; the path picks its behaviour."""

    def do_GET(self):  # noqa: N802
        route = {
            "/feed.ics": self.feed,
            "/bomb.ics": self.gzip_bomb,
            "/big.ics": self.big,
            "/drip.ics": self.drip,
            "/drip-headers.ics": self.drip_headers,
            "/to-metadata.ics": self.redirect_to_metadata,
            "/to-feed.ics": self.redirect_to_feed,
            "/html": self.html,
        }.get(self.path, self.unavailable)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route()

    def feed(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def gzip_bomb(self):
        # 64 MB of calendar-ish text compressed to about 64 KB.
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(self.server.bomb)

    def big(self):
        # No Content-Length: the cap must hold while streaming.
        self.send_response(200)
        self.end_headers()
        for _ in range(200):
            self.wfile.write(b"X" * 64 * 1024)

    def drip(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"BEGIN:VCALENDAR\r\n")
        for _ in range(60):
            time.sleep(0.25)
            self.wfile.write(b"X")
            self.wfile.flush()

    def drip_headers(self):
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(60):
            time.sleep(0.25)
            self.wfile.write(b"X-Slow: 1\r\n")
            self.wfile.flush()

    def redirect_to_metadata(self):
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def redirect_to_feed(self):
        self.send_response(301)
        self.send_header("Location", "/feed.ics")
        self.end_headers()

    def html(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>hello</html>")

    def unavailable(self):
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def channel():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Channel)
    server.daemon_threads = True
    server.bomb = gzip.compress(b"DESCRIPTION:" + b"A" * (64 * 1024 * 1024), compresslevel=9)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_allowed(settings):
    settings.ICAL_ALLOW_LOOPBACK = True
    settings.ICAL_FETCH_DEADLINE = 3.0


def refused(url: str) -> FeedUnavailable:
    with pytest.raises(FeedUnavailable) as error:
        ical_fetch(url)
    return error.value


def test_a_feed_is_read_and_a_redirect_followed(channel, loopback_allowed):
    assert "Airbnb Inc" in ical_fetch(f"{channel}/feed.ics")
    assert "Airbnb Inc" in ical_fetch(f"{channel}/to-feed.ics")


def test_a_gzip_bomb_is_stopped_at_5_mb_after_decompression(channel, loopback_allowed):
    # rule F1: the 64 MB body is never held in memory
    assert len(FEED) < 5 * 1024 * 1024
    started = time.monotonic()
    tracemalloc.start()
    try:
        assert str(refused(f"{channel}/bomb.ics")) == FETCH_FAILED
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 3
    assert peak < 20 * 1024 * 1024


def test_a_body_over_5_mb_without_a_length_is_stopped_while_streaming(channel, loopback_allowed):
    assert str(refused(f"{channel}/big.ics")) == FETCH_FAILED


@pytest.mark.parametrize("path", ["/drip.ics", "/drip-headers.ics"])
def test_a_server_dripping_its_answer_is_cut_off_at_the_deadline(channel, loopback_allowed, path):
    # rule F1: 3 s here (settings.ICAL_FETCH_DEADLINE), 20 s in production
    started = time.monotonic()
    assert str(refused(f"{channel}{path}")) == FETCH_FAILED
    assert time.monotonic() - started < 4.5


def test_the_default_deadline_is_20_seconds_and_the_cap_5_mb(settings):
    assert settings.ICAL_FETCH_DEADLINE == 20.0
    assert settings.ICAL_MAX_BYTES == 5 * 1024 * 1024


def test_a_redirect_to_the_metadata_address_is_refused_without_connecting(
    channel, loopback_allowed
):
    started = time.monotonic()
    assert str(refused(f"{channel}/to-metadata.ics")) == FETCH_FAILED
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:5432/",
        "http://[::1]:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/feed.ics",
        "http://192.168.1.20/feed.ics",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:6379/",
        "file:///etc/passwd",
    ],
)
def test_loopback_private_link_local_and_metadata_addresses_are_never_fetched(url, settings):
    settings.ICAL_ALLOW_LOOPBACK = False
    settings.ICAL_ALLOW_PRIVATE_ADDRESSES = False
    assert str(refused(url)) == FETCH_FAILED


def test_every_failure_reads_the_same_so_a_feed_cannot_probe_ports(channel, loopback_allowed):
    # rule F1: connection refused, HTTP errors, HTML and refused addresses look alike
    texts = {
        str(refused("http://127.0.0.1:9/feed.ics")),
        str(refused(f"{channel}/nothing-here")),
        str(refused("http://169.254.169.254/")),
    }
    assert texts == {FETCH_FAILED}
    assert "Airbnb" not in FETCH_FAILED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/feed.ics",
        "http://localhost/feed.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/feed.ics",
    ],
)
def test_a_feed_pointing_at_an_internal_address_is_refused_when_saved(url):
    with pytest.raises(ValidationError) as error:
        ical_feed_create(property=PropertyFactory(), url=url)
    assert "public addresses only" in str(error.value)
    assert not ICalFeed.objects.exists()


@pytest.mark.django_db
def test_a_self_hosted_feed_on_a_private_network_is_allowed_by_setting(settings):
    settings.ICAL_ALLOW_PRIVATE_ADDRESSES = True
    feed = ical_feed_create(property=PropertyFactory(), url="http://10.1.2.3/feed.ics")
    assert feed.pk
    with pytest.raises(ValidationError):
        ical_feed_create(property=PropertyFactory(), url="http://169.254.169.254/")
    with pytest.raises(ValidationError):
        ical_feed_create(property=PropertyFactory(), url="http://127.0.0.1/feed.ics")


def test_a_name_that_turns_internal_after_the_check_is_refused_at_connect(channel, monkeypatch):
    # rule F1: DNS rebinding; the name looked public when checked, then resolved to loopback
    from reservations import feed_fetch

    monkeypatch.setattr(feed_fetch, "feed_url_check", lambda url, **kwargs: None)
    assert str(refused(f"{channel}/feed.ics")) == FETCH_FAILED
