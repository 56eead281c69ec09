"""Guesty Open API: OAuth client credentials with at most 5 tokens per key per 24 hours, each
valid 24 hours, so one token is cached in the shared cache for every worker (Q6);
`reservation.created.v2` / `reservation.updated.v2` webhooks (the old `reservation.new` /
`reservation.updated` still read); `plannedArrival` / `plannedDeparture` ("16:00") or the
`checkIn` / `checkOut` instants. The PIN is written into a reservation custom field the host
names by its id (`PUT /reservations-v3/{id}/custom-fields`, the value as a string, which Guesty
requires); guest messages go to the reservation's conversation
(`POST /communication/conversations/{id}/send-message`, module `platform`: the OTA's thread)."""

from __future__ import annotations

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
from pms.http import answer, body_key, client, parse_instant, text
from pms.tokens import cached_token

ACCEPTED = {"confirmed", "checked_in", "checked_out"}
CANCELLED = {"canceled", "cancelled", "declined", "expired", "closed"}
EVENTS = {
    "reservation.created.v2",
    "reservation.updated.v2",
    "reservation.new",
    "reservation.updated",
}
TOKENS_PER_DAY = 5
PAGE = 100
FIELDS = (
    "_id listingId status source checkIn checkOut checkInDateLocalized checkOutDateLocalized "
    "plannedArrival plannedDeparture confirmationCode guest"
)


class GuestyAdapter(PmsAdapter):
    key = "guesty"
    label = "Guesty"
    credential_fields = {
        "client_id": "Client ID",
        "client_secret": "Client secret",
        "door_code_field_id": "Door-code custom field ID (optional)",
    }
    has_door_code_field = True
    can_send_messages = True
    # The Open API's 15 requests a second and 120 a minute (its docs/rate-limits page).
    message_limits = (("connection", 15, 1), ("connection", 120, 60))

    def _mint(self) -> tuple[str, int]:
        token_url = getattr(settings, "GUESTY_TOKEN_URL", "https://open-api.guesty.com/oauth2")
        response = client(base_url=token_url, vendor="guesty").post(
            "token",
            data={
                "grant_type": "client_credentials",
                "scope": "open-api",
                "client_id": self.credentials.get("client_id", ""),
                "client_secret": self.credentials.get("client_secret", ""),
            },
        )
        data = answer(response, "Guesty")
        return text(data.get("access_token")), int(data.get("expires_in") or 86400)

    def _http(self):
        token = cached_token(
            name="guesty",
            client_id=text(self.credentials.get("client_id")),
            mint=self._mint,
            daily_limit=TOKENS_PER_DAY,
        )
        return client(
            base_url=getattr(settings, "GUESTY_API_URL", "https://open-api.guesty.com/v1"),
            vendor="guesty",
            headers={"Authorization": f"Bearer {token}"},
        )

    def list_listings(self) -> list[PmsListingInfo]:
        params = {"limit": PAGE, "fields": "_id title nickname"}
        data = answer(self._http().get("listings", params=params), "Guesty")
        return [
            PmsListingInfo(
                remote_id=text(item.get("_id")),
                name=text(item.get("title") or item.get("nickname")),
            )
            for item in data.get("results") or []
        ]

    def _list(self, filters: list[dict]) -> list[PmsReservation]:
        found, skip = [], 0
        while True:
            params = {"filters": json.dumps(filters), "fields": FIELDS, "limit": PAGE, "skip": skip}
            items = answer(self._http().get("reservations", params=params), "Guesty")
            items = items.get("results") or []
            found += [r for item in items if (r := self._read(item))]
            if len(items) < PAGE:
                return found
            skip += PAGE

    def reservations_for_listing(self, listing_id: str, from_day: date) -> list[PmsReservation]:
        return self._list(
            [
                {"field": "listingId", "operator": "$eq", "value": listing_id},
                {"field": "checkOut", "operator": "$gte", "value": from_day.isoformat()},
            ]
        )

    def reservations_changed_since(self, since: datetime) -> list[PmsReservation]:
        return self._list(
            [{"field": "lastUpdatedAt", "operator": "$gte", "value": since.isoformat()}]
        )

    def get_reservation(self, remote_id: str) -> PmsReservation | None:
        response = self._http().get(f"reservations/{remote_id}", params={"fields": FIELDS})
        data = answer(response, "Guesty", missing_ok=True)
        return self._read(data) if data else None

    def read_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookHint]:
        try:
            event = json.loads(body)
            kind = text(event["event"])
            reservation_id = text(event["reservation"]["_id"]) if kind in EVENTS else ""
            event_key = text(event.get("eventId")) or body_key(body)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BadWebhook("not a Guesty webhook") from error
        return [WebhookHint(event_key=event_key, kind=kind, reservation_id=reservation_id)]

    def write_door_code(self, remote_id: str, pin: str) -> None:
        field_id = text(self.credentials.get("door_code_field_id"))
        if not field_id:
            raise VendorError(Reason.REJECTED, "Guesty: no door-code custom field is named")
        body = {"customFields": [{"fieldId": field_id, "value": str(pin)}]}
        response = self._http().put(f"reservations-v3/{remote_id}/custom-fields", json=body)
        answer(response, "Guesty")

    def send_message(self, remote_id: str, text_: str) -> None:
        params = {
            "filters": json.dumps(
                [{"field": "reservation._id", "operator": "$eq", "value": remote_id}]
            ),
            "limit": 1,
        }
        found = answer(self._http().get("communication/conversations", params=params), "Guesty")
        items = ((found or {}).get("data") or {}).get("conversations") or []
        if not items:
            raise VendorError(Reason.REJECTED, "Guesty has no conversation for this reservation")
        conversation = text(items[0].get("_id"))
        body = {"module": {"type": "platform"}, "body": text_}
        response = self._http().post(
            f"communication/conversations/{conversation}/send-message", json=body
        )
        answer(response, "Guesty")

    @staticmethod
    def _read(item) -> PmsReservation | None:
        if not isinstance(item, dict):
            return None
        try:
            status = text(item["status"]).lower()
            guest = item.get("guest") or {}
            planned_in = base.hour_time(item.get("plannedArrival"))
            planned_out = base.hour_time(item.get("plannedDeparture"))
            return PmsReservation(
                remote_id=text(item["_id"]),
                listing_id=text(item["listingId"]),
                status=base.NO_CODE
                if text(item.get("source")).lower() == "owner"
                else base.ACCEPTED
                if status in ACCEPTED
                else base.CANCELLED
                if status in CANCELLED
                else base.NO_CODE,  # inquiry, reserved (a hold), awaiting_payment
                arrival=date.fromisoformat(item["checkInDateLocalized"]),
                departure=date.fromisoformat(item["checkOutDateLocalized"]),
                guest_name=text(guest.get("fullName")),
                guest_phone=text(guest.get("phone")),
                guest_email=text(guest.get("email")),
                language=base.language_code(guest.get("preferredLanguage")),
                code=text(item.get("confirmationCode")),
                check_in_time=planned_in,
                check_out_time=planned_out,
                check_in_at=None if planned_in else parse_instant(item.get("checkIn")),
                check_out_at=None if planned_out else parse_instant(item.get("checkOut")),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
