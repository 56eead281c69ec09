"""Checks and confirmations around saving a message rule (SPEC G11)."""

from __future__ import annotations

from django.utils import timezone

from messaging.models import MessageRule, ScheduledMessage
from reservations.models import Reservation


def skip_due_now(rule: MessageRule) -> int:
    """Saving a rule never sends to stays booked before it at once (SPEC G11): what would go
    now is skipped until the host confirms with message_rule_send_skipped."""
    return ScheduledMessage.objects.filter(
        rule=rule,
        state=ScheduledMessage.State.SCHEDULED,
        attempts=0,
        send_after__lte=timezone.now(),
    ).update(state=ScheduledMessage.State.SKIPPED, send_after=None, updated_at=timezone.now())


def message_rule_skipped_count(*, rule: MessageRule) -> int:
    return ScheduledMessage.objects.filter(
        rule=rule,
        state=ScheduledMessage.State.SKIPPED,
        reservation__status=Reservation.Status.ACCEPTED,
        reservation__check_out__gt=timezone.now(),
    ).count()


def message_rule_send_skipped(*, rule: MessageRule) -> int:
    """The host confirmed: send the rule now to the existing stays it skipped."""
    return ScheduledMessage.objects.filter(
        rule=rule,
        state=ScheduledMessage.State.SKIPPED,
        reservation__status=Reservation.Status.ACCEPTED,
        reservation__check_out__gt=timezone.now(),
    ).update(state=ScheduledMessage.State.SCHEDULED, send_after=timezone.now())
