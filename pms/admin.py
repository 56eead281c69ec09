"""Admin for support staff: a host's PMS connections, their listings, imported bookings and
the webhook events received. Credentials and webhook secrets are never shown (SPEC §3)."""

from django.contrib import admin
from django.utils.html import format_html_join

from accesscodes.admin import MASK
from messaging.admin import ReadOnlyAdmin
from pms.models import PmsBooking, PmsConnection, PmsEvent, PmsListing


@admin.register(PmsConnection)
class PmsConnectionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "host", "pms", "last_poll_ok_at", "last_error", "webhooks_refused"]
    list_select_related = ["host"]
    list_filter = ["pms"]
    search_fields = ["name", "host__name", "last_error"]
    autocomplete_fields = ["host"]
    exclude = ["credentials", "webhook_secret"]
    readonly_fields = ["stored_credentials", "last_poll_ok_at", "webhooks_refused"]

    @admin.display(description="Credentials")
    def stored_credentials(self, obj: PmsConnection) -> str:
        if not obj.credentials:
            return "none stored"
        return format_html_join(", ", "{}: {}", ((key, MASK) for key in sorted(obj.credentials)))


@admin.register(PmsListing)
class PmsListingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "connection", "remote_id", "property"]
    list_select_related = ["connection", "property"]
    search_fields = ["name", "remote_id", "connection__host__name"]
    autocomplete_fields = ["property"]
    readonly_fields = ["connection", "remote_id"]


@admin.register(PmsBooking)
class PmsBookingAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "reservation", "written_at"]
    list_select_related = ["connection", "reservation"]
    search_fields = ["remote_id", "reservation__guest_name", "reservation__reservation_code"]
    # The PIN written back is the guest's code: not shown here (the stay's code is, masked).
    exclude = ["written_pin"]


@admin.register(PmsEvent)
class PmsEventAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "connection", "outcome", "reservation_remote_id", "created_at"]
    list_select_related = ["connection"]
    list_filter = ["outcome"]
    search_fields = ["event_key", "reservation_remote_id", "connection__host__name"]
