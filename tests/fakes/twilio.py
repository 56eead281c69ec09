"""A stateful fake of Twilio's Messages API (2010-04-01) for the channel tests.

It checks HTTP basic auth (account SID + auth token), refuses numbers that sent STOP with
21610, and refuses WhatsApp free text outside the 24-hour window with 63016, as Twilio does
(docs/api/errors/21610, 63016). Every accepted message is kept in `messages`.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from datetime import UTC, datetime
from email.utils import format_datetime

from tests.fakes.server import FakeRequest, FakeResponse

MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")
ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)\.json$")


def _error(code: int, message: str, status: int = 400) -> FakeResponse:
    return FakeResponse(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


class FakeTwilio:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accounts: dict[str, str] = {}
        self.messages: list[dict[str, str]] = []
        self.opted_out: set[str] = set()  # "To" values, e.g. "+15551234567", "whatsapp:+1..."
        self.whatsapp_sessions: set[str] = set()  # numbers that wrote in the last 24 hours
        self.fail_next = 0
        self._ids = itertools.count(1)

    def add_account(self, sid: str, token: str) -> None:
        self.accounts[sid] = token

    def _authorised(self, request: FakeRequest, sid: str) -> bool:
        header = request.header("authorization")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == sid and self.accounts.get(sid) == password

    def _account(self, request: FakeRequest, sid: str) -> FakeResponse:
        """GET /Accounts/{sid}.json: the account, or 20003 for a wrong SID or token."""
        if not self._authorised(request, sid):
            return _error(20003, "Authenticate", 401)
        return FakeResponse(
            200, {"sid": sid, "friendly_name": "My first Twilio account", "status": "active"}
        )

    def _list(self, request: FakeRequest, sid: str) -> FakeResponse:
        """GET Messages.json?To=…: the account's messages to that number, newest first."""
        to = request.query.get("To", "")
        with self.lock:
            found = [m for m in self.messages if m["account_sid"] == sid and m["To"] == to]
        rows = [
            {
                "sid": m["sid"],
                "to": m["To"],
                "from": m.get("From"),
                "body": m.get("Body", ""),
                "status": "sent",
                "date_created": m["date_created"],
            }
            for m in reversed(found)
        ]
        meta = {"key": "messages", "next_page_url": None, "page": 0, "page_size": 50}
        return FakeResponse(200, {"messages": rows, "meta": meta})

    def handle(self, request: FakeRequest) -> FakeResponse:
        account = ACCOUNT.match(request.path)
        if account and request.method == "GET":
            return self._account(request, account["sid"])
        match = MESSAGES.match(request.path)
        if not match or request.method not in ("GET", "POST"):
            return _error(20404, "The requested resource was not found", 404)
        sid = match["sid"]
        if not self._authorised(request, sid):
            return _error(20003, "Authenticate", 401)
        if request.method == "GET":
            return self._list(request, sid)
        form = request.form
        to = form.get("To", "")
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                return _error(20500, "Internal Server Error", 500)
            if to in self.opted_out:
                return _error(21610, "Attempt to send to unsubscribed recipient")
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return _error(21603, "A 'From' phone number is required.")
            whatsapp = to.startswith("whatsapp:")
            if whatsapp and "ContentSid" not in form and to not in self.whatsapp_sessions:
                return _error(
                    63016,
                    "Failed to send freeform message because you are outside the allowed "
                    "window. If you are using WhatsApp, please use a Message Template.",
                )
            message_sid = f"SM{next(self._ids):032x}"
            record = {
                "sid": message_sid,
                "account_sid": sid,
                "date_created": format_datetime(datetime.now(UTC), usegmt=True),
                **form,
            }
            self.messages.append(record)
        return FakeResponse(
            201,
            {
                "sid": message_sid,
                "account_sid": sid,
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body", ""),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            },
        )
