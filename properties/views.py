"""The dashboard's pages for hosts' properties, matching and settings, and signing up.

Every read goes through a selector taking the host; every write through a service.
"""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from integrations.selectors import (
    lock_get,
    lock_list,
    match_create_preview,
    match_delete_preview,
    match_get,
    match_list,
)
from integrations.services import match_create, match_delete
from locksync.dashboard import HostRequest, get_or_404, host_required, today_overview
from properties import calendar
from properties.forms import (
    ICalFeedForm,
    MatchForm,
    PropertyForm,
    SignupForm,
    SmartLockSettingsForm,
)
from properties.models import SmartLockSettings
from properties.selectors import (
    host_for_user,
    property_get,
    property_list_with_locks,
    smart_lock_settings_effective,
    smart_lock_settings_own,
)
from properties.services import (
    host_signup,
    property_create,
    property_update,
    smart_lock_settings_reset,
    smart_lock_settings_update,
)
from reservations.ical import ical_feed_create, ical_feed_delete
from reservations.selectors import ical_feed_get, ical_feed_list


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Today (SPEC V6): arrivals and departures, open alerts, locks needing a visit; then the
    host's properties with their matched locks, and the host's locks."""
    host = host_for_user(user=request.user)
    if host is None:
        return render(request, "dashboard/home.html", {"host": None})
    context = {
        "host": host,
        "properties": property_list_with_locks(host=host),
        "locks": list(lock_list(host=host, credentials=False)),
        **today_overview(host=host),
    }
    return render(request, "dashboard/home.html", context)


def signup(request: HttpRequest) -> HttpResponse:
    """Create an account: a user, the host they run, and sign them in."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = host_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                host_name=form.cleaned_data["host_name"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to locksync. Start by connecting your lock app.")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@host_required
def property_list_view(request: HostRequest) -> HttpResponse:
    properties = property_list_with_locks(host=request.host)
    return render(request, "properties/list.html", {"properties": properties})


