"""REST API for message rules (with the G5 warning) and a reservation's conversation."""

from __future__ import annotations

from django.core.validators import MinLengthValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets

from locksync.api import (
    HostScopedMixin,
    StrictBooleanField,
    StrictModelSerializer,
    StrictPrimaryKeyRelatedField,
    WallClockTimeField,
)
from messaging.models import Delivery, Message, MessageRule
from messaging.rule_review import message_rule_problems
from messaging.services import message_rule_create, message_rule_update, message_rule_warnings
from properties import selectors as property_selectors


@extend_schema_field(OpenApiTypes.INT)
class HostPropertiesField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return property_selectors.property_list(host=self.context["view"].host)


class RuleCheckSerializer(serializers.Serializer):
    kind = serializers.CharField()
    message = serializers.CharField()
    reservations = serializers.ListField(child=serializers.CharField(), help_text="external_id")


class MessageRuleSerializer(StrictModelSerializer):
    # Declared as the list itself so its "at least one" reaches the schema (minItems).
    properties = serializers.ManyRelatedField(
        child_relation=HostPropertiesField(),
        allow_empty=False,
        validators=[MinLengthValidator(1)],
    )
    enabled = StrictBooleanField(required=False, default=True)
    send_time = WallClockTimeField(required=False, allow_null=True)
    warnings = serializers.SerializerMethodField(
        help_text="Advice about the rule as saved, e.g. a code sent more than 3 days ahead."
    )
    checks = serializers.SerializerMethodField(
        help_text="SPEC G11's check of a rule sending the code or guest link: each problem "
        "(timing, channel, unreachable, language) with the upcoming stays it affects."
    )

    class Meta:
        model = MessageRule
        fields = [
            "id",
            "name",
            "properties",
            "subject",
            "body",
            "trigger",
            "days_before",
            "hours_before",
            "send_time",
            "channel",
            "enabled",
            "language",
            "variants",
            "warnings",
            "checks",
        ]
        read_only_fields = ["id", "warnings", "checks"]
        extra_kwargs = {"days_before": {"max_value": 365}, "hours_before": {"max_value": 8760}}

    def get_warnings(self, rule: MessageRule) -> list[str]:
        return message_rule_warnings(rule=rule)

    @extend_schema_field(RuleCheckSerializer(many=True))
    def get_checks(self, rule: MessageRule) -> list[dict]:
        return [
            {
                "kind": problem.kind,
                "message": problem.message,
                "reservations": [stay.external_id for stay in problem.stays],
            }
            for problem in message_rule_problems(rule=rule)
        ]


class MessageRuleViewSet(
    HostScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Automatic guest messages. Unknown shortcodes answer 400; `warnings` says when a rule
    sends the door code more than 3 days before check-in (SPEC G2, G5)."""

    serializer_class = MessageRuleSerializer
    queryset = MessageRule.objects.none()

    def get_queryset(self):
        return MessageRule.objects.filter(host=self.host).prefetch_related("properties")

    def perform_create(self, serializer):
        serializer.instance = message_rule_create(host=self.host, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = message_rule_update(
            rule=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        instance.delete()  # its unsent messages go with it; sent ones stay in conversations


class DeliverySerializer(serializers.ModelSerializer):
    """One attempt on one channel: queued, sent, delivered or failed with the reason (G9)."""

    class Meta:
        model = Delivery
        fields = ["id", "channel", "recipient", "state", "reason", "created_at", "updated_at"]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "channel",
            "recipient",
            "subject",
            "body",
            "state",
            "error",
            "sent_at",
            "created_at",
            "deliveries",
        ]
        read_only_fields = fields


def messages_for(reservation) -> list[Message]:
    conversation = getattr(reservation, "conversation", None)
    if conversation is None:
        return []
    return list(conversation.messages.prefetch_related("deliveries"))
