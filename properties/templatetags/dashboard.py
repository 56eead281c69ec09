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
