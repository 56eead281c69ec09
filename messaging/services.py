"""Messaging services: host alerts, message rules, scheduling and sending guest messages.

Scheduling only writes rows (ScheduledMessage.send_after); the minute job
`messaging.tasks.messages_send_due` sends what is due, rendering each message at that moment
so a changed PIN is never sent stale (SPEC G3).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from accesscodes.presentation import local_time
from messaging.delivery import deliver, reachable
from messaging.models import Conversation, HostAlert, Message, MessageRule, ScheduledMessage
from messaging.rendering import CodeMissing, needs_code, render
from messaging.rule_checks import skip_due_now
from properties.models import Host, Property
from reservations.models import Reservation

log = logging.getLogger(__name__)

# SPEC G5: codes are best sent close to check-in.
CODE_WARNING_LEAD = timedelta(days=3)
# A failed send is tried again after these delays, then every RETRY_LATER until checkout.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
RETRY_LATER = timedelta(hours=6)
# A row left "sending" this long was interrupted (worker killed mid-send): send it again.
STALE_SENDING = timedelta(minutes=15)
BATCH_SIZE = 100
UNSENT = (
    ScheduledMessage.State.SCHEDULED,
    ScheduledMessage.State.FAILED,
    ScheduledMessage.State.HELD,
)

FOLLOW_UP_TEMPLATES = {
    ScheduledMessage.Kind.CODE_CHANGED: (
        gettext_noop("Your new door code for %property_name%"),
        gettext_noop(
            "Hi %guest_first_name%,\n\n"
            "your door code for %property_name% has changed. Please use this one:\n\n"
            "%smartlock_code%\n\n"
            "It works from %checkin_date% %checkin_time% until %checkout_date% %checkout_time%.\n"
        ),
    ),
    ScheduledMessage.Kind.BACKUP_CODE: (
        gettext_noop("Your door code for %property_name%"),
        gettext_noop(
            "Hi %guest_first_name%,\n\n"
            "your personal door code could not be set on the lock in time, so please use this "
            "code instead:\n\n"
            "%smartlock_code%\n\n"
            "Check-in is %checkin_date% from %checkin_time%.\n"
        ),
    ),
}


# --- host alerts ---------------------------------------------------------------------------


def host_alert_raise(
    *, host: Host, kind: str, subject: str, body: str, link: str = "", email: bool = True
) -> HostAlert:
    """Record an alert for the host and email it to the host's alert address."""
    alert = HostAlert.objects.create(host=host, kind=kind, subject=subject, body=body, link=link)
    if email and host.alert_email:
        url = f"{settings.SITE_URL.rstrip('/')}{link}" if link.startswith("/") else link
        text = f"{body}\n\n{url}\n" if url else body
        send_mail(subject, text, None, [host.alert_email])
        alert.emailed_at = timezone.now()
        alert.save(update_fields=["emailed_at", "updated_at"])
    return alert


def host_alert_resolve(*, alert: HostAlert) -> HostAlert:
    """Mark an alert dealt with: it leaves the open count in the navigation."""
    if alert.resolved_at is None:
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["resolved_at", "updated_at"])
    return alert


# --- rules ---------------------------------------------------------------------------------


def message_rule_warnings(*, rule: MessageRule) -> list[str]:
    """Warnings to show when a rule is saved (SPEC G5); empty when there is nothing to say."""
    if not (needs_code(rule.subject) or needs_code(rule.body)):
        return []
    warning = (
        "This message sends %smartlock_code% more than 3 days before check-in. Codes are best "
        "sent close to check-in: the code may still change before the guest arrives."
    )
    if rule.trigger == MessageRule.Trigger.BOOKING_ACCEPTED:
        return [warning]
    if rule.trigger != MessageRule.Trigger.BEFORE_CHECK_IN:
        return []
    lead = timedelta(days=rule.days_before, hours=rule.hours_before)
    if rule.send_time is not None:
        # "N days before at 09:00" reaches further back than N days when 09:00 is earlier
        # than the property's check-in time.
        checkin_times = [p.checkin_time for p in rule.properties.all()] if rule.pk else []
        latest_checkin = max(checkin_times, default=time(16, 0))
        lead = timedelta(days=rule.days_before) + (
            datetime.combine(datetime.min, latest_checkin)
            - datetime.combine(datetime.min, rule.send_time)
        )
    return [warning] if lead > CODE_WARNING_LEAD else []


RULE_FIELDS = {
    "name",
    "subject",
    "body",
    "trigger",
    "days_before",
    "hours_before",
    "send_time",
    "channel",
    "enabled",
    "language",
    "variants",
}


def _check_fields(fields: dict) -> None:
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")


