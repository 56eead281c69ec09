"""Connecting a host's lock-vendor account: validate, store encrypted, import its locks."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accesscodes.services import connection_codes_resync
from integrations.base import LockInfo, Reason, VendorError
from integrations.models import Lock, LockConnection
from integrations.registry import ADAPTERS, adapter_for
from properties.models import Host

logger = logging.getLogger(__name__)

PRIVATE_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home", ".test")


class ConnectionNotSaved(Exception):
    """The vendor did not accept the credentials, or could not be asked; nothing was stored."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _checked(*, host: Host, vendor: str, credentials: dict[str, Any]) -> tuple[dict, list]:
    """Try the credentials on an unsaved connection; return what to store and the locks."""
    adapter_class = ADAPTERS.get(vendor)
    if adapter_class is None:
        raise ConnectionNotSaved(f"locksync does not know the lock app “{vendor}”.")
    missing = [
        label
        for field, label in adapter_class.credential_fields.items()
        if not credentials.get(field)
    ]
    if missing:
        raise ConnectionNotSaved("Please fill in: " + ", ".join(missing) + ".")
    adapter = adapter_class(LockConnection(host=host, vendor=vendor, credentials=dict(credentials)))
    try:
        locks = adapter.list_locks()
    except VendorError as error:
        if error.reason == Reason.ACCOUNT_DISCONNECTED:
            raise ConnectionNotSaved(
                f"{adapter_class.label} did not accept these details ({error.message}). "
                "Check them in the vendor's app and try again."
            ) from error
        raise ConnectionNotSaved(
            f"We could not check these details with {adapter_class.label} ({error.message}). "
            "Nothing was saved; please try again in a few minutes."
        ) from error
    # The adapter may have turned the input into what it keeps (TTLock: tokens and the MD5 of
    # the password, never the password itself).
    return adapter.credentials, locks


def locks_upsert(*, connection: LockConnection, infos: list[LockInfo]) -> list[Lock]:
    """Write the vendor's view of the locks; locks it no longer lists become not present."""
    now = timezone.now()
    returning = set(
        connection.locks.filter(
            is_present=False, remote_id__in=[i.remote_id for i in infos]
        ).values_list("pk", flat=True)
    )
    locks = []
    for info in infos:
        defaults = {
            "name": info.name,
            "model": info.model,
            "capabilities": info.capabilities.to_json(),
            "is_present": True,
        }
        if info.code_count is not None:
            defaults["code_count"] = info.code_count
        lock, created = Lock.objects.get_or_create(
            connection=connection,
            remote_id=info.remote_id,
            defaults={
                **defaults,
                "online": info.online,
                "battery_level": info.battery_level,
                "last_seen_at": now if info.online else None,
                "state_refreshed_at": now,
            },
        )
        if not created:
            for field, value in defaults.items():
                setattr(lock, field, value)
            lock.save(update_fields=[*defaults, "updated_at"])
        locks.append(lock)
    gone = connection.locks.filter(is_present=True).exclude(
        remote_id__in=[i.remote_id for i in infos]
    )
    still_matched = list(gone.filter(matches__isnull=False).distinct())
    gone.update(is_present=False, updated_at=now)
    for lock in still_matched:
        _lock_gone_tell_host(lock=lock)
    for lock in locks:
        if lock.pk in returning:
            _lock_back_provision(lock=lock)
    return locks


def _lock_back_provision(*, lock: Lock) -> None:
    """A matched lock the vendor lists again: the stays booked while it was gone get their
    codes on it, as when it was first matched (SPEC M2, M3)."""
    from integrations.services import stays_ahead_provision

    stays_ahead_provision(property__matches__lock=lock)


def _lock_gone_tell_host(*, lock: Lock) -> None:
    """A matched lock the vendor stopped listing: its guests' codes can no longer be set there,
    and it leaves the lock list, so the host is told once where to act (SPEC L2, M4)."""
    from messaging.models import HostAlert
    from messaging.services import host_alert_raise

    connection = lock.connection
    properties = list(lock.matches.select_related("property").order_by("property__name"))
    names = ", ".join(match.property.name for match in properties)
    host_alert_raise(
        host=connection.host,
        kind=HostAlert.Kind.LOCK_OFFLINE,
        subject=f"{lock.name} is no longer in your {connection.get_vendor_display()} account",
        body=(
            f"Your {connection.get_vendor_display()} account no longer lists {lock.name}, which "
            f"is matched to {names}. Guests' codes cannot be set on it. If the lock was "
            f"replaced or removed, unmatch it from "
            f"{names}; if it should still be there, add it back in the lock app and refresh "
            "the account in locksync."
        ),
        link=reverse("property_detail", args=[properties[0].property_id]),
    )


def connection_create(
    *, host: Host, vendor: str, credentials: dict[str, Any], name: str = ""
) -> LockConnection:
    """Check the credentials with the vendor, store them encrypted, and import the locks."""
    stored, infos = _checked(host=host, vendor=vendor, credentials=credentials)
    with transaction.atomic():
        connection = LockConnection.objects.create(
            host=host,
            vendor=vendor,
            name=name or ADAPTERS[vendor].label,
            credentials=stored,
            state=LockConnection.State.CONNECTED,
            last_synced_at=timezone.now(),
        )
        locks_upsert(connection=connection, infos=infos)
    connection_webhook_register(connection=connection)
    return connection


