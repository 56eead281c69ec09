"""`{{ moment|guest_datetime }}`: a time on the guest page in the guest's language (SPEC K2, K4).

The view activates the guest's language and the property's zone; these filters read both, as
Django's `date` filter does, and word the date as the guest's messages do (messaging.rendering).
"""

from django import template
from django.utils import timezone

from messaging.rendering import guest_date, guest_time

register = template.Library()


@register.filter
def guest_datetime(value, arg: str = ""):
    """ "Samstag, 6. Juni 2026, 11:00"; `|guest_datetime:"no_year"` leaves the year out."""
    if not value:
        return ""
    local = timezone.localtime(value)
    return f"{guest_date(local, year=arg != 'no_year')}, {guest_time(local)}"
