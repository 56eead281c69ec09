"""Admin for support staff: host alerts and guest messages.

A message's subject and body can carry a guest's PIN: users without accesscodes.view_pin see
them with every digit run that could be a PIN masked, in lists, pages, titles and history
(SPEC §3); guest-page links, which open a page showing the PIN, are masked for them too. Both
are encrypted at rest, so the admin cannot search them either.
"""

from django.contrib import admin

from messaging.models import (
    Conversation,
    Delivery,
    HostAlert,
    Message,
    MessageRule,
    OptOut,
    ScheduledMessage,
    TwilioAccount,
    mask_pins,
)

PIN_PERMISSION = "accesscodes.view_pin"


class MessageTextMixin:
    """Subject and body in clear for view_pin holders, PIN-masked for everyone else."""

    text_fields = ("subject", "body")

    def message_fields(self, request, fields: list[str]) -> list[str]:
        if request.user.has_perm(PIN_PERMISSION):
            return fields
        return [f"{name}_masked" if name in self.text_fields else name for name in fields]

    @admin.display(description="subject")
    def subject_masked(self, message: Message) -> str:
        return mask_pins(message.subject)

    @admin.display(description="body")
    def body_masked(self, message: Message) -> str:
        return mask_pins(message.body)


@admin.register(HostAlert)
class HostAlertAdmin(admin.ModelAdmin):
    list_display = ["subject", "host", "kind", "created_at", "emailed_at", "resolved_at"]
    list_select_related = ["host"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "host__name"]
    autocomplete_fields = ["host"]
    date_hierarchy = "created_at"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the sender writes: support reads them, nobody adds, edits or deletes them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MessageRule)
class MessageRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "trigger", "channel", "enabled"]
    list_select_related = ["host"]
    list_filter = ["trigger", "channel", "enabled"]
    search_fields = ["name", "host__name"]
    filter_horizontal = ["properties"]
    autocomplete_fields = ["host"]


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "state", "send_after", "attempts", "sent_at"]
    list_select_related = ["reservation", "rule"]
    list_filter = ["state", "kind"]
    search_fields = ["reservation__guest_name", "reservation__reservation_code", "rule__name"]
    exclude = ["message"]


class MessageInline(MessageTextMixin, admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_fields(self, request, obj=None):
        fields = ["created_at", "direction", "channel", "recipient", "subject", "state", "body"]
        return self.message_fields(request, fields)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "updated_at"]
    list_select_related = ["reservation"]
    search_fields = ["reservation__guest_name", "reservation__reservation_code"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(MessageTextMixin, ReadOnlyAdmin):
    list_display = ["__str__", "conversation", "state", "channel", "sent_at"]
    list_select_related = ["conversation__reservation"]
    list_filter = ["state", "channel", "direction"]
    # Subject and body are encrypted and may hold a PIN: they are never searchable.
    search_fields = [
        "conversation__reservation__guest_name",
        "conversation__reservation__reservation_code",
        "recipient",
    ]

    def get_fields(self, request, obj=None):
        fields = ["conversation", "direction", "channel", "recipient", "subject", "state"]
        fields += ["error", "sent_at", "body"]
        return self.message_fields(request, fields)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


@admin.register(TwilioAccount)
class TwilioAccountAdmin(admin.ModelAdmin):
    list_display = ["account_sid", "host", "sms_from", "messaging_service_sid", "whatsapp_from"]
    list_select_related = ["host"]
    search_fields = ["account_sid", "host__name", "sms_from", "whatsapp_from"]
    autocomplete_fields = ["host"]
    # The auth token is a credential: never shown, not even to staff (SPEC §3).
    exclude = ["auth_token"]


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    """A number that sent STOP; support may lift it when the guest asks (START does the same)."""

    list_display = ["phone", "channel", "host", "created_at"]
    list_select_related = ["host"]
    list_filter = ["channel"]
    search_fields = ["phone", "host__name"]
    autocomplete_fields = ["host"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "scheduled", "state", "provider_id", "created_at"]
    list_select_related = ["scheduled__reservation", "scheduled__rule"]
    list_filter = ["state", "channel"]
    search_fields = [
        "recipient",
        "provider_id",
        "scheduled__reservation__guest_name",
        "scheduled__reservation__reservation_code",
    ]
