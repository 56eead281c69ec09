"""igloohome adapter: offline algoPINs, and custom PINs through a bridge (vendors/README.md §4).

An igloohome keypad needs no connection: for a window, igloohome's server computes a PIN the
lock will accept (an algoPIN). So locksync cannot choose that PIN, cannot list the lock's
codes, and cannot take an algoPIN back: it works until its end. Windows start and end on the
hour in the lock's zone, written with an explicit offset; hourly codes cover 1–672 hours,
longer stays get a daily code (29–367 days, same time of day at both ends); a code longer than
24 hours must first be used within 24 hours of its start. Up to three codes exist for the same
hours (`variance` 1–3); which variance each guest got is kept on the Lock, so asking again
for the same guest and hours returns the same PIN (SPEC R4).

A lock linked to an igloohome bridge also takes custom PINs through bridge jobs (4 create,
5 delete), queued and polled through `/jobs/{id}`: there locksync chooses the PIN and can
delete it. Such a code's remote id carries its PIN encrypted, since job 5 needs the PIN.
"""

from __future__ import annotations

import base64
import time
import zoneinfo
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from integrations.base import (
    Adapter,
    CodeSpec,
    CodeStatus,
    LockCapabilities,
    LockInfo,
    Reason,
    RemoteCode,
    VendorError,
)
from integrations.http import VendorHttpClient, redact_pins
from integrations.models import Lock
from locksync.fields import decrypt_text, encrypt_text

SCOPES = (
    "igloohomeapi/algopin-hourly igloohomeapi/algopin-daily igloohomeapi/get-devices "
    "igloohomeapi/create-pin-bridge-proxied-job igloohomeapi/delete-pin-bridge-proxied-job "
    "igloohomeapi/get-job-status"
)
HOUR = timedelta(hours=1)
HOURLY_MAX = timedelta(hours=672)
DAILY_MIN, DAILY_MAX = timedelta(days=29), timedelta(days=367)
VARIANCES = (1, 2, 3)
JOB_CREATE_PIN, JOB_DELETE_PIN = 4, 5
JOB_FAILED = 2
CUSTOM_PIN_TYPE = 4
EXPIRY_MARGIN = 60.0

ALGOPIN = LockCapabilities(
    time_bound_codes=True,
    max_active_codes_supported=199,
    supported_code_lengths=(7, 8, 9),
    pin_chosen_by_vendor=True,
    can_delete_codes=False,
    window_granularity_minutes=60,
    max_window_hours=int(DAILY_MAX / HOUR),
    first_use_within_hours=24,
)
BRIDGED = LockCapabilities(
    time_bound_codes=True,
    max_active_codes_supported=199,
    supported_code_lengths=(4, 5, 6, 7, 8),
    window_granularity_minutes=60,
)


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floored = _floor_hour(moment)
    return floored if floored == moment else floored + HOUR


def _stamp(moment: datetime) -> str:
    """igloohome's strict format: on the hour, with the lock zone's offset."""
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%dT%H}:00:00{offset[:3]}:{offset[3:]}"


def _hours(start: datetime, end: datetime) -> timedelta:
    # Aware datetimes in one zone subtract as wall clocks; a DST change makes that an hour off.
    return end.astimezone(UTC) - start.astimezone(UTC)