def message_rule_create(
    *,
    host: Host,
    properties: list[Property],
    send_to_existing: bool = False,
    **fields,
) -> MessageRule:
    """Save a rule (unknown shortcodes are a ValidationError) and schedule it for the stays
    already booked at its properties. `fields` are MessageRule's (RULE_FIELDS)."""
    _check_fields(fields)
    if any(p.host_id != host.pk for p in properties):
        raise ValidationError({"properties": "No such property."})
    rule = MessageRule(host=host, **fields)
    rule.full_clean()
    with transaction.atomic():
        rule.save()
        rule.properties.set(properties)
        reservations = Reservation.objects.filter(
            property__in=properties,
            status=Reservation.Status.ACCEPTED,
            check_out__gt=timezone.now(),
        ).select_related("property")
        for reservation in reservations:
            messages_schedule_for_reservation(reservation=reservation)
        if not send_to_existing:
            skip_due_now(rule)
    return rule


def message_rule_update(
    *, rule: MessageRule, send_to_existing: bool = False, **changes
) -> MessageRule:
    """Change a rule and reschedule its unsent messages (a sent message stays sent)."""
    properties = changes.pop("properties", None)
    _check_fields(changes)
    if properties is not None and any(p.host_id != rule.host_id for p in properties):
        raise ValidationError({"properties": "No such property."})
    for name, value in changes.items():
        setattr(rule, name, value)
    rule.full_clean()
    with transaction.atomic():
        rule.save()
        if properties is not None:
            rule.properties.set(properties)
        affected = Reservation.objects.filter(
            Q(property__in=rule.properties.all()) | Q(scheduled_messages__rule=rule),
            status=Reservation.Status.ACCEPTED,
            check_out__gt=timezone.now(),
        ).distinct()
        for reservation in affected.select_related("property"):
            messages_schedule_for_reservation(reservation=reservation)
        if not send_to_existing:
            skip_due_now(rule)
    return rule


# --- scheduling ----------------------------------------------------------------------------


def rule_due_moment(*, rule: MessageRule, reservation: Reservation, now: datetime) -> datetime:
    """When the rule's message is due for the reservation (never in the past)."""
    zone = reservation.property.zone
    if rule.trigger == MessageRule.Trigger.BEFORE_CHECK_IN:
        if rule.send_time is not None:
            # A wall-clock time in the property's zone, DST included (SPEC W1).
            day = reservation.check_in.astimezone(zone).date() - timedelta(days=rule.days_before)
            moment = datetime.combine(day, rule.send_time, tzinfo=zone)
        else:
            moment = reservation.check_in - timedelta(
                days=rule.days_before, hours=rule.hours_before
            )
    elif rule.trigger == MessageRule.Trigger.BEFORE_CHECK_OUT:
        moment = reservation.check_out - timedelta(hours=rule.hours_before)
    else:
        moment = now
    return max(moment, now)


def _cancel_unsent(queryset) -> None:
    queryset.filter(state__in=UNSENT).update(
        state=ScheduledMessage.State.CANCELLED, send_after=None, updated_at=timezone.now()
    )


def messages_schedule_for_reservation(*, reservation: Reservation) -> None:
    """Bring the reservation's scheduled messages in line with it and with the host's rules.

    Called whenever a reservation is saved (accepted, altered, moved, cancelled): one message
    per applicable rule (G1); a cancelled or ended stay gets nothing more. Safe to call twice.
    """
    now = timezone.now()
    scheduled = ScheduledMessage.objects.filter(reservation=reservation)
    if reservation.status != Reservation.Status.ACCEPTED or reservation.check_out <= now:
        _cancel_unsent(scheduled)
        return
    by_rule = {row.rule_id: row for row in scheduled.filter(rule__isnull=False)}
    rules = MessageRule.objects.filter(
        host_id=reservation.host_id, enabled=True, properties=reservation.property_id
    )
    for rule in rules:
        row = by_rule.pop(rule.pk, None)
        moment = rule_due_moment(rule=rule, reservation=reservation, now=now)
        if row is None:
            ScheduledMessage.objects.create(reservation=reservation, rule=rule, send_after=moment)
            continue
        if row.state in (
            ScheduledMessage.State.SENT,
            ScheduledMessage.State.SENDING,
            ScheduledMessage.State.SKIPPED,
        ):
            continue
        keep_time = (
            rule.trigger == MessageRule.Trigger.BOOKING_ACCEPTED
            and row.state in (ScheduledMessage.State.SCHEDULED, ScheduledMessage.State.FAILED)
            and row.send_after is not None
        )
        if (
            row.state == ScheduledMessage.State.FAILED
            and row.send_after
            and row.send_after > moment
        ):
            keep_time = True  # waiting for its retry
        row.send_after = row.send_after if keep_time else moment
        if row.state != ScheduledMessage.State.FAILED:
            row.state = ScheduledMessage.State.SCHEDULED
        row.save(update_fields=["send_after", "state", "updated_at"])
    # Rules that no longer apply (the stay moved, the rule was switched off).
    _cancel_unsent(scheduled.filter(rule_id__in=list(by_rule)))


