"""Smoobu: an `Api-Key` header; one webhook URL gets every action (newReservation,
updateReservation, cancelReservation, newMessage …) and signs nothing, so its URL carries our
secret. Times are often missing; blocked dates come as `is-blocked-booking`."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from django.conf import settings

from pms import base
from pms.base import BadWebhook, PmsAdapter, PmsListingInfo, PmsReservation, WebhookHint
from pms.http import answer, body_key, client, text

RESERVATION_ACTIONS = {"newReservation", "updateReservation", "cancelReservation"}


class SmoobuAdapter(PmsAdapter):
    key = "smoobu"
    label = "Smoobu"
    credential_fields = {"api_key": "API key"}
    has_door_code_field = True
    can_send_messages = True
    message_limits = (("connection", 60, 60),)  # well under Smoobu's per-key request limit

    def _http(self):
        base_url = getattr(settings, "SMOOBU_API_URL", "https://login.smoobu.com/api")
        return client(
            base_url=base_url, vendor="smoobu", headers={"Api-Key": self.credentials.get("api_key")}
        )

    def list_listings(self) -> list[PmsListingInfo]:
        data = answer(self._http().get("apartments"), "Smoobu")
        return [
            PmsListingInfo(remote_id=text(item.get("id")), name=text(item.get("name")))
            for item in data.get("apartments", [])
        ]

    def _bookings(self, params: dict) -> list[PmsReservation]:
        found, page = [], 1
        while True:
            data = answer(
                self._http().get("reservations", params={**params, "page": page}), "Smoobu"
            )
            found += [r for item in data.get("bookings", []) if (r := self._read(item))]
            if page >= int(data.get("page_count") or 1):
                return found
            page += 1

    def reservations_for_listing(self, listing_id: str, from_day: date) -> list[PmsReservation]:
        return self._bookings(
            {
                "apartmentId": listing_id,
                "from": from_day.isoformat(),
                "to": (from_day + timedelta(days=730)).isoformat(),
                "showCancellation": "true",
            }
        )

    def reservations_changed_since(self, since: datetime) -> list[PmsReservation]:
        return self._bookings(
            {"modifiedFrom": since.strftime("%Y-%m-%d %H:%M"), "showCancellation": "true"}
        )

    def get_reservation(self, remote_id: str) -> PmsReservation | None:
        data = answer(self._http().get(f"reservations/{remote_id}"), "Smoobu", missing_ok=True)
        return self._read(data) if data else None

    def read_webhook(self, *, body: bytes, headers: dict[str, str]) -> list[WebhookHint]:
        try:
            event = json.loads(body)
            action = text(event["action"])
            reservation_id = text(event["data"]["id"]) if action in RESERVATION_ACTIONS else ""
        except (ValueError, KeyError, TypeError) as error:
            raise BadWebhook("not a Smoobu webhook") from error
        return [WebhookHint(event_key=body_key(body), kind=action, reservation_id=reservation_id)]

    def write_door_code(self, remote_id: str, pin: str) -> None:
        # The door-PIN field behind Smoobu's `[doorPin]` placeholder [3P].
        answer(self._http().put(f"reservations/{remote_id}", json={"doorPin": pin}), "Smoobu")

    def send_message(self, remote_id: str, text_: str) -> None:
        answer(
            self._http().post(
                f"reservations/{remote_id}/messages/send-message-to-guest",
                json={"subject": "", "messageBody": text_},
            ),
            "Smoobu",
        )

    @staticmethod
    def _read(item) -> PmsReservation | None:
        if not isinstance(item, dict):
            return None
        try:
            if item.get("is-blocked-booking"):
                status = base.NO_CODE  # an owner block (Q4)
            elif text(item.get("type")).lower() == "cancellation":
                status = base.CANCELLED
            else:
                status = base.ACCEPTED
            apartment = item.get("apartment") or {}
            return PmsReservation(
                remote_id=text(item["id"]),
                listing_id=text(apartment.get("id")),
                status=status,
                arrival=date.fromisoformat(item["arrival"]),
                departure=date.fromisoformat(item["departure"]),
                guest_name=text(item.get("guest-name")),
                guest_phone=text(item.get("phone")),
                guest_email=text(item.get("email")),
                language=base.language_code(item.get("language")),
                code=text(item.get("reference-id")),
                check_in_time=base.hour_time(item.get("check-in")),
                check_out_time=base.hour_time(item.get("check-out")),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
