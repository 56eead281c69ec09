"""Seam adapter through Seam's official Python SDK (vendors/README.md §3).

Seam fronts August, Yale, Schlage, Kwikset, Lockly, igloohome and more; each device says what
it accepts (`code_constraints`, `supported_code_lengths`, `max_active_codes_supported`), so
capabilities are read from the device rather than declared. Codes move `unset → setting → set
→ removing` over time and report failures in `errors[]`. Seam limits each device to 10 creates,
10 updates and 20 deletes a minute; the adapter keeps its own per-device window and answers
rate_limited with how long to wait instead of calling (SPEC R3), so a burst never draws a 429;
a 429 that comes anyway is answered with Seam's own Retry-After.

Only devices that take access codes are locks (a workspace also lists thermostats and noise
sensors). Seam's own backup-code pool is not used: locksync keeps its own backup codes on every
vendor's locks (SPEC H3), and a second pool would take slots the host never sees.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from httpx_retries import Retry
from seam import Seam
from seam.exceptions import SeamError, SeamHttpApiError, SeamHttpUnauthorizedError

from integrations.base import (
    Adapter,
    CodeSpec,
    CodeStatus,
    Constraint,
    Feature,
    LockCapabilities,
    LockInfo,
    Reason,
    RemoteCode,
    VendorError,
)
from integrations.http import redact_pins, retry_after_seconds, vendor_httpx_event_hooks

# docs.seam.co "rate limits and guardrails": per device and per minute.
RATE_LIMITS = {"create": 10, "update": 10, "delete": 20}
RATE_WINDOW = 60.0
# A device read serves the listings of one lock pass (its opening read and its read-back after
# writing) for this long: whether the device is offline, not a call per listing (issue #15).
DEVICE_FRESH_FOR = 30.0
# Seam programs most codes within seconds to minutes; a managed code still not on the lock
# after this long, or carrying errors, is an attempt Seam gave up on.
STUCK_AFTER = timedelta(minutes=15)

CODE_ERRORS = {
    "duplicate_code_on_device": Reason.DUPLICATE_CODE,
    "no_space_for_access_code_on_device": Reason.LOCK_FULL,
    "code_constraints_violated": Reason.REJECTED,
    "device_offline": Reason.LOCK_OFFLINE,
    "device_disconnected": Reason.LOCK_OFFLINE,
    "hub_disconnected": Reason.LOCK_OFFLINE,
    "bridge_disconnected": Reason.LOCK_OFFLINE,
    "account_disconnected": Reason.ACCOUNT_DISCONNECTED,
}
OFFLINE_DEVICE_ERRORS = frozenset(
    {"device_offline", "device_disconnected", "hub_disconnected", "bridge_disconnected"}
)
# The vendor picks the PIN: a create must leave `code` out (SPEC P6's per-lock PIN).
VENDOR_CHOSEN_PIN = "cannot_specify_pin_code"
# Events locksync registers its webhook for (docs.seam.co events list).
WEBHOOK_EVENTS = [
    "access_code.set_on_device",
    "access_code.scheduled_on_device",
    "access_code.failed_to_set_on_device",
    "access_code.removed_from_device",
    "access_code.deleted",
    "access_code.modified_external_to_seam",
    "access_code.deleted_external_to_seam",
    "device.connected",
    "device.disconnected",
    "device.low_battery",
    "device.battery_status_changed",
    "connected_account.disconnected",
    "lock.unlocked",
]
STATUSES = {
    "setting": CodeStatus.SETTING,
    "set": CodeStatus.SET,
    "unset": CodeStatus.UNSET,
    "removing": CodeStatus.REMOVING,
}
KNOWN_CONSTRAINTS = {c.value for c in Constraint}


def _get(obj, name, default=None):
    """Read a field from an SDK resource or a plain dict alike."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _parse(value) -> datetime | None:
    if not value:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def error_reason(error_codes: list[str]) -> Reason | None:
    """Pick the SPEC R2 reason for a code's `errors[]` (device errors can appear there too)."""
    for error_code in error_codes:
        if error_code in CODE_ERRORS:
            return CODE_ERRORS[error_code]
    return Reason.VENDOR_ERROR if error_codes else None


def device_offline(device) -> bool:
    """Seam says a device is unreachable by `properties.online` false or a device error."""
    if _get(_get(device, "properties"), "online", True) is False:
        return True
    return any(_get(e, "error_code") in OFFLINE_DEVICE_ERRORS for e in _get(device, "errors") or [])