def messages_release_held(*, reservation: Reservation) -> int:
    """Try held messages again now (their code or address may have arrived)."""
    return ScheduledMessage.objects.filter(
        reservation=reservation, state=ScheduledMessage.State.HELD
    ).update(state=ScheduledMessage.State.SCHEDULED, send_after=timezone.now())


def message_follow_up_schedule(*, reservation: Reservation, kind: str) -> ScheduledMessage | None:
    """Queue a one-off message to the guest (new code G7, backup code H2), sent at once."""
    if reservation.status != Reservation.Status.ACCEPTED or reservation.check_out <= timezone.now():
        return None
    pending = ScheduledMessage.objects.filter(
        reservation=reservation, kind=kind, state__in=[*UNSENT, ScheduledMessage.State.SENDING]
    ).first()
    if pending is not None:
        return pending  # it renders the latest code when it goes out
    follow_up = ScheduledMessage.objects.create(
        reservation=reservation, kind=kind, send_after=timezone.now()
    )
    from messaging.tasks import message_send

    transaction.on_commit(lambda: message_send.delay(follow_up.pk))
    return follow_up


def messages_on_pin_changed(*, reservation: Reservation) -> ScheduledMessage | None:
    """SPEC G7: a guest who was already sent their code gets the new one."""
    was_sent = ScheduledMessage.objects.filter(
        reservation=reservation, state=ScheduledMessage.State.SENT, included_code=True
    ).exists()
    if not was_sent:
        return None  # messages not sent yet will render the new code anyway (G3)
    return message_follow_up_schedule(
        reservation=reservation, kind=ScheduledMessage.Kind.CODE_CHANGED
    )


# --- sending -------------------------------------------------------------------------------


def _retry_delay(attempts: int) -> timedelta:
    return RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else RETRY_LATER


def _template(scheduled: ScheduledMessage) -> tuple[str, str, str]:
    """Subject, body and channel of a scheduled message."""
    if scheduled.rule is not None:
        rule = scheduled.rule
        subject, body = rule.text_for(scheduled.reservation.language)  # SPEC G11, K4
        return (subject or rule.name, body, rule.channel)
    subject, body = FOLLOW_UP_TEMPLATES[scheduled.kind]
    # SPEC K4: locksync's own messages go out in the stay's language.
    # G7: the follow-up goes where the guest read the code, falling back like any message.
    earlier = (
        Message.objects.filter(
            conversation__reservation=scheduled.reservation,
            direction=Message.Direction.OUTGOING,
            state__in=[Message.State.SENT, Message.State.DELIVERED],
        )
        .order_by("-sent_at", "-id")
        .values_list("channel", flat=True)
        .first()
    )
    with translation.override(scheduled.reservation.language or "en"):
        return gettext(subject), gettext(body), earlier or MessageRule.Channel.EMAIL


def _unreachable_reason(channel_key: str) -> str:
    if channel_key == MessageRule.Channel.EMAIL:
        return "the guest has no email address"
    if channel_key == MessageRule.Channel.BEST:
        return "the guest has no usable mobile number or email address"
    label = dict(MessageRule.Channel.choices).get(channel_key, channel_key)
    return f"the guest has no usable address for {label} and no email address"


def _hold(scheduled: ScheduledMessage, *, reason: str, what_to_do: str, fix: str) -> None:
    """Hold the message and tell the host once per reason (SPEC G4); the alert links to the
    page where the host fixes it (`fix`: a dashboard URL name taking the reservation's pk)."""
    reservation = scheduled.reservation
    alert = scheduled.held_reason != reason
    scheduled.state = ScheduledMessage.State.HELD
    scheduled.send_after = None
    scheduled.held_reason = reason
    scheduled.save(update_fields=["state", "send_after", "held_reason", "updated_at"])
    if not alert:
        return
    title = scheduled.rule.name if scheduled.rule else scheduled.get_kind_display()
    host_alert_raise(
        host=reservation.host,
        kind=HostAlert.Kind.MESSAGE_HELD,
        subject=f"Message to {reservation.guest_name} held: {reason}",
        body=(
            f'The message "{title}" to {reservation.guest_name} was not sent: {reason}.\n\n'
            f"Stay: {reservation.property.name}, check-in "
            f"{local_time(reservation.check_in, reservation.property)} "
            f"({reservation.reservation_code or reservation.external_id}).\n\n"
            f"What you can do: {what_to_do} The message goes out as soon as it can."
        ),
        link=reverse(fix, args=[reservation.pk]),
    )


