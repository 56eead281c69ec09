"""Dashboard pages for alerts and message rules."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from locksync.dashboard import host_required
from messaging.selectors import host_alert_list


@host_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """What needs the host's attention, newest first, each with where to fix it."""
    alerts = list(host_alert_list(host=request.host)[:200])
    return render(request, "messaging/alert_list.html", {"alerts": alerts})


@host_required
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/rule_list.html", {"rules": []})
