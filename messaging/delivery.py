"""Sending one rendered message down the channel chain: one Delivery row per attempt, opted-out
numbers skipped, the next channel on failure, the host told once per stay (SPEC G8–G10)."""

from __future__ import annotations

import logging

from django.urls import reverse

from messaging.channels import ChannelError, channel_chain, channel_for
from messaging.models import Conversation, Delivery, HostAlert, Message, OptOut, ScheduledMessage
from reservations.models import Reservation

log = logging.getLogger(__name__)


def opted_out(*, host_id: int, phone: str, channel: str) -> bool:
    return OptOut.objects.filter(host_id=host_id, phone=phone, channel=channel).exists()


def reachable(*, reservation: Reservation, channel_key: str) -> list[tuple[str, str]]:
    """(channel, address) pairs the message can be tried on, in order."""
    pairs = []
    for key in channel_chain(channel_key):
        recipient = channel_for(key).recipient(reservation)
        if recipient and not (
            key != "email" and opted_out(host_id=reservation.host_id, phone=recipient, channel=key)
        ):
            pairs.append((key, recipient))
    return pairs


def _tell_host_once(*, reservation: Reservation, wanted: str, used: str, why: str) -> None:
    from messaging.services import host_alert_raise

    link = reverse("reservation_detail", args=[reservation.pk])
    kind = HostAlert.Kind.CHANNEL_FALLBACK
    if HostAlert.objects.filter(host_id=reservation.host_id, kind=kind, link=link).exists():
        return
    host_alert_raise(
        host=reservation.host,
        kind=kind,
        subject=f"Message to {reservation.guest_name} sent by {used}, not {wanted}",
        body=(
            f"A message to {reservation.guest_name} ({reservation.property.name}) could not go "
            f"by {wanted} ({why}), so it was sent by {used}. Later messages for this stay do "
            "the same without telling you again."
        ),
        link=link,
    )


def _message(scheduled, conversation, key, recipient, rendered) -> Message:
    message = scheduled.message
    if message is None or message.channel != key or message.state != Message.State.FAILED:
        message = Message(
            conversation=conversation, direction=Message.Direction.OUTGOING, channel=key
        )
    message.recipient, message.subject, message.body = recipient, rendered.subject, rendered.body
    message.state, message.error = Message.State.SENDING, ""
    message.save()
    return message


def _recover_in_flight(scheduled, key, recipient, rendered) -> Message | None:
    """A worker stopped while this channel's call was out (its Delivery still "queued"): if
    the provider took the message, record it as sent instead of sending it twice (G9)."""
    in_flight = (
        Delivery.objects.filter(
            scheduled=scheduled, channel=key, recipient=recipient, state=Delivery.State.QUEUED
        )
        .select_related("message")
        .order_by("-id")
        .first()
    )
    if in_flight is None:
        return None
    sid = channel_for(key).already_sent(
        reservation=scheduled.reservation,
        recipient=recipient,
        body=rendered.body,
        since=in_flight.created_at,
    )
    if not sid or in_flight.message is None:
        in_flight.state, in_flight.reason = Delivery.State.FAILED, "interrupted: not sent"
        in_flight.save(update_fields=["state", "reason", "updated_at"])
        return None
    in_flight.state, in_flight.provider_id = Delivery.State.SENT, sid
    in_flight.save(update_fields=["state", "provider_id", "updated_at"])
    log.info("message %s was sent before the interruption (%s)", scheduled.pk, key)
    return in_flight.message


def _attempt(scheduled, conversation, key, recipient, rendered) -> tuple[Message, str]:
    """One attempt on one channel; returns the message and "" or the failure reason."""
    recovered = _recover_in_flight(scheduled, key, recipient, rendered)
    if recovered is not None:
        return recovered, ""
    message = _message(scheduled, conversation, key, recipient, rendered)
    delivery = Delivery.objects.create(
        scheduled=scheduled, message=message, channel=key, recipient=recipient
    )
    reservation = scheduled.reservation
    try:
        sid = channel_for(key).send(
            reservation=reservation,
            recipient=recipient,
            subject=rendered.subject,
            body=rendered.body,
        )
    except ChannelError as error:
        reason = str(error)
        delivery.state, delivery.reason = Delivery.State.FAILED, reason
        delivery.save(update_fields=["state", "reason", "updated_at"])
        message.state, message.error = Message.State.FAILED, reason
        message.save(update_fields=["state", "error", "updated_at"])
        if error.opted_out:
            OptOut.objects.get_or_create(host_id=reservation.host_id, phone=recipient, channel=key)
        log.warning("message %s failed on %s", scheduled.pk, key)
        return message, reason or "failed"
    delivery.provider_id, delivery.state = sid, Delivery.State.SENT
    delivery.save(update_fields=["provider_id", "state", "updated_at"])
    return message, ""


def deliver(
    *, scheduled: ScheduledMessage, channel_key: str, rendered, conversation: Conversation
) -> tuple[Message | None, str]:
    """Try each reachable channel in turn; return the sent message (or the last failed one)
    and the combined failure reasons ("" when sent)."""
    reservation = scheduled.reservation
    wanted = channel_chain(channel_key)[0]
    reasons: list[str] = []
    message = None

    def _wanted_opted_out() -> bool:
        phone = channel_for(wanted).recipient(reservation)
        return bool(phone) and opted_out(host_id=reservation.host_id, phone=phone, channel=wanted)

    for key, recipient in reachable(reservation=reservation, channel_key=channel_key):
        message, reason = _attempt(scheduled, conversation, key, recipient, rendered)
        if not reason:
            # "Best available" moving on from a guest with no mobile number is no news.
            if key != wanted and (reasons or channel_key != "best" or _wanted_opted_out()):
                why = "; ".join(reasons) or f"the guest has no usable {wanted} address"
                _tell_host_once(reservation=reservation, wanted=wanted, used=key, why=why)
            return message, ""
        reasons.append(f"{key}: {reason}")
    if len(reasons) == 1:
        return message, reasons[0].split(": ", 1)[1]
    return message, "; ".join(reasons)
