"""The rule check of SPEC G11: before a rule carrying the door code or the guest link is saved,
what it would do to the upcoming stays it covers, each problem with the stays it affects.

Unknown placeholders are refused outright (MessageRule.clean); these are warnings the host
reads before saving (and on the rule's page): the message would go before the code is on the
lock (S2), it cannot reach a guest on its channel, or a guest's language has no variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone

from accesscodes.engine.windows import send_time as lock_send_time
from accesscodes.models import LockCode
from messaging.channels import channel_chain
from messaging.delivery import reachable
from messaging.models import MessageRule
from messaging.services import rule_due_moment
from properties.models import Property
from reservations.models import GUEST_LANGUAGES, Reservation

CHECKED_SHORTCODES = ("%smartlock_code%", "%guest_link%")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
UPCOMING_LIMIT = 200  # the stays the check reads; enough for any host's next months


@dataclass(frozen=True)
class RuleProblem:
    kind: str  # "timing", "channel", "unreachable", "language"
    message: str
    stays: list[Reservation] = field(default_factory=list)


def needs_check(rule: MessageRule) -> bool:
    texts = [rule.subject, rule.body]
    for variant in (rule.variants or {}).values():
        if isinstance(variant, dict):
            texts += [str(variant.get("subject", "")), str(variant.get("body", ""))]
    return any(code in text for text in texts for code in CHECKED_SHORTCODES)


def needs_code_text(rule: MessageRule) -> bool:
    texts = [rule.subject, rule.body, *map(str, (rule.variants or {}).values())]
    return any("%smartlock_code%" in text for text in texts)


def upcoming_stays(*, properties: list[Property]) -> list[Reservation]:
    return list(
        Reservation.objects.filter(
            property__in=properties,
            status=Reservation.Status.ACCEPTED,
            check_out__gt=timezone.now(),
        )
        .select_related("property", "host")
        .order_by("check_in", "id")[:UPCOMING_LIMIT]
    )


def _message_moment(rule: MessageRule, stay: Reservation) -> datetime:
    """When the rule's message goes for a typical stay, its booking included."""
    if rule.trigger == MessageRule.Trigger.BOOKING_ACCEPTED:
        return stay.created_at
    return rule_due_moment(rule=rule, reservation=stay, now=EARLIEST)


def _before_the_lock(rule: MessageRule, stays: list[Reservation]) -> list[Reservation]:
    """Stays whose message would go before their code is sent to a lock (SPEC S2)."""
    codes = LockCode.objects.filter(access_code__reservation__in=stays).select_related(
        "lock__connection", "access_code__reservation__property"
    )
    first_send: dict[int, datetime] = {}
    for lock_code in codes:
        stay_id = lock_code.access_code.reservation_id
        moment = lock_send_time(lock_code, EARLIEST)
        first_send[stay_id] = max(first_send.get(stay_id, moment), moment)
    return [
        stay
        for stay in stays
        if stay.pk in first_send and _message_moment(rule, stay) < first_send[stay.pk]
    ]


def _channel_problems(rule: MessageRule, stays: list[Reservation]) -> list[RuleProblem]:
    wanted = channel_chain(rule.channel)[0]
    unreachable, elsewhere = [], []
    for stay in stays:
        pairs = reachable(reservation=stay, channel_key=rule.channel)
        if not pairs:
            unreachable.append(stay)
        elif rule.channel != "best" and pairs[0][0] != wanted:
            elsewhere.append(stay)
    label = dict(MessageRule.Channel.choices).get(rule.channel, rule.channel)
    problems = []
    if unreachable:
        problems.append(
            RuleProblem(
                "unreachable",
                "These guests have no usable address for this message (no email, no valid "
                "mobile number, or it sent STOP): it will be held until you add one.",
                unreachable,
            )
        )
    if elsewhere:
        problems.append(
            RuleProblem(
                "channel",
                f"{label} cannot reach these guests (no valid mobile number, no Twilio sender "
                "for it, or they sent STOP): the message goes by email instead.",
                elsewhere,
            )
        )
    return problems


def _language_problems(rule: MessageRule, stays: list[Reservation]) -> list[RuleProblem]:
    names = dict(GUEST_LANGUAGES)
    have = rule.languages()
    missing: dict[str, list[Reservation]] = {}
    for stay in stays:
        if stay.language and stay.language not in have:
            missing.setdefault(stay.language, []).append(stay)
    written = names.get(rule.language, rule.language)
    return [
        RuleProblem(
            "language",
            f"No {names.get(language, language)} variant: these guests read "
            f"{names.get(language, language)} and would get the {written} text.",
            affected,
        )
        for language, affected in sorted(missing.items())
    ]


def message_rule_problems(
    *, rule: MessageRule, properties: list[Property] | None = None
) -> list[RuleProblem]:
    """What is wrong with the rule for the upcoming stays it covers (SPEC G11). A draft rule
    (not saved yet) passes its properties."""
    if not needs_check(rule):
        return []
    if properties is None:
        properties = list(rule.properties.all()) if rule.pk else []
    stays = upcoming_stays(properties=properties)
    problems = []
    # Only the code itself is early: the guest page reveals it at its own time (SPEC K2).
    early = _before_the_lock(rule, stays) if needs_code_text(rule) else []
    if early:
        problems.append(
            RuleProblem(
                "timing",
                "This message goes before the door code is sent to the lock: the code may "
                "not open the door yet and can still change. Send it later, e.g. a day "
                "before check-in.",
                early,
            )
        )
    problems += _channel_problems(rule, stays)
    problems += _language_problems(rule, stays)
    return problems
