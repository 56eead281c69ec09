"""The one small interface every lock-vendor adapter implements (SPEC §5).

Capabilities are data: the adapter's `features` frozenset says what the vendor's API can do,
and each lock's `LockInfo.capabilities` what the device accepts. The vocabulary is Seam's
(code lifecycle `unset → setting → set → removing`, `code_constraints`,
`max_active_codes_supported`, `supported_code_lengths`).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from integrations.models import LockConnection


class Reason(enum.StrEnum):
    """Why a vendor call failed (SPEC R2)."""

    LOCK_OFFLINE = "lock_offline"
    ACCOUNT_DISCONNECTED = "account_disconnected"
    LOCK_FULL = "lock_full"
    DUPLICATE_CODE = "duplicate_code"
    DUPLICATE_NAME = "duplicate_name"
    REJECTED = "rejected"
    RATE_LIMITED = "rate_limited"
    VENDOR_ERROR = "vendor_error"
    TIMEOUT = "timeout"


# Whether trying the same call again later can succeed without anything changing on our side.
RETRYABLE_BY_DEFAULT: dict[Reason, bool] = {
    Reason.LOCK_OFFLINE: True,
    Reason.ACCOUNT_DISCONNECTED: False,
    Reason.LOCK_FULL: False,
    Reason.DUPLICATE_CODE: False,
    Reason.DUPLICATE_NAME: False,
    Reason.REJECTED: False,
    Reason.RATE_LIMITED: True,
    Reason.VENDOR_ERROR: True,
    Reason.TIMEOUT: True,
}


class VendorError(Exception):
    """A vendor refused or failed a call; the caller decides about retries (SPEC R2/R3)."""

    # The vendor's own code for the failure, kept by adapters that map one (TTLock's
    # errcode, RemoteLock's HTTP status).
    errcode: int | None = None
    status: int | None = None

    def __init__(
        self,
        reason: Reason,
        message: str = "",
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.reason = Reason(reason)
        self.message = message or self.reason.value.replace("_", " ")
        self.retryable = RETRYABLE_BY_DEFAULT[self.reason] if retryable is None else retryable
        self.retry_after = retry_after
        super().__init__(f"{self.reason.value}: {self.message}")


class Feature(enum.StrEnum):
    """What a vendor's API can do, declared by each adapter as data."""

    LIST_CODES = "list_codes"  # codes can be read back from the lock (S7, Y2)
    ASYNC_WRITES = "async_writes"  # writes are confirmed later, by poll or webhook (S6)
    UPDATE_WINDOW = "update_window"  # a code's window can be changed in place (C1, C3)
    # Codes live in numbered slots and the host gives locksync a range of them (Home Assistant).
    CODE_SLOTS = "code_slots"


class Constraint(enum.StrEnum):
    """PIN constraints, named as Seam's `code_constraints`."""

    NO_ZEROS = "no_zeros"
    CANNOT_START_WITH_12 = "cannot_start_with_12"
    NO_TRIPLE_CONSECUTIVE_INTS = "no_triple_consecutive_ints"
    NO_ASCENDING_OR_DESCENDING_SEQUENCE = "no_ascending_or_descending_sequence"
    AT_LEAST_THREE_UNIQUE_DIGITS = "at_least_three_unique_digits"
    CANNOT_CONTAIN_089 = "cannot_contain_089"
    CANNOT_CONTAIN_0789 = "cannot_contain_0789"
    UNIQUE_FIRST_FOUR_DIGITS = "unique_first_four_digits"
    NO_ALL_SAME_DIGITS = "no_all_same_digits"
    # TTLock types keyboardPwd as an integer, so a leading 0 would be lost on the way.
    CANNOT_START_WITH_0 = "cannot_start_with_0"


@dataclass(frozen=True)
class LockCapabilities:
    """What one device accepts; stored on Lock.capabilities as JSON."""

    time_bound_codes: bool = True
    max_active_codes_supported: int = 100
    supported_code_lengths: tuple[int, ...] = (4, 5, 6, 7, 8)
    code_constraints: frozenset[str] = frozenset()
    name_max_length: int | None = None
    name_must_be_unique: bool = False
    # The vendor chooses the PIN (Seam `cannot_specify_pin_code`, igloohome algoPIN): the
    # engine sends a CodeSpec with pin="" and keeps the PIN the vendor returns as this lock's
    # own PIN (SPEC P6's per-lock PIN).
    pin_chosen_by_vendor: bool = False
    # A code once issued can be deleted again (igloohome algoPIN: it cannot, it works until
    # its end).
    can_delete_codes: bool = True
    # Windows the lock can hold start and end on multiples of this many minutes in the lock's
    # zone (igloohome: 60); the engine rounds a window outward to it.
    window_granularity_minutes: int = 1
    # The longest window one code can carry, in hours (igloohome hourly codes: 672); None: any.
    max_window_hours: int | None = None
    # A code whose window is longer than this many hours stops working unless it is first used
    # within this many hours of its start (igloohome algoPIN: 24). Messages tell the guest.
    first_use_within_hours: int | None = None

    def first_use_deadline(self, starts_at: datetime, ends_at: datetime) -> datetime | None:
        """When a code for this window must first be used, if the lock has such a rule.

        igloohome: an algoPIN longer than 24 hours stops working unless it is entered within
        24 hours of its start. The guest's message for that lock says so, with this time.
        """
        limit = self.first_use_within_hours
        if limit is None or ends_at - starts_at <= timedelta(hours=limit):
            return None
        return starts_at + timedelta(hours=limit)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["supported_code_lengths"] = list(self.supported_code_lengths)
        data["code_constraints"] = sorted(self.code_constraints)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LockCapabilities:
        data = dict(data or {})
        known = {f for f in cls.__dataclass_fields__}
        data = {k: v for k, v in data.items() if k in known}
        if "supported_code_lengths" in data:
            data["supported_code_lengths"] = tuple(data["supported_code_lengths"])
        if "code_constraints" in data:
            data["code_constraints"] = frozenset(data["code_constraints"])
        return cls(**data)


