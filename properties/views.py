"""The dashboard's pages for hosts. Every read goes through a selector taking the host."""

from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from integrations.selectors import lock_list, match_list
from properties.selectors import host_for_user, property_list


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Show the host's properties with their matched locks, and the host's locks."""
    host = host_for_user(user=request.user)
    if host is None:
        return render(request, "dashboard/home.html", {"host": None})
    locks_by_property = defaultdict(list)
    for match in match_list(host=host).order_by("lock__name", "lock_id"):
        locks_by_property[match.property_id].append(match.lock)
    properties = list(property_list(host=host))
    for property in properties:
        property.matched_locks = locks_by_property[property.pk]
    context = {
        "host": host,
        "properties": properties,
        "locks": list(lock_list(host=host)),
    }
    return render(request, "dashboard/home.html", context)
