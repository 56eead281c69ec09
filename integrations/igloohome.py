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
A bridge runs about two jobs a minute and may be offline, so a job is only queued: each job
id is kept on the Lock (`adapter_state["jobs"]`, by a hash of the PIN) as soon as igloohome
answers, and followed to its end by later calls. A create still queued is answered with its
remote id (status `setting`), so a stay cancelled meanwhile gets a delete job, queued behind
the create; a delete is done only when its job has run.
"""

from __future__ import annotations

import base64
import logging
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
from integrations.igloohome_jobs import job_error, job_key, jobs_forget, jobs_of, jobs_remember
from integrations.models import Lock
from integrations.oauth import BearerTokens
from locksync.fields import decrypt_text, encrypt_text

log = logging.getLogger(__name__)

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
TOKEN_LIFETIME = 3600.0

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
        self.tokens = BearerTokens(
            connection=connection,
            credentials=self.credentials,
            grant=self._grant,
            vendor="igloohome",
            default_lifetime=TOKEN_LIFETIME,
            margin=EXPIRY_MARGIN,
        )

    # -- plumbing --

    def _grant(self, credentials: dict) -> dict:
        pair = f"{credentials.get('client_id', '')}:{credentials.get('client_secret', '')}"
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
        return self._json(response)

    def _request(self, method: str, path: str, **kwargs) -> dict:
        response = self.tokens.send(
            lambda headers: self.http.request(method, path, headers=headers, **kwargs)
        )
        return self._read(response)

    @staticmethod
    def _json(response) -> dict:
        """A JSON object, or a VendorError: an HTML page with status 200 is not an answer."""
        try:
            body = response.json()
        except ValueError as error:
            raise VendorError(Reason.VENDOR_ERROR, "igloohome answered without JSON") from error
        if not isinstance(body, dict):
            raise VendorError(Reason.VENDOR_ERROR, "igloohome answered with an unexpected shape")
        return body

    @classmethod
    def _read(cls, response) -> dict:
        status = response.status_code
        if status < 400:
            return cls._json(response)
        try:
            body = response.json()
        except ValueError:
            body = {}
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
            if (
                isinstance(linked, dict)
                and str(linked.get("type", "")).lower() == "bridge"
                and linked.get("deviceId")
            ):
                return str(linked["deviceId"])
        return None

    def _lock_info(self, device: dict) -> LockInfo:
        if not device.get("deviceId"):
            raise VendorError(Reason.VENDOR_ERROR, "igloohome answered a device without its id")
        battery = device.get("batteryLevel")
        return LockInfo(
            remote_id=str(device["deviceId"]),
            name=device.get("deviceName") or "",
            model=f"igloohome {device.get('type', 'Lock')}",
            # algoPINs need no connection: the lock is always able to take them.
            online=True,
            battery_level=battery if isinstance(battery, int) else None,
            capabilities=BRIDGED if self._bridge_of(device) else ALGOPIN,
        )

    def list_locks(self) -> list[LockInfo]:
        devices, cursor = [], None
        while True:
            body = self._request("GET", "devices", params={"cursor": cursor} if cursor else None)
            payload = body.get("payload")
            devices += (
                [d for d in payload if isinstance(d, dict)] if isinstance(payload, list) else []
            )
            cursor = body.get("nextCursor")
            if not cursor:
                break
        locks = []
        for device in devices:
            if device.get("type") != "Lock":
                continue
            if not device.get("deviceId"):
                # Skipped, not a crash: every other lock of the account still imports.
                log.warning("igloohome listed a lock without a deviceId; skipped")
                continue
            locks.append(self._lock_info(device))
        return locks

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
        if not answer.get("pin") or not answer.get("pinId"):
            raise VendorError(Reason.VENDOR_ERROR, "igloohome answered without a PIN")
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
        """Done only when a delete job has run on the lock (never assumed)."""
        pin = pin_from_remote_id(code_remote_id)
        if pin is None:
            raise VendorError(
                Reason.REJECTED,
                "an igloohome algoPIN cannot be revoked remotely; it works until its end",
            )
        row = self._lock_row(lock_remote_id)
        key = job_key(lock_remote_id, pin)
        pending = jobs_of(row).get(key, {}).get("delete")
        if pending:
            job = self._follow(pending)  # an earlier delete: follow it, do not queue another
            if self._done(job):
                jobs_forget(row, key)
                return
            if not self._failed(job):
                raise VendorError(Reason.TIMEOUT, "the igloohome bridge has not run the delete yet")
        bridge_id = self._bridge_of(self._device(lock_remote_id))
        if bridge_id is None:
            raise VendorError(Reason.LOCK_OFFLINE, "the lock's igloohome bridge is gone")
        job = self._run_job(
            row, key, "delete", lock_remote_id, bridge_id, JOB_DELETE_PIN, {"pin": pin}
        )
        if self._done(job):
            jobs_forget(row, key)
            return
        if self._failed(job):
            jobs_remember(row, key, delete=None)
            raise job_error(job)
        raise VendorError(Reason.TIMEOUT, "the igloohome bridge has not run the delete yet")

    # -- bridge jobs --

    def _bridge_create(self, lock_remote_id: str, spec: CodeSpec, zone) -> RemoteCode:
        # igloohome's codes are all time-bound (its capabilities say so): a window is given.
        assert spec.starts_at is not None and spec.ends_at is not None
        now_hour = _floor_hour(timezone.now().astimezone(zone))
        start = max(_floor_hour(spec.starts_at.astimezone(zone)), now_hour)
        end = max(_ceil_hour(spec.ends_at.astimezone(zone)), start + HOUR)
        row = self._lock_row(lock_remote_id)
        key = job_key(lock_remote_id, spec.pin)
        earlier = jobs_of(row).get(key, {})
        job = None
        if earlier.get("create") and earlier.get("name") == spec.name:
            job = self._follow(earlier["create"])  # a create still under way: follow it (R4)
            if self._failed(job):
                jobs_remember(row, key, create=None)
                job = None
        if job is None:
            bridge_id = self._bridge_of(self._device(lock_remote_id))
            if bridge_id is None:
                raise VendorError(
                    Reason.REJECTED,
                    "this igloohome lock has no bridge: its PINs come from igloohome",
                )
            data = {
                "accessName": spec.name[:60],
                "pin": spec.pin,
                "pinType": CUSTOM_PIN_TYPE,
                "startDate": _stamp(start),
                "endDate": _stamp(end),
            }
            jobs_remember(row, key, name=spec.name)
            job = self._run_job(row, key, "create", lock_remote_id, bridge_id, JOB_CREATE_PIN, data)
        if self._failed(job):
            jobs_remember(row, key, create=None)
            raise job_error(job)
        return RemoteCode(
            remote_id=bridge_remote_id(spec.pin),
            pin=spec.pin,
            name=spec.name,
            # Still queued: the id is ours now, so a cancel gets a delete job behind it.
            status=CodeStatus.SET if self._done(job) else CodeStatus.SETTING,
            starts_at=start,
            ends_at=end,
        )

    @staticmethod
    def _done(job: dict) -> bool:
        status = (job.get("jobResponse") or {}).get("jobStatus")
        return bool(job.get("completed")) or status == 0

    @staticmethod
    def _failed(job: dict) -> bool:
        return (job.get("jobResponse") or {}).get("jobStatus") == JOB_FAILED

    def _follow(self, job_id: str) -> dict:
        job = self._request("GET", f"jobs/{job_id}")
        return {
            **job,
            "jobResponse": job.get("jobResponse")
            if isinstance(job.get("jobResponse"), dict)
            else {},
        }

    def _run_job(
        self,
        row,
        key: str,
        role: str,
        lock_remote_id: str,
        bridge_id: str,
        job_type: int,
        data: dict,
    ) -> dict:
        """Queue a bridge job, keep its id at once, and watch it for a while: the answer is
        the job as last seen (done, failed, or still queued)."""
        queued = self._request(
            "POST",
            f"devices/{lock_remote_id}/jobs/bridges/{bridge_id}",
            json={"jobType": job_type, "jobData": data},
        )
        job_id = queued.get("jobId")
        if not job_id:
            raise VendorError(Reason.VENDOR_ERROR, "igloohome queued the job without an id")
        jobs_remember(row, key, **{role: str(job_id)})
        interval = settings.IGLOOHOME_JOB_POLL_INTERVAL
        polls = max(1, int(settings.IGLOOHOME_JOB_WAIT / max(interval, 0.1)))
        job: dict = {}
        for attempt in range(polls):
            job = self._follow(str(job_id))
            if self._done(job) or self._failed(job) or attempt == polls - 1:
                break
            time.sleep(interval)
        return job
