"""Stateful fakes of the PMS APIs (Hospitable, Smoobu, Hostaway, Guesty), built from their
documentation including the awkward parts: Hospitable lists reservations per property only,
Smoobu pages its bookings and often sends no times, Hostaway's times are hour integers that
are often null, Guesty mints at most 5 tokens a day."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import FakeRequest, FakeResponse


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class FakePms:
    """Shared state: listings, reservations by id, failure switches and a call log."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.listings: dict[str, str] = {}
        self.reservations: dict[str, dict[str, Any]] = {}
        self.down = False  # every call answers 503
        self.hidden: set[str] = set()  # ids the API no longer returns (404)
        self.calls: list[tuple[str, str]] = []
        self.writes: list[tuple[str, dict]] = []
        self.threads: dict[str, list[str]] = {}  # reservation id -> messages posted
        self.refuse_messages = 0  # status the send-message endpoint answers, 0: accepted
        self.refusals_left: int | None = None  # how many sends it refuses; None: all
        self.retry_after = "3600"  # the Retry-After of a 429

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.calls.append((request.method, request.path))
            if self.down:
                return FakeResponse(503, {"error": "maintenance"})
            if not self.authorised(request):
                return FakeResponse(401, {"error": "unauthorised"})
            return self.route(request)

    def authorised(self, request: FakeRequest) -> bool:
        raise NotImplementedError

    def route(self, request: FakeRequest) -> FakeResponse:
        raise NotImplementedError

    def post_message(self, remote_id: str, body: str, status: int) -> FakeResponse:
        """A message into the guest thread, or the refusal a test switched on (G8)."""
        if self.refuse_messages and self.refusals_left != 0:
            if self.refusals_left is not None:
                self.refusals_left -= 1
            headers = {"Retry-After": self.retry_after} if self.refuse_messages == 429 else None
            return FakeResponse(self.refuse_messages, {"error": "refused"}, headers)
        self.threads.setdefault(remote_id, []).append(body)
        return FakeResponse(status, {"status": "success", "data": {"sent": True}})

    def visible(self, remote_id: str) -> dict | None:
        if remote_id in self.hidden:
            return None
        return self.reservations.get(remote_id)


class FakeHospitable(FakePms):
    token = "hosp-pat-1"

    def authorised(self, request: FakeRequest) -> bool:
        return request.header("authorization") == f"Bearer {self.token}"

    def add(self, remote_id: str, *, listing: str, arrival: str, departure: str, **extra) -> dict:
        reservation = {
            "id": remote_id,
            "code": f"HM{remote_id[-4:].upper()}",
            "arrival_date": arrival,
            "departure_date": departure,
            "check_in": extra.pop("check_in", None),
            "check_out": extra.pop("check_out", None),
            "reservation_status": {"current": {"category": extra.pop("category", "accepted")}},
            "guest": {
                "first_name": extra.pop("first_name", "Ana"),
                "last_name": extra.pop("last_name", "Silva"),
                "email": extra.pop("email", "ana@example.com"),
                "phone_numbers": extra.pop("phones", ["+351 912 345 678"]),
            },
            "property_id": listing,
        }
        reservation.update(extra)
        self.reservations[remote_id] = reservation
        return reservation

    def _out(self, reservation: dict, include: str) -> dict:
        out = {k: v for k, v in reservation.items() if k not in ("guest", "property_id")}
        # `include=guest` (singular) works; `include=guests` is a silent no-op.
        if "guest" in include.split(","):
            out["guest"] = reservation["guest"]
        if "properties" in include.split(","):
            pid = reservation["property_id"]
            out["properties"] = [{"id": pid, "name": self.listings.get(pid, "")}]
        return out

    def route(self, request: FakeRequest) -> FakeResponse:
        path = request.path.removeprefix("/v2")
        if path == "/properties":
            return FakeResponse(
                200, {"data": [{"id": k, "name": v} for k, v in self.listings.items()]}
            )
        if path == "/reservations" and request.method == "GET":
            wanted = request.query.get("properties[]")
            if not wanted:
                return FakeResponse(422, {"message": "properties is required"})
            include = request.query.get("include", "")
            start = request.query.get("start_date", "")
            data = [
                self._out(r, include)
                for key, r in self.reservations.items()
                if r["property_id"] == wanted
                and key not in self.hidden
                and r["departure_date"] >= start
            ]
            return FakeResponse(200, {"data": data})
        match = re.fullmatch(r"/reservations/([^/]+)(/messages)?", path)
        if match:
            reservation = self.visible(match.group(1))
            if reservation is None:
                return FakeResponse(404, {"message": "Not found"})
            if match.group(2):
                return self.post_message(match.group(1), request.json["body"], 202)
            return FakeResponse(
                200, {"data": self._out(reservation, request.query.get("include", ""))}
            )
        return FakeResponse(404, {"message": "no route"})