def takes_access_codes(device) -> bool:
    """Thermostats, noise sensors and cameras share the device list; only code locks are locks."""
    return bool(
        _get(device, "can_program_online_access_codes")
        or _get(device, "can_program_offline_access_codes")
    )


def battery_percent(properties) -> int | None:
    """`battery_level` (0–1), or `battery.level` where the provider gives only that."""
    level = _get(properties, "battery_level")
    if level is None:
        level = _get(_get(properties, "battery"), "level")
    return None if level is None else round(float(level) * 100)


def capabilities_of(properties) -> LockCapabilities:
    constraints, name_max_length, name_unique = set(), None, False
    vendor_pin = False
    for item in _get(properties, "code_constraints") or []:
        kind = _get(item, "constraint_type")
        if kind == VENDOR_CHOSEN_PIN:
            vendor_pin = True
        elif kind in KNOWN_CONSTRAINTS:
            constraints.add(Constraint(kind))
        elif kind == "name_length":
            name_max_length = _get(item, "max_length")
        elif kind == "name_must_be_unique":
            name_unique = True
    lengths = _get(properties, "supported_code_lengths") or [4, 5, 6, 7, 8]
    return LockCapabilities(
        time_bound_codes=True,
        max_active_codes_supported=int(_get(properties, "max_active_codes_supported") or 100),
        supported_code_lengths=tuple(int(n) for n in lengths),
        code_constraints=frozenset(constraints),
        name_max_length=int(name_max_length) if name_max_length else None,
        name_must_be_unique=name_unique,
        pin_chosen_by_vendor=vendor_pin,
    )


