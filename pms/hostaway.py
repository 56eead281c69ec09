"""Hostaway: OAuth client credentials (`POST /v1/accessTokens`, long-lived token, cached);
one unified webhook for reservation created/updated (optionally with Basic auth we check);
`checkInTime` / `checkOutTime` are hour integers, often null; `doorCode` is writable."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime

from django.conf import settings

from pms import base
from pms.base import (
    BadWebhook,
    PmsAdapter,
    PmsListingInfo,
    PmsReservation,
    Reason,
    VendorError,
    WebhookHint,
)
from pms.http import answer, body_key, client, text
from pms.tokens import cached_token, token_forget

ACCEPTED = {"new", "modified"}
CANCELLED = {"cancelled", "declined", "expired"}
EVENTS = {"reservation.created", "reservation.updated", "reservationCreated", "reservationUpdated"}
PAGE = 100


class HostawayAdapter(PmsAdapter):
    key = "hostaway"
    label = "Hostaway"
    credential_fields = {
        "client_id": "Account ID",
        "client_secret": "API key",
        "webhook_login": "Webhook login (optional)",
        "webhook_password": "Webhook password (optional)",
    }
    has_door_code_field = True
    can_send_messages = True
    # 30 messages a minute; 15 requests per 10 s, and a message takes two (find, post).
    message_limits = (("connection", 7, 10), ("connection", 30, 60))

    def _base(self) -> str:
        return getattr(settings, "HOSTAWAY_API_URL", "https://api.hostaway.com/v1")

    def _mint(self) -> tuple[str, int]:
        response = client(base_url=self._base(), vendor="hostaway").post(
            "accessTokens",
            data={
                "grant_type": "client_credentials",
                "client_id": self.credentials.get("client_id", ""),
                "client_secret": self.credentials.get("client_secret", ""),
                "scope": "general",
            },
        )
        data = answer(response, "Hostaway")
        return text(data.get("access_token")), int(data.get("expires_in") or 86400)

    def _call(self, method: str, path: str, **kwargs):
        client_id = text(self.credentials.get("client_id"))
        for attempt in (1, 2):
            token = cached_token(name="hostaway", client_id=client_id, mint=self._mint)
            http = client(
                base_url=self._base(),
                vendor="hostaway",
                headers={"Authorization": f"Bearer {token}"},
            )
            response = http.request(method, path, **kwargs)
            if response.status_code != 403 or attempt == 2:
                return response
            token_forget(name="hostaway", client_id=client_id)  # revoked: mint once more
        return response

    def list_listings(self) -> list[PmsListingInfo]:
        data = answer(self._call("GET", "listings", params={"limit": PAGE}), "Hostaway")
        return [
            PmsListingInfo(remote_id=text(item.get("id")), name=text(item.get("name")))
            for item in data.get("result") or []
        ]

    def _list(self, params: dict) -> list[PmsReservation]:
        found, offset = [], 0
        while True:
            response = self._call(
                "GET", "reservations", params={**params, "limit": PAGE, "offset": offset}
            )
            items = answer(response, "Hostaway").get("result") or []
            found += [r for item in items if (r := self._read(item))]
            if len(items) < PAGE:
                return found
            offset += PAGE

    def reservations_for_listing(self, listing_id: str, from_day: date) -> list[PmsReservation]:
        return self._list({"listingId": listing_id, "departureStartDate": from_day.isoformat()})

    def reservations_changed_since(self, since: datetime) -> list[PmsReservation]:
        return self._list({"latestActivityStart": since.strftime("%Y-%m-%d %H:%M:%S")})

    def get_reservation(self, remote_id: str) -> PmsReservation | None:
        data = answer(self._call("GET", f"reservations/{remote_id}"), "Hostaway", missing_ok=True)
        return self._read(data.get("result")) if data else None

    def read_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookHint]:
        login = text(self.credentials.get("webhook_login"))
        if login:
            pair = f"{login}:{self.credentials.get('webhook_password', '')}".encode()
            expected = "Basic " + base64.b64encode(pair).decode()
            if not base.secrets_match(headers.get("authorization", ""), expected):
                raise BadWebhook("webhook login does not match")
        try:
            event = json.loads(body)
            kind = text(event["event"])
            reservation_id = text(event["data"]["id"]) if kind in EVENTS else ""
        except (ValueError, KeyError, TypeError) as error:
            raise BadWebhook("not a Hostaway webhook") from error
        return [WebhookHint(event_key=body_key(body), kind=kind, reservation_id=reservation_id)]

    def write_door_code(self, remote_id: str, pin: str) -> None:
        response = self._call(
            "PUT",
            f"reservations/{remote_id}",
            json={"doorCode": pin, "doorCodeVendor": "locksync"},
        )
        answer(response, "Hostaway")

    def send_message(self, remote_id: str, text_: str) -> None:
        """Into the reservation's conversation (`POST /v1/conversations/{id}/messages`),
        through the booking channel's own thread."""
        params = {"reservationId": remote_id, "limit": 1}
        found = answer(self._call("GET", "conversations", params=params), "Hostaway")
        items = (found or {}).get("result") or []
        if not items:
            raise VendorError(Reason.REJECTED, "Hostaway has no conversation for this reservation")
        body = {"body": text_, "communicationType": "channel"}
        path = f"conversations/{text(items[0].get('id'))}/messages"
        answer(self._call("POST", path, json=body), "Hostaway")

    @staticmethod
    def _read(item) -> PmsReservation | None:
        if not isinstance(item, dict):
            return None
        try:
            status = text(item["status"])
            return PmsReservation(
                remote_id=text(item["id"]),
                listing_id=text(item["listingMapId"]),
                status=base.ACCEPTED
                if status in ACCEPTED
                else base.CANCELLED
                if status in CANCELLED
                else base.NO_CODE,  # ownerStay, inquiry…, pending, awaitingPayment
                arrival=date.fromisoformat(item["arrivalDate"]),
                departure=date.fromisoformat(item["departureDate"]),
                guest_name=text(item.get("guestName")),
                guest_phone=text(item.get("phone")),
                guest_email=text(item.get("guestEmail")),
                language=base.language_code(item.get("guestLocale")),
                code=text(item.get("channelReservationId") or item.get("hostawayReservationId")),
                check_in_time=base.hour_time(item.get("checkInTime")),
                check_out_time=base.hour_time(item.get("checkOutTime")),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
