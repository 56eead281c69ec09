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
