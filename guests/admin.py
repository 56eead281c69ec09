"""Admin for support staff: guest settings, check-in notes, arrivals and pre-arrival checks.

Guest links show only when they were made and last opened: the token itself is never stored.
"""

from django.contrib import admin

from guests.models import Arrival, GuestLink, GuestSettings, PropertyGuestInfo, StayCheck


@admin.register(GuestSettings)
class GuestSettingsAdmin(admin.ModelAdmin):
    list_display = ["host", "reveal_before", "check_24h", "check_2h", "not_arrived_after_hours"]
    search_fields = ["host__name"]


@admin.register(PropertyGuestInfo)
class PropertyGuestInfoAdmin(admin.ModelAdmin):
    list_display = ["property", "updated_at"]
    search_fields = ["property__name"]


@admin.register(GuestLink)
class GuestLinkAdmin(admin.ModelAdmin):
    list_display = ["reservation", "created_at", "last_opened_at"]
    search_fields = ["reservation__guest_name", "reservation__reservation_code"]
    readonly_fields = ["reservation", "created_at", "last_opened_at"]
    exclude = ["token_hash"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Arrival)
class ArrivalAdmin(admin.ModelAdmin):
    list_display = ["reservation", "lock_name", "entered_at", "via", "vendor"]
    list_filter = ["via", "vendor"]
    search_fields = ["reservation__guest_name", "reservation__reservation_code", "lock_name"]


@admin.register(StayCheck)
class StayCheckAdmin(admin.ModelAdmin):
    list_display = ["reservation", "kind", "scheduled_for", "state", "result", "finished_at"]
    list_filter = ["kind", "state", "result"]
    search_fields = ["reservation__guest_name", "reservation__reservation_code"]
    list_select_related = ["reservation"]
