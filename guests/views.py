"""The guest's private page (SPEC K1–K4) and the host's guest settings page."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods, require_POST

from guests.models import GuestSettings, PropertyGuestInfo
from guests.ratelimit import rate_limit_exceeded
from guests.selectors import guest_page
from guests.services import (
    HelpOutcome,
    checkin_notes_update,
    code_not_working,
    guest_link_issue,
    guest_link_resolve,
    guest_links_revoke,
    guest_settings_get,
    guest_settings_update,
)
from locksync.dashboard import HostRequest, get_or_404, host_required
from properties.selectors import property_get
from reservations.models import Reservation
from reservations.selectors import reservation_get

# Per address: generous for a family on one wifi, tight enough to make guessing tokens useless
# (a token has 192 random bits; the limit is against load, not guessing).
PAGE_LIMIT, PAGE_WINDOW = 60, 60
HELP_LIMIT, HELP_WINDOW = 10, 600
HELP_OUTCOMES = {
    HelpOutcome.BACKUP,
    HelpOutcome.NO_BACKUP,
    HelpOutcome.OUTSIDE_WINDOW,
    HelpOutcome.LIMIT,
}
GUEST_LANGUAGES = {code for code, _ in settings.LANGUAGES}


def _private(response: HttpResponse) -> HttpResponse:
    """Keep a guest page out of search engines, caches and other sites' referrer logs.

    "same-origin", not "no-referrer": with no referrer at all browsers send `Origin: null` on
    the page's own form posts, which Django's CSRF check rightly refuses.
    """
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "same-origin"
    return response


def guest_language(*, request: HttpRequest, reservation: Reservation | None) -> str:
    """The stay's language when the host set one, else the browser's (SPEC K4)."""
    if reservation is not None and reservation.language in GUEST_LANGUAGES:
        return reservation.language
    language = translation.get_language_from_request(request)
    base = (language or "en").split("-")[0]
    return base if base in GUEST_LANGUAGES else "en"


def _expired(request: HttpRequest, *, status: int = 404) -> HttpResponse:
    # One page for unknown, expired and cancelled links: nothing hints at other stays.
    with translation.override(guest_language(request=request, reservation=None)):
        response = render(request, "guest/expired.html", status=status)
    return _private(response)


def _too_many(request: HttpRequest) -> HttpResponse:
    with translation.override(guest_language(request=request, reservation=None)):
        response = render(request, "guest/too_many.html", status=429)
    response["Retry-After"] = str(PAGE_WINDOW)
    return _private(response)


@require_http_methods(["GET", "HEAD"])
def guest_page_view(request: HttpRequest, token: str) -> HttpResponse:
    if rate_limit_exceeded(
        request=request, scope="guest", limit=PAGE_LIMIT, per_seconds=PAGE_WINDOW
    ):
        return _too_many(request)
    reservation = guest_link_resolve(token=token)
    if reservation is None:
        return _expired(request)
    outcome = request.GET.get("outcome", "")
    helped_lock = request.GET.get("lock", "")
    language = guest_language(request=request, reservation=reservation)
    with translation.override(language), timezone.override(reservation.property.zone):
        page = guest_page(reservation=reservation)
        response = render(
            request,
            "guest/page.html",
            {
                "page": page,
                "token": token,
                "language": language,
                "outcome": outcome if outcome in HELP_OUTCOMES else "",
                "helped_lock": helped_lock if helped_lock.isdigit() else "",
            },
        )
    return _private(response)


@require_POST
def guest_help_view(request: HttpRequest, token: str, lock_id: int) -> HttpResponse:
    if rate_limit_exceeded(
        request=request, scope="guest-help", limit=HELP_LIMIT, per_seconds=HELP_WINDOW
    ):
        return _too_many(request)
    reservation = guest_link_resolve(token=token)
    if reservation is None:
        return _expired(request)
    result = code_not_working(reservation=reservation, lock_id=lock_id)
    if result is None:
        return _expired(request)
    url = reverse("guest_page", kwargs={"token": token})
    return redirect(f"{url}?outcome={result.outcome}&lock={lock_id}#lock-{lock_id}")


class GuestSettingsForm(forms.ModelForm):
    reveal_before_days = forms.IntegerField(
        min_value=0,
        max_value=30,
        label="Show the code on the guest page this many days before check-in",
        help_text="Never before the lock can have it (its send time).",
    )

    class Meta:
        model = GuestSettings
        fields = ["host_phone", "check_24h", "check_2h", "not_arrived_after_hours"]
        labels = {
            "host_phone": "Your phone number for guests",
            "check_24h": "Check every stay's codes 24 hours before the code starts",
            "check_2h": "Check every stay's codes 2 hours before the code starts",
            "not_arrived_after_hours": "Tell me when a guest has not arrived this many hours "
            "after check-in",
        }


@host_required
def guest_settings_view(request: HostRequest) -> HttpResponse:
    host = request.host
    current = guest_settings_get(host=host)
    initial = {"reveal_before_days": current.reveal_before.days}
    form = GuestSettingsForm(request.POST or None, instance=current, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in GuestSettingsForm.Meta.fields}
        changes["reveal_before"] = timedelta(days=form.cleaned_data["reveal_before_days"])
        guest_settings_update(host=host, **changes)
        messages.success(request, "Guest settings saved.")
        return redirect("guest_settings")
    properties = host.properties.all()
    notes = {
        info.property_id: info.checkin_notes
        for info in PropertyGuestInfo.objects.filter(property__host=host)
    }
    rows = [(prop, notes.get(prop.pk, "")) for prop in properties.order_by("name", "id")]
    return render(request, "guest/settings.html", {"form": form, "properties": rows})


class CheckinNotesForm(forms.Form):
    checkin_notes = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Check-in notes for guests",
        help_text="Shown on every guest page of this property: parking, key box, Wi-Fi …",
    )


@host_required
def checkin_notes_view(request: HostRequest, pk: int) -> HttpResponse:
    prop = get_or_404(property_get, host=request.host, pk=pk)
    info = PropertyGuestInfo.objects.filter(property=prop).first()
    initial = {"checkin_notes": info.checkin_notes if info else ""}
    form = CheckinNotesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        checkin_notes_update(property=prop, checkin_notes=form.cleaned_data["checkin_notes"])
        messages.success(request, f"Check-in notes for {prop.name} saved.")
        return redirect("guest_settings")
    return render(request, "guest/checkin_notes.html", {"form": form, "property": prop})


@host_required
@require_POST
def guest_page_open_view(request: HostRequest, pk: int) -> HttpResponse:
    """Let the host see the stay's guest page: a fresh link, opened at once."""
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    if reservation.status != Reservation.Status.ACCEPTED:
        messages.error(request, "Only an accepted stay has a guest page.")
        return redirect("conversation", pk=reservation.pk)
    return redirect(guest_link_issue(reservation=reservation))


@host_required
@require_POST
def guest_links_revoke_view(request: HostRequest, pk: int) -> HttpResponse:
    """The host turns off the links sent so far; the next message with %guest_link% carries a
    new one (SPEC K1)."""
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    revoked = guest_links_revoke(reservation=reservation)
    messages.success(
        request,
        f"Turned off {revoked} link{'' if revoked == 1 else 's'} to {reservation.guest_name}'s "
        "page. Messages with %guest_link% sent from now on carry a new one.",
    )
    return redirect("conversation", pk=reservation.pk)
