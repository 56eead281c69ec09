"""Small presentation filters for the dashboard templates."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def words(value: str) -> str:
    """`missing_from_lock` → `missing from lock`: history kinds as a host reads them."""
    return str(value).replace("_", " ")


@register.simple_tag(takes_context=True)
def current(context, prefix: str) -> str:
    """`aria-current="page"` on the nav link of the section the page is in."""
    request = context.get("request")
    if request is not None and request.path.startswith(prefix):
        return mark_safe(' aria-current="page"')  # noqa: S308 - a constant, no user input
    return ""


@register.filter
def duration(value) -> str:
    """A buffer as a host says it: "none", "30 minutes", "2 hours", "1 hour 30 minutes"."""
    minutes = int(value.total_seconds() // 60) if value else 0
    if not minutes:
        return "none"
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


@register.filter
def local(value, where) -> str:
    """An instant in the property's zone, zone named (SPEC V5): `Sat 14 Mar 2026, 10:00
    (Europe/Lisbon)`. `where` is a property, a reservation or a zone name."""
    from accesscodes.presentation import local_time

    return local_time(value, getattr(where, "property", where))


@register.filter
def local_short(value, where) -> str:
    """`Sat 14 Mar, 10:00 WET`: the compact form for tables and lists, zone abbreviated."""
    from accesscodes.presentation import local_time_short

    return local_time_short(value, getattr(where, "property", where))


@register.filter
def reason(value) -> str:
    """A failure reason as a sentence (SPEC V5): `lock_offline` → `the lock was offline`."""
    from accesscodes.presentation import reason_sentence

    return reason_sentence(value)


@register.filter
def event_words(value) -> str:
    from accesscodes.presentation import event_words as words_for

    return words_for(value)


@register.simple_tag(takes_context=True)
def open_alerts(context) -> int:
    """How many of the signed-in host's alerts are open: the count in the navigation."""
    request = context.get("request")
    host = getattr(request, "host", None)
    if host is None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return 0
        from properties.selectors import host_for_user

        host = host_for_user(user=user)
        if host is None:
            return 0
    from messaging.selectors import open_alert_count

    return open_alert_count(host=host)


@register.simple_tag
def lock_capacity(lock, weeks: int = 6) -> list[dict]:
    """The lock's codes used / capacity per coming week, ours vs others (the lock page)."""
    from properties.calendar import lock_capacity_weeks

    return lock_capacity_weeks(lock=lock, weeks=weeks)