def connection_reconnect(
    *, connection: LockConnection, credentials: dict[str, Any]
) -> LockConnection:
    """Replace the credentials of a connection after checking them, then resync its locks.

    SPEC L3: codes that failed with account_disconnected are sent again at once.
    """
    stored, infos = _checked(
        host=connection.host, vendor=connection.vendor, credentials=credentials
    )
    with transaction.atomic():
        # Settings the host keeps across reconnects, e.g. a webhook secret.
        kept = {k: v for k, v in (connection.credentials or {}).items() if k == "webhook_secret"}
        connection.credentials = {**kept, **stored}
        connection.state = LockConnection.State.CONNECTED
        connection.last_error = ""
        connection.last_error_at = None
        connection.last_synced_at = timezone.now()
        connection.save()
        locks_upsert(connection=connection, infos=infos)
        connection_codes_resync(connection=connection)
    if not connection.webhook_id:
        connection_webhook_register(connection=connection)
    return connection


# --- webhooks -------------------------------------------------------------------------------


def site_url_is_public(url: str | None = None) -> bool:
    """Whether a vendor's cloud could reach locksync at SITE_URL (not localhost or a LAN name)."""
    split = urlsplit(url if url is not None else settings.SITE_URL)
    host = (split.hostname or "").lower()
    if split.scheme != "https" or not host or "." not in host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return not host.endswith(PRIVATE_SUFFIXES)
    return address.is_global


def connection_webhook_url(connection: LockConnection) -> str:
    """The address the vendor posts to; empty where locksync's operator sets one URL for all
    (TTLock) or the vendor sends none."""
    if getattr(ADAPTERS.get(connection.vendor), "webhook_setup", "") != "api":
        return ""
    path = reverse(f"webhooks:{connection.vendor}", kwargs={"connection_id": connection.pk})
    return settings.SITE_URL.rstrip("/") + path


def connection_webhook_register(*, connection: LockConnection) -> bool:
    """Register locksync's webhook at the vendor and keep its secret (encrypted, with the
    credentials). Where the vendor cannot, or SITE_URL is not reachable from the internet,
    nothing happens and the connection page asks the host to paste it; polling stays the
    safety net either way."""
    url = connection_webhook_url(connection)
    if not url or not site_url_is_public(url):
        return False
    adapter = adapter_for(connection)
    try:
        webhook_id, secret = adapter.webhook_register(url)
    except VendorError as error:
        logger.warning("webhook registration for connection %s failed: %s", connection.pk, error)
        return False
    connection.webhook_id = webhook_id
    connection.credentials = {**(connection.credentials or {}), "webhook_secret": secret}
    connection.save(update_fields=["webhook_id", "credentials", "updated_at"])
    return True


def connection_webhook_unregister(*, connection: LockConnection) -> None:
    """Remove the webhook locksync registered; a vendor that fails is logged, not retried."""
    if not connection.webhook_id:
        return
    try:
        adapter_for(connection).webhook_unregister(connection.webhook_id)
    except VendorError as error:
        logger.warning("webhook removal for connection %s failed: %s", connection.pk, error)
    connection.webhook_id = ""


def webhook_secret_problem(vendor: str, secret: str) -> str:
    """What is wrong with a pasted webhook secret, in the host's words; empty when fine."""
    secret = secret.strip()
    if not secret:
        return "Paste the secret the lock app shows for the webhook."
    if any(c.isspace() for c in secret) or len(secret) > 500:
        return "That does not look like a webhook secret: copy it again, without spaces."
    if vendor == "seam":
        body = secret.removeprefix("whsec_")
        if body == secret:
            return "A Seam webhook secret starts with whsec_."
        try:
            base64.b64decode(body, validate=True)
        except (ValueError, binascii.Error):
            return "That Seam webhook secret is incomplete: copy all of it."
    elif len(secret) < 16:
        return "That secret is too short: copy all of it."
    return ""


def connection_webhook_secret_set(*, connection: LockConnection, secret: str) -> LockConnection:
    """Save the secret the vendor signs webhooks with (Nuki HMAC secret, Seam `whsec_…`)."""
    connection.credentials = {**(connection.credentials or {}), "webhook_secret": secret.strip()}
    connection.save(update_fields=["credentials", "updated_at"])
    return connection


def connection_webhook_received(*, connection: LockConnection) -> None:
    """Note that a verified webhook arrived (shown on the connection page)."""
    LockConnection.objects.filter(pk=connection.pk).update(last_webhook_at=timezone.now())


def connection_disconnect(*, connection: LockConnection) -> LockConnection:
    """Forget the credentials; the locks stay, and their codes fail until a reconnect.

    The webhook locksync registered is removed first, while the credentials still work.
    """
    connection_webhook_unregister(connection=connection)
    connection.credentials = {}
    connection.state = LockConnection.State.DISCONNECTED
    connection.last_error = "Disconnected by the host."
    connection.last_error_at = timezone.now()
    connection.save()
    return connection


def locks_import(*, connection: LockConnection) -> list[Lock]:
    """Read the connection's locks from the vendor and upsert them by remote id."""
    infos = adapter_for(connection).list_locks()
    with transaction.atomic():
        locks = locks_upsert(connection=connection, infos=infos)
        LockConnection.objects.filter(pk=connection.pk).update(last_synced_at=timezone.now())
    return locks
