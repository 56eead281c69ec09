"""How messages reach guests: one small interface, one class per channel (SPEC G8).

A channel is registered with `register`. A PMS thread channel is added with one line,
`register(PmsThreadChannel, best=True, first=True, fallback=True)`: "best available" then tries
it before SMS for the stays it can reach (its `recipient` returns "" for a direct booking), and
a failed SMS or WhatsApp message falls back to it before email.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from reservations.models import Reservation

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
OPTED_OUT_CODES = {21610, 63014}  # STOP on SMS; the user blocked the WhatsApp sender
WHATSAPP_WINDOW = timedelta(hours=24)


class ChannelError(Exception):
    """The channel could not deliver the message; the next channel (or a retry) follows."""

    def __init__(self, reason: str, *, opted_out: bool = False) -> None:
        super().__init__(reason)
        self.opted_out = opted_out


class Channel:
    key: ClassVar[str]

    def recipient(self, reservation: Reservation) -> str:
        """The guest's address on this channel, or "" when there is none."""
        raise NotImplementedError

    def send(self, *, reservation: Reservation, recipient: str, subject: str, body: str) -> str:
        """Deliver the message and return the provider's id ("" if none), or raise
        ChannelError."""
        raise NotImplementedError

    def already_sent(
        self, *, reservation: Reservation, recipient: str, body: str, since: datetime
    ) -> str:
        """After a worker stopped mid-send: the provider's id of the message if the provider
        took it after `since`, else "" (then it is sent again; a channel that cannot tell,
        like email, always says "")."""
        return ""


class EmailChannel(Channel):
    """Email through Django's backend (configured by EMAIL_URL)."""

    key = "email"

    def recipient(self, reservation: Reservation) -> str:
        return reservation.guest_email

    def send(self, *, reservation: Reservation, recipient: str, subject: str, body: str) -> str:
        try:
            EmailMessage(subject=subject, body=body, to=[recipient]).send()
        except Exception as error:  # SMTP, DNS, backend errors: all mean "try again later"
            raise ChannelError(f"{type(error).__name__}: {error}") from error
        return ""


