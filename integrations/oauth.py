"""The OAuth bearer-token loop the vendors that sign in share (igloohome, RemoteLock).

A vendor module says how to ask for a token (`grant`: client credentials, a refresh token);
this module keeps the token fresh, signs in again when the vendor says the token is no longer
good, and saves only the token fields of the connection's credentials. The credentials are
read again under a row lock and merged, so a field saved meanwhile by someone else (a webhook
secret, new app keys the host typed) survives a token refresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from integrations.base import Reason, VendorError

if TYPE_CHECKING:
    from integrations.models import LockConnection

TOKEN_FIELDS = ("access_token", "refresh_token", "expires_at")


def tokens_save(connection: LockConnection, tokens: dict[str, Any]) -> dict[str, Any]:
    """Write the token fields into the stored credentials, leaving every other field as the
    database has it now; returns the merged credentials."""
    from integrations.models import LockConnection

    if connection.pk is None:
        merged = {**(connection.credentials or {}), **tokens}
        connection.credentials = merged
        return merged
    with transaction.atomic():
        row = LockConnection.objects.select_for_update().filter(pk=connection.pk).first()
        if row is None:
            return {**(connection.credentials or {}), **tokens}
        merged = {**(row.credentials or {}), **tokens}
        row.credentials = merged
        row.updated_at = timezone.now()
        row.save(update_fields=["credentials", "updated_at"])
    connection.credentials = merged
    return merged


class BearerTokens:
    """A bearer token for one connection: signs in when it is missing or about to expire, and
    once more when a call answers with one of `reauth_statuses`."""

    def __init__(
        self,
        *,
        connection: LockConnection,
        credentials: dict[str, Any],
        grant: Callable[[dict[str, Any]], dict[str, Any]],
        vendor: str,
        default_lifetime: float,
        margin: float = 60.0,
        reauth_statuses: Collection[int] = (401,),
    ) -> None:
        self.connection = connection
        # The adapter's own dict: updated in place so the adapter sees the new token.
        self.credentials = credentials
        self.grant = grant
        self.vendor = vendor
        self.default_lifetime = default_lifetime
        self.margin = margin
        self.reauth_statuses = frozenset(reauth_statuses)

    def fresh(self) -> bool:
        expires_at = float(self.credentials.get("expires_at") or 0)
        return bool(self.credentials.get("access_token")) and time.time() < expires_at

    def sign_in(self) -> None:
        """Ask the vendor for a token (`grant` raises VendorError when it refuses)."""
        body = self.grant(dict(self.credentials))
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token or not isinstance(token, str):
            raise VendorError(Reason.VENDOR_ERROR, f"{self.vendor} sign-in answered no token")
        try:
            lifetime = float(body.get("expires_in") or self.default_lifetime)
        except (TypeError, ValueError):
            lifetime = self.default_lifetime
        tokens = {
            "access_token": token,
            "expires_at": time.time() + max(lifetime - self.margin, 0.0),
        }
        if "refresh_token" in body or "refresh_token" in self.credentials:
            tokens["refresh_token"] = body.get("refresh_token") or ""
        self.credentials.update(tokens)
        self.credentials.update(
            {k: v for k, v in tokens_save(self.connection, tokens).items() if k not in tokens}
        )

    def headers(self) -> dict[str, str]:
        if not self.fresh():
            self.sign_in()
        return {"Authorization": f"Bearer {self.credentials['access_token']}"}

    def send(self, call: Callable[[dict[str, str]], Any]) -> Any:
        """Make a call with the token; signed in again and repeated once if the vendor says
        the token is expired or invalid."""
        response = call(self.headers())
        if response.status_code in self.reauth_statuses:
            self.sign_in()
            response = call(self.headers())
        return response
