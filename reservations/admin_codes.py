"""The reservation admin's read-only view of its codes: each lock's state, attempts and
failure history, times in the property's zone, with links to the rows (SPEC V5, §4 Admin).

A LockCode hangs off the AccessCode, not the reservation, so Django's inlines can't reach it;
this renders the same table read-only, in a fixed number of queries.
"""

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accesscodes.models import AccessCode, CodeEvent, LockCode
from accesscodes.presentation import event_words, local_time, lock_code_view, reason_sentence

HISTORY_PER_LOCK = 10


def _history(lock_code: LockCode, events: list[CodeEvent], where) -> SafeString:
    failures = [event for event in events if event.kind in ("failed", "rate_limited", "gave_up")]
    if not failures:
        return format_html("{}", "no failures")
    return format_html(
        "<ul>{}</ul>",
        format_html_join(
            "",
            "<li>{}: {}</li>",
            (
                (local_time(event.created_at, where, "j M Y H:i"), reason_sentence(event.reason))
                for event in failures[:HISTORY_PER_LOCK]
            ),
        ),
    )


def _row(lock_code: LockCode, events: list[CodeEvent], where) -> tuple:
    view = lock_code_view(lock_code, where)
    url = reverse("admin:accesscodes_lockcode_change", args=[lock_code.pk])
    lock_url = reverse("admin:integrations_lock_change", args=[lock_code.lock_id])
    last = reason_sentence(lock_code.last_error)
    if not last and events and any(event.kind == "failed" for event in events):
        last = "failed before, now recovered"
    return (
        format_html('<a href="{}">{}</a>', lock_url, lock_code.lock.name),
        format_html('<a href="{}">{}</a>', url, view.label),
        lock_code.attempts,
        last or "—",
        _history(lock_code, events, where),
        format_html(
            "{}",
            "; ".join(
                f"{local_time(event.created_at, where, 'j M H:i')} {event_words(event.kind)}"
                for event in events[:5]
            )
            or "—",
        ),
    )


def codes_overview(*, reservation) -> SafeString:
    access_code = AccessCode.objects.filter(reservation=reservation).first()
    if access_code is None:
        return format_html("{}", "No code for this reservation.")
    where = reservation.property
    lock_codes = list(access_code.lock_codes.select_related("lock").order_by("lock__name"))
    events: dict[int, list[CodeEvent]] = {lock_code.pk: [] for lock_code in lock_codes}
    for event in CodeEvent.objects.filter(lock_code__in=lock_codes).order_by("-created_at")[:500]:
        events[event.lock_code_id].append(event)
    access_url = reverse("admin:accesscodes_accesscode_change", args=[access_code.pk])
    header = format_html(
        '<p><a href="{}">Access code</a>: window {} – {}{}</p>',
        access_url,
        local_time(access_code.starts_at, where),
        local_time(access_code.ends_at, where),
        f"; cancelled {local_time(access_code.cancelled_at, where)}"
        if access_code.cancelled_at
        else "",
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (_row(lock_code, events[lock_code.pk], where) for lock_code in lock_codes),
    )
    return format_html(
        '{}<table class="codes-overview"><thead><tr><th>Lock</th><th>State</th>'
        "<th>Attempts</th><th>Last error</th><th>Failure history</th><th>Latest events</th>"
        "</tr></thead><tbody>{}</tbody></table>",
        header,
        rows,
    )
