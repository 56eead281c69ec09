"""`{% guest_panel reservation %}`: arrival and pre-arrival checks in the Property Access panel."""

from django import template

from guests.selectors import stay_panel

register = template.Library()


@register.inclusion_tag("guest/_stay_panel.html", takes_context=True)
def guest_panel(context, reservation):
    return {
        "reservation": reservation,
        "panel": stay_panel(reservation=reservation),
        "csrf_token": context.get("csrf_token"),
    }