def message_send(*, scheduled_id: int) -> ScheduledMessage | None:
    """Render and send one due message; record the attempt before the call (G3, G6).

    Returns None when the row was not due or another worker took it.
    """
    now = timezone.now()
    claimed = ScheduledMessage.objects.filter(
        pk=scheduled_id,
        state__in=[ScheduledMessage.State.SCHEDULED, ScheduledMessage.State.FAILED],
        send_after__lte=now,
    ).update(state=ScheduledMessage.State.SENDING, updated_at=now)
    if not claimed:
        return None
    scheduled = ScheduledMessage.objects.select_related(
        "reservation__property", "reservation__host", "rule", "message"
    ).get(pk=scheduled_id)
    reservation = scheduled.reservation
    if reservation.status != Reservation.Status.ACCEPTED or reservation.check_out <= now:
        scheduled.state, scheduled.send_after = ScheduledMessage.State.CANCELLED, None
        scheduled.save(update_fields=["state", "send_after", "updated_at"])
        return scheduled

    subject_template, body_template, channel_key = _template(scheduled)
    if not reachable(reservation=reservation, channel_key=channel_key):
        _hold(
            scheduled,
            reason=_unreachable_reason(channel_key),
            what_to_do="add the guest's email address or mobile number to the reservation "
            "(a number that sent STOP gets nothing more there until START).",
            fix="reservation_edit",
        )
        return scheduled
    try:
        rendered = render(reservation=reservation, subject=subject_template, body=body_template)
    except CodeMissing:
        _hold(
            scheduled,
            reason="the guest has no door code yet",
            what_to_do="check the reservation's Property Access panel: are its locks matched "
            "and online?",
            fix="reservation_detail",
        )
        return scheduled

    conversation, _ = Conversation.objects.get_or_create(reservation=reservation)
    scheduled.attempts += 1
    scheduled.save(update_fields=["attempts", "updated_at"])
    message, error = deliver(
        scheduled=scheduled, channel_key=channel_key, rendered=rendered, conversation=conversation
    )
    if message is not None:
        scheduled.message = message
        scheduled.save(update_fields=["message", "updated_at"])
    if error:
        scheduled.state = ScheduledMessage.State.FAILED
        scheduled.last_error = error
        scheduled.send_after = now + _retry_delay(scheduled.attempts)
        scheduled.save(update_fields=["state", "last_error", "send_after", "updated_at"])
        log.warning("message %s failed (attempt %s)", scheduled.pk, scheduled.attempts)
        return scheduled

    sent_at = timezone.now()
    message.state, message.sent_at = Message.State.SENT, sent_at
    message.save(update_fields=["state", "sent_at", "updated_at"])
    conversation.save(update_fields=["updated_at"])
    scheduled.state, scheduled.sent_at, scheduled.send_after = (
        ScheduledMessage.State.SENT,
        sent_at,
        None,
    )
    scheduled.included_code, scheduled.held_reason, scheduled.last_error = (
        rendered.included_code,
        "",
        "",
    )
    scheduled.save(
        update_fields=[
            "state",
            "sent_at",
            "send_after",
            "included_code",
            "held_reason",
            "last_error",
            "updated_at",
        ]
    )
    return scheduled


def messages_due_ids(*, now: datetime | None = None, limit: int = BATCH_SIZE) -> list[int]:
    now = now or timezone.now()
    # Interrupted sends (worker killed between claim and outcome) are retried, never lost.
    ScheduledMessage.objects.filter(
        state=ScheduledMessage.State.SENDING, updated_at__lt=now - STALE_SENDING
    ).update(state=ScheduledMessage.State.FAILED, last_error="interrupted", send_after=now)
    due = ScheduledMessage.objects.filter(
        Q(state=ScheduledMessage.State.SCHEDULED) | Q(state=ScheduledMessage.State.FAILED),
        send_after__isnull=False,
        send_after__lte=now,
    ).order_by("send_after", "id")
    return list(due.values_list("pk", flat=True)[:limit])


def messages_send_due(*, now: datetime | None = None) -> int:
    """Send a bounded batch of due messages; return how many were due."""
    ids = messages_due_ids(now=now)
    for scheduled_id in ids:
        try:
            message_send(scheduled_id=scheduled_id)
        except Exception:
            # One broken message must not stop the batch; it stays "sending" and is retried
            # once stale.
            log.exception("sending message %s failed unexpectedly", scheduled_id)
    return len(ids)
