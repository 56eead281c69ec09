"""The one small HTTP client every vendor adapter uses.

It owns what every vendor call needs and no vendor should get wrong on its own: the base URL
from settings, the timeout from VENDOR_HTTP_TIMEOUT, retries only where a retry cannot apply a
write twice, and the mapping of transport failures to SPEC R2 reasons. It logs one line per
call (lock, vendor, operation, outcome, milliseconds) and never a request body or query string:
those carry tokens and PINs.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from integrations.base import Reason, VendorError
from locksync.metrics import vendor_call_observe

logger = logging.getLogger(__name__)
# The adapter operation under way (set by Adapter subclasses' wrapped methods): lock, operation.
_operation: ContextVar[tuple[str, str]] = ContextVar("vendor_operation", default=("", ""))

# A GET can be repeated safely; a PUT/POST/DELETE that timed out may already have been applied,
# so repeating it here could create a second copy (SPEC R4). Those are left to the caller, who
# reads the lock's codes first.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_RETRY_AFTER = 60.0
# Adapter operations that write to the lock: an unreadable answer to one of them may follow a
# write the vendor applied, so it is reported like a timeout and the engine reads back (R4).
WRITE_OPERATIONS = frozenset({"create_code", "update_code", "delete_code"})
# What reading a reply that is not what the vendor documents raises in adapter code: a body
# that is not JSON (ValueError), a missing field (KeyError/IndexError), a list where an object
# was documented or null where a string was (TypeError/AttributeError).
MALFORMED_REPLY_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError)


def unreadable_reply(vendor: str, operation: str, error: Exception) -> VendorError:
    """The VendorError for a reply an adapter could not read: never a crash (issue #20)."""
    detail = f"{vendor or 'the vendor'} sent a reply we could not read ({type(error).__name__})"
    if operation in WRITE_OPERATIONS:
        return VendorError(Reason.TIMEOUT, f"{detail}; the write may have been applied")
    return VendorError(Reason.VENDOR_ERROR, detail, retryable=True)


def retry_after_seconds(value: str | None, *, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Read a Retry-After header, given in seconds or as an HTTP date."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - timezone.now()).total_seconds())


def redact_pins(text: str) -> str:
    """Blank out digit runs that could be a PIN in a vendor's error text (e.g. Nuki echoes the
    rejected code), since error messages are stored on codes and shown to support staff."""
    return re.sub(r"\d{4,}", "····", text)


@contextmanager
def vendor_operation(*, lock: str, operation: str) -> Iterator[None]:
    """Label the vendor calls made inside with the lock and the adapter operation."""
    token = _operation.set((lock, operation))
    try:
        yield
    finally:
        _operation.reset(token)


def labelled_vendor_operation(method: Callable) -> Callable:
    """Wrap an adapter method so its HTTP calls are logged with its name and lock.


    Any reply the adapter cannot read (HTML with status 200, JSON of the wrong shape, a
    missing field) becomes a VendorError with its reason here, so no adapter crashes on one.
    """

    @functools.wraps(method)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        lock = str(args[0]) if args and isinstance(args[0], str | int) else ""
        with vendor_operation(lock=lock, operation=method.__name__):
            try:
                return method(self, *args, **kwargs)
            except MALFORMED_REPLY_ERRORS as error:
                vendor = getattr(self, "vendor", "") or type(self).__name__
                logger.warning("unreadable vendor reply in %s: %r", method.__name__, error)
                raise unreadable_reply(str(vendor), method.__name__, error) from error

    return wrapper


def vendor_call_log(*, vendor: str, method: str, path: str, outcome: str, seconds: float) -> None:
    """Log one vendor call and count its duration for /metrics.

    For adapters whose vendor SDK makes the HTTP calls (Seam): call this from its hooks. The
    path is cut at its query and its digit runs masked; the outcome is the HTTP status,
    "timeout" or "connection_failed".
    """
    lock, operation = _operation.get()
    fields = {
        "lock": lock or "-",
        # The registry's key ("Home Assistant" -> "homeassistant"): /metrics reads by it.
        "vendor": re.sub(r"[^a-z0-9]", "", vendor.lower()),
        "operation": operation or f"{method} {redact_pins(path.split('?')[0])}",
        "outcome": outcome,
        "ms": round(seconds * 1000),
    }
    level = logging.INFO if outcome.isdigit() and int(outcome) < 500 else logging.WARNING
    logger.log(
        level,
        "vendor call lock=%(lock)s vendor=%(vendor)s operation=%(operation)s "
        "outcome=%(outcome)s ms=%(ms)s",
        fields,
        extra=fields,
    )
    vendor_call_observe(vendor=str(fields["vendor"]), seconds=seconds)


def vendor_httpx_event_hooks(vendor: str) -> dict[str, list[Callable]]:
    """httpx event hooks logging each call like VendorHttpClient does, for SDK-based adapters.

    Seam: `Seam(..., httpx_options={"event_hooks": vendor_httpx_event_hooks("seam")})`.
    """

    def started(request) -> None:
        request.extensions["locksync_started"] = time.monotonic()

    def answered(response) -> None:
        request = response.request
        begun = request.extensions.get("locksync_started", time.monotonic())
        vendor_call_log(
            vendor=vendor,
            method=request.method,
            path=request.url.path,
            outcome=str(response.status_code),
            seconds=time.monotonic() - begun,
        )

    return {"request": [started], "response": [answered]}


class VendorHttpClient:
    """A requests session bound to one vendor's base URL."""

    def __init__(self, *, base_url: str, vendor: str, headers: dict[str, str] | None = None):
        self.base_url = base_url.rstrip("/")
        self.vendor = vendor
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        retry = Retry(
            total=2,
            connect=2,
            read=2,
            status=2,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=(500, 502, 503, 504),
            backoff_factor=0.2,
            raise_on_status=False,
            # 429 is not retried here: the caller is told how long to wait (SPEC R3).
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send one request; raise VendorError for timeouts, lost connections, 429 and 5xx.

        Any other response is returned for the adapter to read in its vendor's terms.
        """
        method = method.upper()
        url = f"{self.base_url}/{path.lstrip('/')}"
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                json=json,
                headers=headers,
                timeout=settings.VENDOR_HTTP_TIMEOUT,
            )
        except requests.Timeout as error:
            self._log_call(method, path, "timeout", started)
            # The vendor may have applied a write before the answer was lost (SPEC R4).
            raise VendorError(Reason.TIMEOUT, f"{self.vendor} did not answer in time") from error
        except requests.ConnectionError as error:
            self._log_call(method, path, "connection_failed", started)
            raise VendorError(
                Reason.VENDOR_ERROR, f"could not reach {self.vendor}", retryable=True
            ) from error
        except requests.RequestException as error:
            # A reply cut off mid-body (ChunkedEncodingError), a bad encoding, a redirect
            # loop: the request reached the vendor, so a write may have been applied (R4).
            self._log_call(method, path, "truncated", started)
            if method in IDEMPOTENT_METHODS:
                raise VendorError(
                    Reason.VENDOR_ERROR,
                    f"{self.vendor} sent an incomplete reply ({type(error).__name__})",
                    retryable=True,
                ) from error
            raise VendorError(
                Reason.TIMEOUT,
                f"{self.vendor} sent an incomplete reply; the write may have been applied",
            ) from error
        self._log_call(method, path, str(response.status_code), started)
        if response.status_code == 429:
            raise VendorError(
                Reason.RATE_LIMITED,
                f"{self.vendor} asks us to slow down",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if response.status_code >= 500:
            raise VendorError(
                Reason.VENDOR_ERROR,
                f"{self.vendor} answered {response.status_code}",
                retryable=True,
            )
        return response

    def _log_call(self, method: str, path: str, outcome: str, started: float) -> None:
        vendor_call_log(
            vendor=self.vendor,
            method=method,
            path=path,
            outcome=outcome,
            seconds=time.monotonic() - started,
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)
