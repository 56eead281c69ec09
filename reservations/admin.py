"""Admin for support staff: reservations, found by guest, booking code or external id."""

from django.contrib import admin

from reservations.models import Reservation


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
