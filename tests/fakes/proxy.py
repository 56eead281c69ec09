"""A fault-injecting HTTP proxy on 127.0.0.1 that sits in front of any vendor fake.

The fakes model what each vendor documents; this proxy adds what no documentation promises
will not happen on the way there (issue #20, "every adapter"): a reply cut off mid-body, an
HTML page with status 200 (a captive portal, a load balancer's error page), JSON of the wrong
shape, a 500, and no answer in time. /work/shared/vendors/README.md is silent on these for
every vendor; they are transport faults, not vendor behaviour, so one proxy serves all fakes.

Every request is forwarded to the fake as it came (so the fake's state changes as it would),
then the fault, if one is switched on, replaces or damages the answer.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("truncated", "html_200", "wrong_shape", "status_500", "timeout")
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"


def _wrong_shape(raw: bytes) -> bytes:
    """Valid JSON, documented nowhere: an object becomes a list, a list an object of nulls."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return b'["unexpected"]'
    if isinstance(body, dict):
        return json.dumps([list(body)]).encode()
    if isinstance(body, list):
        return json.dumps({"data": None, "result": "ok", "items": 3}).encode()
    return b'{"unexpected": [null]}'


class FaultProxy:
    """Forward to `upstream`; damage answers while `fault` is set (one of FAULTS)."""

    def __init__(self, upstream: str, *, timeout_delay: float = 1.0) -> None:
        split = urlsplit(upstream)
        self.upstream = (split.hostname or "127.0.0.1", split.port or 80)
        self.fault: str | None = None
        self.timeout_delay = timeout_delay
        self.injected = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes):
        connection = http.client.HTTPConnection(*self.upstream, timeout=10)
        try:
            headers = {k: v for k, v in headers.items() if k.lower() not in {"host"}}
            connection.request(method, path, body=body or None, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _send(self, status: int, headers, raw: bytes, *, length: int | None = None):
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw) if length is None else length))
                self.end_headers()
                self.wfile.write(raw)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, raw = proxy.forward(
                    self.command, self.path, dict(self.headers.items()), body
                )
                fault = proxy.fault
                if fault:
                    proxy.injected += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(fault, status, headers, raw)

            def _answer(self, fault, status, headers, raw) -> None:
                json_type = [("Content-Type", "application/json")]
                if fault == "truncated":
                    # Promise the whole body, send half, hang up: requests raises
                    # ChunkedEncodingError (urllib3 IncompleteRead) while reading it.
                    whole = raw if len(raw) > 8 else raw + b" " * 16
                    self._send(status, headers, whole[: len(whole) // 2], length=len(whole))
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(2)
                elif fault == "html_200":
                    self._send(200, [("Content-Type", "text/html")], HTML)
                elif fault == "wrong_shape":
                    self._send(200 if status < 300 else status, json_type, _wrong_shape(raw))
                elif fault == "status_500":
                    self._send(500, json_type, b'{"error": "internal"}')
                elif fault == "timeout":
                    time.sleep(proxy.timeout_delay)
                    self._send(status, headers, raw)
                else:
                    self._send(status, headers, raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

            def log_message(self, format, *args):  # noqa: A002
                pass

        return Handler
