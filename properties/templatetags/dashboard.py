"""Small presentation filters for the dashboard templates."""

from django import template

register = template.Library()


@register.filter
def words(value: str) -> str:
    """`missing_from_lock` → `missing from lock`: history kinds as a host reads them."""
    return str(value).replace("_", " ")
