"""The shared vendor HTTP client: timeouts, safe retries, rate limits, and quiet logs."""

import logging
import socket

import pytest

from integrations.base import Reason, VendorError
from integrations.http import VendorHttpClient, retry_after_seconds
from tests.fakes.server import FakeResponse, FakeServer


class Scripted:
    """Answer each request with the next scripted response."""

    def __init__(self, *responses: FakeResponse) -> None:
        self.responses = list(responses)
        self.calls: list[str] = []

    def handle(self, request):
        self.calls.append(request.method)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


@pytest.fixture
def serve():
    servers = []

    def start(*responses):
        app = Scripted(*responses)
        server = FakeServer(app).__enter__()
        servers.append(server)
        return app, VendorHttpClient(base_url=server.url, vendor="Acme")

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def test_a_read_is_retried_after_a_server_error(serve):
    app, client = serve(FakeResponse(503), FakeResponse(200, {"ok": True}))
    assert client.get("things").json() == {"ok": True}
    assert app.calls == ["GET", "GET"]


def test_a_write_is_never_repeated_after_a_server_error(serve):  # rule R4
    app, client = serve(FakeResponse(503), FakeResponse(200, {"ok": True}))
    with pytest.raises(VendorError) as error:
        client.post("things", json={"pin": "482693"})
    assert (error.value.reason, error.value.retryable) == (Reason.VENDOR_ERROR, True)
    assert app.calls == ["POST"]


def test_a_rate_limit_says_how_long_to_wait(serve):  # rule R3
    app, client = serve(FakeResponse(429, {}, {"Retry-After": "12"}))
    with pytest.raises(VendorError) as error:
        client.get("things")
    assert error.value.reason == Reason.RATE_LIMITED
    assert error.value.retry_after == 12
    assert app.calls == ["GET"]


def test_an_answer_that_comes_too_late_is_a_retryable_timeout(serve, settings):
    settings.VENDOR_HTTP_TIMEOUT = 0.2
    app, client = serve(FakeResponse(204, delay=0.6))
    with pytest.raises(VendorError) as error:
        client.put("things", json={})
    assert (error.value.reason, error.value.retryable) == (Reason.TIMEOUT, True)
    assert app.calls == ["PUT"]


def test_an_unreachable_vendor_is_a_retryable_vendor_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = VendorHttpClient(base_url=f"http://127.0.0.1:{port}", vendor="Acme")
    with pytest.raises(VendorError) as error:
        client.post("things")
    assert (error.value.reason, error.value.retryable) == (Reason.VENDOR_ERROR, True)


def test_logs_never_carry_tokens_or_pins(serve, caplog):
    caplog.set_level(logging.DEBUG)
    _, client = serve(FakeResponse(200, {"ok": True}))
    client.get("v3/lock/list", params={"accessToken": "tok-SECRET-123", "keyboardPwd": "482693"})
    client.post(
        "v3/keyboardPwd/add", data={"accessToken": "tok-SECRET-123", "keyboardPwd": "482693"}
    )
    assert "v3/lock/list" in caplog.text
    assert "tok-SECRET-123" not in caplog.text
    assert "482693" not in caplog.text


def test_retry_after_may_be_seconds_or_a_date():
    assert retry_after_seconds("30") == 30
    assert retry_after_seconds(None) == 60
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
