"""REST API for lock connections, locks (with their live code list) and matches."""

from __future__ import annotations

from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accesscodes.models import BackupCode, LockCode
from accesscodes.services import lock_resync
from integrations import selectors
from integrations.base import VendorError
from integrations.connections import (
    connection_webhook_secret_set,
    connection_webhook_url,
    webhook_secret_problem,
)
from integrations.models import Lock, LockConnection, Match
from integrations.registry import adapter_for
from integrations.services import match_create, match_delete
from integrations.views import remote_status_label
from locksync.api import HostScopedMixin, StrictModelSerializer, StrictPrimaryKeyRelatedField
from properties.api import HostPropertyField


class LockConnectionSerializer(serializers.ModelSerializer):
    webhook_url = serializers.SerializerMethodField(
        help_text="Where the vendor posts events; empty where the host has nothing to paste."
    )
    webhook_registered = serializers.SerializerMethodField(
        help_text="locksync registered the webhook at the vendor itself."
    )
    webhook_secret_set = serializers.SerializerMethodField(
        help_text="A signing secret is saved (the secret itself is never shown)."
    )

    class Meta:
        model = LockConnection
        # Never the credentials.
        fields = [
            "id",
            "vendor",
            "name",
            "state",
            "last_error",
            "last_synced_at",
            "created_at",
            "webhook_url",
            "webhook_registered",
            "webhook_secret_set",
            "last_webhook_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, obj: LockConnection) -> str:
        return connection_webhook_url(obj)

    def get_webhook_registered(self, obj: LockConnection) -> bool:
        return bool(obj.webhook_id)

    def get_webhook_secret_set(self, obj: LockConnection) -> bool:
        return bool((obj.credentials or {}).get("webhook_secret"))


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(max_length=500, trim_whitespace=True)

    def validate_secret(self, value: str) -> str:
        problem = webhook_secret_problem(self.context["vendor"], value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class LockSerializer(serializers.ModelSerializer):
    capacity = serializers.IntegerField(read_only=True)
    matched_property_ids = serializers.SerializerMethodField()

    class Meta:
        model = Lock
        fields = [
            "id",
            "connection",
            "remote_id",
            "name",
            "model",
            "online",
            "battery_level",
            "code_count",
            "capacity",
            "capabilities",
            "matched_property_ids",
            "last_seen_at",
            "state_refreshed_at",
        ]
        read_only_fields = fields

    def get_matched_property_ids(self, obj: Lock) -> list[int]:
        return sorted(match.property_id for match in obj.matches.all())


class LiveCodeSerializer(serializers.Serializer):
    """A code as the vendor lists it right now. PINs are not repeated here."""

    remote_id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField(help_text="Seam's vocabulary: unset, setting, set, removing.")
    status_label = serializers.CharField(
        help_text="The status in words; `unset` without an error is 'scheduled at the vendor': "
        "accepted, put on the lock shortly before the stay starts."
    )
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    origin = serializers.ChoiceField(
        choices=["guest", "backup", "pre_existing"],
        help_text="guest/backup: created by locksync; pre_existing: put on the lock by someone "
        "else, never changed or deleted by locksync (SPEC D2).",
    )
    reservation_external_id = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class VendorErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    reason = serializers.CharField()


class LockConnectionViewSet(
    HostScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The host's accounts at lock vendors (credentials are never shown)."""

    serializer_class = LockConnectionSerializer
    queryset = LockConnection.objects.none()

    def get_queryset(self):
        return selectors.connection_list(host=self.host)

    @extend_schema(request=WebhookSecretSerializer, responses={200: LockConnectionSerializer})
    @action(detail=True, methods=["post"], url_path="webhook-secret")
    def webhook_secret(self, request, pk=None):
        """Save the webhook signing secret pasted from the vendor (Seam `whsec_…`, Nuki)."""
        connection = self.get_object()
        if not connection_webhook_url(connection):
            return Response(
                {"detail": f"{connection.get_vendor_display()} webhooks need no secret here."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        serializer = WebhookSecretSerializer(
            data=request.data, context={"vendor": connection.vendor}
        )
        serializer.is_valid(raise_exception=True)
        connection_webhook_secret_set(
            connection=connection, secret=serializer.validated_data["secret"]
        )
        return Response(LockConnectionSerializer(connection).data)


class LockViewSet(
    HostScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The host's locks, their live code lists, and resync."""

    serializer_class = LockSerializer
    queryset = Lock.objects.none()

    def get_queryset(self):
        return selectors.lock_list(host=self.host).prefetch_related("matches")

    @extend_schema(
        responses={
            200: LiveCodeSerializer(many=True),
            502: OpenApiResponse(VendorErrorSerializer, description="The vendor call failed."),
        }
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def codes(self, request, pk=None):
        """List the codes on the lock now, read from the vendor; ours marked apart."""
        lock = self.get_object()
        try:
            remote_codes = adapter_for(lock.connection).list_codes(lock.remote_id)
        except VendorError as error:
            return Response(
                {"detail": error.message, "reason": error.reason.value},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        ours = {
            vendor_code_id: external_id
            for vendor_code_id, external_id in LockCode.objects.filter(lock=lock)
            .exclude(vendor_code_id="")
            .values_list("vendor_code_id", "access_code__reservation__external_id")
        }
        backups = set(
            BackupCode.objects.filter(lock=lock)
            .exclude(vendor_code_id="")
            .values_list("vendor_code_id", flat=True)
        )
        rows = []
        for code in remote_codes:
            if code.remote_id and code.remote_id in ours:
                origin, external_id = "guest", ours[code.remote_id]
            elif code.remote_id and code.remote_id in backups:
                origin, external_id = "backup", None
            else:
                origin, external_id = "pre_existing", None
            rows.append(
                {
                    "remote_id": code.remote_id,
                    "name": code.name,
                    "status": code.status.value,
                    "status_label": remote_status_label(code),
                    "starts_at": code.starts_at,
                    "ends_at": code.ends_at,
                    "origin": origin,
                    "reservation_external_id": external_id,
                    "error": code.error.value if code.error else None,
                }
            )
        return Response(LiveCodeSerializer(rows, many=True).data)

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer("ResyncAccepted", fields={"detail": serializers.CharField()})
        },
    )
    @action(detail=True, methods=["post"])
    def resync(self, request, pk=None):
        """Re-push every code of ours that should be on the lock now (SPEC Y1).

        Answers 202 at once: the codes are marked due and a worker pushes them; the lock's
        codes endpoint and the reservations' access show the progress."""
        lock = self.get_object()
        marked = lock_resync(lock=lock, user=request.user)
        return Response(
            {"detail": f"Resync of {lock.name} queued: {marked} code(s) will be pushed again."},
            status=202,
        )


@extend_schema_field(OpenApiTypes.INT)
class HostLockField(StrictPrimaryKeyRelatedField):
    """A lock id of the caller's host; any other id is 'does not exist'."""

    def get_queryset(self):
        return selectors.lock_list(host=self.context["view"].host)


class MatchSerializer(StrictModelSerializer):
    lock = HostLockField()
    property = HostPropertyField()

    class Meta:
        model = Match
        fields = ["id", "lock", "property", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        if Match.objects.filter(lock=attrs["lock"], property=attrs["property"]).exists():
            raise serializers.ValidationError(
                {"non_field_errors": ["This lock is already matched to this property."]}
            )
        return attrs


class MatchViewSet(
    HostScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Locks matched to properties. Creating one sets codes for the property's stays (SPEC M3);
    deleting one removes them from the lock at once (SPEC M4)."""

    serializer_class = MatchSerializer
    queryset = Match.objects.none()

    def get_queryset(self):
        return selectors.match_list(host=self.host)

    def perform_create(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = match_create(lock=data["lock"], property=data["property"])
        except IntegrityError as error:  # a concurrent identical request won the race
            raise serializers.ValidationError(
                {"non_field_errors": ["This lock is already matched to this property."]}
            ) from error

    def perform_destroy(self, instance):
        match_delete(match=instance)