@dataclass(frozen=True)
class LockInfo:
    """A device as the vendor reports it."""

    remote_id: str
    name: str
    model: str = ""
    online: bool = True
    battery_level: int | None = None  # percent
    capabilities: LockCapabilities = field(default_factory=LockCapabilities)
    code_count: int | None = None


class CodeStatus(enum.StrEnum):
    """Seam's code lifecycle, as adapters report it."""

    UNSET = "unset"
    SETTING = "setting"
    SET = "set"
    REMOVING = "removing"


@dataclass(frozen=True)
class CodeSpec:
    """What we want on the lock. A window of None means a permanent code."""

    pin: str
    name: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class RemoteCode:
    """A code as the vendor reports it.

    `remote_id` is empty when the vendor gave none yet (Nuki answers a create with 204 only);
    `error` carries the reason when the vendor reports the write as failed on the device.
    """

    remote_id: str
    pin: str | None
    name: str
    status: CodeStatus = CodeStatus.SET
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    error: Reason | None = None
    error_message: str = ""


# Adapter methods whose HTTP calls are logged with the lock and the operation's name.
LABELLED_OPERATIONS = (
    "list_locks",
    "get_lock",
    "list_codes",
    "create_code",
    "update_code",
    "delete_code",
)


class Adapter:
    """Base class for lock-vendor adapters. A vendor is one module and one registry line."""

    key: ClassVar[str]
    label: ClassVar[str]
    features: ClassVar[frozenset[Feature]] = frozenset()
    # SPEC S2: how long before a window starts the code is sent to the lock.
    lead_time_time_bound: ClassVar[timedelta] = timedelta(days=3)
    lead_time_permanent: ClassVar[timedelta] = timedelta(minutes=10)
    # Credential fields a host fills in when connecting: name -> label.
    credential_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, connection: LockConnection) -> None:
        self.connection = connection
        self.credentials: dict[str, Any] = dict(connection.credentials or {})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every vendor call's log line names its lock and operation (integrations.http).
        super().__init_subclass__(**kwargs)
        from integrations.http import labelled_vendor_operation

        for name in LABELLED_OPERATIONS:
            if name in vars(cls):
                setattr(cls, name, labelled_vendor_operation(vars(cls)[name]))

    def lead_time(self, capabilities: LockCapabilities) -> timedelta:
        if capabilities.time_bound_codes:
            return self.lead_time_time_bound
        return self.lead_time_permanent

    def has(self, feature: Feature) -> bool:
        return feature in self.features

    # Calls that talk to the vendor. Each raises VendorError on failure.

    def validate_credentials(self) -> None:
        """Check the credentials against the vendor; raise VendorError if they do not work."""
        self.list_locks()

    def list_locks(self) -> list[LockInfo]:
        raise NotImplementedError

    def get_lock(self, remote_id: str) -> LockInfo:
        for lock in self.list_locks():
            if lock.remote_id == remote_id:
                return lock
        raise VendorError(Reason.VENDOR_ERROR, f"lock {remote_id} is no longer on this account")

    def list_codes(self, lock_remote_id: str) -> list[RemoteCode]:
        raise NotImplementedError

    def create_code(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        raise NotImplementedError

    def update_code(self, lock_remote_id: str, code_remote_id: str, spec: CodeSpec) -> RemoteCode:
        raise NotImplementedError

    def delete_code(self, lock_remote_id: str, code_remote_id: str) -> None:
        raise NotImplementedError

    # Only vendors whose API registers webhooks (Seam, Nuki) have these; the caller checks
    # that the vendor can before calling (integrations.connections).
    def webhook_register(self, url: str) -> tuple[str, str]:
        """Register `url`; return the vendor's webhook id and its signing secret."""
        raise NotImplementedError

    def webhook_unregister(self, webhook_id: str) -> None:
        raise NotImplementedError
