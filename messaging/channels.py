"""How messages reach guests: one small interface, one class per channel (email first)."""

from __future__ import annotations

from typing import ClassVar

from django.core.mail import EmailMessage

from reservations.models import Reservation


class ChannelError(Exception):
    """The channel could not deliver the message; it will be retried."""


class Channel:
    key: ClassVar[str]

    def recipient(self, reservation: Reservation) -> str:
        """The guest's address on this channel, or "" when there is none."""
        raise NotImplementedError

    def send(self, *, recipient: str, subject: str, body: str) -> None:
        """Deliver the message or raise ChannelError."""
        raise NotImplementedError


class EmailChannel(Channel):
    """Email through Django's backend (configured by EMAIL_URL)."""

    key = "email"

    def recipient(self, reservation: Reservation) -> str:
        return reservation.guest_email

    def send(self, *, recipient: str, subject: str, body: str) -> None:
        try:
            EmailMessage(subject=subject, body=body, to=[recipient]).send()
        except Exception as error:  # SMTP, DNS, backend errors: all mean "try again later"
            raise ChannelError(f"{type(error).__name__}: {error}") from error


CHANNELS: dict[str, type[Channel]] = {EmailChannel.key: EmailChannel}


def channel_for(key: str) -> Channel:
    return CHANNELS[key]()
