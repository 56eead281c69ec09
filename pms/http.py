"""Shared HTTP helpers for PMS adapters: integrations.http's client, PMS error mapping."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import requests

from integrations.http import VendorHttpClient
from pms.base import Reason, VendorError


def client(*, base_url: str, vendor: str, headers: dict[str, str] | None = None):
    return VendorHttpClient(base_url=base_url, vendor=vendor, headers=headers)


def answer(response: requests.Response, vendor: str, *, missing_ok: bool = False) -> Any:
    """The JSON of a good answer; None for a 404 where that means 'no longer there'."""
    if response.status_code == 404 and missing_ok:
        return None
    if response.status_code in (401, 403):
        raise VendorError(Reason.ACCOUNT_DISCONNECTED, f"{vendor} refused the credentials")
    if response.status_code >= 400:
        raise VendorError(Reason.REJECTED, f"{vendor} answered {response.status_code}")
    try:
        return response.json()
    except ValueError as error:
        raise VendorError(Reason.VENDOR_ERROR, f"{vendor} answered something not JSON") from error


def body_key(body: bytes) -> str:
    """An event key for PMSs whose webhooks carry no id: the same body twice is one event."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))