@host_required
def property_new(request: HostRequest) -> HttpResponse:
    form = PropertyForm(
        request.POST or None, initial={"checkin_time": "16:00", "checkout_time": "11:00"}
    )
    if request.method == "POST" and form.is_valid():
        try:
            property = property_create(host=request.host, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{property.name} was added.")
            return redirect("property_detail", pk=property.pk)
    return render(request, "properties/form.html", {"form": form, "property": None})


@host_required
def property_edit(request: HostRequest, pk: int) -> HttpResponse:
    property = get_or_404(property_get, host=request.host, pk=pk)
    initial = {field: getattr(property, field) for field in PropertyForm.base_fields}
    form = PropertyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            property_update(property=property, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "The property was saved.")
            return redirect("property_detail", pk=property.pk)
    return render(request, "properties/form.html", {"form": form, "property": property})


@host_required
def property_detail(request: HostRequest, pk: int) -> HttpResponse:
    property = get_or_404(property_get, host=request.host, pk=pk)
    matches = list(match_list(host=request.host).filter(property=property).order_by("lock__name"))
    matched_ids = {match.lock_id for match in matches}
    locks = lock_list(host=request.host, credentials=False)
    # Locks no property uses yet come first: the preselected one is never another property's
    # door when a free one exists (issue #24).
    used = set(match_list(host=request.host).values_list("lock_id", flat=True))
    free_locks = sorted(
        (lock for lock in locks if lock.pk not in matched_ids), key=lambda lock: lock.pk in used
    )
    context = {
        "property": property,
        "matches": matches,
        "match_form": MatchForm(locks=free_locks) if free_locks else None,
        "settings": smart_lock_settings_effective(property=property),
        "has_override": smart_lock_settings_own(host=request.host, property=property) is not None,
        "feeds": list(ical_feed_list(host=request.host).filter(property=property)),
        "feed_form": ICalFeedForm(),
    }
    return render(request, "properties/detail.html", context)


@host_required
def match_new(request: HostRequest, pk: int) -> HttpResponse:
    """Ask which lock, then show what matching will do before doing it (SPEC M3)."""
    property = get_or_404(property_get, host=request.host, pk=pk)
    form = MatchForm(request.POST or request.GET or None, locks=lock_list(host=request.host))
    if not form.is_valid():
        return redirect("property_detail", pk=property.pk)
    lock = get_or_404(lock_get, host=request.host, pk=form.cleaned_data["lock"])
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            match_create(lock=lock, property=property)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{lock.name} is now matched to {property.name}.")
        return redirect("property_detail", pk=property.pk)
    count = match_create_preview(host=request.host, lock=lock, property=property)
    return render(
        request,
        "properties/match_confirm.html",
        {"property": property, "lock": lock, "count": count},
    )


@host_required
def match_remove(request: HostRequest, pk: int) -> HttpResponse:
    """Show what unmatching does to existing codes, then unmatch on confirmation (SPEC M4)."""
    match = get_or_404(match_get, host=request.host, pk=pk)
    if request.method == "POST":
        lock, property = match.lock, match.property
        match_delete(match=match)
        messages.success(request, f"{lock.name} is no longer matched to {property.name}.")
        return redirect("property_detail", pk=property.pk)
    preview = match_delete_preview(host=request.host, match=match)
    return render(request, "properties/unmatch_confirm.html", {"match": match, **preview})


def _settings_page(request: HostRequest, *, property=None) -> HttpResponse:
    host = request.host
    if property is None:
        row = smart_lock_settings_own(host=host) or SmartLockSettings(host=host)
    else:
        row = smart_lock_settings_effective(property=property)
    form = SmartLockSettingsForm(
        request.POST or None, initial=SmartLockSettingsForm.initial_from(row)
    )
    if request.method == "POST" and form.is_valid():
        try:
            smart_lock_settings_update(host=host, property=property, **form.service_fields())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Smart lock settings saved.")
            if property is not None:
                return redirect("property_detail", pk=property.pk)
            return redirect("host_settings")
    has_override = (
        property is not None and smart_lock_settings_own(host=host, property=property) is not None
    )
    return render(
        request,
        "properties/settings.html",
        {"form": form, "property": property, "has_override": has_override},
    )


@host_required
def host_settings(request: HostRequest) -> HttpResponse:
    return _settings_page(request)


@host_required
def property_settings(request: HostRequest, pk: int) -> HttpResponse:
    return _settings_page(request, property=get_or_404(property_get, host=request.host, pk=pk))


@host_required
@require_POST
def property_settings_reset(request: HostRequest, pk: int) -> HttpResponse:
    property = get_or_404(property_get, host=request.host, pk=pk)
    smart_lock_settings_reset(host=request.host, property=property)
    messages.success(request, f"{property.name} follows your default settings again.")
    return redirect("property_detail", pk=property.pk)


@host_required
@require_POST
def ical_feed_new(request: HostRequest, pk: int) -> HttpResponse:
    """Add a channel's calendar export; its stays are imported every 15 minutes."""
    property = get_or_404(property_get, host=request.host, pk=pk)
    form = ICalFeedForm(request.POST)
    if form.is_valid():
        try:
            ical_feed_create(property=property, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, "The iCal feed was added; its stays appear within 15 minutes."
            )
    else:
        messages.error(request, "Enter the feed's full https:// address.")
    return redirect("property_detail", pk=property.pk)


@host_required
def ical_feed_remove(request: HostRequest, pk: int) -> HttpResponse:
    feed = get_or_404(ical_feed_get, host=request.host, pk=pk)
    if request.method == "POST":
        property = feed.property
        ical_feed_delete(feed=feed)
        messages.success(request, "The iCal feed was removed; its stays remain.")
        return redirect("property_detail", pk=property.pk)
    return render(request, "properties/ical_feed_remove.html", {"feed": feed})


@host_required
def property_calendar(request: HostRequest, pk: int) -> HttpResponse:
    """Weeks across, one row per lock, each stay's code window as a bar coloured by state."""
    property = get_or_404(property_get, host=request.host, pk=pk)
    today = timezone.now().astimezone(property.zone).date()
    try:
        first_day = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        first_day = today
    if not 2000 <= first_day.year <= 2100:
        first_day = today
    asked = request.GET.get("weeks", "")
    weeks = int(asked) if asked.isascii() and asked.isdigit() and len(asked) < 3 else 4
    weeks = max(1, min(weeks, calendar.MAX_WEEKS))
    first_day = calendar.week_start(first_day)
    context = {
        "property": property,
        "weeks": weeks,
        "first_day": first_day,
        "previous": first_day - timedelta(weeks=weeks),
        "next": first_day + timedelta(weeks=weeks),
        "this_week": calendar.week_start(today),
        "today_date": today,
        "states": ["scheduled", "sending", "set", "failing", "waiting", "removed"],
        **calendar.property_calendar(property=property, first_day=first_day, weeks=weeks),
    }
    for row in context["rows"]:
        row.capacity = calendar.lock_capacity_weeks(lock=row.lock, weeks=weeks)
    return render(request, "properties/calendar.html", context)
