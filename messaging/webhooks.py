"""Twilio's calls to locksync: delivery status callbacks and inbound messages (SPEC G9, G10).

Both are verified with Twilio's request signature (X-Twilio-Signature) using the host's own
auth token; an unsigned or wrongly signed request gets 403 and changes nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from messaging.channels import OPTED_OUT_CODES
from messaging.models import Conversation, Delivery, HostAlert, Message, OptOut, TwilioAccount
from reservations.models import Reservation

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "UNSTOP", "YES"}
# Status callbacks may arrive out of order or twice: a state only moves forward.
RANK = {
    Delivery.State.QUEUED: 0,
    Delivery.State.SENT: 1,
    Delivery.State.DELIVERED: 2,
    Delivery.State.FAILED: 3,
}
TWILIO_STATES = {
    "sent": Delivery.State.SENT,
    "delivered": Delivery.State.DELIVERED,
    "read": Delivery.State.DELIVERED,
    "failed": Delivery.State.FAILED,
    "undelivered": Delivery.State.FAILED,
}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed(request: HttpRequest, account: TwilioAccount | None) -> bool:
    if account is None:
        return False
    validator = RequestValidator(account.auth_token)
    signature = request.headers.get("X-Twilio-Signature", "")
    return validator.validate(request.build_absolute_uri(), request.POST.dict(), signature)


def _failed(delivery: Delivery, reason: str, code: int | None) -> None:
    from messaging.services import host_alert_raise

    reservation = delivery.scheduled.reservation
    if delivery.message_id:
        Message.objects.filter(pk=delivery.message_id).update(
            state=Message.State.FAILED, error=reason, updated_at=timezone.now()
        )
    if code in OPTED_OUT_CODES:
        OptOut.objects.get_or_create(
            host_id=reservation.host_id, phone=delivery.recipient, channel=delivery.channel
        )
    host_alert_raise(
        host=reservation.host,
        kind=HostAlert.Kind.DELIVERY_FAILED,
        subject=f"Message to {reservation.guest_name} not delivered by {delivery.channel}",
        body=(
            f"The {delivery.channel} message to {reservation.guest_name} "
            f"({reservation.property.name}) was not delivered: {reason}. "
            "Please make sure the guest has their door code another way."
        ),
        link=reverse("reservation_detail", args=[reservation.pk]),
    )


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    sid = request.POST.get("MessageSid", "")
    found = Delivery.objects.filter(provider_id=sid).select_related("scheduled__reservation")
    delivery = found.first() if sid else None
    account = (
        TwilioAccount.objects.filter(host_id=delivery.scheduled.reservation.host_id).first()
        if delivery
        else None
    )
    if not _signed(request, account):
        return HttpResponseForbidden("invalid signature")
    state = TWILIO_STATES.get(request.POST.get("MessageStatus", ""))
    if state is None:
        return HttpResponse(status=204)
    code = request.POST.get("ErrorCode", "")
    reason = f"Twilio {code}: {request.POST.get('ErrorMessage', '') or 'undelivered'}"
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if RANK[state] <= RANK[delivery.state]:
            return HttpResponse(status=204)  # a duplicate or late callback: nothing to do
        delivery.state = state
        delivery.reason = reason if state == Delivery.State.FAILED else ""
        delivery.save(update_fields=["state", "reason", "updated_at"])
        if state == Delivery.State.DELIVERED and delivery.message_id:
            Message.objects.filter(pk=delivery.message_id).update(state=Message.State.DELIVERED)
        if state == Delivery.State.FAILED:
            _failed(delivery, reason, int(code) if code.isdigit() else None)
    return HttpResponse(status=204)


def _guest_stay(host_id: int, phone: str) -> Reservation | None:
    return (
        Reservation.objects.filter(host_id=host_id, guest_phone_e164=phone)
        .order_by("-check_in")
        .first()
    )


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    account = TwilioAccount.objects.filter(account_sid=request.POST.get("AccountSid", "")).first()
    if not _signed(request, account):
        return HttpResponseForbidden("invalid signature")
    sender = request.POST.get("From", "")
    channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    phone = sender.removeprefix("whatsapp:")
    body = request.POST.get("Body", "")
    word = body.strip().upper()
    if word in STOP_WORDS:
        OptOut.objects.get_or_create(host_id=account.host_id, phone=phone, channel=channel)
    elif word in START_WORDS:
        OptOut.objects.filter(host_id=account.host_id, phone=phone, channel=channel).delete()
    reservation = _guest_stay(account.host_id, phone)
    if reservation is not None:
        conversation, _ = Conversation.objects.get_or_create(reservation=reservation)
        Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.INCOMING,
            channel=channel,
            recipient=phone,
            body=body,
            state=Message.State.RECEIVED,
        )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
