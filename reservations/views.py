"""Dashboard pages for reservations and the inbox with its Property Access panel (SPEC V1–V3)."""

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accesscodes.presentation import access_panel as panel_view
from accesscodes.presentation import code_summary
from accesscodes.selectors import lock_code_get, reservation_access
from accesscodes.services import EngineError, lock_code_retry_now, lock_resync
from guests.timeline import stay_timeline
from integrations.selectors import lock_get
from locksync.dashboard import get_or_404, host_required
from locksync.pagination import (
    BAD_PAGE_LINK,
    BadCursor,
    list_context,
    page_from_request,
    search_query,
)
from messaging.selectors import conversation_messages, held_messages, unreachable_messages
from properties.selectors import property_list
from reservations.door_views import simulated_locks
from reservations.forms import ReservationEditForm, ReservationForm
from reservations.models import Reservation
from reservations.previews import code_effects, overlap_warnings
from reservations.selectors import reservation_get, reservation_list_with_codes, stay_search
from reservations.services import reservation_cancel, reservation_upsert
from reservations.services import reservation_edit as reservation_edit_service

FILTERS = [
    ("current", "Current and upcoming"),
    ("upcoming", "Upcoming"),
    ("in_stay", "In stay"),
    ("failing", "Failing"),
    ("all", "All"),
]


def _with_summaries(reservations) -> list[Reservation]:
    reservations = list(reservations)
    now = timezone.now()
    for reservation in reservations:
        summary = code_summary(reservation, now)
        reservation.code_summary, reservation.code_tone, reservation.code_key = summary
    return reservations


def _access(request: HttpRequest, reservation: Reservation) -> dict:
    access = reservation_access(host=request.host, reservation=reservation)
    return panel_view(reservation=reservation, access=access)


# Lists show a page of stays (25) at a time in this order, with "Load more" (locksync.pagination).
STAY_ORDER = ("check_in", "id")


def _stay_list(request: HttpRequest, *, show: str, template: str, rows: str, extra: dict):
    """One page of the host's stays as `show` selects them, matching the search `q`.

    An htmx "Load more" gets only the next rows (`rows` template), a plain request the page.
    """
    q = search_query(request)
    stays = reservation_list_with_codes(host=request.host, show=show)
    try:
        page = page_from_request(
            request, stays.filter(stay_search(request.host, q)), ordering=STAY_ORDER
        )
    except BadCursor:
        return HttpResponseBadRequest(BAD_PAGE_LINK)
    context = {
        "reservations": _with_summaries(page.rows),
        **list_context(request, page, q),
        **extra,
    }
    return render(request, rows if request.htmx else template, context)


@host_required
def reservation_list_view(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "current")
    if show not in dict(FILTERS):
        show = "current"
    return _stay_list(
        request,
        show=show,
        template="reservations/list.html",
        rows="reservations/_list_rows.html",
        extra={"filters": FILTERS, "show": show},
    )


@host_required
def reservation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    return render(
        request,
        "reservations/detail.html",
        {
            "reservation": reservation,
            "access": _access(request, reservation),
            "timeline": stay_timeline(reservation=reservation),
            "can_simulate_entry": bool(simulated_locks(reservation)),
        },
    )


def _service_error(form, error: ValidationError) -> None:
    # A service's error may name a model field the form lacks ("check_out"): say it as a
    # message on the form instead of letting add_error raise.
    form.add_error(None, " ".join(error.messages))


def _overlaps(form, *, exclude_pk=None) -> list[str]:
    """Warn of overlapping stays; the host must tick the confirmation to save anyway."""
    data = form.cleaned_data
    warnings = overlap_warnings(
        property=data["property_obj"],
        check_in=data["check_in"],
        check_out=data["check_out"],
        exclude_pk=exclude_pk,
    )
    if warnings and not data.get("overlap_confirmed"):
        form.add_error(
            "overlap_confirmed", "This stay overlaps another one: tick to keep it anyway."
        )
    return warnings


@host_required
def reservation_new(request: HttpRequest) -> HttpResponse:
    """Enter a stay by hand (source "manual"); its code follows at once (SPEC S1)."""
    properties = list(property_list(host=request.host))
    form = ReservationForm(request.POST or None, properties=properties)
    context = {"form": form, "properties": properties}
    if request.method == "POST" and form.is_valid():
        context["overlaps"] = _overlaps(form)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            reservation, _ = reservation_upsert(
                host=request.host,
                external_id=f"manual-{secrets.token_hex(6)}",
                property=data["property_obj"],
                guest_name=data["guest_name"],
                guest_phone=data["guest_phone"],
                guest_email=data["guest_email"],
                reservation_code=data["reservation_code"],
                check_in=data["check_in"],
                check_out=data["check_out"],
                source=Reservation.Source.MANUAL,
            )
        except ValidationError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"The stay of {reservation.guest_name} was added.")
            return redirect("conversation", pk=reservation.pk)
    return render(request, "reservations/form.html", context)


