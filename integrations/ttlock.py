"""TTLock Open API v3 adapter (vendors/README.md §2).

Form-encoded calls carrying clientId, accessToken and `date` (epoch ms, within 5 minutes of the
server's clock); failures arrive as an `errcode` inside HTTP 200. Codes are written through the
gateway (addType/changeType/deleteType 2): addType 1 would only record the code in the cloud.
The host's TTLock-app account signs in with the OAuth password grant (MD5 of the password);
the plain password is never stored.

A lock is online when a gateway that is online reaches it (gateway/list + gateway/listLock):
being paired to a gateway is not enough. The lock reads code times with its own clock offset
(`timezoneRawOffset`); when that differs from the matched property's zone, times are shifted so
the lock still opens at the property's wall-clock times, and the host is told (health.py).
Errors about one lock (not its admin) make that lock unreachable, never the account.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone

from django.conf import settings
from django.core.cache import cache

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
from integrations.http import VendorHttpClient, redact_pins

PERMANENT, PERIOD = 2, 3
GATEWAY = 2
TOKEN_INVALID = frozenset({10003, 10004})

# TTLock: custom passcodes 4–9 digits, no repeated or consecutive digits (-2032), 250 per lock;
# `keyboardPwd` is typed as an integer, so a leading 0 would be lost on the way.
CAPABILITIES = LockCapabilities(
    time_bound_codes=True,
    max_active_codes_supported=250,
    supported_code_lengths=(4, 5, 6, 7, 8, 9),
    code_constraints=frozenset(
        {
            Constraint.NO_ALL_SAME_DIGITS,
            Constraint.NO_ASCENDING_OR_DESCENDING_SEQUENCE,
            Constraint.CANNOT_START_WITH_0,
        }
    ),
)

ACCOUNT_ERRORS = {
    10007: "the TTLock username or password no longer works",
    10011: "TTLock no longer accepts the saved sign-in",
}
# About one lock, not the account: that lock is unreachable until the host is its admin again.
NOT_LOCK_ADMIN = {
    20002: "the TTLock account is no longer admin of this lock",
    -2018: "the TTLock account is no longer admin of this lock",
}
OFFLINE_ERRORS = {
    -2012: "no gateway is near the lock",
    -3002: "the TTLock gateway is offline",
    -3034: "the Wi-Fi lock has no network",
    -3035: "the Wi-Fi lock is in power-saving mode",
    -3036: "the lock is offline",
}
# "Busy, retry" (vendors/README.md §2): the command never reached the lock. Waited out like a
# rate limit (R3: not an attempt, the lock left alone for a minute, then its pass queued).
BUSY_ERRORS = {-3003: "the gateway is busy", -3037: "the lock is busy"}
BUSY_WAIT = 60.0
# A gateway carries one write at a time (vendors/README.md §2, single-flight): the engine keeps
# one writer per LOCK, so two locks behind one gateway take turns here, through the cache that
# every worker shares. Which gateway serves which lock is learned when the locks are listed.
GATEWAY_OF = "ttlock-gateway-of:{lock_id}"
GATEWAY_TURN = "ttlock-gateway-turn:{gateway_id}"
GATEWAY_MAP_KEEP = 24 * 3600
GATEWAY_WAIT = 10.0  # seconds to wait for a turn, then the lock waits like a busy gateway
GATEWAY_POLL = 0.1
# Only these concern the PIN itself: a new PIN is chosen (SPEC R2 rejected).
REJECTED_ERRORS = {
    -2032: "TTLock refuses simple PINs (repeated or consecutive digits)",
    -3006: "TTLock PINs are 4 to 9 digits",
}
# Not the guest's PIN or name: a new PIN would not help, and trying again will not either.
NOT_RETRYABLE_ERRORS = {
    -3: "TTLock refused a parameter of the request",
    -4043: "the lock does not support this operation (e.g. passcodes through the gateway)",
    10000: "locksync's TTLock app settings are wrong (client id)",
    10001: "locksync's TTLock app settings are wrong (client id or secret)",
    30008: "locksync uses the wrong TTLock region",
}
BEIJING = timezone(timedelta(hours=8))


def standard_offset(zone: zoneinfo.ZoneInfo, at: datetime | None = None) -> timedelta:
    """A zone's UTC offset without daylight saving, as TTLock's `timezoneRawOffset` is."""
    moment = (at or datetime.now(tz=UTC)).astimezone(zone)
    return (moment.utcoffset() or timedelta(0)) - (moment.dst() or timedelta(0))


def md5_hex(text: str) -> str:
    # TTLock's OAuth takes the MD5 of the password; it is their protocol, not our hashing.
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def _from_ms(value) -> datetime | None:
    value = int(value or 0)
    return datetime.fromtimestamp(value / 1000, tz=UTC) if value else None


def _seconds_to_quota_reset() -> float:
    """The monthly quota resets on the 1st, Beijing time."""
    now = datetime.now(tz=BEIJING)
    first = (now.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    return (first - now).total_seconds()


def error_for(errcode: int, errmsg: str = "") -> VendorError:
    """Map a TTLock errcode to a SPEC R2 reason; the errcode stays on the error."""
    error = _error_for(errcode, errmsg)
    error.errcode = errcode
    return error


def _error_for(errcode: int, errmsg: str) -> VendorError:
    if errcode in TOKEN_INVALID or errcode in ACCOUNT_ERRORS:
        return VendorError(
            Reason.ACCOUNT_DISCONNECTED, ACCOUNT_ERRORS.get(errcode, "the TTLock sign-in expired")
        )
    if errcode in NOT_LOCK_ADMIN:
        return VendorError(Reason.LOCK_OFFLINE, NOT_LOCK_ADMIN[errcode])
    if errcode == -2025:
        return VendorError(Reason.LOCK_OFFLINE, "the lock is frozen in the TTLock app")
    if errcode == -3007:
        return VendorError(Reason.DUPLICATE_CODE, "a code with this PIN is already on the lock")
    if errcode in (-3009, -4056):
        return VendorError(Reason.LOCK_FULL, "the lock's passcode storage is full")
    if errcode in OFFLINE_ERRORS:
        return VendorError(Reason.LOCK_OFFLINE, OFFLINE_ERRORS[errcode])
    if errcode == 30006:
        return VendorError(Reason.RATE_LIMITED, "TTLock API call limit", retry_after=60.0)
    if errcode == 30007:
        return VendorError(
            Reason.RATE_LIMITED,
            "the monthly TTLock API quota is used up",
            retry_after=_seconds_to_quota_reset(),
        )
    if errcode in BUSY_ERRORS:
        return VendorError(Reason.RATE_LIMITED, BUSY_ERRORS[errcode], retry_after=BUSY_WAIT)
    if errcode in REJECTED_ERRORS:
        return VendorError(Reason.REJECTED, REJECTED_ERRORS[errcode])
    if errcode in NOT_RETRYABLE_ERRORS:
        return VendorError(Reason.VENDOR_ERROR, NOT_RETRYABLE_ERRORS[errcode], retryable=False)
    # TTLock echoes parameters in its messages: never store a PIN from them.
    text = f"TTLock errcode {errcode}" + (f": {redact_pins(errmsg)}" if errmsg else "")
    return VendorError(Reason.VENDOR_ERROR, text, retryable=errcode in (80000, 90000))


class TTLockAdapter(Adapter):
    key = "ttlock"
    label = "TTLock"
    features = frozenset({Feature.LIST_CODES, Feature.UPDATE_WINDOW})
    # One callback URL, set by locksync's operator in its TTLock open-platform app.
    webhook_setup = "operator"
    credential_fields = {
        "username": "TTLock app username (the account that is admin of the locks)",
        "password": "TTLock app password",
    }

    def __init__(self, connection) -> None:
        super().__init__(connection)
        password = self.credentials.pop("password", None)
        if password:
            self.credentials["password_md5"] = md5_hex(str(password))
        self.http = VendorHttpClient(base_url=settings.TTLOCK_API_URL, vendor="TTLock")
        self._offsets: dict[str, timedelta | None] = {}

    # -- plumbing --

    @staticmethod
    def _read(response) -> dict:
        try:
            body = response.json()
        except ValueError as error:
            raise VendorError(Reason.VENDOR_ERROR, "TTLock answered without JSON") from error
        if response.status_code >= 400:
            raise VendorError(Reason.VENDOR_ERROR, f"TTLock answered {response.status_code}")
        errcode = body.get("errcode", 0) if isinstance(body, dict) else 0
        if errcode:
            raise error_for(int(errcode), str(body.get("errmsg", "")))
        return body

    def _client(self) -> dict:
        return {
            "clientId": settings.TTLOCK_CLIENT_ID,
            "clientSecret": settings.TTLOCK_CLIENT_SECRET,
        }

    def _sign_in(self) -> None:
        """Get tokens: refresh when we hold a refresh token, else the password grant."""
        refresh_token = self.credentials.get("refresh_token")
        body = None
        if refresh_token:
            try:
                body = self._read(
                    self.http.post(
                        "oauth2/token",
                        data={
                            **self._client(),
                            "grant_type": "refresh_token",
                            "refresh_token": refresh_token,
                        },
                    )
                )
            except VendorError as error:
                if error.reason != Reason.ACCOUNT_DISCONNECTED:
                    raise
        if body is None:
            if not self.credentials.get("username") or not self.credentials.get("password_md5"):
                raise VendorError(Reason.ACCOUNT_DISCONNECTED, "TTLock sign-in details missing")
            body = self._read(
                self.http.post(
                    "oauth2/token",
                    data={
                        **self._client(),
                        "grant_type": "password",
                        "username": self.credentials["username"],
                        "password": self.credentials["password_md5"],
                    },
                )
            )
        self.credentials.update(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token", refresh_token),
            uid=body.get("uid", self.credentials.get("uid")),
        )
        self._save_credentials()

    def _save_credentials(self) -> None:
        connection = self.connection
        if connection.pk is None:
            return  # a connection being created stores what validate_credentials left
        connection.credentials = dict(self.credentials)
        connection.save(update_fields=["credentials", "updated_at"])

    def _call(self, method: str, path: str, params: dict) -> dict:
        if not self.credentials.get("access_token"):
            self._sign_in()
        for attempt in (1, 2):
            payload = {
                **params,
                "clientId": settings.TTLOCK_CLIENT_ID,
                "accessToken": self.credentials["access_token"],
                "date": int(time.time() * 1000),
            }
            if method == "GET":
                response = self.http.get(path, params=payload)
            else:
                response = self.http.post(path, data=payload)
            try:
                return self._read(response)
            except VendorError as error:
                if getattr(error, "errcode", None) in TOKEN_INVALID and attempt == 1:
                    # Tokens last 90 days and die with a password change: refresh once.
                    self._sign_in()
                    continue
                raise
        raise AssertionError("unreachable")

    def _pages(self, path: str, params: dict, page_size: int) -> list[dict]:
        items, page_no = [], 1
        while True:
            body = self._call("GET", path, {**params, "pageNo": page_no, "pageSize": page_size})
            items += body.get("list", [])
            if page_no >= int(body.get("pages") or 1):
                return items
            page_no += 1

    def _reachable_lock_ids(self) -> set[str]:
        """Locks an online gateway reaches. A paired gateway may itself be offline."""
        reachable = set()
        for gateway in self._pages("v3/gateway/list", {}, 100):
            if int(gateway.get("isOnline") or 0) != 1:
                continue
            body = self._call("GET", "v3/gateway/listLock", {"gatewayId": gateway["gatewayId"]})
            near = {str(lock["lockId"]) for lock in body.get("list", [])}
            cache.set_many(
                {GATEWAY_OF.format(lock_id=i): gateway["gatewayId"] for i in near},
                timeout=GATEWAY_MAP_KEEP,
            )
            reachable |= near
        return reachable

    @contextlib.contextmanager
    def _gateway_turn(self, lock_remote_id: str):
        """Write through the lock's gateway when no other worker is (a lock whose gateway is
        not known yet just writes; a busy answer is waited out anyway)."""
        gateway_id = cache.get(GATEWAY_OF.format(lock_id=lock_remote_id))
        if gateway_id is None:
            yield
            return
        key = GATEWAY_TURN.format(gateway_id=gateway_id)
        hold = int(settings.VENDOR_HTTP_TIMEOUT) + 5  # freed even if this worker dies
        give_up = time.monotonic() + GATEWAY_WAIT
        while not cache.add(key, lock_remote_id, timeout=hold):
            if time.monotonic() >= give_up:
                raise VendorError(Reason.RATE_LIMITED, BUSY_ERRORS[-3003], retry_after=BUSY_WAIT)
            time.sleep(GATEWAY_POLL)
        try:
            yield
        finally:
            cache.delete(key)

    @staticmethod
    def _lock_info(lock: dict, reachable: set[str]) -> LockInfo:
        remote_id = str(lock["lockId"])
        return LockInfo(
            remote_id=remote_id,
            name=lock.get("lockAlias") or lock.get("lockName", ""),
            model=lock.get("modelNum") or lock.get("lockName", "TTLock"),
            # Without an online gateway near it the cloud cannot reach the lock at all.
            online=int(lock.get("hasGateway", 0)) == 1 and remote_id in reachable,
            battery_level=lock.get("electricQuantity"),
            capabilities=CAPABILITIES,
        )

    def _remote(self, code: dict, shift: timedelta) -> RemoteCode:
        starts_at, ends_at = _from_ms(code.get("startDate")), _from_ms(code.get("endDate"))
        return RemoteCode(
            remote_id=str(code["keyboardPwdId"]),
            pin=str(code.get("keyboardPwd")),
            name=code.get("keyboardPwdName") or "",
            status=CodeStatus.SET,
            starts_at=starts_at - shift if starts_at else None,
            ends_at=ends_at - shift if ends_at else None,
        )

    @staticmethod
    def _window(spec: CodeSpec, shift: timedelta) -> dict:
        if spec.starts_at is None or spec.ends_at is None:
            return {"keyboardPwdType": PERMANENT}
        return {
            "keyboardPwdType": PERIOD,
            "startDate": _ms(spec.starts_at + shift),
            "endDate": _ms(spec.ends_at + shift),
        }

    def clock_offset(self, lock_remote_id: str) -> timedelta | None:
        """The offset the lock reads times with (`timezoneRawOffset`, no DST)."""
        if lock_remote_id not in self._offsets:
            detail = self._call("GET", "v3/lock/detail", {"lockId": lock_remote_id})
            raw = detail.get("timezoneRawOffset")
            self._offsets[lock_remote_id] = (
                None if raw is None else timedelta(milliseconds=int(raw))
            )
        return self._offsets[lock_remote_id]

    def _shift(self, lock_remote_id: str) -> timedelta:
        """How far to move code times so the lock, reading them with its own offset, opens at
        the matched property's wall-clock times (zero when the offsets agree)."""
        zone = self._property_zone(lock_remote_id)
        if zone is None:
            return timedelta(0)
        offset = self.clock_offset(lock_remote_id)
        return timedelta(0) if offset is None else standard_offset(zone) - offset

    def _property_zone(self, lock_remote_id: str) -> zoneinfo.ZoneInfo | None:
        if self.connection.pk is None:
            return None
        from integrations.models import Match

        match = (
            Match.objects.filter(lock__connection=self.connection, lock__remote_id=lock_remote_id)
            .select_related("property")
            .order_by("pk")
            .first()
        )
        return match.property.zone if match else None

    # -- the interface --

    def validate_credentials(self) -> None:
        self._sign_in()
        self.list_locks()

    def list_locks(self) -> list[LockInfo]:
        locks = self._pages("v3/lock/list", {}, 100)
        reachable = self._reachable_lock_ids()
        return [self._lock_info(lock, reachable) for lock in locks]

    def get_lock(self, remote_id: str) -> LockInfo:
        detail = self._call("GET", "v3/lock/detail", {"lockId": remote_id})
        return self._lock_info(detail, self._reachable_lock_ids())

    def list_codes(self, lock_remote_id: str) -> list[RemoteCode]:
        codes = self._pages(
            "v3/lock/listKeyboardPwd", {"lockId": lock_remote_id, "orderBy": 1}, 200
        )
        shift = self._shift(lock_remote_id)
        return [self._remote(code, shift) for code in codes]

    def create_code(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        params = {
            "lockId": lock_remote_id,
            "keyboardPwd": spec.pin,  # a string: listings keep leading zeros
            "keyboardPwdName": spec.name,
            "addType": GATEWAY,
            **self._window(spec, self._shift(lock_remote_id)),
        }
        try:
            with self._gateway_turn(lock_remote_id):
                body = self._call("POST", "v3/keyboardPwd/add", params)
        except VendorError as error:
            if error.reason == Reason.DUPLICATE_CODE:
                # Our own earlier create may have landed before its answer was lost (SPEC R4).
                twin = next(
                    (
                        c
                        for c in self.list_codes(lock_remote_id)
                        if (c.pin, c.name) == (spec.pin, spec.name)
                    ),
                    None,
                )
                if twin is not None:
                    return twin
            raise
        return RemoteCode(
            remote_id=str(body["keyboardPwdId"]),
            pin=spec.pin,
            name=spec.name,
            status=CodeStatus.SET,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
        )

    def update_code(self, lock_remote_id: str, code_remote_id: str, spec: CodeSpec) -> RemoteCode:
        window = self._window(spec, self._shift(lock_remote_id))
        window.pop("keyboardPwdType")
        change = {
            "lockId": lock_remote_id,
            "keyboardPwdId": code_remote_id,
            "keyboardPwdName": spec.name,
            "newKeyboardPwd": spec.pin,
            "changeType": GATEWAY,
            **window,
        }
        with self._gateway_turn(lock_remote_id):
            self._call("POST", "v3/keyboardPwd/change", change)
        return RemoteCode(
            remote_id=code_remote_id,
            pin=spec.pin,
            name=spec.name,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
        )

    def delete_code(self, lock_remote_id: str, code_remote_id: str) -> None:
        delete = {"lockId": lock_remote_id, "keyboardPwdId": code_remote_id, "deleteType": GATEWAY}
        try:
            with self._gateway_turn(lock_remote_id):
                self._call("POST", "v3/keyboardPwd/delete", delete)
        except VendorError as error:
            if getattr(error, "errcode", None) == -2009:
                return  # already gone
            raise
