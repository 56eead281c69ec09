"""What every dashboard view shares: the signed-in user's host, and 404 for anyone else's ids."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from properties.models import Host
from properties.selectors import host_for_user

T = TypeVar("T")


class HostRequest(HttpRequest):
    """The request a `host_required` view gets: the signed-in user's host is on it."""

    host: Host


def host_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run the view with `request.host` set; users without a host get the no-host page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        host = host_for_user(user=request.user)
        if host is None:
            return render(request, "dashboard/home.html", {"host": None}, status=403)
        request.host = host  # type: ignore[attr-defined]  # what makes it a HostRequest
        return view(request, *args, **kwargs)

    return wrapper


def get_or_404(selector: Callable[..., T], **kwargs: Any) -> T:
    """Call a `*_get(host=…, pk=…)` selector; another host's id is simply not found."""
    try:
        return selector(**kwargs)
    except ObjectDoesNotExist as error:
        raise Http404("Not found") from error


# --- "Today", the dashboard's home (SPEC V6) --------------------------------------------------

# Below this a lock's battery is worth a line on Today, before the 20 % alert (issue #24: 23 %).
TODAY_BATTERY_WARN = 30
# Today's local day began under a day ago and tomorrow's ends within two days, in any zone:
# only stays arriving or leaving in that reach are read, then placed on their property's day.
TODAY_SINCE = timedelta(days=1)
TODAY_UNTIL = timedelta(days=2)


@dataclass
class TodayStay:
    """One arrival or departure: the stay, which day and event, and each lock's code state."""

    reservation: Any
    day: str  # "today" or "tomorrow"
    event: str  # "arrival" or "departure"
    at: str
    codes: list = field(default_factory=list)  # (lock name, CodeView)
    attention: bool = False


def _today_stay(reservation, event: str, when, now) -> TodayStay | None:
    from accesscodes.presentation import PANEL_ORDER, local_time_short, lock_code_view

    zone = reservation.property.zone
    days = (when.astimezone(zone).date() - now.astimezone(zone).date()).days
    if days not in (0, 1):
        return None
    access = getattr(reservation, "access_code", None)
    lock_codes = list(access.lock_codes.all()) if access is not None else []
    views = [(lc.lock.name, lock_code_view(lc, reservation.property, now)) for lc in lock_codes]
    views.sort(key=lambda item: PANEL_ORDER.get(item[1].key, 9))
    attention = not views or any(v.key in ("failing", "waiting", "sending") for _, v in views)
    day = "today" if days == 0 else "tomorrow"
    at = local_time_short(when, reservation.property)
    return TodayStay(reservation, day, event, at, views, attention)


def today_overview(*, host, now: datetime | None = None) -> dict:
    """Arrivals and departures of today and tomorrow (property-local days) with each lock's
    code state, what needs the host first; open alerts; locks offline or with a low battery.
    A fixed number of queries, however many stays (bench/dashboard.py)."""
    from django.db.models import Prefetch, Q
    from django.utils import timezone

    from accesscodes.models import AccessCode, LockCode
    from integrations.selectors import lock_list
    from messaging.models import HostAlert
    from reservations.models import Reservation

    now = now or timezone.now()
    reach = (now - TODAY_SINCE, now + TODAY_UNTIL)
    near = Q(check_in__range=reach) | Q(check_out__range=reach)
    # Today shows code states, never PINs or credentials: nothing here is decrypted.
    lock_codes = LockCode.objects.select_related("lock").defer("pin")
    stays = (
        Reservation.objects.filter(near, host=host, status=Reservation.Status.ACCEPTED)
        .select_related("property")
        .prefetch_related(
            Prefetch("access_code", queryset=AccessCode.objects.defer("pin")),
            Prefetch("access_code__lock_codes", queryset=lock_codes),
        )
        .order_by("check_in")
    )
    lines = []
    for reservation in stays:
        for event, when in (
            ("arrival", reservation.check_in),
            ("departure", reservation.check_out),
        ):
            line = _today_stay(reservation, event, when, now)
            if line is not None:
                lines.append(line)
    lines.sort(key=lambda line: (not line.attention, line.day != "today"))
    locks = [
        lock
        for lock in lock_list(host=host, credentials=False)
        if not lock.online
        or (lock.battery_level is not None and lock.battery_level < TODAY_BATTERY_WARN)
    ]
    alerts = list(HostAlert.objects.filter(host=host, resolved_at__isnull=True)[:20])
    return {"today_stays": lines, "attention_locks": locks, "open_alerts": alerts}


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on every first load: a small icon, cached for a
    day, not a 17 KB 404 page (issue #24)."""
    icon = (settings.BASE_DIR / "static" / "favicon.svg").read_bytes()
    response = HttpResponse(icon, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