class FakeSmoobu(FakePms):
    api_key = "smoobu-key-1"
    page_size = 2  # small pages, so paging is exercised

    def authorised(self, request: FakeRequest) -> bool:
        return request.header("api-key") == self.api_key

    def add(self, remote_id: str, *, listing: str, arrival: str, departure: str, **extra) -> dict:
        reservation = {
            "id": int(remote_id),
            "reference-id": f"SM{remote_id}",
            "type": extra.pop("type", "reservation"),
            "arrival": arrival,
            "departure": departure,
            "check-in": extra.pop("check_in", None),
            "check-out": extra.pop("check_out", None),
            "apartment": {"id": int(listing), "name": self.listings.get(listing, "")},
            "guest-name": extra.pop("guest_name", "Jonas Weber"),
            "email": extra.pop("email", "jonas@example.com"),
            "phone": extra.pop("phone", "+49 151 23456789"),
            "language": extra.pop("language", "de"),
            "is-blocked-booking": extra.pop("blocked", False),
            "modifiedAt": extra.pop("modified_at", None) or _now(),
        }
        reservation.update(extra)
        self.reservations[remote_id] = reservation
        return reservation

    def route(self, request: FakeRequest) -> FakeResponse:
        path = request.path.removeprefix("/api")
        if path == "/apartments":
            return FakeResponse(
                200, {"apartments": [{"id": int(k), "name": v} for k, v in self.listings.items()]}
            )
        if path == "/reservations":
            return self._list(request.query)
        match = re.fullmatch(r"/reservations/(\d+)(/messages/send-message-to-guest)?", path)
        if match:
            reservation = self.visible(match.group(1))
            if reservation is None:
                return FakeResponse(404, {"title": "Not Found"})
            if match.group(2):
                return self.post_message(match.group(1), request.json["messageBody"], 200)
            if request.method == "PUT":
                self.writes.append((match.group(1), request.json))
                reservation.update(request.json)
                return FakeResponse(200, {"success": True})
            return FakeResponse(200, reservation)
        return FakeResponse(404, {"title": "no route"})

    def _list(self, query: dict) -> FakeResponse:
        found = [
            r
            for key, r in sorted(self.reservations.items())
            if key not in self.hidden
            and (not query.get("apartmentId") or str(r["apartment"]["id"]) == query["apartmentId"])
            and (not query.get("from") or r["departure"] >= query["from"])
            and (not query.get("modifiedFrom") or r["modifiedAt"] >= query["modifiedFrom"])
            and (query.get("showCancellation") == "true" or r["type"] != "cancellation")
        ]
        page = int(query.get("page", 1))
        pages = max(1, -(-len(found) // self.page_size))
        chunk = found[(page - 1) * self.page_size : page * self.page_size]
        return FakeResponse(200, {"page_count": pages, "page": page, "bookings": chunk})


class FakeHostaway(FakePms):
    client_id, client_secret = "81234", "hostaway-secret"

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def authorised(self, request: FakeRequest) -> bool:
        if request.path.endswith("/accessTokens"):
            return True
        return request.header("authorization").removeprefix("Bearer ") in self.tokens

    def handle(self, request: FakeRequest) -> FakeResponse:
        response = super().handle(request)
        # Hostaway answers a bad or expired token with 403.
        return FakeResponse(403, {"status": "fail"}) if response.status == 401 else response

    def add(self, remote_id: str, *, listing: str, arrival: str, departure: str, **extra) -> dict:
        reservation = {
            "id": int(remote_id),
            "listingMapId": int(listing),
            "status": extra.pop("status", "new"),
            "arrivalDate": arrival,
            "departureDate": departure,
            "checkInTime": extra.pop("check_in", None),
            "checkOutTime": extra.pop("check_out", None),
            "guestName": extra.pop("guest_name", "Maria Rossi"),
            "phone": extra.pop("phone", "+39 312 345 6789"),
            "guestEmail": extra.pop("email", "maria@example.com"),
            "guestLocale": extra.pop("locale", "it"),
            "channelReservationId": f"HA{remote_id}",
            "doorCode": None,
        }
        reservation.update(extra)
        self.reservations[remote_id] = reservation
        return reservation

    def route(self, request: FakeRequest) -> FakeResponse:
        path = request.path.removeprefix("/v1")
        if path == "/accessTokens":
            form = request.form
            if (form.get("client_id"), form.get("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                return FakeResponse(403, {"status": "fail"})
            token = f"ha-token-{len(self.tokens) + 1}"
            self.tokens.add(token)
            return FakeResponse(200, {"access_token": token, "expires_in": 63072000})
        if path == "/listings":
            items = [{"id": int(k), "name": v} for k, v in self.listings.items()]
            return FakeResponse(200, {"status": "success", "result": items})
        if path == "/reservations":
            q = request.query
            items = [
                r
                for key, r in sorted(self.reservations.items())
                if key not in self.hidden
                and (not q.get("listingId") or str(r["listingMapId"]) == q["listingId"])
                and r["departureDate"] >= q.get("departureStartDate", "")
            ]
            return FakeResponse(200, {"status": "success", "result": items})
        if path.startswith("/conversations"):
            return self._conversation(path, request)
        match = re.fullmatch(r"/reservations/(\d+)", path)
        if match:
            reservation = self.visible(match.group(1))
            if reservation is None:
                return FakeResponse(404, {"status": "fail", "message": "Not found"})
            if request.method == "PUT":
                self.writes.append((match.group(1), request.json))
                reservation.update(request.json)
            return FakeResponse(200, {"status": "success", "result": reservation})
        return FakeResponse(404, {"status": "fail"})

    def _conversation(self, path: str, request: FakeRequest) -> FakeResponse:
        if path == "/conversations":
            wanted = request.query.get("reservationId", "")
            items = [{"id": int(wanted) + 9000, "reservationId": int(wanted)}]
            known = wanted in self.reservations and wanted not in self.hidden
            return FakeResponse(200, {"status": "success", "result": items if known else []})
        match = re.fullmatch(r"/conversations/(\d+)/messages", path)
        if not match:
            return FakeResponse(404, {"status": "fail"})
        return self.post_message(str(int(match.group(1)) - 9000), request.json["body"], 200)


class FakeGuesty(FakePms):
    client_id, client_secret = "guesty-client", "guesty-secret"
    tokens_per_day = 5

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[str] = []

    def authorised(self, request: FakeRequest) -> bool:
        if request.path.endswith("/oauth2/token"):
            return True
        return request.header("authorization").removeprefix("Bearer ") in self.tokens

    def add(self, remote_id: str, *, listing: str, arrival: str, departure: str, **extra) -> dict:
        reservation = {
            "_id": remote_id,
            "listingId": listing,
            "status": extra.pop("status", "confirmed"),
            "source": extra.pop("source", "airbnb2"),
            "checkInDateLocalized": arrival,
            "checkOutDateLocalized": departure,
            "checkIn": f"{arrival}T15:00:00.000Z",
            "checkOut": f"{departure}T10:00:00.000Z",
            "plannedArrival": extra.pop("planned_arrival", None),
            "plannedDeparture": extra.pop("planned_departure", None),
            "confirmationCode": f"GY-{remote_id}",
            "guest": {
                "fullName": extra.pop("guest_name", "Lucía García"),
                "phone": extra.pop("phone", "+34 612 345 678"),
                "email": "lucia@example.com",
                "preferredLanguage": extra.pop("language", "es"),
            },
        }
        reservation.update(extra)
        self.reservations[remote_id] = reservation
        return reservation

    def route(self, request: FakeRequest) -> FakeResponse:
        if request.path == "/oauth2/token":
            if len(self.tokens) >= self.tokens_per_day:
                return FakeResponse(429, {"error": "too many tokens"}, {"Retry-After": "86400"})
            if request.form.get("client_secret") != self.client_secret:
                return FakeResponse(401, {"error": "invalid_client"})
            self.tokens.append(f"gy-token-{len(self.tokens) + 1}")
            return FakeResponse(
                200, {"access_token": self.tokens[-1], "expires_in": 86400, "token_type": "Bearer"}
            )
        path = request.path.removeprefix("/v1")
        if path == "/listings":
            items = [{"_id": k, "title": v} for k, v in self.listings.items()]
            return FakeResponse(200, {"results": items, "count": len(items)})
        if path == "/reservations":
            items = [r for key, r in sorted(self.reservations.items()) if key not in self.hidden]
            return FakeResponse(200, {"results": items, "count": len(items)})
        custom = re.fullmatch(r"/reservations-v3/([^/]+)/custom-fields", path)
        if custom and request.method == "PUT":
            return self._custom_fields(custom.group(1), request.json)
        if path.startswith("/communication/conversations"):
            return self._conversation(path, request)
        match = re.fullmatch(r"/reservations/([^/]+)", path)
        if match:
            reservation = self.visible(match.group(1))
            if reservation is None:
                return FakeResponse(404, {"error": {"message": "Reservation not found"}})
            return FakeResponse(200, reservation)
        return FakeResponse(404, {"error": "no route"})

    def _custom_fields(self, remote_id: str, body: dict) -> FakeResponse:
        reservation = self.visible(remote_id)
        if reservation is None:
            return FakeResponse(404, {"error": {"message": "Reservation not found"}})
        fields = body.get("customFields") if isinstance(body, dict) else None
        if not fields or any(not isinstance(f.get("value"), str) for f in fields):
            # Guesty rejects a custom-field value that is not a string.
            return FakeResponse(400, {"error": {"message": "value must be a string"}})
        self.writes.append((remote_id, body))
        values = reservation.setdefault("customFields", {})
        values.update({f["fieldId"]: f["value"] for f in fields})
        return FakeResponse(200, {"customFields": fields})

    def _conversation(self, path: str, request: FakeRequest) -> FakeResponse:
        if path == "/communication/conversations":
            filters = json.loads(request.query.get("filters") or "[]")
            wanted = {f.get("value") for f in filters if f.get("field") == "reservation._id"}
            items = [
                {"_id": f"conv-{key}", "reservation": {"_id": key}}
                for key in self.reservations
                if key in wanted and key not in self.hidden
            ]
            return FakeResponse(200, {"status": 200, "data": {"conversations": items}})
        match = re.fullmatch(r"/communication/conversations/conv-([^/]+)/send-message", path)
        if not match or self.visible(match.group(1)) is None:
            return FakeResponse(404, {"error": {"message": "Conversation not found"}})
        return self.post_message(match.group(1), request.json["body"], 200)
