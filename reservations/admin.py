"""Admin for support staff: reservations, found by guest, booking code or external id.

Saving goes through reservation_upsert, as the API does, so a change made here moves, alters,
accepts or cancels the guest's codes on the locks too (SPEC S1, C1–C3) instead of leaving them
out of step with the reservation.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from reservations.models import ICalFeed, ICalSeen, Reservation
from reservations.services import reservation_upsert

REFUSED = "_reservation_service_refused"


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = [
        "guest_name",
        "reservation_code",
        "external_id",
        "property",
        "host",
        "check_in",
        "check_out",
        "status",
        "source",
    ]
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
        derived = ["guest_phone_e164", "guest_phone_valid", "cancelled_at"]
        # The host and its external id are the reservation's identity (reservation_upsert).
        return [*derived, "host", "external_id", "source"] if obj else derived

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
