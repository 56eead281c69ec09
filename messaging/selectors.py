"""Reads of a host's alerts and messages. Every read takes the host."""

from django.db.models import QuerySet

from messaging.models import HostAlert
from properties.models import Host


def host_alert_list(*, host: Host) -> QuerySet[HostAlert]:
    """The host's alerts, newest first."""
    return HostAlert.objects.filter(host=host).order_by("-created_at", "-id")


def message_rule_list(*, host: Host):
    from messaging.models import MessageRule

    return MessageRule.objects.filter(host=host).prefetch_related("properties")


def message_rule_get(*, host: Host, pk: int):
    return message_rule_list(host=host).get(pk=pk)


def conversation_messages(*, host: Host, reservation) -> list:
    """The messages of the stay's inbox conversation, oldest first (SPEC G6)."""
    from messaging.models import Message

    return list(
        Message.objects.filter(
            conversation__reservation=reservation, conversation__reservation__host=host
        )
        .prefetch_related("deliveries")
        .order_by("created_at", "id")
    )


def held_messages(*, reservation) -> list:
    """The stay's messages held for the host (SPEC G4), shown in its conversation."""
    from messaging.models import ScheduledMessage

    return list(
        ScheduledMessage.objects.filter(
            reservation=reservation, state=ScheduledMessage.State.HELD
        ).select_related("rule")
    )


def open_alert_count(*, host: Host) -> int:
    """Alerts not yet resolved: the number in the navigation."""
    return HostAlert.objects.filter(host=host, resolved_at__isnull=True).count()


def host_alert_get(*, host: Host, pk: int) -> HostAlert:
    return host_alert_list(host=host).get(pk=pk)


def unreachable_messages(*, reservation) -> list:
    """The stay's messages still to go that no channel can deliver (no email, no usable
    mobile number, or STOP): shown to the host before the send fails (SPEC G8, G11)."""
    from messaging.delivery import reachable
    from messaging.models import ScheduledMessage

    waiting = ScheduledMessage.objects.filter(
        reservation=reservation,
        rule__isnull=False,
        state__in=[ScheduledMessage.State.SCHEDULED, ScheduledMessage.State.SKIPPED],
    ).select_related("rule")
    return [
        row
        for row in waiting
        if not reachable(reservation=reservation, channel_key=row.rule.channel)
    ]
