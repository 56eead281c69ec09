"""The shared cache down or frozen (issue #21): the guest page and the API still answer, fast,
and /healthz says within about a second that the cache is what is down. Before, with Redis
down every guest page and API call answered 500 (their rate limits live in the cache), and
with Redis frozen they took 5 s and then 500 while /healthz hung past 30 s."""

import socket
import threading
import time

import pytest
from django.test import override_settings

from guests import ratelimit
from tests.api.conftest import client_for
from tests.factories import ReservationFactory
from tests.guests.conftest import link_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen_redis():
    """A TCP server that accepts connections and never answers: a frozen Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def closed_port() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connections are refused
    return f"redis://127.0.0.1:{port}/0"


def redis_cache(url: str) -> dict:
    options = {"socket_timeout": 0.3, "socket_connect_timeout": 0.3}
    backend = "django.core.cache.backends.redis.RedisCache"
    return {"default": {"BACKEND": backend, "LOCATION": url, "OPTIONS": options}}


@pytest.fixture(params=["down", "frozen"])
def broken_cache(request, frozen_redis):
    url = closed_port() if request.param == "down" else frozen_redis
    with override_settings(CACHES=redis_cache(url)):
        yield request.param


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_the_guest_page_answers_while_the_cache_is_down_or_frozen(client, broken_cache):
    # rule K1: the page's rate limit counts in process memory meanwhile
    reservation = ReservationFactory()
    path = link_path(reservation)
    response, seconds = timed(lambda: client.get(path))
    assert response.status_code == 200
    assert reservation.guest_name.split()[0] in response.text
    assert seconds < 2.5


def test_the_guest_pages_limit_still_holds_per_process_while_the_cache_is_down(client):
    ratelimit._local.clear()  # earlier tests in this process counted there too
    reservation = ReservationFactory()
    path = link_path(reservation)
    with override_settings(CACHES=redis_cache(closed_port())):
        codes = [client.get(path).status_code for _ in range(65)]
    assert codes[:60] == [200] * 60
    assert codes[-1] == 429


def test_the_api_answers_while_the_cache_is_down_or_frozen(host_user, broken_cache):
    api = client_for(host_user)
    response, seconds = timed(lambda: api.get("/api/v1/properties/"))
    assert response.status_code == 200
    assert seconds < 2.5


def test_healthz_names_the_cache_within_about_a_second(client, broken_cache):
    response, seconds = timed(lambda: client.get("/healthz", HTTP_ACCEPT="application/json"))
    assert response.status_code == 500
    checks = response.json()
    cache_check = next(value for name, value in checks.items() if name.startswith("Cache"))
    assert cache_check != "OK"
    assert any(name.startswith("Database") and value == "OK" for name, value in checks.items())
    assert seconds < 1.5
