"""Admin for support staff: reservations, found by guest, booking code or external id.

Saving goes through reservation_upsert, as the API does, so a change made here moves, alters,
accepts or cancels the guest's codes on the locks too (SPEC S1, C1–C3) instead of leaving them
out of step with the reservation.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accesscodes.presentation import code_summary, local_time
from reservations.admin_codes import codes_overview
from reservations.models import ICalFeed, ICalSeen, Reservation
from reservations.services import reservation_cancel, reservation_upsert

REFUSED = "_reservation_service_refused"


class ReservationAdminForm(forms.ModelForm):
    """Check-in and checkout typed and shown as the property's wall clock, zone named (V5):
    an agent who reads 16:00 for a 16:00 New York check-in can't move the stay 5 hours."""

    check_in = forms.SplitDateTimeField(widget=AdminSplitDateTime, label="Check-in")
    check_out = forms.SplitDateTimeField(widget=AdminSplitDateTime, label="Checkout")

    class Meta:
        model = Reservation
        fields = [
            "host",
            "property",
            "external_id",
            "reservation_code",
            "guest_name",
            "guest_phone",
            "guest_phone_last_digits",
            "guest_email",
            "check_in",
            "check_out",
            "status",
            "source",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk and instance.property_id:
            zone = instance.property.zone
            for name in ("check_in", "check_out"):
                self.initial[name] = getattr(instance, name).astimezone(zone).replace(tzinfo=None)
            where = f"{instance.property.time_zone} time, the property's clock"
        else:
            where = "the property's local time"
        for name in ("check_in", "check_out"):
            self.fields[name].help_text = f"In {where}."

    def clean(self):
        cleaned = super().clean()
        property = cleaned.get("property") or (
            self.instance.property if self.instance.property_id else None
        )
        for name in ("check_in", "check_out"):
            value = cleaned.get(name)
            if value is not None and property is not None:
                wall = value.replace(tzinfo=None)
                cleaned[name] = property.local_datetime(wall.date(), wall.time())
        return cleaned


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    form = ReservationAdminForm
    list_display = [
        "guest_name",
        "reservation_code",
        "external_id",
        "property",
        "host",
        "check_in_local",
        "check_out_local",
        "status",
        "source",
    ]
    actions = ["cancel_selected"]
    list_select_related = ["property", "host"]
    list_filter = ["status", "source"]
    search_fields = [
        "guest_name",
        "reservation_code",
        "external_id",
        "guest_email",
        "property__name",
        "host__name",
    ]
    autocomplete_fields = ["host", "property"]
    date_hierarchy = "check_in"

    def get_readonly_fields(self, request: HttpRequest, obj: Reservation | None = None):
        derived = ["guest_phone_e164", "guest_phone_valid", "cancelled_at_local"]
        # The host and its external id are the reservation's identity (reservation_upsert).
        if obj is None:
            return derived
        return [*derived, "host", "external_id", "source", "cancel_link", "codes"]

    def get_fields(self, request: HttpRequest, obj: Reservation | None = None):
        extra = ("cancelled_at", "cancel_link", "codes")
        fields = [f for f in super().get_fields(request, obj) if f not in extra]
        return [*fields, "cancel_link", "codes"] if obj is not None else fields

    @admin.display(description="Check-in", ordering="check_in")
    def check_in_local(self, obj: Reservation) -> str:
        return local_time(obj.check_in, obj.property)

    @admin.display(description="Checkout", ordering="check_out")
    def check_out_local(self, obj: Reservation) -> str:
        return local_time(obj.check_out, obj.property)

    @admin.display(description="Cancelled at")
    def cancelled_at_local(self, obj: Reservation) -> str:
        return local_time(obj.cancelled_at, obj.property) if obj.cancelled_at else "—"

    @admin.display(description="Codes, lock states and history")
    def codes(self, obj: Reservation) -> str:
        return codes_overview(reservation=obj)

    @admin.display(description="Cancel")
    def cancel_link(self, obj: Reservation) -> str:
        if obj.status == Reservation.Status.CANCELLED:
            return "Cancelled."
        url = reverse("admin:reservations_reservation_cancel", args=[obj.pk])
        return format_html(
            '<a class="deletelink" href="{}">Cancel this reservation</a> '
            "(codes leave the locks, except a code the lock cannot remove, which works until "
            "its end; nothing is deleted)",
            url,
        )

    # -- cancel instead of delete: the codes and their history must survive (SPEC C3) --

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Cancel the selected reservations (their codes leave the locks)")
    def cancel_selected(self, request: HttpRequest, queryset) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        done = 0
        for reservation in queryset.exclude(status=Reservation.Status.CANCELLED):
            reservation_cancel(reservation=reservation)
            done += 1
            if "keeps working" in (outcome := cancelled_outcome(reservation)):
                self.message_user(request, f"{reservation}: {outcome}.", messages.WARNING)
        self.message_user(request, f"Cancelled {done} reservation(s); their codes leave the locks.")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="reservations_reservation_cancel",
            ),
            *super().get_urls(),
        ]

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks for confirmation; POST cancels through reservation_cancel."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        reservation = get_object_or_404(self.get_queryset(request), pk=object_id)
        change_url = reverse("admin:reservations_reservation_change", args=[reservation.pk])
        if request.method == "POST":
            reservation_cancel(reservation=reservation)
            self.message_user(
                request, f"{reservation} was cancelled: {cancelled_outcome(reservation)}."
            )
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": reservation,
            "title": f"Cancel {reservation}?",
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/reservations/cancel_confirm.html", context)

    def _refuse(self, request: HttpRequest, message: str) -> None:
        setattr(request, REFUSED, True)
        self.message_user(request, message, messages.ERROR)

    def save_model(self, request, obj: Reservation, form, change: bool) -> None:
        cancelled = Reservation.Status.CANCELLED
        if change and form.initial.get("status") == cancelled == obj.status and form.changed_data:
            # reservation_upsert leaves a cancelled stay alone; say so instead of "changed".
            self._refuse(request, "A cancelled reservation cannot be changed.")
            return
        try:
            reservation, _ = reservation_upsert(
                host=obj.host,
                external_id=obj.external_id,
                property=obj.property,
                guest_name=obj.guest_name,
                check_in=obj.check_in,
                check_out=obj.check_out,
                status=obj.status,
                reservation_code=obj.reservation_code,
                guest_phone=obj.guest_phone,
                guest_phone_last_digits=obj.guest_phone_last_digits,
                guest_email=obj.guest_email,
                source=obj.source,
            )
        except ValidationError as error:
            self._refuse(request, " ".join(error.messages))
            return
        obj.pk = reservation.pk
        obj.refresh_from_db()

    def log_addition(self, request, obj, message):
        if not getattr(request, REFUSED, False):
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):
        if not getattr(request, REFUSED, False):
            return super().log_change(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None) -> HttpResponse:
        if getattr(request, REFUSED, False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj) -> HttpResponse:
        if getattr(request, REFUSED, False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_change(request, obj)


@admin.register(ICalFeed)
class ICalFeedAdmin(admin.ModelAdmin):
    list_display = ["__str__", "source", "enabled", "last_fetched_at", "last_ok_at", "last_error"]
    list_select_related = ["property"]
    list_filter = ["source", "enabled"]
    search_fields = ["property__name", "property__host__name"]
    autocomplete_fields = ["property"]
    readonly_fields = ["last_fetched_at", "last_ok_at", "last_error"]


@admin.register(ICalSeen)
class ICalSeenAdmin(admin.ModelAdmin):
    """What the import last saw: read-only, written by each fetch."""

    list_display = ["uid", "feed", "reservation", "missing_fetches", "last_seen_at"]
    list_select_related = ["feed__property", "reservation"]
    search_fields = ["uid", "reservation__guest_name", "reservation__reservation_code"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def cancelled_outcome(reservation: Reservation) -> str:
    """What cancelling did to the stay's codes, as the stays list says it: they leave the locks,
    or one the lock cannot remove (igloohome algoPIN) keeps working until its end (C3)."""
    text, _, _ = code_summary(Reservation.objects.get(pk=reservation.pk))
    return text.removeprefix("cancelled: ")
