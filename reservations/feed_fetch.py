"""Fetching a channel's calendar export without letting its URL or server hurt us (SPEC F1).

A feed URL is typed by a host, so it is treated as hostile:
- it may only reach public addresses: loopback, private, link-local and cloud metadata
  addresses are refused when the feed is saved and again at every fetch, after every redirect
  (a name can be re-pointed after it was saved), and the address actually connected to is
  checked before the request is sent (DNS rebinding);
- the body is read in small pieces and decompressed as it streams, and the fetch stops once
  5 MB of decompressed text have arrived (a 0.4 MB gzip bomb inflates to 400 MB);
- the whole fetch, redirects included, has one deadline (20 s), however slowly the server
  drips its answer;
- every failure reads the same to the host, so a feed URL cannot be used to learn which hosts
  and ports answer on our network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# The one text a host sees for any failed fetch, whatever the reason (SPEC F1).
FETCH_FAILED = (
    "The feed could not be read. Check that the address is the channel's public iCal export."
)
MAX_REDIRECTS = 5
READ_PIECE = 64 * 1024
USER_AGENT = "locksync iCal import"
# Cloud metadata services: refused whatever the settings allow.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, DigitalOcean, OpenStack
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}


class FeedUnavailable(Exception):
    """The feed could not be fetched or read; nothing is changed."""


class AddressRefused(FeedUnavailable):
    """The feed's host is (or resolves to) an address a feed may not reach."""


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return False
    if address.is_loopback or address.is_link_local or address.is_unspecified:
        return settings.ICAL_ALLOW_LOOPBACK
    if address.is_multicast:
        return False
    if not address.is_global:  # private, shared (CGNAT), reserved, documentation ranges
        return settings.ICAL_ALLOW_PRIVATE_ADDRESSES or settings.ICAL_ALLOW_LOOPBACK
    return True


def feed_url_check(url: str, *, unresolvable_ok: bool = False) -> None:
    """Raise AddressRefused unless url is http(s) and every address its host has is allowed.

    unresolvable_ok accepts a name that does not resolve (yet) when a feed is saved; a fetch
    of it fails anyway.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise AddressRefused(FETCH_FAILED)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as error:
        if unresolvable_ok:
            return
        raise AddressRefused(FETCH_FAILED) from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _address_allowed(address):
            raise AddressRefused(FETCH_FAILED)


class _PeerCheckedMixin:
    """Check the address actually connected to, before a byte is sent.

    The name was checked before the request, but DNS can answer differently a moment later
    (DNS rebinding): the socket's peer is what counts.
    """

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        try:
            peer = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
            allowed = _address_allowed(peer)
        except (OSError, ValueError):
            allowed = False
        if not allowed:
            sock.close()
            raise AddressRefused(FETCH_FAILED)
        return sock


class _CheckedHTTPConnection(_PeerCheckedMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_PeerCheckedMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _PeerCheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


class _Fetch:
    """One fetch: redirects followed by hand, each hop checked, the body read under caps."""

    def __init__(self, url: str, deadline: float) -> None:
        self.url, self.deadline = url, deadline
        self.response: requests.Response | None = None
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # No proxies from the environment: the address checked must be the one connected to.
        self.session.trust_env = False
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, _PeerCheckedAdapter())

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise FeedUnavailable(FETCH_FAILED)
        return left

    def run(self) -> str:
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            feed_url_check(url)
            timeout = min(5.0, self.remaining()), min(10.0, self.remaining())
            self.response = self.session.get(
                url, timeout=timeout, stream=True, allow_redirects=False
            )
            if self.response.is_redirect:
                url = urljoin(url, self.response.headers.get("Location", ""))
                self.response.close()
                continue
            self.response.raise_for_status()
            return self.read_body()
        raise FeedUnavailable(FETCH_FAILED)

    def read_body(self) -> str:
        cap = settings.ICAL_MAX_BYTES
        declared = self.response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FeedUnavailable(FETCH_FAILED)
        pieces, size = [], 0
        raw = self.response.raw
        while True:
            self.remaining()
            # read1: whatever has arrived, decompressed at most READ_PIECE at a time.
            piece = raw.read1(READ_PIECE, decode_content=True)
            if not piece:
                break
            size += len(piece)
            if size > cap:
                raise FeedUnavailable(FETCH_FAILED)
            pieces.append(piece)
        encoding = self.response.encoding or "utf-8"
        return b"".join(pieces).decode(encoding, errors="replace")

    def abort(self) -> None:
        """Interrupt a read blocked in another thread (a server dripping its answer)."""
        response = self.response
        if response is not None:
            # Already closed, or never connected: nothing to interrupt.
            with contextlib.suppress(Exception):
                response.raw.shutdown()
        self.session.close()


_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ical-fetch")


def ical_fetch(url: str) -> str:
    """Download a feed under F1's caps. Raises FeedUnavailable, always with FETCH_FAILED."""
    deadline_seconds = settings.ICAL_FETCH_DEADLINE
    fetch = _Fetch(url, time.monotonic() + deadline_seconds)
    # The fetch runs in a helper thread so the deadline holds even while a socket read is
    # blocked (headers dripping one byte at a time); on time-out its connection is shut down.
    future = _pool.submit(fetch.run)
    try:
        return future.result(timeout=deadline_seconds + 0.5)
    except FutureTimeout as error:
        fetch.abort()
        raise FeedUnavailable(FETCH_FAILED) from error
    except FeedUnavailable:
        raise
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        OSError,
        ValueError,
        LookupError,
    ) as error:
        # The URL holds the feed's secret token, and the reason would tell which hosts and
        # ports answer: neither is reported.
        raise FeedUnavailable(FETCH_FAILED) from error
    finally:
        if future.done():
            fetch.session.close()