def hour_window(
    starts_at: datetime, ends_at: datetime, zone: zoneinfo.ZoneInfo
) -> tuple[str, datetime, datetime]:
    """The kind of algoPIN and its window: rounded outward to the hour, never in the past."""
    if ends_at <= timezone.now():
        raise VendorError(Reason.REJECTED, "the stay's access has already ended")
    now_hour = _floor_hour(timezone.now().astimezone(zone))
    start = max(_floor_hour(starts_at.astimezone(zone)), now_hour)
    end = max(_ceil_hour(ends_at.astimezone(zone)), start + HOUR)
    if _hours(start, end) <= HOURLY_MAX:
        return "hourly", start, end
    # Daily codes end at the time of day they start: move the end out to it (rounding outward
    # keeps every hour the guest booked), and cover at least 29 days.
    days = max(-(-_hours(start, end) // timedelta(days=1)), DAILY_MIN.days)
    end = (start.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=zone)
    if _hours(start, end) > DAILY_MAX + HOUR:
        raise VendorError(Reason.REJECTED, "igloohome codes cover at most 367 days")
    return "daily", start, end


def bridge_remote_id(pin: str) -> str:
    return "pin:" + encrypt_text(pin)


def pin_from_remote_id(code_remote_id: str) -> str | None:
    if not code_remote_id.startswith("pin:"):
        return None
    return decrypt_text(code_remote_id.removeprefix("pin:"))


class IgloohomeAdapter(Adapter):
    key = "igloohome"
    label = "igloohome"
    # No listing, no in-place change; bridge jobs are waited for within the call.
    features = frozenset()
    credential_fields = {
        "client_id": "iglooaccess API client ID (iglooaccess portal → API)",
        "client_secret": "iglooaccess API client secret",
    }

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self.http = VendorHttpClient(
            base_url=settings.IGLOOHOME_API_URL,
            vendor="igloohome",
            headers={"Accept": "application/json"},
        )
        self.auth = VendorHttpClient(base_url=settings.IGLOOHOME_AUTH_URL, vendor="igloohome")

    # -- plumbing --

    def _sign_in(self) -> None:
        pair = (
            f"{self.credentials.get('client_id', '')}:{self.credentials.get('client_secret', '')}"
        )
        response = self.auth.post(
            "oauth2/token",
            data={"grant_type": "client_credentials", "scope": SCOPES},
            headers={"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()},
        )
        if response.status_code in (400, 401, 403):
            raise VendorError(Reason.ACCOUNT_DISCONNECTED, "igloohome refused the API client")
        if response.status_code >= 400:
            raise VendorError(
                Reason.VENDOR_ERROR, f"igloohome sign-in answered {response.status_code}"
            )
        try:
            body = response.json()
        except ValueError as error:
            raise VendorError(Reason.VENDOR_ERROR, "igloohome answered without JSON") from error
        self.credentials.update(
            access_token=body["access_token"],
            expires_at=time.time() + float(body.get("expires_in") or 3600) - EXPIRY_MARGIN,
        )
        if self.connection.pk is not None:
            self.connection.credentials = dict(self.credentials)
            self.connection.save(update_fields=["credentials", "updated_at"])

    def _request(self, method: str, path: str, **kwargs) -> dict:
        if not self.credentials.get("access_token") or time.time() >= float(
            self.credentials.get("expires_at") or 0
        ):
            self._sign_in()
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.credentials['access_token']}"}
            response = self.http.request(method, path, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self._sign_in()
                continue
            return self._read(response)
        raise AssertionError("unreachable")

    @staticmethod
    def _read(response) -> dict:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if status < 400:
            return body
        message = (
            str(body.get("message") or body.get("error") or "") if isinstance(body, dict) else ""
        )
        if status == 401:
            raise VendorError(Reason.ACCOUNT_DISCONNECTED, "igloohome no longer accepts the client")
        if status == 403:
            raise VendorError(
                Reason.ACCOUNT_DISCONNECTED,
                "the igloohome API client lacks a permission (scope) locksync needs",
            )
        if status == 404:
            raise VendorError(Reason.VENDOR_ERROR, "igloohome does not know this", retryable=False)
        raise VendorError(Reason.REJECTED, redact_pins(message) or f"igloohome answered {status}")

    # -- locks --

    @staticmethod
    def _bridge_of(device: dict) -> str | None:
        for linked in device.get("linkedDevices") or []:
            if str(linked.get("type", "")).lower() == "bridge":
                return str(linked["deviceId"])
        return None

    def _lock_info(self, device: dict) -> LockInfo:
        return LockInfo(
            remote_id=str(device["deviceId"]),
            name=device.get("deviceName") or "",
            model=f"igloohome {device.get('type', 'Lock')}",
            # algoPINs need no connection: the lock is always able to take them.
            online=True,
            battery_level=device.get("batteryLevel"),
            capabilities=BRIDGED if self._bridge_of(device) else ALGOPIN,
        )

    def list_locks(self) -> list[LockInfo]:
        devices, cursor = [], None
        while True:
            body = self._request("GET", "devices", params={"cursor": cursor} if cursor else None)
            devices += body.get("payload") or []
            cursor = body.get("nextCursor")
            if not cursor:
                break
        return [self._lock_info(d) for d in devices if d.get("type") == "Lock"]

    def _device(self, remote_id: str) -> dict:
        return self._request("GET", f"devices/{remote_id}")

    def get_lock(self, remote_id: str) -> LockInfo:
        return self._lock_info(self._device(remote_id))

    # -- what we remember: the lock's zone and the variances we issued --

    def _lock_row(self, remote_id: str) -> Lock | None:
        if self.connection.pk is None:
            return None
        return Lock.objects.filter(connection=self.connection, remote_id=remote_id).first()

    def _zone(self, row: Lock | None) -> zoneinfo.ZoneInfo:
        """The lock's zone is its property's: igloohome keeps it in the app, not the API."""
        match = row.matches.select_related("property").first() if row is not None else None
        return zoneinfo.ZoneInfo(match.property.time_zone if match else settings.TIME_ZONE)

    def _variance(self, row: Lock | None, key: str, name: str) -> int:
        """The variance this guest has for these hours, or the next one free (≤ 3)."""
        issued = dict((row.adapter_state or {}).get("issued") or {}) if row else {}
        now = timezone.now()
        issued = {k: v for k, v in issued.items() if datetime.fromisoformat(k.split("/")[1]) > now}
        taken = issued.get(key, {})
        if name in taken:
            return int(taken[name])
        free = [v for v in VARIANCES if v not in taken.values()]
        if not free:
            raise VendorError(
                Reason.LOCK_FULL, "igloohome issues at most 3 codes for the same hours on a lock"
            )
        if row is not None:
            issued[key] = {**taken, name: free[0]}
            Lock.objects.filter(pk=row.pk).update(
                adapter_state={**(row.adapter_state or {}), "issued": issued}
            )
        return free[0]

    # -- codes --

    def list_codes(self, lock_remote_id: str) -> list[RemoteCode]:
        # The engine never asks (no Feature.LIST_CODES); pages and the API get a clear answer.
        raise VendorError(
            Reason.VENDOR_ERROR,
            "igloohome cannot list a lock's codes: its offline PINs live only on the keypad",
            retryable=False,
        )

    def create_code(self, lock_remote_id: str, spec: CodeSpec) -> RemoteCode:
        if spec.starts_at is None or spec.ends_at is None:
            raise VendorError(Reason.REJECTED, "locksync gives igloohome codes a window")
        row = self._lock_row(lock_remote_id)
        zone = self._zone(row)
        if spec.pin:
            return self._bridge_create(lock_remote_id, spec, zone)
        kind, start, end = hour_window(spec.starts_at, spec.ends_at, zone)
        key = f"{start.astimezone(UTC).isoformat()}/{end.astimezone(UTC).isoformat()}"
        body = {
            "variance": self._variance(row, key, spec.name),
            "startDate": _stamp(start),
            "endDate": _stamp(end),
            "accessName": spec.name[:60],
        }
        answer = self._request("POST", f"devices/{lock_remote_id}/algopin/{kind}", json=body)
        return RemoteCode(
            remote_id=f"algo:{answer['pinId']}",
            pin=str(answer["pin"]),
            name=spec.name,
            # Issued, never read back: the lock learns nothing until the guest types it.
            status=CodeStatus.SET,
            starts_at=start,
            ends_at=end,
        )

    def update_code(self, lock_remote_id: str, code_remote_id: str, spec: CodeSpec) -> RemoteCode:
        raise VendorError(Reason.REJECTED, "igloohome codes cannot be changed; issue a new one")

    def delete_code(self, lock_remote_id: str, code_remote_id: str) -> None:
        pin = pin_from_remote_id(code_remote_id)
        if pin is None:
            raise VendorError(
                Reason.REJECTED,
                "an igloohome algoPIN cannot be revoked remotely; it works until its end",
            )
        bridge_id = self._bridge_of(self._device(lock_remote_id))
        if bridge_id is None:
            raise VendorError(Reason.LOCK_OFFLINE, "the lock's igloohome bridge is gone")
        self._run_job(lock_remote_id, bridge_id, JOB_DELETE_PIN, {"pin": pin})

    # -- bridge jobs --

    def _bridge_create(self, lock_remote_id: str, spec: CodeSpec, zone) -> RemoteCode:
        bridge_id = self._bridge_of(self._device(lock_remote_id))
        if bridge_id is None:
            raise VendorError(
                Reason.REJECTED, "this igloohome lock has no bridge: its PINs come from igloohome"
            )
        now_hour = _floor_hour(timezone.now().astimezone(zone))
        start = max(_floor_hour(spec.starts_at.astimezone(zone)), now_hour)
        end = max(_ceil_hour(spec.ends_at.astimezone(zone)), start + HOUR)
        job = {
            "accessName": spec.name[:60],
            "pin": spec.pin,
            "pinType": CUSTOM_PIN_TYPE,
            "startDate": _stamp(start),
            "endDate": _stamp(end),
        }
        self._run_job(lock_remote_id, bridge_id, JOB_CREATE_PIN, job)
        return RemoteCode(
            remote_id=bridge_remote_id(spec.pin),
            pin=spec.pin,
            name=spec.name,
            status=CodeStatus.SET,
            starts_at=start,
            ends_at=end,
        )

    def _run_job(self, lock_remote_id: str, bridge_id: str, job_type: int, data: dict) -> None:
        """Queue a bridge job and wait for it; a job still queued at the end is ambiguous."""
        queued = self._request(
            "POST",
            f"devices/{lock_remote_id}/jobs/bridges/{bridge_id}",
            json={"jobType": job_type, "jobData": data},
        )
        interval = settings.IGLOOHOME_JOB_POLL_INTERVAL
        polls = max(1, int(settings.IGLOOHOME_JOB_WAIT / max(interval, 0.1)))
        for _ in range(polls):
            job = self._request("GET", f"jobs/{queued['jobId']}")
            status = (job.get("jobResponse") or {}).get("jobStatus")
            if status == JOB_FAILED:
                raise VendorError(
                    Reason.LOCK_OFFLINE, "the igloohome bridge could not reach the lock"
                )
            if job.get("completed") or status == 0:
                return
            time.sleep(interval)
        # The bridge may still carry the job out (SPEC R4): the next attempt repeats it, which
        # the bridge treats as the same PIN.
        raise VendorError(Reason.TIMEOUT, "the igloohome bridge has not finished yet")