class SeamAdapter(Adapter):
    key = "seam"
    label = "Seam (August, Yale, Schlage, Kwikset, igloohome…)"
    features = frozenset(
        {
            Feature.LIST_CODES,
            Feature.ASYNC_WRITES,
            Feature.UPDATE_WINDOW,
        }
    )
    credential_fields = {"api_key": "Seam API key (starts with seam_)"}
    webhook_setup = "api"  # webhooks.create returns the signing secret

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self._sdk: Seam | None = None
        self._retry_after: float | None = None
        self._offline: dict[str, tuple[float, bool]] = {}  # device id -> (read at, offline)

    # -- plumbing --

    @property
    def sdk(self) -> Seam:
        if self._sdk is None:
            with self._errors():
                self._sdk = Seam(
                    api_key=str(self.credentials.get("api_key", "")),
                    endpoint=settings.SEAM_API_URL,
                    # We follow codes up ourselves by listing (SPEC S6/S7).
                    wait_for_action_attempt=False,
                    timeout=settings.VENDOR_HTTP_TIMEOUT,
                    # Only reads are retried; a repeated write could apply twice (SPEC R4),
                    # and a 429 is answered by waiting as told, not by hammering.
                    retries=Retry(
                        total=2,
                        allowed_methods=["GET"],
                        status_forcelist=[500, 502, 503, 504],
                        backoff_factor=0.2,
                    ),
                    httpx_options={"event_hooks": self._event_hooks()},
                )
        return self._sdk

    def _event_hooks(self) -> dict:
        # One log line per call, as for the requests-based adapters; plus Retry-After.
        hooks = vendor_httpx_event_hooks("seam")
        hooks["response"].append(self._remember_retry_after)
        return hooks

    def _remember_retry_after(self, response: httpx.Response) -> None:
        """The SDK's error carries no headers: keep a 429's Retry-After for _api_error."""
        if response.status_code == 429:
            self._retry_after = retry_after_seconds(response.headers.get("Retry-After"))

    @contextlib.contextmanager
    def _errors(self):
        try:
            yield
        except SeamHttpUnauthorizedError as error:
            raise VendorError(
                Reason.ACCOUNT_DISCONNECTED, "Seam no longer accepts the API key"
            ) from error
        except SeamHttpApiError as error:
            raise self._api_error(error) from error
        except httpx.TimeoutException as error:
            raise VendorError(Reason.TIMEOUT, "Seam did not answer in time") from error
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            raise VendorError(
                Reason.VENDOR_ERROR, f"Seam answered {status}", retryable=status >= 500
            ) from error
        except httpx.TransportError as error:
            raise VendorError(
                Reason.VENDOR_ERROR, "could not reach Seam", retryable=True
            ) from error
        except SeamError as error:
            # e.g. SeamInvalidTokenError: what was saved is not a Seam API key.
            raise VendorError(Reason.ACCOUNT_DISCONNECTED, str(error)) from error

    def _api_error(self, error: SeamHttpApiError) -> VendorError:
        if error.status_code == 429:
            wait = RATE_WINDOW if self._retry_after is None else self._retry_after
            return VendorError(Reason.RATE_LIMITED, "Seam asks us to slow down", retry_after=wait)
        if error.code == "duplicate_access_code":
            return VendorError(Reason.DUPLICATE_CODE, "a code with this PIN is already on the lock")
        if error.code == "invalid_input":
            return VendorError(Reason.REJECTED, redact_pins(str(error)) or "Seam refused the code")
        if error.code in CODE_ERRORS:
            return VendorError(CODE_ERRORS[error.code], redact_pins(str(error)))
        return VendorError(
            Reason.VENDOR_ERROR, f"Seam: {error.code}", retryable=error.status_code >= 500
        )

    @staticmethod
    def _throttle(device_id: str, action: str) -> None:
        """Take a slot in the device's one-minute window, or say how long to wait.

        The window lives in Django's cache so every worker shares it. get-then-set is not
        atomic, but writes to one lock are never concurrent (SPEC S5), which is what matters.
        """
        key = f"seam-rate:{action}:{device_id}"
        now = time.time()
        stamps = [t for t in cache.get(key, []) if t > now - RATE_WINDOW]
        if len(stamps) >= RATE_LIMITS[action]:
            raise VendorError(
                Reason.RATE_LIMITED,
                f"Seam allows {RATE_LIMITS[action]} {action}s a minute on one lock",
                retry_after=stamps[0] + RATE_WINDOW - now,
            )
        stamps.append(now)
        cache.set(key, stamps, timeout=int(RATE_WINDOW) + 1)

    @staticmethod
    def _lock_info(device) -> LockInfo:
        properties = _get(device, "properties")
        model = _get(_get(properties, "model"), "display_name") or _get(device, "device_type") or ""
        return LockInfo(
            remote_id=_get(device, "device_id"),
            name=_get(device, "display_name") or _get(properties, "name") or "",
            model=str(model),
            online=not device_offline(device),
            battery_level=battery_percent(properties),
            capabilities=capabilities_of(properties),
        )

    @staticmethod
    def _remote(access_code, *, offline: bool = False) -> RemoteCode:
        """Seam's code as a RemoteCode.

        `unset` without errors is a code Seam holds until its programming time (shortly before
        starts_at): reported UNSET with no error, for the engine to count as accepted. Natively
        scheduled (`is_scheduled_on_device`) it is already on the lock, dormant: SET. On an
        offline device every code not on the lock is lock_offline, whether or not Seam copied
        the device's error onto the code.
        """
        error_codes = [_get(e, "error_code") for e in _get(access_code, "errors") or []]
        status = STATUSES.get(_get(access_code, "status"), CodeStatus.SETTING)
        if status == CodeStatus.UNSET and _get(access_code, "is_scheduled_on_device"):
            status = CodeStatus.SET
        messages = [_get(e, "message") or "" for e in _get(access_code, "errors") or []]
        error = error_reason(error_codes)
        if offline and status != CodeStatus.SET and error in (None, Reason.VENDOR_ERROR):
            error = Reason.LOCK_OFFLINE
            messages = messages or ["the lock is offline at Seam"]
        return RemoteCode(
            remote_id=_get(access_code, "access_code_id"),
            pin=_get(access_code, "code"),
            name=_get(access_code, "name") or "",
            status=status,
            starts_at=_parse(_get(access_code, "starts_at")),
            ends_at=_parse(_get(access_code, "ends_at")),
            error=error,
            error_message=redact_pins("; ".join(m for m in messages if m)),
        )

    # -- the interface --

    def list_locks(self) -> list[LockInfo]:
        with self._errors():
            devices = self.sdk.devices.list()
        return [self._lock_info(device) for device in devices if takes_access_codes(device)]

    def get_lock(self, remote_id: str) -> LockInfo:
        with self._errors():
            return self._lock_info(self.sdk.devices.get(device_id=remote_id))

    def list_codes(self, lock_remote_id: str) -> list[RemoteCode]:
        """List our managed codes and the codes put on the lock outside Seam.

        A managed code Seam has been "setting" for longer than STUCK_AFTER without an error is
        left out: it is not on the lock, and listing it would make every follow-up wait on it
        again. Creating the code again then replaces it (see create_code).
        """
        with self._errors():
            offline = self._device_offline(lock_remote_id)
            managed = self.sdk.access_codes.list(device_id=lock_remote_id)
            unmanaged = self.sdk.access_codes.unmanaged.list(device_id=lock_remote_id)
        managed = [c for c in managed if _get(c, "errors") or not self._stuck(c)]
        return [self._remote(c, offline=offline) for c in managed] + [
            self._remote(c) for c in unmanaged
        ]

    def _device_offline(self, device_id: str) -> bool:
        read_at, offline = self._offline.get(device_id, (0.0, False))
        if time.time() - read_at >= DEVICE_FRESH_FOR:
            offline = device_offline(self.sdk.devices.get(device_id=device_id))
            self._offline[device_id] = (time.time(), offline)
        return offline

    def _create(self, lock_remote_id: str, spec: CodeSpec):
        """Ask Seam for the code; an empty PIN lets Seam choose it (`cannot_specify_pin_code`)."""
        time_bound = spec.starts_at is not None and spec.ends_at is not None
        self._throttle(lock_remote_id, "create")
        with self._errors():
            return self.sdk.access_codes.create(
                device_id=lock_remote_id,
                code=spec.pin or None,
                name=spec.name,
                starts_at=_iso(spec.starts_at) if time_bound else None,
                ends_at=_iso(spec.ends_at) if time_bound else None,
            )

    @staticmethod
    def _stuck(access_code) -> bool:
        """Tell an earlier attempt Seam gave up on from one still on its way."""
        if _get(access_code, "status") == "set" or _get(access_code, "is_scheduled_on_device"):
            return False
        if _get(access_code, "errors"):
            return True
        if _get(access_code, "status") != "setting":
            return False  # `unset` without errors: waiting for its programming time
        created_at = _parse(_get(access_code, "created_at"))
        return created_at is not None and timezone.now() - created_at > STUCK_AFTER

    def create_code(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        if not spec.pin:
            return self._create_vendor_pin(lock_remote_id, spec)
        try:
            return self._remote(self._create(lock_remote_id, spec))
        except VendorError as error:
            if error.reason != Reason.DUPLICATE_CODE:
                raise
            with self._errors():
                managed = self.sdk.access_codes.list(device_id=lock_remote_id)
            twin = next(
                (c for c in managed if (_get(c, "code"), _get(c, "name")) == (spec.pin, spec.name)),
                None,
            )
            if twin is None:
                raise
            if not self._stuck(twin):
                # Our own earlier create, answered too late (SPEC R4): it is this code.
                return self._remote(twin)
            # Our earlier attempt that never reached the lock holds the PIN at Seam: clear it
            # and start over, or every retry would find the same stuck code.
            self.delete_code(lock_remote_id, _get(twin, "access_code_id"))
            return self._remote(self._create(lock_remote_id, spec))

    def _create_vendor_pin(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        """Seam chooses the PIN, so no duplicate error can tell us of an earlier create whose
        answer was lost (SPEC R4): look for our code by name first."""
        with self._errors():
            managed = self.sdk.access_codes.list(device_id=lock_remote_id)
        twin = next(
            (c for c in managed if _get(c, "name") == spec.name and not self._stuck(c)), None
        )
        if twin is not None:
            return self._remote(twin)
        return self._remote(self._create(lock_remote_id, spec))

    def update_code(self, lock_remote_id: str, code_remote_id: str, spec: CodeSpec) -> RemoteCode:
        self._throttle(lock_remote_id, "update")
        time_bound = spec.starts_at is not None and spec.ends_at is not None
        with self._errors():
            self.sdk.access_codes.update(
                access_code_id=code_remote_id,
                code=spec.pin or None,
                name=spec.name,
                starts_at=_iso(spec.starts_at) if time_bound else None,
                ends_at=_iso(spec.ends_at) if time_bound else None,
                type="time_bound" if time_bound else "ongoing",
            )
            return self._remote(self.sdk.access_codes.get(access_code_id=code_remote_id))

    # -- webhooks: Seam's API registers them and returns the signing secret --

    def webhook_register(self, url: str) -> tuple[str, str]:
        """Register locksync's webhook URL; return (webhook id, `whsec_…` signing secret)."""
        with self._errors():
            webhook = self.sdk.webhooks.create(url=url, event_types=WEBHOOK_EVENTS)
        return str(_get(webhook, "webhook_id")), str(_get(webhook, "secret") or "")

    def webhook_unregister(self, webhook_id: str) -> None:
        try:
            with self._errors():
                self.sdk.webhooks.delete(webhook_id=webhook_id)
        except VendorError as error:
            if "not_found" not in error.message:
                raise

    def delete_code(self, lock_remote_id: str, code_remote_id: str) -> None:
        self._throttle(lock_remote_id, "delete")
        try:
            with self._errors():
                self.sdk.access_codes.delete(access_code_id=code_remote_id)
        except VendorError as error:
            if "access_code_not_found" in error.message:
                return  # already gone
            raise
