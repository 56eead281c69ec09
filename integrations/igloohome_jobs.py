"""igloohome bridge jobs: what a failed job means, and the jobs locksync queued for a lock.

Each job id is kept on the Lock (`adapter_state["jobs"]`, keyed by a hash of the lock and
PIN, never the PIN) from the moment igloohome answers the queueing, so a later call follows
that job to its end instead of queueing another or assuming it ran.
"""

from __future__ import annotations

import hashlib

from integrations.base import Reason, VendorError
from integrations.http import redact_pins
from integrations.models import Lock

# What a failed job says, read as a SPEC R2 reason. igloohome documents no job error table;
# these words are what failed jobs have said [INF, tests/fakes/igloohome.py].
JOB_FULL_WORDS = ("full", "storage", "limit", "maximum")
JOB_DUPLICATE_WORDS = ("exist", "duplicate")
JOB_OFFLINE_WORDS = ("reach", "offline", "expired", "timeout", "timed out", "connect")


def job_error(job: dict) -> VendorError:
    """A failed bridge job as what it is: a full lock, a PIN the lock holds, an unreachable
    lock or expired job (offline), else a vendor error."""
    response = job.get("jobResponse")
    response = response if isinstance(response, dict) else {}
    message = str(response.get("message") or response.get("error") or job.get("message") or "")
    text = message.lower()
    if any(word in text for word in JOB_FULL_WORDS):
        return VendorError(Reason.LOCK_FULL, "the igloohome lock holds all the PINs it can")
    if any(word in text for word in JOB_DUPLICATE_WORDS):
        return VendorError(Reason.DUPLICATE_CODE, "the igloohome lock already holds this PIN")
    if any(word in text for word in JOB_OFFLINE_WORDS):
        return VendorError(
            Reason.LOCK_OFFLINE,
            "the igloohome bridge did not reach the lock" + (f" ({message})" if message else ""),
        )
    return VendorError(
        Reason.VENDOR_ERROR,
        f"an igloohome bridge job failed: {redact_pins(message) or 'no reason given'}",
    )


def job_key(lock_remote_id: str, pin: str) -> str:
    """Where a PIN's jobs are kept on the Lock, without writing the PIN down."""
    return hashlib.sha256(f"{lock_remote_id}:{pin}".encode()).hexdigest()[:24]


def jobs_of(row: Lock | None) -> dict:
    return dict((row.adapter_state or {}).get("jobs") or {}) if row is not None else {}


def _store(row: Lock, jobs: dict) -> None:
    row.adapter_state = {**(row.adapter_state or {}), "jobs": jobs}
    Lock.objects.filter(pk=row.pk).update(adapter_state=row.adapter_state)


def jobs_remember(row: Lock | None, key: str, **fields) -> None:
    """Note a PIN's job ids (`create`, `delete`) and name; a field set to None is dropped."""
    if row is None:
        return
    row.refresh_from_db(fields=["adapter_state"])
    jobs = jobs_of(row)
    entry = {**jobs.get(key, {}), **fields}
    jobs[key] = {k: v for k, v in entry.items() if v is not None}
    _store(row, jobs)


def jobs_forget(row: Lock | None, key: str) -> None:
    """The PIN is off the lock: nothing of it to follow any more."""
    if row is None:
        return
    row.refresh_from_db(fields=["adapter_state"])
    jobs = jobs_of(row)
    jobs.pop(key, None)
    _store(row, jobs)
