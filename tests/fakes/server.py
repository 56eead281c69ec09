"""A tiny threaded HTTP server on 127.0.0.1 that hands each request to a fake vendor.

The fakes are plain objects with a `handle(request) -> FakeResponse` method and their own
state; this module only moves bytes. The adapters' real request code runs against them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def params(self) -> dict[str, Any]:
        """Query string and JSON body together, as Seam accepts either."""
        data = dict(self.query)
        if self.body and self.headers.get("content-type", "").startswith("application/json"):
            data.update(self.json or {})
        return data

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class FakeResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to sleep before answering: "applied, but the answer never came in time".
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", ""
        if isinstance(self.body, bytes | str):
            raw = self.body if isinstance(self.body, bytes) else self.body.encode()
            return raw, "text/plain"
        return json.dumps(self.body).encode(), "application/json"


def _handler_for(app) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes; without this, delayed ACKs add 40 ms a call.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = FakeRequest(
                method=self.command,
                path=split.path,
                query={k: v[-1] for k, v in parse_qs(split.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            response = app.handle(request)
            if response.delay:
                time.sleep(response.delay)
            raw, content_type = response.encoded()
            try:
                self.send_response(response.status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up waiting, which is the point of a delayed answer.
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        def log_message(self, format, *args):  # noqa: A002
            pass

    return Handler


class FakeServer:
    """Serve a fake vendor on an ephemeral loopback port until stopped."""

    def __init__(self, app) -> None:
        self.app = app
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(app))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Switches:
    """Failure switches every fake shares (SPEC §5: the scenarios vendors really produce)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.rate_limited = False
        self.timeout_next_writes = 0  # apply the write, then answer too late
        self.timeout_delay = 1.0
        self.drop_next_writes = 0  # acknowledge the write, never apply it
        self.calls: list[tuple[str, str]] = []

    def take_timeout(self) -> float:
        if self.timeout_next_writes > 0:
            self.timeout_next_writes -= 1
            return self.timeout_delay
        return 0.0

    def take_drop(self) -> bool:
        if self.drop_next_writes > 0:
            self.drop_next_writes -= 1
            return True
        return False