@host_required
def reservation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change dates, times, guest details or property (SPEC C1, C2), saying first what will
    happen to the codes; saving needs a second post of the reviewed data."""
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    if reservation.status == Reservation.Status.CANCELLED:
        messages.error(request, "A cancelled stay cannot be changed.")
        return redirect("reservation_detail", pk=reservation.pk)
    properties = list(property_list(host=request.host))
    form = ReservationEditForm(request.POST or None, reservation=reservation, properties=properties)
    context: dict = {"form": form, "reservation": reservation}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        context["overlaps"] = _overlaps(form, exclude_pk=reservation.pk)
        context["effects"] = code_effects(
            reservation=reservation,
            property=data["property_obj"],
            check_in=data["check_in"],
            check_out=data["check_out"],
            guest_name=data["guest_name"],
        )
    if request.method == "POST" and form.is_valid():
        if form.is_reviewed(request.POST.get("review", "")):
            try:
                reservation_edit_service(
                    reservation=reservation,
                    property=data["property_obj"],
                    check_in=data["check_in"],
                    check_out=data["check_out"],
                    guest_name=data["guest_name"],
                    guest_phone=data["guest_phone"],
                    guest_email=data["guest_email"],
                )
            except ValidationError as error:
                _service_error(form, error)
            else:
                messages.success(request, f"The stay of {reservation.guest_name} was changed.")
                return redirect("conversation", pk=reservation.pk)
        else:
            context["review"] = form.review_token()
    return render(request, "reservations/edit.html", context)


# --- inbox ---------------------------------------------------------------------------------


@host_required
def inbox(request: HttpRequest) -> HttpResponse:
    return _stay_list(
        request,
        show="current",
        template="reservations/inbox.html",
        rows="reservations/_inbox_rows.html",
        extra={},
    )


@host_required
def conversation(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    context = {
        "reservation": reservation,
        "access": _access(request, reservation),
        "held_messages": held_messages(reservation=reservation),
        "unreachable_messages": unreachable_messages(reservation=reservation),
        "conversation_messages": conversation_messages(host=request.host, reservation=reservation),
    }
    return render(request, "reservations/conversation.html", context)


def _panel(request: HttpRequest, reservation: Reservation, *, notice: str = "", ok: bool = True):
    context = {
        "reservation": reservation,
        "access": _access(request, reservation),
        "notice": notice,
        "notice_ok": ok,
    }
    return render(request, "reservations/_access_panel.html", context)


@host_required
def access_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The Property Access panel alone, for htmx to refresh in place."""
    return _panel(request, get_or_404(reservation_get, host=request.host, pk=pk))


def _after_action(request: HttpRequest, reservation: Reservation, text: str, ok: bool):
    if request.htmx:
        return _panel(request, reservation, notice=text, ok=ok)
    (messages.success if ok else messages.error)(request, text)
    return redirect("conversation", pk=reservation.pk)


@host_required
@require_POST
def lock_code_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry now (SPEC V2): the code is due at once; a worker sends it and the panel shows
    the progress. The request never waits on the vendor."""
    lock_code = get_or_404(lock_code_get, host=request.host, pk=pk)
    reservation = lock_code.access_code.reservation
    try:
        lock_code = lock_code_retry_now(lock_code=lock_code, user=request.user)
    except EngineError as error:
        return _after_action(request, reservation, str(error), False)
    text = f"Trying again on {lock_code.lock.name} now; this panel shows the progress."
    return _after_action(request, reservation, text, True)


@host_required
@require_POST
def conversation_lock_resync(request: HttpRequest, pk: int, lock_pk: int) -> HttpResponse:
    """Resync a lock from the panel (SPEC V2, Y1)."""
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    lock = get_or_404(lock_get, host=request.host, pk=lock_pk)
    lock_resync(lock=lock, user=request.user)
    text = f"Resyncing {lock.name}: our codes are being pushed to it again."
    return _after_action(request, reservation, text, True)


@host_required
def reservation_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then cancel: unsent codes are dropped, codes on locks removed (SPEC C3)."""
    reservation = get_or_404(reservation_get, host=request.host, pk=pk)
    if request.method == "POST":
        reservation_cancel(reservation=reservation)
        messages.success(request, f"The stay of {reservation.guest_name} was cancelled.")
        return redirect("conversation", pk=reservation.pk)
    access = reservation_access(host=request.host, reservation=reservation)
    on_locks = [lc for lc in access["lock_codes"] if lc.vendor_code_id and lc.state != "removed"]
    return render(
        request,
        "reservations/cancel_confirm.html",
        {"reservation": reservation, "on_locks": on_locks},
    )