class _BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, pointed at TWILIO_API_BASE (the localhost fake in tests)."""

    def request(self, method, url, *args, **kwargs):
        base = getattr(settings, "TWILIO_API_BASE", TWILIO_API).rstrip("/")
        if url.startswith(TWILIO_API):
            url = base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def twilio_client(account) -> Client:
    return Client(account.account_sid, account.auth_token, http_client=_BaseUrlHttpClient())


def _account(reservation: Reservation):
    from messaging.models import TwilioAccount

    return TwilioAccount.objects.filter(host_id=reservation.host_id).first()


def _status_callback() -> str:
    """Where Twilio reports delivered/failed (G9): the site's public address; none for a
    loopback SITE_URL, which Twilio could not reach."""
    base = settings.SITE_URL
    host = urlsplit(base).hostname or ""
    if not host or host == "localhost" or host.startswith("127.") or host == "::1":
        return ""
    return f"{base.rstrip('/')}{reverse('twilio_status')}"


def sms_console() -> bool:
    """SMS_BACKEND=console (the embedded default): SMS and WhatsApp are printed to the log,
    not sent; production refuses it, as it refuses console email (settings/production.py)."""
    return getattr(settings, "SMS_BACKEND", "twilio") == "console"


def _console_send(key: str, recipient: str, body: str) -> str:
    """Print the message where `dev.py run` shows the worker's output, as console email does;
    the caller stores its Delivery like any other."""
    sid = f"console-{uuid.uuid4().hex[:24]}"
    log.info("%s to %s (console SMS backend, not sent):\n%s", key.upper(), recipient, body)
    return sid


class _TwilioChannel(Channel):
    def recipient(self, reservation: Reservation) -> str:
        if not reservation.guest_phone_valid:
            return ""
        if sms_console():
            return reservation.guest_phone_e164
        account = _account(reservation)
        if account is None or not self._configured(account):
            return ""
        return reservation.guest_phone_e164

    def _configured(self, account) -> bool:
        raise NotImplementedError

    def _params(self, account, reservation, recipient: str, body: str) -> dict:
        raise NotImplementedError

    def send(self, *, reservation: Reservation, recipient: str, subject: str, body: str) -> str:
        if sms_console():
            return _console_send(self.key, recipient, body)
        account = _account(reservation)
        params = self._params(account, reservation, recipient, body)
        callback = _status_callback()
        if callback:
            params["status_callback"] = callback
        try:
            message = twilio_client(account).messages.create(**params)
        except TwilioRestException as error:
            raise ChannelError(
                f"Twilio {error.code}: {error.msg}", opted_out=error.code in OPTED_OUT_CODES
            ) from error
        except (TwilioException, OSError) as error:
            raise ChannelError(f"{type(error).__name__}: {error}") from error
        return message.sid

    def _to(self, recipient: str) -> str:
        return recipient

    def already_sent(
        self, *, reservation: Reservation, recipient: str, body: str, since: datetime
    ) -> str:
        if sms_console():
            return ""
        account = _account(reservation)
        if account is None:
            return ""
        try:
            recent = twilio_client(account).messages.list(to=self._to(recipient), limit=20)
        except (TwilioException, OSError):
            return ""  # cannot tell: sending again is better than a guest without a code
        earliest = since - timedelta(minutes=1)
        for message in recent:
            created = message.date_created
            # A WhatsApp template's text is Twilio's, not ours: the number and time decide.
            same_text = message.body == body or self.key == "whatsapp"
            if created is not None and created >= earliest and same_text:
                return message.sid
        return ""


class SmsChannel(_TwilioChannel):
    key = "sms"

    def _configured(self, account) -> bool:
        return bool(account.sms_from or account.messaging_service_sid)

    def _params(self, account, reservation, recipient: str, body: str) -> dict:
        params = {"to": recipient, "body": body}
        if account.messaging_service_sid:
            params["messaging_service_sid"] = account.messaging_service_sid
        else:
            params["from_"] = account.sms_from
        return params


def whatsapp_window_open(reservation: Reservation) -> bool:
    """The guest wrote on WhatsApp in the last 24 hours: free text is allowed (SPEC G10)."""
    from messaging.models import Message

    return Message.objects.filter(
        conversation__reservation=reservation,
        direction=Message.Direction.INCOMING,
        channel="whatsapp",
        created_at__gte=timezone.now() - WHATSAPP_WINDOW,
    ).exists()


class WhatsAppChannel(_TwilioChannel):
    key = "whatsapp"

    def _to(self, recipient: str) -> str:
        return f"whatsapp:{recipient}"

    def _configured(self, account) -> bool:
        return bool(account.whatsapp_from)

    def _params(self, account, reservation, recipient: str, body: str) -> dict:
        params = {"to": f"whatsapp:{recipient}", "from_": f"whatsapp:{account.whatsapp_from}"}
        if whatsapp_window_open(reservation):
            params["body"] = body
            return params
        if not account.whatsapp_content_sid:
            raise ChannelError("no approved WhatsApp template for messages outside 24 hours")
        from messaging.rendering import render

        variables = {
            name: render(reservation=reservation, subject="", body=value).body
            for name, value in account.whatsapp_variables.items()
        }
        params["content_sid"] = account.whatsapp_content_sid
        params["content_variables"] = json.dumps(variables)
        return params


CHANNELS: dict[str, type[Channel]] = {}
BEST: list[str] = []
FALLBACK: list[str] = []  # what a named channel falls back to, in order (email last)


def register(
    channel: type[Channel], *, best: bool = False, first: bool = False, fallback: bool = False
) -> None:
    """Add a channel (email stays last): `best` puts it in "best available", `fallback` makes
    it a channel any named channel falls back to. A guest who sent STOP on SMS is not moved to
    WhatsApp: only fallback channels (email; the PMS thread once registered) take over."""
    if fallback:
        FALLBACK.insert(0, channel.key) if first else FALLBACK.append(channel.key)
    items = list(CHANNELS.items())
    entry = (channel.key, channel)
    CHANNELS.clear()
    CHANNELS.update(dict([entry, *items] if first else [*items, entry]))
    if best:
        BEST.insert(0, channel.key) if first else BEST.append(channel.key)
    for order in (BEST, FALLBACK):
        if "email" in order:
            order.remove("email")
            order.append("email")


from pms.channel import PmsThreadChannel  # noqa: E402 (it subclasses Channel above)

register(SmsChannel, best=True)
register(WhatsAppChannel)
register(EmailChannel, best=True, fallback=True)
register(PmsThreadChannel, best=True, first=True, fallback=True)


def channel_for(key: str) -> Channel:
    return CHANNELS[key]()


def channel_chain(key: str) -> list[str]:
    """The channels to try for a rule's channel, in order: it, then the next ones, email last."""
    if key == "best":
        return list(BEST)
    return [key, *[k for k in FALLBACK if k != key]]
