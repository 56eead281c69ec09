"""Hospitable Public API v2: a personal access token; `reservation.created` / `.changed`
webhooks. A cancel is `reservation_status.current.category = cancelled`."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime, timedelta

from django.conf import settings

from pms import base
from pms.base import BadWebhook, PmsAdapter, PmsListingInfo, PmsReservation, WebhookHint
from pms.http import answer, client, parse_instant, text

ACCEPTED = {"accepted"}
CANCELLED = {"cancelled", "canceled", "not_accepted", "declined", "expired"}
EVENTS = {"reservation.created", "reservation.changed"}


class HospitableAdapter(PmsAdapter):
    key = "hospitable"
    label = "Hospitable"
    credential_fields = {
        "token": "Personal access token",
        "webhook_signing_secret": "Webhook signing secret (optional)",
    }
    can_send_messages = True
    # 2 a minute per reservation, 50 per 5 minutes per token (pms/README.md).
    message_limits = (("reservation", 2, 60), ("connection", 50, 300))

    def _http(self):
        base_url = getattr(settings, "HOSPITABLE_API_URL", "https://public.api.hospitable.com/v2")
        return client(
            base_url=base_url,
            vendor="hospitable",
            headers={"Authorization": f"Bearer {self.credentials.get('token', '')}"},
        )

    def list_listings(self) -> list[PmsListingInfo]:
        data = answer(self._http().get("properties", params={"per_page": 100}), "Hospitable")
        return [
            PmsListingInfo(remote_id=text(item.get("id")), name=text(item.get("name")))
            for item in data.get("data", [])
        ]

    def reservations_for_listing(self, listing_id: str, from_day: date) -> list[PmsReservation]:
        params = {
            "properties[]": listing_id,
            "start_date": from_day.isoformat(),
            "end_date": (from_day + timedelta(days=730)).isoformat(),
            "include": "guest,properties",
            "per_page": 100,
        }
        data = answer(self._http().get("reservations", params=params), "Hospitable")
        return [found for item in data.get("data", []) if (found := self._read(item))]

    def reservations_changed_since(self, since: datetime) -> list[PmsReservation]:
        # Hospitable lists reservations per property only; the poll reads every mapped listing.
        found = []
        for listing in self.connection.listings.filter(property__isnull=False):
            # start_date may filter on arrival: reach back so stays under way are read too.
            start = min(since.date(), date.today() - timedelta(days=30))
            found += self.reservations_for_listing(listing.remote_id, start)
        return found

    def get_reservation(self, remote_id: str) -> PmsReservation | None:
        response = self._http().get(
            f"reservations/{remote_id}", params={"include": "guest,properties"}
        )
        data = answer(response, "Hospitable", missing_ok=True)
        return self._read((data or {}).get("data")) if data else None

    def read_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookHint]:
        secret = self.credentials.get("webhook_signing_secret", "")
        if secret:
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            if not base.secrets_match(headers.get("signature", ""), expected):
                raise BadWebhook("signature does not match")
        try:
            event = json.loads(body)
            action, data = event["action"], event["data"]
            reservation_id = text(data["id"]) if action in EVENTS else ""
            event_key = text(event["id"])
        except (ValueError, KeyError, TypeError) as error:
            raise BadWebhook("not a Hospitable webhook") from error
        return [WebhookHint(event_key=event_key, kind=action, reservation_id=reservation_id)]

    def send_message(self, remote_id: str, text_: str) -> None:
        answer(
            self._http().post(f"reservations/{remote_id}/messages", json={"body": text_}),
            "Hospitable",
        )

    @staticmethod
    def _read(item) -> PmsReservation | None:
        if not isinstance(item, dict):
            return None
        try:
            category = text(item["reservation_status"]["current"]["category"]).lower()
            properties = item.get("properties") or [{}]
            guest = item.get("guest") or {}
            phones = guest.get("phone_numbers") or [""]
            return PmsReservation(
                remote_id=text(item["id"]),
                listing_id=text(properties[0].get("id") or item.get("property_id")),
                status=base.ACCEPTED
                if category in ACCEPTED
                else base.CANCELLED
                if category in CANCELLED
                else base.NO_CODE,
                arrival=date.fromisoformat(item["arrival_date"][:10]),
                departure=date.fromisoformat(item["departure_date"][:10]),
                guest_name=" ".join(
                    filter(None, [text(guest.get("first_name")), text(guest.get("last_name"))])
                ),
                guest_phone=text(phones[0]),
                guest_email=text(guest.get("email")),
                language=base.language_code(guest.get("language")),
                code=text(item.get("code")),
                check_in_at=parse_instant(item.get("check_in")),
                check_out_at=parse_instant(item.get("check_out")),
            )
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            return None
